package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/elastic"
)

// Rebuilding the Elasticsearch views while the hub runs
//
// The embedded views are rebuilt with the hub stopped (rebuild.go). Elasticsearch views are
// rebuilt beside the live ones, and the hub keeps answering queries from the live generation
// until the new one replaces it in one atomic alias swap. The live projector (consumer group
// "views", call it L) keeps running throughout and writes through the aliases; the rebuild's
// projector (a fresh consumer group "views-rebuild-{generation}", R) writes the new generation
// G2 directly. The hard part is the hand-over: after the swap, L writes G2, and G2 must then hold
// every event exactly once and every merchant's events folded in log order.
//
// The invariant that makes the hand-over safe: at the swap, R has applied (committed) every
// event L ever applied. Then, for every merchant, the events L applied are a prefix of the
// events R applied (both apply a merchant's events in log order). After the swap L goes on from
// its own position: events R already applied come to L as redeliveries (same event key, same
// log position: the store changes nothing), and the first event R did not apply is new to G2
// and folds onto a profile that holds exactly the events before it. Nothing is skipped, nothing
// counted twice. Were L ahead of R on some partition instead, the events between R's and L's
// positions would be in the old generation only and never reach G2 (L has acknowledged them),
// and a merchant's later event folded by L before R folded an earlier one would break the fold
// order. So the live group is neither reset nor moved: it continues from where it is, which,
// once it has skipped over R's redeliveries, is the log's end as R left it.
//
// L cannot be paused from another process, so the rebuild stops L's progress in the old
// generation instead:
//
//  1. Catch up. R reads the log from the oldest record into G2 until its committed offsets reach
//     the log's end offsets as they were when the round started; rounds repeat until one takes
//     less than catchUpRound, so little is left for step 3. L is undisturbed.
//  2. Freeze. A write block on the live generation's indices (Elasticsearch's add-index-block
//     API, which returns once writes in flight have finished). From now on every write of L
//     fails with 403, which the store reports as an ordinary error: the projector retries and
//     nacks, nothing is dropped or sent to the poison queue, and L's committed offsets stop
//     below the first event it could not write. Queries still answer from the live generation.
//  3. Final catch-up. The log's end offsets are read after the block: every event L applied is
//     below them. R runs until its committed offsets reach them on every partition, and stops.
//  4. Promote. Both aliases move to G2 and the old generation is deleted, in one atomic call.
//     L's retries now land in G2 and it goes on as described above. The rebuild's consumer
//     group is deleted.
//
// L stops folding new events from step 2 until its retries after step 4 (seconds: the log
// grew little since step 1 ended; the projector retries with a backoff of at most
// ProjectorConfig.MaxInterval): freshness suffers for that long, ingestion does not (the gateway
// writes the log, not the views). If the rebuild fails or is cancelled after step 2, it lifts
// the block and deletes G2; if it is killed, the next rebuild lifts a block it finds on the live
// generation before it starts (or by hand: PUT {index}/_settings {"index.blocks.write": false}).
// Run one rebuild at a time. An event that cannot be applied goes to the poison topic again,
// with the rebuild's reason: the poison topic may hold it twice.
//
// The same protocol works with no live projector running (a hub stopped for the rebuild, or
// gateways only): step 2 then blocks nobody, and a projector started later continues from its
// group's position as above.

// catchUpRound: step 1 repeats until a round is shorter than this.
const catchUpRound = 3 * time.Second

// partitionOffsets is where a consumer group stands on one partition of the hub's topic.
// Committed is the next offset the group reads, -1 when it has committed nothing (it then
// starts at First).
type partitionOffsets struct {
	Partition             int
	First, End, Committed int64
}

// logPositions is an optional ability of a log backend: per-partition positions, which the
// Elasticsearch rebuild needs (a total lag cannot tell "caught up with these offsets" under a
// steady ingest).
type logPositions interface {
	Offsets(ctx context.Context, group string) ([]partitionOffsets, error)
	// committedAt is the committed offset at which the event at pos is committed.
	committedAt(pos eventlog.Position) int64
}

