package distributed

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// TestPrepaidCardGymIncidentDistributed is e2e/incidents_test.go's gym timeline on Kafka and
// Elasticsearch: a gateway, a projector running the rule engine and a second projector that
// must leave the engine to the first.
func TestPrepaidCardGymIncidentDistributed(t *testing.T) {
	env := sharedEnv(t)
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	clock := filepath.Join(t.TempDir(), "clock")
	setClock := func(at time.Time) {
		t.Helper()
		if err := os.WriteFile(clock+".tmp", []byte(at.Format(time.RFC3339)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(clock+".tmp", clock); err != nil {
			t.Fatal(err)
		}
	}
	setClock(t0.Add(-time.Hour))
	t.Setenv("FANGXIN_CLOCK_FILE", clock)
	amrKey, k12315, k12345 := env.key(t, "amr"), env.key(t, "hotline-12315"), env.key(t, "hotline-12345")
	gw := env.start(t, "gateway")
	env.start(t, "projector")
	env.start(t, "projector")
	amr := newClient(t, gw.URL, amrKey)

	gym := kit.USCC(601)
	reg := kit.Registration(gym, "利州区动感健身会所", t0.Add(-24*time.Hour))
	reg.Data, _ = json.Marshal(events.MerchantRegistered{Name: "利州区动感健身会所", Township: "510802002", Industry: "R8930",
		Address: "嘉陵路88号", RegisteredAt: t0.Add(-24 * time.Hour)})
	if code, b := amr.Push(reg); code != 202 {
		t.Fatalf("register: %d %s", code, b)
	}
	for i := range 40 {
		at := t0.Add(time.Duration(i) * 3 * time.Minute)
		key, line, channel := k12315, "hotline-12315", "12315"
		if i%2 == 1 {
			key, line, channel = k12345, "hotline-12345", "12345"
		}
		id := fmt.Sprintf("%s-20261102-%04d", channel, i)
		data, _ := json.Marshal(events.ComplaintReceived{ComplaintID: id, Channel: channel, Category: "预付卡",
			Summary: "健身会所突然闭店，预付年卡余额无法退还", ReceivedAt: at})
		ev := events.Event{SpecVersion: "1.0", ID: id, Source: events.SourceOf(line), Type: events.TypeComplaintReceived,
			Subject: gym, Time: at, DataContentType: "application/json", Data: data}
		if code, b := (newClient(t, gw.URL, key)).Push(ev); code != 202 {
			t.Fatalf("complaint %d: %d %s", i, code, b)
		}
		if i%10 == 9 {
			setClock(at)
		}
	}
	setClock(t0.Add(3 * time.Hour))

	type incident struct {
		events.IncidentDetected
		Status string `json:"status"`
		Routed bool   `json:"routed"`
	}
	var list struct {
		Incidents []incident `json:"incidents"`
	}
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		list.Incidents = nil
		if amr.Get("/v1/incidents", &list) == 200 && len(list.Incidents) == 1 && list.Incidents[0].Count == 40 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(list.Incidents) != 1 {
		t.Fatalf("incidents: %+v", list.Incidents)
	}
	inc := list.Incidents[0]
	if inc.Count != 40 || inc.Level != "III" || inc.Status != "open" || !inc.Routed ||
		!slices.Equal(inc.ResponsibleBureau, []string{"amr", "culture", "commerce"}) {
		t.Errorf("incident %+v", inc)
	}
	// The incident's lifecycle reaches the gym's history like every other event (through the
	// views' own projector, so a little later), once.
	detected := 0
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		detected = 0
		for _, ev := range amr.FullHistory(gym) {
			if ev.Type == events.TypeIncidentDetected {
				detected++
			}
		}
		if detected > 0 {
			break
		}
	}
	if detected != 1 {
		t.Errorf("%d incident.detected in the gym's history, want 1", detected)
	}
}
