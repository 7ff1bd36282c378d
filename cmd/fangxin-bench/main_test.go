package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/lizhou/fangxin/demo"
	"github.com/lizhou/fangxin/events"
)

func TestRelabel(t *testing.T) {
	evs := demo.Generate(demo.Config{Merchants: 200, Events: 2000}).Events
	ids := 0
	for _, ev := range evs {
		got, err := relabel(ev, "load7-")
		if err != nil {
			t.Fatalf("relabel %s: %v", ev.ID, err)
		}
		if got.ID != "load7-"+ev.ID {
			t.Errorf("id %q, want %q", got.ID, "load7-"+ev.ID)
		}
		if ps := events.Validate(got, got.Bureau()); len(ps) > 0 {
			t.Errorf("%s does not validate after relabel: %s %s", got.ID, ps[0].Field, ps[0].DetailEN)
		}
		var before, after map[string]any
		if err := json.Unmarshal(ev.Data, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got.Data, &after); err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Errorf("%s: %d members after relabel, %d before", ev.ID, len(after), len(before))
		}
		for k, v := range before {
			s, isString := v.(string)
			switch {
			case strings.HasSuffix(k, "_id") && isString:
				ids++
				if after[k] != "load7-"+s {
					t.Errorf("%s: %s = %v, want %q", ev.ID, k, after[k], "load7-"+s)
				}
			case !reflect.DeepEqual(v, after[k]):
				t.Errorf("%s: %s changed: %v -> %v", ev.ID, k, v, after[k])
			}
		}
	}
	if ids == 0 {
		t.Fatal("no record id was relabelled")
	}
}

func TestSteadyLoad(t *testing.T) {
	defer func(old string) { *load = old }(*load)
	usccs := []string{demo.Generate(demo.Config{Merchants: 200, Events: 400}).Merchants[0].USCC}
	for _, kind := range []string{"demo", "complaints"} {
		t.Run(kind, func(t *testing.T) {
			*load = kind
			c := &client{}
			seen := map[string]bool{}
			for call := range 2 {
				batches, err := c.steadyLoad(usccs, 3000)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, b := range batches {
					if len(b.evs) < 1 || len(b.evs) > 10 {
						t.Fatalf("call %d: a request of %d events", call, len(b.evs))
					}
					var body []events.Event
					if err := json.Unmarshal(b.body, &body); err != nil || len(body) != len(b.evs) {
						t.Fatalf("call %d: body of %d events (%v), want %d", call, len(body), err, len(b.evs))
					}
					for i, ev := range b.evs {
						if ev.Bureau() != b.bureau || body[i].ID != ev.ID {
							t.Errorf("call %d: %s of %s in a request of %s (body: %s)", call, ev.ID, ev.Bureau(), b.bureau, body[i].ID)
						}
						if seen[ev.Key()] {
							t.Errorf("call %d: %s twice", call, ev.Key())
						}
						seen[ev.Key()] = true
						if kind == "complaints" && (ev.Type != events.TypeComplaintReceived || ev.Subject != usccs[0]) {
							t.Errorf("complaints load: %s %s", ev.Type, ev.Subject)
						}
						n++
					}
				}
				if n < 2500 {
					t.Errorf("call %d: %d events, want about 3000", call, n)
				}
			}
		})
	}
}
