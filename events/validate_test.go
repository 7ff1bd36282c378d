package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// fr is a (field, rule) pair: what the table tests compare.
type fr struct{ field, rule string }

func pairs(ps []Problem) []fr {
	var out []fr
	for _, p := range ps {
		out = append(out, fr{p.Field, p.Rule})
	}
	return out
}

// event returns Example(typ) changed by edit.
func event(typ string, edit func(*Event)) Event {
	ev := Example(typ)
	if edit != nil {
		edit(&ev)
	}
	return ev
}

// withData returns Example(typ) with its data changed by edit (on the decoded JSON object).
func withData(typ string, edit func(map[string]any)) Event {
	ev := Example(typ)
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		panic(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	ev.Data = b
	return ev
}

// unlinked returns the example complaint without a subject, with fields added to its data.
func unlinked(fields map[string]any) Event {
	ev := withData(TypeComplaintReceived, func(m map[string]any) {
		for k, v := range fields {
			m[k] = v
		}
	})
	ev.Subject = ""
	return ev
}

func rawData(typ, data string) Event {
	return event(typ, func(e *Event) { e.Data = json.RawMessage(data) })
}

func TestExamplesAreValid(t *testing.T) {
	for _, typ := range Types {
		ev := Example(typ)
		if ev.Type != typ || ev.SpecVersion != SpecVersion || ev.ID == "" || ev.Time.IsZero() {
			t.Errorf("Example(%s) = %+v", typ, ev)
		}
		if ev.Subject != "" && CheckUSCC(ev.Subject) != nil {
			t.Errorf("Example(%s): subject %s", typ, ev.Subject)
		}
		if _, err := DecodeData(ev); err != nil {
			t.Errorf("Example(%s): DecodeData: %v", typ, err)
		}
		if slices.Contains(HubTypes, typ) || typ == TypeMerchantLinked {
			if ps := ValidateHub(ev); ps != nil {
				t.Errorf("ValidateHub(Example(%s)) = %v", typ, ps)
			}
			got := pairs(Validate(ev, ""))
			want := []fr{{"source", RuleFormat}, {"type", RuleReservedType}}
			if ev.Source != HubSource { // a silence, with the officer's bureau as source
				want = want[1:]
			}
			if !slices.Equal(got, want) {
				t.Errorf("Validate(Example(%s)) = %v, want %v", typ, got, want)
			}
			continue
		}
		for _, caller := range []string{"", ev.Bureau()} {
			if ps := Validate(ev, caller); ps != nil {
				t.Errorf("Validate(Example(%s), %q) = %v", typ, caller, ps)
			}
		}
		if ps := ValidateHub(ev); !slices.Equal(pairs(ps), []fr{{"source", RuleFormat}}) {
			t.Errorf("ValidateHub(Example(%s)) = %v, want only the source", typ, ps)
		}
	}
	if !reflect.DeepEqual(Example("no.such.type"), Event{}) {
		t.Errorf("Example of an unknown type is not the zero Event")
	}
	// Fresh values: changing one example leaves the next alone.
	a := Example(TypeComplaintReceived)
	a.Data[2] = 'X'
	if b := Example(TypeComplaintReceived); reflect.DeepEqual(a.Data, b.Data) {
		t.Errorf("Example returns shared data")
	}
}

func TestDemoUSCC(t *testing.T) {
	seen := map[string]int{}
	for _, n := range []int{0, 1, 2, 30, 31, 961, 28629150} {
		c := DemoUSCC(n)
		if err := CheckUSCC(c); err != nil || !strings.HasPrefix(c, "91510802MA6B") {
			t.Errorf("DemoUSCC(%d) = %s: %v", n, c, err)
		}
		if prev, dup := seen[c]; dup {
			t.Errorf("DemoUSCC(%d) = DemoUSCC(%d) = %s", n, prev, c)
		}
		seen[c] = n
	}
	if DemoUSCC(0) != DemoUSCC(28629151) || DemoUSCC(-1) != DemoUSCC(28629150) {
		t.Errorf("DemoUSCC does not wrap at 31^5")
	}
}

func TestValidateRules(t *testing.T) {
	complaint, assigned, hubIncident := TypeComplaintReceived, TypeComplaintAssigned, TypeIncidentDetected
	long := strings.Repeat("长", 129)
	badCheck := DemoUSCC(5)[:17] + map[bool]string{true: "1", false: "0"}[DemoUSCC(5)[17] == '0']
	for _, tc := range []struct {
		name   string
		ev     Event
		caller string
		hub    bool
		want   []fr
	}{
		// envelope
		{"specversion missing", event(complaint, func(e *Event) { e.SpecVersion = "" }), "", false, []fr{{"specversion", RuleRequired}}},
		{"specversion 0.3", event(complaint, func(e *Event) { e.SpecVersion = "0.3" }), "", false, []fr{{"specversion", RuleEnum}}},
		{"id missing", event(complaint, func(e *Event) { e.ID = "" }), "", false, []fr{{"id", RuleRequired}}},
		{"id 128 characters", event(complaint, func(e *Event) { e.ID = long[:128*3] }), "", false, nil},
		{"id 129 characters", event(complaint, func(e *Event) { e.ID = long }), "", false, []fr{{"id", RuleMaxLength}}},
		{"source missing", event(complaint, func(e *Event) { e.Source = "" }), "", false, []fr{{"source", RuleRequired}}},
		{"source without prefix", event(complaint, func(e *Event) { e.Source = "amr" }), "", false, []fr{{"source", RuleFormat}}},
		{"source empty code", event(complaint, func(e *Event) { e.Source = "/bureaus/" }), "", false, []fr{{"source", RuleFormat}}},
		{"source nested", event(complaint, func(e *Event) { e.Source = "/bureaus/amr/x" }), "", false, []fr{{"source", RuleFormat}}},
		{"source unknown bureau", event(complaint, func(e *Event) { e.Source = "/bureaus/xyz" }), "", false, []fr{{"source", RuleUnknownBureau}}},
		{"source unknown and not the caller", event(complaint, func(e *Event) { e.Source = "/bureaus/xyz" }), "hotline-12315", false,
			[]fr{{"source", RuleUnknownBureau}, {"source", RuleSourceBureau}}},
		{"source another bureau", event(complaint, nil), "amr", false, []fr{{"source", RuleSourceBureau}}},
		{"source own bureau", event(complaint, nil), "hotline-12315", false, nil},
		{"replay skips the caller check", event(complaint, func(e *Event) { e.Source = "/bureaus/tourism" }), "", false, nil},
		{"type missing", event(complaint, func(e *Event) { e.Type = "" }), "", false, []fr{{"type", RuleRequired}}},
		{"type unknown", event(complaint, func(e *Event) { e.Type = "complaint.recieved" }), "", false, []fr{{"type", RuleUnknownType}}},
		{"type reserved", event(hubIncident, func(e *Event) { e.Source = "/bureaus/amr" }), "amr", false, []fr{{"type", RuleReservedType}}},
		{"subject missing", event(TypePenaltyImposed, func(e *Event) { e.Subject = "" }), "", false, []fr{{"subject", RuleRequired}}},
		{"subject too short", event(complaint, func(e *Event) { e.Subject = "9151080212345" }), "", false, []fr{{"subject", RuleUSCC}}},
		{"subject lower case", event(complaint, func(e *Event) { e.Subject = strings.ToLower(DemoUSCC(5)) }), "", false, []fr{{"subject", RuleUSCC}}},
		{"subject bad check character", event(complaint, func(e *Event) { e.Subject = badCheck }), "", false, []fr{{"subject", RuleUSCC}}},
		{"time missing", event(complaint, func(e *Event) { e.Time = time.Time{} }), "", false, []fr{{"time", RuleRequired}}},
		{"datacontenttype absent", event(complaint, func(e *Event) { e.DataContentType = "" }), "", false, nil},
		{"datacontenttype utf-8", event(complaint, func(e *Event) { e.DataContentType = "application/json; charset=UTF-8" }), "", false, nil},
		{"datacontenttype text", event(complaint, func(e *Event) { e.DataContentType = "text/plain" }), "", false, []fr{{"datacontenttype", RuleEnum}}},
		{"datacontenttype gbk", event(complaint, func(e *Event) { e.DataContentType = "application/json; charset=gbk" }), "", false, []fr{{"datacontenttype", RuleEnum}}},
		{"dataschema v1", event(complaint, func(e *Event) { e.DataSchema = SchemaURI(complaint) }), "", false, nil},
		{"dataschema v0", event(complaint, func(e *Event) { e.DataSchema = SchemaBaseURI + complaint + ".v0.json" }), "", false, []fr{{"dataschema", RuleDataSchema}}},
		{"dataschema of another type", event(complaint, func(e *Event) { e.DataSchema = SchemaURI(assigned) }), "", false, []fr{{"dataschema", RuleDataSchema}}},

		// the unlinked complaint (12345 call naming a shop and a street)
		{"unlinked complaint", unlinked(map[string]any{"merchant_name": "老王健身", "address": "嘉陵街道某路2号"}), "", false, nil},
		{"complaint without subject", unlinked(nil), "", false, []fr{{"subject", RuleRequired}}},
		{"unlinked complaint without address", unlinked(map[string]any{"merchant_name": "老王健身"}), "", false, []fr{{"subject", RuleRequired}}},
		{"unlinked complaint without name", unlinked(map[string]any{"address": "嘉陵街道某路2号"}), "", false, []fr{{"subject", RuleRequired}}},
		{"linked complaint with name and address", withData(complaint, func(m map[string]any) { m["merchant_name"] = "老王健身"; m["address"] = "嘉陵街道某路2号" }),
			"", false, nil},
		{"other types need the subject even with an address", event(TypeMerchantRegistered, func(e *Event) { e.Subject = "" }), "", false,
			[]fr{{"subject", RuleRequired}}},
		{"unlinked complaint with blank address", unlinked(map[string]any{"merchant_name": "老王健身", "address": "  "}), "", false,
			[]fr{{"subject", RuleRequired}}},
		{"unlinked complaint with empty address", unlinked(map[string]any{"merchant_name": "老王健身", "address": ""}), "", false,
			[]fr{{"subject", RuleRequired}, {"data/address", RuleMinLength}}},

		// data: shape
		{"data missing", rawData(complaint, ""), "", false, []fr{{"data", RuleRequired}}},
		{"data null", rawData(complaint, "null"), "", false, []fr{{"data", RuleRequired}}},
		{"data not JSON", rawData(complaint, `{"complaint_id":`), "", false, []fr{{"data", RuleJSON}}},
		{"data an array", rawData(complaint, `[1]`), "", false, []fr{{"data", RuleType}}},
		{"data empty object", rawData(TypeComplaintAssigned, `{}`), "", false,
			[]fr{{"data/complaint_id", RuleRequired}, {"data/deadline", RuleRequired}, {"data/to_bureau", RuleRequired}}},
		{"unknown field", withData(complaint, func(m map[string]any) { m["amount"] = 3 }), "", false, []fr{{"data/amount", RuleUnknownField}}},
		{"unknown consumer field", withData(complaint, func(m map[string]any) { m["consumer"] = map[string]any{"id_card": "x"} }), "", false,
			[]fr{{"data/consumer/id_card", RuleUnknownField}}},
		{"wrong JSON type", withData(complaint, func(m map[string]any) { m["summary"] = 5 }), "", false, []fr{{"data/summary", RuleType}}},

		// data: required, enums, formats, bounds
		{"required field", withData(complaint, func(m map[string]any) { delete(m, "channel") }), "", false, []fr{{"data/channel", RuleRequired}}},
		{"enum channel", withData(complaint, func(m map[string]any) { m["channel"] = "phone" }), "", false, []fr{{"data/channel", RuleEnum}}},
		{"enum outcome", withData(TypeComplaintClosed, func(m map[string]any) { m["outcome"] = "closed" }), "", false, []fr{{"data/outcome", RuleEnum}}},
		{"enum inspection kind", withData(TypeInspectionCompleted, func(m map[string]any) { m["kind"] = "Random" }), "", false, []fr{{"data/kind", RuleEnum}}},
		{"enum inspection result", withData(TypeInspectionCompleted, func(m map[string]any) { m["result"] = "ok" }), "", false, []fr{{"data/result", RuleEnum}}},
		{"enum sampling result", withData(TypeSamplingCompleted, func(m map[string]any) { m["result"] = "rectify" }), "", false, []fr{{"data/result", RuleEnum}}},
		{"enum penalty kind", withData(TypePenaltyImposed, func(m map[string]any) { m["kind"] = "jail" }), "", false, []fr{{"data/kind", RuleEnum}}},
		{"enum credit list", withData(TypeCreditListed, func(m map[string]any) { m["list"] = "blacklist" }), "", false, []fr{{"data/list", RuleEnum}}},
		{"date-time without offset", withData(complaint, func(m map[string]any) { m["received_at"] = "2018-12-24T09:30:00" }), "", false,
			[]fr{{"data/received_at", RuleFormat}}},
		{"date-time with a space", withData(TypeSamplingCompleted, func(m map[string]any) { m["sampled_at"] = "2018-12-24 09:30:00+08:00" }), "", false,
			[]fr{{"data/sampled_at", RuleFormat}}},
		{"date-time leap second", withData(TypeComplaintClosed, func(m map[string]any) { m["closed_at"] = "2016-12-31T23:59:60Z" }), "", false,
			[]fr{{"data/closed_at", RuleFormat}}},
		{"optional date-time", withData(TypeCertificationGranted, func(m map[string]any) { m["valid_until"] = "2021" }), "", false,
			[]fr{{"data/valid_until", RuleFormat}}},
		{"consumers 0", withData(complaint, func(m map[string]any) { m["consumers"] = 0 }), "", false, []fr{{"data/consumers", RuleMinimum}}},
		{"consumers 2.5", withData(complaint, func(m map[string]any) { m["consumers"] = 2.5 }), "", false, []fr{{"data/consumers", RuleType}}},
		{"consumers 2.0", rawData(complaint, `{"complaint_id":"c","channel":"online","category":"x","summary":"y","received_at":"2018-12-24T09:30:00+08:00","consumers":2.0}`),
			"", false, []fr{{"data/consumers", RuleType}}},
		{"consumers absent", withData(complaint, func(m map[string]any) { delete(m, "consumers") }), "", false, nil},
		{"amount negative", withData(complaint, func(m map[string]any) { m["amount_cny"] = -1 }), "", false, []fr{{"data/amount_cny", RuleMinimum}}},
		{"amount zero", withData(complaint, func(m map[string]any) { m["amount_cny"] = 0 }), "", false, nil},
		{"amount out of float64 range", rawData(TypePenaltyImposed, `{"decision_no":"d","kind":"fine","legal_basis":"l","decided_at":"2018-12-24T09:30:00+08:00","fine_cny":1e400}`),
			"", false, []fr{{"data/fine_cny", RuleType}}},
		{"compensation negative", withData(TypeComplaintClosed, func(m map[string]any) { m["compensation_cny"] = -0.01 }), "", false,
			[]fr{{"data/compensation_cny", RuleMinimum}}},
		{"satisfaction 0", withData(TypeComplaintClosed, func(m map[string]any) { m["satisfaction"] = 0 }), "", false, []fr{{"data/satisfaction", RuleMinimum}}},
		{"satisfaction 6", withData(TypeComplaintClosed, func(m map[string]any) { m["satisfaction"] = 6 }), "", false, []fr{{"data/satisfaction", RuleMaximum}}},
		{"empty string", withData(TypeWarningIssued, func(m map[string]any) { m["title"] = "" }), "", false, []fr{{"data/title", RuleMinLength}}},
		{"long string", withData(complaint, func(m map[string]any) { m["summary"] = strings.Repeat("长", 4001) }), "", false,
			[]fr{{"data/summary", RuleMaxLength}}},
		{"phone", withData(complaint, func(m map[string]any) { m["consumer"] = map[string]any{"phone": "call me"} }), "", false,
			[]fr{{"data/consumer/phone", RulePattern}}},
		{"scheme", withData(TypeCertificationGranted, func(m map[string]any) { m["scheme"] = "Demo Unit" }), "", false, []fr{{"data/scheme", RulePattern}}},
		{"scheme open set", withData(TypeCertificationGranted, func(m map[string]any) { m["scheme"] = "green_market" }), "", false, nil},

		// data: reference data
		{"township by name", withData(complaint, func(m map[string]any) { m["township"] = "宝轮镇" }), "", false, nil},
		{"township by code", withData(complaint, func(m map[string]any) { m["township"] = "510802103" }), "", false, nil},
		{"township elsewhere", withData(complaint, func(m map[string]any) { m["township"] = "东华门街道" }), "", false, []fr{{"data/township", RuleTownship}}},
		{"township required and bad", withData(TypeMerchantRegistered, func(m map[string]any) { m["township"] = "510802999" }), "", false,
			[]fr{{"data/township", RuleTownship}}},
		{"township a number", withData(TypeWarningIssued, func(m map[string]any) { m["township"] = 510802002 }), "", false, []fr{{"data/township", RuleType}}},
		{"industry division", withData(complaint, func(m map[string]any) { m["industry"] = "H62" }), "", false, []fr{{"data/industry", RuleIndustry}}},
		{"industry unknown class", withData(complaint, func(m map[string]any) { m["industry"] = "H6219" }), "", false, []fr{{"data/industry", RuleIndustry}}},
		{"industry lower case", withData(TypeMerchantRegistered, func(m map[string]any) { m["industry"] = "h6210" }), "", false, []fr{{"data/industry", RuleIndustry}}},
		{"industry class", withData(TypeWarningIssued, func(m map[string]any) { m["industry"] = "P8391" }), "", false, nil},
		{"to_bureau unknown", withData(assigned, func(m map[string]any) { m["to_bureau"] = "market" }), "", false, []fr{{"data/to_bureau", RuleBureau}}},
		{"to_bureau malformed", withData(assigned, func(m map[string]any) { m["to_bureau"] = "AMR" }), "", false, []fr{{"data/to_bureau", RuleBureau}}},
		{"to_bureau hotline", withData(assigned, func(m map[string]any) { m["to_bureau"] = "hotline-12345" }), "", false, nil},

		// the hub's own events
		{"hub incident", event(hubIncident, nil), "", true, nil},
		{"hub incident without subject", event(hubIncident, func(e *Event) { e.Subject = "" }), "", true, nil},
		{"hub incident with a bureau source", event(hubIncident, func(e *Event) { e.Source = "/bureaus/amr" }), "", true, []fr{{"source", RuleFormat}}},
		{"responsible bureau unknown", withData(hubIncident, func(m map[string]any) { m["responsible_bureaus"] = []string{"amr", "xyz"} }), "", true,
			[]fr{{"data/responsible_bureaus/1", RuleBureau}}},
		{"responsible bureaus empty", withData(hubIncident, func(m map[string]any) { m["responsible_bureaus"] = []string{} }), "", true,
			[]fr{{"data/responsible_bureaus", RuleMinItems}}},
		{"responsible bureaus repeated", withData(hubIncident, func(m map[string]any) { m["responsible_bureaus"] = []string{"amr", "amr"} }), "", true,
			[]fr{{"data/responsible_bureaus", RuleUniqueItems}}},
		{"incident window", withData(hubIncident, func(m map[string]any) { m["window"] = "2h" }), "", true, []fr{{"data/window", RuleFormat}}},
		{"incident count", withData(hubIncident, func(m map[string]any) { m["count"] = 0 }), "", true, []fr{{"data/count", RuleMinimum}}},
		{"incident level", withData(hubIncident, func(m map[string]any) { m["level"] = "V" }), "", true, []fr{{"data/level", RuleEnum}}},
		{"incident township", withData(hubIncident, func(m map[string]any) { m["township"] = "朝阳区" }), "", true, []fr{{"data/township", RuleTownship}}},
		{"incident update from a bureau", event(TypeIncidentUpdated, func(e *Event) { e.Source = "/bureaus/amr" }), "amr", false,
			[]fr{{"type", RuleReservedType}}},
		{"hub resolution", event(TypeIncidentResolved, nil), "", true, nil},
		{"resolution reason", withData(TypeIncidentResolved, func(m map[string]any) { m["reason"] = "bored" }), "", true, []fr{{"data/reason", RuleEnum}}},
		{"silence by an officer", event(TypeSilenceCreated, nil), "", true, nil},
		{"silence by the hub", event(TypeSilenceCreated, func(e *Event) { e.Source = HubSource }), "", true, nil},
		{"silence sent to /v1/events", event(TypeSilenceCreated, nil), "amr", false, []fr{{"type", RuleReservedType}}},
		{"silence by an unknown bureau", event(TypeSilenceDeleted, func(e *Event) { e.Source = "/bureaus/nobody" }), "", true,
			[]fr{{"source", RuleUnknownBureau}}},
		{"silence created_by unknown", withData(TypeSilenceCreated, func(m map[string]any) { m["created_by"] = "nobody" }), "", true,
			[]fr{{"data/created_by", RuleBureau}}},
		{"silence without matchers", withData(TypeSilenceCreated, func(m map[string]any) { m["matchers"] = map[string]any{} }), "", true,
			[]fr{{"data/matchers", RuleSchema}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps []Problem
			if tc.hub {
				ps = ValidateHub(tc.ev)
			} else {
				ps = Validate(tc.ev, tc.caller)
			}
			if got := pairs(ps); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
				for _, p := range ps {
					t.Logf("  %s", p)
				}
			}
			checkWording(t, ps)
		})
	}
}

