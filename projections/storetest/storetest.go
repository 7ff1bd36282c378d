// Package storetest is the conformance suite of the read model: the definition of "same
// behaviour" for every backend of projections.Store and the gateway's queries (embedded,
// elastic). A backend's test calls RunAll with a constructor of fresh, empty backends.
//
// What the suite holds every backend to, beyond the comments in projections:
//   - Apply is visible on return: the reads that follow see it (an Elasticsearch backend
//     refreshes before it returns).
//   - applied is true only for the call that first records an event; duplicates (same key,
//     other position) and redeliveries (same key, same position) return false and change
//     nothing visible.
//   - The Store sets MerchantProfile.LastPosition to the position of the last event folded.
//   - Limits: 0 means 50; negative or above projections.MaxLimit is an error wrapping
//     projections.ErrBadQuery, as is a negative offset or a history query without a code.
//   - History and event search are ordered by event time, newest first, ties by event key
//     ascending; merchant search by code ascending; Unlinked like History.
//   - Chinese words match as phrases of the name or address (merchants) or of one text field
//     (events); the words of a query are ANDed; a one-character word matches wherever the
//     character appears; a word that looks like a code prefix also matches merchant codes.
//   - Event text is the complaint summary and category, inspection findings, sampled product,
//     penalty legal basis, warning title and body, and the merchant's name (registered name, or
//     data.merchant_name for unlinked complaints). An event's township is the one its data
//     carries, otherwise its merchant's.
//   - TimelineEntry.Private is returned as given by History, Unlinked and SearchEvents, and is
//     never searchable.
//   - Returned values are owned by the caller.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Backend is a read-model backend: the projector's Store and the gateway's queries.
type Backend interface {
	projections.Store
	Profile(ctx context.Context, uscc string) (projections.MerchantProfile, bool, error)
	History(ctx context.Context, q projections.HistoryQuery) (projections.HistoryPage, error)
	SearchMerchants(ctx context.Context, q projections.MerchantQuery) (projections.MerchantResults, error)
	SearchEvents(ctx context.Context, q projections.EventQuery) (projections.EventResults, error)
	Unlinked(ctx context.Context, limit int) ([]projections.TimelineEntry, error)
	Candidates(ctx context.Context, q projections.CandidateQuery) ([]projections.MerchantHit, error)
	Event(ctx context.Context, source, id string) (projections.TimelineEntry, bool, error)
	Close() error
}

// opener returns a fresh, empty backend.
type opener func(t *testing.T) Backend

// RunAll runs the whole suite. Each case calls open for the fresh, empty backends it needs and
// closes them when it ends (t.Cleanup), checking that Close succeeds; open must not close them.
// Backends opened in one test must be independent (RebuildEquality has two open at once).
func RunAll(t *testing.T, open func(t *testing.T) Backend) {
	o := opener(open)
	t.Run("ProfileSteps", func(t *testing.T) { testProfileSteps(t, o) })
	t.Run("Fixture", func(t *testing.T) { testFixture(t, o) })
	t.Run("Duplicates", func(t *testing.T) { testDuplicates(t, o) })
	t.Run("Redelivery", func(t *testing.T) { testRedelivery(t, o) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, o) })
	t.Run("RebuildEquality", func(t *testing.T) { testRebuildEquality(t, o) })
	t.Run("Linking", func(t *testing.T) { testLinking(t, o) })
	t.Run("Chains", func(t *testing.T) { testChains(t, o) })
}

func (o opener) fresh(t *testing.T) Backend {
	t.Helper()
	b := o(t)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func apply(t *testing.T, b Backend, l LogEntry) bool {
	t.Helper()
	applied, err := b.Apply(ctxOf(t), l.Entry, l.Pos, projections.FoldProfile)
	if err != nil {
		t.Fatalf("Apply %s at %v: %v", l.Key(), l.Pos, err)
	}
	return applied
}

func profile(t *testing.T, b Backend, uscc string) projections.MerchantProfile {
	t.Helper()
	p, ok, err := b.Profile(ctxOf(t), uscc)
	if err != nil || !ok {
		t.Fatalf("Profile(%s) = ok %v, err %v; want a profile", uscc, ok, err)
	}
	return p
}

// allHistory pages through q with q.Limit and checks the paging rules on the way.
func allHistory(t *testing.T, b Backend, q projections.HistoryQuery, maxPages int) []projections.TimelineEntry {
	t.Helper()
	limit := q.Limit
	if limit == 0 {
		limit = 50
	}
	var all []projections.TimelineEntry
	for page := 0; ; page++ {
		if page > maxPages {
			t.Fatalf("History %+v: more than %d pages", q, maxPages)
		}
		p, err := b.History(ctxOf(t), q)
		if err != nil {
			t.Fatalf("History %+v: %v", q, err)
		}
		if len(p.Entries) > limit {
			t.Fatalf("History page %d: %d entries, limit %d", page, len(p.Entries), limit)
		}
		all = append(all, p.Entries...)
		if p.Next == nil {
			return all
		}
		if len(p.Entries) != limit {
			t.Fatalf("History page %d: %d entries and a next cursor; want a full page of %d", page, len(p.Entries), limit)
		}
		last := p.Entries[len(p.Entries)-1].Event
		if !p.Next.Time.Equal(last.Time) || p.Next.Key != last.Key() {
			t.Fatalf("History page %d: Next %+v does not mark the last entry (%v, %s)", page, *p.Next, last.Time, last.Key())
		}
		q.After = p.Next
	}
}

func keysOf(es []projections.TimelineEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Event.Key()
	}
	return out
}

