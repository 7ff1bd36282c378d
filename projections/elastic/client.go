package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// client is the store's HTTP side: one go-elasticsearch client whose own retries are off, and
// our retry loop around it, so that every transient failure is retried the same way and the
// final error says what happened.
type client struct {
	es      *es.Client
	cfg     Config
	urls    string // for messages
	closeFn func()
}

func newClient(cfg Config) (*client, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4 * (cfg.Workers + 16),
		MaxIdleConnsPerHost:   2 * (cfg.Workers + 16),
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		ExpectContinueTimeout: time.Second,
	}
	c, err := es.NewClient(es.Config{
		Addresses:    cfg.URLs,
		Username:     cfg.Username,
		Password:     cfg.Password,
		APIKey:       cfg.APIKey,
		DisableRetry: true, // ours, below: per-item, with backoff, for 429 too
		Transport:    tr,
	})
	if err != nil {
		return nil, fmt.Errorf("elastic: %s (%s): %w", strings.Join(cfg.URLs, ","), EnvURL, err)
	}
	return &client{es: c, cfg: cfg, urls: strings.Join(cfg.URLs, ","), closeFn: tr.CloseIdleConnections}, nil
}

// esError is Elasticsearch's error object.
type esError struct {
	Type     string   `json:"type"`
	Reason   string   `json:"reason"`
	CausedBy *esError `json:"caused_by,omitempty"`
}

func (e *esError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil {
		s += "; caused by " + e.CausedBy.String()
	}
	return s
}

// httpError is an answer with a status other than the caller expected.
type httpError struct {
	op     string
	status int
	err    *esError
	body   string
}

func (e *httpError) Error() string {
	switch {
	case e.err != nil && e.err.Type != "" && e.status == http.StatusOK: // an item of a bulk answer
		return fmt.Sprintf("elastic: %s: %s", e.op, e.err)
	case e.err != nil && e.err.Type != "":
		return fmt.Sprintf("elastic: %s: %d %s", e.op, e.status, e.err)
	}
	return fmt.Sprintf("elastic: %s: %d %s", e.op, e.status, truncate(e.body, 300))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// transientStatus reports whether an answer's status is worth retrying: too many requests and
// the server errors (a node restarting, a shard not yet allocated).
func transientStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

func newHTTPError(op string, status int, body []byte) *httpError {
	he := &httpError{op: op, status: status, body: string(body)}
	var wrap struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &wrap) == nil && len(wrap.Error) > 0 {
		var e esError
		if json.Unmarshal(wrap.Error, &e) == nil {
			he.err = &e
		} else {
			var s string
			if json.Unmarshal(wrap.Error, &s) == nil {
				he.err = &esError{Type: "error", Reason: s}
			}
		}
	}
	return he
}

// errorType returns the Elasticsearch error type of err, or "".
func errorType(err error) string {
	var he *httpError
	if errors.As(err, &he) && he.err != nil {
		return he.err.Type
	}
	return ""
}

func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return 0
}

// indexMissing reports whether err is Elasticsearch saying an index does not exist, at the top or
// as the cause (an _mget item answers no_shard_available_action_exception caused by it).
func indexMissing(err error) bool {
	var he *httpError
	if !errors.As(err, &he) {
		return false
	}
	for e := he.err; e != nil; e = e.CausedBy {
		if e.Type == indexNotFound {
			return true
		}
	}
	return false
}

// backoff is one retry schedule.
type backoff struct {
	cfg   RetryConfig
	start time.Time
	next  time.Duration
}

func newBackoff(cfg RetryConfig) *backoff {
	return &backoff{cfg: cfg, start: time.Now(), next: cfg.InitialInterval}
}

// wait sleeps before the next attempt; false when the budget is spent or ctx is done.
func (b *backoff) wait(ctx context.Context) bool {
	if time.Since(b.start) >= b.cfg.MaxElapsed {
		return false
	}
	d := b.next
	b.next = min(b.next*2, b.cfg.MaxInterval)
	d = d/2 + rand.N(d/2+1) // jitter: half to full
	if rest := b.cfg.MaxElapsed - time.Since(b.start); d > rest {
		d = max(rest, 0)
	}
	return sleepCtx(ctx, d)
}

// indexNotFound is Elasticsearch's error type for a missing index. Through an alias it can mean
// that the alias moved under the request (a rebuild's hand-over deletes the generation it left):
// such answers are asked again movedRetries times, movedPause apart, before they count.
const (
	indexNotFound = "index_not_found_exception"
	movedRetries  = 3
	movedPause    = 50 * time.Millisecond
)

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// call is one HTTP request, rebuilt for every attempt.
type call func(ctx context.Context, body io.Reader) (*esapi.Response, error)

// do sends req with body, retrying transient failures (no answer, 429, 5xx) with backoff until
// Retry.MaxElapsed. It returns the status and body of the first answer that is not transient;
// the error is non-nil only when no such answer came. ok lists the statuses the caller handles;
// any other is returned as an *httpError. A 404 index_not_found is asked again up to
// movedRetries times first (an alias may have moved under the request).
func (c *client) do(ctx context.Context, op string, body []byte, req call, ok ...int) (int, []byte, error) {
	for moved := 0; ; moved++ {
		status, respBody, err := c.doRetrying(ctx, op, body, req, ok...)
		if err == nil || status != http.StatusNotFound || !indexMissing(err) || moved >= movedRetries ||
			!sleepCtx(ctx, movedPause) {
			return status, respBody, err
		}
	}
}

func (c *client) doRetrying(ctx context.Context, op string, body []byte, req call, ok ...int) (int, []byte, error) {
	bo := newBackoff(c.cfg.Retry)
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !bo.wait(ctx) {
			if err := ctx.Err(); err != nil && last == nil {
				return 0, nil, err
			}
			return 0, nil, fmt.Errorf("%w (gave up after %d attempts in %v)", last, attempt, time.Since(bo.start).Round(time.Millisecond))
		}
		status, respBody, err := c.once(ctx, body, req)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, nil, fmt.Errorf("elastic: %s: %w", op, ctx.Err())
			}
			last = fmt.Errorf("elastic: %s: %s (%s): %w", op, c.urls, EnvURL, err)
			continue
		case transientStatus(status):
			last = newHTTPError(op, status, respBody)
			continue
		}
		for _, s := range ok {
			if status == s {
				return status, respBody, nil
			}
		}
		if status >= 200 && status < 300 && len(ok) == 0 {
			return status, respBody, nil
		}
		return status, respBody, newHTTPError(op, status, respBody)
	}
}

// once sends one attempt and reads the whole answer.
func (c *client) once(ctx context.Context, body []byte, req call) (int, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	res, err := req(actx, r)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	return res.StatusCode, b, nil
}

// doJSON is do with a JSON body marshalled from v (nil: no body) and the answer decoded into out
// (nil: ignored).
func (c *client) doJSON(ctx context.Context, op string, v any, out any, req call, ok ...int) (int, error) {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return 0, fmt.Errorf("elastic: %s: %w", op, err)
		}
	}
	status, resp, err := c.do(ctx, op, body, req, ok...)
	if err != nil {
		return status, err
	}
	if out != nil && status >= 200 && status < 300 {
		if err := json.Unmarshal(resp, out); err != nil {
			return status, fmt.Errorf("elastic: %s: decoding the answer: %w", op, err)
		}
	}
	return status, nil
}
