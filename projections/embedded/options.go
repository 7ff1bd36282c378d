package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/projections"
)

// DefaultLimit is the page size of a query whose Limit is 0 (the seam's rule).
const DefaultLimit = projections.DefaultLimit

// Options configures a Store. The zero value takes the defaults.
type Options struct {
	// MaxBatch caps how many Apply calls are committed together in one bbolt transaction.
	// Default 1000. (The indexer merges every group committed since its last write.)
	MaxBatch int
	// LockTimeout bounds how long Open waits for the data folder's lock, held by another process
	// that has the store open. Default 5s.
	LockTimeout time.Duration
	// RecoveryBatch is how many documents Open writes per bleve batch when it re-indexes.
	// Default 1000.
	RecoveryBatch int
	// GroupWait bounds how long a group waits for the other Apply calls in progress to join it.
	// Default 2ms; a lone caller never waits.
	GroupWait time.Duration
	// CommitInterval is the least time between the starts of two group commits while a stream
	// of concurrent calls arrives (the last group held at least lingerGroup calls): the calls
	// that arrive meanwhile wait for the next group. Every commit costs an
	// fsync and rewrites the B+tree pages it touches, and under a steady load of small pushes
	// commits as frequent as the disk allows were tiny (3 events per group at 1,000 events/s,
	// ~7 pages per event against ~2 in groups of 500): their CPU was what the views lacked to
	// keep up. With the interval, groups grow with the rate. A lone caller, or a few calling one
	// after another, never waits. Default 60ms; a negative value commits as soon as the previous
	// commit is done.
	CommitInterval time.Duration
	// IndexInterval is the least time between two writes of the live indexer to the search
	// indexes while no search waits for it: the groups committed meanwhile go into one batch,
	// which makes fewer, larger bleve segments (each persisted with its own fsyncs and merged
	// again later). A search that needs what is not yet indexed cuts the wait short, so reads
	// still see every Apply that returned before them. Default 200ms; a negative value writes as
	// soon as a group is committed.
	IndexInterval time.Duration
	// IndexRetry is how long the indexer waits before it writes a failed batch of search
	// documents again (merged with whatever came since). Default 1s.
	IndexRetry time.Duration
	// Bulk is for building views into a fresh folder that is thrown away unless the build
	// finishes (fangxin rebuild), by one projector. Apply records events in a bbolt transaction
	// committed without fsync every BulkCommit events, folds the merchant profiles in memory and
	// indexes nothing for search; Close commits the rest, writes the profiles (and their search
	// hits) once, syncs bbolt and then builds both search indexes from it in batches of
	// BulkIndexBatch. So Apply is NOT durable on return, a crash leaves a folder that must be
	// removed, and reads see nothing reliable (searches nothing at all) until the store was
	// closed and reopened. Default false.
	Bulk bool
	// BulkCommit is how many events Apply records in one bbolt transaction in Bulk mode before it
	// commits it (without fsync). Apply answers before that commit; a store error after it has
	// answered breaks the build (Store.BulkErr). Default 10000.
	BulkCommit int
	// BulkIndexBatch is how many documents Close writes per bleve batch in Bulk mode. Default
	// 5000.
	BulkIndexBatch int
	// ProfileCache is how many decoded merchant profiles the live commit stage keeps, so a
	// merchant's next event skips decoding its profile. Default 20000; a negative value turns
	// it off.
	ProfileCache int
	// Logger receives the indexer's errors. Default: none.
	Logger *slog.Logger
	// Registerer receives the live stages' metrics (fangxin_views_*); nil registers none. One
	// store per registry.
	Registerer prometheus.Registerer
}

func (o Options) logf(format string, args ...any) {
	if o.Logger != nil {
		o.Logger.Warn(fmt.Sprintf(format, args...))
	}
}

const maxMaxBatch = 100_000

func (o *Options) setDefaults() {
	if o.MaxBatch == 0 {
		o.MaxBatch = 1000
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 5 * time.Second
	}
	if o.RecoveryBatch == 0 {
		o.RecoveryBatch = 1000
	}
	if o.GroupWait == 0 {
		o.GroupWait = 2 * time.Millisecond
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = 60 * time.Millisecond
	}
	if o.IndexRetry == 0 {
		o.IndexRetry = time.Second
	}
	if o.IndexInterval == 0 {
		o.IndexInterval = 200 * time.Millisecond
	}
	if o.BulkCommit == 0 {
		o.BulkCommit = 10_000
	}
	if o.BulkIndexBatch == 0 {
		o.BulkIndexBatch = 5000
	}
	if o.ProfileCache == 0 {
		o.ProfileCache = 20_000
	}
}

// Validate reports every invalid setting. Zero values are valid: they take the defaults.
func (o Options) Validate() error {
	var errs []error
	if o.MaxBatch < 0 || o.MaxBatch > maxMaxBatch {
		errs = append(errs, fmt.Errorf("embedded: MaxBatch %d must be between 1 and %d (0 = default)", o.MaxBatch, maxMaxBatch))
	}
	if o.LockTimeout < 0 {
		errs = append(errs, errors.New("embedded: LockTimeout must be ≥ 0 (0 = default)"))
	}
	if o.CommitInterval > time.Second {
		errs = append(errs, errors.New("embedded: CommitInterval must be at most 1s (0 = default, negative = none)"))
	}
	if o.GroupWait < 0 || o.GroupWait > time.Second {
		errs = append(errs, errors.New("embedded: GroupWait must be between 0 and 1s (0 = default)"))
	}
	if o.IndexInterval > 10*time.Second {
		errs = append(errs, errors.New("embedded: IndexInterval must be at most 10s (0 = default, negative = none)"))
	}
	if o.IndexRetry < 0 {
		errs = append(errs, errors.New("embedded: IndexRetry must be ≥ 0 (0 = default)"))
	}
	if o.BulkCommit < 0 || o.BulkCommit > 10*maxMaxBatch {
		errs = append(errs, fmt.Errorf("embedded: BulkCommit %d must be between 1 and %d (0 = default)", o.BulkCommit, 10*maxMaxBatch))
	}
	if o.BulkIndexBatch < 0 || o.BulkIndexBatch > maxMaxBatch {
		errs = append(errs, fmt.Errorf("embedded: BulkIndexBatch %d must be between 1 and %d (0 = default)", o.BulkIndexBatch, maxMaxBatch))
	}
	if o.RecoveryBatch < 0 || o.RecoveryBatch > maxMaxBatch {
		errs = append(errs, fmt.Errorf("embedded: RecoveryBatch %d must be between 1 and %d (0 = default)", o.RecoveryBatch, maxMaxBatch))
	}
	return errors.Join(errs...)
}