// newestFirst sorts log entries in timeline order and returns their keys.
func newestFirst(ls []LogEntry) []string {
	ls = slices.Clone(ls)
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i].Entry.Event, ls[j].Entry.Event
		if !a.Time.Equal(b.Time) {
			return a.Time.After(b.Time)
		}
		return a.Key() < b.Key()
	})
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Key()
	}
	return out
}

func filterLog(log []LogEntry, keep func(events.Event) bool) []LogEntry {
	var out []LogEntry
	for _, l := range log {
		if keep(l.Entry.Event) {
			out = append(out, l)
		}
	}
	return out
}

func equalKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %d %q\n want %d %q", what, len(got), got, len(want), want)
	}
}

func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// sameEntry checks that got is want as recorded: the envelope, data and private data.
func sameEntry(t *testing.T, got, want projections.TimelineEntry) {
	t.Helper()
	g, w := got.Event, want.Event
	if g.ID != w.ID || g.Source != w.Source || g.Type != w.Type || g.Subject != w.Subject ||
		g.SpecVersion != w.SpecVersion || !g.Time.Equal(w.Time) {
		t.Errorf("entry %s: envelope %+v, want %+v", w.Key(), g, w)
	}
	if !jsonEqual(g.Data, w.Data) {
		t.Errorf("entry %s: data %s, want %s", w.Key(), g.Data, w.Data)
	}
	if !jsonEqual(got.Private, want.Private) {
		t.Errorf("entry %s: private %s, want %s", w.Key(), got.Private, want.Private)
	}
}

