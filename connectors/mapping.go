package connectors

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/lizhou/fangxin/events"
)

// Mapping declares how a record becomes a v1 event. In YAML:
//
//	mapping:
//	  type: {const: penalty.imposed}
//	  key: [行政处罚决定书文号]         # the event id derives from these columns
//	  subject: 统一社会信用代码          # a bare string names a column
//	  time: 处罚决定日期
//	  data:
//	    decision_no: 行政处罚决定书文号
//	    kind: {column: 处罚种类, map: {警告: warning, 罚款: fine}}
//	    fine_cny: {column: 罚没金额, optional: true}   # *_cny fields parse as amounts
//	    decided_at: 处罚决定日期                          # *_at fields parse as times
type Mapping struct {
	// When limits the mapping to records whose column holds one of the values; with several
	// mappings the first that matches applies.
	When *When `yaml:"when" desc:"Limits the mapping to records whose column holds one of the listed values: {column: 状态, in: [列入]}. With several mappings the first that matches applies; a record none matches is dead-lettered."`
	// Skip drops the records this mapping matches on purpose (a 12345 export's 咨询 rows).
	Skip bool `yaml:"skip" desc:"Skip the records this mapping matches, on purpose: they are counted but neither sent nor dead-lettered (e.g. when: {column: 诉求类型, in: [咨询, 建议]}, skip: true). The other fields are then not needed."`
	// Type is the event type; usually {const: TYPE}, or a column with a value map.
	Type Value `yaml:"type" required:"true" desc:"The event type, a Value: usually {const: penalty.imposed}, or a column with a map to types."`
	// Key names the columns that identify a record in its system (a decision number, a work
	// order number). The event id is {name}:{type}:{values joined by |}, hashed when longer than
	// 128 characters. Without Key the id is a hash of the connector name, the type and the
	// whole normalised record: the same record gives the same id, an edited one a new id.
	Key []string `yaml:"key" desc:"Columns that identify the record in its system (decision number, work-order number). The event id is {name}:{type}:{values joined by |} (hashed past 128 characters). Without key: {name}:{type}:{hash of the whole normalised record}."`
	// Subject is the merchant's unified social credit code; optional (work orders often have
	// none: they carry data.merchant_name and data.address instead).
	Subject *Value `yaml:"subject" desc:"The merchant's unified social credit code (a Value, upper-cased). Leave it out for work orders that name no code: they carry data.merchant_name and data.address."`
	// Time is the event time.
	Time Value `yaml:"time" required:"true" desc:"The event time (a Value of type time)."`
	// Data maps each data field (dotted for nested objects: consumer.phone) to its value.
	Data map[string]Value `yaml:"data" required:"true" desc:"Each data field of the type (see the event catalogue) and its Value; dotted names nest (consumer.phone)."`

	where, name, bureau string
	fields              []string // sorted data field names
}

// When selects records by a column's value.
type When struct {
	Column string   `yaml:"column" desc:"The column to test."`
	In     []string `yaml:"in" desc:"The values that select the record."`
}

// Value declares where one field's value comes from and how it is converted. Exactly one of
// Column, Columns-in-Template or Const gives the raw text; it is trimmed, Default fills it when
// empty, Map translates it, Type converts it and Lookup resolves it to a code. A bare YAML
// string is shorthand for {column: NAME}.
type Value struct {
	Column   string `yaml:"column" desc:"Column the value comes from, as the header spells it (统一社会信用代码). A bare string instead of a block means {column: NAME}."`
	Const    string `yaml:"const" desc:"A constant value."`
	Template string `yaml:"template" desc:"Text with columns in double braces: '{{街道}}{{门牌号}}'."`
	Default  string `yaml:"default" desc:"Used when the column is empty."`
	// Map translates values (合格: pass); a "*" entry catches every other value. A value
	// missing from a map without "*" is an error that lists the allowed ones.
	Map map[string]string `yaml:"map" desc:"Value map applied after trimming: {合格: pass, 不合格: fail}. A '*' entry catches every other value; without it an unknown value fails the record and the reason lists the allowed ones."`
	// Type is string, int, number, amount, time or bool. Default: time for fields ending in _at
	// and for deadline and valid_until; amount for *_cny; int for consumers and satisfaction;
	// string otherwise.
	Type string `yaml:"type" desc:"string, int, number, amount or time (or bool). time reads 2018年12月24日, 2018/12/24, 2018-12-24 09:30, 20181224, RFC 3339 and Excel serial dates (from 1950 on), in Asia/Shanghai when no zone is given; amount reads 1,200.50元, ￥300, 1.2万 (12000). Default: time for *_at, deadline and valid_until; amount for *_cny; int for consumers and satisfaction; string otherwise."`
	// Lookup resolves names to codes: township (名称或九位代码) or industry (GB/T 4754 小类名称或代码).
	// Default: township and industry fields look up themselves.
	Lookup string `yaml:"lookup" desc:"township: a Lizhou township or street name (嘉陵街道, or 嘉陵 when unambiguous) or nine-digit code, to the code. industry: a GB/T 4754-2017 class name (正餐服务) or code, to the code. Default: township and industry fields look themselves up."`
	// Optional fields are left out when empty; an empty required field fails the record.
	Optional bool `yaml:"optional" desc:"Leave the field out when empty. Without it an empty value fails the record, naming the column and row."`
}

