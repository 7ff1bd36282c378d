package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/lizhou/fangxin/projections"
)

var _ projections.Store = (*Store)(nil)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("elastic: store closed")

// Store is the Elasticsearch read model. It is safe for concurrent use; see the package doc for
// its contract.
type Store struct {
	cfg Config
	c   *client

	gen       string // the generation this store reads and writes
	timeline  string // index or alias name used for reads and writes
	merchants string
	viaAlias  bool // writes go through the aliases (require_alias), reads follow them

	mu       sync.RWMutex // guards closed, promoted and the intake channel's closing
	closed   bool
	promoted bool
	intake   chan *request
	done     chan struct{} // closed when the pipeline has drained

	bg       context.Context // background work (groups in flight, refreshes); cancelled by Close
	cancelBg context.CancelFunc
	refresh  *refresher
	cache    *profileCache // nil when Config.ProfileCache < 0
}

// Names of the aliases and indices of a prefix.
func aliasTimeline(prefix string) string       { return prefix + "-timeline" }
func aliasMerchants(prefix string) string      { return prefix + "-merchants" }
func indexTimeline(prefix, gen string) string  { return prefix + "-timeline-" + gen }
func indexMerchants(prefix, gen string) string { return prefix + "-merchants-" + gen }

// Open connects to the live generation: reads and writes go through the aliases
// {prefix}-timeline and {prefix}-merchants, so a Promote elsewhere moves this store to the new
// generation without a restart. When the cluster has no such aliases yet, Open creates
// generation cfg.Generation and points the aliases at it. It (re)installs the index templates.
//
// A wrong URL, an unreachable node or a server that is not Elasticsearch 8 fails here, with one
// message naming FANGXIN_ELASTICSEARCH_URL.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, "")
}

// OpenGeneration opens a store that builds generation gen ({prefix}-timeline-{gen} and
// {prefix}-merchants-{gen}, created if missing) while the aliases keep pointing at the live
// generation, so that queries keep answering during a rebuild. It reads and writes gen's indices
// directly. Promote makes it the live generation. gen must not be the live generation.
func OpenGeneration(ctx context.Context, cfg Config, gen string) (*Store, error) {
	if err := checkGeneration(gen); err != nil {
		return nil, err
	}
	return open(ctx, cfg, gen)
}

func open(ctx context.Context, cfg Config, gen string) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, c: c}
	if err := s.setup(ctx, gen); err != nil {
		c.closeFn()
		return nil, err
	}
	s.bg, s.cancelBg = context.WithCancel(context.Background())
	s.refresh = newRefresher(s, cfg.RefreshInterval)
	s.cache = newProfileCache(cfg.ProfileCache)
	s.intake = make(chan *request, cfg.MaxBatch)
	s.done = make(chan struct{})
	go s.dispatch()
	return s, nil
}

// Generation returns the generation this store reads and writes.
func (s *Store) Generation() string { return s.gen }

// setup checks the server, installs the templates and resolves or creates the indices.
func (s *Store) setup(ctx context.Context, gen string) error {
	if err := s.ping(ctx); err != nil {
		return err
	}
	if err := s.putTemplates(ctx); err != nil {
		return err
	}
	p := s.cfg.IndexPrefix
	live, err := s.liveGeneration(ctx)
	if err != nil {
		return err
	}
	switch {
	case gen != "":
		if gen == live {
			return fmt.Errorf("elastic: generation %q is the live one: build a rebuild into a new generation", gen)
		}
		if err := s.createIndices(ctx, gen); err != nil {
			return err
		}
		s.gen, s.timeline, s.merchants = gen, indexTimeline(p, gen), indexMerchants(p, gen)
	default:
		if live == "" {
			live = s.cfg.Generation
			if err := s.createIndices(ctx, live); err != nil {
				return err
			}
			if err := s.pointAliases(ctx, live, ""); err != nil {
				return err
			}
		}
		s.gen, s.timeline, s.merchants, s.viaAlias = live, aliasTimeline(p), aliasMerchants(p), true
	}
	return s.checkSchema(ctx)
}

