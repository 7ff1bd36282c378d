package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild() // never returns
	}
	// bleve's shared analysis queue starts with the package; everything else must stop on Close.
	ignore := goleak.IgnoreCurrent()
	code := m.Run()
	closeLoaded()
	if code == 0 {
		if err := goleak.Find(ignore); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	return openWith(t, dir, Options{})
}

// fixtureFolder is a data folder holding the views of the fixture log, closed.
func fixtureFolder(t *testing.T) (dir string, log []storetest.LogEntry) {
	t.Helper()
	dir = t.TempDir()
	s := open(t, dir)
	log = storetest.Fixture()
	if err := storetest.ApplyAll(context.Background(), s, log); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, log
}

func openWith(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) storetest.Backend { return open(t, t.TempDir()) })
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	if err := (Options{CommitInterval: -1}).Validate(); err != nil {
		t.Errorf("no commit interval: %v", err)
	}
	err := Options{MaxBatch: -1, LockTimeout: -time.Second, RecoveryBatch: maxMaxBatch + 1, CommitInterval: 2 * time.Second}.Validate()
	for _, want := range []string{"MaxBatch", "LockTimeout", "RecoveryBatch", "CommitInterval"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want a problem with %s", err, want)
		}
	}
	if _, err := Open(t.TempDir(), Options{MaxBatch: -1}); err == nil {
		t.Error("Open accepted invalid options")
	}
}

func TestClosed(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	l := storetest.Fixture()[0]
	if _, err := s.Apply(ctx, l.Entry, l.Pos, projections.FoldProfile); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if _, _, err := s.Profile(ctx, storetest.LaoZhang); !errors.Is(err, ErrClosed) {
		t.Errorf("Profile after Close: %v", err)
	}
	if _, err := s.SearchEvents(ctx, projections.EventQuery{}); !errors.Is(err, ErrClosed) {
		t.Errorf("SearchEvents after Close: %v", err)
	}
}

func TestSecondOpenWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	if _, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("a second Open of the same folder succeeded")
	}
}

func TestBadEntries(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	good := storetest.Fixture()[0]
	for name, mut := range map[string]func(*events.Event){
		"no id":       func(e *events.Event) { e.ID = "" },
		"no time":     func(e *events.Event) { e.Time = time.Time{} },
		"NUL subject": func(e *events.Event) { e.Subject = "9151\x00" },
		"huge key":    func(e *events.Event) { e.ID = strings.Repeat("x", maxKeyLen) },
	} {
		l := good
		mut(&l.Entry.Event)
		if _, err := s.Apply(ctx, l.Entry, l.Pos, projections.FoldProfile); err == nil {
			t.Errorf("%s: Apply accepted it", name)
		}
	}
	panicky := func(*projections.MerchantProfile, events.Event) { panic("boom") }
	if _, err := s.Apply(ctx, good.Entry, good.Pos, panicky); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panicking fold: %v", err)
	}
	// None of it left a trace, and the good event still applies.
	if applied, err := s.Apply(ctx, good.Entry, good.Pos, projections.FoldProfile); !applied || err != nil {
		t.Errorf("good event after bad ones: applied %v, %v", applied, err)
	}
	if p, _, _ := s.Profile(ctx, good.Entry.Event.Subject); p.EventCount != 1 {
		t.Errorf("profile after bad entries: %+v", p)
	}
}

// findable reports whether the event text search finds q, and how many merchants match m.
func counts(t *testing.T, s *Store, q string) (events, merchants int) {
	t.Helper()
	ctx := context.Background()
	e, err := s.SearchEvents(ctx, projections.EventQuery{Q: q})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.SearchMerchants(ctx, projections.MerchantQuery{Q: q})
	if err != nil {
		t.Fatal(err)
	}
	return e.Total, m.Total
}

