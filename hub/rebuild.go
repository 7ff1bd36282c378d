package hub

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lizhou/fangxin/projections"
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
	if err := lg.ResetGroup(ctx, projections.ViewsHandler); err != nil {
		return 0, 0, fmt.Errorf("rebuild: resetting the projector's position: %w", err)
	}
	total, err := lg.Lag(ctx, projections.ViewsHandler)
	if err != nil {
		return 0, 0, err
	}
	sub, err := lg.Subscriber(projections.ViewsHandler)
	if err != nil {
		return 0, 0, err
	}
	router, err := projections.NewProjector(cfg.Projector, views, sub, lg.Publisher(), d.Logger, nil)
	if err != nil {
		return 0, 0, err
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
			return 0, time.Since(start), ctx.Err()
		case err := <-done:
			return 0, time.Since(start), fmt.Errorf("rebuild: projector stopped: %w", err)
		case <-tick.C:
		}
		lag, err := lg.Lag(ctx, projections.ViewsHandler)
		if err != nil {
			return 0, time.Since(start), err
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
		return 0, time.Since(start), err
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			d.Logger.Warn("rebuild: could not remove the old views", "dir", old, "err", err)
		}
	}
	return total, time.Since(start), nil
}
