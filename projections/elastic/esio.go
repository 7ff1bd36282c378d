package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// bulkOp is one action of a _bulk request.
type bulkOp struct {
	action  string // create or index
	index   string
	id      string
	version int64 // > 0: version_type external
	doc     any
}

// opResult is one action's answer.
type opResult struct {
	status int
	err    *esError
	index  string // the index the action went to (an alias resolved to its index)
}

func (r opResult) ok() bool { return r.status >= 200 && r.status < 300 }

// permanent reports an action Elasticsearch refused for the document itself (a mapping or
// parsing rejection: 400): sending it again can never succeed. 404 (index missing), 403 (index
// blocked) and the like are the cluster's state, not the document's, and are not permanent.
func (r opResult) permanent() bool { return r.status == 400 }

func (r opResult) asError(op string) error {
	return &httpError{op: op, status: r.status, err: r.err}
}

type bulkMeta struct {
	Index       string `json:"_index"`
	ID          string `json:"_id"`
	Version     int64  `json:"version,omitempty"`
	VersionType string `json:"version_type,omitempty"`
}

// bulk sends ops and returns each one's answer, in order. Actions answered 429 or 5xx are sent
// again, alone, with backoff, until Retry.MaxElapsed; their last answer is returned then. The
// error is non-nil only when the request as a whole got no usable answer.
func (s *Store) bulk(ctx context.Context, ops []bulkOp, refresh string) ([]opResult, error) {
	lines := make([][]byte, len(ops))
	results := make([]opResult, len(ops))
	pending := make([]int, 0, len(ops))
	for i, op := range ops {
		meta := bulkMeta{Index: op.index, ID: op.id}
		if op.version > 0 {
			meta.Version, meta.VersionType = op.version, "external"
		}
		m, err1 := json.Marshal(map[string]bulkMeta{op.action: meta})
		d, err2 := json.Marshal(op.doc)
		if err1 != nil || err2 != nil {
			results[i] = opResult{status: 400, err: &esError{Type: "encode", Reason: fmt.Sprint(err1, err2)}}
			continue
		}
		var b bytes.Buffer
		b.Grow(len(m) + len(d) + 2)
		b.Write(m)
		b.WriteByte('\n')
		b.Write(d)
		b.WriteByte('\n')
		lines[i] = b.Bytes()
		pending = append(pending, i)
	}
	requireAlias := s.viaAlias
	bo := newBackoff(s.cfg.Retry)
	for len(pending) > 0 {
		var body bytes.Buffer
		for _, i := range pending {
			body.Write(lines[i])
		}
		_, resp, err := s.c.do(ctx, "bulk", body.Bytes(), func(ctx context.Context, r io.Reader) (*esapi.Response, error) {
			return esapi.BulkRequest{Body: r, RequireAlias: &requireAlias, Refresh: refresh,
				FilterPath: []string{"items.*.status", "items.*.error", "items.*._index"}}.Do(ctx, s.c.es)
		})
		if err != nil {
			return nil, err
		}
		var out struct {
			Items []map[string]struct {
				Status int      `json:"status"`
				Error  *esError `json:"error"`
				Index  string   `json:"_index"`
			} `json:"items"`
		}
		if err := json.Unmarshal(resp, &out); err != nil {
			return nil, fmt.Errorf("elastic: bulk: decoding the answer: %w", err)
		}
		if len(out.Items) != len(pending) {
			return nil, fmt.Errorf("elastic: bulk: %d answers to %d actions", len(out.Items), len(pending))
		}
		var retry []int
		for j, i := range pending {
			for _, v := range out.Items[j] {
				results[i] = opResult{status: v.Status, err: v.Error, index: v.Index}
			}
			if transientStatus(results[i].status) {
				retry = append(retry, i)
			}
		}
		pending = retry
		if len(pending) > 0 && !bo.wait(ctx) {
			break
		}
	}
	return results, nil
}

type getDoc struct {
	Index  string   `json:"_index"`
	ID     string   `json:"_id"`
	Source []string `json:"_source,omitempty"`
}

type gotDoc struct {
	Found  bool            `json:"found"`
	Source json.RawMessage `json:"_source"`
	Error  *esError        `json:"error"`
}

// mget reads docs in real time (what is acknowledged, refreshed or not), in order.
//
// A read through the aliases can race a rebuild's hand-over: Promote moves the aliases and
// deletes the old generation in one atomic step, and a request that resolved an alias to the old
// index just before it answers index_not_found for that document. Asked again, the alias resolves
// to the new generation, so such an answer is retried (movedRetries times) before it is an error.
func (s *Store) mget(ctx context.Context, docs []getDoc) ([]gotDoc, error) {
	for attempt := 0; ; attempt++ {
		got, err := s.mgetOnce(ctx, docs)
		if err == nil || !indexMissing(err) || attempt >= movedRetries {
			return got, err
		}
		if !sleepCtx(ctx, movedPause) {
			return nil, err
		}
	}
}

func (s *Store) mgetOnce(ctx context.Context, docs []getDoc) ([]gotDoc, error) {
	var out struct {
		Docs []gotDoc `json:"docs"`
	}
	_, err := s.c.doJSON(ctx, "mget", map[string]any{"docs": docs}, &out, func(ctx context.Context, r io.Reader) (*esapi.Response, error) {
		return esapi.MgetRequest{Body: r}.Do(ctx, s.c.es)
	})
	if err != nil {
		return nil, err
	}
	if len(out.Docs) != len(docs) {
		return nil, fmt.Errorf("elastic: mget: %d answers to %d documents", len(out.Docs), len(docs))
	}
	for i, d := range out.Docs {
		if d.Error != nil {
			return nil, &httpError{op: fmt.Sprintf("mget %s/%s", docs[i].Index, docs[i].ID), status: http.StatusOK, err: d.Error}
		}
	}
	return out.Docs, nil
}

type searchHit struct {
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

type searchResult struct {
	Hits struct {
		Total struct {
			Value int `json:"value"`
		} `json:"total"`
		Hits []searchHit `json:"hits"`
	} `json:"hits"`
}

// search runs body against index.
func (s *Store) search(ctx context.Context, index string, body map[string]any) (*searchResult, error) {
	var out searchResult
	_, err := s.c.doJSON(ctx, "search "+index, body, &out, func(ctx context.Context, r io.Reader) (*esapi.Response, error) {
		return esapi.SearchRequest{Index: []string{index}, Body: r}.Do(ctx, s.c.es)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// scanMerchant calls fn with every timeline document of uscc, oldest first.
func (s *Store) scanMerchant(ctx context.Context, uscc string, fn func(*timelineDoc) error) error {
	var after []json.RawMessage
	for {
		body := map[string]any{
			"size":             1000,
			"track_total_hits": false,
			"query":            map[string]any{"term": map[string]any{fUSCC: uscc}},
			"sort":             []any{map[string]any{fTimeNS: "asc"}, map[string]any{fKey: "asc"}},
		}
		if after != nil {
			body["search_after"] = after
		}
		res, err := s.search(ctx, s.timeline, body)
		if err != nil {
			return err
		}
		for _, h := range res.Hits.Hits {
			var d timelineDoc
			if err := json.Unmarshal(h.Source, &d); err != nil {
				return fmt.Errorf("elastic: timeline document %s: %w", h.ID, err)
			}
			if err := fn(&d); err != nil {
				return err
			}
		}
		if len(res.Hits.Hits) < 1000 {
			return nil
		}
		after = res.Hits.Hits[len(res.Hits.Hits)-1].Sort
	}
}
