package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

var _ gateway.ReadModel = (*Store)(nil)

func TestConformance(t *testing.T) {
	urls := esURLs(t)
	storetest.RunAll(t, func(t *testing.T) storetest.Backend {
		cfg := Config{URLs: urls, IndexPrefix: uniquePrefix(t), VisibleOnReturn: true}
		t.Cleanup(func() { dropPrefix(t, urls, cfg.IndexPrefix) }) // runs after the suite's Close
		return openStore(t, cfg)
	})
}

func TestConfigValidate(t *testing.T) {
	err := Config{IndexPrefix: "Bad*", Generation: "x y", Workers: -1, FlushInterval: -time.Second,
		Replicas: "one", APIKey: "k", Username: "u"}.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{EnvURL, "IndexPrefix", "generation", "Workers", "FlushInterval", "Replicas", "APIKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error does not mention %s:\n%v", want, err)
		}
	}
	if err := (Config{URLs: []string{"http://127.0.0.1:9200"}}).Validate(); err != nil {
		t.Errorf("Validate of a minimal config: %v", err)
	}
	if err := (Config{URLs: []string{"127.0.0.1:9200"}}).Validate(); err == nil || !strings.Contains(err.Error(), EnvURL) {
		t.Errorf("Validate of a URL without scheme: %v", err)
	}
}

// TestOpenFailures: a wrong URL or a server that is not Elasticsearch fails at Open, at once,
// with one message naming the setting.
func TestOpenFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	notES := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"nodes":{"x":{"version":"8.19.7"}}}`)
	}))
	defer notES.Close()
	// Something that accepts connections and closes them without an HTTP answer, as Kafka's
	// port does.
	notHTTP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer notHTTP.Close()
	go func() {
		for {
			c, err := notHTTP.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"closed port", closed, "cannot reach Elasticsearch"},
		{"not Elasticsearch", notES.URL, "is not Elasticsearch"},
		{"not HTTP", "http://" + notHTTP.Addr().String(), "does not answer HTTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			s, err := Open(context.Background(), Config{URLs: []string{tc.url}})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), EnvURL) || !strings.Contains(err.Error(), tc.url) {
				t.Errorf("Open error %q; want it to say %q and name %s and the URL", err, tc.want, EnvURL)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Open took %v to fail", d)
			}
			t.Logf("%v", err)
		})
	}
}

// TestAnalysis records what the distribution offers for Chinese and checks what the mapping
// relies on: the standard analyzer makes one token per Han character.
func TestAnalysis(t *testing.T) {
	urls := esURLs(t)
	c, done := rawClient(t, urls)
	defer done()
	analyze := func(body string) (int, string) {
		res, err := esapi.IndicesAnalyzeRequest{Body: strings.NewReader(body)}.Do(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := analyze(`{"analyzer":"cjk","text":"老张火锅店"}`); status == 200 {
		t.Logf("this distribution has the cjk analyzer (analysis-common); the standard analyzer is used anyway: %s", body)
	} else {
		t.Logf("no cjk analyzer in this distribution (%d): %s", status, body)
	}
	status, body := analyze(`{"analyzer":"standard","text":"老张火锅店 ABC-12"}`)
	var out struct {
		Tokens []struct {
			Token    string `json:"token"`
			Position int    `json:"position"`
		} `json:"tokens"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("standard analyzer: %d %s", status, body)
	}
	var got []string
	for _, tok := range out.Tokens {
		got = append(got, tok.Token)
	}
	if want := "老 张 火 锅 店 abc 12"; strings.Join(got, " ") != want {
		t.Errorf("standard analyzer tokens %q, want %q", got, want)
	}
}

