package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/projections"
)

var _ projections.Store = (*Store)(nil)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("embedded: store closed")

// Store is the embedded read model. Open one per data folder; it is safe for concurrent use.
type Store struct {
	opts      Options
	db        *bolt.DB
	merchants bleve.Index
	events    bleve.Index
	analyzer  analysis.Analyzer // the cjk analyzer, to split query words

	// mu guards closed and the intake channel: Apply and the readers hold it shared, Close
	// exclusively.
	mu     sync.RWMutex
	closed bool
	intake chan *request
	done   chan struct{} // closed when both pipeline goroutines have finished

	// cleared holds event keys whose bleve part is durable; the next bbolt transaction removes
	// their pending markers.
	clearedMu sync.Mutex
	cleared   [][]byte

	// pendSeq numbers the pending markers (the last one written); only the commit goroutine
	// touches it after Open.
	pendSeq uint64

	// profiles caches decoded merchant profiles for the live commit stage (see profileCache);
	// only the commit goroutine touches it.
	profiles *profileCache

	// unanswered counts Apply calls that have entered and not been answered yet: those in the
	// group being committed, in the intake and about to send. A group stops waiting for more
	// once it holds all of them (see commitLoop).
	unanswered atomic.Int64
	groups     atomic.Int64 // groups committed, for the benchmarks
	metrics    *metrics

	// committedSeq counts groups committed to bbolt; indexedSeq counts groups the indexer has
	// finished with (persisted, or failed and left pending for recovery). Searches wait until
	// indexedSeq reaches the committedSeq they started at, so they see every Apply that
	// returned before them.
	committedSeq atomic.Int64
	indexedSeq   atomic.Int64
	indexedMu    sync.Mutex
	indexedCond  *sync.Cond
	// indexWake tells a pacing indexer (Options.IndexInterval) that a search waits for it.
	indexWake chan struct{}

	// afterCommit, when set (tests only), runs between the bbolt commit and the bleve batch of
	// each group; an error leaves the group's search documents pending, as a crash would.
	afterCommit atomic.Pointer[func() error]

	// Bulk mode only. mem holds the merchant profiles, folded in memory and written to bbolt
	// once, at Close (see bulkProfile). bulkTx is the write transaction that stays open across
	// groups until Options.BulkCommit events have been applied in it. The commit goroutine owns
	// the three until it ends; then Close does. bulkErr is a failure that broke the build.
	mem          map[string]*bulkProfile
	bulkTx       *bolt.Tx
	bulkTxEvents int
	bulkErrMu    sync.Mutex
	bulkErr      error
}

type request struct {
	entry projections.TimelineEntry
	pos   eventlog.Position
	fold  projections.FoldFunc
	done  chan result
	// value is the entry's timeline encoding, made by the caller (or encErr): the callers
	// encode in parallel, the commit stage (one goroutine) only writes.
	value  []byte
	encErr error
	chain  *chain // set for the links of one ApplyChain call
}

type result struct {
	applied bool
	err     error
}

// group is the unit of group commit: the requests gathered at once and what they need indexed.
type group struct {
	reqs      []*request
	results   []result
	events    map[string]*eventDoc    // by event key
	merchants map[string]*merchantDoc // by USCC
	pending   [][]byte                // event keys marked pending by this group
	err       error                   // fails every request of the group
	seq       int64                   // committedSeq of this group
}

// Open opens (creating if needed) the store in dir: views.db, merchants.bleve and events.bleve.
// It re-indexes what a crash left pending, and rebuilds a missing search index from views.db.
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(dir, "views.db"), 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		FreelistType: bolt.FreelistMapType,
		NoSync:       opts.Bulk,
		// The freelist is rebuilt by a scan on open instead of being written by every commit
		// (as etcd does): the views rewrite pages all over the file, so the freelist is long,
		// and each group commit would write all of it again.
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: open views.db: %w", err)
	}
	s := &Store{opts: opts, db: db, profiles: newProfileCache(opts.ProfileCache), metrics: newMetrics(opts.Registerer)}
	if opts.Bulk {
		s.mem = map[string]*bulkProfile{}
	}
	if err := s.init(dir); err != nil {
		s.closeStores()
		return nil, err
	}
	s.intake = make(chan *request, opts.MaxBatch)
	s.done = make(chan struct{})
	s.indexedCond = sync.NewCond(&s.indexedMu)
	s.indexWake = make(chan struct{}, 1)
	// The queue between the stages bounds how far search may lag behind bbolt; when it is full
	// the commit stage, and so Apply, waits for the indexer.
	toIndex := make(chan *group, indexQueue)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.commitLoop(toIndex) }()
	go func() { defer wg.Done(); s.indexLoop(toIndex) }()
	go func() { wg.Wait(); close(s.done) }()
	return s, nil
}

func (s *Store) init(dir string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTimeline, bucketEvents, bucketProfiles, bucketHits, bucketPending} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("embedded: %s holds schema %q, this build reads %q: remove the folder and rebuild the views from the log", dir, v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var mCreated, eCreated bool
	if s.merchants, mCreated, err = openIndex(filepath.Join(dir, "merchants.bleve"), merchantMapping()); err != nil {
		return err
	}
	if s.events, eCreated, err = openIndex(filepath.Join(dir, "events.bleve"), eventMapping()); err != nil {
		return err
	}
	if s.analyzer = s.events.Mapping().AnalyzerNamed(cjk.AnalyzerName); s.analyzer == nil {
		return errors.New("embedded: cjk analyzer not registered")
	}
	return s.recover(mCreated, eCreated)
}

// Close finishes the Apply calls already accepted and writes their search documents (what fails
// stays pending for the next Open), then closes the files. Calls made after Close return
// ErrClosed; closing again is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.intake)
	s.mu.Unlock()
	<-s.done
	if s.opts.Bulk {
		return errors.Join(s.finishBulk(), s.closeStores())
	}
	// Drop the markers of the last groups; failing here only costs a re-index at the next Open.
	cleared := s.takeCleared()
	err := s.db.Update(func(tx *bolt.Tx) error { return deletePending(tx, cleared) })
	return errors.Join(err, s.closeStores())
}

