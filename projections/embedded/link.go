package embedded

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/projections"
)

// Candidates returns registered merchants whose name or address shares a word (a CJK bigram) with
// q.Name, best text match first (bleve's score; ties by code). The linking matcher re-scores them.
func (s *Store) Candidates(ctx context.Context, q projections.CandidateQuery) ([]projections.MerchantHit, error) {
	if err := s.awaitIndexed(ctx); err != nil {
		return nil, err
	}
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	var hits []projections.MerchantHit
	err = s.read(func() error {
		if len(s.analyzer.Analyze([]byte(q.Name))) == 0 {
			return nil
		}
		mq := query.NewMatchQuery(q.Name)
		mq.SetField(fText)
		mq.Analyzer = "cjk"
		req := bleve.NewSearchRequestOptions(mq, limit, 0, false)
		req.SortBy([]string{"-_score", fUSCC})
		sr, err := s.merchants.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("embedded: candidates: %w", err)
		}
		return s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketHits)
			for _, h := range sr.Hits {
				v := b.Get([]byte(h.ID))
				if v == nil {
					return fmt.Errorf("%w: merchant %s indexed without a profile", errCorrupt, h.ID)
				}
				var mh projections.MerchantHit
				if err := json.Unmarshal(v, &mh); err != nil {
					return fmt.Errorf("%w: hit: %v", errCorrupt, err)
				}
				if mh.Name != "" {
					hits = append(hits, mh)
				}
			}
			return nil
		})
	})
	return hits, err
}

// Event returns the recorded event with the key (source, id), wherever it is: in a merchant's
// timeline (Linked set if it was linked there) or among the unlinked events.
func (s *Store) Event(ctx context.Context, source, id string) (e projections.TimelineEntry, ok bool, err error) {
	err = s.read(func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.db.View(func(tx *bolt.Tx) error {
			rec := tx.Bucket(bucketEvents).Get([]byte(source + " " + id))
			if rec == nil {
				return nil
			}
			_, tlKey, err := decodeEventRecord(rec)
			if err != nil {
				return err
			}
			v := tx.Bucket(bucketTimeline).Get(tlKey)
			if v == nil {
				return fmt.Errorf("%w: event %s %s has no timeline entry", errCorrupt, source, id)
			}
			e, err = decodeTimeline(v)
			ok = err == nil
			return err
		})
	})
	return e, ok, err
}