// checkWording: every problem speaks Chinese to the official and English to the developer.
func checkWording(t *testing.T, ps []Problem) {
	t.Helper()
	for _, p := range ps {
		if !slices.ContainsFunc([]rune(p.Detail), func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: Detail %q has no Chinese", p.Field, p.Detail)
		}
		if p.DetailEN == "" || p.Rule == "" {
			t.Errorf("%s: empty DetailEN or Rule: %+v", p.Field, p)
		}
	}
}

func TestUSCCDetailNamesTheRule(t *testing.T) {
	for _, tc := range []struct{ subject, zh, en string }{
		{"9151080212345", "18 位", "18 characters"},
		{strings.Replace(DemoUSCC(5), "M", "O", 1), "I、O、Z、S、V", "other than I, O, Z, S, V"},
		{DemoUSCC(5)[:17] + "0", "校验码", "check character"},
	} {
		if tc.subject == DemoUSCC(5) {
			continue
		}
		ps := Validate(event(TypeComplaintReceived, func(e *Event) { e.Subject = tc.subject }), "")
		if len(ps) != 1 || !strings.Contains(ps[0].Detail, tc.zh) || !strings.Contains(ps[0].DetailEN, tc.en) {
			t.Errorf("subject %s: %v", tc.subject, ps)
		}
	}
}

