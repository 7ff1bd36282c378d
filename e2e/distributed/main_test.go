// Package distributed holds black-box acceptance tests of the distributed mode: they start the
// built fangxin binary against the real Kafka and Elasticsearch that scripts/stack.sh runs
// (FANGXIN_KAFKA_BROKERS, FANGXIN_ELASTICSEARCH_URL), talk to it over HTTP like a bureau would,
// break things (kill -9, a stopped Elasticsearch, a restarted broker) and end every test with
// the same check: every event the gateway acknowledged with 202 is in the views exactly once.
//
// Every test runs in its own namespace (--namespace: its own topics, consumer groups and
// indices) on the shared stack, and deletes them when it passes (FANGXIN_E2E_KEEP=1 keeps
// them). The tests that stop Elasticsearch or the broker do it on a private second stack on
// other ports (privateStack), started in the background when the package starts and stopped
// when it ends, so the shared stack is never touched.
//
// Without the services the package fails, naming what to set, unless FANGXIN_SKIP_DISTRIBUTED=1
// asks to skip it explicitly.
package distributed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

var (
	binPath  string
	kafkaURL string // shared broker, host:port
	esURL    string // shared Elasticsearch
	skipAll  string // why every test skips (FANGXIN_SKIP_DISTRIBUTED=1 without services)
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	kafkaURL, esURL = os.Getenv("FANGXIN_KAFKA_BROKERS"), os.Getenv("FANGXIN_ELASTICSEARCH_URL")
	if kafkaURL == "" || esURL == "" {
		if os.Getenv("FANGXIN_SKIP_DISTRIBUTED") == "1" {
			skipAll = "skipped: FANGXIN_SKIP_DISTRIBUTED=1 and these tests need the real Kafka and Elasticsearch"
			return m.Run()
		}
		fmt.Fprintln(os.Stderr, "e2e/distributed: FANGXIN_KAFKA_BROKERS and FANGXIN_ELASTICSEARCH_URL must be set: these tests run the binary against "+
			"real Kafka and Elasticsearch. Run `scripts/stack.sh up` and `eval \"$(scripts/stack.sh env)\"`, "+
			"or set FANGXIN_SKIP_DISTRIBUTED=1 to skip the distributed tests explicitly.")
		return 1
	}
	path, cleanup, err := kit.Binary("../../cmd/fangxin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	binPath = path
	// The private stack takes a while to start on two cores: it starts now, beside the tests that
	// do not need it, and the fault tests wait for it.
	if os.Getenv("FANGXIN_E2E_NO_PRIVATE_STACK") != "1" {
		private.start()
		defer private.stop()
	}
	return m.Run()
}

// needStack skips or fails the test when the services are missing (see TestMain).
func needStack(t *testing.T) {
	t.Helper()
	if skipAll != "" {
		t.Skip(skipAll)
	}
}

// newNamespace returns a namespace of its own for the test and removes its topics, groups and
// indices when the test passes.
func newNamespace(t *testing.T, brokers, es string) string {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	short := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(strings.TrimPrefix(t.Name(), "Test"), ""))
	if len(short) > 20 {
		short = short[:20]
	}
	ns := "e2e-" + short + "-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("FANGXIN_E2E_KEEP") == "1" {
			t.Logf("kept namespace %s (topics %s.*, indices %s-fangxin-*)", ns, ns, ns)
			return
		}
		dropNamespace(t, brokers, es, ns)
	})
	return ns
}

