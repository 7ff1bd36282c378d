package gateway_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/projections"
)

// TestLinkRoute: an officer links a 12345 work order that names a shop and a street to the
// registered merchant, through the real gateway, log, projector and views; every answer
// validates against openapi.json.
func TestLinkRoute(t *testing.T) {
	sp := loadSpec(t)
	h := newHub(t, gateway.Config{})
	amr, hotline := testKeys["amr"], testKeys["hotline-12315"]
	shop, other := events.DemoUSCC(11), events.DemoUSCC(12)
	at := time.Date(2018, 12, 24, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	register := func(uscc, id, name, township, address string) events.Event {
		data, _ := json.Marshal(events.MerchantRegistered{Name: name, Township: township, Industry: "H6210", Address: address, RegisteredAt: at})
		return events.Event{SpecVersion: events.SpecVersion, ID: id, Source: events.SourceOf("amr"), Type: events.TypeMerchantRegistered,
			Subject: uscc, Time: at, DataContentType: "application/json", Data: data}
	}
	order, _ := json.Marshal(events.ComplaintReceived{ComplaintID: "12315-2018-000777", Channel: "12315", Category: "食品安全",
		Summary: "火锅底料疑似回收油", ReceivedAt: at.Add(time.Hour), MerchantName: "老张火锅（万达店）", Address: "广元市利州区嘉陵街道蜀门北路12号"})
	workOrder := events.Event{SpecVersion: events.SpecVersion, ID: "wo-777", Source: events.SourceOf("hotline-12315"),
		Type: events.TypeComplaintReceived, Time: at.Add(time.Hour), DataContentType: "application/json", Data: order}

	// t=0: the register and a work order that names no code.
	h.call(t, sp, "POST", "/v1/events", "/v1/events", amr, ctHeader(events.MediaTypeBatch), batch(t,
		register(shop, "reg-11", "广元市利州区嘉陵街道老张火锅店", "嘉陵街道", "四川省广元市利州区嘉陵街道蜀门北路12号"),
		register(other, "reg-12", "利州区东坝街道老张火锅店", "东坝街道", "四川省广元市利州区东坝街道新民街3号")), 202)
	h.call(t, sp, "POST", "/v1/events", "/v1/events", hotline, ctHeader(events.MediaTypeStructured), structured(t, workOrder), 202)
	warning := events.Example(events.TypeWarningIssued) // about a township: unlinked, but about no one merchant
	warning.ID, warning.Subject = "warn-1", ""
	h.call(t, sp, "POST", "/v1/events", "/v1/events", amr, ctHeader(events.MediaTypeStructured), structured(t, warning), 202)

	// t=1: it is unlinked, with both shops of the name as candidates, the right one first.
	var list gateway.UnlinkedResponse
	waitFor(t, "the work order in /v1/unlinked", func() bool {
		list = decode[gateway.UnlinkedResponse](t, h.call(t, sp, "GET", "/v1/unlinked", "/v1/unlinked", amr, nil, nil, 200))
		return len(list.Events) == 2
	})
	var cands []gateway.Candidate
	for i, ev := range list.Events {
		if ev.ID == "wo-777" {
			cands = list.Candidates[i]
		} else if len(list.Candidates[i]) != 0 {
			t.Errorf("the warning has candidates %+v", list.Candidates[i])
		}
	}
	if len(cands) != 2 || cands[0].USCC != shop || cands[0].Score < 0.8 {
		t.Fatalf("candidates = %+v, want %s first with a high score, then %s", cands, shop, other)
	}

	// t=2: bad requests change nothing and name the field and rule.
	route := "/v1/unlinked/{bureau}/{id}/link"
	path := "/v1/unlinked/hotline-12315/wo-777/link"
	json := ctHeader("application/json")
	for _, tc := range []struct {
		path, body string
		want       int
		field      string
		rule       string
	}{
		{path, `{"uscc":`, 400, "body", "json"},
		{path, `{"uscc":"` + shop + `","extra":1}`, 400, "body", "json"},
		{path, `{}`, 422, "uscc", "required"},
		{path, `{"uscc":"91510802MA6B000000"}`, 422, "uscc", "uscc"},
		{path, `{"uscc":"` + events.DemoUSCC(99) + `"}`, 422, "uscc", "registered"},
		{path, `{"uscc":"` + shop + `","note":"` + string(make([]byte, 0)) + longNote() + `"}`, 422, "note", "max-length"},
		{"/v1/unlinked/hotline-12315/no-such-order/link", `{"uscc":"` + shop + `"}`, 404, "", ""},
		{"/v1/unlinked/amr/reg-11/link", `{"uscc":"` + shop + `"}`, 409, "", ""},
		{"/v1/unlinked/amr/warn-1/link", `{"uscc":"` + shop + `"}`, 409, "", ""},
	} {
		b := h.call(t, sp, "POST", route, tc.path, amr, json, []byte(tc.body), tc.want)
		if tc.field == "" {
			continue
		}
		p := decode[gateway.Problem](t, b)
		if len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Rule != tc.rule {
			t.Errorf("%s: errors %+v, want field %s rule %s", tc.body, p.Errors, tc.field, tc.rule)
		}
	}
	h.call(t, sp, "POST", route, path, "", json, []byte(`{"uscc":"`+shop+`"}`), 401)

	// t=3: the officer links it; the work order moves into the shop's timeline.
	res := decode[gateway.EventResult](t, h.call(t, sp, "POST", route, path, amr, json, []byte(`{"uscc":"`+shop+`","note":"电话核实"}`), 202))
	if res.Source != "/bureaus/amr" || res.ID == "" {
		t.Errorf("link result %+v", res)
	}
	waitFor(t, "the work order to leave /v1/unlinked", func() bool {
		return len(decode[gateway.UnlinkedResponse](t, h.call(t, sp, "GET", "/v1/unlinked", "/v1/unlinked", amr, nil, nil, 200)).Events) == 1
	})
	hist := decode[gateway.HistoryResponse](t, h.call(t, sp, "GET", "/v1/merchants/{uscc}/history", "/v1/merchants/"+shop+"/history", amr, nil, nil, 200))
	types := map[string]int{}
	for _, ev := range hist.Events {
		types[ev.Type]++
	}
	if types[events.TypeComplaintReceived] != 1 || types[events.TypeMerchantLinked] != 1 {
		t.Errorf("history of the linked shop: %v", types)
	}
	prof := decode[gateway.ProfileResponse](t, h.call(t, sp, "GET", "/v1/merchants/{uscc}", "/v1/merchants/"+shop, amr, nil, nil, 200))
	if prof.CountsByType[events.TypeComplaintReceived] != 1 || len(prof.OpenComplaints) != 1 {
		t.Errorf("profile of the linked shop: %+v", prof.MerchantProfile)
	}

	// t=4: linking it again, to either shop, is refused.
	h.call(t, sp, "POST", route, path, amr, json, []byte(`{"uscc":"`+other+`"}`), 409)
	var _ projections.Link
}

func longNote() string {
	b := make([]rune, 1001)
	for i := range b {
		b[i] = '注'
	}
	return string(b)
}
