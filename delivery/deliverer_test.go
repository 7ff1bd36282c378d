package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/delivery/boltstore"
	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

func newDeliverer(t *testing.T, cfg delivery.Config) (*delivery.Deliverer, delivery.Store) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "webhooks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	d, err := delivery.NewDeliverer(st, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return d, st
}

func hubIncident(id string) events.Event {
	data, _ := json.Marshal(map[string]any{"incident_id": id, "rule": "merchant-burst", "scope": "merchant:x", "count": 40,
		"window": "PT2H", "first_at": "2026-11-27T09:00:00+08:00", "last_at": "2026-11-27T10:00:00+08:00",
		"responsible_bureaus": []string{"amr", "commerce"}})
	return events.Event{SpecVersion: "1.0", ID: id, Source: events.HubSource, Type: events.TypeIncidentDetected,
		Time: time.Now().UTC().Truncate(time.Second), DataContentType: "application/json", Data: data}
}

// A log redelivery of the same event enqueues nothing new; only matching subscriptions get one.
func TestHandleEnqueuesOncePerSubscription(t *testing.T) {
	d, st := newDeliverer(t, delivery.Config{})
	ctx := context.Background()
	for _, s := range []delivery.Subscription{
		{ID: "sub_amr", Bureau: "amr", URL: "https://203.0.113.1/", Filter: delivery.Filter{RoutedToMe: true}, Secret: delivery.NewSecret()},
		{ID: "sub_health", Bureau: "health", URL: "https://203.0.113.2/", Filter: delivery.Filter{RoutedToMe: true}, Secret: delivery.NewSecret()},
		{ID: "sub_all", Bureau: "health", URL: "https://203.0.113.3/", Secret: delivery.NewSecret()},
	} {
		if err := st.CreateSubscription(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ev := hubIncident("INC-7")
	if problems := events.ValidateHub(ev); len(problems) > 0 {
		t.Fatalf("test incident invalid: %v", problems)
	}
	for range 3 {
		if err := d.Handle(ctx, eventlog.ToMessage(ev)); err != nil {
			t.Fatal(err)
		}
	}
	for sub, want := range map[string]int{"sub_amr": 1, "sub_health": 0, "sub_all": 1} {
		ds, err := st.ListDeliveries(ctx, sub, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != want {
			t.Errorf("%s has %d deliveries, want %d", sub, len(ds), want)
		}
		for _, dl := range ds {
			var p delivery.Payload
			if err := json.Unmarshal(dl.Payload, &p); err != nil || p.Type != events.TypeIncidentDetected || p.Event.ID != "INC-7" || p.Event.Source != "/hub" {
				t.Errorf("payload %s", dl.Payload)
			}
		}
	}
}

// 429 with Retry-After: the next attempt waits at least that long, even when the backoff is
// shorter, and it slows the whole subscription down: another delivery to the same receiver is
// not sent before then either (recorded as not sent).
func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var calls []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, time.Now())
		n := len(calls)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	d, st := newDeliverer(t, delivery.Config{Workers: 1, AllowCIDRs: []string{"127.0.0.1/32"}, InitialBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := st.CreateSubscription(ctx, delivery.Subscription{ID: "sub_z", Bureau: "amr", URL: srv.URL, Secret: delivery.NewSecret()}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"INC-20", "INC-21"} {
		if err := d.Handle(ctx, eventlog.ToMessage(hubIncident(id))); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a, _, _ := st.Delivery(ctx, delivery.DeliveryID("sub_z", hubIncident("INC-20").Key()))
		b, _, _ := st.Delivery(ctx, delivery.DeliveryID("sub_z", hubIncident("INC-21").Key()))
		if a.State == delivery.Delivered && b.State == delivery.Delivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not both delivered within 60 s: %+v / %+v", a, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 {
		t.Fatalf("%d requests, want 3 (429, then one per delivery)", len(calls))
	}
	first, _, _ := st.Delivery(ctx, delivery.DeliveryID("sub_z", hubIncident("INC-20").Key()))
	second, _, _ := st.Delivery(ctx, delivery.DeliveryID("sub_z", hubIncident("INC-21").Key()))
	if len(first.Attempts) != 2 || first.Attempts[0].Status != 429 || first.Attempts[1].Status != 200 {
		t.Errorf("throttled delivery: %+v", first.Attempts)
	}
	if len(second.Attempts) != 2 || second.Attempts[0].Status != 0 || !strings.Contains(second.Attempts[0].Error, "slow down") {
		t.Errorf("the other delivery of the subscription: %+v, want not sent, then 200", second.Attempts)
	}
	for _, c := range calls[1:] {
		if gap := c.Sub(calls[0]); gap < 2*time.Second {
			t.Fatalf("a request %s after the 429 asking for 2 s", gap)
		}
	}
}

// A subscription re-pointed at a refused address after it was created is refused at delivery
// time: the dial-time check, not only the create-time one.
func TestDialTimeDestinationCheck(t *testing.T) {
	hit := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit <- struct{}{} }))
	defer srv.Close()
	d, st := newDeliverer(t, delivery.Config{InitialBackoff: time.Hour, MaxBackoff: time.Hour, PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stored directly, as if its name had resolved to a public address when it was created.
	if err := st.CreateSubscription(ctx, delivery.Subscription{ID: "sub_y", Bureau: "amr", URL: srv.URL, Secret: delivery.NewSecret()}); err != nil {
		t.Fatal(err)
	}
	if err := d.Handle(ctx, eventlog.ToMessage(hubIncident("INC-9"))); err != nil {
		t.Fatal(err)
	}
	go d.Run(ctx)
	id := delivery.DeliveryID("sub_y", hubIncident("INC-9").Key())
	deadline := time.Now().Add(60 * time.Second)
	for {
		dl, _, _ := st.Delivery(ctx, id)
		if len(dl.Attempts) > 0 {
			if dl.Attempts[0].Status != 0 || dl.State != delivery.Pending {
				t.Fatalf("attempt to a loopback address: %+v", dl)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no attempt within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-hit:
		t.Fatal("the loopback receiver was reached")
	default:
	}
}
