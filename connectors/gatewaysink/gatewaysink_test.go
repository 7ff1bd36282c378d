package gatewaysink_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/gatewaysink"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/hub"
)

// startHub runs a real embedded hub in this process and returns its URL, a key of the amr
// bureau, and a function that stops it.
func startHub(t *testing.T) (url, key string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	key, err := gateway.OpenKeyFile(filepath.Join(dir, "keys.json")).Create("amr", nil, "gatewaysink test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	reg := prometheus.NewRegistry()
	go func() {
		done <- hub.Run(ctx, hub.Config{DataDir: dir, Listen: "127.0.0.1:0",
			Log: hub.LogConfig{Embedded: &hub.EmbeddedLogConfig{}}, Views: hub.ViewsConfig{Embedded: &hub.EmbeddedViewsConfig{}}},
			hub.Deps{Logger: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg, Started: func(a string) { addr <- a }})
	}()
	select {
	case a := <-addr:
		url = "http://" + a
	case err := <-done:
		t.Fatalf("hub: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("hub did not start within a minute")
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return url, key, stop
}

func openSink(t *testing.T, url, key string, attempts int) connectors.Sink {
	t.Helper()
	cfg := &gatewaysink.Config{URL: url, Key: key, MaxAttempts: attempts, Backoff: 10 * time.Millisecond}
	if err := connectors.Prepare(cfg, "sink."); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Open(context.Background(), connectors.Env{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func penalty(n int, kind string) events.Event {
	ev := events.Example(events.TypePenaltyImposed)
	ev.ID = "gatewaysink-test-" + string(rune('a'+n))
	ev.Subject = events.DemoUSCC(100 + n)
	var d map[string]any
	json.Unmarshal(ev.Data, &d)
	d["kind"] = kind
	ev.Data, _ = json.Marshal(d)
	return ev
}

// Against the real gateway: a mixed batch is answered per event (207), a re-send is accepted
// again (idempotent), an all-bad batch (422) is refused event by event, a wrong key stops the
// sender, and a hub that is gone is retried, then reported.
func TestSinkAgainstTheGateway(t *testing.T) {
	url, key, stop := startHub(t)
	s := openSink(t, url, key, 2)
	ctx := context.Background()

	mixed := []events.Event{penalty(0, "fine"), penalty(1, "fine2"), penalty(2, "warning")}
	for round := 1; round <= 2; round++ {
		res, err := s.Send(ctx, mixed)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(res) != 3 || res[0].Rejected != nil || res[2].Rejected != nil || res[1].Rejected == nil {
			t.Fatalf("round %d: results %+v", round, res)
		}
		r := res[1].Rejected
		if !strings.Contains(r.ZH, "HTTP 422") || !strings.Contains(r.ZH, "data/kind") || len(r.Problems) == 0 || r.Problems[0].Rule != events.RuleEnum {
			t.Errorf("round %d: rejection %+v", round, r)
		}
	}

	res, err := s.Send(ctx, []events.Event{penalty(3, "x"), penalty(4, "y")})
	if err != nil || res[0].Rejected == nil || res[1].Rejected == nil {
		t.Fatalf("all-bad batch: %v %+v", err, res)
	}

	if _, err := openSink(t, url, "not-a-key", 2).Send(ctx, mixed[:1]); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong key: err = %v", err)
	}

	stop()
	if _, err := s.Send(ctx, mixed[:1]); err == nil || !strings.Contains(err.Error(), "after 2 attempts") {
		t.Errorf("hub gone: err = %v", err)
	}
}
