// Package storetest is the conformance suite of delivery.Store: every backend runs Run, and
// passing it is what "same behaviour" means.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lizhou/fangxin/delivery"
)

// Open returns an empty store for one test. reopen, when not nil, closes the store and opens the
// same data again (to check durability); backends that cannot reopen pass nil.
type Open func(t *testing.T) (s delivery.Store, reopen func() delivery.Store)

// Run runs the whole suite.
func Run(t *testing.T, open Open) {
	t.Run("Subscriptions", func(t *testing.T) { testSubscriptions(t, open) })
	t.Run("EnqueueIsIdempotent", func(t *testing.T) { testEnqueue(t, open) })
	t.Run("ClaimRecordLifecycle", func(t *testing.T) { testLifecycle(t, open) })
	t.Run("ConcurrentClaimsAreExclusive", func(t *testing.T) { testExclusive(t, open) })
	t.Run("ExpiredClaimIsTakenOver", func(t *testing.T) { testExpired(t, open) })
	t.Run("ClaimID", func(t *testing.T) { testClaimID(t, open) })
	t.Run("ListAndRedeliver", func(t *testing.T) { testListRedeliver(t, open) })
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func sub(id, bureau string, at time.Time) delivery.Subscription {
	return delivery.Subscription{ID: id, Bureau: bureau, URL: "https://example.org/hook", CreatedAt: at,
		Filter: delivery.Filter{Levels: []string{"I", "II"}}, Secret: delivery.NewSecret()}
}

func dlv(subID, key string, at time.Time) delivery.Delivery {
	return delivery.Delivery{ID: delivery.DeliveryID(subID, key), Subscription: subID, Bureau: "amr", EventKey: key,
		EventType: delivery.TypeIncidentDetected, Payload: []byte(`{"type":"incident.detected"}`), CreatedAt: at, NextAt: at}
}

// settle makes a Refresher backend's writes visible to its searches before the suite relies on
// Claim or ListDeliveries seeing them.
func settle(t *testing.T, s delivery.Store) {
	t.Helper()
	if r, ok := s.(delivery.Refresher); ok {
		must(t, r.Refresh(context.Background()))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testSubscriptions(t *testing.T, open Open) {
	ctx := context.Background()
	s, reopen := open(t)
	a, b, c := sub("sub_a", "amr", t0), sub("sub_b", "health", t0.Add(time.Second)), sub("sub_c", "amr", t0.Add(2*time.Second))
	for _, x := range []delivery.Subscription{c, a, b} {
		must(t, s.CreateSubscription(ctx, x))
	}
	if err := s.CreateSubscription(ctx, a); !errors.Is(err, delivery.ErrExists) {
		t.Fatalf("creating an existing id: got %v, want ErrExists", err)
	}
	if reopen != nil {
		s = reopen()
	}
	got, ok, err := s.Subscription(ctx, "sub_a")
	must(t, err)
	if !ok || got.Secret != a.Secret || got.URL != a.URL || !got.CreatedAt.Equal(a.CreatedAt) || len(got.Filter.Levels) != 2 {
		t.Fatalf("Subscription(sub_a) = %+v, %v; want %+v with its secret", got, ok, a)
	}
	all, err := s.ListSubscriptions(ctx, "")
	must(t, err)
	if ids := subIDs(all); ids != "sub_a sub_b sub_c" {
		t.Fatalf("ListSubscriptions(all) = %s, want creation order sub_a sub_b sub_c", ids)
	}
	mine, err := s.ListSubscriptions(ctx, "amr")
	must(t, err)
	if ids := subIDs(mine); ids != "sub_a sub_c" {
		t.Fatalf("ListSubscriptions(amr) = %s", ids)
	}
	old := a.Secret
	upd, err := s.UpdateSubscription(ctx, "sub_a", func(x *delivery.Subscription) {
		x.PreviousSecret, x.Secret = x.Secret, delivery.NewSecret()
	})
	must(t, err)
	if upd.PreviousSecret != old || upd.Secret == old {
		t.Fatalf("rotation not applied: %+v", upd)
	}
	got, _, _ = s.Subscription(ctx, "sub_a")
	if got.PreviousSecret != old || got.Secret != upd.Secret {
		t.Fatal("rotation not stored")
	}
	if _, err := s.UpdateSubscription(ctx, "nope", func(*delivery.Subscription) {}); !errors.Is(err, delivery.ErrNotFound) {
		t.Fatalf("update of a missing subscription: %v", err)
	}
	must(t, s.DeleteSubscription(ctx, "sub_b"))
	if err := s.DeleteSubscription(ctx, "sub_b"); !errors.Is(err, delivery.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if _, ok, _ := s.Subscription(ctx, "sub_b"); ok {
		t.Fatal("deleted subscription still found")
	}
}

func subIDs(ss []delivery.Subscription) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s.ID
	}
	return out
}

func testEnqueue(t *testing.T, open Open) {
	ctx := context.Background()
	s, reopen := open(t)
	d := dlv("sub_a", "/hub inc-1", t0)
	created, err := s.Enqueue(ctx, d)
	must(t, err)
	if !created {
		t.Fatal("first Enqueue: created=false")
	}
	if reopen != nil {
		s = reopen()
	}
	again := d
	again.Payload = []byte(`{"changed":true}`)
	created, err = s.Enqueue(ctx, again)
	must(t, err)
	if created {
		t.Fatal("second Enqueue of the same id: created=true")
	}
	got, ok, err := s.Delivery(ctx, d.ID)
	must(t, err)
	if !ok || string(got.Payload) != string(d.Payload) || got.State != delivery.Pending {
		t.Fatalf("after re-enqueue: %+v", got)
	}
	// A delivered one is not made pending again by a log redelivery either.
	settle(t, s)
	cl, err := s.Claim(ctx, t0, 10, time.Minute)
	must(t, err)
	if len(cl) != 1 {
		t.Fatalf("claimed %d, want 1", len(cl))
	}
	must(t, s.Record(ctx, d.ID, cl[0].Claim, delivery.Attempt{At: t0, Status: 200}, delivery.Delivered, time.Time{}))
	if created, _ := s.Enqueue(ctx, d); created {
		t.Fatal("Enqueue after delivery: created=true")
	}
	if cl, _ := s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute); len(cl) != 0 {
		t.Fatalf("a delivered delivery was claimed again: %+v", cl)
	}
}

func testLifecycle(t *testing.T, open Open) {
	ctx := context.Background()
	s, reopen := open(t)
	early, late := dlv("sub_a", "/hub e", t0), dlv("sub_a", "/hub l", t0.Add(time.Minute))
	for _, d := range []delivery.Delivery{late, early} {
		_, err := s.Enqueue(ctx, d)
		must(t, err)
	}
	settle(t, s)
	if cl, _ := s.Claim(ctx, t0.Add(-time.Second), 10, time.Minute); len(cl) != 0 {
		t.Fatalf("claimed %d before anything was due", len(cl))
	}
	cl, err := s.Claim(ctx, t0.Add(2*time.Minute), 1, time.Minute)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != early.ID || cl[0].Claim == "" {
		t.Fatalf("Claim(max 1) = %+v, want the earliest due with a claim token", cl)
	}
	first := cl[0]
	if err := s.Record(ctx, first.ID, "not-the-claim", delivery.Attempt{At: t0, Status: 500}, delivery.Pending, t0); !errors.Is(err, delivery.ErrClaimLost) {
		t.Fatalf("Record with a wrong claim: %v, want ErrClaimLost", err)
	}
	retryAt := t0.Add(10 * time.Minute)
	must(t, s.Record(ctx, first.ID, first.Claim, delivery.Attempt{At: t0.Add(2 * time.Minute), Status: 500, Error: "HTTP 500"}, delivery.Pending, retryAt))
	if err := s.Record(ctx, first.ID, first.Claim, delivery.Attempt{At: t0, Status: 500}, delivery.Pending, t0); !errors.Is(err, delivery.ErrClaimLost) {
		t.Fatalf("second Record with a spent claim: %v, want ErrClaimLost", err)
	}
	if reopen != nil {
		s = reopen()
	}
	cl, err = s.Claim(ctx, t0.Add(5*time.Minute), 10, time.Minute)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != late.ID {
		t.Fatalf("at t+5m want only the later delivery, got %+v", cl)
	}
	must(t, s.Record(ctx, late.ID, cl[0].Claim, delivery.Attempt{At: t0.Add(5 * time.Minute), Error: "timeout"}, delivery.Failed, time.Time{}))
	cl, err = s.Claim(ctx, retryAt, 10, time.Minute)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != early.ID || len(cl[0].Attempts) != 1 {
		t.Fatalf("at the retry time want the first delivery with one attempt, got %+v", cl)
	}
	must(t, s.Record(ctx, early.ID, cl[0].Claim, delivery.Attempt{At: retryAt, Status: 204}, delivery.Delivered, time.Time{}))
	got, _, err := s.Delivery(ctx, early.ID)
	must(t, err)
	if got.State != delivery.Delivered || len(got.Attempts) != 2 || got.DeliveredAt == nil || got.Attempts[1].Status != 204 {
		t.Fatalf("delivered: %+v", got)
	}
	failed, _, _ := s.Delivery(ctx, late.ID)
	if failed.State != delivery.Failed || failed.Attempts[0].Error != "timeout" {
		t.Fatalf("failed: %+v", failed)
	}
	if cl, _ := s.Claim(ctx, t0.Add(72*time.Hour), 10, time.Minute); len(cl) != 0 {
		t.Fatalf("delivered or failed deliveries claimed again: %+v", cl)
	}
}

func testExclusive(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	const n = 40
	for i := range n {
		_, err := s.Enqueue(ctx, dlv("sub_a", fmt.Sprintf("/hub ev-%d", i), t0))
		must(t, err)
	}
	settle(t, s)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Claim may come back empty while others race it: stop after three empty rounds.
			for empty := 0; empty < 3; {
				cl, err := s.Claim(ctx, t0, 3, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cl) == 0 {
					empty++
					continue
				}
				empty = 0
				mu.Lock()
				for _, d := range cl {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("delivery %s claimed %d times while its claim held", id, c)
		}
	}
}

func testExpired(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	d := dlv("sub_a", "/hub x", t0)
	_, err := s.Enqueue(ctx, d)
	must(t, err)
	settle(t, s)
	first, err := s.Claim(ctx, t0, 1, time.Minute)
	must(t, err)
	if cl, _ := s.Claim(ctx, t0.Add(30*time.Second), 1, time.Minute); len(cl) != 0 {
		t.Fatal("claimed again while the first claim held")
	}
	second, err := s.Claim(ctx, t0.Add(2*time.Minute), 1, time.Minute)
	must(t, err)
	if len(first) != 1 || len(second) != 1 || first[0].Claim == second[0].Claim {
		t.Fatalf("the expired claim was not taken over: %+v / %+v", first, second)
	}
	if err := s.Record(ctx, d.ID, first[0].Claim, delivery.Attempt{At: t0, Status: 200}, delivery.Delivered, time.Time{}); !errors.Is(err, delivery.ErrClaimLost) {
		t.Fatalf("Record by the worker whose claim expired: %v, want ErrClaimLost", err)
	}
	must(t, s.Record(ctx, d.ID, second[0].Claim, delivery.Attempt{At: t0, Status: 200}, delivery.Delivered, time.Time{}))
}

func testListRedeliver(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	var ids []string
	for i := range 5 {
		d := dlv("sub_a", fmt.Sprintf("/hub ev-%d", i), t0.Add(time.Duration(i)*time.Second))
		ids = append(ids, d.ID)
		_, err := s.Enqueue(ctx, d)
		must(t, err)
	}
	_, err := s.Enqueue(ctx, dlv("sub_b", "/hub other", t0))
	must(t, err)
	settle(t, s)
	page, err := s.ListDeliveries(ctx, "sub_a", 3, "")
	must(t, err)
	if len(page) != 3 || page[0].ID != ids[4] || page[2].ID != ids[2] {
		t.Fatalf("first page: %v, want the three newest of sub_a", deliveryIDs(page))
	}
	rest, err := s.ListDeliveries(ctx, "sub_a", 3, page[2].ID)
	must(t, err)
	if len(rest) != 2 || rest[0].ID != ids[1] || rest[1].ID != ids[0] {
		t.Fatalf("second page: %v", deliveryIDs(rest))
	}
	if none, _ := s.ListDeliveries(ctx, "sub_none", 10, ""); len(none) != 0 {
		t.Fatalf("unknown subscription listed %d", len(none))
	}
	cl, err := s.Claim(ctx, t0.Add(time.Minute), 10, time.Minute)
	must(t, err)
	for _, d := range cl {
		must(t, s.Record(ctx, d.ID, d.Claim, delivery.Attempt{At: t0, Status: 200}, delivery.Delivered, time.Time{}))
	}
	later := t0.Add(time.Hour)
	d, err := s.Redeliver(ctx, ids[0], later)
	must(t, err)
	if d.State != delivery.Pending || !d.NextAt.Equal(later) {
		t.Fatalf("redelivered: %+v", d)
	}
	cl, err = s.Claim(ctx, later, 10, time.Minute)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != ids[0] {
		t.Fatalf("after Redeliver want exactly that delivery claimable, got %v", deliveryIDs(cl))
	}
	if _, err := s.Redeliver(ctx, "msg_missing", later); !errors.Is(err, delivery.ErrNotFound) {
		t.Fatalf("Redeliver of a missing delivery: %v", err)
	}
}

func deliveryIDs(ds []delivery.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func testClaimID(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	d := dlv("sub_a", "/hub fresh", t0)
	if _, ok, err := s.ClaimID(ctx, d.ID, t0, time.Minute); err != nil || ok {
		t.Fatalf("ClaimID of a delivery that does not exist: ok=%v err=%v", ok, err)
	}
	_, err := s.Enqueue(ctx, d)
	must(t, err)
	if _, ok, _ := s.ClaimID(ctx, d.ID, t0.Add(-time.Second), time.Minute); ok {
		t.Fatal("ClaimID claimed a delivery before it was due")
	}
	// Two workers race for the same fresh delivery: exactly one gets it.
	var wins sync.WaitGroup
	results := make(chan delivery.Delivery, 4)
	for range 4 {
		wins.Add(1)
		go func() {
			defer wins.Done()
			if got, ok, err := s.ClaimID(ctx, d.ID, t0, time.Minute); err != nil {
				t.Error(err)
			} else if ok {
				results <- got
			}
		}()
	}
	wins.Wait()
	close(results)
	var won []delivery.Delivery
	for r := range results {
		won = append(won, r)
	}
	if len(won) != 1 || won[0].Claim == "" {
		t.Fatalf("%d of 4 concurrent ClaimIDs won, want exactly 1", len(won))
	}
	if cl, _ := s.Claim(ctx, t0.Add(30*time.Second), 10, time.Minute); len(cl) != 0 {
		t.Fatal("Claim handed out a delivery ClaimID holds")
	}
	must(t, s.Record(ctx, d.ID, won[0].Claim, delivery.Attempt{At: t0, Status: 200}, delivery.Delivered, time.Time{}))
	if _, ok, _ := s.ClaimID(ctx, d.ID, t0.Add(time.Hour), time.Minute); ok {
		t.Fatal("ClaimID claimed a delivered delivery")
	}
}
