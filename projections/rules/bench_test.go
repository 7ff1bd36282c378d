package rules

import (
	"testing"
	"time"

	"github.com/lizhou/fangxin/demo"
	"github.com/lizhou/fangxin/events"
)

// The rule engine's cost per event over the demo year (50,000 events of 5,000 merchants, the
// prepaid-card gym's closure included), against the bare decode of the same events
// (events.DecodeData, which the engine does first) as the baseline measured in the same process.
// Each iteration folds the whole year into a fresh engine and advances to its end.
//
//	go test ./projections/rules -run '^$' -bench . -benchmem
var benchData = func() func() []events.Event {
	var evs []events.Event
	return func() []events.Event {
		if evs == nil {
			evs = demo.Generate(demo.Config{}).Events
		}
		return evs
	}
}()

func BenchmarkDecodeBaseline(b *testing.B) {
	evs := benchData()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, ev := range evs {
			if _, err := events.DecodeData(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

func BenchmarkEngine(b *testing.B) {
	evs := benchData()
	cfg, routing := DefaultConfig(), DefaultRouting()
	end := evs[len(evs)-1].Time.Add(60 * 24 * time.Hour)
	var written int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e := New(cfg, routing)
		for _, ev := range evs {
			e.Apply(ev)
		}
		e.Advance(end)
		written = len(e.Outbox())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	b.ReportMetric(float64(written), "lifecycle-events")
}
