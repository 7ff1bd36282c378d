package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// BenchmarkIncidentWebhookLatency measures detection and delivery end to end through the built
// binary: the time from the 202 of the complaint that completes a burst (the 10th about one
// merchant within two hours) to the arrival of the signed incident.detected webhook at the lead
// unit's receiver. The rule's pending period is 0 here (default 10 m, which would only add
// itself). The baseline, measured in the same process, is the same pipeline with no other
// traffic; then the same under a steady background load of complaints about other merchants.
//
//	go test ./e2e -run '^$' -bench IncidentWebhookLatency -benchtime 1x
func BenchmarkIncidentWebhookLatency(b *testing.B) { webhookLatency(b, "embedded") }

// BenchmarkIncidentWebhookLatencyDistributed is the same with the log on Kafka and the views and
// the outbox on Elasticsearch (one process in role all), on a namespace of its own that is
// deleted afterwards. It needs FANGXIN_KAFKA_BROKERS and FANGXIN_ELASTICSEARCH_URL.
func BenchmarkIncidentWebhookLatencyDistributed(b *testing.B) {
	brokers, es := os.Getenv("FANGXIN_KAFKA_BROKERS"), os.Getenv("FANGXIN_ELASTICSEARCH_URL")
	if brokers == "" || es == "" {
		b.Skip("FANGXIN_KAFKA_BROKERS and FANGXIN_ELASTICSEARCH_URL are not set (eval \"$(scripts/stack.sh env)\")")
	}
	ns := fmt.Sprintf("bench-webhooks-%d", time.Now().UnixNano()%1_000_000)
	b.Cleanup(func() { dropBenchNamespace(b, brokers, es, ns) })
	webhookLatency(b, "distributed", "--kafka-brokers", brokers, "--elasticsearch-url", es, "--namespace", ns)
}

func webhookLatency(b *testing.B, mode string, hubArgs ...string) {
	dir := b.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(`count_rules:
  - name: merchant-complaint-burst
    task: complaints
    group_by: merchant
    window: 2h
    min_count: 10
    pending: 0s
    quiet: 24h
    levels: {IV: 10, III: 30, II: 100, I: 300}
`), 0o600); err != nil {
		b.Fatal(err)
	}
	keyOf := func(bureau string) string { return fangxin(b, "keys", "create", "--data-dir", dir, "--bureau", bureau) }
	amrKey, hotKey, loadKey := keyOf("amr"), keyOf("hotline-12315"), keyOf("hotline-12345")
	h := startHub(b, dir, append(append([]string{"--rules", rulesFile}, webhookFlags...), hubArgs...)...)

	rc := newLatencyReceiver(b)
	body, _ := json.Marshal(map[string]any{"url": rc.URL, "filter": map[string]any{"routed_to_me": true, "types": []string{"incident.detected"}}})
	code, resp := postJSON(h.URL+"/v1/subscriptions", amrKey, "application/json", body)
	var sub struct{ ID string }
	if code != 201 || json.Unmarshal(resp, &sub) != nil {
		b.Fatalf("subscribe: %d %s", code, resp)
	}
	// outbox is, per delivery created since the last call, the time from its enqueue to its 2xx:
	// the deliverer's own share of the latency (the rest is the log and the rule engine).
	seen := map[string]bool{}
	outbox := func() []time.Duration {
		req, _ := http.NewRequest("GET", h.URL+"/v1/deliveries?limit=500&subscription="+sub.ID, nil)
		req.Header.Set("Authorization", "Bearer "+amrKey)
		var page struct {
			Deliveries []struct {
				ID          string
				CreatedAt   time.Time  `json:"created_at"`
				DeliveredAt *time.Time `json:"delivered_at"`
			}
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
		}
		var out []time.Duration
		for _, d := range page.Deliveries {
			if !seen[d.ID] && d.DeliveredAt != nil {
				seen[d.ID] = true
				out = append(out, d.DeliveredAt.Sub(d.CreatedAt))
			}
		}
		return out
	}

	const trials = 40
	next := 1000
	phase := func(name string) []time.Duration {
		var wg sync.WaitGroup
		lat := make([]time.Duration, trials)
		for i := range trials {
			next++
			merchant := kit.USCC(next)
			now := time.Now().In(kit.Shanghai)
			var evs []events.Event
			for j := range 10 {
				id := fmt.Sprintf("bench-%s-%d-%d", name, next, j)
				data, _ := json.Marshal(map[string]any{"complaint_id": id, "channel": "12315", "category": "预付卡",
					"summary": "预付卡无法退费", "received_at": now.Format(time.RFC3339)})
				evs = append(evs, events.Event{SpecVersion: "1.0", ID: id, Source: events.SourceOf("hotline-12315"),
					Type: events.TypeComplaintReceived, Subject: merchant, Time: now, DataContentType: "application/json", Data: data})
			}
			if code, resp := pushEvents(h.URL, hotKey, evs[:9]); code != 202 {
				b.Fatalf("push: %d %s", code, resp)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				arrived := rc.expect(merchant)
				code, resp := pushEvents(h.URL, hotKey, evs[9:])
				acked := time.Now()
				if code != 202 {
					b.Errorf("push the 10th: %d %s", code, resp)
					return
				}
				select {
				case at := <-arrived:
					lat[i] = at.Sub(acked)
				case <-time.After(60 * time.Second):
					b.Errorf("%s: no webhook for merchant %s within 60 s", name, merchant)
				}
			}()
			time.Sleep(250 * time.Millisecond)
		}
		wg.Wait()
		return lat
	}

	b.ResetTimer()
	idle := phase("idle")
	idleOutbox := outbox()

	// Background: two clients push complaints about 5000 other merchants (never ten about one
	// within the window), batches of 20 every 100 ms each: up to 400 a second.
	var stop atomic.Bool
	var sent atomic.Int64
	var bg sync.WaitGroup
	for w := range 2 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			n := w * 1_000_000
			for !stop.Load() {
				var evs []events.Event
				now := time.Now().In(kit.Shanghai)
				for range 20 {
					n++
					id := fmt.Sprintf("load-%d", n)
					data, _ := json.Marshal(map[string]any{"complaint_id": id, "channel": "12345", "category": "餐饮",
						"summary": "菜品分量不足", "received_at": now.Format(time.RFC3339)})
					evs = append(evs, events.Event{SpecVersion: "1.0", ID: id, Source: events.SourceOf("hotline-12345"),
						Type: events.TypeComplaintReceived, Subject: kit.USCC(100000 + n%5000), Time: now, DataContentType: "application/json", Data: data})
				}
				if code, _ := pushEvents(h.URL, loadKey, evs); code == 202 {
					sent.Add(int64(len(evs)))
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	start := time.Now()
	loaded := phase("load")
	loadOutbox := outbox()
	stop.Store(true)
	bg.Wait()
	rate := float64(sent.Load()) / time.Since(start).Seconds()
	b.StopTimer()

	p := func(l []time.Duration, q float64) time.Duration {
		s := slices.Clone(l)
		slices.Sort(s)
		return s[min(len(s)-1, int(q*float64(len(s))))]
	}
	b.ReportMetric(float64(p(idle, .5).Milliseconds()), "idle-p50-ms")
	b.ReportMetric(float64(p(idle, .99).Milliseconds()), "idle-p99-ms")
	b.ReportMetric(float64(p(loaded, .5).Milliseconds()), "load-p50-ms")
	b.ReportMetric(float64(p(loaded, .99).Milliseconds()), "load-p99-ms")
	b.Logf("enqueue -> 2xx, idle: p50 %s p99 %s; under load: p50 %s p99 %s", p(idleOutbox, .5), p(idleOutbox, .99), p(loadOutbox, .5), p(loadOutbox, .99))
	b.Logf("| %s, idle (baseline) | %d | %s | %s |", mode, trials, p(idle, .5).Round(time.Millisecond), p(idle, .99).Round(time.Millisecond))
	b.Logf("| %s, %.0f complaints/s background | %d | %s | %s |", mode, rate, trials, p(loaded, .5).Round(time.Millisecond), p(loaded, .99).Round(time.Millisecond))
}

// latencyReceiver records when the first incident.detected webhook about each merchant arrives.
type latencyReceiver struct {
	URL     string
	mu      sync.Mutex
	waiting map[string]chan time.Time
}

func newLatencyReceiver(b *testing.B) *latencyReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	rc := &latencyReceiver{URL: "http://" + ln.Addr().String() + "/hook", waiting: map[string]chan time.Time{}}
	srv := &http.Server{Handler: rc}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return rc
}

