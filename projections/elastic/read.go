package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// DefaultLimit is the page size of a query whose Limit is 0 (the seam's rule).
const DefaultLimit = projections.DefaultLimit

// maxWindow is Elasticsearch's index.max_result_window: offset+limit may not exceed it.
const maxWindow = 10_000

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{projections.ErrBadQuery}, args...)...)
}

func pageOffset(offset, limit int) error {
	switch {
	case offset < 0:
		return badQuery("offset %d must be ≥ 0", offset)
	case offset+limit > maxWindow:
		return badQuery("offset %d + limit %d goes beyond the first %d results: narrow the query", offset, limit, maxWindow)
	}
	return nil
}

func checkTimes(ts ...time.Time) error {
	for _, t := range ts {
		if !t.IsZero() && !inRange(t) {
			return badQuery("time %v is out of range (1678..2262)", t)
		}
	}
	return nil
}

// open runs fn while the store is open.
func (s *Store) open(fn func() error) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	return fn()
}

// Profile returns the merchant's profile; ok is false when no event names it. It reads in real
// time: a profile is current as soon as the Apply that wrote it has returned.
func (s *Store) Profile(ctx context.Context, uscc string) (p projections.MerchantProfile, ok bool, err error) {
	if uscc == "" || len(uscc) > maxIDBytes {
		return p, false, nil
	}
	err = s.open(func() error {
		// _mget rather than GET /{index}/_doc/{id}: the id travels in the body, never in a path.
		got, err := s.mget(ctx, []getDoc{{Index: s.merchants, ID: uscc}})
		if err != nil || !got[0].Found {
			return err
		}
		pp, err := decodeProfileSource(got[0].Source)
		if err != nil {
			return err
		}
		p, ok = *pp, true
		return nil
	})
	return p, ok, err
}

// History returns one page of the merchant's timeline: newest first, ties by event key,
// filtered by type, bureau and time, continuing strictly after q.After.
func (s *Store) History(ctx context.Context, q projections.HistoryQuery) (projections.HistoryPage, error) {
	var page projections.HistoryPage
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return page, err
	}
	if q.USCC == "" {
		return page, badQuery("history needs a merchant code")
	}
	if err := checkTimes(q.From, q.To); err != nil {
		return page, err
	}
	if q.After != nil {
		if err := checkTimes(q.After.Time); err != nil {
			return page, err
		}
	}
	filters := []any{term(fUSCC, q.USCC)}
	filters = append(filters, timelineFilters(q.Types, q.Bureaus, q.From, q.To)...)
	err = s.open(func() error {
		entries, more, err := s.timelinePage(ctx, map[string]any{"bool": map[string]any{"filter": filters}}, q.After, limit)
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
	err = s.open(func() error {
		query := map[string]any{"bool": map[string]any{"must_not": []any{map[string]any{"exists": map[string]any{"field": fUSCC}}}}}
		entries, _, err = s.timelinePage(ctx, query, nil, limit)
		return err
	})
	return entries, err
}

// timelineOrder is the timeline's order: newest first, ties by event key (byte order, as Go
// compares strings).
var timelineOrder = []any{map[string]any{fTimeNS: "desc"}, map[string]any{fKey: "asc"}}

// timelinePage reads up to limit entries matching query in timeline order, after the cursor;
// more reports whether another entry follows.
func (s *Store) timelinePage(ctx context.Context, query map[string]any, after *projections.Cursor, limit int) ([]projections.TimelineEntry, bool, error) {
	body := map[string]any{
		"size":             limit + 1,
		"track_total_hits": false,
		"query":            query,
		"sort":             timelineOrder,
		"_source":          []string{fEvent, fPrivate, fLinked},
	}
	if after != nil {
		body["search_after"] = []any{after.Time.UnixNano(), after.Key}
	}
	res, err := s.search(ctx, s.timeline, body)
	if err != nil {
		return nil, false, err
	}
	hits := res.Hits.Hits
	more := len(hits) > limit
	if more {
		hits = hits[:limit]
	}
	entries, err := decodeEntries(hits)
	return entries, more, err
}

func decodeEntries(hits []searchHit) ([]projections.TimelineEntry, error) {
	out := make([]projections.TimelineEntry, 0, len(hits))
	for _, h := range hits {
		var src struct {
			Event   json.RawMessage   `json:"event"`
			Private json.RawMessage   `json:"private"`
			Linked  *projections.Link `json:"linked"`
		}
		var e projections.TimelineEntry
		if err := json.Unmarshal(h.Source, &src); err != nil {
			return nil, fmt.Errorf("elastic: timeline document %s: %w", h.ID, err)
		}
		if err := json.Unmarshal(src.Event, &e.Event); err != nil {
			return nil, fmt.Errorf("elastic: timeline document %s: event: %w", h.ID, err)
		}
		if len(src.Private) > 0 {
			e.Private = src.Private
		}
		e.Linked = src.Linked
		out = append(out, e)
	}
	return out, nil
}

func term(field string, v any) map[string]any {
	return map[string]any{"term": map[string]any{field: v}}
}

func terms(field string, vs []string) map[string]any {
	return map[string]any{"terms": map[string]any{field: vs}}
}

func timelineFilters(types, bureaus []string, from, to time.Time) []any {
	var fs []any
	if len(types) > 0 {
		fs = append(fs, terms(fType, types))
	}
	if len(bureaus) > 0 {
		fs = append(fs, terms(fBureau, bureaus))
	}
	if !from.IsZero() || !to.IsZero() {
		r := map[string]any{}
		if !from.IsZero() {
			r["gte"] = from.UnixNano()
		}
		if !to.IsZero() {
			r["lt"] = to.UnixNano()
		}
		fs = append(fs, map[string]any{"range": map[string]any{fTimeNS: r}})
	}
	return fs
}

// codeLike matches a unified social credit code prefix: digits and upper-case letters without
// I, O, Z, S, V, with at least one digit (checked separately).
var codeLike = regexp.MustCompile(`^[0-9A-HJ-NP-RT-UW-Y]{2,18}$`)

func looksLikeCode(w string) bool {
	return codeLike.MatchString(w) && strings.ContainsAny(w, "0123456789")
}

// searchable reports whether the standard analyzer makes at least one token of w: it drops
// punctuation and symbols, and a word of those alone is ignored, not matched against nothing.
func searchable(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return true
		}
	}
	return false
}