// TestRedeliveryCompletesSearch fails the bleve half of a group, as a crash between the bbolt
// commit and the bleve batch would, and checks that a redelivery completes it.
func TestRedeliveryCompletesSearch(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{IndexRetry: time.Hour}) // only the redelivery completes
	defer s.Close()
	ctx := context.Background()
	steps := storetest.LaoZhangSteps()
	for i, l := range []storetest.LogEntry{
		{Entry: projections.Redact(steps[0][0]), Pos: eventlog.Position{Offset: 1}}, // changes the merchant doc
		{Entry: projections.Redact(steps[1][0]), Pos: eventlog.Position{Offset: 2}}, // changes no merchant doc
	} {
		if err := s.awaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		s.failIndexing(true)
		// Apply is durable once bbolt has it; the failed search half stays pending.
		if _, err := s.Apply(ctx, l.Entry, l.Pos, projections.FoldProfile); err != nil {
			t.Fatal(err)
		}
		if err := s.awaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		s.failIndexing(false)
		if p, ok, _ := s.Profile(ctx, storetest.LaoZhang); !ok || p.EventCount != i+1 {
			t.Fatalf("bbolt half not committed: %+v", p)
		}
		if e, _ := counts(t, s, "火锅"); e != i {
			t.Fatalf("search found %d events before the redelivery, want %d; the test does not test", e, i)
		}
		if applied, err := s.Apply(ctx, l.Entry, l.Pos, projections.FoldProfile); applied || err != nil {
			t.Fatalf("redelivery: applied %v, %v", applied, err)
		}
		if e, m := counts(t, s, "火锅"); e != i+1 || m != 1 {
			t.Errorf("after redelivery %d search finds %d events, %d merchants; want %d, 1", i, e, m, i+1)
		}
		if p, _, _ := s.Profile(ctx, storetest.LaoZhang); p.EventCount != i+1 {
			t.Errorf("redelivery counted twice: %d events", p.EventCount)
		}
	}
}

// TestRenameRefreshesEvents: events recorded before the merchant's registration carry its name
// once it registers (and stay so through a failed index write completed by a redelivery).
func TestRenameRefreshesEvents(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{IndexRetry: time.Hour}) // only the redelivery completes
	defer s.Close()
	ctx := context.Background()
	steps := storetest.LaoZhangSteps()
	c1 := storetest.LogEntry{Entry: projections.Redact(steps[1][0]), Pos: eventlog.Position{Offset: 1}}
	reg := storetest.LogEntry{Entry: projections.Redact(steps[0][0]), Pos: eventlog.Position{Offset: 2}}
	if _, err := s.Apply(ctx, c1.Entry, c1.Pos, projections.FoldProfile); err != nil {
		t.Fatal(err)
	}
	if e, _ := counts(t, s, "老张火锅店"); e != 0 {
		t.Fatalf("name found before registration: %d", e)
	}
	if err := s.awaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	s.failIndexing(true)
	// Apply is durable once bbolt has it; the failed search half stays pending.
	if _, err := s.Apply(ctx, reg.Entry, reg.Pos, projections.FoldProfile); err != nil {
		t.Fatal(err)
	}
	if err := s.awaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	s.failIndexing(false)
	if _, err := s.Apply(ctx, reg.Entry, reg.Pos, projections.FoldProfile); err != nil {
		t.Fatal(err)
	}
	if e, m := counts(t, s, "老张火锅店"); e != 2 || m != 1 {
		t.Errorf("after registration: %d events, %d merchants carry the name; want 2, 1", e, m)
	}
}

