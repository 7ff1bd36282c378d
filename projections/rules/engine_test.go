package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
)

var (
	gym     = events.DemoUSCC(2)
	cafe    = events.DemoUSCC(7)
	t0      = time.Date(2026, 9, 29, 9, 0, 0, 0, Shanghai) // a Tuesday before National Day
	jialing = "510802002"
)

func ev(typ, source, subject string, at time.Time, data any) events.Event {
	b, _ := json.Marshal(data)
	return events.Event{SpecVersion: events.SpecVersion, ID: fmt.Sprintf("%s-%s-%d", typ, subject, at.UnixNano()),
		Source: events.SourceOf(source), Type: typ, Subject: subject, Time: at, Data: b}
}

func registered(uscc, name, industry string, at time.Time) events.Event {
	return ev(events.TypeMerchantRegistered, "amr", uscc, at, events.MerchantRegistered{
		Name: name, Township: "嘉陵街道", Industry: industry, Address: "嘉陵路1号", RegisteredAt: at})
}

func complaintAt(uscc, id, category string, at time.Time) events.Event {
	channel, source := "12315", "hotline-12315"
	if len(id)%2 == 0 {
		channel, source = "12345", "hotline-12345"
	}
	e := ev(events.TypeComplaintReceived, source, uscc, at, events.ComplaintReceived{
		ComplaintID: id, Channel: channel, Category: category, Summary: "健身房闭店，预付卡无法退费", ReceivedAt: at})
	e.ID = id
	return e
}

// run folds evs into a fresh engine, advancing to end, and returns what it wrote.
func run(t *testing.T, evs []events.Event, end time.Time) []events.Event {
	t.Helper()
	e := New(DefaultConfig(), DefaultRouting())
	for _, x := range evs {
		e.Apply(x)
	}
	e.Advance(end)
	out := slices.Clone(e.Outbox())
	for _, o := range out {
		if ps := events.ValidateHub(o); ps != nil {
			t.Errorf("%s %s does not validate: %v", o.Type, o.ID, ps)
		}
	}
	return out
}

func incidentData(t *testing.T, e events.Event) events.IncidentDetected {
	t.Helper()
	var d events.IncidentDetected
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func ofType(out []events.Event, typ string) []events.Event {
	return slices.DeleteFunc(slices.Clone(out), func(e events.Event) bool { return e.Type != typ })
}

// gymEvents: the gym registers, then 40 prepaid-card complaints arrive within two hours.
func gymEvents() []events.Event {
	evs := []events.Event{registered(gym, "利州区动感健身会所", "R8930", t0.Add(-100*24*time.Hour))}
	for i := range 40 {
		evs = append(evs, complaintAt(gym, fmt.Sprintf("C%03d", i), "预付卡", t0.Add(time.Duration(i)*3*time.Minute)))
	}
	return evs
}

func TestPrepaidCardGymRaisesOneIncident(t *testing.T) {
	out := run(t, gymEvents(), t0.Add(3*time.Hour))
	det := ofType(out, events.TypeIncidentDetected)
	if len(det) != 1 {
		t.Fatalf("%d incidents detected, want 1: %v", len(det), out)
	}
	d := incidentData(t, det[0])
	if d.Rule != "merchant-complaint-burst" || d.Merchant != gym || d.Level != "IV" || d.Category != "预付卡" {
		t.Errorf("detected %+v", d)
	}
	// The 10th complaint (t0+27m) starts the pending period; it fires 10 minutes later.
	if want := t0.Add(37 * time.Minute); !det[0].Time.Equal(want) {
		t.Errorf("detected at %s, want %s", det[0].Time, want)
	}
	if !slices.Equal(d.ResponsibleBureau, []string{"amr", "culture", "commerce"}) {
		t.Errorf("routed to %v, want amr (lead), culture (sport), commerce (prepaid cards)", d.ResponsibleBureau)
	}
	last := incidentData(t, out[len(out)-1])
	if out[len(out)-1].Type != events.TypeIncidentUpdated || last.Count != 40 || last.Level != "III" || last.IncidentID != d.IncidentID {
		t.Errorf("last event %s %+v, want an update to 40 complaints at level III", out[len(out)-1].Type, last)
	}
	for i, o := range out {
		if want := fmt.Sprintf("%s.%d", d.IncidentID, i+1); o.ID != want {
			t.Errorf("event %d id %s, want %s", i, o.ID, want)
		}
	}
	// A day without complaints resolves it.
	out = run(t, gymEvents(), t0.Add(30*time.Hour))
	res := ofType(out, events.TypeIncidentResolved)
	if len(res) != 1 || !res[0].Time.Equal(t0.Add(117*time.Minute+24*time.Hour)) {
		t.Errorf("resolved %v", res)
	}
}

func TestReplayAndRedeliveryWriteTheSameEvents(t *testing.T) {
	evs := gymEvents()
	want := run(t, evs, t0.Add(30*time.Hour))
	// Each complaint delivered twice (at-least-once delivery) changes nothing.
	var twice []events.Event
	for _, e := range evs {
		twice = append(twice, e, e)
	}
	if got := run(t, twice, t0.Add(30*time.Hour)); !reflect.DeepEqual(got, want) {
		t.Errorf("redelivery changed the output: %d events, want %d", len(got), len(want))
	}
	// Advancing by small clock steps in between yields the same events as one step at the end.
	e := New(DefaultConfig(), DefaultRouting())
	for _, x := range evs {
		e.Apply(x)
		e.Advance(x.Time.Add(time.Minute))
	}
	for at := t0; at.Before(t0.Add(30 * time.Hour)); at = at.Add(7 * time.Minute) {
		e.Advance(at)
	}
	e.Advance(t0.Add(30 * time.Hour))
	if got := e.Outbox(); len(got) != len(want) || got[0].ID != want[0].ID || got[len(got)-1].ID != want[len(want)-1].ID {
		t.Errorf("stepwise clock: %d events, want %d", len(got), len(want))
	}
}

func TestBelowThresholdOrTooSlowRaisesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		every time.Duration
	}{
		{"nine complaints", 9, time.Minute},
		{"ten complaints over a day", 10, 3 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := []events.Event{registered(gym, "健身会所", "R8930", t0.Add(-time.Hour))}
			for i := range tc.n {
				evs = append(evs, complaintAt(gym, fmt.Sprintf("C%d", i), "预付卡", t0.Add(time.Duration(i)*tc.every)))
			}
			if out := run(t, evs, t0.Add(48*time.Hour)); len(out) != 0 {
				t.Errorf("wrote %d events", len(out))
			}
		})
	}
}