// groupDeleter is an optional ability of a log backend: forgetting a consumer group.
type groupDeleter interface {
	DeleteGroup(ctx context.Context, group string) error
}

var _ logPositions = (*boltBackend)(nil)

// Offsets: the embedded log has one partition; its positions are sequence numbers and its
// groups start at 0.
func (b *boltBackend) Offsets(_ context.Context, group string) ([]partitionOffsets, error) {
	hw, err := b.l.HighWater(eventlog.Topic)
	if err != nil {
		return nil, err
	}
	c, err := b.l.Committed(eventlog.Topic, group)
	if err != nil {
		return nil, err
	}
	return []partitionOffsets{{Partition: 0, First: 0, End: hw, Committed: c}}, nil
}

// committedAt: the embedded log's positions are sequence numbers from 1, and a group's
// committed position is the last one it acknowledged.
func (b *boltBackend) committedAt(pos eventlog.Position) int64 { return pos.Offset }

// rebuildElasticsearch is Rebuild for Elasticsearch views; see the comment at the top of this
// file. cfg is validated and has its defaults.
func rebuildElasticsearch(ctx context.Context, cfg Config, d Deps) (folded int64, took time.Duration, err error) {
	start := time.Now()
	ns, err := namespaceOf(ctx)
	if err != nil {
		return 0, 0, err
	}
	lg, err := openLog(ctx, cfg, d)
	if err != nil {
		return 0, 0, err
	}
	defer lg.Close()
	pos, ok := lg.(logPositions)
	if !ok {
		return 0, 0, errors.New("rebuild: this log backend cannot report per-partition positions")
	}

	ecfg := elasticConfig(cfg, ns)
	live, err := elastic.Open(ctx, ecfg) // creates the aliases if there are none yet
	if err != nil {
		return 0, 0, esStartError(err)
	}
	liveGen := live.Generation()
	_ = live.Close()
	adm, err := newESAdmin(ecfg.URLs, d.Logger)
	if err != nil {
		return 0, 0, esStartError(err)
	}
	defer adm.close()
	prefix := ns.IndexPrefix()
	liveIdx := generationIndices(prefix, liveGen)
	if err := adm.unblockStale(ctx, liveIdx); err != nil {
		return 0, 0, err
	}

	gen := "r" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	store, err := elastic.OpenGeneration(ctx, ecfg, gen)
	if err != nil {
		return 0, 0, fmt.Errorf("rebuild: opening generation %s: %w", gen, err)
	}
	promoted, blocked := false, false
	defer func() {
		if promoted {
			return
		}
		// Failed or cancelled: the live generation stays live and writable; the new one goes.
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = store.Close()
		if blocked {
			if err := adm.setWriteBlock(cctx, liveIdx, false); err != nil {
				d.Logger.Error("rebuild: could not lift the write block of the live views: lift it by hand",
					"indices", strings.Join(liveIdx, ","), "err", err)
			}
		}
		if err := adm.deleteIndices(cctx, generationIndices(prefix, gen)); err != nil {
			d.Logger.Warn("rebuild: could not delete the unfinished generation", "generation", gen, "err", err)
		}
	}()
	d.Logger.Info("rebuild: building a new generation beside the live one", "live", liveGen, "new", gen, "index_prefix", prefix)

	group := projections.ViewsHandler + "-rebuild-" + gen
	sub, err := lg.Subscriber(group, nil)
	if err != nil {
		return 0, 0, err
	}
	router, err := projections.NewProjector(cfg.Projector, store, sub, lg.Publisher(), d.Logger, nil)
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- router.Run(rctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = router.Close()
			cancel()
			<-done
		}
	}
	defer stop()
	w := waiter{pos: pos, group: group, done: done, logger: d.Logger, start: start}

	// 1. Catch up while the live projector runs undisturbed.
	for round := 1; ; round++ {
		t0 := time.Now()
		target, err := w.ends(ctx)
		if err != nil {
			return 0, time.Since(start), err
		}
		if err := w.reach(ctx, target); err != nil {
			return 0, time.Since(start), err
		}
		if time.Since(t0) < catchUpRound {
			break
		}
		d.Logger.Info("rebuild: caught up with the log as it was; once more for what arrived meanwhile", "round", round, "took", time.Since(t0).Round(time.Millisecond))
	}

	// 2. Freeze the live generation: the live projector can apply nothing more to it.
	frozen := time.Now()
	blocked = true
	if err := adm.setWriteBlock(ctx, liveIdx, true); err != nil {
		return 0, time.Since(start), err
	}
	// 3. Every event the live projector applied is below these offsets.
	target, err := w.ends(ctx)
	if err != nil {
		return 0, time.Since(start), err
	}
	if err := w.reach(ctx, target); err != nil {
		return 0, time.Since(start), err
	}
	stop()
	// 4. Swap the aliases (and delete the old generation) in one atomic call.
	if err := store.Promote(ctx); err != nil {
		return 0, time.Since(start), fmt.Errorf("rebuild: promoting generation %s: %w", gen, err)
	}
	promoted = true
	_ = store.Close()
	d.Logger.Info("rebuild: new generation live", "generation", gen, "replaced", liveGen,
		"live_projector_frozen", time.Since(frozen).Round(time.Millisecond))
	if gd, ok := lg.(groupDeleter); ok {
		if err := gd.DeleteGroup(ctx, group); err != nil {
			d.Logger.Warn("rebuild: could not delete the rebuild's consumer group", "group", group, "err", err)
		}
	}
	for _, p := range target {
		folded += p.End - p.First
	}
	return folded, time.Since(start), nil
}