// ping makes one request, without retries, to tell at once whether the URL is an Elasticsearch 8
// node.
func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(s.cfg.RequestTimeout, 10*time.Second))
	defer cancel()
	where := fmt.Sprintf("%s (%s)", s.c.urls, EnvURL)
	res, err := esapi.NodesInfoRequest{NodeID: []string{"_local"}, FilterPath: []string{"nodes.*.version"}}.Do(ctx, s.c.es)
	if err != nil {
		if strings.Contains(err.Error(), "not Elasticsearch") {
			return fmt.Errorf("elastic: %s is not Elasticsearch: %w", where, err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "malformed HTTP response") ||
			strings.Contains(err.Error(), "server closed idle connection") || errors.Is(err, syscall.ECONNRESET) {
			// It accepted the connection (a closed port refuses it) and hung up without answering.
			return fmt.Errorf("elastic: %s is not Elasticsearch: something listens there but does not answer HTTP (%w); is it another service's port?", where, err)
		}
		return fmt.Errorf("elastic: cannot reach Elasticsearch at %s: %w", where, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		return fmt.Errorf("elastic: %s is not Elasticsearch: it answered %d without the X-Elastic-Product header", where, res.StatusCode)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("elastic: %s: %w", where, newHTTPError("node info", res.StatusCode, body))
	}
	var info struct {
		Nodes map[string]struct {
			Version string `json:"version"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(body, &info); err != nil || len(info.Nodes) == 0 {
		return fmt.Errorf("elastic: %s: unexpected node info %q", where, truncate(string(body), 200))
	}
	for _, n := range info.Nodes {
		if major, _, _ := strings.Cut(n.Version, "."); major != "8" {
			return fmt.Errorf("elastic: %s runs Elasticsearch %s; this build needs 8.x", where, n.Version)
		}
	}
	return nil
}

// indexSettings are the settings of new indices. refresh_interval is set explicitly, which also
// keeps idle shards refreshing on schedule (search-idle shards skip scheduled refreshes only when
// it is left unset); Apply does not rely on it (see refresher).
func (s *Store) indexSettings() map[string]any {
	set := map[string]any{"number_of_shards": s.cfg.Shards, "refresh_interval": "1s"}
	if strings.Contains(s.cfg.Replicas, "-") {
		set["auto_expand_replicas"] = s.cfg.Replicas
	} else {
		n, _ := strconv.Atoi(s.cfg.Replicas)
		set["number_of_replicas"] = n
	}
	return set
}

// putTemplates installs (or updates) the composable index templates of both index families, so
// that every generation is created with these settings and mappings.
func (s *Store) putTemplates(ctx context.Context) error {
	p := s.cfg.IndexPrefix
	for _, t := range []struct {
		name    string
		pattern string
		mapping map[string]any
	}{
		{aliasTimeline(p), indexTimeline(p, "*"), timelineMapping()},
		{aliasMerchants(p), indexMerchants(p, "*"), merchantsMapping()},
	} {
		body := map[string]any{
			"index_patterns": []string{t.pattern},
			"priority":       100,
			"template":       map[string]any{"settings": s.indexSettings(), "mappings": t.mapping},
			"_meta":          map[string]any{"managed_by": "fangxin projections/elastic", "schema": schemaVersion},
		}
		_, err := s.c.doJSON(ctx, "put index template "+t.name, body, nil, func(ctx context.Context, r io.Reader) (*esapi.Response, error) {
			return esapi.IndicesPutIndexTemplateRequest{Name: t.name, Body: r}.Do(ctx, s.c.es)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// createIndices creates both indices of gen from the templates; existing ones are kept.
func (s *Store) createIndices(ctx context.Context, gen string) error {
	p := s.cfg.IndexPrefix
	for _, name := range []string{indexTimeline(p, gen), indexMerchants(p, gen)} {
		status, err := s.c.doJSON(ctx, "create index "+name, nil, nil, func(ctx context.Context, r io.Reader) (*esapi.Response, error) {
			return esapi.IndicesCreateRequest{Index: name}.Do(ctx, s.c.es)
		}, http.StatusOK, http.StatusBadRequest)
		if err != nil {
			return err
		}
		if status == http.StatusBadRequest {
			// Only "already exists" is fine; anything else is re-asked to get its error.
			exists, err := s.indexExists(ctx, name)
			if err != nil {
				return err
			}
			if !exists {
				return fmt.Errorf("elastic: create index %s: rejected", name)
			}
		}
	}
	return nil
}

func (s *Store) indexExists(ctx context.Context, name string) (bool, error) {
	status, _, err := s.c.do(ctx, "index exists "+name, nil, func(ctx context.Context, _ io.Reader) (*esapi.Response, error) {
		return esapi.IndicesExistsRequest{Index: []string{name}}.Do(ctx, s.c.es)
	}, http.StatusOK, http.StatusNotFound)
	return status == http.StatusOK, err
}

// aliasTargets returns the indices each of the two aliases points at.
func (s *Store) aliasTargets(ctx context.Context) (timeline, merchants []string, err error) {
	p := s.cfg.IndexPrefix
	var got map[string]json.RawMessage
	_, body, err := s.c.do(ctx, "get aliases", nil, func(ctx context.Context, _ io.Reader) (*esapi.Response, error) {
		return esapi.IndicesGetAliasRequest{Name: []string{aliasTimeline(p), aliasMerchants(p)}}.Do(ctx, s.c.es)
	}, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return nil, nil, fmt.Errorf("elastic: get aliases: %w", err)
	}
	for index, raw := range got {
		if index == "error" || index == "status" {
			continue
		}
		var v struct {
			Aliases map[string]json.RawMessage `json:"aliases"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, fmt.Errorf("elastic: get aliases: %w", err)
		}
		if _, ok := v.Aliases[aliasTimeline(p)]; ok {
			timeline = append(timeline, index)
		}
		if _, ok := v.Aliases[aliasMerchants(p)]; ok {
			merchants = append(merchants, index)
		}
	}
	sort.Strings(timeline)
	sort.Strings(merchants)
	return timeline, merchants, nil
}

// liveGeneration returns the generation both aliases point at, "" when neither exists.
func (s *Store) liveGeneration(ctx context.Context) (string, error) {
	p := s.cfg.IndexPrefix
	tl, m, err := s.aliasTargets(ctx)
	if err != nil {
		return "", err
	}
	if len(tl) == 0 && len(m) == 0 {
		return "", nil
	}
	if len(tl) != 1 || len(m) != 1 {
		return "", fmt.Errorf("elastic: alias %s points at %v and %s at %v: each must point at exactly one index; repair the aliases or rebuild",
			aliasTimeline(p), tl, aliasMerchants(p), m)
	}
	gt, ok1 := strings.CutPrefix(tl[0], aliasTimeline(p)+"-")
	gm, ok2 := strings.CutPrefix(m[0], aliasMerchants(p)+"-")
	if !ok1 || !ok2 || gt != gm {
		return "", fmt.Errorf("elastic: aliases point at %s and %s, not at one generation: repair the aliases or rebuild", tl[0], m[0])
	}
	return gt, nil
}

// pointAliases moves both aliases to gen and deletes generation old (when not "") in one
// _aliases call, which Elasticsearch applies atomically.
func (s *Store) pointAliases(ctx context.Context, gen, old string) error {
	p := s.cfg.IndexPrefix
	actions := []map[string]any{
		{"add": map[string]any{"index": indexTimeline(p, gen), "alias": aliasTimeline(p)}},
		{"add": map[string]any{"index": indexMerchants(p, gen), "alias": aliasMerchants(p)}},
	}
	if old != "" && old != gen {
		// remove_index drops the old index and its aliases in the same atomic step.
		actions = append(actions,
			map[string]any{"remove_index": map[string]any{"index": indexTimeline(p, old)}},
			map[string]any{"remove_index": map[string]any{"index": indexMerchants(p, old)}})
	}
	_, err := s.c.doJSON(ctx, "update aliases", map[string]any{"actions": actions}, nil, func(ctx context.Context, r io.Reader) (*esapi.Response, error) {
		return esapi.IndicesUpdateAliasesRequest{Body: r}.Do(ctx, s.c.es)
	})
	return err
}

// checkSchema refuses indices whose mapping was written by another layout of this package.
func (s *Store) checkSchema(ctx context.Context) error {
	var got map[string]struct {
		Mappings struct {
			Meta map[string]any `json:"_meta"`
		} `json:"mappings"`
	}
	_, err := s.c.doJSON(ctx, "get mappings", nil, &got, func(ctx context.Context, _ io.Reader) (*esapi.Response, error) {
		return esapi.IndicesGetMappingRequest{Index: []string{s.timeline, s.merchants}}.Do(ctx, s.c.es)
	})
	if err != nil {
		return err
	}
	for index, m := range got {
		if v, _ := m.Mappings.Meta["schema"].(string); v != schemaVersion {
			return fmt.Errorf("elastic: index %s holds schema %q, this build writes %q: rebuild the views into a new generation", index, v, schemaVersion)
		}
	}
	return nil
}

// Promote makes this store's generation the live one: it refreshes the new indices, then moves
// both aliases to them and deletes the previous generation, in one atomic _aliases call. Queries
// through the aliases answer from the old generation up to that call and from the new one after
// it. Only a store opened with OpenGeneration can be promoted, once it has caught up with the log.
// After Promote the store keeps working on the same (now live) indices.
func (s *Store) Promote(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.viaAlias || s.promoted:
		return fmt.Errorf("elastic: generation %q is already live", s.gen)
	}
	if err := s.refreshNow(ctx); err != nil {
		return err
	}
	old, err := s.liveGeneration(ctx)
	if err != nil {
		return err
	}
	if err := s.pointAliases(ctx, s.gen, old); err != nil {
		return err
	}
	s.promoted = true
	return nil
}

// Close finishes the Apply calls already accepted, then releases the connections. Calls made
// after Close return ErrClosed; closing again is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.intake)
	s.mu.Unlock()
	<-s.done
	s.refresh.stop()
	s.cancelBg()
	s.c.closeFn()
	return nil
}

// refreshNow makes everything written so far searchable, in both indices.
func (s *Store) refreshNow(ctx context.Context) error {
	var out struct {
		Shards struct {
			Total, Successful, Failed int
		} `json:"_shards"`
	}
	bo := newBackoff(s.cfg.Retry)
	for {
		_, err := s.c.doJSON(ctx, "refresh", nil, &out, func(ctx context.Context, _ io.Reader) (*esapi.Response, error) {
			return esapi.IndicesRefreshRequest{Index: []string{s.timeline, s.merchants}}.Do(ctx, s.c.es)
		})
		if err != nil {
			return err
		}
		if out.Shards.Failed == 0 {
			return nil
		}
		if !bo.wait(ctx) {
			return fmt.Errorf("elastic: refresh: %d of %d shards failed", out.Shards.Failed, out.Shards.Total)
		}
	}
}
