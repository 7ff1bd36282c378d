package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lizhou/fangxin/demo"
	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// caughtUp waits until the hub is quiet: every consumer group (views, rules, incidents, linker,
// webhooks) has handled everything the log holds, twice in a row (the rule engine and the linker
// append events of their own, which the others then handle).
func (h *hub) caughtUp() {
	h.t.Helper()
	lagRe := regexp.MustCompile(`(?m)^fangxin_consumer_lag_events\{group="([^"]+)"\} (\S+)$`)
	deadline := time.Now().Add(120 * time.Second)
	quiet := 0
	last := ""
	for time.Now().Before(deadline) {
		resp, err := http.Get(h.URL + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ms := lagRe.FindAllStringSubmatch(string(b), -1)
			busy := len(ms) == 0
			last = ""
			for _, m := range ms {
				last += m[1] + "=" + m[2] + " "
				busy = busy || m[2] != "0"
			}
			if busy {
				quiet = 0
			} else if quiet++; quiet == 2 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("the hub did not become quiet within 120 s (lag per consumer group: %s)", last)
}

func TestBureausPushAndTheJointMeetingReads(t *testing.T) {
	dir := t.TempDir()
	// t=0: the office creates keys for two bureaus, then starts the hub.
	amrKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "amr")
	hotlineKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "hotline-12315")
	h := startHub(t, dir)
	amr := newClient(t, h.URL, amrKey)
	hotline := newClient(t, h.URL, hotlineKey)

	shop := kit.USCC(1)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, kit.Shanghai)
	// t=1: AMR registers 老张火锅店 (structured mode).
	body, _ := json.Marshal(kit.Registration(shop, "利州区嘉陵街道老张火锅店", t0))
	if code, b := amr.Do("POST", "/v1/events", "application/cloudevents+json", body); code != 202 {
		t.Fatalf("register: %d %s", code, b)
	}
	// t=2: the 12315 hotline sends three complaints in one batch.
	var batch []events.Event
	for i := 0; i < 3; i++ {
		batch = append(batch, kit.Complaint("hotline-12315", fmt.Sprintf("c-%d", i), shop, t0.Add(time.Duration(i+1)*time.Hour), "办理预付卡后火锅店停业，要求退费"))
	}
	if code, b := hotline.PushBatch(batch); code != 202 {
		t.Fatalf("complaints: %d %s", code, b)
	}
	// t=3: binary mode, one more complaint.
	req, _ := http.NewRequest("POST", h.URL+"/v1/events", strings.NewReader(`{"complaint_id":"c-bin","channel":"12315","category":"食品安全","summary":"火锅底料变质","received_at":"2026-03-02T10:00:00+08:00"}`))
	req.Header.Set("Authorization", "Bearer "+hotlineKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "c-bin", "ce-source": "/bureaus/hotline-12315",
		"ce-type": "complaint.received", "ce-subject": shop, "ce-time": "2026-03-02T10:00:00+08:00"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("binary mode: %v %v", err, resp)
	}
	resp.Body.Close()
	h.caughtUp()

	// t=4: the joint meeting reads the merchant across both bureaus.
	var p kit.Profile
	if code := amr.Get("/v1/merchants/"+shop, &p); code != 200 {
		t.Fatalf("profile: %d", code)
	}
	if p.EventCount != 5 || p.CountsByBureau["hotline-12315"] != 4 || p.CountsByBureau["amr"] != 1 || len(p.OpenComplaints) != 4 {
		t.Fatalf("profile = %+v", p)
	}
	hist := amr.FullHistory(shop)
	if len(hist) != 5 || hist[0].ID != "c-bin" || hist[1].ID != "c-2" || hist[len(hist)-1].Type != events.TypeMerchantRegistered {
		t.Fatalf("history newest first: got %d events, first %s", len(hist), hist[0].ID)
	}
	var filtered kit.HistoryPage
	amr.Get("/v1/merchants/"+shop+"/history?type=merchant.registered", &filtered)
	if len(filtered.Events) != 1 {
		t.Fatalf("type filter: %d events", len(filtered.Events))
	}
	var hits struct {
		Total     int `json:"total"`
		Merchants []struct {
			USCC string `json:"uscc"`
		} `json:"merchants"`
	}
	amr.Get("/v1/merchants?q="+url.QueryEscape("火锅"), &hits)
	if hits.Total != 1 || hits.Merchants[0].USCC != shop {
		t.Fatalf("search 火锅: %+v", hits)
	}
	amr.Get("/v1/merchants?q="+url.QueryEscape("火车"), &hits)
	if hits.Total != 0 {
		t.Fatalf("search 火车 must not match 火锅店: %+v", hits)
	}

	// t=5: bad input of every kind gets a clear 4xx naming the field and changes nothing.
	huge := strings.Repeat("x", 9<<20)
	bad := []struct {
		name, key, contentType, body string
		code                         int
		field                        string
	}{
		{"no key", "", "application/cloudevents+json", string(body), 401, "Authorization"},
		{"wrong key", "fx_nope", "application/cloudevents+json", string(body), 401, "Authorization"},
		{"malformed JSON", amrKey, "application/cloudevents+json", `{"specversion":`, 400, "body"},
		{"wrong content type", amrKey, "text/plain", "hello", 415, "Content-Type"},
		{"unknown type", amrKey, "application/cloudevents+json", strings.Replace(string(body), "merchant.registered", "merchant.exploded", 1), 422, "type"},
		{"invalid code", amrKey, "application/cloudevents+json", strings.Replace(string(body), `"subject":"`+shop, `"subject":"`+shop[:17]+map[bool]string{true: "1", false: "0"}[shop[17] == '0'], 1), 422, "subject"},
		{"foreign source", hotlineKey, "application/cloudevents+json", string(body), 403, "source"},
		{"huge body", amrKey, "application/cloudevents+json", `{"data":"` + huge + `"}`, 413, "body"},
	}
	for _, tc := range bad {
		c := newClient(t, h.URL, tc.key)
		code, b := c.Do("POST", "/v1/events", tc.contentType, []byte(tc.body))
		if code != tc.code || !strings.Contains(string(b), `"field":"`+tc.field) {
			t.Errorf("%s: got %d %s, want %d naming %s", tc.name, code, b, tc.code, tc.field)
		}
	}
	// t=6: the same complaints again: acknowledged, never a second event.
	if code, b := hotline.PushBatch(batch); code != 202 {
		t.Fatalf("resend: %d %s", code, b)
	}
	h.caughtUp()
	amr.Get("/v1/merchants/"+shop, &p)
	if p.EventCount != 5 {
		t.Fatalf("after bad input and a resend the merchant has %d events, want 5", p.EventCount)
	}
}

