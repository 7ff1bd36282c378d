package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"mime"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// HubSource is the source of the events the hub emits itself (incident.detected). It is not a
// bureau: Event.Bureau returns "" for it, and Validate rejects it; ValidateHub requires it.
const HubSource = "/hub"

// MaxIDLength bounds an event id, in characters.
const MaxIDLength = 128

// Validate checks an event a bureau sends and returns every problem with it, in a deterministic
// order (envelope attributes in the order specversion, id, source, type, subject, time,
// datacontenttype, dataschema; then data problems sorted by field and rule). It returns nil for a
// valid event.
//
// callerBureau is the code of the bureau whose key sent the event: the event's source must be
// that bureau's. callerBureau "" skips only this equality check (replays, imports); every other
// check still runs, including that the source names a registered bureau.
//
// incident.detected is reserved to the hub and always reported (rule reserved-type); the hub
// checks its own events with ValidateHub.
func Validate(ev Event, callerBureau string) []Problem {
	return validate(ev, callerBureau, false)
}

// ValidateHub checks an event the hub emits itself: source must be HubSource, any catalogue type
// is allowed (HubTypes included), and an incident or a silence may omit the subject (its data
// says what it is about). A silence (silence.created, silence.deleted) may instead have the
// source of the officer's registered bureau. Every other check is Validate's.
func ValidateHub(ev Event) []Problem { return validate(ev, "", true) }

// ValidateLink checks a merchant.linked event an officer records through the gateway's link
// route (or the projector replays, callerBureau ""): Validate's checks, with merchant.linked
// allowed from a bureau.
func ValidateLink(ev Event, callerBureau string) []Problem {
	return validateWith(ev, callerBureau, false, true)
}

func validate(ev Event, caller string, hub bool) []Problem {
	return validateWith(ev, caller, hub, false)
}

