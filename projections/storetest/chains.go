package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// testChains runs when the backend is a projections.ChainStore: a log applied in chains (each
// key's events in runs of random length, keys concurrently, with redeliveries and duplicates)
// gives the same views as the log applied one event at a time, and a chain stops at its first
// failing link: what follows fails with ErrChainBroken, changes nothing, and applies once
// delivered again.
func testChains(t *testing.T, o opener) {
	probe := o.fresh(t)
	if _, ok := probe.(projections.ChainStore); !ok {
		t.Skipf("%T applies one event at a time (it is not a projections.ChainStore)", probe)
	}
	ctx := ctxOf(t)
	// The fixture only: which of two links to one event wins depends on the order of their keys,
	// which chains do not change (testLinking covers it).
	log := Fixture()
	usccs := FixtureMerchants()

	t.Run("SameViewsAsOneByOne", func(t *testing.T) {
		chained := o.fresh(t).(projections.ChainStore)
		rnd := rand.New(rand.NewPCG(7, 7))
		for round, part := range [][]LogEntry{log, deliveredAgain(log, 4)} {
			for _, err := range applyChains(ctx, chained, part, func() int { return 1 + rnd.IntN(5) }) {
				t.Errorf("round %d: %v", round, err)
			}
		}
		sameSnapshots(t, applyInOrder(t, o, log), chained.(Backend), usccs, "chained and one-by-one stores differ")
	})

	t.Run("StopsAtTheFirstFailure", func(t *testing.T) {
		s := o.fresh(t)
		cs := s.(projections.ChainStore)
		lz := filterLog(Fixture(), func(ev events.Event) bool { return ev.Subject == LaoZhang })
		if len(lz) < 4 {
			t.Fatalf("fixture has %d events of 老张火锅店, want ≥ 4", len(lz))
		}
		// A link of an event the views do not hold yet fails (ErrLinkTarget) in the middle.
		bad := LogEntry{Entry: projections.Redact(Event("amr", events.TypeMerchantLinked, LaoZhang, "chain-bad-link", At(50), events.MerchantLinked{
			EventSource: "hotline-12345", EventID: "not-yet-there", USCC: LaoZhang, Method: events.LinkManual, Note: "测试",
		})), Pos: eventlog.Position{Offset: lz[1].Pos.Offset + 1}}
		chain := []projections.ChainLink{link(lz[0]), link(lz[1]), link(bad), link(lz[2]), link(lz[3])}
		res := cs.ApplyChain(ctx, chain, projections.FoldProfile)
		if len(res) != len(chain) {
			t.Fatalf("%d results for %d links", len(res), len(chain))
		}
		for i := range 2 {
			if res[i].Err != nil || !res[i].Applied {
				t.Errorf("link %d before the failure: %+v, want applied", i, res[i])
			}
		}
		if !errors.Is(res[2].Err, projections.ErrLinkTarget) {
			t.Errorf("the failing link: %v, want ErrLinkTarget", res[2].Err)
		}
		for i := 3; i < len(res); i++ {
			if !errors.Is(res[i].Err, projections.ErrChainBroken) {
				t.Errorf("link %d after the failure: %+v, want ErrChainBroken", i, res[i])
			}
		}
		if p := profile(t, s, LaoZhang); p.EventCount != 2 || p.LastPosition != lz[1].Pos {
			t.Errorf("after the broken chain the profile holds %d events up to %v, want 2 up to %v", p.EventCount, p.LastPosition, lz[1].Pos)
		}
		// Delivered again (without the bad link), the rest applies once.
		res = cs.ApplyChain(ctx, []projections.ChainLink{link(lz[2]), link(lz[3])}, projections.FoldProfile)
		for i, r := range res {
			if r.Err != nil || !r.Applied {
				t.Errorf("link %d delivered again: %+v, want applied", i, r)
			}
		}
		if p := profile(t, s, LaoZhang); p.EventCount != 4 || p.LastPosition != lz[3].Pos {
			t.Errorf("in the end the profile holds %d events up to %v, want 4 up to %v", p.EventCount, p.LastPosition, lz[3].Pos)
		}
	})
}

func link(l LogEntry) projections.ChainLink { return projections.ChainLink{Entry: l.Entry, Pos: l.Pos} }

// applyChains applies log as the chained projector does: each partition key's events in order,
// in runs of size() events, keys concurrently. It returns every error.
func applyChains(ctx context.Context, s projections.ChainStore, log []LogEntry, size func() int) []error {
	streams := map[string][]projections.ChainLink{}
	for _, l := range log {
		k := l.Entry.Event.PartitionKey()
		streams[k] = append(streams[k], link(l))
	}
	runs := map[string][][]projections.ChainLink{} // sizes drawn here: size need not be safe for concurrent use
	for k, st := range streams {
		for len(st) > 0 {
			n := min(size(), len(st))
			runs[k] = append(runs[k], st[:n])
			st = st[n:]
		}
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for k, rs := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range rs {
				// A link whose target (another key's event) is not applied yet fails transiently,
				// as in the projector: the failed rest of the run is delivered again.
				for try := 0; len(r) > 0; try++ {
					res := s.ApplyChain(ctx, r, projections.FoldProfile)
					failed := len(r)
					for i, x := range res {
						if x.Err != nil {
							failed = i
							break
						}
					}
					if failed < len(r) && errors.Is(res[failed].Err, projections.ErrLinkTarget) && try < 200 {
						r = r[failed:]
						time.Sleep(10 * time.Millisecond)
						continue
					}
					for i := failed; i < len(r); i++ {
						mu.Lock()
						errs = append(errs, fmt.Errorf("key %q, link %d (%s): %w", k, i, r[i].Entry.Event.Key(), res[i].Err))
						mu.Unlock()
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	return errs
}
