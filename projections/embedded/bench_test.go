package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

// Benchmark data: merchants named from a few hundred realistic combinations, complaints of
// about 500 bytes as the projector hands them over.
var (
	benchPrefixes = []string{"老张", "老李", "王记", "刘家", "蜀门", "嘉陵", "利州", "皇泽", "凤凰", "天曌",
		"南河", "万缘", "东坝", "雪峰", "上西", "宝轮", "大石", "三堆", "金洞", "龙潭"}
	benchKinds = []string{"火锅店", "水果超市", "面馆", "烧烤", "药店", "农家乐", "便利店", "酒楼", "茶楼",
		"理发店", "健身房", "洗车行", "五金店", "母婴店", "眼镜店", "干洗店", "花店", "书店", "网吧", "影楼"}
	benchTownships  = []string{"510802001", "510802002", "510802003", "510802004", "510802005", "510802006", "510802011", "510802100"}
	benchIndustries = []string{"H6210", "F5223", "H6291", "H6220", "F5251", "H6130", "F5213", "H6210", "H6231",
		"O8040", "R8930", "O8111", "F5243", "F5299", "F5236", "O8030", "F5239", "F5243", "R8720", "O8060"}
	benchSummaries = []string{
		"消费者反映该店铺售卖的商品存在质量问题，要求退货退款，商家以商品已拆封为由拒绝处理，消费者多次协商未果。",
		"顾客称在店内办理预付卡后商家突然闭店，卡内余额无法退还，联系负责人电话无人接听，请求有关部门尽快处理。",
		"投诉人反映商家价格标示不清，结账时实际收费高于标价，且拒绝出具发票，要求相关部门依法查处价格违法行为。",
		"消费者反映在该店就餐后出现腹泻呕吐等症状，怀疑食材不新鲜，已就医并保留了消费凭证，要求商家赔偿损失。",
		"居民反映该店铺夜间经营噪声扰民，排烟管道直接对着居民楼，多次沟通无果，请求城管和环保部门协调解决。",
	}
)

func benchMerchant(m int) (uscc, name string) {
	return storetest.USCC(100_000 + m), fmt.Sprintf("%s%s%d号", benchPrefixes[(m/len(benchKinds))%len(benchPrefixes)],
		benchKinds[m%len(benchKinds)], m)
}

// benchEvent is the i-th event of merchant m: its registration first, then complaints,
// inspections and penalties, one hour apart.
func benchEvent(m, i int) projections.TimelineEntry {
	uscc, name := benchMerchant(m)
	at := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Hour + time.Duration(m)*time.Second)
	id := fmt.Sprintf("bench-%d-%d", m, i)
	var ev events.Event
	switch {
	case i == 0:
		ev = storetest.Event("amr", events.TypeMerchantRegistered, uscc, id, at, events.MerchantRegistered{
			Name: name, Township: benchTownships[m%len(benchTownships)], Industry: benchIndustries[m%len(benchIndustries)],
			Address: "四川省广元市利州区" + benchPrefixes[m%len(benchPrefixes)] + "路" + strconv.Itoa(m%300) + "号", RegisteredAt: at,
		})
	case i%5 == 3:
		ev = storetest.Event("amr", events.TypeInspectionCompleted, uscc, id, at, events.InspectionCompleted{
			InspectionID: "JC-" + id, Kind: "random", Result: "rectify", InspectedAt: at,
			Findings: "现场检查发现后厨卫生状况较差，部分食品原料未按规定标注进货日期，责令限期整改。",
		})
	case i%5 == 4:
		fine := 2000.0
		ev = storetest.Event("urban", events.TypePenaltyImposed, uscc, id, at, events.PenaltyImposed{
			DecisionNo: "利罚〔2024〕" + id, Kind: "fine", LegalBasis: "《中华人民共和国食品安全法》第一百二十四条",
			DecidedAt: at, FineCNY: &fine,
		})
	default:
		ev = storetest.Event("hotline-12315", events.TypeComplaintReceived, uscc, id, at, map[string]any{
			"complaint_id": "12315-" + id, "channel": "12315", "category": "商品质量",
			"summary": benchSummaries[(m+i)%len(benchSummaries)], "received_at": at, "amount_cny": 300,
			"consumer": map[string]any{"name": "张某", "phone": "13800000000"},
		})
	}
	return projections.Redact(ev)
}

