package elastic

import (
	"errors"
	"strings"
	"sync"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/projections"
)

// profileCache holds the profiles this store wrote last, so that a merchant's next event is
// folded without reading its profile back: a real-time GET of a document written since the last
// refresh is what made Elasticsearch's CPU per event about twice raw bulk indexing's
// (BenchmarkApply: merchants-index indexing and refresh time fell about 3x without those reads).
//
// A cached profile is used for an event at pos only when it provably still is the stored one:
//
//   - it was written by this store (the last item of its merchant in a group wrote it, with
//     every item of the merchant in that group settled without error); any other outcome for
//     the merchant (a version conflict, a duplicate, a redelivery that did not write, a failure)
//     drops the entry;
//   - every log offset of pos's partition between the cached position and pos has reached this
//     store and either settled without error or is still waiting for a group under another
//     partition key (seen). An event of the merchant at one of those offsets would then have
//     gone through this store, in order, and updated or dropped the entry; an offset that never
//     reached this store (another process owned the partition meanwhile, a message that went to
//     the poison queue without reaching the store) or that failed here may hide an event of the
//     merchant folded elsewhere, and the profile is read instead.
//
// Whatever the cache says, the profile write keeps version_type external = offset+1, so a
// writer holding an older profile can still never overwrite a newer one.
type profileCache struct {
	mu       sync.Mutex
	max      int
	profiles map[string]cachedProfile
	parts    map[int32]*seenOffsets
}

type cachedProfile struct {
	p   *projections.MerchantProfile // never changed once cached: readers clone it
	pos eventlog.Position
	gen string // the generation the profile was written to
}

// maxSeenSpan bounds the offsets one partition's tracker holds above its contiguous prefix; past
// it (a gap that never fills, e.g. a poison message), the tracker forgets everything below and
// the profiles cached before are read again.
const maxSeenSpan = 1 << 16

func newProfileCache(max int) *profileCache {
	if max <= 0 {
		return nil
	}
	return &profileCache{max: max, profiles: map[string]cachedProfile{}, parts: map[int32]*seenOffsets{}}
}

// seenOffsets tracks the offsets of one partition that reached the store: every offset in
// [base, contig] settled without error; above contig, state holds each offset's.
type seenOffsets struct {
	base, contig int64
	state        map[int64]offsetState
}

type offsetState struct {
	pkey    string // partition key of the call
	settled bool   // settled without error (false: waiting for its group)
}

// received records that the call for pos with partition key pkey reached the store.
func (c *profileCache) received(pos eventlog.Position, pkey string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.parts[pos.Partition]
	if t == nil {
		t = &seenOffsets{base: pos.Offset, contig: pos.Offset - 1, state: map[int64]offsetState{}}
		c.parts[pos.Partition] = t
	}
	if pos.Offset < t.base || pos.Offset <= t.contig {
		return
	}
	if _, ok := t.state[pos.Offset]; !ok {
		t.state[pos.Offset] = offsetState{pkey: pkey}
	}
	if len(t.state) > maxSeenSpan {
		// Forget: nothing below the highest offset held counts as seen any more.
		var top int64
		for o := range t.state {
			top = max(top, o)
		}
		t.base, t.contig, t.state = top+1, top, map[int64]offsetState{}
	}
}

// settled records how the call at pos ended: ok = without error. A failure leaves a gap.
func (c *profileCache) settled(pos eventlog.Position, ok bool) {
	t := c.parts[pos.Partition]
	if t == nil || pos.Offset < t.base || pos.Offset <= t.contig {
		return
	}
	if !ok {
		delete(t.state, pos.Offset)
		return
	}
	st, found := t.state[pos.Offset]
	if !found {
		return // forgotten meanwhile
	}
	st.settled = true
	t.state[pos.Offset] = st
	for {
		st, found := t.state[t.contig+1]
		if !found || !st.settled {
			break
		}
		delete(t.state, t.contig+1)
		t.contig++
	}
}

// lookup returns a copy of the cached profile of uscc when it may stand for the stored one for
// the event at pos (see the type's doc), else nil.
func (c *profileCache) lookup(uscc string, pos eventlog.Position) (*projections.MerchantProfile, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.profiles[uscc]
	if !ok || e.pos.Partition != pos.Partition || e.pos.Offset >= pos.Offset {
		return nil, ""
	}
	t := c.parts[pos.Partition]
	if t == nil || e.pos.Offset+1 < t.base {
		return nil, ""
	}
	for o := max(e.pos.Offset+1, t.contig+1); o < pos.Offset; o++ {
		st, found := t.state[o]
		if !found || (!st.settled && st.pkey == uscc) {
			return nil, ""
		}
	}
	return e.p.Clone(), e.gen
}

