package incidents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Elastic is the Store on Elasticsearch 8, three indices behind the hub's index prefix:
//
//	{prefix}-incidents-v1  one document per incident (id = incident id): the Incident JSON plus
//	                       keyword fields to filter on and detected_ns (long) to sort on
//	{prefix}-silences-v1   one document per silence
//	{prefix}-incident-feed-v1  one document per lifecycle event (id = event key, created once):
//	                       seq (long) and the event
//
// Writes use optimistic concurrency (if_seq_no) and force no refresh: reads by id are real-time,
// and every search (Incidents, Silences, Feed) refreshes its index first, so it sees every write
// that returned before it, from any process. A refresh per write made Elasticsearch spend about
// as much CPU on the incident events of a replay as on all of its other writes (the distributed
// bench's catch-up of 50,000 demo events: 489 µs per event, 238 µs without the rule engine and
// this store); a refresh of an index nothing was written to since is cheap.
//
// Feed order: seq is assigned from a nanosecond clock kept strictly increasing by this process,
// and Apply calls are serialised, so one incident projector per hub writes the feed in order (the
// hub runs one, with the rule engine).
type Elastic struct {
	c      *es.Client
	prefix string

	mu      sync.Mutex // serialises Apply (feed order)
	lastSeq int64
	fresh   bool
}

var (
	_ Store = (*Elastic)(nil)
	_ Fresh = (*Elastic)(nil)
)

// Fresh reports whether OpenElastic created the incident index.
func (s *Elastic) Fresh() bool { return s.fresh }

// ElasticConfig configures the store.
type ElasticConfig struct {
	URLs        []string
	IndexPrefix string // default "fangxin"
}

func (s *Elastic) incidentsIndex() string { return s.prefix + "-incidents-v1" }
func (s *Elastic) silencesIndex() string  { return s.prefix + "-silences-v1" }
func (s *Elastic) feedIndex() string      { return s.prefix + "-incident-feed-v1" }

