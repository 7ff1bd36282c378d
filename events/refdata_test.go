package events

import (
	"slices"
	"strings"
	"testing"
)

func TestTownships(t *testing.T) {
	ts := Townships()
	if len(ts) != 15 {
		t.Fatalf("Townships() has %d entries, want Lizhou's 15", len(ts))
	}
	if !slices.IsSortedFunc(ts, func(a, b Township) int { return strings.Compare(a.Code, b.Code) }) {
		t.Errorf("Townships() not in code order")
	}
	for _, tw := range ts {
		if !strings.HasPrefix(tw.Code, DistrictCode) || len(tw.Code) != 9 || tw.Name == "" {
			t.Errorf("bad township %+v", tw)
		}
	}
	ts[0].Name = "changed"
	if Townships()[0].Name == "changed" {
		t.Errorf("Townships() shares its slice with the registry")
	}

	for _, tc := range []struct {
		in       string
		code     string
		name     string
		resolved bool
	}{
		{"510802002", "510802002", "嘉陵街道", true},
		{"嘉陵街道", "510802002", "嘉陵街道", true},
		{"510802001", "510802001", "东坝街道", true},
		{"龙潭乡", "510802202", "龙潭乡", true},
		{"宝轮镇", "510802103", "宝轮镇", true},
		{"嘉陵", "", "", false},        // exact names only
		{" 嘉陵街道", "", "", false},     // no trimming
		{"510802", "", "", false},    // the district, not a township
		{"510802104", "", "", false}, // not a code in the table
		{"110101001", "", "", false}, // 东华门街道 is in Beijing
		{"东华门街道", "", "", false},     // ditto, by name
		{"", "", "", false},
	} {
		got, ok := LookupTownship(tc.in)
		if ok != tc.resolved || got.Code != tc.code || got.Name != tc.name {
			t.Errorf("LookupTownship(%q) = %+v, %v; want {%s %s}, %v", tc.in, got, ok, tc.code, tc.name, tc.resolved)
		}
	}
	if code, name := NormalizeTownship("嘉陵街道"); code != "510802002" || name != "嘉陵街道" {
		t.Errorf("NormalizeTownship(嘉陵街道) = %s, %s", code, name)
	}
	if code, name := NormalizeTownship("nowhere"); code != "nowhere" || name != "" {
		t.Errorf("NormalizeTownship(nowhere) = %s, %s", code, name)
	}
}

func TestIndustries(t *testing.T) {
	counts := map[int]int{}
	for _, in := range refdata().industries {
		counts[in.Level]++
	}
	// 20 sections, 97 divisions; groups with one class are not listed; 1,381 classes with the
	// C3741 correction (data/README.md).
	want := map[int]int{IndustrySection: 20, IndustryDivision: 97, IndustryGroup: 274, IndustryClass: 1381}
	for l, n := range want {
		if counts[l] != n {
			t.Errorf("level %d: %d entries, want %d", l, counts[l], n)
		}
	}
	classes := IndustryClasses()
	if len(classes) != want[IndustryClass] {
		t.Errorf("IndustryClasses() has %d entries", len(classes))
	}
	for _, c := range classes {
		if c.Level != IndustryClass || len(c.Code) != 5 {
			t.Fatalf("IndustryClasses() has %+v", c)
		}
	}

	for _, tc := range []struct {
		code  string
		level int
		name  string
		found bool
	}{
		{"H6210", IndustryClass, "正餐服务", true},
		{"R8930", IndustryClass, "健身休闲活动", true},
		{"P8391", IndustryClass, "职业技能培训", true},
		{"C3741", IndustryClass, "飞机制造", true}, // corrected row
		{"C374", IndustryGroup, "航空、航天器及设备制造", true},
		{"H623", IndustryGroup, "饮料及冷饮服务", true},
		{"H62", IndustryDivision, "餐饮业", true},
		{"H", IndustrySection, "住宿和餐饮业", true},
		{"h6210", 0, "", false},
		{"H621", 0, "", false}, // single-class group, not listed by the standard
		{"H6219", 0, "", false},
		{"", 0, "", false},
	} {
		got, ok := LookupIndustry(tc.code)
		if ok != tc.found || got.Level != tc.level || got.Name != tc.name {
			t.Errorf("LookupIndustry(%q) = %+v, %v; want level %d %q, %v", tc.code, got, ok, tc.level, tc.name, tc.found)
		}
	}
	if IndustryName("H6210") != "正餐服务" || IndustryName("X") != "" {
		t.Errorf("IndustryName: %q %q", IndustryName("H6210"), IndustryName("X"))
	}

	for _, tc := range []struct {
		code string
		path []string
	}{
		{"H6231", []string{"H", "H62", "H623", "H6231"}},
		{"H6210", []string{"H", "H62", "H6210"}},
		{"H62", []string{"H", "H62"}},
		{"H", []string{"H"}},
		{"H6219", nil},
	} {
		var got []string
		for _, in := range IndustryPath(tc.code) {
			got = append(got, in.Code)
		}
		if !slices.Equal(got, tc.path) {
			t.Errorf("IndustryPath(%s) = %v, want %v", tc.code, got, tc.path)
		}
	}
}
