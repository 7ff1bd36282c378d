package connectors

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lizhou/fangxin/events"
)

const penaltyMapping = `
type: {const: penalty.imposed}
key: [决定书文号]
subject: 统一社会信用代码
time: 决定日期
data:
  decision_no: 决定书文号
  kind: {column: 处罚种类, map: {警告: warning, 罚款: fine, 没收违法所得: confiscation}}
  legal_basis: {template: "《{{法律}}》{{条款}}"}
  decided_at: 决定日期
  fine_cny: {column: 罚款金额, optional: true}
`

func compileMapping(t *testing.T, src string) *Mapping {
	t.Helper()
	var m Mapping
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	if err := m.compile("mapping", "amr-penalties", "amr"); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestMapRecord(t *testing.T) {
	m := compileMapping(t, penaltyMapping)
	good := map[string]any{
		"决定书文号": "利市监罚〔2018〕12号", "统一社会信用代码": strings.ToLower(events.DemoUSCC(7)),
		"决定日期": "2018年12月27日", "处罚种类": "罚款", "法律": "中华人民共和国消费者权益保护法", "条款": "第五十六条",
		"罚款金额": "1.2万",
	}
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range good {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   map[string]any // data
		errs   []string       // substrings of the Chinese reason
	}{
		{name: "complete", values: good, want: map[string]any{
			"decision_no": "利市监罚〔2018〕12号", "kind": "fine", "decided_at": "2018-12-27T00:00:00+08:00",
			"legal_basis": "《中华人民共和国消费者权益保护法》第五十六条", "fine_cny": 12000.0,
		}},
		{name: "optional amount empty", values: with("罚款金额", "  "), want: map[string]any{
			"decision_no": "利市监罚〔2018〕12号", "kind": "fine", "decided_at": "2018-12-27T00:00:00+08:00",
			"legal_basis": "《中华人民共和国消费者权益保护法》第五十六条",
		}},
		{name: "unknown kind", values: with("处罚种类", "通报批评"), errs: []string{"第7行", "data.kind", "列「处罚种类」的值「通报批评」不在对照表中", "罚款"}},
		{name: "bad date", values: with("决定日期", "去年"), errs: []string{"time：列「决定日期」的值「去年」不是可识别的日期", "data.decided_at"}},
		{name: "empty key", values: with("决定书文号", ""), errs: []string{"id：列「决定书文号」为空", "data.decision_no：列「决定书文号」为空，此项必填"}},
		{name: "missing column", values: with("条款", nil), errs: []string{"data.legal_basis：缺少列「条款」"}},
		{name: "bad amount", values: with("罚款金额", "五千"), errs: []string{"data.fine_cny：列「罚款金额」的值「五千」不是金额"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := Record{Position: Position{File: "处罚.xlsx", Row: 7}, Values: tc.values}
			ev, err := m.Map(rec)
			if tc.errs != nil {
				var r Reason
				if !errors.As(err, &r) {
					t.Fatalf("err = %v, want a Reason", err)
				}
				for _, s := range tc.errs {
					if !strings.Contains(r.ZH, s) {
						t.Errorf("reason %q lacks %q", r.ZH, s)
					}
				}
				if r.EN == "" {
					t.Error("no English reason")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var data map[string]any
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			if got, want := mustJSON(data), mustJSON(tc.want); got != want {
				t.Errorf("data = %s\nwant   %s", got, want)
			}
			if ev.Subject != events.DemoUSCC(7) {
				t.Errorf("subject = %q, want the upper-cased code", ev.Subject)
			}
			if ev.ID != "amr-penalties:penalty.imposed:利市监罚〔2018〕12号" {
				t.Errorf("id = %q", ev.ID)
			}
			if ps := events.Validate(ev, "amr"); len(ps) > 0 {
				t.Errorf("invalid event: %v", ps)
			}
		})
	}
}

func TestIDIsDeterministic(t *testing.T) {
	m := compileMapping(t, `
type: {const: complaint.received}
time: 受理时间
data:
  complaint_id: 工单号
  channel: {const: "12345"}
  category: {const: 其他}
  summary: 内容
  received_at: 受理时间
`)
	rec := func(vals map[string]any) Record { return Record{Position: Position{Row: 2}, Values: vals} }
	a, _ := m.Map(rec(map[string]any{"工单号": "A1", "内容": "退款难", "受理时间": "2018-12-24 09:30", "备注": ""}))
	b, _ := m.Map(rec(map[string]any{"工单号": "Ａ1 ", "内容": " 退款难", "受理时间": "2018-12-24 09:30"})) // same after normalising
	c, _ := m.Map(rec(map[string]any{"工单号": "A1", "内容": "退款难！", "受理时间": "2018-12-24 09:30"}))
	if a.ID == "" || a.ID != b.ID {
		t.Errorf("same record, different ids: %q %q", a.ID, b.ID)
	}
	if a.ID == c.ID {
		t.Errorf("edited record kept id %q", a.ID)
	}
	if !strings.HasPrefix(a.ID, "amr-penalties:complaint.received:") || len(a.ID) > events.MaxIDLength {
		t.Errorf("id = %q", a.ID)
	}
}

func TestCompileRejectsBadMappings(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`{type: {const: penalty.issued}, time: 日期, data: {a: b}}`, "不在事件目录中"},
		{`{type: {const: penalty.imposed}, time: {column: a, const: b}, data: {a: b}}`, "column、const、template 须且只能设一个"},
		{`{type: {const: penalty.imposed}, time: 日期, data: {a: {column: x, type: date}}}`, "mapping.data.a.type"},
		{`{type: {const: penalty.imposed}, time: 日期, data: {a: {column: x, lookup: county}}}`, "lookup"},
		{`{type: {const: penalty.imposed}, time: 日期}`, "mapping.data: 必填"},
		{`{type: {column: 类型, map: {列入: credit.list}}, time: 日期, data: {a: b}}`, "type.map"},
	} {
		var m Mapping
		if err := yaml.Unmarshal([]byte(tc.src), &m); err != nil {
			t.Fatal(err)
		}
		err := m.compile("mapping", "x", "amr")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.src, err, tc.want)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
