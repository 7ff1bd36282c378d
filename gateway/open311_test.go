package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/projections"
)

// TestOpen311: a 311-style client files a service request with the 12315 hotline's key; it becomes
// a complaint in the log and the views, and reads back in GeoReport's format. Every answer
// validates against openapi.json.
func TestOpen311(t *testing.T) {
	sp := loadSpec(t)
	h := newHub(t, gateway.Config{})
	key := testKeys["hotline-12315"]
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	post := func(v url.Values, want int) []byte {
		t.Helper()
		return h.call(t, sp, "POST", "/open311/v2/requests.json", "/open311/v2/requests.json", "", form, []byte(v.Encode()), want)
	}
	errorNames := func(b []byte, words ...string) {
		t.Helper()
		errs := decode[[]gateway.Open311Error](t, b)
		if len(errs) != 1 {
			t.Fatalf("errors = %s", b)
		}
		for _, w := range words {
			if !strings.Contains(errs[0].Description, w) {
				t.Errorf("error %q does not name %q", errs[0].Description, w)
			}
		}
	}

	// The services are the complaint categories.
	svcs := decode[[]gateway.Open311Service](t, h.call(t, sp, "GET", "/open311/v2/services.json", "/open311/v2/services.json", "", nil, nil, 200))
	if len(svcs) < 10 || svcs[0].ServiceCode != "food-safety" || svcs[0].ServiceName != "食品安全" {
		t.Errorf("services = %+v", svcs)
	}
	h.call(t, sp, "GET", "/open311/v2/services/{file}", "/open311/v2/services/prepaid-card.json", "", nil, nil, 200)
	h.call(t, sp, "GET", "/open311/v2/services/{file}", "/open311/v2/services/prepaid-card.xml", "", nil, nil, 404)
	h.call(t, sp, "GET", "/open311/v2/services/{file}", "/open311/v2/services/nothing.json", "", nil, nil, 404)

	// Bad requests file nothing and say which parameter is wrong, in Chinese.
	good := url.Values{"api_key": {key}, "service_code": {"prepaid-card"}, "description": {"健身房办卡后闭店，无法退费"},
		"address_string": {"广元市利州区嘉陵街道蜀门北路88号"}, "attribute[merchant_name]": {"动感健身房"},
		"first_name": {"小明"}, "last_name": {"王"}, "phone": {"13800138000"}}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == "" {
			c.Del(k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	errorNames(post(with("api_key", ""), 403), "api_key")
	errorNames(post(with("api_key", "wrong"), 403), "api_key")
	errorNames(post(with("api_key", testKeys["amr"]), 403), "热线")
	errorNames(post(with("service_code", ""), 400), "service_code")
	errorNames(post(with("service_code", "parking"), 404), "service_code")
	errorNames(post(with("attribute[merchant_name]", ""), 400), "attribute[merchant_name]")
	errorNames(post(with("address_string", ""), 400), "address_string")
	errorNames(post(with("attribute[township]", "火星街道"), 400), "attribute[township]")
	errorNames(post(with("attribute[uscc]", "91510802MA6B000000"), 400), "attribute[uscc]")
	errorNames(post(with("phone", "call me"), 400), "phone")
	h.call(t, sp, "POST", "/open311/v2/requests.json", "/open311/v2/requests.json", "", http.Header{"Content-Type": {"application/json"}}, []byte(`{}`), 400)

	// A good request: 201 with its id, durable in the log.
	created := decode[[]map[string]any](t, post(good, 201))
	id, _ := created[0]["service_request_id"].(string)
	if !strings.HasPrefix(id, "311-") {
		t.Fatalf("created = %v", created)
	}
	var got []gateway.Open311Request
	waitFor(t, "the request in the views", func() bool {
		resp, b := h.do(t, "GET", "/open311/v2/requests/"+id+".json?api_key="+key, "", nil, nil)
		if resp.StatusCode != 200 {
			return false
		}
		sp.check(t, "GET", "/open311/v2/requests/{file}", resp.StatusCode, resp.Header, b)
		got = decode[[]gateway.Open311Request](t, b)
		return true
	})
	if len(got) != 1 || got[0].ServiceCode != "prepaid-card" || got[0].Status != "open" || got[0].MerchantName != "动感健身房" ||
		got[0].AgencyResponsible != "12315消费者投诉举报专线" && !strings.Contains(got[0].AgencyResponsible, "12315") {
		t.Errorf("request = %+v", got)
	}
	// It is an unlinked 12315 complaint with the consumer's personal data kept private.
	list := decode[gateway.UnlinkedResponse](t, h.call(t, sp, "GET", "/v1/unlinked", "/v1/unlinked", testKeys["amr"], nil, nil, 200))
	if len(list.Events) != 1 || list.Events[0].ID != id || list.Events[0].Source != events.SourceOf("hotline-12315") ||
		strings.Contains(string(list.Events[0].Data), "13800138000") {
		t.Errorf("unlinked = %+v", list.Events)
	}
	var d map[string]any
	_ = json.Unmarshal(list.Events[0].Data, &d)
	if d["channel"] != "12315" || d["category"] != "预付卡" || d["township"] != "510802002" {
		t.Errorf("complaint data = %v", d)
	}

	// Reads: by id list, by service and status; and their errors.
	route := "/open311/v2/requests.json"
	for _, q := range []string{"service_request_id=" + id + ",311-nothing", "service_code=prepaid-card", "status=open", ""} {
		b := h.call(t, sp, "GET", route, route+"?api_key="+key+"&"+q, "", nil, nil, 200)
		if rs := decode[[]gateway.Open311Request](t, b); len(rs) != 1 || rs[0].ServiceRequestID != id {
			t.Errorf("GET requests.json?%s = %s", q, b)
		}
	}
	b := h.call(t, sp, "GET", route, route+"?api_key="+key+"&status=closed", "", nil, nil, 200)
	if rs := decode[[]gateway.Open311Request](t, b); len(rs) != 0 {
		t.Errorf("closed requests = %s", b)
	}
	h.call(t, sp, "GET", route, route, "", nil, nil, 403)
	h.call(t, sp, "GET", route, route+"?api_key="+key+"&status=lost", "", nil, nil, 400)
	h.call(t, sp, "GET", route, route+"?api_key="+key+"&start_date=yesterday", "", nil, nil, 400)
	h.call(t, sp, "GET", route, route+"?api_key="+key+"&service_code=parking", "", nil, nil, 400)
	h.call(t, sp, "GET", "/open311/v2/requests/{file}", "/open311/v2/requests/311-nothing.json?api_key="+key, "", nil, nil, 404)
	h.call(t, sp, "GET", "/open311/v2/requests/{file}", "/open311/v2/requests/"+id+".json", "", nil, nil, 403)
	var _ projections.Link
}
