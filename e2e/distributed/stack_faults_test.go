package distributed

import (
	"fmt"
	"sync"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// Elasticsearch stops for 30 s while bureaus push (on the private stack). The log is up, so
// every push still gets 202; reads answer 503 while the views are gone; once Elasticsearch is
// back the projector catches up, and every acknowledged event is in the views exactly once.
func TestElasticsearchDownThirtySecondsMidStream(t *testing.T) {
	needStack(t)
	private.use(t)
	env := newEnv(t, kafkaURL, private.es)
	key := env.key(t, "hotline-12315")
	gw := env.start(t, "gateway")
	pr := env.start(t, "projector")
	c := newClient(t, gw.URL, key)
	l := newLedger()

	// ~20 events a second: what piles up during the outage and the restart (a minute or more on
	// two busy cores) is folded within the test's time.
	push := startPushers(t, c, l, 1, 10, 2000, 200, 500*time.Millisecond, "esdown")
	time.Sleep(3 * time.Second)
	t0 := time.Now()
	if err := private.run("down", "elasticsearch"); err != nil {
		t.Fatal(err)
	}
	t.Logf("elasticsearch stopped in %s after %d acknowledged events", time.Since(t0).Round(time.Millisecond), l.ackedCount())
	down := time.Now()
	// While it is down: pushes get 202, reads get 503 (never a 500, never a wrong answer).
	time.Sleep(5 * time.Second)
	if code, body := c.Do("GET", "/v1/merchants/"+kit.USCC(2000)+"/history", "", nil); code != 503 {
		t.Errorf("a read while Elasticsearch is down answered %d %s, want 503", code, body)
	}
	time.Sleep(30*time.Second - time.Since(down))
	t1 := time.Now()
	if err := private.run("up", "elasticsearch"); err != nil {
		t.Fatal(err)
	}
	t.Logf("elasticsearch down for %s, up again in %s", t1.Sub(down).Round(time.Second), time.Since(t1).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	push.halt()
	if len(l.statuses) != 1 || l.statuses[202] == 0 {
		t.Errorf("with the log up every push must get 202: %v", l.statuses)
	}
	pr.caughtUp(150 * time.Second)
	l.exactlyOnce(t, c, 60*time.Second)
}

// The broker is killed with SIGKILL and restarted while bureaus push (on the private stack).
// While it is down the gateway answers 503 (it cannot make an event durable), never 202; after
// it is back pushes get 202 again, and every acknowledged event is in the views exactly once.
func TestKafkaBrokerRestartMidIngest(t *testing.T) {
	needStack(t)
	private.use(t)
	env := newEnv(t, private.brokers, esURL)
	key := env.key(t, "hotline-12315")
	gw := env.start(t, "gateway")
	pr := env.start(t, "projector")
	c := newClient(t, gw.URL, key)
	l := newLedger()

	// Every push is timed, to tell which ran entirely while the broker was down.
	type call struct {
		start, end time.Time
		code       int
	}
	var mu sync.Mutex
	var calls []call
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, kit.Shanghai)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := make([]events.Event, 10)
				for i := range batch {
					k := n*10 + i
					batch[i] = kit.Complaint("hotline-12315", fmt.Sprintf("kafka-w%d-b%d-%d", w, n, i), kit.USCC(3000+(k*7+w)%200),
						t0.Add(time.Duration(k)*time.Second+time.Duration(w)*time.Millisecond), "预付卡退费纠纷")
				}
				s := time.Now()
				code, _ := c.PushBatch(batch)
				mu.Lock()
				calls = append(calls, call{s, time.Now(), code})
				mu.Unlock()
				l.record(code, batch)
				time.Sleep(50 * time.Millisecond)
			}
		}(w)
	}
	time.Sleep(3 * time.Second)
	if err := private.killKafka(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	t.Logf("broker killed after %d acknowledged events", l.ackedCount())
	// The broker stays down 10 s: it cannot be up before it is started, so a push sent and
	// answered within [down, restart) must not get 202. The gateway says it is not ready.
	time.Sleep(3 * time.Second)
	if code, body := c.Do("GET", "/readyz", "", nil); code != 503 {
		t.Errorf("the gateway's /readyz answered %d while the broker was down, want 503: %s", code, body)
	}
	time.Sleep(10*time.Second - time.Since(down))
	restart := time.Now()
	if err := private.run("up", "kafka"); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	t.Logf("broker down for %s, restarted in %s", restart.Sub(down).Round(time.Millisecond), up.Sub(restart).Round(time.Millisecond))
	// Pushes get 202 again once the broker is back.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		last := calls[len(calls)-1]
		mu.Unlock()
		if last.code == 202 && last.start.After(up) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pushes did not get 202 again within 60 s of the restart (last: %d)", last.code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	during, unavailable := 0, 0
	for _, cl := range calls {
		if cl.start.After(down) && cl.end.Before(restart) {
			during++
			if cl.code == 202 {
				t.Errorf("a push sent and answered while the broker was down got 202 (%s to %s)", cl.start.Format(time.StampMilli), cl.end.Format(time.StampMilli))
			}
		}
		if cl.code == 503 {
			unavailable++
		}
	}
	if unavailable == 0 {
		t.Errorf("no push was answered 503 while the broker was down (%d pushes ran entirely during the outage)", during)
	}
	t.Logf("%d pushes ran entirely while the broker was down; %d answered 503 in all", during, unavailable)
	pr.caughtUp(120 * time.Second)
	l.exactlyOnce(t, c, 60*time.Second)
}