func validateWith(ev Event, caller string, hub, link bool) []Problem {
	var ps []Problem
	add := func(p Problem) { ps = append(ps, p) }

	switch ev.SpecVersion {
	case SpecVersion:
	case "":
		add(problem("specversion", RuleRequired,
			"缺少 specversion（CloudEvents 版本），应为 1.0；二进制模式请使用 ce-specversion 请求头",
			"specversion is missing; it must be 1.0 (ce-specversion header in binary mode)"))
	default:
		add(problem("specversion", RuleEnum,
			"specversion 为"+quoteZH(ev.SpecVersion)+"，本平台只接受 CloudEvents 1.0",
			"specversion "+quote(ev.SpecVersion)+" is not supported; it must be 1.0"))
	}

	if ev.ID == "" {
		add(problem("id", RuleRequired, "缺少事件编号 id（在本单位内唯一）",
			"id is missing; it must be unique within the sending bureau"))
	} else if n := utf8.RuneCountInString(ev.ID); n > MaxIDLength {
		add(problem("id", RuleMaxLength,
			fmt.Sprintf("事件编号 id 不能超过 %d 个字符（现为 %d 个）", MaxIDLength, n),
			fmt.Sprintf("id must be at most %d characters (got %d)", MaxIDLength, n)))
	}

	ps = append(ps, sourceProblems(ev, caller, hub)...)

	known := slices.Contains(Types, ev.Type)
	switch {
	case ev.Type == "":
		add(problem("type", RuleRequired, "缺少事件类型 type（如 complaint.received）",
			"type is missing (e.g. complaint.received)"))
	case !known:
		add(problem("type", RuleUnknownType,
			"事件类型"+quoteZH(ev.Type)+"不在 v1 事件目录中；可用类型："+strings.Join(bureauTypes(), "、"),
			"type "+quote(ev.Type)+" is not in the v1 catalogue; known types: "+strings.Join(bureauTypes(), ", ")))
	case ev.Type == TypeIncidentDetected && !hub:
		add(problem("type", RuleReservedType,
			"事件类型 incident.detected（群体性、突发性消费事件）由平台根据规则自动生成，各单位不能发送",
			"incident.detected is emitted by the hub itself; bureaus may not send it"))
	case slices.Contains(HubTypes, ev.Type) && !hub:
		add(problem("type", RuleReservedType,
			"事件类型"+quoteZH(ev.Type)+"由平台自动生成（静默规则请通过 /v1/silences 设置），各单位不能直接发送",
			ev.Type+" is written by the hub itself (silences through /v1/silences); bureaus may not send it"))
	case ev.Type == TypeMerchantLinked && !hub && !link:
		add(problem("type", RuleReservedType,
			"事件类型 merchant.linked（关联经营者）由平台自动匹配生成，或由工作人员通过 POST /v1/unlinked/{source}/{id}/link 记录，不能通过 /v1/events 发送",
			"merchant.linked is recorded by the hub's matcher or through POST /v1/unlinked/{source}/{id}/link, not through /v1/events"))
	}

	switch {
	case ev.Subject != "":
		if p, bad := usccProblem(ev.Subject); bad {
			add(p)
		}
	case slices.Contains(HubTypes, ev.Type) || ev.Type == TypeWarningIssued:
		// An incident or a consumer warning (消费警示) may concern a township, an industry or the
		// whole district rather than one merchant.
	case ev.Type == TypeComplaintReceived && hasUnlinkedMerchant(ev.Data):
		// 12345 calls name a shop and a street: the hub links them to a merchant when it can.
	case ev.Type == TypeComplaintReceived:
		add(problem("subject", RuleRequired,
			"缺少经营者统一社会信用代码 subject；不知道代码的投诉可以不填 subject，但须在 data 中填写经营者名称 merchant_name 和地址 address",
			"subject (the merchant's unified social credit code) is missing; a complaint without one must carry data.merchant_name and data.address"))
	default:
		add(problem("subject", RuleRequired, "缺少经营者统一社会信用代码 subject（18 位）",
			"subject (the merchant's 18-character unified social credit code) is missing"))
	}

	if ev.Time.IsZero() {
		add(problem("time", RuleRequired,
			"缺少事件时间 time（RFC 3339 格式，带时区，如 2018-12-24T09:30:00+08:00）",
			"time is missing (RFC 3339 with offset, e.g. 2018-12-24T09:30:00+08:00)"))
	}

	if ev.DataContentType != "" && !isJSONContentType(ev.DataContentType) {
		add(problem("datacontenttype", RuleEnum,
			"datacontenttype 为"+quoteZH(ev.DataContentType)+"，本平台只接受 application/json",
			"datacontenttype "+quote(ev.DataContentType)+" is not supported; it must be application/json"))
	}

	if ev.DataSchema != "" && (!known || ev.DataSchema != SchemaURI(ev.Type)) {
		zh := "dataschema" + quoteZH(ev.DataSchema) + "不是本平台 v1 的数据结构"
		en := "dataschema " + quote(ev.DataSchema) + " is not a v1 schema of this hub"
		if known {
			zh += "；" + ev.Type + " 应为 " + SchemaURI(ev.Type) + " 或不填"
			en += "; for " + ev.Type + " use " + SchemaURI(ev.Type) + " or leave it out"
		}
		add(problem("dataschema", RuleDataSchema, zh, en))
	}

	if known {
		dps := ValidateData(ev.Type, ev.Data)
		ps = append(ps, dps...)
		if ev.Type == TypeMerchantLinked && len(dps) == 0 && (hub || link) {
			ps = append(ps, linkProblems(ev, hub)...)
		}
	}
	return ps
}

// linkProblems checks what the schema cannot: data.uscc is the subject, and the method matches
// who links (the hub automatically, a bureau's officer by hand).
func linkProblems(ev Event, hub bool) []Problem {
	var d MerchantLinked
	if json.Unmarshal(ev.Data, &d) != nil {
		return nil // ValidateData reported it
	}
	var ps []Problem
	if d.USCC != ev.Subject {
		ps = append(ps, problem("data/uscc", RuleUSCC,
			"data.uscc"+quoteZH(d.USCC)+"应与事件的 subject（被关联经营者的统一社会信用代码）一致",
			"data.uscc "+quote(d.USCC)+" must equal the event's subject"))
	} else if p, bad := usccProblem(d.USCC); bad {
		p.Field = "data/uscc"
		ps = append(ps, p)
	}
	switch {
	case hub && d.Method != LinkAuto:
		ps = append(ps, problem("data/method", RuleEnum, "平台自动关联的 method 应为 auto",
			"links the hub records have method auto"))
	case !hub && d.Method != LinkManual:
		ps = append(ps, problem("data/method", RuleEnum, "工作人员关联的 method 应为 manual",
			"links an officer records have method manual"))
	}
	return ps
}