func (rc *latencyReceiver) expect(merchant string) <-chan time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ch := make(chan time.Time, 1)
	rc.waiting[merchant] = ch
	return ch
}

func (rc *latencyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var p struct {
		Data struct {
			Merchant string `json:"merchant"`
		} `json:"data"`
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &p)
	rc.mu.Lock()
	if ch, ok := rc.waiting[p.Data.Merchant]; ok {
		delete(rc.waiting, p.Data.Merchant)
		ch <- at
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func postJSON(url, key, contentType string, body []byte) (int, []byte) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func pushEvents(base, key string, evs []events.Event) (int, []byte) {
	body, _ := json.Marshal(evs)
	return postJSON(base+"/v1/events", key, "application/cloudevents-batch+json", body)
}

// dropBenchNamespace deletes the topics, consumer groups and indices of namespace ns.
func dropBenchNamespace(b *testing.B, brokers, es, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Transport: tr, Timeout: 10 * time.Second}
	if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{ns + ".fangxin.events.v1", ns + ".fangxin.poison.v1"}}); err != nil {
		b.Logf("deleting the topics of %s: %v", ns, err)
	}
	var groups []string
	for _, g := range []string{"views", "webhooks", "rules", "incidents"} {
		groups = append(groups, ns+"."+g)
	}
	if _, err := c.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: groups}); err != nil {
		b.Logf("deleting the consumer groups of %s: %v", ns, err)
	}
	base := strings.Split(es, ",")[0]
	esDo := func(method, path string) []byte {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Logf("%s %s: %v", method, path, err)
			return nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return body
	}
	// Elasticsearch refuses wildcard deletes: list the indices, then delete them by name.
	if names := strings.Fields(string(esDo("GET", "/_cat/indices/"+ns+"-fangxin-*?h=index"))); len(names) > 0 {
		esDo("DELETE", "/"+strings.Join(names, ","))
	}
	esDo("DELETE", "/_index_template/"+ns+"-fangxin-timeline,"+ns+"-fangxin-merchants")
}
