package distributed

import (
	"encoding/json"
	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// liveGeneration reads which index generation the namespace's timeline alias points at.
func liveGeneration(t *testing.T, es, ns string) string {
	t.Helper()
	resp, err := http.Get(es + "/_alias/" + ns + "-fangxin-timeline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("alias %s-fangxin-timeline points at %d indices: %v", ns, len(got), got)
	}
	for index := range got {
		return strings.TrimPrefix(index, ns+"-fangxin-timeline-")
	}
	return ""
}

// `fangxin rebuild` builds a new index generation from the log and swaps the aliases while the
// hub runs: bureaus keep pushing, every query keeps answering, and afterwards every acknowledged
// event is in the new generation exactly once, including those pushed during the rebuild.
func TestRebuildWhileTheHubRuns(t *testing.T) {
	env := sharedEnv(t)
	key := env.key(t, "hotline-12315")
	gw := env.start(t, "gateway")
	pr := env.start(t, "projector")
	c := newClient(t, gw.URL, key)
	l := newLedger()
	before := liveGeneration(t, env.es, env.ns)

	// t=0..5 s: the bureaus push, ~40 events a second, and go on through the rebuild.
	push := startPushers(t, c, l, 1, 10, 4000, 200, 200*time.Millisecond, "rebuild")
	time.Sleep(5 * time.Second)

	// t=4..: reads run all the time; every one must answer 200.
	var reads, bad atomic.Int64
	var badMu sync.Mutex
	var badSample []string
	stopReads := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopReads:
				return
			case <-time.After(50 * time.Millisecond):
			}
			path := "/v1/merchants/" + kit.USCC(4000+i%50)
			if i%2 == 1 {
				path = "/v1/events?q=" + url.QueryEscape("预付卡") + "&limit=5"
			}
			code, body := c.Do("GET", path, "", nil)
			reads.Add(1)
			if code != 200 {
				bad.Add(1)
				badMu.Lock()
				if len(badSample) < 5 {
					badSample = append(badSample, path+": "+strings.TrimSpace(string(body)))
				}
				badMu.Unlock()
			}
		}
	}()

	// The rebuild runs beside the live hub, while the pushes go on.
	start := time.Now()
	out, stderr := fangxin(t, "rebuild", "--data-dir", t.TempDir(), "--namespace", env.ns,
		"--kafka-brokers", env.brokers, "--elasticsearch-url", env.es, "--log-level", "info")
	took := time.Since(start)
	t.Logf("%s (%s)", out, took.Round(time.Millisecond))
	if m := regexp.MustCompile(`live_projector_frozen=(\S+)`).FindStringSubmatch(stderr); m != nil {
		t.Logf("the live projector could not write for %s during the hand-over", m[1])
	}
	time.Sleep(3 * time.Second)
	push.halt()
	pr.caughtUp(90 * time.Second)
	close(stopReads)
	rwg.Wait()

	after := liveGeneration(t, env.es, env.ns)
	if after == before || !strings.HasPrefix(after, "r") {
		t.Errorf("the aliases point at generation %q before and %q after the rebuild", before, after)
	}
	resp, err := http.Get(env.es + "/" + env.ns + "-fangxin-timeline-" + before)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("the old generation %s still exists (%d)", before, resp.StatusCode)
		}
	}
	if bad.Load() > 0 {
		t.Errorf("%d of %d reads during the rebuild did not answer 200: %v", bad.Load(), reads.Load(), badSample)
	}
	t.Logf("%d reads during the rebuild, all 200; generation %s replaced %s", reads.Load(), after, before)
	l.exactlyOnce(t, c, 60*time.Second)
}
