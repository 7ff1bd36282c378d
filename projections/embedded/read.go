package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/projections"
)

// read runs fn while the store is open.
func (s *Store) read(fn func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return fn()
}

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{projections.ErrBadQuery}, args...)...)
}

func checkWindow(from, to time.Time) error {
	for _, t := range []time.Time{from, to} {
		if !t.IsZero() && (!t.After(minTime) || t.After(maxTime)) {
			return badQuery("time %v is out of range", t)
		}
	}
	return nil
}

// Profile returns the merchant's profile; ok is false when no event names it.
func (s *Store) Profile(ctx context.Context, uscc string) (p projections.MerchantProfile, ok bool, err error) {
	err = s.read(func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(bucketProfiles).Get([]byte(uscc))
			if v == nil {
				return nil
			}
			p, err = decodeProfile(v)
			ok = err == nil
			return err
		})
	})
	return p, ok, err
}

// History returns one page of the merchant's timeline: newest first, ties by event key, filtered
// by type, bureau and time, continuing strictly after q.After. Next is nil on the last page.
func (s *Store) History(ctx context.Context, q projections.HistoryQuery) (projections.HistoryPage, error) {
	var page projections.HistoryPage
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return page, err
	}
	if q.USCC == "" {
		return page, badQuery("history needs a merchant code")
	}
	if err := checkWindow(q.From, q.To); err != nil {
		return page, err
	}
	if q.After != nil {
		if err := checkWindow(q.After.Time, time.Time{}); err != nil {
			return page, err
		}
	}
	err = s.read(func() error {
		entries, more, err := s.scan(ctx, merchantPrefix(q.USCC), q, limit)
		if err != nil {
			return err
		}
		page.Entries = entries
		if more {
			last := entries[len(entries)-1].Event
			page.Next = &projections.Cursor{Time: last.Time, Key: last.Key()}
		}
		return nil
	})
	return page, err
}

// Unlinked lists the events that name no merchant, newest first.
func (s *Store) Unlinked(ctx context.Context, limit int) ([]projections.TimelineEntry, error) {
	limit, err := projections.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	var entries []projections.TimelineEntry
	err = s.read(func() error {
		entries, _, err = s.scan(ctx, merchantPrefix(""), projections.HistoryQuery{}, limit)
		return err
	})
	return entries, err
}

// scan reads up to limit entries under prefix in timeline order; more reports whether another
// entry matches after them.
func (s *Store) scan(ctx context.Context, prefix []byte, q projections.HistoryQuery, limit int) (entries []projections.TimelineEntry, more bool, err error) {
	start := prefix
	if !q.To.IsZero() {
		ts := invTime(q.To.Add(-time.Nanosecond)) // the newest time before To
		start = append(slices.Clone(prefix), ts[:]...)
	}
	var after []byte
	if q.After != nil {
		after = timelineKey(string(prefix[:len(prefix)-1]), q.After.Time, q.After.Key)
		if bytes.Compare(after, start) > 0 {
			start = after
		}
	}
	var stop []byte // entries older than From sort after stop
	if !q.From.IsZero() {
		ts := invTime(q.From)
		stop = ts[:]
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTimeline).Cursor()
		n := 0
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if after != nil && bytes.Equal(k, after) {
				continue
			}
			ts, _, ok := splitTimelineKey(prefix, k)
			if !ok {
				return errCorrupt
			}
			if stop != nil && bytes.Compare(ts, stop) > 0 {
				break
			}
			typ, bureau, _, err := timelineHead(v)
			if err != nil {
				return err
			}
			if len(q.Types) > 0 && !slices.Contains(q.Types, string(typ)) ||
				len(q.Bureaus) > 0 && !slices.Contains(q.Bureaus, string(bureau)) {
				continue
			}
			if len(entries) == limit {
				more = true
				break
			}
			e, err := decodeTimeline(v)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
		return nil
	})
	return entries, more, err
}

// SearchMerchants finds merchants: every word of q as a phrase of the name or address (or a
// code prefix), and every filter set. Hits are ordered by code, so pages are stable.
func (s *Store) SearchMerchants(ctx context.Context, q projections.MerchantQuery) (projections.MerchantResults, error) {
	if err := s.awaitIndexed(ctx); err != nil {
		return projections.MerchantResults{}, err
	}
	var res projections.MerchantResults
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return res, err
	}
	if q.Offset < 0 {
		return res, badQuery("offset %d must be ≥ 0", q.Offset)
	}
	err = s.read(func() error {
		ids, total, err := s.search(ctx, s.merchants, merchantQuery(s.analyzer, q), fUSCC, limit, q.Offset)
		if err != nil {
			return err
		}
		res.Total = total
		res.Hits = make([]projections.MerchantHit, 0, len(ids))
		return s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketHits)
			for _, id := range ids {
				v := b.Get([]byte(id))
				if v == nil {
					return fmt.Errorf("%w: merchant %s indexed without a profile", errCorrupt, id)
				}
				var h projections.MerchantHit
				if err := json.Unmarshal(v, &h); err != nil {
					return fmt.Errorf("%w: hit: %v", errCorrupt, err)
				}
				res.Hits = append(res.Hits, h)
			}
			return nil
		})
	})
	return res, err
}

// SearchEvents finds events of every merchant by the words of their text and the filters,
// newest first (ties by event key).
func (s *Store) SearchEvents(ctx context.Context, q projections.EventQuery) (projections.EventResults, error) {
	if err := s.awaitIndexed(ctx); err != nil {
		return projections.EventResults{}, err
	}
	var res projections.EventResults
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return res, err
	}
	if q.Offset < 0 {
		return res, badQuery("offset %d must be ≥ 0", q.Offset)
	}
	if err := checkWindow(q.From, q.To); err != nil {
		return res, err
	}
	err = s.read(func() error {
		ids, total, err := s.search(ctx, s.events, eventQuery(s.analyzer, q), fDocID, limit, q.Offset)
		if err != nil {
			return err
		}
		res.Total = total
		res.Entries = make([]projections.TimelineEntry, 0, len(ids))
		return s.db.View(func(tx *bolt.Tx) error {
			evIdx, tl := tx.Bucket(bucketEvents), tx.Bucket(bucketTimeline)
			for _, docID := range ids {
				id, ok := eventKeyOf(docID)
				if !ok {
					return fmt.Errorf("%w: events index document %q", errCorrupt, docID)
				}
				rec := evIdx.Get([]byte(id))
				if rec == nil {
					return fmt.Errorf("%w: event %s indexed but not recorded", errCorrupt, id)
				}
				_, tlKey, err := decodeEventRecord(rec)
				if err != nil {
					return err
				}
				v := tl.Get(tlKey)
				if v == nil {
					return fmt.Errorf("%w: event %s has no timeline entry", errCorrupt, id)
				}
				e, err := decodeTimeline(v)
				if err != nil {
					return err
				}
				res.Entries = append(res.Entries, e)
			}
			return nil
		})
	})
	return res, err
}

// search runs q sorted ascending by the keyword field sortBy (or the document id, fDocID) and
// returns the page's ids.
func (s *Store) search(ctx context.Context, idx bleve.Index, q query.Query, sortBy string, limit, offset int) ([]string, int, error) {
	req := bleve.NewSearchRequestOptions(q, limit, offset, false)
	req.SortBy([]string{sortBy})
	req.Score = bleve.ScoreNone
	sr, err := idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("embedded: search: %w", err)
	}
	ids := make([]string, len(sr.Hits))
	for i, h := range sr.Hits {
		ids[i] = h.ID
	}
	return ids, int(sr.Total), nil
}