// applyConcurrently applies n events with `workers` goroutines, each owning distinct merchants
// and applying their events in order, as the projector does. Merchant m gets events of indexes
// next[m], next[m]+1, ...
func applyConcurrently(tb testing.TB, s projections.Store, workers, merchants, n int, next []int, offset *atomic.Int64) {
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				for m := w; m < merchants; m += workers {
					if done.Add(1) > int64(n) {
						return
					}
					i := next[m]
					next[m]++
					pos := eventlog.Position{Offset: offset.Add(1)}
					if _, err := s.Apply(context.Background(), benchEvent(m, i), pos, projections.FoldProfile); err != nil {
						tb.Error(err)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
}

// BenchmarkApply measures concurrent Apply of ~500 B events across many merchants, against the
// bare cost of the same writes: one bbolt transaction putting the timeline and key records of a
// group, and one bleve batch of the same documents, with nothing else.
func BenchmarkApply(b *testing.B) {
	sample, _ := encodeTimeline(benchEvent(1, 1))
	b.Logf("event size on the timeline: %d bytes", len(sample))
	const merchants = 2000
	for _, workers := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("store/workers=%d", workers), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// Register the merchants first: the timed events are the everyday ones (complaints,
			// inspections, penalties) of merchants the hub knows.
			next := make([]int, merchants)
			var offset atomic.Int64
			applyConcurrently(b, s, 256, merchants, merchants, next, &offset)
			if err := s.awaitIndexed(context.Background()); err != nil {
				b.Fatal(err)
			}
			groups := s.groups.Load()
			b.ResetTimer()
			start := time.Now()
			applyConcurrently(b, s, workers, merchants, b.N, next, &offset)
			// Apply returns at the bbolt commit: count the time until search has it all too.
			if err := s.awaitIndexed(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/float64(s.groups.Load()-groups), "events/group")
		})
	}
	for _, group := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("bare/group=%d", group), func(b *testing.B) {
			benchBare(b, group)
		})
	}
}