func TestCategorySurgeInhibitsMerchantBursts(t *testing.T) {
	// Five training schools in several townships take 6 prepaid-card complaints each in one
	// morning: a district-wide surge (30 ≥ 20 from ≥ 3 merchants); the merchant rule needs 10.
	// A sixth school takes 12 on its own: its burst is contained in the surge and inhibited.
	var evs []events.Event
	n := 0
	for m := range 6 {
		uscc := events.DemoUSCC(100 + m)
		evs = append(evs, registered(uscc, fmt.Sprintf("培训学校%d", m), "P8393", t0.Add(-time.Hour)))
		k := 6
		if m == 5 {
			k = 12
		}
		for range k {
			n++
			evs = append(evs, complaintAt(uscc, fmt.Sprintf("S%03d", n), "预付卡", t0.Add(time.Duration(n)*2*time.Minute)))
		}
	}
	out := run(t, evs, t0.Add(4*time.Hour))
	rules := map[string]events.IncidentDetected{} // latest state per rule
	for _, o := range out {
		if o.Type != events.TypeIncidentResolved {
			x := incidentData(t, o)
			rules[x.Rule] = x
		}
	}
	if len(ofType(out, events.TypeIncidentDetected)) != 3 {
		t.Errorf("want three incidents: the surge, the spike in 嘉陵街道 (all schools are there) and the burst")
	}
	surge, burst := rules["category-surge"], rules["merchant-complaint-burst"]
	if surge.IncidentID == "" || burst.IncidentID == "" {
		t.Fatalf("incidents %v", rules)
	}
	if !slices.Contains(surge.ResponsibleBureau, "cca") || surge.ResponsibleBureau[0] != "amr" {
		t.Errorf("surge routed to %v", surge.ResponsibleBureau)
	}
	spike := rules["industry-township-spike"]
	if wider := []string{surge.IncidentID, spike.IncidentID}; !slices.Contains(wider, burst.InhibitedBy) || burst.Routed() {
		t.Errorf("burst inhibited by %q, want one of %v", burst.InhibitedBy, wider)
	}
	if spike.Industry != "P8393" || spike.Township != jialing || !slices.Equal(spike.ResponsibleBureau, []string{"amr", "education", "commerce"}) {
		t.Errorf("spike %+v", spike)
	}
}

