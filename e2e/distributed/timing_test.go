package distributed

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Ack latency (request to 202) through a gateway process on Kafka, and freshness (202 to the
// event visible in its merchant's history) with a separate projector process on Elasticsearch,
// at a steady rate of single-event pushes. The figures are logged, never asserted: a two-core
// machine shared with the other test packages is no benchmark rig, and the targets (ack
// p99 ≤ 50 ms, freshness p99 ≤ 2 s) are measured by `make bench`. On such a machine the broker
// can stall for longer than the gateway's publish timeout, and then the gateway rightly answers
// 503; the client here does what a bureau's client does and sends the same event again until it
// gets 202 (the gateway is idempotent on source and id). The test fails when an event is never
// accepted, never becomes visible, or shows up twice. FANGXIN_E2E_LATENCY_RATE
// (events/s, default 50) and FANGXIN_E2E_LATENCY_SECONDS (default 10) change the load.
func TestAckLatencyAndFreshness(t *testing.T) {
	env := sharedEnv(t)
	private.settled(t)
	key := env.key(t, "hotline-12315")
	gw := env.start(t, "gateway")
	env.start(t, "projector")
	c := newClient(t, gw.URL, key)
	rate, secs := 50, 10
	if v, err := strconv.Atoi(os.Getenv("FANGXIN_E2E_LATENCY_RATE")); err == nil && v > 0 {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("FANGXIN_E2E_LATENCY_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	// Warm up: connections, topic metadata, the first refresh.
	warm := kit.Complaint("hotline-12315", "warm", kit.USCC(9999), time.Date(2026, 7, 1, 8, 0, 0, 0, kit.Shanghai), "预付卡")
	if code, b := c.Push(warm); code != 202 {
		t.Fatalf("warm-up push: %d %s", code, b)
	}

	l := newLedger()
	// Every 5th event is a probe (its summary holds the word 探针); one watcher searches the
	// events for it every 20 ms, newest first, and notes when each probe appears, so measuring
	// adds a constant, small load. Probes go to 50 merchants, none of them hot.

	var mu sync.Mutex
	var acks, fresh []time.Duration
	accepted, retried := 0, 0 // events that got 202 in the end; pushes sent again after a 503
	ackedAt := map[string]time.Time{}
	seenAt := map[string]time.Time{}
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			code, body := c.Do("GET", "/v1/events?q="+url.QueryEscape("探针")+"&limit=100", "", nil)
			now := time.Now()
			var page struct {
				Events []events.Event `json:"events"`
			}
			if code != 200 || json.Unmarshal(body, &page) != nil {
				continue
			}
			mu.Lock()
			for _, ev := range page.Events {
				if _, ok := seenAt[ev.ID]; !ok {
					seenAt[ev.ID] = now
				}
			}
			mu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	n := rate * secs
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	t0 := time.Date(2026, 7, 1, 9, 0, 0, 0, kit.Shanghai)
	for i := 0; i < n; i++ {
		<-tick.C
		summary := "预付卡退费纠纷"
		if i%5 == 0 {
			summary = "探针：预付卡退费纠纷"
		}
		ev := kit.Complaint("hotline-12315", fmt.Sprintf("lat-%d", i), kit.USCC(5000+i%500), t0.Add(time.Duration(i)*time.Second), summary)
		wg.Add(1)
		go func(ev events.Event, probe bool) {
			defer wg.Done()
			s := time.Now()
			code, _ := c.Push(ev)
			acked := time.Now()
			l.record(code, []events.Event{ev})
			firstTry := code == 202
			for try := 1; code == 503 && try < 30; try++ {
				mu.Lock()
				retried++
				mu.Unlock()
				time.Sleep(time.Second)
				code, _ = c.Push(ev)
				l.record(code, []events.Event{ev})
			}
			if code != 202 {
				return
			}
			mu.Lock()
			if firstTry { // latency and freshness are figures of first tries only
				acks = append(acks, acked.Sub(s))
				if probe {
					ackedAt[ev.ID] = acked
				}
			}
			accepted++
			mu.Unlock()
		}(ev, i%5 == 0)
	}
	wg.Wait()
	// Wait for the last probes, then stop watching.
	slow := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for id := range ackedAt {
			if _, ok := seenAt[id]; !ok {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			slow = missing
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stopWatch)
	<-watched
	for id, a := range ackedAt {
		if s, ok := seenAt[id]; ok {
			fresh = append(fresh, max(s.Sub(a), 0))
		}
	}
	slices.Sort(acks)
	slices.Sort(fresh)
	t.Logf("ack latency, %d single-event pushes at %d/s through the gateway on Kafka: p50 %s p99 %s max %s (target p99 ≤ 50ms)",
		len(acks), rate, percentile(acks, 50).Round(10*time.Microsecond), percentile(acks, 99).Round(10*time.Microsecond), percentile(acks, 100).Round(time.Millisecond))
	t.Logf("freshness, 202 to visible in history (Kafka + Elasticsearch), %d probes polled every 20ms: p50 %s p99 %s max %s; %d not visible within 90s (target p99 ≤ 2s)",
		len(fresh), percentile(fresh, 50).Round(time.Millisecond), percentile(fresh, 99).Round(time.Millisecond), percentile(fresh, 100).Round(time.Millisecond), slow)
	if retried > 0 {
		t.Logf("%d of %d events got 202 at the first try; %d pushes were sent again after a 503", len(acks), n, retried)
	}
	if accepted != n {
		t.Errorf("%d of %d events got 202, sending again after each 503 for 30 s", accepted, n)
	}
	if slow > 0 {
		t.Errorf("%d acknowledged probes never became visible in the views", slow)
	}
	l.exactlyOnce(t, c, 60*time.Second)
}
