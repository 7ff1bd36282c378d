package elastic

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

// benchEventsPerMerchant: a registration, then complaints and inspections.
const benchEventsPerMerchant = 10

type benchEvent struct {
	entry projections.TimelineEntry
	pos   eventlog.Position
}

// benchLog is n events over n/benchEventsPerMerchant merchants, split into callers streams
// (one log partition each); each merchant's events are in one stream, in order.
func benchLog(n, callers int) [][]benchEvent {
	streams := make([][]benchEvent, callers)
	merchants := max(1, n/benchEventsPerMerchant)
	offsets := make([]int64, callers)
	for i := 0; i < n; i++ {
		m, k := i%merchants, i/merchants
		uscc := storetest.USCC(10_000 + m)
		id := fmt.Sprintf("b-%d-%d", m, k)
		at := storetest.At(float64(k))
		var ev events.Event
		switch {
		case k == 0:
			ev = storetest.Event("amr", events.TypeMerchantRegistered, uscc, id, at, events.MerchantRegistered{
				Name: fmt.Sprintf("基准测试%d号火锅店", m), Township: storetest.Dongba, Industry: "H6210",
				Address: "利州区东坝街道基准路" + fmt.Sprint(m) + "号", RegisteredAt: at})
		case k%2 == 1:
			ev = storetest.Event("hotline-12315", events.TypeComplaintReceived, uscc, id, at, events.ComplaintReceived{
				ComplaintID: "BC-" + id, Channel: "12315", Category: "食品安全", Summary: "顾客反映菜品不新鲜，要求退款",
				ReceivedAt: at, Consumer: map[string]any{"name": "张某", "phone": "13900000000"}})
		default:
			ev = storetest.Event("amr", events.TypeInspectionCompleted, uscc, id, at, events.InspectionCompleted{
				InspectionID: "BJ-" + id, Kind: "random", Result: "pass", InspectedAt: at, Findings: "后厨卫生良好，台账齐全"})
		}
		st := m % callers
		offsets[st]++
		streams[st] = append(streams[st], benchEvent{projections.Redact(ev), eventlog.Position{Partition: int32(st), Offset: offsets[st]}})
	}
	return streams
}

// BenchmarkApply measures events/s through Apply with many calls at once, and, in the same run,
// raw bulk indexing of the same documents (a timeline document and the merchant's document per
// event) through esutil.BulkIndexer into fresh indices of the same templates, followed by one
// refresh. The ratio shows what exactly-once and per-merchant order cost. visible=interval is the
// hub's setting (Apply returns once durable; one Sync at the end makes everything searchable, as
// the raw run ends with one refresh); visible=return forces a refresh before each group's calls
// return (Config.VisibleOnReturn), where p50/p99 are freshness. callers=256 is the projector's
// limit; callers=2048 shows how groups amortize with more. cache=off is Config.ProfileCache = -1
// (every group reads its keys' positions and its profiles first).
//
//	go test ./projections/elastic -run '^$' -bench BenchmarkApply -benchtime 20000x
func BenchmarkApply(b *testing.B) {
	for _, visible := range []string{"interval", "return"} {
		for _, callers := range []int{256, 2048} {
			for _, cache := range []string{"on", "off"} {
				b.Run(fmt.Sprintf("visible=%s/callers=%d/cache=%s", visible, callers, cache), func(b *testing.B) {
					benchApply(b, callers, visible == "return", cache == "on")
				})
			}
		}
	}
}

func benchApply(b *testing.B, callers int, visibleOnReturn, cache bool) {
	cfg := testConfig(b)
	cfg.VisibleOnReturn = visibleOnReturn
	if !cache {
		cfg.ProfileCache = -1
	}
	ctx := context.Background()
	streams := benchLog(b.N, callers)

	b.StopTimer()
	c0 := NodesCPU(cfg.URLs)
	raw := benchRawBulk(b, cfg, streams)
	c1 := NodesCPU(cfg.URLs)

	s := openStore(b, cfg)
	defer s.Close()
	var failed atomic.Value
	var wg sync.WaitGroup
	lat := make([][]time.Duration, len(streams))
	b.StartTimer()
	start := time.Now()
	for i, st := range streams {
		wg.Add(1)
		go func(i int, st []benchEvent) {
			defer wg.Done()
			for _, e := range st {
				t0 := time.Now()
				if _, err := s.Apply(ctx, e.entry, e.pos, projections.FoldProfile); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}(i, st)
	}
	wg.Wait()
	if err := s.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()
	c2 := NodesCPU(cfg.URLs)
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	r, err := s.SearchEvents(ctx, projections.EventQuery{Limit: 1})
	if err != nil || r.Total != b.N {
		b.Fatalf("after the run: %d events searchable, %v; want %d", r.Total, err, b.N)
	}
	rate := float64(b.N) / took.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(raw, "bulk-events/s")
	b.ReportMetric(100*rate/raw, "%-of-bulk")
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Milliseconds()), "p99-ms")
	if c0 > 0 {
		// Elasticsearch's own CPU per event: robust to a busy machine, unlike wall time.
		b.ReportMetric((c2-c1)/float64(b.N)*1e6, "es-cpu-µs/event")
		b.ReportMetric((c1-c0)/float64(b.N)*1e6, "es-cpu-µs/bulk-event")
	}
}

// benchRawBulk runs RawBulk over streams.
func benchRawBulk(b testing.TB, cfg Config, streams [][]benchEvent) float64 {
	var entries []RawEntry
	for _, st := range streams {
		for _, e := range st {
			entries = append(entries, RawEntry{Entry: e.entry, Pos: e.pos})
		}
	}
	rate, err := RawBulk(context.Background(), cfg, "raw", entries)
	if err != nil {
		b.Fatal(err)
	}
	return rate
}