func TestKillNineLosesNoAcknowledgedEvent(t *testing.T) {
	dir := t.TempDir()
	key := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "hotline-12315")
	h := startHub(t, dir)

	// t=0..: four bureaus' clients push batches; each records what was acknowledged with 202.
	var mu sync.Mutex
	acked := map[string]string{} // event id -> merchant
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := newClient(t, h.URL, key)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var batch []events.Event
				for i := 0; i < 25; i++ {
					id := fmt.Sprintf("w%d-b%d-%d", w, n, i)
					m := kit.USCC(100 + (n*25+i)%20)
					batch = append(batch, kit.Complaint("hotline-12315", id, m, time.Date(2026, 5, 1, 8, 0, 0, 0, kit.Shanghai).Add(time.Duration(n*25+i)*time.Second), "预付卡退费纠纷"))
				}
				code, _ := c.PushBatch(batch)
				if code == 0 { // the hub is gone
					return
				}
				if code == 202 {
					mu.Lock()
					for _, ev := range batch {
						acked[ev.ID] = ev.Subject
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	// t=1..2.5 s: kill -9 in the middle of the stream.
	time.Sleep(time.Duration(1000+rand.IntN(1500)) * time.Millisecond)
	h.kill()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged before the kill")
	}

	// t=3: restart on the same data; the projector catches up.
	h2 := startHub(t, dir)
	h2.caughtUp()
	c := newClient(t, h2.URL, key)
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		m := kit.USCC(100 + i)
		hist := c.FullHistory(m)
		var p kit.Profile
		c.Get("/v1/merchants/"+m, &p)
		// Complaints only: the restarted rule engine may append incidents of these merchants
		// (its timers run on) between the two reads, and they count in both.
		complaints := 0
		for _, ev := range hist {
			if ev.Type == events.TypeComplaintReceived {
				complaints++
			}
		}
		if n := p.CountsByType[events.TypeComplaintReceived]; n != complaints {
			t.Errorf("%s: profile counts %d complaints, history has %d", m, n, complaints)
		}
		for _, ev := range hist {
			seen[ev.ID]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s is in the views %d times", id, n)
		}
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged event %s is missing after kill -9", id)
		}
	}
	t.Logf("%d events acknowledged before kill -9, %d in the views after restart", len(acked), len(seen))
}

// snapshot reads everything the gateway says about the merchants.
func (c client) snapshot(usccs []string) map[string]any {
	out := map[string]any{}
	for _, m := range usccs {
		var p map[string]any
		c.Get("/v1/merchants/"+m, &p)
		out[m+"/profile"] = p
		out[m+"/history"] = c.FullHistory(m)
	}
	var res any
	c.Get("/v1/merchants?q="+url.QueryEscape("火锅")+"&limit=500", &res)
	out["search"] = res
	c.Get("/v1/events?q="+url.QueryEscape("预付卡")+"&limit=500", &res)
	out["events"] = res
	return out
}

func TestRebuildEqualsLiveViews(t *testing.T) {
	dir := t.TempDir()
	ds := demo.Generate(demo.Config{Merchants: 150, Events: 3000})
	byBureau := map[string][]events.Event{}
	for _, ev := range ds.Events {
		byBureau[ev.Bureau()] = append(byBureau[ev.Bureau()], ev)
	}
	keys := map[string]string{}
	for b := range byBureau {
		keys[b] = fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", b)
	}
	h := startHub(t, dir)
	// Push in time order, in small batches per bureau, as the bureaus would.
	for start := 0; start < len(ds.Events); {
		b := ds.Events[start].Bureau()
		end := start
		for end < len(ds.Events) && end-start < 100 && ds.Events[end].Bureau() == b {
			end++
		}
		if code, body := (newClient(t, h.URL, keys[b])).PushBatch(ds.Events[start:end]); code != 202 {
			t.Fatalf("push: %d %s", code, body)
		}
		start = end
	}
	h.caughtUp()
	var usccs []string
	for _, m := range ds.Merchants {
		usccs = append(usccs, m.USCC)
	}
	reader := newClient(t, h.URL, keys["amr"])
	live := reader.snapshot(usccs)
	h.stop()

	out := fangxin(t, "rebuild", "--data-dir", dir)
	t.Log(out)
	h2 := startHub(t, dir)
	h2.caughtUp()
	rebuilt := newClient(t, h2.URL, keys["amr"]).snapshot(usccs)
	if !reflect.DeepEqual(live, rebuilt) {
		for k := range live {
			if !reflect.DeepEqual(live[k], rebuilt[k]) {
				a, _ := json.Marshal(live[k])
				b, _ := json.Marshal(rebuilt[k])
				t.Errorf("%s differs after rebuild:\nlive    %s\nrebuilt %s", k, a, b)
			}
		}
	}
}