func TestSilenceFlagsMatchingIncidents(t *testing.T) {
	sil := ev(events.TypeSilenceCreated, "amr", "", t0.Add(-time.Hour), events.SilenceCreated{
		SilenceID: "SIL-1", Matchers: events.SilenceMatchers{Merchant: gym}, Reason: "已成立专班",
		StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(time.Hour), CreatedBy: "amr"})
	out := run(t, append([]events.Event{sil}, gymEvents()...), t0.Add(3*time.Hour))
	det := incidentData(t, ofType(out, events.TypeIncidentDetected)[0])
	if det.SilencedBy != "SIL-1" || det.Routed() {
		t.Errorf("detected silenced_by %q", det.SilencedBy)
	}
	// The silence ends at t0+1h: an update clears the flag then.
	var cleared bool
	for _, o := range ofType(out, events.TypeIncidentUpdated) {
		if d := incidentData(t, o); d.SilencedBy == "" && o.Time.Equal(t0.Add(time.Hour)) {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("no update clearing the silence at its end")
	}
}

func TestCreditListingAsksCertifierToReview(t *testing.T) {
	farm := events.DemoUSCC(4)
	evs := []events.Event{
		registered(farm, "示例农家乐", "H6210", t0.Add(-400*24*time.Hour)),
		ev(events.TypeCertificationGranted, "tourism", farm, t0.Add(-300*24*time.Hour), events.CertificationGranted{
			CertID: "XJ-1", Scheme: "star_farmhouse", GrantedAt: t0.Add(-300 * 24 * time.Hour)}),
		ev(events.TypeCreditListed, "amr", farm, t0, events.CreditListed{List: "abnormal_operation", Reason: "失联", ListedAt: t0}),
		ev(events.TypeCreditListed, "amr", farm, t0.Add(time.Hour), events.CreditListed{List: "serious_violation", Reason: "严重违法", ListedAt: t0.Add(time.Hour)}),
		ev(events.TypeCertificationRevoked, "tourism", farm, t0.Add(48*time.Hour), events.CertificationRevoked{
			CertID: "XJ-1", Scheme: "star_farmhouse", RevokedAt: t0.Add(48 * time.Hour)}),
	}
	out := run(t, evs, t0.Add(72*time.Hour))
	if len(out) != 2 || out[0].Type != events.TypeIncidentDetected || out[1].Type != events.TypeIncidentResolved {
		t.Fatalf("wrote %v", out)
	}
	d := incidentData(t, out[0])
	if d.Rule != RuleCertificationReview || d.CertID != "XJ-1" || !slices.Equal(d.ResponsibleBureau, []string{"tourism", "amr"}) {
		t.Errorf("review %+v", d)
	}
	var r events.IncidentResolved
	_ = json.Unmarshal(out[1].Data, &r)
	if r.Reason != events.ResolvedConditionCleared || r.IncidentID != d.IncidentID {
		t.Errorf("resolved %+v", r)
	}
	// A penalty of suspension does the same; a fine does not.
	for kind, want := range map[string]int{"suspension": 1, "revocation": 1, "fine": 0} {
		evs := append(slices.Clone(evs[:2]), ev(events.TypePenaltyImposed, "amr", farm, t0, events.PenaltyImposed{
			DecisionNo: "罚-1", Kind: kind, LegalBasis: "消法", DecidedAt: t0}))
		if got := len(run(t, evs, t0.Add(time.Hour))); got != want {
			t.Errorf("penalty %s: %d events, want %d", kind, got, want)
		}
	}
}

func TestDemoUnitWithTooManyComplaints(t *testing.T) {
	evs := []events.Event{
		registered(cafe, "示范餐馆", "H6210", t0.Add(-400*24*time.Hour)),
		ev(events.TypeCertificationGranted, "amr", cafe, t0.Add(-300*24*time.Hour), events.CertificationGranted{
			CertID: "SF-1", Scheme: "demo_unit", GrantedAt: t0.Add(-300 * 24 * time.Hour)}),
	}
	for i := range 5 {
		evs = append(evs, complaintAt(cafe, fmt.Sprintf("D%d", i), "食品安全", t0.Add(time.Duration(i)*5*24*time.Hour)))
	}
	det := ofType(run(t, evs, t0.Add(25*24*time.Hour)), events.TypeIncidentDetected)
	if len(det) != 1 {
		t.Fatalf("%d incidents", len(det))
	}
	if d := incidentData(t, det[0]); d.Rule != "demo-unit-complaints" || d.ResponsibleBureau[0] != "amr" || d.Level != "IV" {
		t.Errorf("demo unit incident %+v", d)
	}
}

func TestOverdueAcrossNationalDay(t *testing.T) {
	day := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, Shanghai) }
	for _, tc := range []struct {
		name     string
		deadline time.Time
		closeAt  time.Time // zero: never closed
		alertAt  time.Time // zero: no alert
	}{
		// Saturday 3 October is a holiday: the limit runs to the end of Thursday 8 October.
		{"deadline in the holiday", day(10, 3, 17), time.Time{}, day(10, 9, 0)},
		{"closed on the first working day", day(10, 3, 17), day(10, 8, 16), time.Time{}},
		// Saturday 10 October is an adjusted workday (调休上班): the limit is not moved.
		{"deadline on the adjusted Saturday", day(10, 10, 17), time.Time{}, day(10, 10, 17)},
		{"deadline on a working Wednesday", day(9, 30, 17), time.Time{}, day(9, 30, 17)},
		// Sunday 11 October is an ordinary rest day: Monday 12 October ends the limit.
		{"deadline on a Sunday", day(10, 11, 12), time.Time{}, day(10, 13, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := []events.Event{
				complaintAt(gym, "OD1", "预付卡", day(9, 28, 10)),
				ev(events.TypeComplaintAssigned, "hotline-12345", gym, day(9, 28, 11), events.ComplaintAssigned{
					ComplaintID: "OD1", ToBureau: "commerce", Deadline: tc.deadline}),
			}
			if !tc.closeAt.IsZero() {
				evs = append(evs, ev(events.TypeComplaintClosed, "commerce", gym, tc.closeAt, events.ComplaintClosed{
					ComplaintID: "OD1", Outcome: "refunded", ClosedAt: tc.closeAt}))
			}
			det := ofType(run(t, evs, day(10, 20, 0)), events.TypeIncidentDetected)
			if tc.alertAt.IsZero() {
				if len(det) != 0 {
					t.Errorf("alerted: %v", det)
				}
				return
			}
			if len(det) != 1 || !det[0].Time.Equal(tc.alertAt) {
				t.Fatalf("alerts %v, want one at %s", det, tc.alertAt)
			}
			d := incidentData(t, det[0])
			if d.Rule != RuleComplaintOverdue || d.ComplaintID != "OD1" || !slices.Equal(d.ResponsibleBureau, []string{"commerce", "amr"}) {
				t.Errorf("alert %+v", d)
			}
		})
	}
}

