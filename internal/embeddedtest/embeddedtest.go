// Package embeddedtest gives tests the real embedded pieces of a hub: the log and the views in a
// temporary folder, and the views projector running over them. Tests of the packages that sit
// on top (the gateway, the linker) use these rather than stand-ins.
package embeddedtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/eventlog/boltlog"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/embedded"
)

// Open opens an embedded log (log.db) and views (views/) in a new temporary folder, and returns
// them with the folder; both are closed when the test ends.
func Open(tb testing.TB) (lg *boltlog.Log, store *embedded.Store, dir string) {
	tb.Helper()
	dir = tb.TempDir()
	lg, err := boltlog.Open(filepath.Join(dir, "log.db"), boltlog.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = lg.Close() })
	store, err = embedded.Open(filepath.Join(dir, "views"), embedded.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	return lg, store, dir
}

// StartProjector runs the views projector over lg into store (its consumer group commits every
// 20 ms) once it is running, and returns its stop function. Stop waits for the router to end; it
// also runs when the test ends, and a second call does nothing.
func StartProjector(tb testing.TB, lg *boltlog.Log, store projections.Store, logger *slog.Logger, reg prometheus.Registerer) (stop func()) {
	tb.Helper()
	sub, err := lg.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: projections.ViewsHandler, CommitInterval: 20 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	router, err := projections.NewProjector(projections.ProjectorConfig{CloseTimeout: 5 * time.Second}, store, sub, lg.Publisher(), logger, reg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = router.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); _ = router.Close(); <-done }) }
	tb.Cleanup(stop)
	select {
	case <-router.Running():
	case <-time.After(10 * time.Second):
		tb.Fatal("the views projector did not start")
	}
	return stop
}