// waiter waits for the rebuild's consumer group to reach offsets.
type waiter struct {
	pos    logPositions
	group  string
	done   <-chan error
	logger *slog.Logger
	start  time.Time
}

func (w waiter) ends(ctx context.Context) ([]partitionOffsets, error) {
	ps, err := w.pos.Offsets(ctx, w.group)
	if err != nil {
		return nil, fmt.Errorf("rebuild: reading the log's offsets: %w", err)
	}
	return ps, nil
}

// reach returns once the group's committed offset is at least target's End on every partition
// of target.
func (w waiter) reach(ctx context.Context, target []partitionOffsets) error {
	want := make(map[int]int64, len(target))
	var total int64
	for _, p := range target {
		want[p.Partition] = p.End
		total += p.End - p.First
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		ps, err := w.pos.Offsets(ctx, w.group)
		if err != nil {
			return fmt.Errorf("rebuild: reading the rebuild group's offsets: %w", err)
		}
		var left int64
		for _, p := range ps {
			end, ok := want[p.Partition]
			if !ok {
				continue
			}
			if c := max(p.Committed, p.First); c < end {
				left += end - c
			}
		}
		if left == 0 {
			return nil
		}
		if time.Since(lastReport) > 5*time.Second {
			w.logger.Info("rebuilding views", "folded", total-left, "of", total, "elapsed", time.Since(w.start).Round(time.Second))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-w.done:
			return fmt.Errorf("rebuild: projector stopped: %w", err)
		case <-tick.C:
		}
	}
}

// generationIndices names the indices of a generation, as projections/elastic lays them out
// (see its package doc).
func generationIndices(prefix, gen string) []string {
	return []string{prefix + "-timeline-" + gen, prefix + "-merchants-" + gen}
}

// esAdmin does the few index operations the rebuild needs beyond projections/elastic's API:
// write blocks and deleting an unfinished generation.
type esAdmin struct {
	c      *es.Client
	tr     *http.Transport
	logger *slog.Logger
}

