package hub

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/embedded"
)

// Rebuild drops every view and folds the whole log into new ones with the same projector the hub
// runs, returning once the views have caught up with the log as it was when Rebuild started
// and later. The hub must not be running against the same data folder (the embedded log and
// views are locked by the process that has them open).
func Rebuild(ctx context.Context, cfg Config, d Deps) (folded int64, took time.Duration, err error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return 0, 0, err
	}
	// Elasticsearch views are rebuilt into a new index generation beside the live one while the
	// hub keeps running, then swapped in (hub/distributed_rebuild.go).
	if cfg.Views.Elasticsearch != nil {
		return rebuildElasticsearch(ctx, cfg, d)
	}
	start := time.Now()
	lg, err := openLog(ctx, cfg, d)
	if err != nil {
		return 0, 0, err
	}
	defer lg.Close()
	if cp, ok := lg.(groupCopier); ok && cfg.Views.Embedded != nil {
		total, err := rebuildEmbeddedBulk(ctx, cfg, d, lg, cp)
		return total, time.Since(start), err
	}

	var old string
	if cfg.Views.Embedded != nil {
		dir := cfg.Views.Embedded.Dir
		if _, err := os.Stat(dir); err == nil {
			old = fmt.Sprintf("%s.old-%d", dir, time.Now().UnixNano())
			if err := os.Rename(dir, old); err != nil {
				return 0, 0, fmt.Errorf("rebuild: moving the old views aside: %w", err)
			}
		}
	}
	views, err := openViews(ctx, cfg, d)
	if err != nil {
		return 0, 0, err
	}
	defer views.Close()
	total, err := foldAll(ctx, cfg, d, lg, views, projections.ViewsHandler)
	if err != nil {
		return 0, time.Since(start), err
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			d.Logger.Warn("rebuild: could not remove the old views", "dir", old, "err", err)
		}
	}
	return total, time.Since(start), nil
}

// groupCopier is an optional ability of a log backend: setting one consumer group's position
// to another's.
type groupCopier interface {
	CopyGroup(ctx context.Context, from, to string) error
}

// The garbage collector's settings during a bulk rebuild (see rebuildEmbeddedBulk). Measured on
// building the search indexes of 300k events (the same views.db, back to back): GOGC 150 within
// 1 GiB cost 82 s of CPU, GOGC 400 within 1.5 GiB 71 s (-14%), for 0.5 GiB more peak memory.
// The soft limit keeps the heap, and so the peak (with the mmapped views.db, log and segments
// besides it), bounded as the log grows.
const (
	rebuildGCPercent   = 400
	rebuildMemoryLimit = 3 << 29 // 1.5 GiB
)

// rebuildGroup is the consumer group that folds the log into the new embedded views.
const rebuildGroup = projections.ViewsHandler + "-rebuild"

// rebuildEmbeddedBulk folds the whole log into new embedded views in a folder beside the live
// ones, with the store in bulk mode (embedded.Options.Bulk: profiles folded in memory, bbolt
// committed every BulkCommit events without fsync, search indexes built once at the end), then
// swaps the folders and hands the rebuild group's position to the projector's group.
// Every instant is crash-safe: until the swap the live views and the projector's position are
// untouched (a crash leaves a folder the next rebuild removes). The new folder is handed over
// only after views.Close has returned, and Close writes the profiles, fsyncs views.db and builds
// the search indexes (each bleve batch persisted and synced) first: nothing the bulk mode left
// unsynced can reach the live views, a crash before that point only costs a new rebuild from the
// beginning. Keep that order if you change this function. The projector's position is
// reset to the beginning before the swap and set to the rebuilt position after it, and a
// projector that starts in between re-applies events its views already hold, which Apply
// recognises as duplicates (or, with no views folder at all, folds everything again).
func rebuildEmbeddedBulk(ctx context.Context, cfg Config, d Deps, lg logBackend, cp groupCopier) (int64, error) {
	dir := cfg.Views.Embedded.Dir
	tmp := dir + ".rebuild"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, fmt.Errorf("rebuild: removing an unfinished rebuild: %w", err)
	}
	// The rebuild is a batch job whose heap is mostly short-lived garbage (decoded events, bleve's
	// analysis): collect less often than the default 100%, within a soft limit.
	defer debug.SetGCPercent(debug.SetGCPercent(rebuildGCPercent))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(rebuildMemoryLimit))
	views, err := embedded.Open(tmp, embedded.Options{Bulk: true, MaxBatch: 5000, Logger: d.Logger})
	if err != nil {
		return 0, fmt.Errorf("rebuild: new views in %s: %w", tmp, err)
	}
	total, err := foldAll(ctx, cfg, d, lg, views, rebuildGroup)
	if err != nil {
		views.Close()
		return 0, err
	}
	d.Logger.Info("rebuilding views: building the search indexes", "events", total)
	if err := views.Close(); err != nil {
		return 0, fmt.Errorf("rebuild: finishing the new views: %w", err)
	}
	if err := lg.ResetGroup(ctx, projections.ViewsHandler); err != nil {
		return 0, fmt.Errorf("rebuild: resetting the projector's position: %w", err)
	}
	old := fmt.Sprintf("%s.old-%d", dir, time.Now().UnixNano())
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		return 0, fmt.Errorf("rebuild: moving the old views aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return 0, fmt.Errorf("rebuild: moving the new views in place: %w", err)
	}
	if err := cp.CopyGroup(ctx, rebuildGroup, projections.ViewsHandler); err != nil {
		return 0, fmt.Errorf("rebuild: handing over the position: %w", err)
	}
	if err := lg.ResetGroup(ctx, rebuildGroup); err != nil {
		d.Logger.Warn("rebuild: could not forget the rebuild group", "err", err)
	}
	if err := os.RemoveAll(old); err != nil {
		d.Logger.Warn("rebuild: could not remove the old views", "dir", old, "err", err)
	}
	return total, nil
}

// foldAll runs the projector as group over the whole log into views, from the beginning, until
// it has caught up with the log as it was at the start and later.
func foldAll(ctx context.Context, cfg Config, d Deps, lg logBackend, views projections.Store, group string) (int64, error) {
	if err := lg.ResetGroup(ctx, group); err != nil {
		return 0, fmt.Errorf("rebuild: resetting the position of %s: %w", group, err)
	}
	total, err := lg.Lag(ctx, group)
	if err != nil {
		return 0, err
	}
	sub, err := lg.Subscriber(group, nil)
	if err != nil {
		return 0, err
	}
	router, err := projections.NewProjector(cfg.Projector, views, sub, lg.Publisher(), d.Logger, nil)
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- router.Run(rctx) }()

	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		select {
		case <-ctx.Done():
			_ = router.Close()
			return 0, ctx.Err()
		case err := <-done:
			return 0, fmt.Errorf("rebuild: projector stopped: %w", err)
		case <-tick.C:
		}
		if b, ok := views.(interface{ BulkErr() error }); ok {
			if err := b.BulkErr(); err != nil {
				_ = router.Close()
				return 0, fmt.Errorf("rebuild: %w", err)
			}
		}
		lag, err := lg.Lag(ctx, group)
		if err != nil {
			return 0, err
		}
		if time.Since(lastReport) > 5*time.Second {
			d.Logger.Info("rebuilding views", "folded", total-lag, "of", total)
			lastReport = time.Now()
		}
		if lag <= 0 {
			break
		}
	}
	if err := router.Close(); err != nil {
		return 0, err
	}
	return total, nil
}
