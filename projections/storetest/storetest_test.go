package storetest

import (
	"testing"

	"github.com/lizhou/fangxin/events"
)

// TestFixtureValid: the fixture is what connectors send, so every event passes the catalogue's
// validation, and every code is well formed.
func TestFixtureValid(t *testing.T) {
	log := Fixture()
	seen := map[string]bool{}
	for _, l := range log {
		ev := l.Entry.Event
		if ps := events.Validate(ev, ""); len(ps) > 0 {
			t.Errorf("%s: %v", ev.Key(), ps)
		}
		if seen[ev.Key()] {
			t.Errorf("%s twice in the fixture", ev.Key())
		}
		seen[ev.Key()] = true
	}
	for _, uscc := range FixtureMerchants() {
		if err := events.CheckUSCC(uscc); err != nil {
			t.Errorf("%s: %v", uscc, err)
		}
	}
	if len(log) != 14+60+14 {
		t.Errorf("fixture has %d events", len(log))
	}
}

func TestDiff(t *testing.T) {
	if d := Diff("a\nb\nc", "a\nb\nc"); d != "" {
		t.Errorf("equal snapshots differ: %s", d)
	}
	if d := Diff("a\nb\nc", "a\nx\nc"); d == "" {
		t.Error("different snapshots are equal")
	}
}
