package distributed

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// startEmbedded runs an embedded hub (no Kafka, no Elasticsearch) on dir, for comparison.
func startEmbedded(t *testing.T, dir string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=", "FANGXIN_NAMESPACE=")
	return startCmd(t, "embedded", cmd)
}

// startCmd starts a prepared command like launch does and waits until it is ready.
func startCmd(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	kp, err := kit.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{Process: kp, t: t, name: name}
	t.Cleanup(p.kill)
	if err := p.WaitURL(60 * time.Second); err != nil {
		t.Fatalf("%s %v: %s", name, err, p.Stderr.String())
	}
	p.waitReady(60 * time.Second)
	return p
}

// snapshot reads everything the gateway says about the merchants, without the log positions
// (a partition and offset in Kafka, a sequence number in the embedded log).
func (c client) snapshot(usccs []string, queries []string) map[string]any {
	c.T.Helper()
	out := map[string]any{}
	read := func(name, path string) {
		var v any
		code := c.Get(path, &v)
		out[name] = []any{code, stripPositions(v)}
	}
	for _, m := range usccs {
		read(m+"/profile", "/v1/merchants/"+m)
		var hist []any
		for _, ev := range c.FullHistory(m) {
			hist = append(hist, ev)
		}
		b, _ := json.Marshal(hist)
		var v any
		_ = json.Unmarshal(b, &v)
		out[m+"/history"] = v
		read(m+"/history?type", "/v1/merchants/"+m+"/history?type=merchant.registered")
		read(m+"/history?bureau", "/v1/merchants/"+m+"/history?bureau=hotline-12315&limit=2")
	}
	for _, q := range queries {
		read("merchants?"+q, "/v1/merchants?"+q)
		read("events?"+q, "/v1/events?"+q)
	}
	read("unlinked", "/v1/unlinked")
	return out
}

func stripPositions(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k == "last_position" || k == "position" {
				continue
			}
			out[k] = stripPositions(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripPositions(e)
		}
		return out
	}
	return v
}