// TestChinesePhrases checks the phrase semantics on names the suite does not use.
func TestChinesePhrases(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := openStore(t, cfg)
	defer s.Close()
	ctx := testCtx(t)
	names := []string{"老张火锅店", "火车站便利店", "锅炉维修部", "利州区水果超市", "水果批发市场", "超市水果摊"}
	for i, n := range names {
		ev := storetest.Event("amr", events.TypeMerchantRegistered, storetest.USCC(500+i), "reg-"+n, storetest.At(0),
			events.MerchantRegistered{Name: n, Township: storetest.Dongba, Industry: "F5223", Address: "利州区", RegisteredAt: storetest.At(0)})
		if _, err := s.Apply(ctx, projections.Redact(ev), eventlog.Position{Offset: int64(i + 1)}, projections.FoldProfile); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string][]string{
		"火锅":    {"老张火锅店"},
		"火车":    {"火车站便利店"},
		"锅炉":    {"锅炉维修部"},
		"水果超市":  {"利州区水果超市"},
		"水果":    {"利州区水果超市", "水果批发市场", "超市水果摊"},
		"超市":    {"利州区水果超市", "超市水果摊"},
		"果超":    {"利州区水果超市"},
		"火":     {"老张火锅店", "火车站便利店"},
		"锅店":    {"老张火锅店"},
		"火锅炉":   nil,
		"市场 水果": {"水果批发市场"},
	} {
		r, err := s.SearchMerchants(ctx, projections.MerchantQuery{Q: q, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range r.Hits {
			got = append(got, h.Name)
		}
		if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
			t.Errorf("SearchMerchants %q = %q, want %q", q, got, want)
		}
	}
}

func sorted(ss []string) []string {
	out := append([]string(nil), ss...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestMappingRejection: a document Elasticsearch's mapping rejects is a PermanentError carrying
// Elasticsearch's reason, and nothing of the event is applied.
func TestMappingRejection(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := openStore(t, cfg)
	defer s.Close()
	ctx := testCtx(t)
	steps := storetest.LaoZhangSteps()
	reg := projections.Redact(steps[0][0])
	if _, err := s.Apply(ctx, reg, eventlog.Position{Offset: 1}, projections.FoldProfile); err != nil {
		t.Fatal(err)
	}
	// An event id of 40,000 bytes: the key keyword is longer than Lucene's 32,766-byte term limit.
	bad := projections.Redact(steps[1][0])
	bad.Event.ID = strings.Repeat("x", 40_000)
	applied, err := s.Apply(ctx, bad, eventlog.Position{Offset: 2}, projections.FoldProfile)
	var perm *projections.PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("Apply of a rejected document: applied %v, err %v; want a *projections.PermanentError", applied, err)
	}
	if !strings.Contains(err.Error(), "immense term") || !strings.Contains(err.Error(), "parsing_exception") {
		t.Errorf("the error does not carry Elasticsearch's reason: %v", err)
	}
	t.Logf("%.300s", err)
	p, ok, err := s.Profile(ctx, storetest.LaoZhang)
	if err != nil || !ok || p.EventCount != 1 || p.LastPosition.Offset != 1 {
		t.Errorf("profile after the rejection: %+v, %v, %v; want the registration only", p, ok, err)
	}
	// The merchant's next event applies normally.
	if applied, err := s.Apply(ctx, projections.Redact(steps[2][0]), eventlog.Position{Offset: 3}, projections.FoldProfile); err != nil || !applied {
		t.Errorf("next event: applied %v, %v", applied, err)
	}
}

// TestRebuildGeneration: queries through the aliases answer from the live generation while a new
// one is built, and see the new one after Promote; the old generation is deleted.
func TestRebuildGeneration(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := testCtx(t)
	live := openStore(t, cfg)
	defer live.Close()
	if live.Generation() != "1" {
		t.Fatalf("first generation %q, want 1", live.Generation())
	}
	log := storetest.Fixture()
	// The live views know the first half of the log.
	half := log[:len(log)/2]
	if err := storetest.ApplyAll(ctx, live, half); err != nil {
		t.Fatal(err)
	}
	liveCount := func() int {
		r, err := live.SearchEvents(ctx, projections.EventQuery{Limit: 1})
		if err != nil {
			t.Fatalf("query during the rebuild: %v", err)
		}
		return r.Total
	}
	if n := liveCount(); n != len(half) {
		t.Fatalf("live views: %d events, want %d", n, len(half))
	}
	if _, err := OpenGeneration(ctx, cfg, "1"); err == nil {
		t.Fatal("OpenGeneration of the live generation succeeded")
	}

	// Rebuild the whole log into generation 2 while the live store answers queries.
	reb, err := OpenGeneration(ctx, cfg, "2")
	if err != nil {
		t.Fatal(err)
	}
	defer reb.Close()
	done := make(chan error, 1)
	go func() { done <- storetest.ApplyAll(ctx, reb, log) }()
	queries := 0
	for waiting := true; waiting; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			waiting = false
		default:
			if n := liveCount(); n != len(half) {
				t.Fatalf("during the rebuild the live views answered %d events, want %d", n, len(half))
			}
			if _, ok, err := live.Profile(ctx, storetest.LaoZhang); err != nil || !ok {
				t.Fatalf("Profile during the rebuild: %v, %v", ok, err)
			}
			queries++
		}
	}
	t.Logf("%d queries answered from generation 1 during the rebuild", queries)
	if r, err := reb.SearchEvents(ctx, projections.EventQuery{Limit: 1}); err != nil || r.Total != len(log) {
		t.Fatalf("generation 2 before Promote: %d events, %v; want %d", r.Total, err, len(log))
	}

	if err := reb.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if n := liveCount(); n != len(log) {
		t.Errorf("after Promote the aliases answer %d events, want %d", n, len(log))
	}
	c, closeRaw := rawClient(t, cfg.URLs)
	defer closeRaw()
	if got := indicesOf(t, c, cfg.IndexPrefix); strings.Join(sorted(got), ",") !=
		indexMerchants(cfg.IndexPrefix, "2")+","+indexTimeline(cfg.IndexPrefix, "2") {
		t.Errorf("indices after Promote: %v; want only generation 2", got)
	}
	// The old store keeps working through the aliases, now on generation 2.
	a, err := storetest.Snapshot(ctx, live, storetest.FixtureMerchants())
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := storetest.Snapshot(ctx, reb, storetest.FixtureMerchants())
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.Diff(a, fresh); d != "" {
		t.Errorf("the aliases and generation 2 differ:\n%s", d)
	}
	next := storetest.LogEntry{Entry: projections.Redact(storetest.Event("amr", events.TypeInspectionCompleted, storetest.LaoZhang, "after-promote",
		storetest.At(50), events.InspectionCompleted{InspectionID: "JC-x", Kind: "routine", Result: "pass", InspectedAt: storetest.At(50)})),
		Pos: eventlog.Position{Offset: int64(len(log) + 1)}}
	if applied, err := live.Apply(ctx, next.Entry, next.Pos, projections.FoldProfile); err != nil || !applied {
		t.Fatalf("Apply through the aliases after Promote: %v, %v", applied, err)
	}
	if p, _, _ := reb.Profile(ctx, storetest.LaoZhang); p.LastPosition != next.Pos {
		t.Errorf("generation 2 did not get the write made through the aliases: %v", p.LastPosition)
	}
	reopened := openStore(t, cfg)
	defer reopened.Close()
	if reopened.Generation() != "2" {
		t.Errorf("Open after Promote follows generation %q, want 2", reopened.Generation())
	}
	if err := reb.Promote(ctx); err == nil {
		t.Error("a second Promote succeeded")
	}
}

