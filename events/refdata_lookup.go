package events

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// The reference data is embedded so that validation needs no files at run time. Sources and the
// one correction made to them are in data/README.md.
//
//go:embed data/townships.csv data/gbt4754-2017.csv data/bureaus.json
var dataFS embed.FS

// DistrictCode is Lizhou District's GB/T 2260 code; its townships' nine-digit codes start with it.
const DistrictCode = "510802"

// Township is a township, town or street (乡、镇、街道) of Lizhou District.
type Township struct {
	Code string // nine-digit statistical code (统计用区划代码), e.g. 510802002
	Name string // e.g. 嘉陵街道
}

// Industry levels of GB/T 4754-2017.
const (
	IndustrySection  = 1 // 门类, e.g. H
	IndustryDivision = 2 // 大类, e.g. H62
	IndustryGroup    = 3 // 中类, e.g. H623
	IndustryClass    = 4 // 小类, e.g. H6210: the level events carry
)

// Industry is a GB/T 4754-2017 entry (国民经济行业分类).
type Industry struct {
	Code, Name string
	Level      int    // IndustrySection … IndustryClass
	Note       string // the standard's explanatory note (说明), often empty
}

type refData struct {
	townships      []Township
	townshipByKey  map[string]Township // by code and by name
	industries     []Industry
	industryByCode map[string]Industry
	classes        []Industry
}

// refdata parses the embedded tables once. The files are part of the binary and pinned by tests,
// so a parse failure is a build defect, reported by panic on first use.
var refdata = sync.OnceValue(func() *refData {
	rd, err := loadRefData()
	if err != nil {
		panic("events: embedded reference data: " + err.Error())
	}
	return rd
})

func loadRefData() (*refData, error) {
	rd := &refData{townshipByKey: map[string]Township{}, industryByCode: map[string]Industry{}}

	rows, err := readCSV("data/townships.csv", []string{"code", "name", "areaCode"})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r[2] != DistrictCode || len(r[0]) != 9 || r[0][:6] != DistrictCode {
			return nil, fmt.Errorf("townships.csv: row %q is not a township of %s", r, DistrictCode)
		}
		t := Township{Code: r[0], Name: r[1]}
		if _, dup := rd.townshipByKey[t.Code]; dup {
			return nil, fmt.Errorf("townships.csv: duplicate code %s", t.Code)
		}
		if _, dup := rd.townshipByKey[t.Name]; dup {
			return nil, fmt.Errorf("townships.csv: duplicate name %s", t.Name)
		}
		rd.townships = append(rd.townships, t)
		rd.townshipByKey[t.Code] = t
		rd.townshipByKey[t.Name] = t
	}

	rows, err = readCSV("data/gbt4754-2017.csv", []string{"code", "level", "name", "note"})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		level, err := strconv.Atoi(r[1])
		if err != nil || level < IndustrySection || level > IndustryClass {
			return nil, fmt.Errorf("gbt4754-2017.csv: row %q: bad level", r)
		}
		// Section letter plus 0, 2, 3 or 4 digits for levels 1 to 4.
		if want := []int{0, 1, 3, 4, 5}[level]; len(r[0]) != want {
			return nil, fmt.Errorf("gbt4754-2017.csv: code %q does not fit level %d", r[0], level)
		}
		in := Industry{Code: r[0], Level: level, Name: r[2], Note: r[3]}
		if _, dup := rd.industryByCode[in.Code]; dup {
			return nil, fmt.Errorf("gbt4754-2017.csv: duplicate code %s", in.Code)
		}
		rd.industries = append(rd.industries, in)
		rd.industryByCode[in.Code] = in
		if level == IndustryClass {
			rd.classes = append(rd.classes, in)
		}
	}
	return rd, nil
}

// readCSV returns the data rows of an embedded CSV file whose header starts with the given
// columns, each row cut to those columns.
func readCSV(name string, cols []string) ([][]string, error) {
	b, err := dataFS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	all, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(all) == 0 || len(all[0]) < len(cols) || !slices.Equal(all[0][:len(cols)], cols) {
		return nil, fmt.Errorf("%s: header does not start with %v", name, cols)
	}
	out := make([][]string, 0, len(all)-1)
	for i, row := range all[1:] {
		if len(row) < len(cols) {
			return nil, fmt.Errorf("%s: line %d has %d fields, want %d", name, i+2, len(row), len(cols))
		}
		out = append(out, row[:len(cols)])
	}
	return out, nil
}

// LookupTownship resolves a Lizhou township or street given as its nine-digit statistical code
// ("510802002") or its exact name ("嘉陵街道").
func LookupTownship(s string) (Township, bool) {
	t, ok := refdata().townshipByKey[s]
	return t, ok
}

// Townships lists the district's 15 townships and streets in code order. The slice is the
// caller's.
func Townships() []Township { return slices.Clone(refdata().townships) }

// LookupIndustry returns the GB/T 4754-2017 entry of a code at any level ("H", "H62", "H623",
// "H6231"). Codes are upper case with the section letter in front.
func LookupIndustry(code string) (Industry, bool) {
	in, ok := refdata().industryByCode[code]
	return in, ok
}

// IndustryClasses lists the 小类 (level 4) entries in the standard's order: the codes an event's
// industry field may carry. The slice is the caller's.
func IndustryClasses() []Industry { return slices.Clone(refdata().classes) }

// IndustryPath returns the entries from the section down to code, e.g. for H6231 the rows H,
// H62, H623 and H6231, for roll-ups by 门类 or 大类. Groups with a single class are not listed
// in the standard, so the path of H6210 is H, H62, H6210. It returns nil for an unknown code.
func IndustryPath(code string) []Industry {
	rd := refdata()
	if _, ok := rd.industryByCode[code]; !ok {
		return nil
	}
	var path []Industry
	for _, n := range []int{1, 3, 4, 5} {
		if n > len(code) {
			break
		}
		if in, ok := rd.industryByCode[code[:n]]; ok {
			path = append(path, in)
		}
	}
	return path
}
