package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

var cst = time.FixedZone("CST", 8*3600)

// windowTimes are event times around the days' edges (China Standard Time midnights, UTC
// midnights) and far apart, to the nanosecond.
func windowTimes() []time.Time {
	d0 := time.Date(2026, 3, 10, 0, 0, 0, 0, cst)
	var ts []time.Time
	for _, day := range []int{-400, -1, 0, 1, 2, 5} {
		m := d0.AddDate(0, 0, day)
		for _, off := range []time.Duration{-time.Nanosecond, 0, time.Nanosecond, 8 * time.Hour, 8*time.Hour + time.Nanosecond,
			13*time.Hour + 7*time.Minute} {
			ts = append(ts, m.Add(off))
		}
	}
	return append(ts, time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, cst))
}

// TestEventWindowExact: a From/To window finds exactly the events with From ≤ time < To, for
// bounds at, just before and just after the days' edges, on one day, adjacent days and far
// apart, and open on either side.
func TestEventWindowExact(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	ts := windowTimes()
	for i, at := range ts {
		// Two events at each time: ties are ordered by key.
		for j := range 2 {
			id := fmt.Sprintf("w%02d-%d", i, j)
			ev := storetest.Event("hotline-12315", events.TypeComplaintReceived, storetest.USCC(20+i%3), id, at,
				events.ComplaintReceived{ComplaintID: "12315-" + id, Channel: "12315", Category: "价格", Summary: "预付卡退费", ReceivedAt: at})
			pos := eventlog.Position{Offset: int64(2*i + j + 1)}
			if _, err := s.Apply(ctx, projections.Redact(ev), pos, projections.FoldProfile); err != nil {
				t.Fatal(err)
			}
		}
	}
	bounds := []time.Time{{}}
	for _, day := range []int{-1, 0, 1, 2} {
		m := time.Date(2026, 3, 10+day, 0, 0, 0, 0, cst)
		for _, off := range []time.Duration{-time.Nanosecond, 0, time.Nanosecond, 8 * time.Hour, 13*time.Hour + 7*time.Minute,
			13*time.Hour + 7*time.Minute + time.Nanosecond} {
			bounds = append(bounds, m.Add(off))
		}
	}
	for _, from := range bounds {
		for _, to := range bounds {
			var want []string
			for i, at := range ts {
				if (from.IsZero() || !at.Before(from)) && (to.IsZero() || at.Before(to)) {
					want = append(want, fmt.Sprintf("w%02d-0", i), fmt.Sprintf("w%02d-1", i))
				}
			}
			slices.SortStableFunc(want, func(a, b string) int {
				ta, tb := ts[idx(a)], ts[idx(b)]
				if c := tb.Compare(ta); c != 0 {
					return c // newest first
				}
				if a < b {
					return -1
				}
				return 1
			})
			res, err := s.SearchEvents(ctx, projections.EventQuery{From: from, To: to, Limit: projections.MaxLimit})
			if err != nil {
				t.Fatalf("window [%v, %v): %v", from, to, err)
			}
			var got []string
			for _, e := range res.Entries {
				got = append(got, e.Event.ID)
			}
			if !slices.Equal(got, want) || res.Total != len(want) {
				t.Fatalf("window [%v, %v): got %d %v, want %d %v", from, to, res.Total, got, len(want), want)
			}
		}
	}
}

func idx(id string) int {
	var i, j int
	if _, err := fmt.Sscanf(id, "w%02d-%d", &i, &j); err != nil {
		panic(err)
	}
	return i
}

// TestOutdatedIndexRebuilt: an index built with another mapping (here, the one before the day
// field: time as a bleve datetime) or without a mapping fingerprint is re-created from views.db
// at Open, and answers as a store rebuilt from the log; a current one is kept as it is.
func TestOutdatedIndexRebuilt(t *testing.T) {
	for _, name := range []string{"events.bleve", "merchants.bleve"} {
		t.Run(name, func(t *testing.T) {
			dir, log := fixtureFolder(t)
			// Replace the index by an empty one with an old mapping and no fingerprint, as a data
			// folder written by an earlier build has.
			path := filepath.Join(dir, name)
			if err := os.RemoveAll(path); err != nil {
				t.Fatal(err)
			}
			old := merchantMapping() // the mapping of today, but no fingerprint
			if name == "events.bleve" {
				old = eventMapping()
				dt := bleve.NewDateTimeFieldMapping()
				dt.Store, dt.IncludeInAll, dt.DocValues = false, false, false
				old.DefaultMapping.AddFieldMappingsAt("time", dt)
			}
			idx, err := bleve.NewUsing(path, old, scorch.Name, scorch.Name, scorchConfig())
			if err != nil {
				t.Fatal(err)
			}
			if err := idx.Close(); err != nil {
				t.Fatal(err)
			}

			s := open(t, dir)
			assertSameAs(t, s, rebuilt(t, log))
			for idx, m := range map[bleve.Index]func() *mapping.IndexMappingImpl{s.events: eventMapping, s.merchants: merchantMapping} {
				want, _ := fingerprint(m())
				if have, err := idx.GetInternal(keyMapping); err != nil || string(have) != string(want) {
					t.Errorf("fingerprint after Open: %s (%v), want %s", have, err, want)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Reopened as it is now: nothing is re-created (a marker in the index survives).
			marker := []byte("test.marker")
			s = open(t, dir)
			if err := s.events.SetInternal(marker, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir)
			defer s.Close()
			if v, err := s.events.GetInternal(marker); err != nil || string(v) != "x" {
				t.Errorf("current events index re-created at Open (marker %q, %v)", v, err)
			}
			assertSameAs(t, s, rebuilt(t, log))
		})
	}
}

// TestFingerprint: a change of the mapping changes the fingerprint; the same mapping built twice
// gives the same one.
func TestFingerprint(t *testing.T) {
	a, err := fingerprint(eventMapping())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fingerprint(eventMapping())
	m, _ := fingerprint(merchantMapping())
	changed := eventMapping()
	kw := bleve.NewKeywordFieldMapping()
	changed.DefaultMapping.AddFieldMappingsAt("extra", kw)
	c, _ := fingerprint(changed)
	if string(a) != string(b) {
		t.Errorf("same mapping, fingerprints %s and %s", a, b)
	}
	if string(a) == string(m) || string(a) == string(c) {
		t.Errorf("different mappings share a fingerprint: %s %s %s", a, m, c)
	}
}
