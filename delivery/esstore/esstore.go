// Package esstore is the distributed delivery.Store: two Elasticsearch indices shared by every
// gateway and projector replica of a hub,
//
//	{prefix}-webhook-subscriptions  one document per subscription (secrets included: the
//	                                index is the hub's own, never part of the shared views)
//	{prefix}-webhook-deliveries     one document per delivery, with a "due" field while pending
//
// Exclusivity comes from optimistic concurrency: every change of a delivery is a write with
// if_seq_no/if_primary_term of the version read, so of two replicas claiming the same delivery
// exactly one wins (the other gets 409 and skips it), and a worker whose claim expired cannot
// record over its successor. Every write waits for the translog fsync (Elasticsearch's default
// request durability), so it is durable on return.
//
// Visibility: Claim finds candidates by search, which sees writes only after a refresh (the
// deliveries index refreshes every 200 ms; the store is a delivery.Refresher). Enqueue and
// Record do not wait for it: the deliverer claims what it enqueued by ID (ClaimID, real time),
// and a stale search candidate is re-read in real time before it is claimed. Claim's own claims
// and Redeliver (sent by a gateway to other processes' workers) wait for the refresh
// (refresh=wait_for). Subscription writes force one (refresh=true): they are rare.
package esstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/lizhou/fangxin/delivery"
)

// Config configures the store.
type Config struct {
	URLs []string
	// IndexPrefix names the indices: {prefix}-webhook-subscriptions and …-deliveries
	// (default "fangxin").
	IndexPrefix string
}

// Store is the Elasticsearch backend.
type Store struct {
	es          *es.Client
	subs, deliv string
}

var _ delivery.Store = (*Store)(nil)

// Open connects and creates the two indices when missing.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.IndexPrefix == "" {
		cfg.IndexPrefix = "fangxin"
	}
	c, err := es.NewClient(es.Config{Addresses: cfg.URLs})
	if err != nil {
		return nil, fmt.Errorf("webhook store: %w", err)
	}
	s := &Store{es: c, subs: cfg.IndexPrefix + "-webhook-subscriptions", deliv: cfg.IndexPrefix + "-webhook-deliveries"}
	for index, props := range map[string]string{
		s.subs:  `{"id":{"type":"keyword"},"bureau":{"type":"keyword"},"created_at":{"type":"date"}}`,
		s.deliv: `{"id":{"type":"keyword"},"subscription":{"type":"keyword"},"state":{"type":"keyword"},"due":{"type":"date"},"created_at":{"type":"date"}}`,
	} {
		body := `{"settings":{"number_of_shards":1,"auto_expand_replicas":"0-1","refresh_interval":"200ms"},"mappings":{"dynamic":false,"properties":` + props + `}}`
		st, resp, err := s.do(ctx, esapi.IndicesCreateRequest{Index: index, Body: strings.NewReader(body)})
		if err != nil {
			return nil, fmt.Errorf("webhook store: %w", err)
		}
		if st != http.StatusOK && !bytes.Contains(resp, []byte("resource_already_exists_exception")) {
			return nil, fmt.Errorf("webhook store: creating %s: %d %s", index, st, resp)
		}
	}
	return s, nil
}

// Close releases nothing: the client holds only idle connections.
func (s *Store) Close() error { return nil }

// do performs one request and returns the status and body.
func (s *Store) do(ctx context.Context, req esapi.Request) (int, []byte, error) {
	res, err := req.Do(ctx, s.es)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func unexpected(op string, status int, body []byte) error {
	if len(body) > 400 {
		body = body[:400]
	}
	return fmt.Errorf("webhook store: %s: %d %s", op, status, body)
}

// versioned is a document as read, with what a conditional write needs.
type versioned struct {
	Found       bool            `json:"found"`
	SeqNo       int             `json:"_seq_no"`
	PrimaryTerm int             `json:"_primary_term"`
	Source      json.RawMessage `json:"_source"`
}

func (s *Store) get(ctx context.Context, index, id string) (versioned, error) {
	st, b, err := s.do(ctx, esapi.GetRequest{Index: index, DocumentID: id})
	var v versioned
	if err != nil {
		return v, err
	}
	if st == http.StatusNotFound {
		return v, nil
	}
	if st != http.StatusOK {
		return v, unexpected("get "+id, st, b)
	}
	return v, json.Unmarshal(b, &v)
}

// put writes doc at id; with v, only if the stored version is still v (else errConflict);
// create, only if no document exists (else errConflict). refresh is Elasticsearch's parameter:
// "true", "wait_for" or "false".
func (s *Store) put(ctx context.Context, index, id string, doc []byte, v *versioned, create bool, refresh string) error {
	req := esapi.IndexRequest{Index: index, DocumentID: id, Body: bytes.NewReader(doc), Refresh: refresh}
	if create {
		req.OpType = "create"
	}
	if v != nil {
		req.IfSeqNo, req.IfPrimaryTerm = &v.SeqNo, &v.PrimaryTerm
	}
	st, b, err := s.do(ctx, req)
	switch {
	case err != nil:
		return err
	case st == http.StatusConflict:
		return errConflict
	case st != http.StatusOK && st != http.StatusCreated:
		return unexpected("index "+id, st, b)
	}
	return nil
}

var errConflict = errors.New("version conflict")

func (s *Store) search(ctx context.Context, index string, body map[string]any) ([]versioned, error) {
	b, _ := json.Marshal(body)
	st, resp, err := s.do(ctx, esapi.SearchRequest{Index: []string{index}, Body: bytes.NewReader(b)})
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, unexpected("search "+index, st, resp)
	}
	var r struct {
		Hits struct {
			Hits []versioned `json:"hits"`
		} `json:"hits"`
	}
	return r.Hits.Hits, json.Unmarshal(resp, &r)
}