// TestOpenRecoversPending: groups whose bleve half failed are completed by the next Open, with
// no redelivery at all, also when one index must be rebuilt at the same time.
func TestOpenRecoversPending(t *testing.T) {
	for _, remove := range []string{"", "merchants.bleve", "events.bleve"} {
		t.Run("remove "+remove, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			ctx := context.Background()
			log := storetest.Fixture()
			const split = 12 // after every registration, before 皇泽寺农家乐 is certified
			if err := storetest.ApplyAll(ctx, s, log[:split]); err != nil {
				t.Fatal(err)
			}
			if err := s.awaitIndexed(ctx); err != nil {
				t.Fatal(err)
			}
			s.failIndexing(true)
			for _, l := range log[split:] {
				// Apply is durable once bbolt has it; the failed search half stays pending.
				if _, err := s.Apply(ctx, l.Entry, l.Pos, projections.FoldProfile); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.awaitIndexed(ctx); err != nil {
				t.Fatal(err)
			}
			// Indexing keeps failing until Close (whose last attempt fails too): only Open
			// can complete the pending events.
			if r, _ := s.SearchEvents(ctx, projections.EventQuery{}); r.Total != split {
				t.Fatalf("before reopening, %d events searchable, want %d", r.Total, split)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if remove != "" {
				if err := os.RemoveAll(filepath.Join(dir, remove)); err != nil {
					t.Fatal(err)
				}
			}
			s = open(t, dir)
			defer s.Close()
			assertSameAs(t, s, rebuilt(t, log))
		})
	}
}

// TestRebuildsMissingIndex: deleting the search folders re-indexes everything from views.db.
func TestRebuildsMissingIndex(t *testing.T) {
	dir, log := fixtureFolder(t)
	for _, name := range []string{"merchants.bleve", "events.bleve"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A half-created index (metadata missing) is treated the same.
	if err := os.MkdirAll(filepath.Join(dir, "events.bleve", "store"), 0o750); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	defer s.Close()
	assertSameAs(t, s, rebuilt(t, log))
}

// TestRebuildEqualsLiveAfterReopen: a store closed and reopened answers as one rebuilt from
// the log.
func TestRebuildEqualsLiveAfterReopen(t *testing.T) {
	dir, log := fixtureFolder(t)
	s := open(t, dir)
	defer s.Close()
	assertSameAs(t, s, rebuilt(t, log))
}

var rebuiltFixture struct {
	sync.Mutex
	snap string
}

// rebuilt returns the snapshot of a store built by replaying log (the fixture) in order, once
// per test binary.
func rebuilt(t *testing.T, log []storetest.LogEntry) string {
	t.Helper()
	rebuiltFixture.Lock()
	defer rebuiltFixture.Unlock()
	if rebuiltFixture.snap == "" {
		rebuiltFixture.snap = replay(t, log)
	}
	return rebuiltFixture.snap
}

func replay(t *testing.T, log []storetest.LogEntry) string {
	t.Helper()
	s := open(t, t.TempDir())
	defer s.Close()
	for _, l := range log {
		if _, err := s.Apply(context.Background(), l.Entry, l.Pos, projections.FoldProfile); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := storetest.Snapshot(context.Background(), s, storetest.FixtureMerchants())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func assertSameAs(t *testing.T, s *Store, want string) {
	t.Helper()
	got, err := storetest.Snapshot(context.Background(), s, storetest.FixtureMerchants())
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.Diff(want, got); d != "" {
		t.Errorf("store differs from a rebuild:\n%s", d)
	}
}

// failIndexing makes the bleve half of every group fail (or stops doing so).
func (s *Store) failIndexing(on bool) {
	if !on {
		s.afterCommit.Store(nil)
		return
	}
	f := func() error { return errors.New("simulated crash between the bbolt commit and the bleve batch") }
	s.afterCommit.Store(&f)
}

// TestIndexRetry: a failed index write is written again by the indexer itself, with no
// redelivery and no restart.
func TestIndexRetry(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{IndexRetry: 20 * time.Millisecond})
	defer s.Close()
	ctx := context.Background()
	log := storetest.Fixture()
	s.failIndexing(true)
	if err := storetest.ApplyAll(ctx, s, log); err != nil {
		t.Fatal(err)
	}
	if e, m := counts(t, s, "火锅"); e != 0 || m != 0 {
		t.Fatalf("search finds %d events, %d merchants while indexing fails", e, m)
	}
	time.Sleep(100 * time.Millisecond) // a few failed retries
	s.failIndexing(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := s.SearchEvents(ctx, projections.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Total == len(log) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events searchable 10s after indexing recovered", r.Total, len(log))
		}
		time.Sleep(20 * time.Millisecond)
	}
	assertSameAs(t, s, rebuilt(t, log))
}

// TestBulkEqualsLive: views built in Bulk mode (what fangxin rebuild does), once closed and
// reopened normally, answer every query exactly as views built event by event; a redelivery
// into the reopened store changes nothing.
func TestBulkEqualsLive(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"one transaction", Options{Bulk: true, BulkIndexBatch: 7}},
		{"a commit every 3 events", Options{Bulk: true, BulkIndexBatch: 7, BulkCommit: 3}},
		{"a commit every event", Options{Bulk: true, BulkIndexBatch: 1, BulkCommit: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) { testBulkEqualsLive(t, tc.opts) })
	}
}

func testBulkEqualsLive(t *testing.T, opts Options) {
	ctx := context.Background()
	log := storetest.Fixture()
	live := open(t, t.TempDir())
	defer live.Close()
	if err := storetest.ApplyAll(ctx, live, log); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bulk := openWith(t, dir, opts)
	if err := storetest.ApplyAll(ctx, bulk, log); err != nil {
		t.Fatal(err)
	}
	if err := bulk.Close(); err != nil {
		t.Fatal(err)
	}
	rebuilt := open(t, dir)
	defer rebuilt.Close()
	usccs := storetest.FixtureMerchants()
	want, err := storetest.Snapshot(ctx, live, usccs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := storetest.Snapshot(ctx, rebuilt, usccs)
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.Diff(want, got); d != "" {
		t.Fatalf("bulk-built views differ from live ones:\n%s", d)
	}
	if applied, err := rebuilt.Apply(ctx, log[3].Entry, log[3].Pos, projections.FoldProfile); err != nil || applied {
		t.Errorf("redelivery after the bulk build: applied %v, err %v", applied, err)
	}
}

// TestBulkFoldPanicLeavesNoTrace: in Bulk mode profiles are folded in memory; a fold that
// changes the profile and then panics fails its event alone and leaves the profile as it was, as
// in live mode (where the profile is decoded afresh for every fold).
func TestBulkFoldPanicLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	var first, second *storetest.LogEntry
	log := storetest.Fixture()
	isLink := func(e storetest.LogEntry) bool { _, _, ok := projections.LinkOf(e.Entry.Event); return ok }
	for i := range log {
		for j := i + 1; j < len(log) && first == nil; j++ {
			s := log[i].Entry.Event.Subject
			if s != "" && log[j].Entry.Event.Subject == s && !isLink(log[i]) && !isLink(log[j]) {
				first, second = &log[i], &log[j]
			}
		}
	}
	if first == nil {
		t.Fatal("the fixture has no two events of one merchant")
	}
	dir := t.TempDir()
	s := openWith(t, dir, Options{Bulk: true})
	if applied, err := s.Apply(ctx, first.Entry, first.Pos, projections.FoldProfile); !applied || err != nil {
		t.Fatalf("first event: applied %v, %v", applied, err)
	}
	scribble := func(p *projections.MerchantProfile, ev events.Event) {
		projections.FoldProfile(p, ev)
		p.Name = "scribbled"
		p.CountsByType["scribbled"] = 7
		panic("boom")
	}
	if _, err := s.Apply(ctx, second.Entry, second.Pos, scribble); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panicking fold: %v", err)
	}
	if applied, err := s.Apply(ctx, second.Entry, second.Pos, projections.FoldProfile); !applied || err != nil {
		t.Errorf("second event after the panic: applied %v, %v", applied, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	p, ok, err := s.Profile(ctx, first.Entry.Event.Subject)
	if err != nil || !ok {
		t.Fatalf("profile: %v %v", ok, err)
	}
	if p.EventCount != 2 || p.Name == "scribbled" || p.CountsByType["scribbled"] != 0 {
		t.Errorf("profile after a panicking fold: %+v", p)
	}
}