func sourceProblems(ev Event, caller string, hub bool) []Problem {
	if ev.Source == "" {
		return []Problem{problem("source", RuleRequired,
			"缺少事件来源 source，应为 /bureaus/{单位代码}，如 /bureaus/amr",
			"source is missing; it must be /bureaus/{code}, e.g. /bureaus/amr")}
	}
	if hub {
		if ev.Source != HubSource && (ev.Type == TypeSilenceCreated || ev.Type == TypeSilenceDeleted) {
			return sourceProblems(ev, "", false)
		}
		if ev.Source != HubSource {
			return []Problem{problem("source", RuleFormat,
				"平台自身产生的事件，来源 source 应为 "+HubSource,
				"events the hub emits must have source "+HubSource)}
		}
		return nil
	}
	code := ev.Bureau()
	if code == "" {
		return []Problem{problem("source", RuleFormat,
			"事件来源 source"+quoteZH(ev.Source)+"格式不对，应为 /bureaus/{单位代码}，如 /bureaus/amr",
			"source "+quote(ev.Source)+" must be /bureaus/{code}, e.g. /bureaus/amr")}
	}
	var ps []Problem
	if _, ok := bureaus().byCode[code]; !ok {
		ps = append(ps, problem("source", RuleUnknownBureau,
			"单位代码"+quoteZH(code)+"不在单位名录中",
			"bureau code "+quote(code)+" is not in the registry"))
	}
	if caller != "" && code != caller {
		ps = append(ps, problem("source", RuleSourceBureau,
			"事件来源是"+bureauLabelZH(code)+"，但发送方是"+bureauLabelZH(caller)+"；各单位只能以本单位名义发送事件",
			"source is bureau "+quote(code)+" but the sender is "+quote(caller)+"; a bureau may only send its own events"))
	}
	return ps
}

func bureauLabelZH(code string) string {
	if i, ok := bureaus().byCode[code]; ok {
		return bureaus().list[i].NameZH + "（" + code + "）"
	}
	return quoteZH(code)
}

// bureauTypes lists the types a bureau may send.
func bureauTypes() []string {
	return slices.DeleteFunc(slices.Clone(Types), func(t string) bool { return slices.Contains(HubTypes, t) })
}

func usccProblem(code string) (Problem, bool) {
	switch err := CheckUSCC(code); {
	case err == nil:
		return Problem{}, false
	case errors.Is(err, ErrUSCCLength):
		n := len(code)
		return problem("subject", RuleUSCC,
			fmt.Sprintf("统一社会信用代码%s应为 18 位（现为 %d 位）", quoteZH(code), n),
			fmt.Sprintf("unified social credit code %s must be 18 characters (got %d bytes)", quote(code), n)), true
	case errors.Is(err, ErrUSCCAlphabet):
		return problem("subject", RuleUSCC,
			"统一社会信用代码"+quoteZH(code)+"含有不允许的字符：只能使用数字和大写字母，且不用 I、O、Z、S、V",
			"unified social credit code "+quote(code)+" may only use digits and upper-case letters other than I, O, Z, S, V"), true
	default:
		return problem("subject", RuleUSCC,
			"统一社会信用代码"+quoteZH(code)+"的校验码（最后一位）不正确（GB 32100-2015），请核对代码",
			"unified social credit code "+quote(code)+": the check character (last) does not match (GB 32100-2015)"), true
	}
}

// hasUnlinkedMerchant reports whether a complaint's data names the merchant by name and address.
func hasUnlinkedMerchant(data json.RawMessage) bool {
	if name, addr, ok := unlinkedMerchantFast(data); ok { // fastvalidate.go
		return strings.TrimSpace(name) != "" && strings.TrimSpace(addr) != ""
	}
	return hasUnlinkedMerchantRef(data)
}

// hasUnlinkedMerchantRef is hasUnlinkedMerchant through encoding/json: the reference.
func hasUnlinkedMerchantRef(data json.RawMessage) bool {
	var d struct {
		MerchantName any `json:"merchant_name"`
		Address      any `json:"address"`
	}
	if json.Unmarshal(data, &d) != nil {
		return false
	}
	name, _ := d.MerchantName.(string)
	addr, _ := d.Address.(string)
	return strings.TrimSpace(name) != "" && strings.TrimSpace(addr) != ""
}

