package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/projections"
)

// request is one Apply call waiting for its group.
type request struct {
	entry projections.TimelineEntry
	pos   eventlog.Position
	fold  projections.FoldFunc
	pkey  string // partition key: calls with the same key never overlap groups, nor share one unless chained
	chain *chain // set for the links of one ApplyChain call
	size  int    // estimated bulk bytes
	at    time.Time
	done  chan result
}

type result struct {
	applied bool
	err     error
}

// chain ties the requests of one ApplyChain call: consecutive events of one partition key, which
// may share a group (applied in order, each folding into the profile the one before left) and
// which stop at the first failure.
type chain struct {
	broken atomic.Bool // a link failed: the links not yet written fail with ErrChainBroken
}

var _ projections.ChainStore = (*Store)(nil)

// ApplyChain applies the events of one partition key in order, as Apply would one after another,
// sharing groups and so round trips (projections.ChainStore).
func (s *Store) ApplyChain(ctx context.Context, links []projections.ChainLink, fold projections.FoldFunc) []projections.ChainResult {
	out := make([]projections.ChainResult, len(links))
	fail := func(from int, err error) []projections.ChainResult { return projections.FailChain(out, from, err) }
	if err := ctx.Err(); err != nil {
		return fail(0, err)
	}
	if fold == nil {
		return fail(0, errors.New("elastic: ApplyChain needs a fold"))
	}
	c := &chain{}
	reqs := make([]*request, len(links))
	for i, l := range links {
		reqs[i] = &request{
			entry: l.Entry, pos: l.Pos, fold: fold, pkey: l.Entry.Event.PartitionKey(), chain: c,
			size: len(l.Entry.Event.Data) + len(l.Entry.Private) + 1024, at: time.Now(),
			done: make(chan result, 1),
		}
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fail(0, ErrClosed)
	}
	sent := 0
	for _, r := range reqs {
		select {
		case s.intake <- r:
			sent++
			continue
		case <-ctx.Done():
			c.broken.Store(true)
		}
		break
	}
	s.mu.RUnlock()
	for i, r := range reqs[:sent] {
		select {
		case res := <-r.done:
			out[i] = projections.ChainResult{Applied: res.applied, Err: res.err}
		case <-ctx.Done():
			// The links still complete; the caller's retry is then a redelivery.
			return fail(i, ctx.Err())
		}
	}
	fail(sent, ctxErrOr(ctx, projections.ErrChainBroken))
	return projections.OrderChain(out, "elastic")
}

func ctxErrOr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	return err
}

// Apply records ev at pos and folds it into its merchant's profile (projections.Store). It
// returns once Elasticsearch has acknowledged every write (durable in its translog) and, with
// Config.VisibleOnReturn, once a refresh has made them searchable.
func (s *Store) Apply(ctx context.Context, ev projections.TimelineEntry, pos eventlog.Position, fold projections.FoldFunc) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if fold == nil {
		return false, errors.New("elastic: Apply needs a fold")
	}
	r := &request{
		entry: ev, pos: pos, fold: fold, pkey: ev.Event.PartitionKey(),
		size: len(ev.Event.Data) + len(ev.Private) + 1024, at: time.Now(),
		done: make(chan result, 1),
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false, ErrClosed
	}
	select {
	case s.intake <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return false, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.applied, res.err
	case <-ctx.Done():
		// The group still completes; the caller's retry is then a redelivery.
		return false, ctx.Err()
	}
}

