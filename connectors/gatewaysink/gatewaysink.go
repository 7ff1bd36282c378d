// Package gatewaysink is the gateway sink kind: it posts events to the hub's POST /v1/events in
// CloudEvents batch mode (application/cloudevents-batch+json) with the bureau's bearer key, for
// bureaus outside the cluster.
//
// Per event it reads the gateway's answer: 202 accepted; a 4xx result is a permanent refusal
// (the runner dead-letters that event with the gateway's Chinese and English reasons); a 5xx
// result is retried. The whole batch is retried with exponential backoff on 429, 5xx (503:
// the log was not reachable) and network errors, honouring Retry-After. A refusal of the whole
// request (401 bad key, 400, 413) stops the run: it is a configuration problem, not a record's.
// Retrying is safe because the hub treats (source, id) as the identity of an event.
package gatewaysink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/events"
)

// Kind is the gateway sink kind.
var Kind = connectors.SinkKind{
	Name:    "gateway",
	Summary: "The hub's HTTP gateway (POST /v1/events, batch mode, bearer key), for bureaus outside the cluster.",
	Config:  func() connectors.SinkConfig { return new(Config) },
}

// Config configures the gateway sink.
type Config struct {
	URL         string        `yaml:"url" required:"true" desc:"Base URL of the hub's gateway, e.g. http://127.0.0.1:8080 (the sink posts to {url}/v1/events)."`
	Key         string        `yaml:"key" required:"true" secret:"true" desc:"The bureau's bearer key. Write ${FANGXIN_KEY} (any variable name) to read it from the environment instead of the file."`
	Timeout     time.Duration `yaml:"timeout" default:"30s" desc:"Time limit of one HTTP request."`
	MaxAttempts int           `yaml:"max_attempts" default:"10" desc:"Attempts per batch on 429, 5xx and network errors before the run stops (it resumes from its checkpoint next time)."`
	Backoff     time.Duration `yaml:"backoff" default:"500ms" desc:"Wait before the first retry; it doubles up to max_backoff."`
	MaxBackoff  time.Duration `yaml:"max_backoff" default:"30s" desc:"Longest wait between retries."`
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); c.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("url: %q 应为 http(s)://主机[:端口] (must be http(s)://host[:port])", c.URL))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: 应为正数 (must be positive)"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, errors.New("max_attempts: 应不小于 1 (must be at least 1)"))
	}
	if c.Backoff <= 0 || c.MaxBackoff < c.Backoff {
		errs = append(errs, errors.New("backoff/max_backoff: 应为正数且 max_backoff ≥ backoff (must be positive, max_backoff >= backoff)"))
	}
	return errors.Join(errs...)
}

// Sink posts batches to the gateway.
type Sink struct {
	cfg      Config
	endpoint string
	client   *http.Client
	log      *slog.Logger
}

var _ connectors.Sink = (*Sink)(nil)

// Open implements connectors.SinkConfig.
func (c *Config) Open(_ context.Context, env connectors.Env) (connectors.Sink, error) {
	return &Sink{
		cfg:      *c,
		endpoint: strings.TrimRight(c.URL, "/") + "/v1/events",
		client:   &http.Client{Timeout: c.Timeout},
		log:      env.Logger,
	}, nil
}

// Close implements connectors.Sink.
func (s *Sink) Close() error { s.client.CloseIdleConnections(); return nil }

// eventResult and batchResponse mirror the gateway's answer (gateway.EventResult,
// gateway.BatchResponse, and the problem document of a 422 that carries results).
type eventResult struct {
	Index  int          `json:"index"`
	Status int          `json:"status"`
	Errors []fieldError `json:"errors"`
}

type fieldError struct {
	Field    string `json:"field"`
	Rule     string `json:"rule"`
	Detail   string `json:"detail"`
	DetailEN string `json:"detail_en"`
}

type batchResponse struct {
	Results []eventResult `json:"results"`
	Title   string        `json:"title"`
	Detail  string        `json:"detail"`
}

