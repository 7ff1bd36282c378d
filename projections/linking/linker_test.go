package linking_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/boltlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/internal/embeddedtest"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/embedded"
	"github.com/lizhou/fangxin/projections/linking"
)

// openHub opens a real embedded log and views in a temporary folder, closed at the test's end.
func openHub(t *testing.T) (*boltlog.Log, *embedded.Store, *slog.Logger) {
	t.Helper()
	lg, store, _ := embeddedtest.Open(t)
	return lg, store, slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startProjector runs the views projector over lg into store and returns its stop function.
func startProjector(t *testing.T, lg *boltlog.Log, store *embedded.Store, logger *slog.Logger) func() {
	t.Helper()
	return embeddedtest.StartProjector(t, lg, store, logger, prometheus.NewRegistry())
}

// logProgress is the linker's Progress over the embedded log: the views group's committed
// sequence number (the hub's is the same over every partition of either log backend).
type logProgress struct{ lg *boltlog.Log }

func (p logProgress) Mark(_ context.Context, pos eventlog.Position) (linking.Mark, error) {
	return linking.Mark{0: pos.Offset}, nil
}

func (p logProgress) Left(_ context.Context, m linking.Mark) (int64, error) {
	c, err := p.lg.Committed(eventlog.Topic, projections.ViewsHandler)
	return max(m[0]-c, 0), err
}

// run starts a router and returns its stop function.
func run(t *testing.T, r *message.Router) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	select {
	case <-r.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("router did not start")
	}
	return func() { cancel(); _ = r.Close(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second) // generous: the machine is shared
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLinker: the real embedded log and views, the projector and the linker. A work order naming a
// registered shop is linked once; one naming a stall stays unlinked; running the linker over the
// whole log again appends nothing the views count.
func TestLinker(t *testing.T) {
	lg, store, logger := openHub(t)
	defer startProjector(t, lg, store, logger)()

	startLinker := func() func() {
		lsub, err := lg.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: linking.LinkerHandler, CommitInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		l := linking.NewLinker(store, logProgress{lg}, lg.Publisher(), linking.DefaultPolicy, logger, prometheus.NewRegistry())
		r, err := linking.NewRouter(l, lsub, logger)
		if err != nil {
			t.Fatal(err)
		}
		return run(t, r)
	}
	stop := startLinker()

	shop := events.DemoUSCC(21)
	at := time.Date(2018, 12, 24, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	ev := func(source, typ, subject, id string, data any) events.Event {
		b, _ := json.Marshal(data)
		return events.Event{SpecVersion: events.SpecVersion, ID: id, Source: source, Type: typ, Subject: subject, Time: at, DataContentType: "application/json", Data: b}
	}
	order := func(id, name, addr string) events.Event {
		return ev(events.SourceOf("hotline-12345"), events.TypeComplaintReceived, "", id, events.ComplaintReceived{
			ComplaintID: id, Channel: "12345", Category: "价格", Summary: "价格欺诈", ReceivedAt: at, MerchantName: name, Address: addr})
	}
	log := []events.Event{
		ev(events.SourceOf("amr"), events.TypeMerchantRegistered, shop, "reg-21", events.MerchantRegistered{
			Name: "广元市利州区嘉陵街道老张火锅店", Township: "嘉陵街道", Industry: "H6210", Address: "四川省广元市利州区嘉陵街道蜀门北路12号", RegisteredAt: at}),
		order("wo-1", "老张火锅（万达店）", "嘉陵街道蜀门北路12号"),
		order("wo-2", "路边修鞋摊", "广元市利州区东坝街道新民街附近"),
		// Invalid (no category): the projector poisons it, and the linker must not wait for it.
		ev(events.SourceOf("hotline-12345"), events.TypeComplaintReceived, "", "wo-bad", map[string]any{
			"complaint_id": "wo-bad", "channel": "12345", "summary": "x", "received_at": at, "merchant_name": "老张火锅", "address": "蜀门北路12号"}),
		order("wo-3", "老张火锅店", "广元市利州区嘉陵街道蜀门北路12号"),
	}
	ctx := context.Background()
	// Published back to back: the linker waits for the views to fold the log up to each order,
	// so the registration before it is folded too (TestLinkerWaitsForTheLogBefore).
	for _, e := range log {
		if err := lg.Publisher().Publish(eventlog.Topic, eventlog.ToMessage(e)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "wo-1 linked", func() bool {
		e, ok, err := store.Event(ctx, events.SourceOf("hotline-12345"), "wo-1")
		return err == nil && ok && e.Linked != nil
	})
	waitFor(t, "wo-3 linked after the invalid order", func() bool {
		e, ok, err := store.Event(ctx, events.SourceOf("hotline-12345"), "wo-3")
		return err == nil && ok && e.Linked != nil
	})
	waitFor(t, "the linker to pass every event", func() bool {
		n, err := lg.Committed(eventlog.Topic, linking.LinkerHandler)
		return err == nil && n >= 7 // five events and two links
	})
	stop()
	e, _, _ := store.Event(ctx, events.SourceOf("hotline-12345"), "wo-1")
	if e.Linked.USCC != shop || e.Linked.Method != events.LinkAuto || e.Linked.By != events.HubSource+" "+linking.AutoLinkID(log[1].Key()) {
		t.Errorf("wo-1 linked as %+v", e.Linked)
	}
	u, err := store.Unlinked(ctx, 0)
	if err != nil || len(u) != 1 || u[0].Event.ID != "wo-2" {
		t.Fatalf("Unlinked = %v, %v; want only wo-2", u, err)
	}

	// The linker reads the whole log again (a lost consumer position): wo-1 is linked already and
	// wo-2 still has no confident candidate, so it appends nothing (were it to append the link
	// again, the id is the same and the views would ignore it: storetest's Linking case).
	if err := lg.ResetGroup(eventlog.Topic, linking.LinkerHandler); err != nil {
		t.Fatal(err)
	}
	hw, _ := lg.HighWater(eventlog.Topic)
	defer startLinker()()
	waitFor(t, "the linker to read the log again", func() bool {
		n, err := lg.Committed(eventlog.Topic, linking.LinkerHandler)
		return err == nil && n >= hw
	})
	waitFor(t, "the projector to catch up", func() bool {
		n, _ := lg.Committed(eventlog.Topic, projections.ViewsHandler)
		h, _ := lg.HighWater(eventlog.Topic)
		return n >= h
	})
	if again, _ := lg.HighWater(eventlog.Topic); again != hw {
		t.Errorf("the second pass appended %d events", again-hw)
	}
	p, _, err := store.Profile(ctx, shop)
	if err != nil || p.EventCount != 5 || p.CountsByType[events.TypeComplaintReceived] != 2 || p.CountsByType[events.TypeMerchantLinked] != 2 {
		t.Errorf("profile after the linker ran twice: %+v, %v", p, err)
	}
}

// TestLinkerWaitsForTheLogBefore: the projector folds the events of different merchants
// concurrently, so a work order can be in the views before the registration of its shop that the
// log holds before it. Here the test is the projector and folds them in that order: the order
// first, with the views group's position still before the registration. The linker must wait for
// the position, not only for the order, and then link the order to the shop.
func TestLinkerWaitsForTheLogBefore(t *testing.T) {
	lg, store, logger := openHub(t)

	shop := events.DemoUSCC(34)
	at := time.Date(2019, 3, 15, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	mk := func(source, typ, subject, id string, data any) events.Event {
		b, _ := json.Marshal(data)
		return events.Event{SpecVersion: events.SpecVersion, ID: id, Source: source, Type: typ, Subject: subject, Time: at, DataContentType: "application/json", Data: b}
	}
	reg := mk(events.SourceOf("amr"), events.TypeMerchantRegistered, shop, "reg-34", events.MerchantRegistered{
		Name: "广元市利州区东坝街道王记水果超市", Township: "东坝街道", Industry: "F5223", Address: "四川省广元市利州区东坝街道利州东路88号", RegisteredAt: at})
	order := mk(events.SourceOf("hotline-12345"), events.TypeComplaintReceived, "", "wo-34", events.ComplaintReceived{
		ComplaintID: "wo-34", Channel: "12345", Category: "商品质量", Summary: "水果变质", ReceivedAt: at,
		MerchantName: "王记水果超市", Address: "东坝街道利州东路88号"})
	for _, e := range []events.Event{reg, order} {
		if err := lg.Publisher().Publish(eventlog.Topic, eventlog.ToMessage(e)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	// The order (sequence 2) is folded first; the registration (1) is not yet.
	if _, err := store.Apply(ctx, projections.Redact(order), eventlog.Position{Offset: 2}, projections.FoldProfile); err != nil {
		t.Fatal(err)
	}

	lsub, err := lg.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: linking.LinkerHandler, CommitInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	metrics := prometheus.NewRegistry()
	r, err := linking.NewRouter(linking.NewLinker(store, logProgress{lg}, lg.Publisher(), linking.DefaultPolicy, logger, metrics), lsub, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer run(t, r)()
	// The linker has the order now (its router runs) and waits. One that matched it now would
	// find no shop and leave it unlinked for good, within a poll of the views (20 ms).
	time.Sleep(500 * time.Millisecond)
	if n := counter(t, metrics, "fangxin_linker_left_unlinked_total"); n != 0 {
		t.Fatalf("the linker left the order unlinked (%v) before the registration was folded", n)
	}

	// The projector folds the registration and commits its position past both events.
	if _, err := store.Apply(ctx, projections.Redact(reg), eventlog.Position{Offset: 1}, projections.FoldProfile); err != nil {
		t.Fatal(err)
	}
	if err := lg.SetCommitted(eventlog.Topic, projections.ViewsHandler, 2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the link to be appended", func() bool {
		hw, err := lg.HighWater(eventlog.Topic)
		return err == nil && hw == 3
	})
	// Fold the link as the projector would and check what it says.
	defer startProjector(t, lg, store, logger)()
	waitFor(t, "the order linked to the shop", func() bool {
		e, ok, err := store.Event(ctx, order.Source, order.ID)
		return err == nil && ok && e.Linked != nil
	})
	if e, _, _ := store.Event(ctx, order.Source, order.ID); e.Linked.USCC != shop {
		t.Errorf("the order is linked to %s, want %s", e.Linked.USCC, shop)
	}
}

// counter returns the value of the counter name in reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