func dropNamespace(t *testing.T, brokers, es, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Transport: tr, Timeout: 10 * time.Second}
	if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{ns + ".fangxin.events.v1", ns + ".fangxin.poison.v1"}}); err != nil {
		t.Logf("deleting the topics of %s: %v", ns, err)
	}
	if _, err := c.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{ns + ".views", ns + ".rules", ns + ".incidents", ns + ".webhooks"}}); err != nil {
		t.Logf("deleting the consumer group of %s: %v", ns, err)
	}
	// Elasticsearch refuses to delete indices by wildcard (action.destructive_requires_name):
	// list them, then delete them by name.
	base := strings.Split(es, ",")[0]
	esDo := func(method, path string) []byte {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Logf("%s %s: %v", method, path, err)
			return nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 && resp.StatusCode != 404 {
			t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	if names := strings.Fields(string(esDo("GET", "/_cat/indices/"+ns+"-fangxin-*?h=index"))); len(names) > 0 {
		esDo("DELETE", "/"+strings.Join(names, ","))
	}
	esDo("DELETE", "/_index_template/"+ns+"-fangxin-timeline,"+ns+"-fangxin-merchants")
}

// proc is one running fangxin process.
type proc struct {
	t    *testing.T
	name string
	*kit.Process
}

// hubEnv is how a test's processes reach the services.
type hubEnv struct {
	dir     string // data folder: keys.json
	ns      string
	brokers string
	es      string
}

// newEnv makes a data folder and a namespace on the given services.
func newEnv(t *testing.T, brokers, es string) hubEnv {
	t.Helper()
	needStack(t)
	return hubEnv{dir: t.TempDir(), ns: newNamespace(t, brokers, es), brokers: brokers, es: es}
}

// sharedEnv is newEnv on the shared stack.
func sharedEnv(t *testing.T) hubEnv {
	t.Helper()
	needStack(t)
	return newEnv(t, kafkaURL, esURL)
}

// start runs `fangxin serve --role role` in env and waits until it is ready.
func (e hubEnv) start(t *testing.T, role string, args ...string) *proc {
	t.Helper()
	p := e.launch(t, role, args...)
	p.waitReady(90 * time.Second)
	return p
}

// launch starts the process and waits for its URL, not for readiness.
func (e hubEnv) launch(t *testing.T, role string, args ...string) *proc {
	t.Helper()
	level := "info"
	if v := os.Getenv("FANGXIN_E2E_LOG_LEVEL"); v != "" {
		level = v
	}
	full := append([]string{"serve", "--role", role, "--data-dir", e.dir, "--listen", "127.0.0.1:0", "--log-level", level,
		"--namespace", e.ns, "--kafka-brokers", e.brokers, "--elasticsearch-url", e.es}, args...)
	cmd := exec.Command(binPath, full...)
	cmd.Env = append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=", "FANGXIN_NAMESPACE=")
	kp, err := kit.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{Process: kp, t: t, name: role}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			f := filepath.Join(os.TempDir(), fmt.Sprintf("fangxin-e2e-%s-%s-%d.log", e.ns, p.name, cmd.Process.Pid))
			_ = os.WriteFile(f, []byte(p.Stderr.String()), 0o644)
			t.Logf("stderr of %s (pid %d) in %s; last lines:\n%s", p.name, cmd.Process.Pid, f, p.Stderr.Tail(15))
		}
	})
	if err := p.WaitURL(90 * time.Second); err != nil {
		t.Fatalf("fangxin %s %v: %s", role, err, p.Stderr.String())
	}
	return p
}

func (p *proc) waitReady(within time.Duration) {
	p.t.Helper()
	if err := p.WaitReady(within); err != nil {
		p.t.Fatalf("fangxin %s %v: %s", p.name, err, p.Stderr.Tail(20))
	}
}

// kill sends SIGKILL: no shutdown code runs.
func (p *proc) kill() { p.Kill() }

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	code, err := p.Terminate(45 * time.Second)
	if err != nil {
		p.t.Fatalf("fangxin %s %v", p.name, err)
	}
	if code != 0 {
		p.t.Fatalf("fangxin %s exited with %d after SIGTERM: %s", p.name, code, p.Stderr.Tail(20))
	}
}

var lagLine = regexp.MustCompile(`(?m)^fangxin_consumer_lag_events\{group="[^"]+"\} (\S+)$`)

// lag reads the process's consumer lag gauges (views, rules, incidents, linker, webhooks) and
// returns the largest; -2 when they cannot be read.
func (p *proc) lag() float64 {
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		return -2
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ms := lagLine.FindAllStringSubmatch(string(b), -1)
	if ms == nil {
		return -2
	}
	worst := 0.0
	for _, m := range ms {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil || v < 0 {
			return -2
		}
		worst = max(worst, v)
	}
	return worst
}

// caughtUp waits until the projector process is quiet: every consumer group has committed
// everything the log holds, twice in a row (the rule engine and the linker append events of
// their own, which the others then handle).
func (p *proc) caughtUp(within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	quiet := 0
	for time.Now().Before(deadline) {
		if p.lag() == 0 {
			if quiet++; quiet == 2 {
				return
			}
		} else {
			quiet = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	lag := p.lag()
	p.dumpStacks()
	p.t.Fatalf("projector %s did not catch up within %s (lag %v)", p.name, within, lag)
}

// dumpStacks makes the process print every goroutine's stack (SIGQUIT) into its stderr, which
// the cleanup saves when the test fails.
func (p *proc) dumpStacks() {
	if resp, err := http.Get(p.URL + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "fangxin_projector_") {
				p.t.Log(line)
			}
		}
	}
	_ = p.Cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.Exited:
	case <-time.After(5 * time.Second):
	}
}

// fangxin runs a one-shot subcommand and returns its stdout and stderr.
func fangxin(t *testing.T, args ...string) (string, string) {
	t.Helper()
	return kit.Fangxin(t, binPath, args...)
}

// key creates a key for bureau in the env's data folder.
func (e hubEnv) key(t *testing.T, bureau string) string {
	t.Helper()
	out, _ := fangxin(t, "keys", "create", "--data-dir", e.dir, "--bureau", bureau)
	return out
}

// client is a bureau talking to a hub (see kit.Client), with this package's own helpers.
type client struct{ kit.Client }

func newClient(t *testing.T, url, key string) client {
	return client{kit.Client{T: t, URL: url, Key: key}}
}

// ---------------------------------------------------------------------------------------------
// The check every test ends with.

