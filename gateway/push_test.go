package gateway_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/connectors/push"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
)

// TestPushConnector: the AMR inspection system pushes its own JSON through the amr-inspections
// connector; good records become inspection.completed events in the views, bad ones are answered
// per record naming the field and rule, and pushing again adds nothing.
func TestPushConnector(t *testing.T) {
	sp := loadSpec(t)
	l, err := connectors.Load(filepath.Join("testdata", "push", "amr-inspections.yaml"), push.Registry(kinds.All(), push.Kind))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := gateway.NewPushConnector(l)
	if err != nil {
		t.Fatal(err)
	}
	h := newHub(t, gateway.Config{}, func(d *gateway.Deps) { d.Push = map[string]gateway.PushConnector{"amr-inspections": pc} })
	route, path := "/v1/connectors/{name}/push", "/v1/connectors/amr-inspections/push"
	amr := testKeys["amr"]
	jsonCT := ctHeader("application/json")
	shop := events.DemoUSCC(31)

	body := `{"items": [
	  {"检查编号": "JC-2018-1201", "经营者": {"统一社会信用代码": "` + shop + `", "名称": "老张火锅店"}, "检查类型": "双随机", "检查日期": "2018年12月24日", "检查结果": "责令整改", "发现问题": "后厨防蝇设施缺失"},
	  {"检查编号": "JC-2018-1202", "经营者": {"统一社会信用代码": "` + shop + `"}, "检查类型": "专项", "检查日期": "2018/12/25", "检查结果": "合格"},
	  {"检查编号": "JC-2018-1203", "经营者": {"统一社会信用代码": "` + shop + `"}, "检查类型": "专项", "检查日期": "2018/12/26", "检查结果": "待定"},
	  {"检查编号": "JC-2018-1204", "经营者": {"统一社会信用代码": "91510802MA6B000000"}, "检查类型": "日常", "检查日期": "2018/12/27", "检查结果": "合格"},
	  "not a record",
	  {"检查编号": "ZC-2018-0001", "检查类型": "自查"}
	]}`
	res := decode[gateway.BatchResponse](t, h.call(t, sp, "POST", route, path, amr, jsonCT, []byte(body), 207))
	if res.Accepted != 2 || res.Rejected != 3 || res.Results[5].Status != 204 {
		t.Fatalf("push: %+v", res)
	}
	wantErr := map[int][2]string{2: {"records/2", "mapping"}, 3: {"records/3/subject", events.RuleUSCC}, 4: {"records/4", "type"}}
	for i, w := range wantErr {
		r := res.Results[i]
		if r.Status != 422 || len(r.Errors) == 0 || r.Errors[0].Field != w[0] || r.Errors[0].Rule != w[1] {
			t.Errorf("record %d: %+v, want field %s rule %s", i, r, w[0], w[1])
		}
	}
	if d := res.Results[2].Errors[0].Detail; !strings.Contains(d, "检查结果") || !strings.Contains(d, "待定") {
		t.Errorf("mapping problem does not name the column and value: %s", d)
	}
	if id := res.Results[0].ID; id != "amr-inspections:inspection.completed:JC-2018-1201" {
		t.Errorf("id = %s", id)
	}

	// The two good ones reach the merchant's history.
	waitFor(t, "the inspections in the history", func() bool {
		b := h.call(t, sp, "GET", "/v1/merchants/{uscc}/history", "/v1/merchants/"+shop+"/history", amr, nil, nil, 200)
		return len(decode[gateway.HistoryResponse](t, b).Events) == 2
	})
	// Pushing the same records again appends events the views already have: still two.
	h.call(t, sp, "POST", route, path, amr, jsonCT, []byte(body), 207)
	hw, _ := h.log.HighWater("fangxin.events.v1")
	waitFor(t, "the projector to pass the re-push", func() bool {
		n, _ := h.log.Committed("fangxin.events.v1", "views")
		return n >= hw
	})
	b := h.call(t, sp, "GET", "/v1/merchants/{uscc}/history", "/v1/merchants/"+shop+"/history", amr, nil, nil, 200)
	if n := len(decode[gateway.HistoryResponse](t, b).Events); n != 2 {
		t.Errorf("after a re-push the history holds %d events, want 2", n)
	}

	// Errors of the whole request.
	h.call(t, sp, "POST", route, path, amr, jsonCT, []byte(`{"items": [{"检查编号": "x"}]}`), 422)
	h.call(t, sp, "POST", route, path, amr, jsonCT, []byte(`{"items": []}`), 400)
	h.call(t, sp, "POST", route, path, amr, jsonCT, []byte(`[{"检查编号": "x"}]`), 400) // records expected under items
	h.call(t, sp, "POST", route, path, amr, jsonCT, []byte(`{"items": [`), 400)
	h.call(t, sp, "POST", route, path, testKeys["quality"], jsonCT, []byte(body), 403)
	h.call(t, sp, "POST", route, "/v1/connectors/nothing/push", amr, jsonCT, []byte(body), 404)
	h.call(t, sp, "POST", route, path, "", jsonCT, []byte(body), 401)
}