// Refresh makes every delivery written so far visible to Claim and ListDeliveries.
func (s *Store) Refresh(ctx context.Context) error {
	st, b, err := s.do(ctx, esapi.IndicesRefreshRequest{Index: []string{s.deliv}})
	if err == nil && st != http.StatusOK {
		err = unexpected("refresh", st, b)
	}
	return err
}

var _ delivery.Refresher = (*Store)(nil)

// ---- subscriptions

func (s *Store) CreateSubscription(ctx context.Context, sub delivery.Subscription) error {
	doc, err := delivery.MarshalStored(sub)
	if err != nil {
		return err
	}
	if err := s.put(ctx, s.subs, sub.ID, doc, nil, true, "true"); errors.Is(err, errConflict) {
		return delivery.ErrExists
	} else {
		return err
	}
}

func (s *Store) Subscription(ctx context.Context, id string) (delivery.Subscription, bool, error) {
	v, err := s.get(ctx, s.subs, id)
	if err != nil || !v.Found {
		return delivery.Subscription{}, false, err
	}
	sub, err := delivery.UnmarshalStored(v.Source)
	return sub, err == nil, err
}

func (s *Store) ListSubscriptions(ctx context.Context, bureau string) ([]delivery.Subscription, error) {
	q := map[string]any{"match_all": map[string]any{}}
	if bureau != "" {
		q = map[string]any{"term": map[string]any{"bureau": bureau}}
	}
	hits, err := s.search(ctx, s.subs, map[string]any{"query": q, "size": 10000,
		"sort": []any{map[string]any{"created_at": "asc"}, map[string]any{"id": "asc"}}})
	if err != nil {
		return nil, err
	}
	out := make([]delivery.Subscription, 0, len(hits))
	for _, h := range hits {
		sub, err := delivery.UnmarshalStored(h.Source)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, nil
}

func (s *Store) UpdateSubscription(ctx context.Context, id string, change func(*delivery.Subscription)) (delivery.Subscription, error) {
	for {
		v, err := s.get(ctx, s.subs, id)
		if err != nil {
			return delivery.Subscription{}, err
		}
		if !v.Found {
			return delivery.Subscription{}, delivery.ErrNotFound
		}
		sub, err := delivery.UnmarshalStored(v.Source)
		if err != nil {
			return delivery.Subscription{}, err
		}
		change(&sub)
		sub.ID = id
		doc, err := delivery.MarshalStored(sub)
		if err != nil {
			return delivery.Subscription{}, err
		}
		if err := s.put(ctx, s.subs, id, doc, &v, false, "true"); !errors.Is(err, errConflict) {
			return sub, err
		}
	}
}

func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	st, b, err := s.do(ctx, esapi.DeleteRequest{Index: s.subs, DocumentID: id, Refresh: "true"})
	switch {
	case err != nil:
		return err
	case st == http.StatusNotFound:
		return delivery.ErrNotFound
	case st != http.StatusOK:
		return unexpected("delete "+id, st, b)
	}
	return nil
}

// ---- outbox

// doc is a delivery as indexed: the delivery and, while pending, when it can next be claimed.
type doc struct {
	delivery.Delivery
	Due *time.Time `json:"due,omitempty"`
}

func encode(d delivery.Delivery) []byte {
	dc := doc{Delivery: d}
	if d.State == delivery.Pending {
		due := d.NextAt
		if d.ClaimedUntil.After(due) {
			due = d.ClaimedUntil
		}
		dc.Due = &due
	}
	b, _ := json.Marshal(dc)
	return b
}

func decode(v versioned) (delivery.Delivery, error) {
	var dc doc
	err := json.Unmarshal(v.Source, &dc)
	return dc.Delivery, err
}

func (s *Store) Enqueue(ctx context.Context, d delivery.Delivery) (bool, error) {
	d.State, d.Claim, d.ClaimedUntil = delivery.Pending, "", time.Time{}
	err := s.put(ctx, s.deliv, d.ID, encode(d), nil, true, "false")
	if errors.Is(err, errConflict) {
		return false, nil
	}
	return err == nil, err
}