// Send implements connectors.Sink.
func (s *Sink) Send(ctx context.Context, evs []events.Event) ([]connectors.Result, error) {
	results := make([]connectors.Result, len(evs))
	todo := make([]int, len(evs)) // indexes of evs still to deliver
	for i := range todo {
		todo[i] = i
	}
	wait := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		batch := make([]events.Event, len(todo))
		for i, j := range todo {
			batch[i] = evs[j]
		}
		retry, after, err := s.post(ctx, batch, func(i int, r connectors.Result) { results[todo[i]] = r })
		if err != nil {
			return nil, err
		}
		if len(retry) == 0 {
			return results, nil
		}
		next := make([]int, len(retry))
		for i, r := range retry {
			next[i] = todo[r]
		}
		todo = next
		if attempt >= s.cfg.MaxAttempts {
			return nil, fmt.Errorf("网关在 %d 次尝试后仍不可用 (gateway unavailable after %d attempts)", attempt, attempt)
		}
		d := max(wait, after)
		s.log.Warn("gateway busy or unreachable, retrying", "events", len(todo), "attempt", attempt, "wait", d)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
		wait = min(wait*2, s.cfg.MaxBackoff)
	}
}

// post sends one batch. It calls done for every event with a final answer and returns the
// indexes (into batch) to retry and the server's Retry-After (0 when it sent none). An error is
// final for the run.
func (s *Sink) post(ctx context.Context, batch []events.Event, done func(int, connectors.Result)) (retry []int, after time.Duration, err error) {
	body, err := events.EncodeBatch(batch)
	if err != nil {
		return nil, 0, err
	}
	all := func() []int {
		idx := make([]int, len(batch))
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	req.Header.Set("Authorization", "Bearer "+s.cfg.Key)
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return all(), 0, nil // network: retry everything
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return all(), retryAfter(resp.Header.Get("Retry-After")), nil
	case resp.StatusCode == http.StatusAccepted, resp.StatusCode == http.StatusMultiStatus,
		resp.StatusCode == http.StatusUnprocessableEntity:
	default:
		var p batchResponse
		_ = json.Unmarshal(raw, &p)
		return nil, 0, fmt.Errorf("网关拒绝了整个请求 (gateway refused the request): HTTP %d %s %s", resp.StatusCode, p.Title, p.Detail)
	}
	var br batchResponse
	if err := json.Unmarshal(raw, &br); err != nil {
		return nil, 0, fmt.Errorf("网关答复无法解析 (unreadable gateway answer, HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode == http.StatusUnprocessableEntity && len(br.Results) == 0 {
		return nil, 0, fmt.Errorf("网关拒绝了整个请求 (gateway refused the request): HTTP 422 %s %s", br.Title, br.Detail)
	}
	seen := make([]bool, len(batch))
	for _, r := range br.Results {
		if r.Index < 0 || r.Index >= len(batch) {
			return nil, 0, fmt.Errorf("gateway answered for event %d of a batch of %d", r.Index, len(batch))
		}
		seen[r.Index] = true
		switch {
		case r.Status >= 200 && r.Status < 300:
			done(r.Index, connectors.Result{})
		case r.Status >= 500:
			retry = append(retry, r.Index)
		default:
			done(r.Index, connectors.Result{Rejected: rejection(r)})
		}
	}
	for i, ok := range seen {
		if !ok {
			if resp.StatusCode == http.StatusAccepted { // a 202 without results: all accepted
				done(i, connectors.Result{})
				continue
			}
			return nil, 0, fmt.Errorf("gateway gave no result for event %d", i)
		}
	}
	return retry, 0, nil
}

func rejection(r eventResult) *connectors.Reason {
	var zh, en []string
	var ps []events.Problem
	for _, e := range r.Errors {
		zh = append(zh, e.Field+"："+e.Detail)
		en = append(en, e.Field+": "+e.DetailEN)
		ps = append(ps, events.Problem{Field: e.Field, Rule: e.Rule, Detail: e.Detail, DetailEN: e.DetailEN})
	}
	return &connectors.Reason{
		ZH:       fmt.Sprintf("中心拒收（HTTP %d）：%s", r.Status, strings.Join(zh, "；")),
		EN:       fmt.Sprintf("the hub refused the event (HTTP %d): %s", r.Status, strings.Join(en, "; ")),
		Problems: ps,
	}
}

func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, time.Minute)
	}
	return 0
}