func TestWorkingDays(t *testing.T) {
	for d, want := range map[string]bool{
		"2026-09-30": true, "2026-10-01": false, "2026-10-07": false, "2026-10-08": true,
		"2026-10-10": true, "2026-10-11": false, "2026-02-14": true, "2026-02-16": false, "2026-02-28": true,
	} {
		at, _ := time.ParseInLocation("2006-01-02", d, Shanghai)
		if got := WorkingDay(at.Add(12 * time.Hour)); got != want {
			t.Errorf("%s working day = %v, want %v", d, got, want)
		}
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := DefaultRouting().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, yaml string }{
		{"unknown key", "count_rules: [{name: x, group_by: merchant, window: 1h, min_count: 1, quiet: 1h, levels: {IV: 1}, colour: red}]"},
		{"bad group", "count_rules: [{name: x, group_by: street, window: 1h, min_count: 1, quiet: 1h, levels: {IV: 1}}]"},
		{"bad level", "count_rules: [{name: x, group_by: merchant, window: 1h, min_count: 1, quiet: 1h, levels: {V: 1}}]"},
		{"no window", "count_rules: [{name: x, group_by: merchant, min_count: 1, quiet: 1h, levels: {IV: 1}}]"},
		{"duplicate", "count_rules: [{name: complaint-overdue, group_by: merchant, window: 1h, min_count: 1, quiet: 1h, levels: {IV: 1}}]"},
		{"bad office", "overdue: {enabled: true, office: nobody}"},
	} {
		if _, err := ParseConfig([]byte(tc.yaml)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// TestRestartReplayAdoptsTheLog: a hub whose clock ticked between events writes its lifecycle
// events into the log among the inputs; a restarted engine replays that log without the ticks.
// It must not write an id already written with other content, and its later events continue
// the sequence.
func TestRestartReplayAdoptsTheLog(t *testing.T) {
	a := New(DefaultConfig(), DefaultRouting())
	var log []events.Event
	for _, x := range gymEvents() {
		a.Apply(x)
		log = append(log, x)
		a.Advance(x.Time.Add(2 * time.Minute)) // a tick
		log = append(log, a.Outbox()...)
		a.Commit(len(a.Outbox()))
	}
	a.Advance(t0.Add(3 * time.Hour))
	log = append(log, a.Outbox()...)
	written := map[string]string{}
	for _, x := range log {
		if x.Source == events.HubSource {
			written[x.ID] = string(x.Data)
		}
	}

	b := New(DefaultConfig(), DefaultRouting())
	for _, x := range log {
		b.Apply(x)
	}
	b.Advance(t0.Add(30 * time.Hour))
	var resolved int
	for _, x := range b.Outbox() {
		if prev, ok := written[x.ID]; ok && prev != string(x.Data) {
			t.Errorf("replay rewrote %s with other content:\n was %s\n now %s", x.ID, prev, x.Data)
		}
		if x.Type == events.TypeIncidentResolved {
			resolved++
			if _, ok := written[x.ID]; ok {
				t.Errorf("resolution %s reuses an id", x.ID)
			}
		}
		if x.Type == events.TypeIncidentDetected {
			if _, ok := written[x.ID]; !ok {
				t.Errorf("replay raised a new incident %s", x.ID)
			}
		}
	}
	if resolved != 1 {
		t.Errorf("%d resolutions after the replay, want 1", resolved)
	}
}

// TestOwnEventsReadBackLive: in a running hub the engine reads its own lifecycle events back
// from the log after it moved on; they must not roll its state back.
func TestOwnEventsReadBackLive(t *testing.T) {
	e := New(DefaultConfig(), DefaultRouting())
	var pending []events.Event
	for _, x := range gymEvents() {
		e.Apply(x)
		for _, o := range pending { // written a little earlier, read back now
			e.Apply(o)
		}
		pending = slices.Clone(e.Outbox())
		e.Commit(len(pending))
	}
	e.Advance(t0.Add(3 * time.Hour))
	out := e.Outbox()
	if last := incidentData(t, out[len(out)-1]); last.Count != 40 || last.Level != "III" {
		t.Errorf("final state %+v", last)
	}
}

// TestClockLeadProtectsBackfills: a clock far ahead of the data (a backfill of last year's cases)
// advances the engine at most clock_lead beyond the latest event, so a complaint closed in time
// but forwarded after a tick raises no overdue alert; an idle stream still alerts within the lead.
func TestClockLeadProtectsBackfills(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, Shanghai) }
	received := complaintAt(gym, "BF1", "预付卡", day(2, 9))
	assigned := ev(events.TypeComplaintAssigned, "hotline-12345", gym, day(2, 10), events.ComplaintAssigned{
		ComplaintID: "BF1", ToBureau: "commerce", Deadline: day(4, 17)})
	closed := ev(events.TypeComplaintClosed, "commerce", gym, day(4, 9), events.ComplaintClosed{
		ComplaintID: "BF1", Outcome: "mediated", ClosedAt: day(4, 9)})

	e := New(DefaultConfig(), DefaultRouting())
	e.Apply(received)
	e.Apply(assigned)
	e.AdvanceClock(time.Date(2026, 11, 27, 12, 0, 0, 0, Shanghai)) // today's wall clock
	e.Apply(closed)
	e.AdvanceClock(time.Date(2026, 11, 27, 12, 0, 1, 0, Shanghai))
	if out := e.Outbox(); len(out) != 0 {
		t.Errorf("backfill raised %d events: %v", len(out), out)
	}

	idle := New(DefaultConfig(), DefaultRouting())
	idle.Apply(received)
	idle.Apply(ev(events.TypeComplaintAssigned, "hotline-12345", gym, day(2, 10), events.ComplaintAssigned{
		ComplaintID: "BF1", ToBureau: "commerce", Deadline: day(3, 9)}))
	idle.AdvanceClock(day(3, 9)) // nothing else happened: 23 h after the last event
	if out := idle.Outbox(); len(out) != 1 || out[0].Type != events.TypeIncidentDetected {
		t.Errorf("idle stream: %v, want the overdue alert", out)
	}
}