// OpenElastic connects, creates the indices when missing and reads the feed's last seq.
func OpenElastic(ctx context.Context, cfg ElasticConfig) (*Elastic, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("incidents: Elasticsearch URLs are required")
	}
	if cfg.IndexPrefix == "" {
		cfg.IndexPrefix = "fangxin"
	}
	c, err := es.NewClient(es.Config{Addresses: cfg.URLs})
	if err != nil {
		return nil, fmt.Errorf("incidents: elasticsearch %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	s := &Elastic{c: c, prefix: cfg.IndexPrefix}
	kw := map[string]any{"type": "keyword"}
	for idx, props := range map[string]map[string]any{
		s.incidentsIndex(): {"incident_id": kw, "rule": kw, "level": kw, "status": kw, "industry": kw, "township": kw,
			"merchant": kw, "responsible_bureaus": kw, "detected_ns": map[string]any{"type": "long"}},
		s.silencesIndex(): {"silence_id": kw, "starts_ns": map[string]any{"type": "long"}},
		s.feedIndex():     {"seq": map[string]any{"type": "long"}},
	} {
		body := map[string]any{
			"settings": map[string]any{"number_of_shards": 1, "auto_expand_replicas": "0-1"},
			"mappings": map[string]any{"dynamic": false, "properties": props},
		}
		status, resp, err := s.do(ctx, http.MethodPut, "/"+idx, nil, body)
		if err != nil {
			return nil, err
		}
		if status >= 300 && !strings.Contains(string(resp), "resource_already_exists_exception") {
			return nil, fmt.Errorf("incidents: create index %s: %d %s", idx, status, resp)
		}
		if status < 300 && idx == s.incidentsIndex() {
			s.fresh = true
		}
	}
	var r struct {
		Aggregations struct {
			Max struct {
				Value *float64 `json:"value"`
			} `json:"max"`
		} `json:"aggregations"`
	}
	if err := s.search(ctx, s.feedIndex(), map[string]any{"size": 0, "aggs": map[string]any{"max": map[string]any{"max": map[string]any{"field": "seq"}}}}, &r); err != nil {
		return nil, err
	}
	if v := r.Aggregations.Max.Value; v != nil {
		s.lastSeq = int64(*v)
	}
	return s, nil
}

func (s *Elastic) Close() error { return nil }

// do sends one request and returns the status and body. Transport errors are errors; statuses
// are the caller's to judge.
func (s *Elastic) do(ctx context.Context, method, path string, q url.Values, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.c.Perform(req)
	if err != nil {
		return 0, nil, fmt.Errorf("incidents: elasticsearch %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// search searches index once a refresh has made every write that returned before it visible.
func (s *Elastic) search(ctx context.Context, index string, body any, out any) error {
	status, b, err := s.do(ctx, http.MethodPost, "/"+index+"/_refresh", nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("incidents: refresh %s: %d %s", index, status, b)
	}
	status, b, err = s.do(ctx, http.MethodPost, "/"+index+"/_search", nil, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("incidents: search %s: %d %s", index, status, b)
	}
	return json.Unmarshal(b, out)
}

// get reads a document with its concurrency tokens; found is false on 404.
func (s *Elastic) get(ctx context.Context, index, id string, v any) (found bool, seqNo, term int64, err error) {
	status, b, err := s.do(ctx, http.MethodGet, "/"+index+"/_doc/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return false, 0, 0, err
	}
	if status == http.StatusNotFound {
		return false, 0, 0, nil
	}
	if status != http.StatusOK {
		return false, 0, 0, fmt.Errorf("incidents: get %s/%s: %d %s", index, id, status, b)
	}
	var r struct {
		SeqNo  int64           `json:"_seq_no"`
		Term   int64           `json:"_primary_term"`
		Source json.RawMessage `json:"_source"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return false, 0, 0, err
	}
	return true, r.SeqNo, r.Term, json.Unmarshal(r.Source, v)
}

// put writes a document: created only when !found, else only over the version read.
func (s *Elastic) put(ctx context.Context, index, id string, found bool, seqNo, term int64, doc any) (conflict bool, err error) {
	q := url.Values{}
	if found {
		q.Set("if_seq_no", strconv.FormatInt(seqNo, 10))
		q.Set("if_primary_term", strconv.FormatInt(term, 10))
	} else {
		q.Set("op_type", "create")
	}
	status, b, err := s.do(ctx, http.MethodPut, "/"+index+"/_doc/"+url.PathEscape(id), q, doc)
	if err != nil {
		return false, err
	}
	switch {
	case status == http.StatusConflict:
		return true, nil
	case status >= 300:
		return false, fmt.Errorf("incidents: write %s/%s: %d %s", index, id, status, b)
	}
	return false, nil
}

// incidentDoc is the stored incident with its filter fields.
type incidentDoc struct {
	Incident
	DetectedNS int64 `json:"detected_ns"`
}

type silenceDoc struct {
	Silence
	StartsNS int64 `json:"starts_ns"`
}

type feedDoc struct {
	Seq   int64        `json:"seq"`
	Event events.Event `json:"event"`
}

func (s *Elastic) Apply(ctx context.Context, ev events.Event) error {
	lifecycle := IsLifecycle(ev.Type)
	silence := ev.Type == events.TypeSilenceCreated || ev.Type == events.TypeSilenceDeleted
	if !lifecycle && !silence {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if silence {
		return s.applySilence(ctx, ev)
	}
	// The fold is idempotent (sequence numbers), so it runs first; the feed entry is created once.
	if id := IncidentIDOf(ev); id != "" {
		for attempt := 0; ; attempt++ {
			var cur incidentDoc
			found, seqNo, term, err := s.get(ctx, s.incidentsIndex(), id, &cur)
			if err != nil {
				return err
			}
			changed, err := FoldIncident(&cur.Incident, ev)
			if err != nil || !changed {
				break
			}
			cur.DetectedNS = cur.DetectedAt.UnixNano()
			conflict, err := s.put(ctx, s.incidentsIndex(), id, found, seqNo, term, cur)
			if err != nil {
				return err
			}
			if !conflict {
				break
			}
			if attempt > 10 {
				return fmt.Errorf("incidents: %s keeps changing under this write", id)
			}
		}
	}
	seq := time.Now().UnixNano()
	if seq <= s.lastSeq {
		seq = s.lastSeq + 1
	}
	if _, err := s.put(ctx, s.feedIndex(), ev.Key(), false, 0, 0, feedDoc{Seq: seq, Event: ev}); err != nil {
		return err // a conflict is a redelivery: the entry exists
	}
	s.lastSeq = seq
	return nil
}

func (s *Elastic) applySilence(ctx context.Context, ev events.Event) error {
	var id struct {
		SilenceID string `json:"silence_id"`
	}
	if json.Unmarshal(ev.Data, &id) != nil || id.SilenceID == "" {
		return nil
	}
	for attempt := 0; attempt < 10; attempt++ {
		var cur silenceDoc
		found, seqNo, term, err := s.get(ctx, s.silencesIndex(), id.SilenceID, &cur)
		if err != nil {
			return err
		}
		if changed, err := FoldSilence(&cur.Silence, ev); err != nil || !changed {
			return nil
		}
		cur.StartsNS = cur.StartsAt.UnixNano()
		conflict, err := s.put(ctx, s.silencesIndex(), id.SilenceID, found, seqNo, term, cur)
		if err != nil || !conflict {
			return err
		}
	}
	return fmt.Errorf("incidents: silence %s keeps changing under this write", id.SilenceID)
}

func (s *Elastic) Incident(ctx context.Context, id string) (Incident, bool, error) {
	var d incidentDoc
	found, _, _, err := s.get(ctx, s.incidentsIndex(), id, &d)
	return d.Incident, found, err
}

func (s *Elastic) Incidents(ctx context.Context, f Filter) (Page, error) {
	limit, err := projections.PageLimit(f.Limit)
	if err != nil {
		return Page{}, err
	}
	cur, err := DecodeCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	var filter []any
	term := func(field, v string) {
		if v != "" {
			filter = append(filter, map[string]any{"term": map[string]any{field: v}})
		}
	}
	tw := f.Township
	if t, ok := events.LookupTownship(tw); ok {
		tw = t.Code
	}
	term("rule", f.Rule)
	term("level", f.Level)
	term("status", f.Status)
	term("industry", f.Industry)
	term("township", tw)
	term("merchant", f.Merchant)
	term("responsible_bureaus", f.Bureau)
	if !f.From.IsZero() || !f.To.IsZero() {
		r := map[string]any{}
		if !f.From.IsZero() {
			r["gte"] = f.From.UnixNano()
		}
		if !f.To.IsZero() {
			r["lt"] = f.To.UnixNano()
		}
		filter = append(filter, map[string]any{"range": map[string]any{"detected_ns": r}})
	}
	body := map[string]any{
		"size":  limit + 1,
		"query": map[string]any{"bool": map[string]any{"filter": filter}},
		"sort":  []any{map[string]any{"detected_ns": "desc"}, map[string]any{"incident_id": "desc"}},
	}
	if cur.ID != "" {
		body["search_after"] = []any{cur.DetectedAt.UnixNano(), cur.ID}
	}
	var r struct {
		Hits struct {
			Hits []struct {
				Source incidentDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := s.search(ctx, s.incidentsIndex(), body, &r); err != nil {
		return Page{}, err
	}
	var p Page
	for _, h := range r.Hits.Hits {
		p.Incidents = append(p.Incidents, h.Source.Incident)
	}
	if len(p.Incidents) > limit {
		p.Incidents = p.Incidents[:limit]
		last := p.Incidents[limit-1]
		p.Next = Cursor{DetectedAt: last.DetectedAt, ID: last.IncidentID}.Encode()
	}
	return p, nil
}

func (s *Elastic) Silence(ctx context.Context, id string) (Silence, bool, error) {
	var d silenceDoc
	found, _, _, err := s.get(ctx, s.silencesIndex(), id, &d)
	return d.Silence, found && d.CreatedBy != "", err
}

func (s *Elastic) Silences(ctx context.Context) ([]Silence, error) {
	var r struct {
		Hits struct {
			Hits []struct {
				Source silenceDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	err := s.search(ctx, s.silencesIndex(), map[string]any{
		"size": 10000, "sort": []any{map[string]any{"starts_ns": "desc"}, map[string]any{"silence_id": "desc"}},
	}, &r)
	var out []Silence
	for _, h := range r.Hits.Hits {
		if h.Source.CreatedBy != "" {
			out = append(out, h.Source.Silence)
		}
	}
	return out, err
}

func (s *Elastic) Feed(ctx context.Context, after int64, limit int) ([]FeedEntry, error) {
	if limit <= 0 {
		limit = projections.DefaultLimit
	}
	var r struct {
		Hits struct {
			Hits []struct {
				Source feedDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	err := s.search(ctx, s.feedIndex(), map[string]any{
		"size":  limit,
		"query": map[string]any{"range": map[string]any{"seq": map[string]any{"gt": after}}},
		"sort":  []any{map[string]any{"seq": "asc"}},
	}, &r)
	var out []FeedEntry
	for _, h := range r.Hits.Hits {
		out = append(out, FeedEntry{Seq: h.Source.Seq, Event: h.Source.Event})
	}
	return out, err
}
