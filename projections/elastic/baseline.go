package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/projections"
)

// RawEntry is an event at its log position, for RawBulk.
type RawEntry struct {
	Entry projections.TimelineEntry
	Pos   eventlog.Position
}

// RawBulk is the baseline the store's Apply is measured against (BenchmarkApply, make bench):
// it indexes the documents Apply would write for entries (a timeline document per event and
// the merchant document after it, folded in memory), with no reads, checks or ordering, through
// esutil.BulkIndexer into a scratch generation gen of cfg's templates, ends with one refresh,
// drops the generation and returns events/s. Entries of one merchant must be in log order.
func RawBulk(ctx context.Context, cfg Config, gen string, entries []RawEntry) (float64, error) {
	gs, err := OpenGeneration(ctx, cfg, gen)
	if err != nil {
		return 0, err
	}
	defer gs.Close()
	type doc struct {
		index, id string
		body      []byte
	}
	docs := make([]doc, 0, 2*len(entries))
	profiles := map[string]*projections.MerchantProfile{}
	for _, e := range entries {
		ev := e.Entry.Event
		p := profiles[ev.Subject]
		if p == nil {
			p = &projections.MerchantProfile{USCC: ev.Subject}
			profiles[ev.Subject] = p
		}
		projections.FoldProfile(p, ev)
		p.LastPosition = e.Pos
		pj, _ := p.AppendJSON(nil)
		ej, _ := json.Marshal(ev)
		td, _ := json.Marshal(newTimelineDoc(e.Entry, ej, e.Pos, p))
		docs = append(docs, doc{gs.timeline, docID(ev.Key()), td})
		if ev.Subject != "" {
			md, _ := json.Marshal(newMerchantDoc(p, pj))
			docs = append(docs, doc{gs.merchants, ev.Subject, md})
		}
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client: gs.c.es, NumWorkers: gs.cfg.Workers + 4, FlushBytes: 5 << 20, FlushInterval: 50 * time.Millisecond,
	})
	if err != nil {
		return 0, err
	}
	var failures atomic.Int64
	start := time.Now()
	for _, d := range docs {
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Action: "index", Index: d.index, DocumentID: d.id, Body: bytes.NewReader(d.body),
			OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) { failures.Add(1) },
		})
		if err != nil {
			return 0, err
		}
	}
	if err := bi.Close(ctx); err != nil {
		return 0, err
	}
	res, err := esapi.IndicesRefreshRequest{Index: []string{gs.timeline, gs.merchants}}.Do(ctx, gs.c.es)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	took := time.Since(start)
	if f := failures.Load(); f > 0 {
		return 0, fmt.Errorf("elastic: raw bulk: %d of %d items failed", f, len(docs))
	}
	del, err := esapi.IndicesDeleteRequest{Index: []string{gs.timeline, gs.merchants}}.Do(ctx, gs.c.es)
	if err == nil {
		io.Copy(io.Discard, del.Body)
		del.Body.Close()
	}
	return float64(len(entries)) / took.Seconds(), nil
}

// NodesCPU returns the CPU seconds the Elasticsearch nodes at urls have used (node stats), or 0
// when they do not say. It is for benchmarks beside RawBulk: CPU per event is a figure a busy
// machine distorts far less than events per second. It counts every client of the cluster, so
// compare figures of one run.
func NodesCPU(urls []string) float64 {
	req, err := http.NewRequest(http.MethodGet, strings.Split(urls[0], ",")[0]+"/_nodes/stats/process?filter_path=nodes.*.process.cpu.total_in_millis", nil)
	if err != nil {
		return 0
	}
	req.Close = true // no idle connection left behind (the package tests check for leaks)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct {
		Nodes map[string]struct {
			Process struct {
				CPU struct {
					TotalInMillis int64 `json:"total_in_millis"`
				} `json:"cpu"`
			} `json:"process"`
		} `json:"nodes"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	var ms int64
	for _, n := range out.Nodes {
		ms += n.Process.CPU.TotalInMillis
	}
	return float64(ms) / 1000
}