// The first e2e timeline, in distributed mode: the same pushes give the same answers as the
// embedded hub, query by query.
func TestBureausPushAndTheJointMeetingReads(t *testing.T) {
	env := sharedEnv(t)
	amrKey := env.key(t, "amr")
	hotlineKey := env.key(t, "hotline-12315")
	// The embedded hub for comparison shares the keys (the key file is copied).
	embDir := t.TempDir()
	keys, err := os.ReadFile(env.dir + "/keys.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(embDir+"/keys.json", keys, 0o600); err != nil {
		t.Fatal(err)
	}
	dist := env.start(t, "all")
	emb := startEmbedded(t, embDir)
	hubs := []*proc{dist, emb}

	shop, other := kit.USCC(1), kit.USCC(2)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, kit.Shanghai)
	ledgers := []*ledger{newLedger(), newLedger()}
	// t=1: AMR registers 老张火锅店 and 利州区水果超市 (structured mode).
	for i, h := range hubs {
		amr := newClient(t, h.URL, amrKey)
		for _, reg := range []events.Event{kit.Registration(shop, "利州区嘉陵街道老张火锅店", t0), kit.Registration(other, "利州区水果超市", t0.Add(time.Minute))} {
			code, b := amr.Push(reg)
			if code != 202 {
				t.Fatalf("%s: register: %d %s", h.name, code, b)
			}
			ledgers[i].record(code, []events.Event{reg})
		}
	}
	// t=2: the 12315 hotline sends three complaints in one batch, and one about the fruit shop.
	var batch []events.Event
	for i := 0; i < 3; i++ {
		batch = append(batch, kit.Complaint("hotline-12315", fmt.Sprintf("c-%d", i), shop, t0.Add(time.Duration(i+1)*time.Hour), "办理预付卡后火锅店停业，要求退费"))
	}
	batch = append(batch, kit.Complaint("hotline-12315", "c-fruit", other, t0.Add(5*time.Hour), "水果超市缺斤短两"))
	// An unlinked complaint: a shop with no code, named and addressed.
	unlinked := kit.Complaint("hotline-12315", "c-unlinked", "", t0.Add(6*time.Hour), "无名火锅摊占道经营")
	var d map[string]any
	_ = json.Unmarshal(unlinked.Data, &d)
	d["merchant_name"], d["address"] = "无名火锅摊", "利州区东坝街道"
	unlinked.Data, _ = json.Marshal(d)
	batch = append(batch, unlinked)
	for i, h := range hubs {
		code, b := newClient(t, h.URL, hotlineKey).PushBatch(batch)
		if code != 202 {
			t.Fatalf("%s: complaints: %d %s", h.name, code, b)
		}
		ledgers[i].record(code, batch[:4])
	}
	// t=3: binary mode, one more complaint.
	for i, h := range hubs {
		req, _ := http.NewRequest("POST", h.URL+"/v1/events", strings.NewReader(`{"complaint_id":"c-bin","channel":"12315","category":"食品安全","summary":"火锅底料变质","received_at":"2026-03-02T10:00:00+08:00"}`))
		req.Header.Set("Authorization", "Bearer "+hotlineKey)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "c-bin", "ce-source": "/bureaus/hotline-12315",
			"ce-type": "complaint.received", "ce-subject": shop, "ce-time": "2026-03-02T10:00:00+08:00"} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 202 {
			t.Fatalf("%s: binary mode: %v %v", h.name, err, resp)
		}
		resp.Body.Close()
		ledgers[i].acked["c-bin"] = shop
	}
	// t=4: the same batch again: acknowledged, never a second event.
	for _, h := range hubs {
		if code, b := (newClient(t, h.URL, hotlineKey)).PushBatch(batch); code != 202 {
			t.Fatalf("%s: resend: %d %s", h.name, code, b)
		}
	}
	for _, h := range hubs {
		h.caughtUp(60 * time.Second)
	}

	// t=5: the joint meeting reads the merchant across both bureaus, from Elasticsearch.
	amr := newClient(t, dist.URL, amrKey)
	var p kit.Profile
	if code := amr.Get("/v1/merchants/"+shop, &p); code != 200 {
		t.Fatalf("profile: %d", code)
	}
	if p.EventCount != 5 || p.CountsByBureau["hotline-12315"] != 4 || p.CountsByBureau["amr"] != 1 || len(p.OpenComplaints) != 4 {
		t.Fatalf("profile = %+v", p)
	}
	// Searches (history, text) see writes at the indices' next refresh, within a second of the
	// projector's commit; the profile reads in real time.
	hist := amr.FullHistory(shop)
	for deadline := time.Now().Add(10 * time.Second); len(hist) < 5 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		hist = amr.FullHistory(shop)
	}
	if len(hist) != 5 || hist[0].ID != "c-bin" || hist[1].ID != "c-2" || hist[len(hist)-1].Type != events.TypeMerchantRegistered {
		t.Fatalf("history newest first: got %d events, first %s", len(hist), hist[0].ID)
	}
	var hits struct {
		Total     int `json:"total"`
		Merchants []struct {
			USCC string `json:"uscc"`
		} `json:"merchants"`
	}
	for q, want := range map[string]string{"火锅": shop, "水果超市": other, "火车": "", "超市水果": ""} {
		amr.Get("/v1/merchants?q="+url.QueryEscape(q), &hits)
		if (want == "" && hits.Total != 0) || (want != "" && (hits.Total != 1 || hits.Merchants[0].USCC != want)) {
			t.Errorf("search %s: %+v, want %q", q, hits, want)
		}
	}

	// t=6: every answer equals the embedded hub's.
	queries := []string{"q=" + url.QueryEscape("火锅"), "q=" + url.QueryEscape("水果超市"), "q=" + url.QueryEscape("火车"),
		"q=" + url.QueryEscape("预付卡"), "industry=H62", "township=510802002"}
	// Elasticsearch shows the last writes at its next refresh (within a second): compare until
	// the answers agree or 10 s passed.
	var a, b map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		a = newClient(t, dist.URL, amrKey).snapshot([]string{shop, other}, queries)
		b = newClient(t, emb.URL, amrKey).snapshot([]string{shop, other}, queries)
		if reflect.DeepEqual(a, b) || time.Now().After(deadline) {
			break
		}
	}
	for k := range b {
		if !reflect.DeepEqual(a[k], b[k]) {
			ja, _ := json.Marshal(a[k])
			jb, _ := json.Marshal(b[k])
			t.Errorf("%s differs:\nkafka+es %s\nembedded %s", k, ja, jb)
		}
	}
	ledgers[0].exactlyOnce(t, amr, 30*time.Second)
}
