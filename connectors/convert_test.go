package connectors

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	sh := func(y, mo, d, h, mi, s int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, s, 0, Shanghai) }
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2018年12月24日", sh(2018, 12, 24, 0, 0, 0)},
		{"2018年1月5日", sh(2018, 1, 5, 0, 0, 0)},
		{"2018年12月24日 9时30分", sh(2018, 12, 24, 9, 30, 0)},
		{"2018年12月24日9:30", sh(2018, 12, 24, 9, 30, 0)},
		{"2018/12/24", sh(2018, 12, 24, 0, 0, 0)},
		{"2018/1/5 8:05:09", sh(2018, 1, 5, 8, 5, 9)},
		{"2018-12-24", sh(2018, 12, 24, 0, 0, 0)},
		{"2018-12-24 09:30", sh(2018, 12, 24, 9, 30, 0)},
		{"2018-12-24T09:30:00", sh(2018, 12, 24, 9, 30, 0)},
		{"2018.12.24", sh(2018, 12, 24, 0, 0, 0)},
		{"20181224", sh(2018, 12, 24, 0, 0, 0)},
		{" ２０１８年１２月２４日 ", sh(2018, 12, 24, 0, 0, 0)}, // full-width digits, padded
		{"2018-12-24T01:30:00Z", time.Date(2018, 12, 24, 1, 30, 0, 0, time.UTC)},
		{"43458", sh(2018, 12, 24, 0, 0, 0)},               // Excel serial
		{"43458.395833333336", sh(2018, 12, 24, 9, 30, 0)}, // Excel serial with time
	} {
		got, err := ParseTime(tc.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "明天", "2018年13月1日", "2018-02-30", "2018/12/24 25:00", "12/24/2018", "30", "2018", "abc"} {
		if got, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) = %s, want an error", bad, got)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"1200", 1200}, {"1,200.50", 1200.5}, {"1,200.50元", 1200.5}, {"￥300", 300}, {"¥ 300.00", 300},
		{"1.2万", 12000}, {"3万元", 30000}, {"0.5亿", 5e7}, {"人民币5000元", 5000}, {"１，２００元", 1200},
		{"0.125", 0.13},
	} {
		got, err := ParseAmount(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "壹仟元", "约一千", "12a", "NaN", "万"} {
		if got, err := ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) = %v, want an error", bad, got)
		}
	}
}

func TestLookups(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"嘉陵街道", "510802002"}, {"510802002", "510802002"}, {"嘉陵", "510802002"},
	} {
		if got, ok := LookupTownshipCode(tc.in); !ok || got != tc.want {
			t.Errorf("LookupTownshipCode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "北京", "利州区", "5108"} {
		if got, ok := LookupTownshipCode(bad); ok {
			t.Errorf("LookupTownshipCode(%q) = %q, want not found", bad, got)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"H6210", "H6210"}, {"h6210", "H6210"}, {"正餐服务", "H6210"}, {"R8930", "R8930"},
	} {
		if got, ok := LookupIndustryCode(tc.in); !ok || got != tc.want {
			t.Errorf("LookupIndustryCode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"H62", "H", "餐饮", "Z9999"} {
		if got, ok := LookupIndustryCode(bad); ok {
			t.Errorf("LookupIndustryCode(%q) = %q, want not found (classes only)", bad, got)
		}
	}
}

// Cell text from any office export must never crash the conversions.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2018年12月24日", "2018/12/24 09:30", "43458.5", "20181224", "2018-12-24T09:30:00+08:00", "２０１８年"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, err := ParseTime(s); err == nil && (tm.Year() < 1 || tm.Year() > 9999) {
			t.Errorf("ParseTime(%q) = %s", s, tm)
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1,200.50元", "1.2万", "￥300", "人民币5000元", "1e308万"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseAmount(s); err == nil && (v != v || v > 1e308 || v < -1e308) {
			t.Errorf("ParseAmount(%q) = %v", s, v)
		}
	})
}