func testProfileSteps(t *testing.T, o opener) {
	b := o.fresh(t)
	ctx := ctxOf(t)
	yes, no := true, false
	certified := func(t *testing.T, want bool) {
		t.Helper()
		r, err := b.SearchMerchants(ctx, projections.MerchantQuery{Q: "火锅", Certified: &yes})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Total == 1 && r.Hits[0].USCC == LaoZhang; got != want {
			t.Errorf("search 火锅 certified=true found 老张火锅店: %v, want %v (%+v)", got, want, r)
		}
		r, err = b.SearchMerchants(ctx, projections.MerchantQuery{Q: "火锅", Certified: &no})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Total == 1; got == want {
			t.Errorf("search 火锅 certified=false found 老张火锅店: %v, want %v", got, !want)
		}
	}
	listed := func(t *testing.T, want bool) {
		t.Helper()
		r, err := b.SearchMerchants(ctx, projections.MerchantQuery{Q: LaoZhang, Listed: &yes})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Total == 1; got != want {
			t.Errorf("search code listed=true found 老张火锅店: %v, want %v", got, want)
		}
	}
	openIDs := func(p projections.MerchantProfile) []string {
		var ids []string
		for _, c := range p.OpenComplaints {
			ids = append(ids, c.ComplaintID)
		}
		return ids
	}
	checks := []struct {
		name  string
		check func(t *testing.T, p projections.MerchantProfile)
	}{
		{"registered", func(t *testing.T, p projections.MerchantProfile) {
			if !p.Registered || p.Name != "老张火锅店" || p.Township != Jialing || p.Industry != "H6210" ||
				p.Address != "利州区嘉陵街道蜀门北路12号" || p.RegisteredAt == nil || !p.RegisteredAt.Equal(At(0)) {
				t.Errorf("registration not folded: %+v", p)
			}
			if p.USCC != LaoZhang || p.EventCount != 1 || len(p.OpenComplaints) != 0 || p.Certified() || p.Listed() || p.FinesTotalFen != 0 {
				t.Errorf("fresh profile: %+v", p)
			}
		}},
		{"complaint received", func(t *testing.T, p projections.MerchantProfile) {
			if len(p.OpenComplaints) != 1 {
				t.Fatalf("open complaints %+v, want 12315-0001", p.OpenComplaints)
			}
			c := p.OpenComplaints[0]
			if c.ComplaintID != "12315-0001" || c.Bureau != "hotline-12315" || c.Category != "食品安全" ||
				!c.ReceivedAt.Equal(At(1)) || c.AssignedTo != "" || c.Deadline != nil {
				t.Errorf("open complaint %+v", c)
			}
		}},
		{"complaint assigned", func(t *testing.T, p projections.MerchantProfile) {
			if len(p.OpenComplaints) != 1 || p.OpenComplaints[0].AssignedTo != "amr" ||
				p.OpenComplaints[0].Deadline == nil || !p.OpenComplaints[0].Deadline.Equal(At(2+7*24)) {
				t.Errorf("assigned complaint %+v", p.OpenComplaints)
			}
		}},
		{"second complaint", func(t *testing.T, p projections.MerchantProfile) {
			equalKeys(t, "open complaints", openIDs(p), []string{"12315-0001", "12345-0002"})
		}},
		{"inspection sampling penalty", func(t *testing.T, p projections.MerchantProfile) {
			if p.FinesTotalFen != 500050 || p.EventCount != 7 {
				t.Errorf("fines %d fen, events %d; want 500050, 7", p.FinesTotalFen, p.EventCount)
			}
		}},
		{"complaint closed", func(t *testing.T, p projections.MerchantProfile) {
			equalKeys(t, "open complaints", openIDs(p), []string{"12345-0002"})
		}},
		{"second fine", func(t *testing.T, p projections.MerchantProfile) {
			if p.FinesTotalFen != 520050 {
				t.Errorf("fines %d fen, want 520050", p.FinesTotalFen)
			}
		}},
		{"certification granted", func(t *testing.T, p projections.MerchantProfile) {
			if !p.Certified() || p.Certifications[0].Scheme != "demo_unit" || p.Certifications[0].Bureau != "amr" ||
				!p.Certifications[0].GrantedAt.Equal(At(9)) {
				t.Errorf("certifications %+v", p.Certifications)
			}
			certified(t, true)
		}},
		{"certification revoked", func(t *testing.T, p projections.MerchantProfile) {
			if p.Certified() {
				t.Errorf("certifications %+v after revocation", p.Certifications)
			}
			certified(t, false)
			listed(t, false)
		}},
		{"credit listed", func(t *testing.T, p projections.MerchantProfile) {
			if !p.Listed() || p.CreditListings[0].List != "abnormal_operation" || p.CreditListings[0].Bureau != "amr" {
				t.Errorf("credit listings %+v", p.CreditListings)
			}
			listed(t, true)
		}},
		{"delisted and inspected", func(t *testing.T, p projections.MerchantProfile) {
			if p.Listed() {
				t.Errorf("credit listings %+v after delisting", p.CreditListings)
			}
			listed(t, false)
			wantTypes := map[string]int{
				events.TypeMerchantRegistered: 1, events.TypeComplaintReceived: 2, events.TypeComplaintAssigned: 1,
				events.TypeComplaintClosed: 1, events.TypeInspectionCompleted: 2, events.TypeSamplingCompleted: 1,
				events.TypePenaltyImposed: 2, events.TypeCertificationGranted: 1, events.TypeCertificationRevoked: 1,
				events.TypeCreditListed: 1, events.TypeCreditDelisted: 1,
			}
			wantBureaus := map[string]int{"amr": 9, "hotline-12315": 2, "hotline-12345": 1, "urban": 1, "health": 1}
			if p.EventCount != 14 || !mapsEqual(p.CountsByType, wantTypes) || !mapsEqual(p.CountsByBureau, wantBureaus) {
				t.Errorf("counts: %d events, by type %v, by bureau %v", p.EventCount, p.CountsByType, p.CountsByBureau)
			}
			if !p.LastActivity.Equal(At(12)) || p.FinesTotalFen != 520050 {
				t.Errorf("last activity %v, fines %d", p.LastActivity, p.FinesTotalFen)
			}
		}},
	}
	steps := LaoZhangSteps()
	if len(steps) != len(checks) {
		t.Fatalf("fixture has %d steps, suite %d checks", len(steps), len(checks))
	}
	if _, ok, err := b.Profile(ctx, LaoZhang); ok || err != nil {
		t.Fatalf("Profile before any event: ok %v, err %v", ok, err)
	}
	var offset int64
	for i, step := range steps {
		var last eventlog.Position
		for _, ev := range step {
			offset++
			last = eventlog.Position{Partition: 0, Offset: offset}
			if !apply(t, b, LogEntry{Entry: projections.Redact(ev), Pos: last}) {
				t.Fatalf("step %s: Apply of a new event returned applied=false", checks[i].name)
			}
		}
		p := profile(t, b, LaoZhang)
		if p.LastPosition != last {
			t.Errorf("step %s: LastPosition %v, want %v", checks[i].name, p.LastPosition, last)
		}
		t.Run(checks[i].name, func(t *testing.T) { checks[i].check(t, p) })
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func testFixture(t *testing.T, o opener) {
	b := o.fresh(t)
	log := Fixture()
	start := time.Now()
	if err := ApplyAll(ctxOf(t), b, log); err != nil {
		t.Fatal(err)
	}
	t.Logf("applied %d events in %v", len(log), time.Since(start))
	t.Run("Profiles", func(t *testing.T) { testProfiles(t, b, log) })
	t.Run("History", func(t *testing.T) { testHistory(t, b, log) })
	t.Run("SearchMerchants", func(t *testing.T) { testSearchMerchants(t, b) })
	t.Run("SearchEvents", func(t *testing.T) { testSearchEvents(t, b, log) })
	t.Run("Unlinked", func(t *testing.T) { testUnlinked(t, b, log) })
	t.Run("PersonalData", func(t *testing.T) { testPersonalData(t, b) })
	t.Run("Ownership", func(t *testing.T) { testOwnership(t, b) })
	t.Run("BadQueries", func(t *testing.T) { testBadQueries(t, b) })
}

func testProfiles(t *testing.T, b Backend, log []LogEntry) {
	for _, tc := range []struct {
		uscc       string
		registered bool
		name       string
		certified  bool
		listed     bool
	}{
		{LaoZhang, true, "老张火锅店", false, false},
		{Fruit, true, "利州区水果超市", false, false},
		{Farm, true, "皇泽寺农家乐", true, false},
		{Corner, true, "凤凰山便利店", false, true},
		{Noodles, true, "蜀门北路面馆", false, false},
		{Unknown, false, "", false, false},
	} {
		t.Run(tc.uscc, func(t *testing.T) {
			p := profile(t, b, tc.uscc)
			n := len(filterLog(log, func(ev events.Event) bool { return ev.Subject == tc.uscc }))
			if p.USCC != tc.uscc || p.Registered != tc.registered || p.Name != tc.name || p.EventCount != n ||
				p.Certified() != tc.certified || p.Listed() != tc.listed {
				t.Errorf("profile %+v; want registered %v, name %q, %d events, certified %v, listed %v",
					p, tc.registered, tc.name, n, tc.certified, tc.listed)
			}
		})
	}
	if _, ok, err := b.Profile(ctxOf(t), USCC(999)); ok || err != nil {
		t.Errorf("Profile of a merchant no event names: ok %v, err %v", ok, err)
	}
}

func testHistory(t *testing.T, b Backend, log []LogEntry) {
	byKey := map[string]projections.TimelineEntry{}
	for _, l := range log {
		byKey[l.Key()] = l.Entry
	}
	of := func(uscc string) func(events.Event) bool {
		return func(ev events.Event) bool { return ev.Subject == uscc }
	}
	for _, tc := range []struct {
		name string
		q    projections.HistoryQuery
	}{
		{"all, pages of 5", projections.HistoryQuery{USCC: LaoZhang, Limit: 5}},
		{"all, pages of 7 (exact multiple)", projections.HistoryQuery{USCC: LaoZhang, Limit: 7}},
		{"all, pages of 1 (cursor across a time tie)", projections.HistoryQuery{USCC: LaoZhang, Limit: 1}},
		{"long, pages of 7", projections.HistoryQuery{USCC: Noodles, Limit: 7}},
		{"long, pages of 1", projections.HistoryQuery{USCC: Noodles, Limit: 1}},
		{"long, default limit 50", projections.HistoryQuery{USCC: Noodles}},
		{"long, one page", projections.HistoryQuery{USCC: Noodles, Limit: projections.MaxLimit}},
		{"types", projections.HistoryQuery{USCC: Noodles, Limit: 4,
			Types: []string{events.TypeInspectionCompleted, events.TypeSamplingCompleted}}},
		{"bureau", projections.HistoryQuery{USCC: Noodles, Limit: 3, Bureaus: []string{"amr"}}},
		{"window", projections.HistoryQuery{USCC: Noodles, Limit: 4, From: At(25), To: At(30)}},
		{"from", projections.HistoryQuery{USCC: Noodles, Limit: 6, From: At(33)}},
		{"to, exclusive, in another zone", projections.HistoryQuery{USCC: LaoZhang, Limit: 3, To: At(12).UTC()}},
		{"all filters", projections.HistoryQuery{USCC: Noodles, Limit: 2, From: At(22), To: At(40),
			Types: []string{events.TypeComplaintReceived, events.TypePenaltyImposed}, Bureaus: []string{"hotline-12345", "urban"}}},
		{"no match", projections.HistoryQuery{USCC: LaoZhang, Types: []string{events.TypeWarningIssued}}},
		{"unknown merchant", projections.HistoryQuery{USCC: USCC(999)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			want := newestFirst(filterLog(log, func(ev events.Event) bool {
				return of(q.USCC)(ev) &&
					(len(q.Types) == 0 || slices.Contains(q.Types, ev.Type)) &&
					(len(q.Bureaus) == 0 || slices.Contains(q.Bureaus, ev.Bureau())) &&
					(q.From.IsZero() || !ev.Time.Before(q.From)) && (q.To.IsZero() || ev.Time.Before(q.To))
			}))
			got := allHistory(t, b, q, len(want)+1)
			equalKeys(t, "history", keysOf(got), want)
			for _, e := range got {
				sameEntry(t, e, byKey[e.Event.Key()])
			}
		})
	}
	// Sanity of the model: the cases above would pass vacuously on an empty fixture.
	if n := len(filterLog(log, of(Noodles))); n != 60 {
		t.Fatalf("fixture: 蜀门北路面馆 has %d events, want 60", n)
	}
	t.Run("default limit is 50", func(t *testing.T) {
		p, err := b.History(ctxOf(t), projections.HistoryQuery{USCC: Noodles})
		if err != nil || len(p.Entries) != 50 || p.Next == nil {
			t.Errorf("History limit 0: %d entries, next %v, err %v; want 50 and a cursor", len(p.Entries), p.Next, err)
		}
	})
}

// byIDs matches events by id.
func byIDs(ids ...string) func(events.Event) bool {
	return func(ev events.Event) bool { return slices.Contains(ids, ev.ID) }
}

func testSearchMerchants(t *testing.T, b Backend) {
	yes, no := true, false
	all := []string{LaoZhang, Fruit, Station, Boiler, Farm, Corner, Noodles, Unknown}
	for _, tc := range []struct {
		name string
		q    projections.MerchantQuery
		want []string
	}{
		{"word in name", projections.MerchantQuery{Q: "火锅"}, []string{LaoZhang}},
		{"longer word", projections.MerchantQuery{Q: "水果超市"}, []string{Fruit}},
		{"whole name", projections.MerchantQuery{Q: "利州区水果超市"}, []string{Fruit}},
		{"火车 is not 火锅", projections.MerchantQuery{Q: "火车"}, []string{Station}},
		{"锅炉 is not 火锅", projections.MerchantQuery{Q: "锅炉"}, []string{Boiler}},
		{"one character", projections.MerchantQuery{Q: "锅"}, []string{LaoZhang, Boiler}},
		{"no such word", projections.MerchantQuery{Q: "火锅炉"}, nil},
		{"word in address", projections.MerchantQuery{Q: "万缘路"}, []string{Fruit}},
		{"name or address", projections.MerchantQuery{Q: "蜀门北路"}, []string{LaoZhang, Noodles}},
		{"words are ANDed", projections.MerchantQuery{Q: "火锅 嘉陵街道"}, []string{LaoZhang}},
		{"words are ANDed, no match", projections.MerchantQuery{Q: "火锅 河西街道"}, nil},
		{"township", projections.MerchantQuery{Township: Hexi}, []string{Station, Boiler}},
		{"township and word", projections.MerchantQuery{Township: Jialing, Q: "便利店"}, []string{Corner}},
		{"industry class", projections.MerchantQuery{Industry: "H6210"}, []string{LaoZhang}},
		{"industry prefix", projections.MerchantQuery{Industry: "H62"}, []string{LaoZhang, Station, Noodles}},
		{"industry section", projections.MerchantQuery{Industry: "H"}, []string{LaoZhang, Station, Farm, Noodles}},
		{"industry and township", projections.MerchantQuery{Industry: "F52", Township: Dongba}, []string{Fruit}},
		{"certified", projections.MerchantQuery{Certified: &yes}, []string{Farm}},
		{"not certified", projections.MerchantQuery{Certified: &no}, []string{LaoZhang, Fruit, Station, Boiler, Corner, Noodles, Unknown}},
		{"listed", projections.MerchantQuery{Listed: &yes}, []string{Corner}},
		{"word and listed", projections.MerchantQuery{Q: "火锅", Listed: &yes}, nil},
		{"full code", projections.MerchantQuery{Q: LaoZhang}, []string{LaoZhang}},
		{"code of an unregistered merchant", projections.MerchantQuery{Q: Unknown}, []string{Unknown}},
		{"code prefix", projections.MerchantQuery{Q: "91510802MA6C"}, all},
		{"code prefix of another city", projections.MerchantQuery{Q: "91440300"}, nil},
		{"everything", projections.MerchantQuery{}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := b.SearchMerchants(ctxOf(t), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range r.Hits {
				got = append(got, h.USCC)
			}
			equalKeys(t, fmt.Sprintf("SearchMerchants %+v", tc.q), got, tc.want)
			if r.Total != len(tc.want) {
				t.Errorf("Total %d, want %d", r.Total, len(tc.want))
			}
		})
	}
	t.Run("hit fields", func(t *testing.T) {
		r, err := b.SearchMerchants(ctxOf(t), projections.MerchantQuery{Q: "皇泽寺"})
		if err != nil || len(r.Hits) != 1 {
			t.Fatalf("SearchMerchants 皇泽寺: %+v, %v", r, err)
		}
		h := r.Hits[0]
		if h.USCC != Farm || h.Name != "皇泽寺农家乐" || h.Township != Rongshan || h.Industry != "H6130" ||
			h.Address != "利州区荣山镇皇泽村2组" || !h.Certified || h.Listed {
			t.Errorf("hit %+v", h)
		}
		p := profile(t, b, Farm)
		if h.TownshipName != p.TownshipName || h.IndustryName != p.IndustryName {
			t.Errorf("hit names %q %q, profile %q %q", h.TownshipName, h.IndustryName, p.TownshipName, p.IndustryName)
		}
	})
	t.Run("pages", func(t *testing.T) {
		var got []string
		for off := 0; off < 12; off += 3 {
			r, err := b.SearchMerchants(ctxOf(t), projections.MerchantQuery{Limit: 3, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if r.Total != len(all) {
				t.Errorf("offset %d: Total %d, want %d", off, r.Total, len(all))
			}
			for _, h := range r.Hits {
				got = append(got, h.USCC)
			}
		}
		equalKeys(t, "merchants by pages of 3", got, all)
	})
}

func testSearchEvents(t *testing.T, b Backend, log []LogEntry) {
	of := func(usccs ...string) func(events.Event) bool {
		return func(ev events.Event) bool { return slices.Contains(usccs, ev.Subject) }
	}
	typ := func(types ...string) func(events.Event) bool {
		return func(ev events.Event) bool { return slices.Contains(types, ev.Type) }
	}
	and := func(fs ...func(events.Event) bool) func(events.Event) bool {
		return func(ev events.Event) bool {
			for _, f := range fs {
				if !f(ev) {
					return false
				}
			}
			return true
		}
	}
	for _, tc := range []struct {
		name string
		q    projections.EventQuery
		want func(events.Event) bool
	}{
		{"phrase in summary and product", projections.EventQuery{Q: "火锅底料"}, byIDs("lz-c1", "lz-samp1")},
		{"merchant name", projections.EventQuery{Q: "火锅"}, of(LaoZhang)},
		{"one character", projections.EventQuery{Q: "锅"}, of(LaoZhang, Boiler)},
		{"whole merchant name", projections.EventQuery{Q: "利州区水果超市"}, of(Fruit)},
		{"type filter", projections.EventQuery{Q: "火锅", Types: []string{events.TypeSamplingCompleted}}, byIDs("lz-samp1")},
		{"bureau filter", projections.EventQuery{Q: "火锅", Bureaus: []string{"urban"}}, byIDs("lz-pen2")},
		{"time window", projections.EventQuery{Q: "火锅", From: At(5), To: At(8)}, byIDs("lz-samp1", "lz-pen1", "lz-c1-close")},
		{"linked and unlinked", projections.EventQuery{Q: "排烟扰民"}, byIDs("lz-c2", "ul-c1")},
		{"legal basis", projections.EventQuery{Q: "食品安全法"}, byIDs("lz-pen1")},
		{"findings", projections.EventQuery{Q: "压力容器"}, byIDs("bo-insp")},
		{"category", projections.EventQuery{Q: "环境污染"}, byIDs("lz-c2", "ul-c1")},
		{"warning", projections.EventQuery{Q: "预付卡"}, byIDs("ul-w1")},
		{"unlinked merchant name", projections.EventQuery{Q: "烧烤摊"}, byIDs("ul-c1")},
		{"words are ANDed", projections.EventQuery{Q: "面条 分量不足"}, and(of(Noodles), typ(events.TypeComplaintReceived))},
		{"township from data or merchant", projections.EventQuery{Township: Hexi, Types: []string{events.TypeComplaintReceived}}, byIDs("st-c1", "ul-c1")},
		{"township", projections.EventQuery{Township: Jialing}, func(ev events.Event) bool {
			return of(LaoZhang, Corner)(ev) || byIDs("ul-c2", "ul-w1")(ev)
		}},
		{"types only", projections.EventQuery{Types: []string{events.TypeWarningIssued, events.TypeCertificationGranted}},
			typ(events.TypeWarningIssued, events.TypeCertificationGranted)},
		{"bureaus only", projections.EventQuery{Bureaus: []string{"tourism", "safety"}}, byIDs("fa-cert", "bo-insp")},
		{"no match", projections.EventQuery{Q: "火锅", Types: []string{events.TypeWarningIssued}}, func(events.Event) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := newestFirst(filterLog(log, tc.want))
			r, err := b.SearchEvents(ctxOf(t), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			equalKeys(t, fmt.Sprintf("SearchEvents %+v", tc.q), keysOf(r.Entries), want)
			if r.Total != len(want) {
				t.Errorf("Total %d, want %d", r.Total, len(want))
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		want := newestFirst(log)
		var got []string
		for off := 0; off < len(want)+10; off += 10 {
			r, err := b.SearchEvents(ctxOf(t), projections.EventQuery{Limit: 10, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if r.Total != len(want) {
				t.Fatalf("Total %d, want %d", r.Total, len(want))
			}
			got = append(got, keysOf(r.Entries)...)
		}
		equalKeys(t, "every event by pages of 10", got, want)
	})
}

func testUnlinked(t *testing.T, b Backend, log []LogEntry) {
	unlinked := newestFirst(filterLog(log, func(ev events.Event) bool { return ev.Subject == "" }))
	if len(unlinked) != 3 {
		t.Fatalf("fixture: %d unlinked events, want 3", len(unlinked))
	}
	for _, limit := range []int{0, 1, 2, 3, projections.MaxLimit} {
		got, err := b.Unlinked(ctxOf(t), limit)
		if err != nil {
			t.Fatal(err)
		}
		want := unlinked
		if limit > 0 && limit < len(want) {
			want = want[:limit]
		}
		equalKeys(t, fmt.Sprintf("Unlinked(%d)", limit), keysOf(got), want)
	}
}

func testPersonalData(t *testing.T, b Backend) {
	ctx := ctxOf(t)
	page, err := b.History(ctx, projections.HistoryQuery{USCC: LaoZhang, Types: []string{events.TypeComplaintReceived}})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range page.Entries {
		if e.Event.ID != "lz-c1" {
			continue
		}
		found = true
		want := fmt.Sprintf(`{"name":%q,"phone":%q}`, ConsumerName, ConsumerPhone)
		if !jsonEqual(e.Private, []byte(want)) {
			t.Errorf("Private %s, want %s", e.Private, want)
		}
		if bytes.Contains(e.Event.Data, []byte(ConsumerName)) || bytes.Contains(e.Event.Data, []byte("consumer")) {
			t.Errorf("shared data holds personal data: %s", e.Event.Data)
		}
	}
	if !found {
		t.Fatal("complaint lz-c1 not in history")
	}
	for _, q := range []string{ConsumerName, ConsumerPhone, "王小", "13800138"} {
		r, err := b.SearchEvents(ctx, projections.EventQuery{Q: q})
		if err != nil || r.Total != 0 {
			t.Errorf("SearchEvents %q: %d hits, %v; personal data must not be searchable", q, r.Total, err)
		}
		m, err := b.SearchMerchants(ctx, projections.MerchantQuery{Q: q})
		if err != nil || m.Total != 0 {
			t.Errorf("SearchMerchants %q: %d hits, %v; personal data must not be searchable", q, m.Total, err)
		}
	}
}

func testOwnership(t *testing.T, b Backend) {
	ctx := ctxOf(t)
	read := func() projections.HistoryPage {
		p, err := b.History(ctx, projections.HistoryQuery{USCC: LaoZhang, Limit: projections.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := read()
	snapshot, _ := json.Marshal(first.Entries)
	for i := range first.Entries {
		e := &first.Entries[i]
		if len(e.Event.Data) > 0 {
			e.Event.Data[0] = 'X'
		}
		if len(e.Private) > 0 {
			e.Private[0] = 'X'
		}
	}
	if again, _ := json.Marshal(read().Entries); !bytes.Equal(again, snapshot) {
		t.Error("changing returned history entries changed the store")
	}
	p := profile(t, b, LaoZhang)
	before, _ := json.Marshal(p)
	p.CountsByType["x"] = 99
	p.CountsByBureau["x"] = 99
	if len(p.OpenComplaints) > 0 {
		p.OpenComplaints[0].ComplaintID = "x"
	}
	if after, _ := json.Marshal(profile(t, b, LaoZhang)); !bytes.Equal(after, before) {
		t.Error("changing a returned profile changed the store")
	}
	r, err := b.SearchEvents(ctx, projections.EventQuery{Q: "火锅底料"})
	if err != nil || len(r.Entries) == 0 {
		t.Fatalf("SearchEvents: %v", err)
	}
	r.Entries[0].Event.Data[0] = 'X'
	r2, err := b.SearchEvents(ctx, projections.EventQuery{Q: "火锅底料"})
	if err != nil || r2.Entries[0].Event.Data[0] == 'X' {
		t.Error("changing a returned search entry changed the store")
	}
}

func testBadQueries(t *testing.T, b Backend) {
	ctx := ctxOf(t)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"history limit above max", func() error {
			_, err := b.History(ctx, projections.HistoryQuery{USCC: LaoZhang, Limit: projections.MaxLimit + 1})
			return err
		}},
		{"history negative limit", func() error {
			_, err := b.History(ctx, projections.HistoryQuery{USCC: LaoZhang, Limit: -1})
			return err
		}},
		{"history without code", func() error {
			_, err := b.History(ctx, projections.HistoryQuery{})
			return err
		}},
		{"merchants limit above max", func() error {
			_, err := b.SearchMerchants(ctx, projections.MerchantQuery{Limit: projections.MaxLimit + 1})
			return err
		}},
		{"merchants negative offset", func() error {
			_, err := b.SearchMerchants(ctx, projections.MerchantQuery{Offset: -1})
			return err
		}},
		{"events limit above max", func() error {
			_, err := b.SearchEvents(ctx, projections.EventQuery{Limit: projections.MaxLimit + 1})
			return err
		}},
		{"events negative offset", func() error {
			_, err := b.SearchEvents(ctx, projections.EventQuery{Offset: -1})
			return err
		}},
		{"unlinked limit above max", func() error {
			_, err := b.Unlinked(ctx, projections.MaxLimit+1)
			return err
		}},
		{"unlinked negative limit", func() error {
			_, err := b.Unlinked(ctx, -1)
			return err
		}},
	} {
		if err := tc.call(); !errors.Is(err, projections.ErrBadQuery) {
			t.Errorf("%s: error %v, want one wrapping projections.ErrBadQuery", tc.name, err)
		}
	}
}

func testDuplicates(t *testing.T, o opener) {
	b := o.fresh(t)
	ctx := ctxOf(t)
	steps := LaoZhangSteps()
	reg := LogEntry{Entry: projections.Redact(steps[0][0]), Pos: eventlog.Position{Offset: 1}}
	c1 := LogEntry{Entry: projections.Redact(steps[1][0]), Pos: eventlog.Position{Offset: 2}}
	apply(t, b, reg)
	apply(t, b, c1)

	// The same key at other positions, one with other content: both ignored.
	dup := c1
	dup.Pos = eventlog.Position{Offset: 3}
	forged := c1
	forged.Pos = eventlog.Position{Partition: 1, Offset: 2}
	forged.Entry.Event.Data = []byte(`{"complaint_id":"12315-0001","channel":"12315","category":"食品安全","summary":"篡改后的摘要","received_at":"2026-03-02T10:00:00+08:00"}`)
	for _, l := range []LogEntry{dup, forged} {
		if apply(t, b, l) {
			t.Errorf("duplicate %s at %v: applied=true", l.Key(), l.Pos)
		}
	}
	p := profile(t, b, LaoZhang)
	if p.EventCount != 2 || p.CountsByType[events.TypeComplaintReceived] != 1 || len(p.OpenComplaints) != 1 {
		t.Errorf("after duplicates: %d events, by type %v, open %v", p.EventCount, p.CountsByType, p.OpenComplaints)
	}
	if p.LastPosition != c1.Pos {
		t.Errorf("after duplicates: LastPosition %v, want %v", p.LastPosition, c1.Pos)
	}
	h := allHistory(t, b, projections.HistoryQuery{USCC: LaoZhang}, 2)
	equalKeys(t, "history after duplicates", keysOf(h), []string{c1.Key(), reg.Key()})
	if len(h) == 2 {
		sameEntry(t, h[0], c1.Entry)
	}
	if r, err := b.SearchEvents(ctx, projections.EventQuery{Q: "篡改"}); err != nil || r.Total != 0 {
		t.Errorf("a duplicate's content was indexed: %d hits, %v", r.Total, err)
	}
	// A new event after them is applied.
	next := LogEntry{Entry: projections.Redact(steps[2][0]), Pos: eventlog.Position{Offset: 4}}
	if !apply(t, b, next) {
		t.Error("new event after duplicates: applied=false")
	}
}

func testRedelivery(t *testing.T, o opener) {
	b := o.fresh(t)
	ctx := ctxOf(t)
	steps := LaoZhangSteps()
	reg := LogEntry{Entry: projections.Redact(steps[0][0]), Pos: eventlog.Position{Offset: 1}}
	c1 := LogEntry{Entry: projections.Redact(steps[1][0]), Pos: eventlog.Position{Offset: 2}}
	unl := LogEntry{Entry: projections.Redact(OtherEvents()[len(OtherEvents())-1]), Pos: eventlog.Position{Offset: 3}}
	for _, l := range []LogEntry{reg, c1, unl} {
		if !apply(t, b, l) {
			t.Fatalf("first delivery of %s: applied=false", l.Key())
		}
	}
	for round := 0; round < 2; round++ {
		for _, l := range []LogEntry{c1, reg, unl} {
			if apply(t, b, l) {
				t.Errorf("redelivery %d of %s: applied=true", round, l.Key())
			}
		}
	}
	p := profile(t, b, LaoZhang)
	if p.EventCount != 2 || p.CountsByBureau["hotline-12315"] != 1 || len(p.OpenComplaints) != 1 || p.LastPosition != c1.Pos {
		t.Errorf("after redeliveries: %+v", p)
	}
	h := allHistory(t, b, projections.HistoryQuery{USCC: LaoZhang}, 2)
	equalKeys(t, "history after redeliveries", keysOf(h), []string{c1.Key(), reg.Key()})
	for _, q := range []string{"火锅底料", "老张火锅店"} {
		r, err := b.SearchEvents(ctx, projections.EventQuery{Q: q, Types: []string{events.TypeComplaintReceived}})
		if err != nil || r.Total != 1 {
			t.Errorf("SearchEvents %q after redeliveries: %d hits, %v; want 1", q, r.Total, err)
		}
	}
	if r, err := b.SearchMerchants(ctx, projections.MerchantQuery{Q: "火锅"}); err != nil || r.Total != 1 {
		t.Errorf("SearchMerchants after redeliveries: %d hits, %v; want 1", r.Total, err)
	}
	u, err := b.Unlinked(ctx, 0)
	if err != nil || len(u) != 1 {
		t.Errorf("Unlinked after redeliveries: %d, %v; want 1", len(u), err)
	}
}

// Concurrent merchants: ConcurrentWorkers goroutines, each applying the events of its own
// merchants in order, all at once.
const (
	concurrentWorkers   = 16
	merchantsPerWorker  = 4
	eventsPerMerchant   = 10
	concurrentUSCCStart = 100
)

func concurrentName(m int) string { return fmt.Sprintf("并发测试%02d号店", m) }

func testConcurrent(t *testing.T, o opener) {
	b := o.fresh(t)
	ctx := ctxOf(t)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, concurrentWorkers)
	for w := 0; w < concurrentWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var offset int64
			for i := 0; i < eventsPerMerchant; i++ {
				for j := 0; j < merchantsPerWorker; j++ {
					m := w*merchantsPerWorker + j
					uscc := USCC(concurrentUSCCStart + m)
					id := fmt.Sprintf("cc-%02d-%02d", m, i)
					var ev events.Event
					switch {
					case i == 0:
						ev = registered(uscc, id, concurrentName(m), Dongba, "F5212", "利州区东坝街道并发路"+fmt.Sprint(m)+"号", 30)
					case i%2 == 1:
						ev = complaint("hotline-12315", uscc, id, "CC-"+id, "商品质量", "并发投诉", 30+float64(i))
					default:
						ev = inspection("amr", uscc, id, "pass", "并发检查", 30+float64(i))
					}
					offset++
					pos := eventlog.Position{Partition: int32(w), Offset: offset}
					applied, err := b.Apply(ctx, projections.Redact(ev), pos, projections.FoldProfile)
					if err != nil || !applied {
						errs <- fmt.Errorf("Apply %s: applied %v, %v", id, applied, err)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := concurrentWorkers * merchantsPerWorker * eventsPerMerchant
	t.Logf("%d events from %d goroutines in %v", total, concurrentWorkers, time.Since(start))
	for m := 0; m < concurrentWorkers*merchantsPerWorker; m++ {
		uscc := USCC(concurrentUSCCStart + m)
		p := profile(t, b, uscc)
		if p.EventCount != eventsPerMerchant || p.Name != concurrentName(m) ||
			p.CountsByType[events.TypeComplaintReceived] != eventsPerMerchant/2 {
			t.Errorf("merchant %d: %d events, name %q, by type %v", m, p.EventCount, p.Name, p.CountsByType)
		}
		h := allHistory(t, b, projections.HistoryQuery{USCC: uscc, Limit: 4}, 4)
		if len(h) != eventsPerMerchant || h[0].Event.ID != fmt.Sprintf("cc-%02d-%02d", m, eventsPerMerchant-1) {
			t.Errorf("merchant %d: history %q", m, keysOf(h))
		}
	}
	if r, err := b.SearchMerchants(ctx, projections.MerchantQuery{Q: "并发测试", Limit: projections.MaxLimit}); err != nil ||
		r.Total != concurrentWorkers*merchantsPerWorker {
		t.Errorf("SearchMerchants 并发测试: %d, %v; want %d", r.Total, err, concurrentWorkers*merchantsPerWorker)
	}
	if r, err := b.SearchEvents(ctx, projections.EventQuery{Q: "并发测试"}); err != nil || r.Total != total {
		t.Errorf("SearchEvents 并发测试: %d, %v; want %d", r.Total, err, total)
	}
	if r, err := b.SearchEvents(ctx, projections.EventQuery{Q: "并发投诉"}); err != nil || r.Total != total/2 {
		t.Errorf("SearchEvents 并发投诉: %d, %v; want %d", r.Total, err, total/2)
	}
}

// testRebuildEquality builds one backend as the live projector would (concurrently, with
// duplicates and redeliveries) and one by a plain replay of the log; every answer must agree.
func testRebuildEquality(t *testing.T, o opener) {
	log := Fixture()
	ctx := ctxOf(t)
	live := o.fresh(t)
	if err := ApplyAll(ctx, live, log); err != nil {
		t.Fatal(err)
	}
	if err := ApplyAll(ctx, live, deliveredAgain(log, 3)); err != nil {
		t.Fatal(err)
	}
	a := sameSnapshots(t, live, applyInOrder(t, o, log), FixtureMerchants(), "live and rebuilt stores differ")
	if !strings.Contains(a, "老张火锅店") || strings.Count(a, `"key"`) < len(log) {
		t.Errorf("snapshot misses the fixture:\n%.2000s", a)
	}
}

// FixtureMerchants lists the codes the fixture names, and one it does not.
func FixtureMerchants() []string {
	return []string{LaoZhang, Fruit, Station, Boiler, Farm, Corner, Noodles, Unknown, USCC(999)}
}

// applyInOrder applies log to a fresh backend one event at a time, in log order.
func applyInOrder(t *testing.T, o opener, log []LogEntry) Backend {
	t.Helper()
	b := o.fresh(t)
	for _, l := range log {
		if _, err := b.Apply(ctxOf(t), l.Entry, l.Pos, projections.FoldProfile); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// sameSnapshots fails the test (saying why) when got answers differently from want for usccs,
// and returns want's snapshot.
func sameSnapshots(t *testing.T, want, got Backend, usccs []string, why string) string {
	t.Helper()
	a, err := Snapshot(ctxOf(t), want, usccs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Snapshot(ctxOf(t), got, usccs)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(a, b); d != "" {
		t.Errorf("%s:\n%s", why, d)
	}
	return a
}

// deliveredAgain is what a log delivers a second time: of every n events, the first again at its
// position (a redelivery) and the second at another position (a duplicate, published twice).
func deliveredAgain(log []LogEntry, n int) []LogEntry {
	var again []LogEntry
	for i, l := range log {
		switch i % n {
		case 0:
			again = append(again, l)
		case 1:
			l.Pos.Offset += 10_000
			again = append(again, l)
		}
	}
	return again
}
