// Package incidentstest is the conformance suite of incidents.Store: every backend runs it and
// must pass it all. It defines "same behaviour" for the incident view.
package incidentstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections/incidents"
)

// Open returns an empty store; the suite closes it.
type Open func(t *testing.T) incidents.Store

var (
	cst = time.FixedZone("CST", 8*3600)
	t0  = time.Date(2026, 9, 29, 9, 0, 0, 0, cst)
)

func lifecycle(typ, id string, seq int, at time.Time, mut func(*events.IncidentDetected)) events.Event {
	d := events.IncidentDetected{
		IncidentID: id, Rule: "merchant-complaint-burst", Scope: "merchant:" + events.DemoUSCC(2), Count: 10 + seq,
		Window: "PT2H", FirstAt: t0, LastAt: at, ResponsibleBureau: []string{"amr", "culture", "commerce"},
		Level: "IV", Title: "健身会所集中投诉", Fingerprint: "0123456789abcdef", Merchant: events.DemoUSCC(2),
		Industry: "R8930", Township: "510802002", Category: "预付卡", Sequence: seq,
	}
	if mut != nil {
		mut(&d)
	}
	var data any = d
	if typ == events.TypeIncidentResolved {
		data = events.IncidentResolved{IncidentID: id, Rule: d.Rule, Fingerprint: d.Fingerprint, ResolvedAt: at,
			Reason: events.ResolvedQuietPeriod, Sequence: seq}
	}
	b, _ := json.Marshal(data)
	return events.Event{SpecVersion: events.SpecVersion, ID: fmt.Sprintf("%s.%d", id, seq), Source: events.HubSource,
		Type: typ, Subject: d.Merchant, Time: at, DataContentType: "application/json", Data: b}
}

func silenceEvent(typ, id string, at time.Time) events.Event {
	var data any = events.SilenceCreated{SilenceID: id, Matchers: events.SilenceMatchers{Rule: "category-surge"},
		Reason: "专班处置中", StartsAt: at, EndsAt: at.Add(24 * time.Hour), CreatedBy: "amr"}
	if typ == events.TypeSilenceDeleted {
		data = events.SilenceDeleted{SilenceID: id, DeletedAt: at, DeletedBy: "amr"}
	}
	b, _ := json.Marshal(data)
	return events.Event{SpecVersion: events.SpecVersion, ID: id + "-" + typ, Source: events.SourceOf("amr"),
		Type: typ, Time: at, DataContentType: "application/json", Data: b}
}