func newESAdmin(urls []string, logger *slog.Logger) (*esAdmin, error) {
	tr := &http.Transport{ResponseHeaderTimeout: 2 * time.Minute}
	c, err := es.NewClient(es.Config{Addresses: urls, Transport: tr, MaxRetries: 5})
	if err != nil {
		return nil, err
	}
	return &esAdmin{c: c, tr: tr, logger: logger}, nil
}

func (a *esAdmin) close() { a.tr.CloseIdleConnections() }

func (a *esAdmin) do(ctx context.Context, what string, req esapi.Request, ok ...int) ([]byte, int, error) {
	res, err := req.Do(ctx, a.c)
	if err != nil {
		return nil, 0, fmt.Errorf("rebuild: %s: %w", what, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode == http.StatusOK {
		return body, res.StatusCode, nil
	}
	for _, s := range ok {
		if res.StatusCode == s {
			return body, res.StatusCode, nil
		}
	}
	return nil, res.StatusCode, fmt.Errorf("rebuild: %s: %d %s", what, res.StatusCode, strings.TrimSpace(string(body)))
}

// setWriteBlock adds or lifts the write block of indices. Adding returns once Elasticsearch has
// made every shard refuse writes and the writes in flight have finished.
func (a *esAdmin) setWriteBlock(ctx context.Context, indices []string, on bool) error {
	what := "blocking writes to " + strings.Join(indices, ",")
	if !on {
		what = "lifting the write block of " + strings.Join(indices, ",")
		_, _, err := a.do(ctx, what, esapi.IndicesPutSettingsRequest{
			Index: indices, Body: strings.NewReader(`{"index.blocks.write": null}`),
		}, http.StatusNotFound)
		return err
	}
	body, _, err := a.do(ctx, what, esapi.IndicesAddBlockRequest{Index: indices, Block: "write"})
	if err != nil {
		return err
	}
	var out struct {
		Acknowledged       bool `json:"acknowledged"`
		ShardsAcknowledged bool `json:"shards_acknowledged"`
		Indices            []struct {
			Name    string `json:"name"`
			Blocked bool   `json:"blocked"`
		} `json:"indices"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("rebuild: %s: %w", what, err)
	}
	blocked := 0
	for _, i := range out.Indices {
		if i.Blocked {
			blocked++
		}
	}
	if !out.Acknowledged || !out.ShardsAcknowledged || blocked != len(indices) {
		return fmt.Errorf("rebuild: %s: not acknowledged by every shard: %s", what, body)
	}
	return nil
}

// unblockStale lifts a write block a rebuild killed between steps 2 and 4 left on the live
// generation (without it the live projector would never write again).
func (a *esAdmin) unblockStale(ctx context.Context, indices []string) error {
	body, _, err := a.do(ctx, "reading the settings of "+strings.Join(indices, ","), esapi.IndicesGetSettingsRequest{
		Index: indices, Name: []string{"index.blocks.write"},
	})
	if err != nil {
		return err
	}
	var got map[string]struct {
		Settings struct {
			Index struct {
				Blocks struct {
					Write string `json:"write"`
				} `json:"blocks"`
			} `json:"index"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return fmt.Errorf("rebuild: reading index settings: %w", err)
	}
	for name, s := range got {
		if s.Settings.Index.Blocks.Write == "true" {
			a.logger.Warn("rebuild: the live views are write-blocked, left so by a rebuild that did not finish: lifting the block", "index", name)
			return a.setWriteBlock(ctx, indices, false)
		}
	}
	return nil
}

func (a *esAdmin) deleteIndices(ctx context.Context, indices []string) error {
	ignore := true
	_, _, err := a.do(ctx, "deleting "+strings.Join(indices, ","), esapi.IndicesDeleteRequest{Index: indices, IgnoreUnavailable: &ignore}, http.StatusNotFound)
	return err
}