func (s *Store) closeStores() error {
	var errs []error
	for _, idx := range []bleve.Index{s.merchants, s.events} {
		if idx != nil {
			errs = append(errs, idx.Close())
		}
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// Apply records ev at pos and folds it into its merchant's profile (projections.Store). It
// returns once the change is durable in bbolt, with its search documents marked pending there
// until the indexer has persisted them (the next Open completes whatever a crash left pending).
func (s *Store) Apply(ctx context.Context, ev projections.TimelineEntry, pos eventlog.Position, fold projections.FoldFunc) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if fold == nil {
		return false, errors.New("embedded: Apply needs a fold")
	}
	// The group may still read the entry after a cancelled call returned: keep a copy.
	ev.Event.Data, ev.Private = bytes.Clone(ev.Event.Data), bytes.Clone(ev.Private)
	r := &request{entry: ev, pos: pos, fold: fold, done: make(chan result, 1)}
	r.value, r.encErr = encodeTimeline(ev)
	s.unanswered.Add(1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		s.unanswered.Add(-1)
		return false, ErrClosed
	}
	select {
	case s.intake <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		s.unanswered.Add(-1)
		return false, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.applied, res.err
	case <-ctx.Done():
		// The group still completes; the caller retries and the retry is a redelivery.
		return false, ctx.Err()
	}
}

// lingerGroup is how many calls a group must have held for the next group to wait for
// Options.CommitInterval.
const lingerGroup = 8

// indexQueue is how many committed groups may wait for the indexer.
const indexQueue = 64

// commitLoop is the first stage: it gathers waiting requests into a group, commits the group to
// bbolt in one transaction (one fsync), answers the group's callers and hands the group's search
// documents to indexLoop. Everything that arrives during a commit joins the next group; a group
// also waits up to Options.GroupWait for the Apply calls that have entered but not reached the
// intake yet. It never waits for callers it has answered, which may or may not call again: in a
// busy process those run after a wait of their own for a CPU, and a commit stage that waited
// for them would queue behind them for its next turn too. A lone caller never waits. Under a
// stream of calls (the projector's), a group first gathers until Options.CommitInterval after
// the start of the last commit.
func (s *Store) commitLoop(out chan<- *group) {
	defer close(out)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var lastStart time.Time
	stream := false // the last group was a stream's (lingerGroup)
	for first := range s.intake {
		g := &group{reqs: []*request{first}}
		closed, waiting, timerLingers := false, false, false
		var until time.Time // under a stream, the group gathers until then whatever else it holds
		if stream && !s.opts.Bulk && s.opts.CommitInterval > 0 {
			until = lastStart.Add(s.opts.CommitInterval)
		}
	gather:
		for len(g.reqs) < s.opts.MaxBatch {
			select {
			case r, ok := <-s.intake:
				if !ok {
					closed = true
					break gather
				}
				g.reqs = append(g.reqs, r)
				continue
			default:
			}
			lingering := time.Now().Before(until)
			if !lingering && int64(len(g.reqs)) >= s.unanswered.Load() {
				break
			}
			if !waiting {
				d := s.opts.GroupWait
				if lingering {
					d = time.Until(until)
				}
				timer.Reset(d)
				waiting, timerLingers = true, lingering
			}
			select {
			case r, ok := <-s.intake:
				if !ok {
					closed = true
					break gather
				}
				g.reqs = append(g.reqs, r)
			case <-timer.C:
				waiting = false
				if !timerLingers {
					break gather
				}
				// The interval is over: wait up to GroupWait for the calls in progress, as any group.
			}
		}
		if waiting && !timer.Stop() {
			<-timer.C
		}
		s.groups.Add(1)
		start := time.Now()
		lastStart = start
		s.commit(g)
		if !s.opts.Bulk {
			s.metrics.observeCommit(time.Since(start), len(g.reqs))
		}
		s.unanswered.Add(-int64(len(g.reqs)))
		// Concurrent callers (the projector's stream) make groups of many; a lone caller, or a
		// few calling one after another, make groups of one or a few and gain nothing from a
		// commit that lingers. (Counting the calls that arrived during the commit instead missed
		// the stream on a saturated CPU, where its callers wait for a CPU too.)
		stream = len(g.reqs) >= lingerGroup
		if g.err == nil && !s.opts.Bulk {
			g.seq = s.committedSeq.Add(1)
			out <- g
		}
		g.finish()
		if closed {
			return
		}
	}
}

// indexBatch is what the indexer writes at once: the documents of one or more groups.
type indexBatch struct {
	events    map[string]*eventDoc
	merchants map[string]*merchantDoc
	pending   [][]byte
	last      int64 // committedSeq of the last group in it
}

// add merges g in; a later group's document of the same id replaces an earlier one's.
func (b *indexBatch) add(g *group) {
	if b.events == nil {
		b.events = map[string]*eventDoc{}
	}
	if b.merchants == nil {
		b.merchants = map[string]*merchantDoc{}
	}
	for k, d := range g.events {
		b.events[k] = d
	}
	for k, d := range g.merchants {
		b.merchants[k] = d
	}
	b.pending = append(b.pending, g.pending...)
	b.last = g.seq
}

// indexLoop is the second stage: it takes every group waiting, merges their documents and
// writes them to both indexes in one batch each, persisted, then lets the next commit clear
// their pending markers. A failed write is retried, merged with whatever came since, after
// Options.IndexRetry (and by the redelivery of any of its events); if the store closes first,
// the markers stay and the next Open completes them.
func (s *Store) indexLoop(in <-chan *group) {
	var carry *indexBatch // a failed write, to retry
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	var lastWrite time.Time
	for open := true; open || carry != nil; {
		b := carry
		carry = nil
		if b == nil {
			g, ok := <-in
			if !ok {
				break
			}
			b = &indexBatch{}
			b.add(g)
			open = s.pace(in, b, pace, lastWrite)
		} else if open {
			select {
			case g, ok := <-in:
				if ok {
					b.add(g)
				} else {
					open = false // closing: one last attempt
				}
			case <-retry.C:
			}
		}
	drain:
		for open {
			select {
			case g, ok := <-in:
				if !ok {
					open = false
					break drain
				}
				b.add(g)
			default:
				break drain
			}
		}
		err := error(nil)
		if hook := s.afterCommit.Load(); hook != nil {
			err = (*hook)()
		}
		if err == nil {
			start := time.Now()
			err = s.index(b.events, b.merchants)
			lastWrite = time.Now()
			s.metrics.observeIndex(lastWrite.Sub(start), len(b.events)+len(b.merchants))
		}
		if err != nil {
			s.opts.logf("embedded: search index: %v (the events stay pending; retried in %v, and completed by a redelivery or the next Open)", err, s.opts.IndexRetry)
			if open {
				carry = b
				retry.Reset(s.opts.IndexRetry)
			}
		} else {
			s.clearedMu.Lock()
			s.cleared = append(s.cleared, b.pending...)
			s.clearedMu.Unlock()
		}
		// Searches wait for the groups committed before them to have been through here, written
		// or not: a failing index must not stall them.
		s.indexedMu.Lock()
		s.indexedSeq.Store(b.last)
		s.indexedCond.Broadcast()
		s.indexedMu.Unlock()
	}
	retry.Stop()
	// Wake any search still waiting: nothing more will be indexed.
	s.indexedMu.Lock()
	s.indexedSeq.Store(1 << 62)
	s.indexedCond.Broadcast()
	s.indexedMu.Unlock()
}

// pace holds a new batch b until Options.IndexInterval has passed since the last write,
// gathering the groups committed meanwhile into it, so a steady stream of small groups makes
// a few larger bleve segments instead of many small ones (each one persisted with its own
// fsyncs, and merged again later). It stops early when a search waits (indexWake), when the
// batch holds Options.BulkIndexBatch documents, or when in closes; it returns whether in is
// still open.
func (s *Store) pace(in <-chan *group, b *indexBatch, timer *time.Timer, lastWrite time.Time) bool {
	wait := s.opts.IndexInterval - time.Since(lastWrite)
	if wait <= 0 {
		return true
	}
	timer.Reset(wait)
	defer func() {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}()
	for len(b.events)+len(b.merchants) < s.opts.BulkIndexBatch {
		select {
		case g, ok := <-in:
			if !ok {
				return false
			}
			b.add(g)
		case <-s.indexWake:
			return true
		case <-timer.C:
			return true
		}
	}
	return true
}

// awaitIndexed blocks until every group committed before the call has been through the indexer.
func (s *Store) awaitIndexed(ctx context.Context) error {
	target := s.committedSeq.Load()
	if s.indexedSeq.Load() >= target {
		return nil
	}
	select { // the indexer may be pacing: a search is waiting
	case s.indexWake <- struct{}{}:
	default:
	}
	stop := context.AfterFunc(ctx, func() {
		s.indexedMu.Lock()
		s.indexedCond.Broadcast()
		s.indexedMu.Unlock()
	})
	defer stop()
	s.indexedMu.Lock()
	defer s.indexedMu.Unlock()
	for s.indexedSeq.Load() < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.indexedCond.Wait()
	}
	return nil
}

