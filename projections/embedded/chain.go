package embedded

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"

	"github.com/lizhou/fangxin/projections"
)

// chain ties the requests of one ApplyChain call. Only the commit goroutine sets broken after
// the links were queued; ApplyChain sets it when it stops queueing.
type chain struct {
	broken atomic.Bool // a link failed: the links not yet applied fail with ErrChainBroken
}

var _ projections.ChainStore = (*Store)(nil)

// ApplyChain applies the events of one partition key in order, as Apply would one after another
// (projections.ChainStore). The links queue together, so a merchant's backlog shares group
// commits instead of waiting for one commit per event: with Options.CommitInterval between
// commits, a merchant with hundreds of queued complaints (a mass incident) would otherwise set
// the pace of a catch-up.
func (s *Store) ApplyChain(ctx context.Context, links []projections.ChainLink, fold projections.FoldFunc) []projections.ChainResult {
	out := make([]projections.ChainResult, len(links))
	fail := func(from int, err error) []projections.ChainResult { return projections.FailChain(out, from, err) }
	if err := ctx.Err(); err != nil {
		return fail(0, err)
	}
	if fold == nil {
		return fail(0, errors.New("embedded: ApplyChain needs a fold"))
	}
	c := &chain{}
	reqs := make([]*request, len(links))
	for i, l := range links {
		ev := l.Entry
		// The group may still read the entry after a cancelled call returned: keep a copy.
		ev.Event.Data, ev.Private = bytes.Clone(ev.Event.Data), bytes.Clone(ev.Private)
		r := &request{entry: ev, pos: l.Pos, fold: fold, chain: c, done: make(chan result, 1)}
		r.value, r.encErr = encodeTimeline(ev)
		reqs[i] = r
	}
	s.unanswered.Add(int64(len(reqs)))
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		s.unanswered.Add(-int64(len(reqs)))
		return fail(0, ErrClosed)
	}
	sent := 0
	for _, r := range reqs {
		select {
		case s.intake <- r:
			sent++
			continue
		case <-ctx.Done():
			c.broken.Store(true) // the links queued but not yet applied must not be applied alone
		}
		break
	}
	s.mu.RUnlock()
	s.unanswered.Add(-int64(len(reqs) - sent))
	for i, r := range reqs[:sent] {
		select {
		case res := <-r.done:
			out[i] = projections.ChainResult{Applied: res.applied, Err: res.err}
		case <-ctx.Done():
			// The links still complete; the caller's retry is then a redelivery.
			return fail(i, ctx.Err())
		}
	}
	if sent < len(reqs) {
		fail(sent, ctx.Err())
	}
	return projections.OrderChain(out, "embedded")
}