// UnmarshalYAML accepts a bare string as a column name.
func (v *Value) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v.Column = n.Value
		return nil
	}
	type plain Value
	return n.Decode((*plain)(v))
}

var templateRE = regexp.MustCompile(`\{\{\s*([^{}]+?)\s*\}\}`)

var valueTypes = []string{"string", "int", "number", "amount", "time", "bool"}

// inferType is the default Type of a data field, from its catalogue name.
func inferType(field string) string {
	last := field[strings.LastIndex(field, ".")+1:]
	switch {
	case strings.HasSuffix(last, "_at"), last == "deadline", last == "valid_until":
		return "time"
	case strings.HasSuffix(last, "_cny"):
		return "amount"
	case last == "consumers", last == "satisfaction", last == "count":
		return "int"
	}
	return "string"
}

func inferLookup(field string) string {
	switch field {
	case "township", "industry":
		return field
	}
	return ""
}

func (v *Value) compile(where, typ, lookup string) []error {
	var errs []error
	n := 0
	for _, s := range []string{v.Column, v.Const, v.Template} {
		if s != "" {
			n++
		}
	}
	if n != 1 && !(n == 0 && v.Default != "") {
		errs = append(errs, fmt.Errorf("%s: column、const、template 须且只能设一个 (set exactly one of column, const, template)", where))
	}
	if v.Template != "" && !templateRE.MatchString(v.Template) {
		errs = append(errs, fmt.Errorf("%s.template: 没有 {{列名}} (no {{column}} in template)", where))
	}
	if v.Type == "" {
		v.Type = typ
	}
	if !slices.Contains(valueTypes, v.Type) {
		errs = append(errs, fmt.Errorf("%s.type: %q 应为 %v (must be one of %v)", where, v.Type, valueTypes, valueTypes))
	}
	if v.Lookup == "" {
		v.Lookup = lookup
	}
	if len(v.Map) > 0 { // keys compare with normalised cell values
		m := make(map[string]string, len(v.Map))
		for k, to := range v.Map {
			m[normalize(k)] = to
		}
		v.Map = m
	}
	if v.Lookup != "" && v.Lookup != "township" && v.Lookup != "industry" {
		errs = append(errs, fmt.Errorf("%s.lookup: %q 应为 township 或 industry (must be township or industry)", where, v.Lookup))
	}
	return errs
}

func (m *Mapping) compile(where, name, bureau string) error {
	m.where, m.name, m.bureau = where, name, bureau
	var errs []error
	if m.Skip {
		if m.When == nil {
			errs = append(errs, fmt.Errorf("%s.skip: 需要 when，否则会跳过所有记录 (needs a when, or every record is skipped)", where))
		}
		return errors.Join(errs...)
	}
	if m.When != nil && (m.When.Column == "" || len(m.When.In) == 0) {
		errs = append(errs, fmt.Errorf("%s.when: 需要 column 和 in (needs column and in)", where))
	}
	errs = append(errs, m.Type.compile(where+".type", "string", "")...)
	if m.Type.Const != "" && !slices.Contains(events.Types, m.Type.Const) {
		errs = append(errs, fmt.Errorf("%s.type: %q 不在事件目录中 (not a catalogue type)", where, m.Type.Const))
	}
	for _, to := range m.Type.Map {
		if !slices.Contains(events.Types, to) {
			errs = append(errs, fmt.Errorf("%s.type.map: %q 不在事件目录中 (not a catalogue type)", where, to))
		}
	}
	errs = append(errs, m.Time.compile(where+".time", "time", "")...)
	if m.Subject != nil {
		errs = append(errs, m.Subject.compile(where+".subject", "string", "")...)
	}
	if len(m.Data) == 0 {
		errs = append(errs, fmt.Errorf("%s.data: 必填 (required)", where))
	}
	for f, v := range m.Data {
		errs = append(errs, v.compile(where+".data."+f, inferType(f), inferLookup(f))...)
		m.Data[f] = v
		m.fields = append(m.fields, f)
	}
	sort.Strings(m.fields)
	return errors.Join(errs...)
}