// wordQuery is one word of a query: a phrase in any of fields (the standard analyzer makes one
// token per Han character, so the phrase is the word as a substring; see the package doc).
func wordQuery(w string, fields ...string) []any {
	var should []any
	for _, f := range fields {
		should = append(should, map[string]any{"match_phrase": map[string]any{f: map[string]any{"query": w}}})
	}
	return should
}

func anyOf(should []any) map[string]any {
	if len(should) == 1 {
		return should[0].(map[string]any)
	}
	return map[string]any{"bool": map[string]any{"should": should, "minimum_should_match": 1}}
}

// SearchMerchants finds merchants: every word of q as a phrase of the name or the address (or a
// code prefix), and every filter set. Hits are ordered by code, so pages are stable.
func (s *Store) SearchMerchants(ctx context.Context, q projections.MerchantQuery) (projections.MerchantResults, error) {
	var res projections.MerchantResults
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return res, err
	}
	if err := pageOffset(q.Offset, limit); err != nil {
		return res, err
	}
	var filters []any
	for _, w := range strings.Fields(q.Q) {
		var should []any
		if searchable(w) {
			should = wordQuery(w, fName, fAddress)
		}
		if up := strings.ToUpper(w); looksLikeCode(up) {
			should = append(should, map[string]any{"prefix": map[string]any{fUSCC: up}})
		}
		if len(should) > 0 {
			filters = append(filters, anyOf(should))
		}
	}
	if q.Township != "" {
		code, _ := events.NormalizeTownship(q.Township)
		filters = append(filters, term(fTownship, code))
	}
	if q.Industry != "" {
		filters = append(filters, term(fIndPrefix, strings.ToUpper(q.Industry)))
	}
	if q.Certified != nil {
		filters = append(filters, term(fCertified, *q.Certified))
	}
	if q.Listed != nil {
		filters = append(filters, term(fListed, *q.Listed))
	}
	body := map[string]any{
		"from": q.Offset, "size": limit, "track_total_hits": true,
		"query":   map[string]any{"bool": map[string]any{"filter": filters}},
		"sort":    []any{map[string]any{fUSCC: "asc"}},
		"_source": []string{fProfile},
	}
	err = s.open(func() error {
		sr, err := s.search(ctx, s.merchants, body)
		if err != nil {
			return err
		}
		res.Total = sr.Hits.Total.Value
		res.Hits = make([]projections.MerchantHit, 0, len(sr.Hits.Hits))
		for _, h := range sr.Hits.Hits {
			p, err := decodeProfileSource(h.Source)
			if err != nil {
				return err
			}
			res.Hits = append(res.Hits, projections.MerchantHit{
				USCC: p.USCC, Name: p.Name, Township: p.Township, TownshipName: p.TownshipName,
				Industry: p.Industry, IndustryName: p.IndustryName, Address: p.Address,
				Certified: p.Certified(), Listed: p.Listed(),
			})
		}
		return nil
	})
	return res, err
}

// SearchEvents finds events of every merchant by the words of their text and the filters,
// newest first (ties by event key).
func (s *Store) SearchEvents(ctx context.Context, q projections.EventQuery) (projections.EventResults, error) {
	var res projections.EventResults
	limit, err := projections.PageLimit(q.Limit)
	if err != nil {
		return res, err
	}
	if err := pageOffset(q.Offset, limit); err != nil {
		return res, err
	}
	if err := checkTimes(q.From, q.To); err != nil {
		return res, err
	}
	var filters []any
	for _, w := range strings.Fields(q.Q) {
		if searchable(w) {
			filters = append(filters, anyOf(wordQuery(w, fText)))
		}
	}
	if q.Township != "" {
		code, _ := events.NormalizeTownship(q.Township)
		filters = append(filters, term(fTownship, code))
	}
	filters = append(filters, timelineFilters(q.Types, q.Bureaus, q.From, q.To)...)
	body := map[string]any{
		"from": q.Offset, "size": limit, "track_total_hits": true,
		"query":   map[string]any{"bool": map[string]any{"filter": filters}},
		"sort":    timelineOrder,
		"_source": []string{fEvent, fPrivate, fLinked},
	}
	err = s.open(func() error {
		sr, err := s.search(ctx, s.timeline, body)
		if err != nil {
			return err
		}
		res.Total = sr.Hits.Total.Value
		res.Entries, err = decodeEntries(sr.Hits.Hits)
		return err
	})
	return res, err
}