// TestReadsDuringHandOver: reads through the aliases go on answering while generation after
// generation is promoted under them. Promote deletes the generation it leaves in the same atomic
// step that moves the aliases, so a read that resolved an alias just before gets index_not_found
// for the old index; asked again, it reads the new one (client.do, Store.mget).
func TestReadsDuringHandOver(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := testCtx(t)
	live := openStore(t, cfg)
	defer live.Close()
	log := storetest.Fixture()
	if err := storetest.ApplyAll(ctx, live, log); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var reads atomic.Int64
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				var err error
				switch (r + i) % 3 {
				case 0:
					_, _, err = live.Profile(ctx, storetest.LaoZhang)
				case 1:
					_, err = live.History(ctx, projections.HistoryQuery{USCC: storetest.LaoZhang, Limit: 5})
				default:
					_, err = live.SearchEvents(ctx, projections.EventQuery{Q: "火锅", Limit: 5})
				}
				reads.Add(1)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	// The new generations need no read-your-writes: Promote refreshes them.
	quiet := cfg
	quiet.VisibleOnReturn = false
	for gen := 2; gen <= 5; gen++ {
		reb, err := OpenGeneration(ctx, quiet, strconv.Itoa(gen))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := storetest.ApplyAll(ctx, reb, log); err != nil {
			t.Fatal(err)
		}
		t.Logf("generation %d built in %v", gen, time.Since(t0))
		if err := reb.Promote(ctx); err != nil {
			t.Fatal(err)
		}
		reb.Close()
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a read during the hand-overs failed: %v", err)
	}
	t.Logf("%d reads through four hand-overs", reads.Load())
}

