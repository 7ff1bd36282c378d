package elastic

import (
	"context"

	"github.com/lizhou/fangxin/projections"
)

// Candidates returns registered merchants whose name shares at least half of the characters of
// q.Name (the standard analyzer makes one token per Han character), best match first (BM25; ties
// by code). The linking matcher re-scores them.
func (s *Store) Candidates(ctx context.Context, q projections.CandidateQuery) ([]projections.MerchantHit, error) {
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	if !searchable(q.Name) {
		return nil, nil
	}
	body := map[string]any{
		"size": limit, "track_total_hits": false,
		"query": map[string]any{"match": map[string]any{fName: map[string]any{
			"query": q.Name, "operator": "or", "minimum_should_match": "50%",
		}}},
		"sort":    []any{"_score", map[string]any{fUSCC: "asc"}},
		"_source": []string{fProfile},
	}
	var hits []projections.MerchantHit
	err = s.open(func() error {
		sr, err := s.search(ctx, s.merchants, body)
		if err != nil {
			return err
		}
		for _, h := range sr.Hits.Hits {
			p, err := decodeProfileSource(h.Source)
			if err != nil {
				return err
			}
			if p.Name == "" {
				continue
			}
			hits = append(hits, projections.MerchantHit{
				USCC: p.USCC, Name: p.Name, Township: p.Township, TownshipName: p.TownshipName,
				Industry: p.Industry, IndustryName: p.IndustryName, Address: p.Address,
				Certified: p.Certified(), Listed: p.Listed(),
			})
		}
		return nil
	})
	return hits, err
}

// Event returns the recorded event with the key (source, id), in real time: in a merchant's
// timeline (Linked set if it was linked there) or among the unlinked events.
func (s *Store) Event(ctx context.Context, source, id string) (e projections.TimelineEntry, ok bool, err error) {
	err = s.open(func() error {
		got, err := s.mget(ctx, []getDoc{{Index: s.timeline, ID: docID(source + " " + id), Source: []string{fEvent, fPrivate, fLinked}}})
		if err != nil || !got[0].Found {
			return err
		}
		entries, err := decodeEntries([]searchHit{{ID: docID(source + " " + id), Source: got[0].Source}})
		if err != nil {
			return err
		}
		e, ok = entries[0], true
		return nil
	})
	return e, ok, err
}
