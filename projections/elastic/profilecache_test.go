package elastic

import (
	"fmt"
	"testing"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

// TestProfileCacheTrust walks the rule that decides when a cached profile stands for the stored
// one: every offset between the cached position and the event reached the store and settled
// without error, or waits under another key.
func TestProfileCacheTrust(t *testing.T) {
	const m, k = "M", "K"
	at := func(o int64) eventlog.Position { return eventlog.Position{Partition: 3, Offset: o} }
	type step struct {
		recv   []int64 // offsets received (key k unless listed in recvM)
		recvM  []int64 // offsets of m received
		fail   []int64 // offsets settled with an error
		settle []int64 // offsets settled without error
	}
	for _, tc := range []struct {
		name  string
		steps step
		event eventlog.Position
		hit   bool
	}{
		{"every offset between settled", step{recv: []int64{11, 12, 13}, settle: []int64{11, 12, 13}}, at(14), true},
		{"next offset", step{}, at(11), true},
		{"between still waiting under another key", step{recv: []int64{11, 12, 13}, settle: []int64{12}}, at(14), true},
		{"an offset between never reached the store", step{recv: []int64{11, 13}, settle: []int64{11, 13}}, at(14), false},
		{"an offset between failed", step{recv: []int64{11, 12, 13}, settle: []int64{11, 13}, fail: []int64{12}}, at(14), false},
		{"an event of the merchant between still waiting", step{recv: []int64{11, 13}, recvM: []int64{12}, settle: []int64{11, 13}}, at(14), false},
		{"another partition", step{}, eventlog.Position{Partition: 4, Offset: 11}, false},
		{"not after the cached position", step{}, at(10), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newProfileCache(10)
			c.received(at(10), m)
			c.mu.Lock()
			c.profiles[m] = cachedProfile{p: &projections.MerchantProfile{USCC: m, LastPosition: at(10)}, pos: at(10), gen: "1"}
			c.settled(at(10), true)
			for _, o := range tc.steps.recv {
				c.mu.Unlock()
				c.received(at(o), k)
				c.mu.Lock()
			}
			for _, o := range tc.steps.recvM {
				c.mu.Unlock()
				c.received(at(o), m)
				c.mu.Lock()
			}
			for _, o := range tc.steps.settle {
				c.settled(at(o), true)
			}
			for _, o := range tc.steps.fail {
				c.settled(at(o), false)
			}
			c.mu.Unlock()
			p, gen := c.lookup(m, tc.event)
			if (p != nil) != tc.hit {
				t.Fatalf("lookup at %v: hit %v, want %v", tc.event, p != nil, tc.hit)
			}
			if p != nil && (gen != "1" || p.LastPosition != at(10)) {
				t.Fatalf("lookup gave generation %q, position %v", gen, p.LastPosition)
			}
		})
	}
}

// TestProfileCacheTakeOver is the case the offset tracking exists for: the partition moves to
// another process, which folds an event of the merchant, and comes back. The first store must
// not fold its next event into the profile it cached before: it would overwrite the other
// process's fold (the external version alone would let it: its offset is higher).
func TestProfileCacheTakeOver(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := testCtx(t)
	a := openStore(t, cfg)
	defer a.Close()
	b := openStore(t, cfg)
	defer b.Close()
	m := storetest.LaoZhang
	other := storetest.USCC(4242)
	ev := func(uscc string, n int) events.Event {
		return storetest.Event("hotline-12315", events.TypeComplaintReceived, uscc, fmt.Sprintf("take-over-%s-%d", uscc, n), storetest.At(float64(n)),
			events.ComplaintReceived{ComplaintID: fmt.Sprintf("TO-%d", n), Channel: "12315", Category: "食品安全", Summary: "菜品不新鲜", ReceivedAt: storetest.At(float64(n))})
	}
	apply := func(s *Store, uscc string, off int64) {
		t.Helper()
		pos := eventlog.Position{Partition: 0, Offset: off}
		if _, err := s.Apply(ctx, projections.Redact(ev(uscc, int(off))), pos, projections.FoldProfile); err != nil {
			t.Fatalf("apply offset %d: %v", off, err)
		}
	}
	apply(a, m, 1)     // a caches m's profile at offset 1
	apply(a, other, 2) // and sees offset 2
	apply(b, m, 3)     // the partition moved: b folds m's event at 3
	apply(a, other, 4) // and came back to a, which never saw offset 3
	apply(a, m, 5)
	p, ok, err := a.Profile(ctx, m)
	if err != nil || !ok {
		t.Fatalf("profile: %v, %v", ok, err)
	}
	if p.EventCount != 3 || p.LastPosition.Offset != 5 {
		t.Fatalf("profile after the take-over: %d events, last at %v; want 3 events (offsets 1, 3, 5), last at 5", p.EventCount, p.LastPosition)
	}
}

// TestProfileCacheGeneration: a rebuild promoted under a store that cached a profile of the old
// generation. The store's next event of that merchant must be folded into the new generation's
// profile, not into the cached one.
func TestProfileCacheGeneration(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := testCtx(t)
	live := openStore(t, cfg)
	defer live.Close()
	m := storetest.LaoZhang
	reg := storetest.Event("amr", events.TypeMerchantRegistered, m, "gen-reg", storetest.At(0), events.MerchantRegistered{
		Name: "老张火锅店", Township: storetest.Dongba, Industry: "H6210", Address: "利州区东坝街道1号", RegisteredAt: storetest.At(0)})
	inspect := func(n int) events.Event {
		return storetest.Event("amr", events.TypeInspectionCompleted, m, fmt.Sprintf("gen-insp-%d", n), storetest.At(float64(n)),
			events.InspectionCompleted{InspectionID: fmt.Sprintf("GI-%d", n), Kind: "random", Result: "pass", InspectedAt: storetest.At(float64(n)), Findings: "良好"})
	}
	pos := func(o int64) eventlog.Position { return eventlog.Position{Partition: 0, Offset: o} }
	if _, err := live.Apply(ctx, projections.Redact(reg), pos(1), projections.FoldProfile); err != nil {
		t.Fatal(err)
	}
	if _, err := live.Apply(ctx, projections.Redact(inspect(2)), pos(2), projections.FoldProfile); err != nil {
		t.Fatal(err)
	}
	// The rebuild folds the same log with a changed fold (the reason to rebuild) and is promoted.
	renamed := func(p *projections.MerchantProfile, ev events.Event) {
		projections.FoldProfile(p, ev)
		p.Name = "老张火锅店（重建）"
	}
	reb, err := OpenGeneration(ctx, cfg, "2")
	if err != nil {
		t.Fatal(err)
	}
	defer reb.Close()
	for i, e := range []events.Event{reg, inspect(2)} {
		if _, err := reb.Apply(ctx, projections.Redact(e), pos(int64(i+1)), renamed); err != nil {
			t.Fatal(err)
		}
	}
	if err := reb.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	// The live store's next event: refused once (the generation moved under its cached
	// profile), then folded into generation 2's profile.
	var errs int
	for {
		_, err := live.Apply(ctx, projections.Redact(inspect(3)), pos(3), projections.FoldProfile)
		if err == nil {
			break
		}
		if errs++; errs > 3 {
			t.Fatalf("apply after the promotion: %v", err)
		}
	}
	p, ok, err := live.Profile(ctx, m)
	if err != nil || !ok {
		t.Fatalf("profile: %v, %v", ok, err)
	}
	if p.Name != "老张火锅店（重建）" || p.EventCount != 3 {
		t.Fatalf("profile after the promotion: name %q, %d events; want generation 2's name and 3 events", p.Name, p.EventCount)
	}
}