// TestOutage: Elasticsearch unreachable (a closed loopback port in front of it) makes Apply fail
// with an ordinary error once its retries are spent, and nothing is lost: the event applies once
// when delivered again. A node that comes back while Apply retries is waited for.
func TestOutage(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := testCtx(t)
	target := strings.TrimPrefix(strings.TrimPrefix(cfg.URLs[0], "http://"), "https://")
	if strings.HasPrefix(cfg.URLs[0], "https://") {
		t.Skip("the outage proxy forwards plain TCP to an http:// URL")
	}
	px := newProxy(t, strings.TrimSuffix(target, "/"))
	defer px.stop()

	pcfg := cfg
	pcfg.URLs = []string{"http://" + px.addr}
	pcfg.Retry = RetryConfig{InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxElapsed: 500 * time.Millisecond}
	s := openStore(t, pcfg)
	defer s.Close()
	direct := openStore(t, cfg)
	defer direct.Close()

	steps := storetest.LaoZhangSteps()
	reg := storetest.LogEntry{Entry: projections.Redact(steps[0][0]), Pos: eventlog.Position{Offset: 1}}
	c1 := storetest.LogEntry{Entry: projections.Redact(steps[1][0]), Pos: eventlog.Position{Offset: 2}}
	if _, err := s.Apply(ctx, reg.Entry, reg.Pos, projections.FoldProfile); err != nil {
		t.Fatal(err)
	}

	t.Run("down, then delivered again", func(t *testing.T) {
		px.down()
		start := time.Now()
		applied, err := s.Apply(ctx, c1.Entry, c1.Pos, projections.FoldProfile)
		var perm *projections.PermanentError
		if err == nil || errors.As(err, &perm) {
			t.Fatalf("Apply while Elasticsearch is unreachable: applied %v, err %v; want an ordinary error", applied, err)
		}
		t.Logf("after %v: %.200s", time.Since(start).Round(time.Millisecond), err)
		// Redelivered against the live URL: applied once, nothing lost.
		if applied, err := direct.Apply(ctx, c1.Entry, c1.Pos, projections.FoldProfile); err != nil || !applied {
			t.Fatalf("Apply against the live URL: applied %v, %v", applied, err)
		}
		p, _, err := direct.Profile(ctx, storetest.LaoZhang)
		if err != nil || p.EventCount != 2 || len(p.OpenComplaints) != 1 || p.LastPosition != c1.Pos {
			t.Errorf("profile: %+v, %v", p, err)
		}
	})

	t.Run("back while retrying", func(t *testing.T) {
		c2 := storetest.LogEntry{Entry: projections.Redact(steps[2][0]), Pos: eventlog.Position{Offset: 3}}
		px.up()
		slow := pcfg
		slow.Retry.MaxElapsed = 20 * time.Second
		s2 := openStore(t, slow) // through the proxy
		defer s2.Close()
		px.down()
		go func() { time.Sleep(700 * time.Millisecond); px.up() }()
		start := time.Now()
		applied, err := s2.Apply(ctx, c2.Entry, c2.Pos, projections.FoldProfile)
		if err != nil || !applied {
			t.Fatalf("Apply across an outage: applied %v, %v", applied, err)
		}
		if d := time.Since(start); d < 600*time.Millisecond {
			t.Errorf("Apply returned after %v, before the node came back", d)
		}
		h, err := direct.History(ctx, projections.HistoryQuery{USCC: storetest.LaoZhang})
		if err != nil || len(h.Entries) != 3 {
			t.Errorf("history: %d entries, %v; want 3", len(h.Entries), err)
		}
		if p, _, _ := direct.Profile(ctx, storetest.LaoZhang); p.EventCount != 3 || p.LastPosition != c2.Pos {
			t.Errorf("profile: %d events at %v", p.EventCount, p.LastPosition)
		}
	})
}

// proxy forwards TCP from a loopback port to Elasticsearch; down closes the port (and every
// connection through it), up opens the same port again.
type proxy struct {
	t      testing.TB
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(ln)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) up() {
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return
		}
		if i > 100 {
			p.t.Errorf("proxy: listen again on %s: %v", p.addr, err)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proxy) stop() {
	p.down()
	p.wg.Wait()
}