// Matches reports whether the mapping applies to rec.
func (m *Mapping) Matches(rec Record) bool {
	if m.When == nil {
		return true
	}
	return slices.Contains(m.When.In, normalize(Text(rec.Values[m.When.Column])))
}

// fieldError is one field of a record that could not be mapped.
type fieldError struct{ zh, en string }

// Map turns rec into an event. It does not validate the event against the catalogue (Runner
// does, with events.Validate); it reports every field it could not fill, naming the column and
// the record's position.
func (m *Mapping) Map(rec Record) (events.Event, error) {
	var errs []fieldError
	str := func(field string, v Value) (string, bool) {
		x, err := v.eval(rec)
		if err != nil {
			errs = append(errs, err.(fieldErr).at(field))
			return "", false
		}
		if x == nil {
			return "", false
		}
		return Text(x), true
	}
	ev := events.Event{SpecVersion: events.SpecVersion, Source: events.SourceOf(m.bureau), DataContentType: "application/json"}
	ev.Type, _ = str("type", m.Type)
	if t, err := m.Time.eval(rec); err != nil {
		errs = append(errs, err.(fieldErr).at("time"))
	} else if t != nil {
		ev.Time, _ = time.Parse(time.RFC3339Nano, t.(string))
	}
	if m.Subject != nil {
		s, _ := str("subject", *m.Subject)
		ev.Subject = strings.ToUpper(normalize(s))
	}
	data := map[string]any{}
	for _, f := range m.fields {
		x, err := m.Data[f].eval(rec)
		if err != nil {
			errs = append(errs, err.(fieldErr).at("data."+f))
			continue
		}
		if x != nil {
			setPath(data, f, x)
		}
	}
	id, err := m.id(ev.Type, rec)
	if err != nil {
		errs = append(errs, err.(fieldErr).at("id"))
	}
	ev.ID = id
	if len(errs) > 0 {
		r := Reason{}
		var zh, en []string
		for _, e := range errs {
			zh, en = append(zh, e.zh), append(en, e.en)
		}
		pos := rec.Position.String()
		r.ZH = pos + "：" + strings.Join(zh, "；")
		r.EN = pos + ": " + strings.Join(en, "; ")
		return ev, r
	}
	ev.Data, _ = json.Marshal(data) // strings, numbers, bools, nested maps: cannot fail
	return ev, nil
}

func setPath(m map[string]any, path string, v any) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		m[head] = v
		return
	}
	sub, ok := m[head].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[head] = sub
	}
	setPath(sub, rest, v)
}