func TestValidateReportsEverythingInOrder(t *testing.T) {
	ev := Event{
		SpecVersion:     "0.3",
		Source:          "/bureaus/tourism",
		Type:            TypeComplaintReceived,
		Subject:         "91510802MA6B",
		DataContentType: "text/xml",
		DataSchema:      "https://example.com/s.json",
		Data: json.RawMessage(`{"channel":"phone","consumers":0,"amount_cny":-1,"received_at":"yesterday",
			"industry":"H62","township":"北京","foo":1,"consumer":{"phone":"abc","x":1}}`),
	}
	want := []fr{
		{"specversion", RuleEnum}, {"id", RuleRequired}, {"source", RuleSourceBureau}, {"subject", RuleUSCC},
		{"time", RuleRequired}, {"datacontenttype", RuleEnum}, {"dataschema", RuleDataSchema},
		{"data/amount_cny", RuleMinimum}, {"data/category", RuleRequired}, {"data/channel", RuleEnum},
		{"data/complaint_id", RuleRequired}, {"data/consumer/phone", RulePattern}, {"data/consumer/x", RuleUnknownField},
		{"data/consumers", RuleMinimum}, {"data/foo", RuleUnknownField}, {"data/industry", RuleIndustry},
		{"data/received_at", RuleFormat}, {"data/summary", RuleRequired}, {"data/township", RuleTownship},
	}
	first := Validate(ev, "amr")
	if got := pairs(first); !slices.Equal(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
	checkWording(t, first)
	for i := 0; i < 50; i++ {
		if again := Validate(ev, "amr"); !reflect.DeepEqual(again, first) {
			t.Fatalf("run %d differs:\n%v\n%v", i, again, first)
		}
	}
}

func TestValidateDataUnknownType(t *testing.T) {
	if got := pairs(ValidateData("nope", json.RawMessage(`{}`))); !slices.Equal(got, []fr{{"type", RuleUnknownType}}) {
		t.Errorf("got %v", got)
	}
}

func TestRedactPersonalData(t *testing.T) {
	ev := Example(TypeComplaintReceived)
	red := RedactPersonalData(ev)
	var m map[string]any
	if err := json.Unmarshal(red.Data, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["consumer"]; ok {
		t.Errorf("consumer kept: %s", red.Data)
	}
	if m["summary"] == nil || m["complaint_id"] != "12315-20181224-0001" {
		t.Errorf("other fields lost: %s", red.Data)
	}
	if ps := Validate(red, ""); ps != nil {
		t.Errorf("redacted event invalid: %v", ps)
	}
	if !strings.Contains(string(ev.Data), "138-0000-0000") {
		t.Errorf("the original event was modified")
	}
	other := Example(TypePenaltyImposed)
	if got := RedactPersonalData(other); string(got.Data) != string(other.Data) {
		t.Errorf("redacted a type without personal data")
	}
	var c ComplaintReceived
	_ = json.Unmarshal(red.Data, &c)
	if c.ConsumerCount() != 1 {
		t.Errorf("ConsumerCount = %d", c.ConsumerCount())
	}
	c.Consumers = nil
	if c.ConsumerCount() != 1 {
		t.Errorf("ConsumerCount default = %d", c.ConsumerCount())
	}
}

func ExampleValidate() {
	ev := Example(TypeComplaintReceived)
	ev.Subject = "91510802MA6B00021X"
	for _, p := range Validate(ev, "amr") {
		fmt.Printf("%s %s: %s\n", p.Field, p.Rule, p.Detail)
	}
	// Output:
	// source source-bureau: 事件来源是12315消费者投诉举报专线（hotline-12315），但发送方是区食品药品和工商局（amr）；各单位只能以本单位名义发送事件
	// subject uscc: 统一社会信用代码「91510802MA6B00021X」的校验码（最后一位）不正确（GB 32100-2015），请核对代码
}

func BenchmarkValidate(b *testing.B) {
	ev := Example(TypeComplaintReceived)
	for b.Loop() {
		if ps := Validate(ev, "hotline-12315"); ps != nil {
			b.Fatal(ps)
		}
	}
}