// isJSONContentType accepts application/json with no parameter but charset=utf-8.
func isJSONContentType(ct string) bool {
	if ct == MediaTypeJSON {
		return true // the common case, without parsing
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// ValidateData checks the data of a catalogue type against its v1 schema and the reference data
// (township, industry, bureau codes) and returns every problem, fields prefixed "data/", sorted.
// Validate calls it; it is exported for code that builds payloads on its own (the hub's rules,
// connectors' tests).
func ValidateData(typ string, data json.RawMessage) []Problem {
	if fastValidData(typ, data) {
		return nil // fastvalidate.go: certainly valid
	}
	return validateDataRef(typ, data)
}

// validateDataRef is ValidateData through the jsonschema validator: the reference, and the
// source of every problem reported.
func validateDataRef(typ string, data json.RawMessage) []Problem {
	sch, ok := compiledSchemas()[typ]
	if !ok {
		return []Problem{problem("type", RuleUnknownType,
			"事件类型"+quoteZH(typ)+"不在 v1 事件目录中", "type "+quote(typ)+" is not in the v1 catalogue")}
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || string(t) == "null" {
		return []Problem{problem("data", RuleRequired, "缺少事件数据 data（JSON 对象）",
			"data is missing; it must be a JSON object")}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return []Problem{problem("data", RuleJSON, "事件数据 data 不是有效的 JSON："+err.Error(),
			"data is not valid JSON: "+err.Error())}
	}

	var ps []Problem
	if err := sch.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			schemaProblems(typ, ve, &ps)
		} else {
			ps = append(ps, problem("data", RuleSchema, "事件数据不符合数据结构："+err.Error(), err.Error()))
		}
	}
	bad := map[string]bool{}
	for _, p := range ps {
		bad[p.Field] = true
	}

	// Reference-data checks, on fields the schema found well-formed. additionalProperties is
	// false in every schema, so a field name here is one its type defines.
	if obj, ok := v.(map[string]any); ok {
		if s, ok := obj["township"].(string); ok && !bad["data/township"] {
			if p, isBad := townshipProblem("data/township", s); isBad {
				ps = append(ps, p)
			}
		}
		if s, ok := obj["industry"].(string); ok && !bad["data/industry"] {
			if p, isBad := industryProblem("data/industry", s); isBad {
				ps = append(ps, p)
			}
		}
		for _, f := range []string{"to_bureau", "created_by", "deleted_by"} {
			if s, ok := obj[f].(string); ok && !bad["data/"+f] {
				if p, isBad := bureauProblem("data/"+f, s); isBad {
					ps = append(ps, p)
				}
			}
		}
		if arr, ok := obj["responsible_bureaus"].([]any); ok {
			for i, e := range arr {
				f := "data/responsible_bureaus/" + strconv.Itoa(i)
				if s, ok := e.(string); ok && !bad[f] {
					if p, isBad := bureauProblem(f, s); isBad {
						ps = append(ps, p)
					}
				}
			}
		}
	}

	// What the schema allows the payload struct must decode (e.g. 2.0 is a JSON Schema integer
	// but not a Go int).
	if len(ps) == 0 {
		if _, err := DecodeData(Event{Type: typ, Data: data}); err != nil {
			ps = append(ps, decodeProblem(typ, err))
		}
	}
	sortProblems(ps)
	return ps
}

func townshipProblem(field, s string) (Problem, bool) {
	if _, ok := LookupTownship(s); ok {
		return Problem{}, false
	}
	return problem(field, RuleTownship,
		quoteZH(s)+"不是利州区的乡镇或街道；请填写九位统计用区划代码（如 510802002）或准确名称（如 嘉陵街道）",
		field+": "+quote(s)+" is not a township or street of Lizhou District; use its nine-digit code (e.g. 510802002) or exact name (e.g. 嘉陵街道)"), true
}

func industryProblem(field, s string) (Problem, bool) {
	in, ok := LookupIndustry(s)
	if ok && in.Level == IndustryClass {
		return Problem{}, false
	}
	if ok {
		levelZH := map[int]string{IndustrySection: "门类", IndustryDivision: "大类", IndustryGroup: "中类"}[in.Level]
		levelEN := map[int]string{IndustrySection: "section", IndustryDivision: "division", IndustryGroup: "group"}[in.Level]
		return problem(field, RuleIndustry,
			quoteZH(s)+"是 GB/T 4754-2017 的"+levelZH+"「"+in.Name+"」；事件须填写小类代码（字母加四位数字，如 H6210 正餐服务）",
			field+": "+quote(s)+" is a GB/T 4754-2017 "+levelEN+" ("+in.Name+"); events carry a class (小类) code, a letter and four digits such as H6210"), true
	}
	return problem(field, RuleIndustry,
		quoteZH(s)+"不是 GB/T 4754-2017 的行业小类代码；应为门类字母加四位数字，如 H6210（正餐服务）、R8930（健身休闲活动）",
		field+": "+quote(s)+" is not a GB/T 4754-2017 class (小类) code such as H6210 or R8930"), true
}

func bureauProblem(field, s string) (Problem, bool) {
	if _, ok := bureaus().byCode[s]; ok {
		return Problem{}, false
	}
	return problem(field, RuleBureau,
		quoteZH(s)+"不是单位名录中的单位代码（如 amr、tourism、hotline-12345）",
		field+": "+quote(s)+" is not a bureau code of the registry (e.g. amr, tourism, hotline-12345)"), true
}

// pointer turns a location inside data into a Problem field: "data/consumer/phone".
func pointer(path []string) string {
	var b strings.Builder
	b.WriteString("data")
	for _, tok := range path {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

var jsonTypeZH = map[string]string{
	"string": "字符串", "integer": "整数", "number": "数字", "object": "JSON 对象",
	"array": "数组", "boolean": "布尔值", "null": "空值（null）",
}

func typeNamesZH(ts []string) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		if zh, ok := jsonTypeZH[t]; ok {
			out[i] = zh
		} else {
			out[i] = t
		}
	}
	return strings.Join(out, "或")
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func valueString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// schemaProblems maps the leaves of a jsonschema error tree to Problems.
func schemaProblems(typ string, ve *jsonschema.ValidationError, out *[]Problem) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			schemaProblems(typ, c, out)
		}
		return
	}
	path := ve.InstanceLocation
	field := pointer(path)
	zh := fieldLabel(typ, path)
	add := func(rule, detail, detailEN string) {
		*out = append(*out, problem(field, rule, detail, field+": "+detailEN))
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			p := append(slices.Clone(path), m)
			mzh := fieldLabel(typ, p)
			*out = append(*out, problem(pointer(p), RuleRequired, "缺少必填字段："+mzh, pointer(p)+": required field is missing"))
		}
	case *kind.AdditionalProperties:
		for _, m := range k.Properties {
			p := append(slices.Clone(path), m)
			where := "事件类型 " + typ + " 的数据"
			if len(path) > 0 {
				where = zh
			}
			*out = append(*out, problem(pointer(p), RuleUnknownField,
				where+"中没有字段"+quoteZH(m)+"（v1），请检查拼写",
				pointer(p)+": "+quote(m)+" is not a field of "+typ+" v1 data (check the spelling)"))
		}
	case *kind.Type:
		add(RuleType, zh+"应为"+typeNamesZH(k.Want)+"，实际为"+typeNamesZH([]string{k.Got}),
			"must be "+strings.Join(k.Want, " or ")+", got "+k.Got)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = valueString(w)
		}
		add(RuleEnum, zh+"的取值"+quoteZH(valueString(k.Got))+"不在允许范围内，应为："+strings.Join(want, "、"),
			quote(valueString(k.Got))+" is not one of "+strings.Join(want, ", "))
	case *kind.Const:
		add(RuleEnum, zh+"的取值应为"+quoteZH(valueString(k.Want)), "must be "+quote(valueString(k.Want)))
	case *kind.Format:
		got := quoteZH(valueString(k.Got))
		switch k.Want {
		case "date-time":
			add(RuleFormat, zh+got+"不是有效的日期时间；应为 RFC 3339 格式并带时区，如 2018-12-24T09:30:00+08:00",
				quote(valueString(k.Got))+" is not an RFC 3339 date-time with offset, e.g. 2018-12-24T09:30:00+08:00")
		case "duration":
			add(RuleFormat, zh+got+"不是有效的时长；应为 ISO 8601 格式，如 PT2H（2 小时）、P1D（1 天）",
				quote(valueString(k.Got))+" is not an ISO 8601 duration such as PT2H")
		default:
			add(RuleFormat, zh+got+"不符合格式 "+k.Want, quote(valueString(k.Got))+" is not a valid "+k.Want)
		}
	case *kind.Minimum:
		add(RuleMinimum, zh+"不能小于 "+ratString(k.Want)+"（现为 "+ratString(k.Got)+"）",
			"must be at least "+ratString(k.Want)+" (got "+ratString(k.Got)+")")
	case *kind.Maximum:
		add(RuleMaximum, zh+"不能大于 "+ratString(k.Want)+"（现为 "+ratString(k.Got)+"）",
			"must be at most "+ratString(k.Want)+" (got "+ratString(k.Got)+")")
	case *kind.MinLength:
		if k.Want <= 1 {
			add(RuleMinLength, zh+"不能为空", "must not be empty")
		} else {
			add(RuleMinLength, fmt.Sprintf("%s至少 %d 个字符", zh, k.Want), fmt.Sprintf("must be at least %d characters", k.Want))
		}
	case *kind.MaxLength:
		add(RuleMaxLength, fmt.Sprintf("%s不能超过 %d 个字符（现为 %d 个）", zh, k.Want, k.Got),
			fmt.Sprintf("must be at most %d characters (got %d)", k.Want, k.Got))
	case *kind.Pattern:
		// Fields whose form the reference data defines get the domain rule and message.
		name := path[len(path)-1]
		if len(path) == 2 && path[0] == "responsible_bureaus" {
			name = "to_bureau"
		}
		switch name {
		case "industry":
			p, _ := industryProblem(field, k.Got)
			*out = append(*out, p)
		case "to_bureau":
			p, _ := bureauProblem(field, k.Got)
			*out = append(*out, p)
		case "phone":
			add(RulePattern, zh+quoteZH(k.Got)+"不是有效的电话号码（只能包含数字、+、-、空格和括号，3 到 32 个字符）",
				quote(k.Got)+" is not a phone number (digits, +, -, spaces, parentheses; 3 to 32 characters)")
		case "scheme":
			add(RulePattern, zh+quoteZH(k.Got)+"格式不对；应为小写字母、数字和下划线，如 demo_unit、star_farmhouse",
				quote(k.Got)+" must be lower_snake_case such as demo_unit or star_farmhouse")
		default:
			add(RulePattern, zh+quoteZH(k.Got)+"格式不对（应匹配 "+k.Want+"）", quote(k.Got)+" does not match "+k.Want)
		}
	case *kind.MinItems:
		add(RuleMinItems, fmt.Sprintf("%s至少需要 %d 项", zh, k.Want), fmt.Sprintf("must have at least %d items", k.Want))
	case *kind.UniqueItems:
		add(RuleUniqueItems, zh+"有重复项（第 "+strconv.Itoa(k.Duplicates[0]+1)+" 项与第 "+strconv.Itoa(k.Duplicates[1]+1)+" 项相同）",
			fmt.Sprintf("items %d and %d are equal", k.Duplicates[0], k.Duplicates[1]))
	default:
		msg := strings.TrimSpace(ve.Error())
		add(RuleSchema, zh+"不符合数据结构要求："+msg, msg)
	}
}

// decodeProblem maps a payload-struct decoding failure to a Problem.
func decodeProblem(typ string, err error) Problem {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		path := strings.Split(te.Field, ".")
		zh := fieldLabel(typ, path)
		want, wantEN := "其他类型", "another type"
		if te.Type != nil {
			switch te.Type.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				want, wantEN = "整数（不带小数点，且在范围内）", "an integer without a decimal point, in range"
			case reflect.Float32, reflect.Float64:
				want, wantEN = "在范围内的数字", "a number in range"
			case reflect.String:
				want, wantEN = "字符串", "a string"
			}
		}
		return problem(pointer(path), RuleType, zh+"应为"+want+"（现为 "+te.Value+"）",
			pointer(path)+": must be "+wantEN+" (got "+te.Value+")")
	}
	return problem("data", RuleType, "事件数据无法按 "+typ+" 解码："+err.Error(), "data does not decode as "+typ+": "+err.Error())
}