// id derives the event id: see Mapping.Key.
func (m *Mapping) id(typ string, rec Record) (string, error) {
	prefix := m.name + ":" + typ + ":"
	if len(m.Key) == 0 {
		cols := make([]string, 0, len(rec.Values))
		for c := range rec.Values {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		h := sha256.New()
		h.Write([]byte(prefix))
		for _, c := range cols {
			if v := normalize(Text(rec.Values[c])); v != "" {
				fmt.Fprintf(h, "%s\x00%s\x00", normalize(c), v)
			}
		}
		return prefix + hex.EncodeToString(h.Sum(nil))[:32], nil
	}
	parts := make([]string, len(m.Key))
	for i, c := range m.Key {
		v, ok := rec.Values[c]
		parts[i] = normalize(Text(v))
		if !ok {
			return "", fieldErr{zh: "缺少列「" + c + "」", en: "no column " + strconv.Quote(c)}
		}
		if parts[i] == "" {
			return "", fieldErr{zh: "列「" + c + "」为空（事件编号由它生成）", en: "column " + strconv.Quote(c) + " is empty (the event id derives from it)"}
		}
	}
	id := prefix + strings.Join(parts, "|")
	if utf8.RuneCountInString(id) > events.MaxIDLength {
		sum := sha256.Sum256([]byte(id))
		id = prefix + hex.EncodeToString(sum[:16])
	}
	return id, nil
}

// fieldErr is a Value that could not be evaluated, before the field name is known.
type fieldErr struct{ zh, en string }

func (e fieldErr) Error() string { return e.en }

func (e fieldErr) at(field string) fieldError {
	return fieldError{zh: field + "：" + e.zh, en: field + ": " + e.en}
}

// eval returns the field's value (string, float64, int, bool) or nil when it is empty and
// optional.
func (v Value) eval(rec Record) (any, error) {
	var raw string
	switch {
	case v.Column != "":
		x, ok := rec.Values[v.Column]
		if !ok {
			return nil, fieldErr{zh: "缺少列「" + v.Column + "」", en: "no column " + strconv.Quote(v.Column)}
		}
		if t, isTime := x.(time.Time); isTime && v.Type == "time" {
			return t.In(Shanghai).Format(time.RFC3339), nil
		}
		raw = Text(x)
	case v.Const != "":
		raw = v.Const
	case v.Template != "":
		var missing []string
		raw = templateRE.ReplaceAllStringFunc(v.Template, func(s string) string {
			col := clean(templateRE.FindStringSubmatch(s)[1])
			x, ok := rec.Values[col]
			if !ok {
				missing = append(missing, col)
			}
			return clean(Text(x))
		})
		if len(missing) > 0 {
			return nil, fieldErr{zh: "缺少列「" + strings.Join(missing, "」「") + "」", en: "no column " + strings.Join(missing, ", ")}
		}
	}
	raw = clean(raw)
	if raw == "" {
		raw = v.Default
	}
	src := "列「" + v.Column + "」"
	srcEN := "column " + strconv.Quote(v.Column)
	if v.Column == "" {
		src, srcEN = "取值", "value"
	}
	if raw == "" {
		if v.Optional {
			return nil, nil
		}
		return nil, fieldErr{zh: src + "为空，此项必填", en: srcEN + " is empty; the field is required"}
	}
	if len(v.Map) > 0 {
		to, ok := v.Map[normalize(raw)]
		if !ok {
			to, ok = v.Map["*"]
		}
		if !ok {
			allowed := make([]string, 0, len(v.Map))
			for k := range v.Map {
				allowed = append(allowed, k)
			}
			sort.Strings(allowed)
			return nil, fieldErr{
				zh: src + "的值「" + raw + "」不在对照表中（可选：" + strings.Join(allowed, "、") + "）",
				en: srcEN + " value " + strconv.Quote(raw) + " is not in the value map (allowed: " + strings.Join(allowed, ", ") + ")",
			}
		}
		raw = to
	}
	bad := func(zh, en string) error {
		return fieldErr{zh: src + "的值「" + raw + "」" + zh, en: srcEN + " value " + strconv.Quote(raw) + " " + en}
	}
	switch v.Lookup {
	case "township":
		code, ok := LookupTownshipCode(raw)
		if !ok {
			return nil, bad("不是利州区的乡镇或街道", "is not a township or street of Lizhou District")
		}
		return code, nil
	case "industry":
		code, ok := LookupIndustryCode(raw)
		if !ok {
			return nil, bad("不是 GB/T 4754-2017 行业小类名称或代码", "is not a GB/T 4754-2017 class name or code")
		}
		return code, nil
	}
	switch v.Type {
	case "time":
		t, err := ParseTime(raw)
		if err != nil {
			return nil, bad("不是可识别的日期（如 2018年12月24日、2018/12/24、2018-12-24 09:30）",
				"is not a date (e.g. 2018年12月24日, 2018/12/24, 2018-12-24 09:30)")
		}
		return t.In(Shanghai).Format(time.RFC3339), nil
	case "amount", "number":
		f, err := ParseAmount(raw)
		if err != nil {
			return nil, bad("不是金额或数字（如 1,200.50元、1.2万）", "is not an amount (e.g. 1,200.50元, 1.2万)")
		}
		return f, nil
	case "int":
		f, err := ParseAmount(raw)
		if err != nil || f != float64(int64(f)) {
			return nil, bad("不是整数", "is not a whole number")
		}
		return int64(f), nil
	case "bool":
		switch normalize(raw) {
		case "是", "true", "1", "Y", "y", "yes":
			return true, nil
		case "否", "false", "0", "N", "n", "no":
			return false, nil
		}
		return nil, bad("不是 是/否", "is not yes/no")
	}
	return raw, nil
}

// ErrSkip is MapRecord's answer for a record a skip mapping matched.
var ErrSkip = errors.New("record skipped by a skip mapping")

// MapRecord picks the first mapping that matches rec and maps it. A record no mapping matches
// is an error naming the position.
func MapRecord(ms []*Mapping, rec Record) (events.Event, error) {
	for _, m := range ms {
		if m.Matches(rec) {
			if m.Skip {
				return events.Event{}, ErrSkip
			}
			return m.Map(rec)
		}
	}
	pos := rec.Position.String()
	return events.Event{}, Reason{
		ZH: pos + "：没有适用于此记录的映射（when 条件均不满足）",
		EN: pos + ": no mapping applies to this record (no when matched)",
	}
}