// ledger records what the gateway acknowledged.
type ledger struct {
	mu       sync.Mutex
	acked    map[string]string // event id -> merchant
	refused  map[string]string // answered 503 (or no answer): may or may not be in the log
	statuses map[int]int
}

func newLedger() *ledger {
	return &ledger{acked: map[string]string{}, refused: map[string]string{}, statuses: map[int]int{}}
}

func (l *ledger) record(code int, batch []events.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[code]++
	for _, ev := range batch {
		if code == 202 {
			l.acked[ev.ID] = ev.Subject
			delete(l.refused, ev.ID)
		} else if _, ok := l.acked[ev.ID]; !ok {
			l.refused[ev.ID] = ev.Subject
		}
	}
}

func (l *ledger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *ledger) merchants() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := map[string]bool{}
	for _, m := range l.acked {
		set[m] = true
	}
	for _, m := range l.refused {
		set[m] = true
	}
	var out []string
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// viewsState reads every merchant's history and profile.
func viewsState(c client, merchants []string) (seen map[string]int, counts map[string][2]int, ok bool) {
	seen, counts = map[string]int{}, map[string][2]int{}
	for _, m := range merchants {
		hist, ok := c.History(m, 500)
		if !ok {
			return nil, nil, false
		}
		var p kit.Profile
		if code := c.Get("/v1/merchants/"+m, &p); code != 200 && code != 404 {
			return nil, nil, false
		}
		counts[m] = [2]int{p.EventCount, len(hist)}
		for _, ev := range hist {
			seen[ev.ID]++
		}
	}
	return seen, counts, true
}

// exactlyOnce waits (up to within) until every acknowledged event is in the views, then checks
// that each is there exactly once, that no event is there twice, and that every profile counts
// what its history holds.
func (l *ledger) exactlyOnce(t *testing.T, c client, within time.Duration) {
	t.Helper()
	merchants := l.merchants()
	l.mu.Lock()
	acked := make(map[string]string, len(l.acked))
	for k, v := range l.acked {
		acked[k] = v
	}
	refused := len(l.refused)
	statuses := fmt.Sprint(l.statuses)
	l.mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no event was acknowledged")
	}
	start := time.Now()
	deadline := start.Add(within)
	var seen map[string]int
	var counts map[string][2]int
	for {
		var ok bool
		seen, counts, ok = viewsState(c, merchants)
		missing := 0
		if ok {
			for id := range acked {
				if seen[id] == 0 {
					missing++
				}
			}
			consistent := true
			for _, n := range counts {
				if n[0] != n[1] {
					consistent = false
				}
			}
			if missing == 0 && consistent {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("after %s, %d of %d acknowledged events are missing from the views (views answering: %v)", within, missing, len(acked), ok)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s is in the views %d times", id, n)
		}
	}
	for id := range acked {
		if seen[id] == 0 {
			t.Errorf("acknowledged event %s is not in the views", id)
		}
	}
	for m, n := range counts {
		if n[0] != n[1] {
			t.Errorf("%s: the profile counts %d events, the history holds %d", m, n[0], n[1])
		}
	}
	extra := len(seen) - len(acked)
	t.Logf("exactly once: %d acknowledged events all in the views once (%d answered otherwise, %d of those in the log anyway); statuses %s; converged in %s",
		len(acked), refused, extra, statuses, time.Since(start).Round(time.Millisecond))
}

// pusher sends batches of complaints from workers goroutines until stopped, recording every
// answer in the ledger.
type pusher struct {
	l    *ledger
	stop chan struct{}
	wg   sync.WaitGroup
}

// startPushers pushes batches of size complaints about merchants kit.USCC(base)..uscc(base+span-1),
// each worker pausing pause between batches.
func startPushers(t *testing.T, c client, l *ledger, workers, size, base, span int, pause time.Duration, tag string) *pusher {
	p := &pusher{l: l, stop: make(chan struct{})}
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, kit.Shanghai)
	for w := 0; w < workers; w++ {
		p.wg.Add(1)
		go func(w int) {
			defer p.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-p.stop:
					return
				default:
				}
				batch := make([]events.Event, size)
				for i := range batch {
					k := n*size + i
					id := fmt.Sprintf("%s-w%d-b%d-%d", tag, w, n, i)
					batch[i] = kit.Complaint("hotline-12315", id, kit.USCC(base+(k*7+w)%span), t0.Add(time.Duration(k)*time.Second+time.Duration(w)*time.Millisecond), "预付卡退费纠纷")
				}
				code, _ := c.PushBatch(batch)
				l.record(code, batch)
				select {
				case <-p.stop:
					return
				case <-time.After(pause):
				}
			}
		}(w)
	}
	return p
}

func (p *pusher) halt() {
	close(p.stop)
	p.wg.Wait()
}

var handledLine = regexp.MustCompile(`(?m)^fangxin_projector_handler_execution_time_seconds_count\{[^}]*success="true"[^}]*\} (\S+)$`)

// handled reads how many messages the projector's handler folded successfully.
func (p *proc) handled() float64 {
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := handledLine.FindStringSubmatch(string(b))
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