func (g *group) finish() {
	for i, r := range g.reqs {
		res := g.results[i]
		if g.err != nil {
			res = result{err: g.err}
		}
		r.done <- res
	}
}

// index writes documents to both indexes, concurrently, and returns once both are persisted.
func (s *Store) index(evDocs map[string]*eventDoc, mDocs map[string]*merchantDoc) error {
	var wg sync.WaitGroup
	var errM, errE error
	if len(mDocs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := s.merchants.NewBatch()
			for id, d := range mDocs {
				if errM = b.Index(id, d); errM != nil {
					return
				}
			}
			errM = s.merchants.Batch(b)
		}()
	}
	if len(evDocs) > 0 {
		b := s.events.NewBatch()
		for _, d := range evDocs {
			if errE = b.Index(d.Order, d); errE != nil { // the id is the sort key (eventDoc)
				break
			}
		}
		if errE == nil {
			errE = s.events.Batch(b)
		}
	}
	wg.Wait()
	return errors.Join(errM, errE)
}

// takeCleared hands over the event keys whose pending markers may go.
func (s *Store) takeCleared() [][]byte {
	s.clearedMu.Lock()
	defer s.clearedMu.Unlock()
	keys := s.cleared
	s.cleared = nil
	return keys
}

// requeueCleared gives keys back after the transaction that was to delete their markers
// rolled back.
func (s *Store) requeueCleared(keys [][]byte) {
	s.clearedMu.Lock()
	s.cleared = append(s.cleared, keys...)
	s.clearedMu.Unlock()
}