func newClaim() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Store) Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]delivery.Delivery, error) {
	hits, err := s.search(ctx, s.deliv, map[string]any{
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"state": string(delivery.Pending)}},
			map[string]any{"range": map[string]any{"due": map[string]any{"lte": now.UTC().Format(time.RFC3339Nano)}}},
		}}},
		"sort": []any{map[string]any{"due": "asc"}, map[string]any{"id": "asc"}},
		"size": max, "seq_no_primary_term": true,
	})
	if err != nil {
		return nil, err
	}
	var out []delivery.Delivery
	for _, h := range hits {
		d, ok, err := s.claim(ctx, h, now, lease, "wait_for")
		if errors.Is(err, errConflict) {
			// The search saw an older version (recorded since, not yet refreshed): decide on
			// the current one.
			var v versioned
			if v, err = s.get(ctx, s.deliv, idOf(h)); err == nil && v.Found {
				d, ok, err = s.claim(ctx, v, now, lease, "wait_for")
			}
		}
		switch {
		case errors.Is(err, errConflict):
			continue // another replica claimed it first
		case err != nil:
			return out, err
		case ok:
			out = append(out, d)
		}
	}
	return out, nil
}

func idOf(v versioned) string {
	var x struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(v.Source, &x)
	return x.ID
}

// claim claims the delivery read as v if it is claimable at now; errConflict when v is no
// longer the stored version.
func (s *Store) claim(ctx context.Context, v versioned, now time.Time, lease time.Duration, refresh string) (delivery.Delivery, bool, error) {
	d, err := decode(v)
	if err != nil || !d.Claimable(now) {
		return d, false, err
	}
	d.Claim, d.ClaimedUntil = newClaim(), now.Add(lease)
	if err := s.put(ctx, s.deliv, d.ID, encode(d), &v, false, refresh); err != nil {
		return d, false, err
	}
	return d, true, nil
}

func (s *Store) ClaimID(ctx context.Context, id string, now time.Time, lease time.Duration) (delivery.Delivery, bool, error) {
	v, err := s.get(ctx, s.deliv, id)
	if err != nil || !v.Found {
		return delivery.Delivery{}, false, err
	}
	d, ok, err := s.claim(ctx, v, now, lease, "false")
	if errors.Is(err, errConflict) {
		return d, false, nil // another worker took it
	}
	return d, ok, err
}

// change applies fn to the stored delivery under optimistic concurrency, retrying conflicts;
// fn returns an error to abandon the change.
func (s *Store) change(ctx context.Context, id, refresh string, fn func(*delivery.Delivery) error) (delivery.Delivery, error) {
	for {
		v, err := s.get(ctx, s.deliv, id)
		if err != nil {
			return delivery.Delivery{}, err
		}
		if !v.Found {
			return delivery.Delivery{}, delivery.ErrNotFound
		}
		d, err := decode(v)
		if err != nil {
			return d, err
		}
		if err := fn(&d); err != nil {
			return d, err
		}
		if err := s.put(ctx, s.deliv, id, encode(d), &v, false, refresh); !errors.Is(err, errConflict) {
			return d, err
		}
	}
}

func (s *Store) Record(ctx context.Context, id, claim string, a delivery.Attempt, next delivery.State, nextAt time.Time) error {
	_, err := s.change(ctx, id, "false", func(d *delivery.Delivery) error {
		if d.State != delivery.Pending || d.Claim != claim || claim == "" {
			return delivery.ErrClaimLost
		}
		delivery.ApplyAttempt(d, a, next, nextAt)
		return nil
	})
	return err
}

func (s *Store) Delivery(ctx context.Context, id string) (delivery.Delivery, bool, error) {
	v, err := s.get(ctx, s.deliv, id)
	if err != nil || !v.Found {
		return delivery.Delivery{}, false, err
	}
	d, err := decode(v)
	return d, err == nil, err
}

func (s *Store) ListDeliveries(ctx context.Context, subscription string, limit int, after string) ([]delivery.Delivery, error) {
	body := map[string]any{
		"query": map[string]any{"term": map[string]any{"subscription": subscription}},
		"sort":  []any{map[string]any{"created_at": "desc"}, map[string]any{"id": "desc"}},
		"size":  limit,
	}
	if after != "" {
		a, ok, err := s.Delivery(ctx, after)
		if err != nil {
			return nil, err
		}
		if !ok || a.Subscription != subscription {
			return nil, nil
		}
		body["search_after"] = []any{a.CreatedAt.UnixMilli(), a.ID}
	}
	hits, err := s.search(ctx, s.deliv, body)
	if err != nil {
		return nil, err
	}
	out := make([]delivery.Delivery, 0, len(hits))
	for _, h := range hits {
		d, err := decode(h)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (s *Store) Redeliver(ctx context.Context, id string, now time.Time) (delivery.Delivery, error) {
	return s.change(ctx, id, "wait_for", func(d *delivery.Delivery) error {
		d.State, d.NextAt, d.Claim, d.ClaimedUntil = delivery.Pending, now, "", time.Time{}
		return nil
	})
}