// benchBare writes groups of the same records and documents Apply writes, with no
// bookkeeping: the floor under BenchmarkApply for that group size.
func benchBare(b *testing.B, group int) {
	dir := b.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "bare.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	idx, _, err := openIndex(filepath.Join(dir, "events.bleve"), eventMapping())
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketTimeline)
		if err == nil {
			_, err = tx.CreateBucketIfNotExists(bucketEvents)
		}
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; {
		n := min(group, b.N-done)
		batch := idx.NewBatch()
		err := db.Update(func(tx *bolt.Tx) error {
			tl, ev := tx.Bucket(bucketTimeline), tx.Bucket(bucketEvents)
			for j := 0; j < n; j++ {
				e := benchEvent((done+j)%2000, 1+(done+j)/2000)
				v, err := encodeTimeline(e)
				if err != nil {
					return err
				}
				k := timelineKey(e.Event.Subject, e.Event.Time, e.Event.Key())
				if err := tl.Put(k, v); err != nil {
					return err
				}
				if err := ev.Put([]byte(e.Event.Key()), encodeEventRecord(eventlog.Position{Offset: int64(done + j)}, k)); err != nil {
					return err
				}
				if err := batch.Index(e.Event.Key(), newEventDoc(e, nil)); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			err = idx.Batch(batch)
		}
		if err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// The loaded store of BenchmarkHistory and BenchmarkSearch: FANGXIN_BENCH_EVENTS events
// (default 100k; make bench sets 1M) over one merchant per 100 events, loaded once per process
// through Apply. FANGXIN_BENCH_DIR keeps it between runs.
var loaded struct {
	once      sync.Once
	s         *Store
	merchants int
	err       error
	tmp       string
}

const eventsPerBenchMerchant = 100

func loadedStore(b *testing.B) (*Store, int) {
	b.Helper()
	loaded.once.Do(func() {
		n := 100_000
		if v := os.Getenv("FANGXIN_BENCH_EVENTS"); v != "" {
			if n, loaded.err = strconv.Atoi(v); loaded.err != nil {
				return
			}
		}
		loaded.merchants = n / eventsPerBenchMerchant
		dir := os.Getenv("FANGXIN_BENCH_DIR")
		if dir == "" {
			if dir, loaded.err = os.MkdirTemp("", "fangxin-bench-"); loaded.err != nil {
				return
			}
			loaded.tmp = dir
		} else {
			dir = filepath.Join(dir, strconv.Itoa(n))
		}
		if loaded.s, loaded.err = Open(dir, Options{}); loaded.err != nil {
			return
		}
		if _, ok, _ := loaded.s.Profile(context.Background(), storetest.USCC(100_000+loaded.merchants-1)); ok {
			b.Logf("reusing the %d events in %s", n, dir)
			return
		}
		start := time.Now()
		next := make([]int, loaded.merchants)
		var offset atomic.Int64
		applyConcurrently(b, loaded.s, 512, loaded.merchants, n, next, &offset)
		if loaded.err = loaded.s.awaitIndexed(context.Background()); loaded.err != nil {
			return
		}
		b.Logf("loaded %d events over %d merchants in %v (%.0f events/s)", n, loaded.merchants,
			time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	})
	if loaded.err != nil {
		b.Fatal(loaded.err)
	}
	return loaded.s, loaded.merchants
}

// closeLoaded is called by TestMain after the benchmarks.
func closeLoaded() {
	if loaded.s != nil {
		_ = loaded.s.Close()
	}
	if loaded.tmp != "" {
		_ = os.RemoveAll(loaded.tmp)
	}
}

// latencies runs op b.N times and reports its p50 and p99.
func latencies(b *testing.B, op func(rng *rand.Rand) error) {
	rng := rand.New(rand.NewPCG(1, 2))
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := op(rng); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(ds)
	q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// BenchmarkHistory reads 50-entry pages of random merchants' timelines (of 100 events each).
func BenchmarkHistory(b *testing.B) {
	s, merchants := loadedStore(b)
	ctx := context.Background()
	b.Run("first-page", func(b *testing.B) {
		latencies(b, func(rng *rand.Rand) error {
			uscc, _ := benchMerchant(rng.IntN(merchants))
			p, err := s.History(ctx, projections.HistoryQuery{USCC: uscc, Limit: 50})
			if err == nil && len(p.Entries) != 50 {
				err = fmt.Errorf("%s: %d entries", uscc, len(p.Entries))
			}
			return err
		})
	})
	b.Run("second-page-filtered", func(b *testing.B) {
		latencies(b, func(rng *rand.Rand) error {
			uscc, _ := benchMerchant(rng.IntN(merchants))
			q := projections.HistoryQuery{USCC: uscc, Limit: 20, Types: []string{events.TypeComplaintReceived}}
			p, err := s.History(ctx, q)
			if err != nil || p.Next == nil {
				return fmt.Errorf("%s: first page %d entries, %v", uscc, len(p.Entries), err)
			}
			q.After = p.Next
			_, err = s.History(ctx, q)
			return err
		})
	})
}

// BenchmarkSearch runs the gateway's searches over the loaded store.
func BenchmarkSearch(b *testing.B) {
	s, merchants := loadedStore(b)
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(rng *rand.Rand) (int, error)
	}{
		{"merchants/word", func(rng *rand.Rand) (int, error) {
			r, err := s.SearchMerchants(ctx, projections.MerchantQuery{Q: benchKinds[rng.IntN(len(benchKinds))][:6]})
			return r.Total, err
		}},
		{"merchants/two-words+township", func(rng *rand.Rand) (int, error) {
			r, err := s.SearchMerchants(ctx, projections.MerchantQuery{
				Q:        benchPrefixes[rng.IntN(len(benchPrefixes))] + " " + benchKinds[rng.IntN(len(benchKinds))],
				Township: benchTownships[rng.IntN(len(benchTownships))]})
			return r.Total, err
		}},
		{"merchants/code-prefix", func(rng *rand.Rand) (int, error) {
			uscc, _ := benchMerchant(rng.IntN(merchants))
			r, err := s.SearchMerchants(ctx, projections.MerchantQuery{Q: uscc[:15]})
			return r.Total, err
		}},
		{"merchants/industry-prefix", func(rng *rand.Rand) (int, error) {
			r, err := s.SearchMerchants(ctx, projections.MerchantQuery{Industry: benchIndustries[rng.IntN(len(benchIndustries))][:3]})
			return r.Total, err
		}},
		{"events/phrase+type", func(rng *rand.Rand) (int, error) {
			r, err := s.SearchEvents(ctx, projections.EventQuery{Q: "预付卡", Types: []string{events.TypeComplaintReceived}})
			return r.Total, err
		}},
		{"events/merchant-name", func(rng *rand.Rand) (int, error) {
			_, name := benchMerchant(rng.IntN(merchants))
			r, err := s.SearchEvents(ctx, projections.EventQuery{Q: name})
			return r.Total, err
		}},
		{"events/township+window", func(rng *rand.Rand) (int, error) {
			from := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(90)) * time.Hour)
			r, err := s.SearchEvents(ctx, projections.EventQuery{Township: benchTownships[rng.IntN(len(benchTownships))],
				From: from, To: from.Add(24 * time.Hour)})
			return r.Total, err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var hits int
			latencies(b, func(rng *rand.Rand) error {
				n, err := c.run(rng)
				hits += n
				return err
			})
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
		})
	}
}