func deletePending(tx *bolt.Tx, keys [][]byte) error {
	b := tx.Bucket(bucketPending)
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// commit records the group in one bbolt transaction and collects the documents to index.
func (s *Store) commit(g *group) {
	if s.opts.Bulk {
		s.commitBulk(g)
		return
	}
	g.results = make([]result, len(g.reqs))
	cleared := s.takeCleared()
	var w *writer
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := deletePending(tx, cleared); err != nil {
			return err
		}
		w = newWriter(tx)
		w.cache, w.pendSeq = s.profiles, &s.pendSeq
		for i, r := range g.reqs {
			if r.chain != nil && r.chain.broken.Load() {
				g.results[i] = result{err: fmt.Errorf("embedded: event %q: %w", r.entry.Event.Key(), projections.ErrChainBroken)}
				continue
			}
			res, err := w.apply(r)
			if err != nil {
				return err
			}
			g.results[i] = res
			if res.err != nil && r.chain != nil {
				r.chain.broken.Store(true) // the later links, here and in later groups, wait
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		var err error
		g.events, g.merchants, err = w.docs()
		g.pending = w.pendingKeys
		return err
	})
	if err != nil {
		// Rolled back: the markers are still there, clear them next time. The cache needs no
		// undoing: it is only trusted for a value equal to what bbolt holds.
		s.requeueCleared(cleared)
		g.err = fmt.Errorf("embedded: commit: %w", err)
		for _, r := range g.reqs {
			if r.chain != nil {
				r.chain.broken.Store(true)
			}
		}
		return
	}
	for uscc, ps := range w.profiles {
		if ps.enc != nil {
			s.profiles.put(uscc, ps.enc, ps.prof)
		}
	}
}

// commitBulk applies the group in Bulk mode: in the open bulk transaction, committed (without
// fsync) once Options.BulkCommit events are in it, and by Close. The callers are answered before
// that commit: a bulk build is thrown away unless Close finishes (it syncs bbolt before it
// builds the search indexes, and fangxin rebuild hands the folder over only after that), so
// nothing applied here can be lost from a build that is kept. A store error, which would roll
// back events already answered, breaks the build instead: this and every later Apply, and Close,
// return it (BulkErr).
func (s *Store) commitBulk(g *group) {
	g.results = make([]result, len(g.reqs))
	if err := s.BulkErr(); err != nil {
		g.err = err
		return
	}
	if s.bulkTx == nil {
		tx, err := s.db.Begin(true)
		if err != nil {
			g.err = s.failBulk(err)
			return
		}
		s.bulkTx = tx
	}
	w := newWriter(s.bulkTx)
	w.bulk, w.mem = true, s.mem
	for i, r := range g.reqs {
		if r.chain != nil && r.chain.broken.Load() {
			g.results[i] = result{err: fmt.Errorf("embedded: event %q: %w", r.entry.Event.Key(), projections.ErrChainBroken)}
			continue
		}
		res, err := w.apply(r)
		if err != nil {
			g.err = s.failBulk(err)
			return
		}
		g.results[i] = res
		if res.err != nil && r.chain != nil {
			r.chain.broken.Store(true)
		}
		if res.applied {
			s.bulkTxEvents++
		}
	}
	// The group's profiles become the current ones. (A request whose fold failed changed none.)
	for uscc, ps := range w.profiles {
		if ps.dirty {
			s.mem[uscc] = &bulkProfile{p: ps.prof, dirty: true}
		}
	}
	if s.bulkTxEvents >= s.opts.BulkCommit {
		if err := s.commitBulkTx(); err != nil {
			g.err = err
		}
	}
}

// commitBulkTx commits the open bulk transaction, if any.
func (s *Store) commitBulkTx() error {
	if s.bulkTx == nil {
		return s.BulkErr()
	}
	tx := s.bulkTx
	s.bulkTx, s.bulkTxEvents = nil, 0
	if err := tx.Commit(); err != nil {
		return s.failBulk(err)
	}
	return nil
}

// failBulk records the error that broke a bulk build, rolls back the open transaction and returns
// the error every later call gets.
func (s *Store) failBulk(err error) error {
	if s.bulkTx != nil {
		_ = s.bulkTx.Rollback()
		s.bulkTx, s.bulkTxEvents = nil, 0
	}
	s.bulkErrMu.Lock()
	defer s.bulkErrMu.Unlock()
	if s.bulkErr == nil {
		s.bulkErr = fmt.Errorf("embedded: the bulk build failed and must start over in a new folder: %w", err)
	}
	return s.bulkErr
}

// BulkErr returns the error that broke a Bulk build (Apply then fails every call and Close
// returns it), or nil. A caller waiting for a bulk build to catch up should give up on it.
func (s *Store) BulkErr() error {
	s.bulkErrMu.Lock()
	defer s.bulkErrMu.Unlock()
	return s.bulkErr
}

// writer applies requests inside one bbolt write transaction.
type writer struct {
	tx                         *bolt.Tx
	timeline, evIdx, pend, prf *bolt.Bucket

	profiles    map[string]*profileState // merchants touched by the group
	eventKeys   map[string][]byte        // event key -> timeline key, to index
	refresh     map[string]bool          // merchants whose every event is re-indexed
	pendingKeys [][]byte
	bulk        bool                    // Options.Bulk: no pending markers, no search documents
	mem         map[string]*bulkProfile // Store.mem (Bulk mode): read only here
	cache       *profileCache           // live mode: decoded profiles of earlier groups
	pendSeq     *uint64                 // Store.pendSeq

	// entries holds the events this group recorded, as applied, so their search documents are
	// built without decoding them back from the timeline.
	entries map[string]projections.TimelineEntry
}

type profileState struct {
	enc     []byte                       // current encoding (nil: no profile yet); set by flush when dirty
	prof    *projections.MerchantProfile // the current profile (nil: none yet); never changed in place
	before  *merchantDoc
	dirty   bool // enc must be written
	reindex bool // index the merchant doc even if unchanged (redelivery)
}

func newWriter(tx *bolt.Tx) *writer {
	return &writer{
		tx:       tx,
		timeline: tx.Bucket(bucketTimeline), evIdx: tx.Bucket(bucketEvents),
		pend: tx.Bucket(bucketPending), prf: tx.Bucket(bucketProfiles),
		profiles:  map[string]*profileState{},
		eventKeys: map[string][]byte{},
		refresh:   map[string]bool{},
		entries:   map[string]projections.TimelineEntry{},
	}
}

// profile returns the group's state of a merchant's profile, loading it on first use.
func (w *writer) profile(uscc string) (*profileState, error) {
	if ps, ok := w.profiles[uscc]; ok {
		return ps, nil
	}
	ps := &profileState{}
	if w.mem != nil {
		// Bulk mode: the profile is kept decoded in memory (or, in a folder built before, still
		// only in bbolt). No search documents are built, so no before-document either.
		if bp, ok := w.mem[uscc]; ok {
			ps.prof = bp.p
		} else if v := w.prf.Get([]byte(uscc)); v != nil {
			p, err := decodeProfile(v)
			if err != nil {
				return nil, err
			}
			ps.prof = &p
		}
		w.profiles[uscc] = ps
		return ps, nil
	}
	if v := w.prf.Get([]byte(uscc)); v != nil {
		if enc, p := w.cache.get(uscc, v); p != nil {
			ps.enc, ps.prof = enc, p
		} else {
			ps.enc = bytes.Clone(v)
			p, err := decodeProfile(ps.enc)
			if err != nil {
				return nil, err
			}
			ps.prof = &p
		}
		ps.before = newMerchantDoc(ps.prof)
	}
	w.profiles[uscc] = ps
	return ps, nil
}

func decodeProfile(v []byte) (projections.MerchantProfile, error) {
	var p projections.MerchantProfile
	if err := json.Unmarshal(v, &p); err != nil {
		return p, fmt.Errorf("%w: profile: %v", errCorrupt, err)
	}
	return p, nil
}

// apply handles one request. A returned error fails the whole transaction (the store itself
// is failing); problems of the request alone are reported in its result.
func (w *writer) apply(r *request) (result, error) {
	ev := r.entry.Event
	if err := checkEntry(r.entry); err != nil {
		return result{err: err}, nil
	}
	key := []byte(ev.Key())
	if rec := w.evIdx.Get(key); rec != nil {
		pos, tlKey, err := decodeEventRecord(rec)
		if err != nil {
			return result{}, err
		}
		if pos != r.pos {
			return result{}, nil // a duplicate: changes nothing
		}
		// A redelivery: the event is recorded; write its documents (and its merchant's) again.
		// A refresh of the merchant's other events the first delivery asked for needs nothing
		// here: that delivery's marker, with the flag, stays until the indexer has written its
		// group's documents, which reach bleve before this group's, and Open re-indexes it after
		// a crash.
		if err := w.markPending(key, 0); err != nil {
			return result{}, err
		}
		w.eventKeys[string(key)] = bytes.Clone(tlKey)
		if ev.Subject != "" {
			ps, err := w.profile(ev.Subject)
			if err != nil {
				return result{}, err
			}
			ps.reindex = true
		}
		return result{}, nil
	}

	target, link, isLink := projections.LinkOf(ev)
	var moving *linkMove
	if isLink {
		var err error
		if moving, err = w.findTarget(target, link); err != nil || moving == nil {
			return result{err: err}, nil
		}
	}
	value, err := r.value, r.encErr
	if err != nil {
		return result{err: fmt.Errorf("embedded: encode entry: %w", err)}, nil
	}
	flags := byte(0)
	if ev.Subject != "" {
		ps, err := w.profile(ev.Subject)
		if err != nil {
			return result{}, err
		}
		if w.mem != nil {
			var moved *request
			if moving != nil && moving.move {
				moved = &request{entry: moving.entry, pos: r.pos, fold: r.fold}
			}
			prof, err := foldCopy(ps.prof, moved, r, ev.Subject)
			if err != nil {
				return result{err: err}, nil // the fold failed: nothing of this request is written
			}
			ps.prof, ps.dirty = prof, true
		} else if err := w.foldEncoded(ps, r, moving, &flags); err != nil {
			return result{err: err}, nil
		}
	}
	tlKey := timelineKey(ev.Subject, ev.Time, ev.Key())
	if err := w.timeline.Put(tlKey, value); err != nil {
		return result{}, err
	}
	if err := w.evIdx.Put(key, encodeEventRecord(r.pos, tlKey)); err != nil {
		return result{}, err
	}
	if err := w.markPending(key, flags); err != nil {
		return result{}, err
	}
	if !w.bulk {
		w.eventKeys[string(key)] = tlKey
		w.entries[string(key)] = r.entry
	}
	if moving != nil && moving.move {
		if err := w.moveTarget(moving); err != nil {
			return result{}, err
		}
	}
	return result{applied: true}, nil
}

// foldEncoded folds r (after the linked event being moved, if any) into a copy of the profile,
// the way every live group does; flush encodes the group's last copy once.
func (w *writer) foldEncoded(ps *profileState, r *request, moving *linkMove, flags *byte) error {
	uscc := r.entry.Event.Subject
	var moved *request
	if moving != nil && moving.move {
		// The linked event is folded first, then the link itself.
		moved = &request{entry: moving.entry, pos: r.pos, fold: r.fold}
	}
	prof, err := foldCopy(ps.prof, moved, r, uscc)
	if err != nil {
		return err // the fold failed: nothing of this request is written
	}
	var name, township string
	if ps.prof != nil {
		name, township = ps.prof.Name, ps.prof.Township
	}
	if prof.Name != name || prof.Township != township {
		// What the merchant's event documents carry changed.
		*flags |= pendingRefresh
		w.refresh[uscc] = true
	}
	ps.prof, ps.dirty = prof, true
	return nil
}

// linkMove is the target of a merchant.linked event being applied.
type linkMove struct {
	key   []byte
	pos   eventlog.Position // where the target was recorded
	from  []byte            // its timeline key among the unlinked events
	entry projections.TimelineEntry
	move  bool // false: already linked, stays where it is
}

// findTarget looks up the event a link names. A target not yet applied is the caller's error
// (ErrLinkTarget); one already in a merchant's timeline is not moved again.
func (w *writer) findTarget(target string, link projections.Link) (*linkMove, error) {
	key := []byte(target)
	rec := w.evIdx.Get(key)
	if rec == nil {
		return nil, fmt.Errorf("embedded: %w: %s", projections.ErrLinkTarget, target)
	}
	pos, tlKey, err := decodeEventRecord(rec)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(tlKey, merchantPrefix("")) {
		return &linkMove{}, nil
	}
	v := w.timeline.Get(tlKey)
	if v == nil {
		return nil, fmt.Errorf("%w: event %q has no timeline entry", errCorrupt, target)
	}
	e, err := decodeTimeline(v)
	if err != nil {
		return nil, err
	}
	e.Linked = &link
	return &linkMove{key: key, pos: pos, from: bytes.Clone(tlKey), entry: e, move: true}, nil
}

// moveTarget moves a linked event from the unlinked events into its merchant's timeline.
func (w *writer) moveTarget(m *linkMove) error {
	value, err := encodeTimeline(m.entry)
	if err != nil {
		return err
	}
	to := timelineKey(m.entry.Linked.USCC, m.entry.Event.Time, string(m.key))
	if err := w.timeline.Delete(m.from); err != nil {
		return err
	}
	if err := w.timeline.Put(to, value); err != nil {
		return err
	}
	if err := w.evIdx.Put(m.key, encodeEventRecord(m.pos, to)); err != nil {
		return err
	}
	if err := w.markPending(m.key, 0); err != nil {
		return err
	}
	w.eventKeys[string(m.key)] = to
	w.entries[string(m.key)] = m.entry
	return nil
}

// markPending records that the search documents of the event under key are not yet known
// durable. Markers are numbered in commit order (pendingKey), so writing and clearing them
// appends to and trims the end of the bucket instead of touching a page per event key.
func (w *writer) markPending(key []byte, flags byte) error {
	if w.bulk {
		return nil
	}
	*w.pendSeq++
	k := pendingKey(*w.pendSeq)
	w.pendingKeys = append(w.pendingKeys, k)
	return w.pend.Put(k, append([]byte{flags}, key...))
}

// flush writes the profiles the group changed, and their search hits when those changed. (In Bulk
// mode profiles stay in memory until Close: writeBulkProfiles.)
//
// The encoding, most of its work, runs on parallel goroutines (encodeAll), and the writes go in
// key order.
func (w *writer) flush() error {
	var dirty []string
	for uscc, ps := range w.profiles {
		if ps.dirty {
			dirty = append(dirty, uscc)
		}
	}
	slices.Sort(dirty)
	hitEnc := make([][]byte, len(dirty))
	err := encodeAll(len(dirty), func(i int) error {
		ps := w.profiles[dirty[i]] // read only, and each state by one goroutine
		enc, err := ps.prof.AppendJSON(nil)
		if err != nil {
			return fmt.Errorf("embedded: encode profile: %w", err)
		}
		ps.enc = enc
		hitEnc[i], err = json.Marshal(newHit(ps.prof))
		return err
	})
	if err != nil {
		return err
	}
	hits := w.tx.Bucket(bucketHits)
	for i, uscc := range dirty {
		k := []byte(uscc)
		if err := w.prf.Put(k, w.profiles[uscc].enc); err != nil {
			return err
		}
		if !bytes.Equal(hits.Get(k), hitEnc[i]) {
			if err := hits.Put(k, hitEnc[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// encodeMin is how many items make encodeAll use more than the calling goroutine.
const encodeMin = 64

// encodeAll runs enc(0..n-1) on up to GOMAXPROCS goroutines (the caller's only, below
// encodeMin items) and returns the first error. The single-goroutine commit stage hands its
// encoding out this way: in a busy process each runnable goroutine gets a fair share of the
// CPU, so work split over several is done sooner than work queued behind one.
func encodeAll(n int, enc func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/encodeMin)
	if workers <= 1 {
		for i := range n {
			if err := enc(i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	errs := make([]error, workers)
	work := func(w int) {
		for errs[w] == nil {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			errs[w] = enc(i)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(0) // the caller is one of the workers
	wg.Wait()
	return errors.Join(errs...)
}

// foldCopy folds moved (the linked event being moved, if any) and r into a copy of p (nil: no
// profile yet) and returns the copy. p itself is never changed, so a fold that panics half-way
// leaves nothing behind: the panic is an error of this request alone.
func foldCopy(p *projections.MerchantProfile, moved, r *request, uscc string) (out *projections.MerchantProfile, err error) {
	if p == nil {
		out = &projections.MerchantProfile{USCC: uscc}
	} else {
		out = cloneProfile(p)
	}
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("embedded: fold panicked on %s: %v", r.entry.Event.Key(), v)
		}
	}()
	for _, q := range []*request{moved, r} {
		if q == nil {
			continue
		}
		q.fold(out, q.entry.Event)
		out.USCC = uscc
		out.LastPosition = r.pos
	}
	return out, nil
}

// cloneProfile copies p deeply enough that folding into the copy never changes p: its maps and
// slices are copied (the pointers inside them point at values a fold replaces, never changes).
func cloneProfile(p *projections.MerchantProfile) *projections.MerchantProfile {
	c := *p
	c.CountsByType = maps.Clone(p.CountsByType)
	c.CountsByBureau = maps.Clone(p.CountsByBureau)
	c.OpenComplaints = slices.Clone(p.OpenComplaints)
	c.Certifications = slices.Clone(p.Certifications)
	c.CreditListings = slices.Clone(p.CreditListings)
	return &c
}

// bulkProfile is a merchant's profile as folded so far in Bulk mode. dirty: not yet in bbolt.
type bulkProfile struct {
	p     *projections.MerchantProfile
	dirty bool
}

// writeBulkProfiles writes the profiles folded in memory in Bulk mode, and their search hits, in
// key order (appending to bbolt's pages rather than splitting them), in transactions of
// bulkProfileTx profiles.
func (s *Store) writeBulkProfiles() error {
	usccs := make([]string, 0, len(s.mem))
	for uscc, bp := range s.mem {
		if bp.dirty {
			usccs = append(usccs, uscc)
		}
	}
	slices.Sort(usccs)
	for len(usccs) > 0 {
		chunk := usccs[:min(len(usccs), bulkProfileTx)]
		usccs = usccs[len(chunk):]
		err := s.db.Update(func(tx *bolt.Tx) error {
			prf, hits := tx.Bucket(bucketProfiles), tx.Bucket(bucketHits)
			prf.FillPercent, hits.FillPercent = 1, 1 // appended in order: fill the pages
			for _, uscc := range chunk {
				p := s.mem[uscc].p
				enc, err := p.AppendJSON(nil)
				if err != nil {
					return fmt.Errorf("embedded: encode profile: %w", err)
				}
				hit, err := json.Marshal(newHit(p))
				if err != nil {
					return err
				}
				if err := prf.Put([]byte(uscc), enc); err != nil {
					return err
				}
				if err := hits.Put([]byte(uscc), hit); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, uscc := range chunk {
			s.mem[uscc].dirty = false
		}
	}
	return nil
}

const bulkProfileTx = 10_000

// newHit is what SearchMerchants returns of a profile. It is kept beside the profile so that a
// search decodes a few hundred bytes per hit, not a profile with its open complaints.
func newHit(p *projections.MerchantProfile) projections.MerchantHit {
	return projections.MerchantHit{
		USCC: p.USCC, Name: p.Name, Township: p.Township, TownshipName: p.TownshipName,
		Industry: p.Industry, IndustryName: p.IndustryName, Address: p.Address,
		Certified: p.Certified(), Listed: p.Listed(),
	}
}

// docs builds the group's search documents from the state the transaction leaves: events carry
// their merchant's profile as of the end of the group.
func (w *writer) docs() (map[string]*eventDoc, map[string]*merchantDoc, error) {
	b := newDocBuilder(w.tx)
	for uscc, ps := range w.profiles {
		if ps.prof != nil {
			b.profiles[uscc] = ps.prof // the group's final state, decoded already
		}
	}
	for uscc := range w.refresh {
		if err := b.addMerchantEvents(uscc); err != nil {
			return nil, nil, err
		}
	}
	for key, tlKey := range w.eventKeys {
		if e, ok := w.entries[key]; ok {
			if err := b.addDecoded(key, e); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := b.addEvent(key, tlKey); err != nil {
			return nil, nil, err
		}
	}
	for uscc, ps := range w.profiles {
		if !ps.dirty && !ps.reindex {
			continue
		}
		p, ok, err := b.profile(uscc)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		d := newMerchantDoc(p)
		if ps.reindex || ps.before == nil || !d.equal(ps.before) {
			b.merchants[uscc] = d
		}
	}
	return b.events, b.merchants, nil
}

// docBuilder builds search documents from a bbolt transaction.
type docBuilder struct {
	timeline, evIdx, prf *bolt.Bucket
	profiles             map[string]*projections.MerchantProfile // nil value: no profile
	events               map[string]*eventDoc
	merchants            map[string]*merchantDoc
}

func newDocBuilder(tx *bolt.Tx) *docBuilder {
	return &docBuilder{
		timeline: tx.Bucket(bucketTimeline), evIdx: tx.Bucket(bucketEvents), prf: tx.Bucket(bucketProfiles),
		profiles:  map[string]*projections.MerchantProfile{},
		events:    map[string]*eventDoc{},
		merchants: map[string]*merchantDoc{},
	}
}

func (b *docBuilder) profile(uscc string) (*projections.MerchantProfile, bool, error) {
	if p, ok := b.profiles[uscc]; ok {
		return p, p != nil, nil
	}
	v := b.prf.Get([]byte(uscc))
	if v == nil {
		b.profiles[uscc] = nil
		return nil, false, nil
	}
	p, err := decodeProfile(v)
	if err != nil {
		return nil, false, err
	}
	b.profiles[uscc] = &p
	return &p, true, nil
}

func (b *docBuilder) addEntry(key string, value []byte) error {
	if _, done := b.events[key]; done {
		return nil
	}
	e, err := decodeTimeline(value)
	if err != nil {
		return err
	}
	return b.addDecoded(key, e)
}

// addDecoded adds the document of e, recorded under key.
func (b *docBuilder) addDecoded(key string, e projections.TimelineEntry) error {
	if _, done := b.events[key]; done {
		return nil
	}
	var p *projections.MerchantProfile
	var err error
	if m := e.Merchant(); m != "" {
		if p, _, err = b.profile(m); err != nil {
			return err
		}
	}
	b.events[key] = newEventDoc(e, p)
	return nil
}

func (b *docBuilder) addEvent(key string, tlKey []byte) error {
	v := b.timeline.Get(tlKey)
	if v == nil {
		return fmt.Errorf("%w: event %q has no timeline entry", errCorrupt, key)
	}
	return b.addEntry(key, v)
}

func (b *docBuilder) addMerchantEvents(uscc string) error {
	prefix := merchantPrefix(uscc)
	c := b.timeline.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, key, ok := splitTimelineKey(prefix, k)
		if !ok {
			return errCorrupt
		}
		if err := b.addEntry(key, v); err != nil {
			return err
		}
	}
	return nil
}

func (b *docBuilder) addMerchant(uscc string) error {
	p, ok, err := b.profile(uscc)
	if err != nil || !ok {
		return err
	}
	b.merchants[uscc] = newMerchantDoc(p)
	return nil
}

// recover completes the search indexes at Open: everything, in an index that was (re)created;
// then the events still marked pending, in both.
func (s *Store) recover(mCreated, eCreated bool) error {
	if mCreated || eCreated {
		if err := s.reindexAll(mCreated, eCreated); err != nil {
			return err
		}
	}
	if err := s.reindexPending(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketPending); err != nil {
			return err
		}
		_, err := tx.CreateBucket(bucketPending)
		return err
	})
}

func (s *Store) reindexPending() error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := newDocBuilder(tx)
		pend := tx.Bucket(bucketPending)
		err := pend.ForEach(func(mk, v []byte) error {
			k, flags, ok := decodePending(mk, v)
			if !ok {
				return fmt.Errorf("%w: pending marker %x", errCorrupt, mk)
			}
			rec := b.evIdx.Get(k)
			if rec == nil {
				return nil // no record: nothing to index (markers are written with their records)
			}
			_, tlKey, err := decodeEventRecord(rec)
			if err != nil {
				return err
			}
			if err := b.addEvent(string(k), tlKey); err != nil {
				return err
			}
			uscc := b.events[string(k)].Merchant
			if uscc == "" {
				return nil
			}
			if flags&pendingRefresh != 0 {
				if err := b.addMerchantEvents(uscc); err != nil {
					return err
				}
			}
			return b.addMerchant(uscc)
		})
		if err != nil {
			return err
		}
		return s.indexChunked(b.events, b.merchants)
	})
}

// indexChunked writes documents in batches of Options.RecoveryBatch.
func (s *Store) indexChunked(evDocs map[string]*eventDoc, mDocs map[string]*merchantDoc) error {
	n := s.opts.RecoveryBatch
	ev, m := map[string]*eventDoc{}, map[string]*merchantDoc{}
	flush := func() error {
		err := s.index(ev, m)
		clear(ev)
		clear(m)
		return err
	}
	for k, d := range evDocs {
		ev[k] = d
		if len(ev) >= n {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for k, d := range mDocs {
		m[k] = d
		if len(m) >= n {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// finishBulk ends a Bulk build: bbolt is synced, then both search indexes are built from it.
func (s *Store) finishBulk() error {
	if err := s.commitBulkTx(); err != nil {
		return err
	}
	if err := s.writeBulkProfiles(); err != nil {
		return fmt.Errorf("embedded: writing the profiles: %w", err)
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("embedded: sync views.db: %w", err)
	}
	s.opts.RecoveryBatch = s.opts.BulkIndexBatch
	if err := s.reindexAll(true, true); err != nil {
		return fmt.Errorf("embedded: building the search indexes: %w", err)
	}
	return nil
}

// reindexAll rebuilds the (re)created indexes from views.db, streaming in chunks of
// Options.RecoveryBatch documents: one goroutine reads the timeline in key order and hands the
// chunks to indexWorkers goroutines, each building the documents and writing them as one bleve
// batch (scorch builds the segments of concurrent batches in parallel), while the merchant index
// is built alongside.
func (s *Store) reindexAll(merchants, evs bool) error {
	var wg sync.WaitGroup
	var errM error
	if merchants {
		wg.Add(1)
		go func() { defer wg.Done(); errM = s.reindexMerchants() }()
	}
	var errE error
	if evs {
		errE = s.reindexEvents()
	}
	wg.Wait()
	return errors.Join(errE, errM)
}

// indexWorkers is how many goroutines build event documents and bleve batches in reindexAll.
const indexWorkers = 2

// rawEntry is a timeline entry as read from bbolt, valid while the reading transaction is open.
type rawEntry struct {
	uscc  string // the timeline's merchant prefix
	key   string
	value []byte
}

func (s *Store) reindexEvents() error {
	return s.db.View(func(tx *bolt.Tx) error {
		n := s.opts.RecoveryBatch
		chunks := make(chan []rawEntry, 1)
		stop := make(chan struct{})
		var stopOnce sync.Once
		errs := make([]error, indexWorkers)
		var wg sync.WaitGroup
		for w := range indexWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = s.indexChunks(chunks)
				if errs[w] != nil {
					stopOnce.Do(func() { close(stop) }) // the producer stops; the others drain
				}
			}()
		}
		// The workers read the values of this transaction: it stays open until they are done.
		err := func() error {
			defer func() { close(chunks); wg.Wait() }()
			c := tx.Bucket(bucketTimeline).Cursor()
			chunk := make([]rawEntry, 0, n)
			for k, v := c.First(); k != nil; k, v = c.Next() {
				i := bytes.IndexByte(k, 0)
				if i < 0 {
					return errCorrupt
				}
				_, key, ok := splitTimelineKey(k[:i+1], k)
				if !ok {
					return errCorrupt
				}
				chunk = append(chunk, rawEntry{uscc: string(k[:i]), key: key, value: v})
				if len(chunk) >= n {
					select {
					case chunks <- chunk:
					case <-stop:
						return nil // the worker's error is reported
					}
					chunk = make([]rawEntry, 0, n)
				}
			}
			if len(chunk) > 0 {
				select {
				case chunks <- chunk:
				case <-stop:
				}
			}
			return nil
		}()
		return errors.Join(append(errs, err)...)
	})
}

// indexChunks builds the documents of each chunk and writes them as one batch. After an error
// it keeps receiving (and dropping) chunks until the channel is closed.
func (s *Store) indexChunks(chunks <-chan []rawEntry) error {
	var failed error
	err := s.db.View(func(tx *bolt.Tx) error {
		b := newDocBuilder(tx)
		var prefixUSCC string
		for chunk := range chunks {
			clear(b.events)
			for _, e := range chunk {
				if e.uscc != prefixUSCC {
					clear(b.profiles) // one merchant at a time: keeps memory flat
					prefixUSCC = e.uscc
				}
				if err := b.addEntry(e.key, e.value); err != nil {
					return err
				}
			}
			if err := s.index(b.events, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		failed = err
		for range chunks {
		}
	}
	return failed
}

func (s *Store) reindexMerchants() error {
	return s.db.View(func(tx *bolt.Tx) error {
		n := s.opts.RecoveryBatch
		m := map[string]*merchantDoc{}
		err := tx.Bucket(bucketProfiles).ForEach(func(k, v []byte) error {
			p, err := decodeProfile(v)
			if err != nil {
				return err
			}
			m[string(k)] = newMerchantDoc(&p)
			if len(m) >= n {
				err = s.index(nil, m)
				clear(m)
			}
			return err
		})
		if err != nil {
			return err
		}
		return s.index(nil, m)
	})
}