// dispatch gathers waiting calls into groups and hands each group to a free worker. A group is
// sent when a worker is free and it is full (MaxBatch, FlushBytes) or its oldest call has waited
// FlushInterval; while every worker is busy, calls accumulate, so groups grow with load. Calls
// with the same partition key are never in flight together: a later one waits for the earlier.
func (s *Store) dispatch() {
	defer close(s.done)
	workers := s.cfg.Workers
	work := make(chan []*request)
	finished := make(chan []*request, workers)
	var wg, replies sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				items, visible := s.writeGroup(s.bg, g)
				// The writes are acknowledged: the worker and the keys are free while the group
				// waits to become searchable.
				finished <- g
				if !visible || !s.cfg.VisibleOnReturn {
					reply(items, nil)
					continue
				}
				replies.Add(1)
				go func() {
					defer replies.Done()
					reply(items, s.refresh.wait(s.bg))
				}()
			}
		}()
	}
	var queue []*request
	busy := map[string]bool{}
	free := workers
	intake := s.intake
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	timerSet := false
	for intake != nil || len(queue) > 0 || free < workers {
		for free > 0 && len(queue) > 0 {
			g, rest, wait := s.takeGroup(queue, busy, intake == nil)
			if g == nil {
				if wait > 0 && !timerSet {
					timer.Reset(wait)
					timerSet = true
				}
				break
			}
			queue = rest
			for _, r := range g {
				busy[r.pkey] = true
			}
			free--
			work <- g
		}
		select {
		case r, ok := <-intake:
			if !ok {
				intake = nil
				continue
			}
			queue = append(queue, r)
			s.cache.received(r.pos, r.pkey)
		case g := <-finished:
			free++
			for _, r := range g {
				delete(busy, r.pkey)
			}
		case <-timer.C:
			timerSet = false
		}
	}
	close(work)
	wg.Wait()
	replies.Wait()
}

// takeGroup takes the next group from queue: calls in arrival order whose key is neither in
// flight nor already in the group, except that the links of one chain go together, in order. It returns nil and how long to wait when the group should
// linger for more calls.
func (s *Store) takeGroup(queue []*request, busy map[string]bool, draining bool) (g, rest []*request, wait time.Duration) {
	in := map[string]*chain{} // keys in the group, and the chain that brought each (nil: none)
	bytes, full := 0, false
	for _, r := range queue {
		c, taken := in[r.pkey]
		if full || busy[r.pkey] || (taken && (c == nil || c != r.chain)) {
			rest = append(rest, r)
			continue
		}
		in[r.pkey] = r.chain
		g = append(g, r)
		bytes += r.size
		full = len(g) >= s.cfg.MaxBatch || bytes >= s.cfg.FlushBytes
	}
	if len(g) == 0 {
		return nil, queue, 0
	}
	if !full && !draining {
		if d := s.cfg.FlushInterval - time.Since(g[0].at); d > 0 {
			return nil, queue, d
		}
	}
	return g, rest, 0
}

// refresher coalesces forced refreshes: every caller of wait is answered by a refresh that
// started after it called, at most one refresh runs at a time, and two start at least minGap
// apart. Under load one refresh serves every group that finished writing meanwhile; alone, an
// Apply waits for one refresh of its own.
type refresher struct {
	s      *Store
	minGap time.Duration

	mu      sync.Mutex
	waiters []chan error
	running bool
	stopped bool
	last    time.Time
}

func newRefresher(s *Store, minGap time.Duration) *refresher {
	return &refresher{s: s, minGap: minGap}
}

func (r *refresher) wait(ctx context.Context) error {
	ch := make(chan error, 1)
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return ErrClosed
	}
	r.waiters = append(r.waiters, ch)
	if !r.running {
		r.running = true
		go r.loop()
	}
	r.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *refresher) loop() {
	for {
		r.mu.Lock()
		last := r.last
		r.mu.Unlock()
		if d := r.minGap - time.Since(last); d > 0 {
			time.Sleep(d)
		}
		r.mu.Lock()
		batch := r.waiters
		r.waiters = nil
		if len(batch) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.last = time.Now()
		r.mu.Unlock()
		err := r.s.refreshNow(r.s.bg)
		for _, ch := range batch {
			ch <- err
		}
	}
}

func (r *refresher) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// item is one call's state while its group is applied.
type item struct {
	r         *request
	prev      *item // the previous link of the same chain in this group, if any
	settled   bool
	res       result
	eventJSON json.RawMessage
	id        string // timeline document id
	key       string // the event key for messages, bounded

	// fast: the profile came from the cache (or the previous link of a chain whose profile did),
	// or the event has no merchant; the key's recorded position is not read first: the create's
	// 409 tells a recorded key (resolveConflicts).
	fast     bool
	cacheGen string // fast with a cached profile: the generation it was written to
	wrote    string // the generation the item's profile write went to, once acknowledged

	prior   *eventlog.Position           // position of the recorded event with this key
	before  *projections.MerchantProfile // profile as read (nil: none); folded into in place
	fields  [2]string                    // before's search fields, before the fold
	applied bool

	create       *timelineDoc // timeline document to create
	writeProfile bool         // before now holds the folded profile, to write
	coveredBy    *item        // a later link of the chain whose profile write includes this fold
	profileJSON  json.RawMessage
	reindex      bool // rewrite the merchant's other event documents with its profile

	// A merchant.linked event: the event it links, as lookup found it (nil: not recorded).
	target    string
	link      projections.Link
	targetDoc *timelineDoc
	moveDoc   *timelineDoc // the target's document rewritten into the merchant's timeline
}