// clear forgets every cached profile.
func (c *profileCache) clear() {
	c.mu.Lock()
	c.profiles = map[string]cachedProfile{}
	c.mu.Unlock()
}

// groupDone updates the cache after a group: the profiles its merchants' last items wrote are
// kept, every other merchant of the group is dropped, and each call's offset is settled.
// written maps a merchant to the profile written by the group's last item of that merchant.
// failed (a call of the group failed) clears the cache: failures are rare (an outage, the write
// block of a rebuild's hand-over), and what follows them is best read afresh.
func (c *profileCache) groupDone(items []*item, written map[string]cachedProfile, failed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if failed {
		c.profiles = map[string]cachedProfile{}
		written = nil
	}
	for _, it := range items {
		if sub := it.r.entry.Event.Subject; sub != "" {
			if e, ok := written[sub]; ok {
				c.profiles[sub] = e
			} else {
				delete(c.profiles, sub)
			}
		}
	}
	for _, it := range items {
		c.settled(it.r.pos, !it.settled || it.res.err == nil)
	}
	for k := range c.profiles {
		if len(c.profiles) <= c.max {
			break
		}
		delete(c.profiles, k) // any: map order is as good as any eviction here
	}
}

// markFast decides which calls of a group skip the read of their key's recorded position and
// of their profile: events without a merchant (the create's 409 answers for them) and events
// whose merchant's profile the cache holds (lookup), with the later links of their chain in the
// group. Links (merchant.linked) always read: they need their target's document.
func (s *Store) markFast(live []*item) {
	if s.cache == nil {
		return
	}
	for _, it := range live {
		ev := it.r.entry.Event
		if _, _, link := projections.LinkOf(ev); link {
			continue
		}
		switch {
		case ev.Subject == "":
			it.fast = true
		case !it.readsProfile(): // a later link of a chain: its profile is the link's before it
			it.fast, it.cacheGen = it.prev.fast, it.prev.cacheGen
		default:
			if p, gen := s.cache.lookup(ev.Subject, it.r.pos); p != nil {
				it.before, it.fast, it.cacheGen = p, true, gen
			}
		}
	}
}

// checkGeneration fails the calls whose cached profile was written to another generation than
// the one their timeline document just went to (a rebuild was promoted meanwhile): the cached
// profile may not be that generation's. The cache is cleared, and the calls, delivered again,
// read their profiles. Their timeline documents are created; the redelivery finds them (409 at
// the same position) and folds the profile.
func (s *Store) checkGeneration(creates []*item, res []opResult) {
	if s.cache == nil {
		return
	}
	moved := false
	for i, it := range creates {
		if !it.fast || it.cacheGen == "" || res[i].index == "" || !res[i].ok() {
			continue
		}
		if s.generationOf(res[i].index) != it.cacheGen {
			it.settle(false, errors.New("elastic: the views' generation changed under this event; deliver it again"))
			moved = true
		}
	}
	if moved {
		s.cache.clear()
	}
}

// generationOf returns the generation of one of the store's index names.
func (s *Store) generationOf(index string) string {
	for _, family := range []string{"-timeline-", "-merchants-"} {
		if g, ok := strings.CutPrefix(index, s.cfg.IndexPrefix+family); ok {
			return g
		}
	}
	return index
}

// cacheGroup updates the cache after a group (groupDone): a merchant's profile is kept when the
// group's last call of that merchant succeeded and its own profile write was acknowledged.
func (s *Store) cacheGroup(items []*item) {
	if s.cache == nil {
		return
	}
	last := map[string]*item{}
	failed := false
	for _, it := range items {
		if it.settled && it.res.err != nil {
			failed = true
		}
		if sub := it.r.entry.Event.Subject; sub != "" {
			last[sub] = it
		}
	}
	written := map[string]cachedProfile{}
	for sub, it := range last {
		if !it.settled && it.wrote != "" && it.before != nil && it.before.LastPosition == it.r.pos {
			written[sub] = cachedProfile{p: it.before, pos: it.r.pos, gen: s.generationOf(it.wrote)}
		}
	}
	s.cache.groupDone(items, written, failed)
}
