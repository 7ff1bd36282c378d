package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// Incidents through the built binary, along a timeline driven by FANGXIN_CLOCK_FILE: the test
// writes the hub's time into the file, the rule engine's pending and quiet periods and
// deadlines expire by it.

type clockFile string

func newClock(t *testing.T, at time.Time) clockFile {
	t.Helper()
	c := clockFile(filepath.Join(t.TempDir(), "clock"))
	c.set(t, at)
	t.Setenv("FANGXIN_CLOCK_FILE", string(c))
	return c
}

func (c clockFile) set(t *testing.T, at time.Time) {
	t.Helper()
	tmp := string(c) + ".tmp"
	if err := os.WriteFile(tmp, []byte(at.Format(time.RFC3339)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, string(c)); err != nil {
		t.Fatal(err)
	}
}

// rulesWithClockLead writes the default rules with another clock_lead (how far the clock may
// run ahead of the latest event) and returns the file's path, for timelines whose clock jumps
// further than the default 24 h past the last event.
func rulesWithClockLead(t *testing.T, lead string) string {
	t.Helper()
	b, err := os.ReadFile("../projections/rules/data/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "\nclock_lead: 24h\n", "\nclock_lead: "+lead+"\n", 1)
	if s == string(b) {
		t.Fatal("rules.yaml has no clock_lead: 24h line")
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type incident struct {
	events.IncidentDetected
	Status     string     `json:"status"`
	Routed     bool       `json:"routed"`
	DetectedAt time.Time  `json:"detected_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
}

type incidentList struct {
	Incidents  []incident `json:"incidents"`
	NextCursor string     `json:"next_cursor"`
}

// waitIncidents polls GET /v1/incidents?query until ok accepts the list (generous deadline: the
// machine is shared).
func (c client) waitIncidents(query string, ok func([]incident) bool) []incident {
	c.T.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last incidentList
	for time.Now().Before(deadline) {
		last = incidentList{}
		if code := c.Get("/v1/incidents?"+query, &last); code == 200 && ok(last.Incidents) {
			return last.Incidents
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.T.Fatalf("GET /v1/incidents?%s never satisfied the test; last: %+v", query, last.Incidents)
	return nil
}

// sseEvent is one server-sent event.
type sseEvent struct {
	ID, Type string
	Event    events.Event
}

// stream reads GET /v1/incidents/stream until the test ends.
type stream struct {
	mu  sync.Mutex
	got []sseEvent
}

func (c client) openStream(lastEventID string) *stream {
	c.T.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.T.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", c.URL+"/v1/incidents/stream", nil)
	req.Header.Set("Authorization", "Bearer "+c.Key)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		c.T.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.ID != "" {
					s.mu.Lock()
					s.got = append(s.got, cur)
					s.mu.Unlock()
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				cur.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				cur.Type = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.Event)
			}
		}
	}()
	return s
}

func (s *stream) events() []sseEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func (s *stream) waitFor(t *testing.T, ok func([]sseEvent) bool) []sseEvent {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got := s.events(); ok(got) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the stream never showed what the test waits for; got %d events", len(s.events()))
	return nil
}

func event(typ, bureau, id, subject string, at time.Time, data any) events.Event {
	b, _ := json.Marshal(data)
	return events.Event{SpecVersion: "1.0", ID: id, Source: events.SourceOf(bureau), Type: typ, Subject: subject,
		Time: at, DataContentType: "application/json", Data: b}
}

func mustPush(t *testing.T, c client, evs ...events.Event) {
	t.Helper()
	if code, b := c.PushBatch(evs); code != 202 {
		t.Fatalf("push %d events: %d %s", len(evs), code, b)
	}
}

func TestPrepaidCardGymRaisesOneRoutedIncident(t *testing.T) {
	dir := t.TempDir()
	keys := map[string]string{}
	for _, b := range []string{"amr", "hotline-12315", "hotline-12345", "culture"} {
		keys[b] = fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", b)
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, kit.Shanghai) // a Monday morning
	clock := newClock(t, t0.Add(-time.Hour))
	h := startHub(t, dir)
	amr := newClient(t, h.URL, keys["amr"])
	live := amr.openStream("")

	// t0-1d: AMR registers the gym (健身休闲活动 R8930, 嘉陵街道).
	gym := kit.USCC(501)
	mustPush(t, amr, event(events.TypeMerchantRegistered, "amr", "reg-gym", gym, t0.Add(-24*time.Hour), events.MerchantRegistered{
		Name: "利州区动感健身会所", Township: "嘉陵街道", Industry: "R8930", Address: "嘉陵路88号", RegisteredAt: t0.Add(-24 * time.Hour)}))

	// t0 … t0+1h57m: the gym closes overnight; 40 prepaid-card complaints come in from the 12315
	// and 12345 lines within two hours, in batches of ten as the lines forward them. Every batch
	// is sent twice (a connector retrying after a timeout): each complaint counts once.
	var all []events.Event
	for i := range 40 {
		at := t0.Add(time.Duration(i) * 3 * time.Minute)
		line, channel := "hotline-12315", "12315"
		if i%2 == 1 {
			line, channel = "hotline-12345", "12345"
		}
		all = append(all, event(events.TypeComplaintReceived, line, fmt.Sprintf("%s-20261102-%04d", channel, i), gym, at, events.ComplaintReceived{
			ComplaintID: fmt.Sprintf("%s-20261102-%04d", channel, i), Channel: channel, Category: "预付卡",
			Summary: "健身会所突然闭店，预付年卡余额无法退还", ReceivedAt: at}))
	}
	for b := 0; b < 40; b += 10 {
		for _, line := range []string{"hotline-12315", "hotline-12345"} {
			var batch []events.Event
			for _, ev := range all[b : b+10] {
				if ev.Bureau() == line {
					batch = append(batch, ev)
				}
			}
			c := newClient(t, h.URL, keys[line])
			mustPush(t, c, batch...)
			mustPush(t, c, batch...)
		}
		clock.set(t, all[b+9].Time)
	}

	// t0+3h: the hub has one incident: the burst, level III (≥ 30 complaints), 40 complaints,
	// routed to AMR (lead: 四（三）2 完善维权机制), culture (sport) and commerce (prepaid cards).
	clock.set(t, t0.Add(3*time.Hour))
	got := amr.waitIncidents("", func(l []incident) bool { return len(l) == 1 && l[0].Count == 40 })
	inc := got[0]
	if inc.Rule != "merchant-complaint-burst" || inc.Level != "III" || inc.Merchant != gym || inc.Status != "open" ||
		!inc.Routed || inc.Category != "预付卡" || inc.Township != "510802002" || inc.Industry != "R8930" {
		t.Errorf("incident %+v", inc)
	}
	if want := []string{"amr", "culture", "commerce"}; !slices.Equal(inc.ResponsibleBureau, want) {
		t.Errorf("routed to %v, want %v", inc.ResponsibleBureau, want)
	}
	if want := t0.Add(37 * time.Minute); !inc.DetectedAt.Equal(want) { // 10th complaint + 10 min pending
		t.Errorf("detected at %s, want %s", inc.DetectedAt, want)
	}
	var one incident
	if code := amr.Get("/v1/incidents/"+inc.IncidentID, &one); code != 200 || one.Count != 40 {
		t.Errorf("GET /v1/incidents/{id}: %d %+v", code, one)
	}
	if code := amr.Get("/v1/incidents?rule=merchant-complaint-burst&level=III&bureau=commerce&township=嘉陵街道", &incidentList{}); code != 200 {
		t.Errorf("filtered list: %d", code)
	}
	if code := amr.Get("/v1/incidents?level=V", nil); code != 400 {
		t.Errorf("level=V: %d, want 400", code)
	}

	// The live console saw it detected once, then updated, all under the same incident id.
	evs := live.waitFor(t, func(s []sseEvent) bool {
		return len(s) > 0 && strings.Contains(string(s[len(s)-1].Event.Data), `"count":40`)
	})
	detected := 0
	for _, e := range evs {
		if e.Type == events.TypeIncidentDetected {
			detected++
		}
		if !strings.HasPrefix(e.Event.ID, inc.IncidentID+".") {
			t.Errorf("stream event %s of another incident", e.Event.ID)
		}
	}
	if detected != 1 || evs[0].Type != events.TypeIncidentDetected {
		t.Errorf("stream: %d detected, first %s", detected, evs[0].Type)
	}
	// A console reconnecting with Last-Event-ID gets what came after.
	resumed := amr.openStream(evs[0].ID).waitFor(t, func(s []sseEvent) bool { return len(s) == len(evs)-1 })
	if resumed[0].ID != evs[1].ID {
		t.Errorf("resumed at %s, want %s", resumed[0].ID, evs[1].ID)
	}

	// t0+3h: the office silences the gym's alerts while a task force handles it: the incident is
	// still shown, flagged, and no longer routed. Culture may not lift AMR's silence; AMR may.
	body, _ := json.Marshal(map[string]any{"matchers": map[string]string{"merchant": gym}, "reason": "已成立工作专班处置", "duration": "6h"})
	code, b := amr.Do("POST", "/v1/silences", "application/json", body)
	if code != 201 {
		t.Fatalf("POST /v1/silences: %d %s", code, b)
	}
	var sil struct {
		SilenceID string `json:"silence_id"`
		Active    bool   `json:"active"`
	}
	_ = json.Unmarshal(b, &sil)
	amr.waitIncidents("", func(l []incident) bool { return l[0].SilencedBy == sil.SilenceID && !l[0].Routed })
	bad, _ := json.Marshal(map[string]any{"matchers": map[string]string{}, "reason": "", "duration": "6h"})
	if code, b := amr.Do("POST", "/v1/silences", "application/json", bad); code != 422 || !strings.Contains(string(b), "matchers") {
		t.Errorf("silence without matchers: %d %s", code, b)
	}
	culture := newClient(t, h.URL, keys["culture"])
	if code, _ := culture.Do("DELETE", "/v1/silences/"+sil.SilenceID, "", nil); code != 403 {
		t.Errorf("culture deleting AMR's silence: %d, want 403", code)
	}
	if code, b := amr.Do("DELETE", "/v1/silences/"+sil.SilenceID, "", nil); code != 200 {
		t.Errorf("DELETE silence: %d %s", code, b)
	}
	amr.waitIncidents("", func(l []incident) bool { return l[0].SilencedBy == "" && l[0].Routed })

	// A rebuild of the views and a restart: the incident view is folded again from the log and
	// the rule engine replays it; nothing is raised twice.
	h.stop()
	fangxin(t, "rebuild", "--data-dir", dir)
	h = startHub(t, dir)
	amr = newClient(t, h.URL, keys["amr"])
	h.caughtUp()
	// t0+30h: a day without complaints: resolved (quiet period 24 h after the last one).
	clock.set(t, t0.Add(30*time.Hour))
	amr.waitIncidents("", func(l []incident) bool { return len(l) == 1 && l[0].Count == 40 })
	got = amr.waitIncidents("status=resolved", func(l []incident) bool { return len(l) == 1 })
	if got[0].IncidentID != inc.IncidentID || got[0].ResolvedAt == nil || !got[0].ResolvedAt.Equal(t0.Add(117*time.Minute+24*time.Hour)) {
		t.Errorf("resolved %+v", got[0])
	}
	var list incidentList
	amr.Get("/v1/incidents", &list)
	if len(list.Incidents) != 1 {
		t.Errorf("%d incidents after the restart, want 1", len(list.Incidents))
	}
}

func TestOverdueComplaintAlertsOnTheRightWorkingDay(t *testing.T) {
	dir := t.TempDir()
	amrKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "amr")
	lineKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "hotline-12345")
	day := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, kit.Shanghai) }
	clock := newClock(t, day(9, 28, 10))
	// Nothing else happens on the hub for ten days: the clock must run that far ahead of the
	// last event.
	h := startHub(t, dir, "--rules", rulesWithClockLead(t, "720h"))
	amr, line := newClient(t, h.URL, amrKey), newClient(t, h.URL, lineKey)
	shop := kit.USCC(502)

	// 28 September (Monday): three 12345 cases are transferred to the commerce bureau with
	// different time limits.
	deadlines := map[string]time.Time{
		"12345-A": day(9, 30, 17),  // Wednesday, a working day
		"12345-B": day(10, 3, 17),  // Saturday in the National Day holiday: runs to the end of Thursday 8 October
		"12345-C": day(10, 10, 17), // Saturday 10 October, an adjusted workday (调休上班): not moved
	}
	for _, id := range []string{"12345-A", "12345-B", "12345-C"} {
		mustPush(t, line,
			event(events.TypeComplaintReceived, "hotline-12345", id, shop, day(9, 28, 9), events.ComplaintReceived{
				ComplaintID: id, Channel: "12345", Category: "价格欺诈", Summary: "商场标价与结算价不符", ReceivedAt: day(9, 28, 9)}),
			event(events.TypeComplaintAssigned, "hotline-12345", id+"-assign", shop, day(9, 28, 10), events.ComplaintAssigned{
				ComplaintID: id, ToBureau: "commerce", Deadline: deadlines[id]}))
	}

	overdue := func(l []incident) map[string]incident {
		m := map[string]incident{}
		for _, i := range l {
			m[i.ComplaintID] = i
		}
		return m
	}
	// Thursday 8 October, 20:00: A is overdue (since 30 September 17:00); B's limit runs to the
	// end of today, so it is not.
	clock.set(t, day(10, 8, 20))
	got := overdue(amr.waitIncidents("rule=complaint-overdue", func(l []incident) bool { return len(l) >= 1 }))
	if a, ok := got["12345-A"]; !ok || !a.DetectedAt.Equal(day(9, 30, 17)) || !slices.Equal(a.ResponsibleBureau, []string{"commerce", "amr"}) {
		t.Errorf("A: %+v", a)
	}
	if _, ok := got["12345-B"]; ok || len(got) != 1 {
		t.Errorf("alerts on 8 October: %v", got)
	}
	// Friday 9 October, 09:00: B alerted at the start of the day (its limit ended at 24:00).
	clock.set(t, day(10, 9, 9))
	got = overdue(amr.waitIncidents("rule=complaint-overdue", func(l []incident) bool { return len(l) >= 2 }))
	if b := got["12345-B"]; !b.DetectedAt.Equal(day(10, 9, 0)) || b.Level != "IV" {
		t.Errorf("B: %+v", b)
	}
	if _, ok := got["12345-C"]; ok {
		t.Errorf("C alerted before its deadline")
	}
	// B is closed that morning: its alert resolves. Saturday 10 October 18:00: C is overdue at
	// 17:00 the same Saturday, a working day.
	mustPush(t, amr, event(events.TypeComplaintClosed, "amr", "close-B", shop, day(10, 9, 10), events.ComplaintClosed{
		ComplaintID: "12345-B", Outcome: "mediated", ClosedAt: day(10, 9, 10)}))
	clock.set(t, day(10, 10, 18))
	got = overdue(amr.waitIncidents("rule=complaint-overdue", func(l []incident) bool { return len(l) == 3 }))
	if c := got["12345-C"]; !c.DetectedAt.Equal(day(10, 10, 17)) {
		t.Errorf("C: %+v", c)
	}
	amr.waitIncidents("rule=complaint-overdue&status=resolved", func(l []incident) bool {
		return len(l) == 1 && l[0].ComplaintID == "12345-B"
	})
}

func TestCreditListingTriggersCertificationReview(t *testing.T) {
	dir := t.TempDir()
	amrKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "amr")
	tourismKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "tourism")
	t0 := time.Date(2026, 5, 11, 10, 0, 0, 0, kit.Shanghai)
	clock := newClock(t, t0)
	h := startHub(t, dir)
	amr, tourism := newClient(t, h.URL, amrKey), newClient(t, h.URL, tourismKey)
	farm := kit.USCC(503)

	// The farmhouse registered years ago and holds a four-star rating from the tourism bureau.
	mustPush(t, amr, event(events.TypeMerchantRegistered, "amr", "reg-farm", farm, t0.AddDate(-3, 0, 0), events.MerchantRegistered{
		Name: "利州区月坝星级农家乐", Township: "510802002", Industry: "H6210", Address: "月坝村1号", RegisteredAt: t0.AddDate(-3, 0, 0)}))
	mustPush(t, tourism, event(events.TypeCertificationGranted, "tourism", "star-1", farm, t0.AddDate(-1, 0, 0), events.CertificationGranted{
		CertID: "XJNJL-2025-008", Scheme: "star_farmhouse", Level: "四星", GrantedAt: t0.AddDate(-1, 0, 0)}))
	// t0: AMR lists it as a serious violator (严重违法失信名单): one breach restricts it everywhere.
	mustPush(t, amr, event(events.TypeCreditListed, "amr", "list-1", farm, t0, events.CreditListed{
		List: "serious_violation", Reason: "提供虚假材料骗取登记", ListedAt: t0}))
	got := amr.waitIncidents("rule=certification-review", func(l []incident) bool { return len(l) == 1 })
	if r := got[0]; r.CertID != "XJNJL-2025-008" || r.Scheme != "star_farmhouse" || r.Merchant != farm ||
		!slices.Equal(r.ResponsibleBureau, []string{"tourism", "amr"}) || !r.Routed || !strings.Contains(r.Title, "复核") {
		t.Errorf("review %+v", r)
	}
	// t0+2d: tourism reviews and revokes the rating: the review is done.
	clock.set(t, t0.Add(48*time.Hour))
	mustPush(t, tourism, event(events.TypeCertificationRevoked, "tourism", "revoke-1", farm, t0.Add(48*time.Hour), events.CertificationRevoked{
		CertID: "XJNJL-2025-008", Scheme: "star_farmhouse", RevokedAt: t0.Add(48 * time.Hour), Reason: "列入严重违法失信名单"}))
	amr.waitIncidents("rule=certification-review&status=resolved", func(l []incident) bool { return len(l) == 1 })
}