// linkTarget reports whether the call links an unlinked event that is still unlinked: it must be
// moved into the merchant's timeline.
func (it *item) linkTarget() bool {
	return it.target != "" && it.targetDoc != nil && it.targetDoc.USCC == ""
}

// targetEntry is the linked event as it is kept in the merchant's timeline.
func (it *item) targetEntry() (projections.TimelineEntry, error) {
	var e projections.TimelineEntry
	if err := json.Unmarshal(it.targetDoc.Event, &e.Event); err != nil {
		return e, fmt.Errorf("elastic: timeline document of %q: %w", it.target, err)
	}
	e.Private = it.targetDoc.Private
	l := it.link
	e.Linked = &l
	return e, nil
}

// setMove prepares the rewrite of the linked event's document with the merchant's profile.
func (it *item) setMove() {
	e, err := it.targetEntry()
	if err != nil {
		it.settle(false, err)
		return
	}
	it.moveDoc = newTimelineDoc(e, it.targetDoc.Event, it.targetDoc.position(), it.before)
}

func (it *item) settle(applied bool, err error) {
	if !it.settled {
		it.settled, it.res = true, result{applied: applied, err: err}
	}
}

// keyLabel bounds an event key for messages: keys are unbounded, errors should not be.
func keyLabel(k string) string {
	if len(k) <= 200 {
		return k
	}
	cut := 200
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", k[:cut], len(k))
}

func permanent(format string, args ...any) error {
	return &projections.PermanentError{Err: fmt.Errorf("elastic: "+format, args...)}
}

// prepare checks a call for what can never be stored.
func prepare(r *request) *item {
	it := &item{r: r, id: docID(r.entry.Event.Key()), key: keyLabel(r.entry.Event.Key())}
	ev := r.entry.Event
	if r.chain != nil && r.chain.broken.Load() {
		it.settle(false, fmt.Errorf("elastic: event %q: %w", it.key, projections.ErrChainBroken))
		return it
	}
	if err := checkEntry(r.entry); err != nil {
		it.settle(false, permanent("event %q: %v", it.key, err))
		return it
	}
	if r.pos.Offset < 0 || r.pos.Offset == math.MaxInt64 {
		it.settle(false, permanent("event %q: log offset %d out of range", it.key, r.pos.Offset))
		return it
	}
	if len(r.entry.Private) > 0 && !json.Valid(r.entry.Private) {
		it.settle(false, permanent("event %q: private data is not JSON", it.key))
		return it
	}
	js, err := json.Marshal(ev)
	if err != nil {
		it.settle(false, permanent("event %q does not encode: %v", it.key, err))
		return it
	}
	it.eventJSON = js
	return it
}

// writeGroup writes a group of calls with distinct partition keys and returns their items;
// visible reports that some call wrote (or may have written, in an earlier delivery) what must
// become searchable before it returns. Writes happen in two bulk requests, so that a profile is
// folded only once the event's key is known to be recorded at this position:
//
//  1. one _mget reads the timeline documents of the keys (their positions) and the profiles;
//  2. bulk A creates the timeline documents of new events (op_type create, id = hash of the
//     key): a 409 means the key was recorded meanwhile, and its position decides;
//  3. bulk B writes the folded profiles with version_type external, version = offset+1, and
//     rewrites the event documents of merchants whose name or township changed.
//
// The caller then waits for one coalesced refresh of both indices (refresher).
func (s *Store) writeGroup(ctx context.Context, reqs []*request) (items []*item, visible bool) {
	items = make([]*item, len(reqs))
	last := map[*chain]*item{}
	for i, r := range reqs {
		items[i] = prepare(r)
		if r.chain != nil {
			items[i].prev = last[r.chain]
			last[r.chain] = items[i]
		}
	}
	if err := s.applyItems(ctx, items); err != nil {
		for _, it := range items {
			it.settle(false, err)
		}
	}
	breakChains(items, nil)
	for _, it := range items {
		if it.r.chain != nil && it.settled && it.res.err != nil {
			it.r.chain.broken.Store(true) // later links, in later groups, are not applied
		}
	}
	s.cacheGroup(items)
	for _, it := range items {
		if !it.settled {
			visible = true
		}
	}
	return items, visible
}

