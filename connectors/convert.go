package connectors

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai must load on machines without a zoneinfo database

	"golang.org/x/text/unicode/norm"

	"github.com/lizhou/fangxin/events"
)

// Shanghai is the zone of every time a bureau writes without one.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic("connectors: Asia/Shanghai: " + err.Error()) // time/tzdata is linked in
	}
	return loc
}()

// Text renders a record value as the text a mapping works on: strings as they are, numbers in
// plain decimal, times in RFC 3339, nil as "".
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// clean trims spaces, including the full-width space (U+3000) and the no-break space office
// software leaves in cells.
func clean(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000' || r == '\u00a0' || r == '\ufeff'
	})
}

// normalize folds full-width letters and digits to ASCII (NFKC) and trims: the form values are
// compared and hashed in.
func normalize(s string) string { return clean(norm.NFKC.String(s)) }

var (
	dateRE = regexp.MustCompile(`^(\d{4})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})\s*日?` +
		`(?:\s*[T ]?\s*(\d{1,2})\s*[:：时点]\s*(\d{1,2})\s*(?:[:：分]\s*(\d{1,2}(?:\.\d+)?)\s*秒?)?\s*分?)?$`)
	compactDateRE = regexp.MustCompile(`^(19|20)\d{6}$`)
	serialRE      = regexp.MustCompile(`^\d{1,6}(\.\d+)?$`)
)

// excelEpoch is day 0 of Excel's 1900 date system, as Excel counts it (it keeps the fictitious
// 1900-02-29, so serials from 61 on line up with this epoch; older ones are not business dates).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, Shanghai)

// minSerial is the Excel serial of 1950-01-01: smaller numbers (a year typed alone, 2018; a
// count) are not taken for dates.
const minSerial = 18264

// ParseTime reads a date or date-time as bureaus write them: 2018年12月24日, 2018年12月24日
// 9时30分, 2018/12/24, 2018-12-24 09:30(:00), 2018.12.24, 20181224, RFC 3339, and Excel serial
// dates (43458, 43458.3958). Without a zone the time is Asia/Shanghai.
func ParseTime(s string) (time.Time, error) {
	s = normalize(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if compactDateRE.MatchString(s) {
		if t, err := time.ParseInLocation("20060102", s, Shanghai); err == nil {
			return t, nil
		}
	}
	if m := dateRE.FindStringSubmatch(s); m != nil {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		y, mo, d := n(1), n(2), n(3)
		var h, mi int
		var sec float64
		if m[4] != "" {
			h, mi = n(4), n(5)
		}
		if m[6] != "" {
			sec, _ = strconv.ParseFloat(m[6], 64)
		}
		if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec >= 60 {
			return time.Time{}, fmt.Errorf("%q is out of range", s)
		}
		whole := math.Floor(sec)
		t := time.Date(y, time.Month(mo), d, h, mi, int(whole), int((sec-whole)*1e9), Shanghai)
		if t.Day() != d { // 2月30日
			return time.Time{}, fmt.Errorf("%q is not a calendar date", s)
		}
		return t, nil
	}
	if serialRE.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		if f >= minSerial && f < 2958466 { // 1950-01-01 .. 9999-12-31
			days := math.Floor(f)
			secs := math.Round((f - days) * 86400)
			return excelEpoch.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

var amountUnits = []struct {
	suffix string
	factor float64
}{
	{"亿元", 1e8}, {"万元", 1e4}, {"亿", 1e8}, {"万", 1e4}, {"元", 1},
}

// ParseAmount reads an amount of yuan: 1200, 1,200.50, 1,200.50元, ￥300, 1.2万 (12000), 3万元,
// 0.5亿. The result is rounded to fen (two decimals).
func ParseAmount(s string) (float64, error) {
	t := normalize(s)
	t = strings.TrimPrefix(t, "人民币")
	t = strings.TrimLeft(t, "¥￥")
	t = clean(t)
	factor := 1.0
	for _, u := range amountUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, factor = clean(rest), u.factor
			break
		}
	}
	t = strings.ReplaceAll(t, ",", "")
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not an amount", s)
	}
	v := math.Round(f*factor*100) / 100
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}

// LookupTownshipCode resolves a Lizhou township or street given as its nine-digit code, its
// name (嘉陵街道), or its name without the 街道/镇/乡 suffix when that is unambiguous (嘉陵).
func LookupTownshipCode(s string) (string, bool) {
	s = normalize(s)
	if t, ok := events.LookupTownship(s); ok {
		return t.Code, true
	}
	var found []string
	for _, t := range events.Townships() {
		if strings.HasPrefix(t.Name, s) && len([]rune(s)) >= 2 {
			found = append(found, t.Code)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return "", false
}

var industryByName = func() map[string]string {
	m := map[string]string{}
	for _, c := range events.IndustryClasses() {
		m[c.Name] = c.Code
	}
	return m
}()

// LookupIndustryCode resolves a GB/T 4754-2017 class (小类) given as its code (H6210, h6210) or
// its exact name (正餐服务).
func LookupIndustryCode(s string) (string, bool) {
	s = normalize(s)
	if in, ok := events.LookupIndustry(strings.ToUpper(s)); ok && in.Level == events.IndustryClass {
		return in.Code, true
	}
	code, ok := industryByName[s]
	return code, ok
}