// Run runs the whole suite against a backend.
func Run(t *testing.T, open Open) {
	ctx := context.Background()
	apply := func(t *testing.T, s incidents.Store, evs ...events.Event) {
		t.Helper()
		for _, ev := range evs {
			if ps := events.ValidateHub(ev); ps != nil {
				t.Fatalf("suite event %s invalid: %v", ev.ID, ps)
			}
			if err := s.Apply(ctx, ev); err != nil {
				t.Fatalf("Apply %s: %v", ev.ID, err)
			}
		}
	}

	t.Run("lifecycle", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		det := lifecycle(events.TypeIncidentDetected, "INC-a-1", 1, t0.Add(37*time.Minute), nil)
		upd := lifecycle(events.TypeIncidentUpdated, "INC-a-1", 2, t0.Add(90*time.Minute), func(d *events.IncidentDetected) { d.Level, d.Count = "III", 40 })
		res := lifecycle(events.TypeIncidentResolved, "INC-a-1", 3, t0.Add(26*time.Hour), nil)
		apply(t, s, det, det, upd)
		inc, ok, err := s.Incident(ctx, "INC-a-1")
		if err != nil || !ok {
			t.Fatalf("Incident: %v %v", ok, err)
		}
		if inc.Status != incidents.StatusOpen || inc.Level != "III" || inc.Count != 40 || !inc.Routed ||
			!inc.DetectedAt.Equal(det.Time) || !inc.UpdatedAt.Equal(upd.Time) {
			t.Errorf("open incident %+v", inc)
		}
		apply(t, s, res, upd) // a stale redelivery after the resolution changes nothing
		inc, _, _ = s.Incident(ctx, "INC-a-1")
		if inc.Status != incidents.StatusResolved || inc.ResolvedAt == nil || !inc.ResolvedAt.Equal(res.Time) ||
			inc.ResolveReason != events.ResolvedQuietPeriod || inc.Level != "III" || inc.Routed {
			t.Errorf("resolved incident %+v", inc)
		}
		if _, ok, err := s.Incident(ctx, "INC-none"); ok || err != nil {
			t.Errorf("unknown incident: %v %v", ok, err)
		}
		feed, err := s.Feed(ctx, 0, 10)
		if err != nil || len(feed) != 3 {
			t.Fatalf("feed %v %v, want each event once", feed, err)
		}
		for i, want := range []string{det.ID, upd.ID, res.ID} {
			if feed[i].Event.ID != want || (i > 0 && feed[i].Seq <= feed[i-1].Seq) {
				t.Errorf("feed[%d] = %d %s, want %s in growing order", i, feed[i].Seq, feed[i].Event.ID, want)
			}
		}
		if rest, _ := s.Feed(ctx, feed[0].Seq, 10); len(rest) != 2 || rest[0].Event.ID != upd.ID {
			t.Errorf("feed after the first: %v", rest)
		}
		if rest, _ := s.Feed(ctx, feed[2].Seq, 10); len(rest) != 0 {
			t.Errorf("feed after the last: %v", rest)
		}
	})

	t.Run("out of order", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		// Subject-less lifecycle events may take different partitions: any order folds the same.
		det := lifecycle(events.TypeIncidentDetected, "INC-b-1", 1, t0, nil)
		upd := lifecycle(events.TypeIncidentUpdated, "INC-b-1", 2, t0.Add(time.Hour), func(d *events.IncidentDetected) { d.Count = 99 })
		res := lifecycle(events.TypeIncidentResolved, "INC-b-1", 3, t0.Add(30*time.Hour), nil)
		apply(t, s, res, upd, det)
		inc, _, _ := s.Incident(ctx, "INC-b-1")
		if inc.Status != incidents.StatusResolved || inc.Count != 99 || !inc.DetectedAt.Equal(t0) || inc.Title == "" {
			t.Errorf("incident %+v", inc)
		}
	})

	t.Run("filters and pages", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		for i := range 7 {
			at := t0.Add(time.Duration(i) * time.Hour)
			apply(t, s, lifecycle(events.TypeIncidentDetected, fmt.Sprintf("INC-f-%d", i), 1, at, func(d *events.IncidentDetected) {
				if i%2 == 1 {
					d.Rule, d.Level, d.Industry, d.Township = "category-surge", "II", "", ""
					d.ResponsibleBureau = []string{"amr", "commerce", "cca"}
				}
				if i == 6 {
					d.InhibitedBy = "INC-f-5"
				}
			}))
		}
		apply(t, s, lifecycle(events.TypeIncidentResolved, "INC-f-0", 2, t0.Add(30*time.Hour), nil))
		ids := func(f incidents.Filter) []string {
			t.Helper()
			p, err := s.Incidents(ctx, f)
			if err != nil {
				t.Fatalf("Incidents(%+v): %v", f, err)
			}
			var out []string
			for _, inc := range p.Incidents {
				out = append(out, inc.IncidentID)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    incidents.Filter
			want []string
		}{
			{"all, newest first", incidents.Filter{}, []string{"INC-f-6", "INC-f-5", "INC-f-4", "INC-f-3", "INC-f-2", "INC-f-1", "INC-f-0"}},
			{"rule", incidents.Filter{Rule: "category-surge"}, []string{"INC-f-5", "INC-f-3", "INC-f-1"}},
			{"level", incidents.Filter{Level: "IV"}, []string{"INC-f-6", "INC-f-4", "INC-f-2", "INC-f-0"}},
			{"status resolved", incidents.Filter{Status: incidents.StatusResolved}, []string{"INC-f-0"}},
			{"bureau", incidents.Filter{Bureau: "cca"}, []string{"INC-f-5", "INC-f-3", "INC-f-1"}},
			{"industry and township name", incidents.Filter{Industry: "R8930", Township: "嘉陵街道", Status: incidents.StatusOpen}, []string{"INC-f-6", "INC-f-4", "INC-f-2"}},
			{"time", incidents.Filter{From: t0.Add(2 * time.Hour), To: t0.Add(4 * time.Hour)}, []string{"INC-f-3", "INC-f-2"}},
			{"nothing", incidents.Filter{Bureau: "court"}, nil},
		} {
			if got := ids(tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		inhibited, _, _ := s.Incident(ctx, "INC-f-6")
		if inhibited.Routed || inhibited.InhibitedBy != "INC-f-5" {
			t.Errorf("inhibited incident %+v", inhibited)
		}
		// Pages of 3 cover everything once, in order.
		var got []string
		f := incidents.Filter{Limit: 3}
		for range 5 {
			p, err := s.Incidents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, inc := range p.Incidents {
				got = append(got, inc.IncidentID)
			}
			if p.Next == "" {
				break
			}
			f.Cursor = p.Next
		}
		if want := ids(incidents.Filter{}); !slices.Equal(got, want) {
			t.Errorf("pages %v, want %v", got, want)
		}
		for _, f := range []incidents.Filter{{Cursor: "garbage!"}, {Limit: 100000}, {Limit: -1}} {
			if _, err := s.Incidents(ctx, f); !errors.Is(err, incidents.ErrBadQuery) {
				t.Errorf("Incidents(%+v) = %v, want ErrBadQuery", f, err)
			}
		}
	})

	t.Run("silences", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		apply(t, s, silenceEvent(events.TypeSilenceCreated, "SIL-1", t0), silenceEvent(events.TypeSilenceCreated, "SIL-2", t0.Add(time.Hour)))
		apply(t, s, silenceEvent(events.TypeSilenceDeleted, "SIL-1", t0.Add(2*time.Hour)))
		apply(t, s, silenceEvent(events.TypeSilenceDeleted, "SIL-3", t0)) // deleted before created (another partition)
		list, err := s.Silences(ctx)
		if err != nil || len(list) != 2 || list[0].SilenceID != "SIL-2" || list[1].SilenceID != "SIL-1" {
			t.Fatalf("silences %+v %v", list, err)
		}
		one, ok, _ := s.Silence(ctx, "SIL-1")
		if !ok || one.DeletedAt == nil || one.Active(t0.Add(3*time.Hour)) || !one.Active(t0.Add(time.Hour)) {
			t.Errorf("SIL-1 %+v", one)
		}
		if _, ok, _ := s.Silence(ctx, "SIL-3"); ok {
			t.Errorf("a silence only deleted is listed")
		}
		if feed, _ := s.Feed(ctx, 0, 10); len(feed) != 0 {
			t.Errorf("silences in the incident feed: %v", feed)
		}
		// Other event types are ignored.
		if err := s.Apply(ctx, events.Example(events.TypeComplaintReceived)); err != nil {
			t.Error(err)
		}
	})
}