// Sync returns once everything Apply wrote before Sync was called is searchable: it waits for
// one coalesced refresh of both indices. Safe for concurrent use.
func (s *Store) Sync(ctx context.Context) error {
	return s.refresh.wait(ctx)
}

// reply answers every call of a group; refreshErr fails the calls that were waiting to become
// searchable.
func reply(items []*item, refreshErr error) {
	for _, it := range items {
		if refreshErr != nil {
			it.settle(false, fmt.Errorf("elastic: the event is recorded but not yet searchable: %w", refreshErr))
		}
		it.settle(it.applied, nil)
		it.r.done <- it.res
	}
}

func unsettled(items []*item) []*item {
	var out []*item
	for _, it := range items {
		if !it.settled {
			out = append(out, it)
		}
	}
	return out
}

func (s *Store) applyItems(ctx context.Context, items []*item) error {
	live := unsettled(items)
	if len(live) == 0 {
		return nil
	}
	s.markFast(live)
	if err := s.lookup(ctx, live); err != nil {
		return err
	}
	for _, it := range live {
		if p := it.prev; p != nil {
			if p.settled && p.res.err != nil {
				it.settle(false, fmt.Errorf("elastic: event %q: %w", it.key, projections.ErrChainBroken))
				continue
			}
			if sub := it.r.entry.Event.Subject; sub != "" && sub == p.r.entry.Event.Subject {
				// The profile as the previous link leaves it, not as stored before the group.
				it.before = p.before.Clone()
			}
		}
		s.classify(it)
	}
	classified := settledSet(items)

	// Bulk A: the timeline documents of new keys.
	var creates []*item
	var ops []bulkOp
	for _, it := range unsettled(items) {
		if it.create != nil {
			creates = append(creates, it)
			ops = append(ops, bulkOp{action: "create", index: s.timeline, id: it.id, doc: it.create})
		}
	}
	if len(ops) > 0 {
		res, err := s.bulk(ctx, ops, "")
		if err != nil {
			return err
		}
		s.checkGeneration(creates, res)
		var conflicts []*item
		for i, it := range creates {
			if it.settled {
				continue
			}
			switch r := res[i]; {
			case r.ok():
			case r.status == 409:
				conflicts = append(conflicts, it)
			case r.permanent():
				it.settle(false, &projections.PermanentError{Err: fmt.Errorf("elastic: Elasticsearch rejected event %q: %s", it.key, r.err)})
			default:
				it.settle(false, r.asError("create timeline document of "+it.key))
			}
		}
		if err := s.resolveConflicts(ctx, conflicts); err != nil {
			return err
		}
	}

	// A link settled by bulk A (say, recorded meanwhile at another position) had its fold passed
	// on to the links after it: those must not be written.
	breakChains(items, classified)

	// Bulk B: folded profiles, and event documents that carry a changed name or township.
	ops = ops[:0]
	var owners []*item
	var reindex []*item
	// Within a chain only the last profile write goes out: it holds the folds of the links
	// before it (written one by one after all should it fail, below).
	lastWrite := map[*chain]*item{}
	for _, it := range unsettled(items) {
		if it.writeProfile && it.r.chain != nil {
			lastWrite[it.r.chain] = it
		}
	}
	for _, it := range unsettled(items) {
		if last := lastWrite[it.r.chain]; it.writeProfile && it.r.chain != nil && last != it {
			it.coveredBy = last
		} else if it.writeProfile {
			ev := it.r.entry.Event
			ops = append(ops, bulkOp{action: "index", index: s.merchants, id: ev.Subject,
				version: externalVersion(it.r.pos), doc: newMerchantDoc(it.before, it.profileJSON)})
			owners = append(owners, it)
		}
		if it.reindex {
			reindex = append(reindex, it)
		}
	}
	nProfiles := len(ops)
	for _, it := range unsettled(items) {
		if it.moveDoc != nil {
			ops = append(ops, bulkOp{action: "index", index: s.timeline, id: docID(it.target), doc: it.moveDoc})
			owners = append(owners, it)
		}
	}
	if len(reindex) > 0 {
		extra, extraOwners, err := s.reindexOps(ctx, reindex, items)
		if err != nil {
			return err
		}
		ops = append(ops, extra...)
		owners = append(owners, extraOwners...)
	}
	if len(ops) > 0 {
		res, err := s.bulk(ctx, ops, "")
		if err != nil {
			return err
		}
		var verify []*item
		for i, it := range owners {
			if settleWrite(it, res[i], ops[i], i < nProfiles) {
				verify = append(verify, it)
			}
		}
		if err := s.verifyProfiles(ctx, verify); err != nil {
			return err
		}
	}
	return s.uncover(ctx, items)
}

// uncover writes, one by one, the profiles of links whose covering write failed, so that a
// failure of one link's write fails that link alone (and, by breakChains, the ones after it).
func (s *Store) uncover(ctx context.Context, items []*item) error {
	var its []*item
	var ops []bulkOp
	for _, it := range items {
		if c := it.coveredBy; c != nil && !it.settled && c.settled && c.res.err != nil {
			ev := it.r.entry.Event
			its = append(its, it)
			ops = append(ops, bulkOp{action: "index", index: s.merchants, id: ev.Subject,
				version: externalVersion(it.r.pos), doc: newMerchantDoc(it.before, it.profileJSON)})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	res, err := s.bulk(ctx, ops, "")
	if err != nil {
		return err
	}
	var verify []*item
	for i, it := range its {
		if settleWrite(it, res[i], ops[i], true) {
			verify = append(verify, it)
		}
	}
	return s.verifyProfiles(ctx, verify)
}

// settleWrite settles it by the answer r to its bulk B write op. A profile write (profile) that
// conflicts is reported, for the caller to verify; one the mapping rejects is a permanent error.
func settleWrite(it *item, r opResult, op bulkOp, profile bool) (conflict bool) {
	switch {
	case r.ok():
		if profile {
			it.wrote = r.index
		}
	case profile && r.status == 409:
		return true
	case profile && r.permanent():
		it.settle(false, &projections.PermanentError{Err: fmt.Errorf("elastic: Elasticsearch rejected the profile of %s after event %q: %s",
			it.r.entry.Event.Subject, it.key, r.err)})
	default:
		it.settle(false, r.asError(fmt.Sprintf("write %s/%s for event %s", op.index, op.id, it.key)))
	}
	return false
}

// lookup reads, in one _mget, the recorded position of every key and the profile of every
// merchant of the group.
func (s *Store) lookup(ctx context.Context, live []*item) error {
	docs := make([]getDoc, 0, 2*len(live))
	var reads []*item
	for _, it := range live {
		if it.fast {
			continue
		}
		reads = append(reads, it)
		docs = append(docs, getDoc{Index: s.timeline, ID: it.id, Source: []string{fPartition, fOffset}})
		if it.readsProfile() {
			docs = append(docs, getDoc{Index: s.merchants, ID: it.r.entry.Event.Subject})
		}
		if target, l, ok := projections.LinkOf(it.r.entry.Event); ok {
			it.target, it.link = target, l
			docs = append(docs, getDoc{Index: s.timeline, ID: docID(target)})
		}
	}
	if len(docs) == 0 {
		return nil
	}
	got, err := s.mget(ctx, docs)
	if err != nil {
		return err
	}
	i := 0
	for _, it := range reads {
		if d := got[i]; d.Found {
			var pos struct {
				Partition int32 `json:"partition"`
				Offset    int64 `json:"offset"`
			}
			if err := json.Unmarshal(d.Source, &pos); err != nil {
				return fmt.Errorf("elastic: timeline document of %q: %w", it.key, err)
			}
			it.prior = &eventlog.Position{Partition: pos.Partition, Offset: pos.Offset}
		}
		i++
		if it.readsProfile() {
			if d := got[i]; d.Found {
				p, err := decodeProfileSource(d.Source)
				if err != nil {
					return err
				}
				it.before = p
			}
			i++
		}
		if it.target != "" {
			if d := got[i]; d.Found {
				var td timelineDoc
				if err := json.Unmarshal(d.Source, &td); err != nil {
					return fmt.Errorf("elastic: timeline document of %q: %w", it.target, err)
				}
				it.targetDoc = &td
			}
			i++
		}
	}
	return nil
}

func decodeProfileSource(src json.RawMessage) (*projections.MerchantProfile, error) {
	var v struct {
		Profile json.RawMessage `json:"profile"`
	}
	if err := json.Unmarshal(src, &v); err != nil {
		return nil, fmt.Errorf("elastic: merchant document: %w", err)
	}
	var p projections.MerchantProfile
	if err := json.Unmarshal(v.Profile, &p); err != nil {
		return nil, fmt.Errorf("elastic: merchant profile: %w", err)
	}
	return &p, nil
}

// classify decides what a call writes, from what lookup found.
func (s *Store) classify(it *item) {
	ev, pos := it.r.entry.Event, it.r.pos
	p := it.before
	it.fields = searchFields(p)
	if it.prior != nil {
		if *it.prior != pos {
			it.settle(false, nil) // a duplicate: the key is recorded at another position
			return
		}
		// A redelivery: complete whatever the first delivery did not.
		if ev.Subject == "" {
			return
		}
		switch {
		case p == nil || (p.LastPosition != pos && p.LastPosition.Offset < pos.Offset):
			s.foldItem(it)
		case p.LastPosition == pos:
			it.reindex = true // the fold is written; its re-index may not be
			if it.linkTarget() {
				it.setMove() // the fold holds the linked event; its document may not be moved yet
			}
		}
		return
	}
	if it.target != "" && it.targetDoc == nil {
		it.settle(false, fmt.Errorf("elastic: %w: %s", projections.ErrLinkTarget, keyLabel(it.target)))
		return
	}
	it.applied = true
	if ev.Subject == "" {
		it.create = newTimelineDoc(it.r.entry, it.eventJSON, pos, nil)
		return
	}
	switch {
	case p != nil && p.LastPosition == pos:
		// Folded by an earlier delivery whose timeline write failed.
		it.create = newTimelineDoc(it.r.entry, it.eventJSON, pos, p)
		if it.linkTarget() {
			it.setMove()
		}
	case p != nil && p.LastPosition.Offset >= pos.Offset:
		it.settle(false, permanent("event %q at %v is new, but the profile of %s already holds position %v: "+
			"the log was recreated or repartitioned under these views; rebuild them into a new generation",
			it.key, pos, ev.Subject, p.LastPosition))
	default:
		if s.foldItem(it) {
			it.create = newTimelineDoc(it.r.entry, it.eventJSON, pos, it.before)
		}
	}
}

// foldItem folds the call's event into its profile (starting one when there is none). A fold
// that panics or a profile that does not encode is a permanent error of this call.
func (s *Store) foldItem(it *item) (ok bool) {
	ev := it.r.entry.Event
	had := it.before != nil
	if !had {
		it.before = &projections.MerchantProfile{USCC: ev.Subject}
	}
	defer func() {
		if v := recover(); v != nil {
			it.settle(false, permanent("fold panicked on %q: %v", it.key, v))
			ok = false
		}
	}()
	move := it.linkTarget()
	if move {
		// The linked event is folded first, then the link itself.
		e, err := it.targetEntry()
		if err != nil {
			it.settle(false, err)
			return false
		}
		it.r.fold(it.before, e.Event)
	}
	it.r.fold(it.before, ev)
	it.before.USCC = ev.Subject
	it.before.LastPosition = it.r.pos
	js, err := it.before.AppendJSON(nil)
	if err != nil {
		it.settle(false, permanent("profile of %s does not encode: %v", ev.Subject, err))
		return false
	}
	it.profileJSON, it.writeProfile = js, true
	it.reindex = had && searchFields(it.before) != it.fields
	if move {
		it.setMove()
	}
	return true
}

// resolveConflicts handles creates that found the key recorded meanwhile: at the same position
// it is this event (a concurrent or retried delivery), and the profile decision stands; at
// another it is a duplicate, and nothing of the call is written.
func (s *Store) resolveConflicts(ctx context.Context, conflicts []*item) error {
	if len(conflicts) == 0 {
		return nil
	}
	docs := make([]getDoc, len(conflicts))
	for i, it := range conflicts {
		docs[i] = getDoc{Index: s.timeline, ID: it.id, Source: []string{fPartition, fOffset}}
	}
	got, err := s.mget(ctx, docs)
	if err != nil {
		return err
	}
	for i, it := range conflicts {
		var d timelineDoc
		if !got[i].Found || json.Unmarshal(got[i].Source, &d) != nil {
			it.settle(false, fmt.Errorf("elastic: timeline document of %q conflicted but cannot be read", it.key))
			continue
		}
		it.applied = false
		if d.position() != it.r.pos {
			it.settle(false, nil)
		}
	}
	return nil
}

// verifyProfiles handles profile writes refused as version conflicts: the stored profile must
// already hold this event (a concurrent or retried delivery wrote it); anything else is an
// error, never a silently dropped event.
func (s *Store) verifyProfiles(ctx context.Context, verify []*item) error {
	if len(verify) == 0 {
		return nil
	}
	docs := make([]getDoc, len(verify))
	for i, it := range verify {
		docs[i] = getDoc{Index: s.merchants, ID: it.r.entry.Event.Subject}
	}
	got, err := s.mget(ctx, docs)
	if err != nil {
		return err
	}
	for i, it := range verify {
		if !got[i].Found {
			it.settle(false, fmt.Errorf("elastic: profile of %s: version conflict, then not found", it.r.entry.Event.Subject))
			continue
		}
		p, err := decodeProfileSource(got[i].Source)
		if err != nil {
			it.settle(false, err)
			continue
		}
		if p.LastPosition.Offset < it.r.pos.Offset {
			it.settle(false, fmt.Errorf("elastic: profile of %s refused event %q at %v as a version conflict while it holds only %v",
				it.r.entry.Event.Subject, it.key, it.r.pos, p.LastPosition))
		}
	}
	return nil
}

// reindexOps rewrites the event documents of the given calls' merchants with their profiles:
// an event's text carries its merchant's name and, when its data has none, its township. The
// timeline is refreshed first so that documents written by a failed earlier attempt are found.
func (s *Store) reindexOps(ctx context.Context, its []*item, group []*item) ([]bulkOp, []*item, error) {
	if err := s.refresh.wait(ctx); err != nil {
		return nil, nil, err
	}
	fresh := map[string]bool{}
	for _, it := range group {
		if it.create != nil && !it.settled {
			fresh[it.id] = true
		}
	}
	var ops []bulkOp
	var owners []*item
	for _, it := range its {
		p := it.before
		err := s.scanMerchant(ctx, it.r.entry.Event.Subject, func(d *timelineDoc) error {
			id := docID(d.Key)
			if fresh[id] {
				return nil
			}
			var entry projections.TimelineEntry
			if err := json.Unmarshal(d.Event, &entry.Event); err != nil {
				return fmt.Errorf("elastic: timeline document of %q: %w", d.Key, err)
			}
			entry.Private, entry.Linked = d.Private, d.Linked
			nd := newTimelineDoc(entry, d.Event, d.position(), p)
			if equalSearch(nd, d) {
				return nil
			}
			ops = append(ops, bulkOp{action: "index", index: s.timeline, id: id, doc: nd})
			owners = append(owners, it)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return ops, owners, nil
}

func equalSearch(a, b *timelineDoc) bool {
	if a.Township != b.Township || len(a.Text) != len(b.Text) {
		return false
	}
	for i := range a.Text {
		if a.Text[i] != b.Text[i] {
			return false
		}
	}
	return true
}

// readsProfile reports whether lookup reads the call's profile: it has a merchant, and is not a
// chain link that takes the profile its previous link leaves.
func (it *item) readsProfile() bool {
	sub := it.r.entry.Event.Subject
	return sub != "" && (it.prev == nil || it.prev.r.entry.Event.Subject != sub)
}

// settledSet is the set of items settled so far.
func settledSet(items []*item) map[*item]bool {
	set := map[*item]bool{}
	for _, it := range items {
		if it.settled {
			set[it] = true
		}
	}
	return set
}

// breakChains settles, with ErrChainBroken, every unsettled link that follows in its chain a link
// that failed or, when before is given, that was settled after before was taken (its fold went
// into the links after it, which therefore must not be written).
func breakChains(items []*item, before map[*item]bool) {
	broken := map[*chain]bool{}
	for _, it := range items {
		c := it.r.chain
		if c == nil {
			continue
		}
		if broken[c] {
			it.settle(false, fmt.Errorf("elastic: event %q: %w", it.key, projections.ErrChainBroken))
			continue
		}
		if it.settled && (it.res.err != nil || (before != nil && !before[it])) {
			broken[c] = true
		}
	}
}
