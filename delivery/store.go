package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// Store is the durable state of webhook delivery: the subscriptions and the outbox. Backends:
// delivery/boltstore (embedded, in the data folder) and delivery/esstore (Elasticsearch, shared
// by every projector replica); both pass delivery/storetest.
//
// Every method is safe for concurrent use, and durable on return: what a nil error
// acknowledges survives kill -9 of the process. Returned values are the caller's.
type Store interface {
	Subscriptions
	Outbox
	Close() error
}

// Subscriptions keeps the subscriptions, secrets included.
type Subscriptions interface {
	// CreateSubscription stores s. It fails with ErrExists when s.ID is taken.
	CreateSubscription(ctx context.Context, s Subscription) error
	// Subscription returns one subscription; ok is false when it does not exist (or was deleted).
	Subscription(ctx context.Context, id string) (s Subscription, ok bool, err error)
	// ListSubscriptions returns the subscriptions of bureau ("" = every bureau) ordered by
	// creation time, then ID.
	ListSubscriptions(ctx context.Context, bureau string) ([]Subscription, error)
	// UpdateSubscription applies change to the stored subscription and stores the result
	// atomically (no update in between is lost); ErrNotFound when it does not exist. change may
	// be called more than once (optimistic retries) and must be pure.
	UpdateSubscription(ctx context.Context, id string, change func(*Subscription)) (Subscription, error)
	// DeleteSubscription removes it; ErrNotFound when it does not exist. Its deliveries stay in
	// the log of deliveries; pending ones fail at their next attempt.
	DeleteSubscription(ctx context.Context, id string) error
}

// Outbox is the queue and log of deliveries: one per (subscription, event).
//
// A delivery is pending (waiting for NextAt, or claimed by a worker until ClaimedUntil),
// delivered (a 2xx acknowledged it: never sent again unless Redeliver is called), or failed
// (given up: too old, the subscription gone or disabled).
type Outbox interface {
	// Enqueue stores d as pending, due at d.NextAt, unless a delivery with d.ID exists: then it
	// changes nothing and returns created=false. Enqueueing the same (subscription, event) again,
	// as a log redelivery does, is therefore a no-op (IDs come from DeliveryID). ClaimID sees it
	// at once; Claim at once too, unless the backend is a Refresher (then after its refresh).
	Enqueue(ctx context.Context, d Delivery) (created bool, err error)
	// Claim returns up to max pending deliveries due at or before now and not claimed (or whose
	// claim expired), oldest due first, and claims each until now+lease with a fresh
	// Delivery.Claim token. Concurrent Claims, in this process or another sharing the backend,
	// never hand out the same delivery while its claim holds. It may return fewer than max,
	// even none, while concurrent claimers race it for the same deliveries: callers poll.
	Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]Delivery, error)
	// ClaimID claims one delivery by ID as Claim would (pending, due at or before now, not
	// claimed): ok is false when it is not claimable. It reads the delivery's current state, never
	// a search index, so a worker can take a delivery it just enqueued without waiting for it to
	// become searchable.
	ClaimID(ctx context.Context, id string, now time.Time, lease time.Duration) (d Delivery, ok bool, err error)
	// Record appends attempt a to the claimed delivery and moves it to state next: Delivered,
	// Failed, or Pending again at nextAt. It fails with ErrClaimLost when claim is no longer the
	// delivery's claim (it expired and another worker took it): the caller drops its result.
	Record(ctx context.Context, id, claim string, a Attempt, next State, nextAt time.Time) error
	// Delivery returns one delivery; ok is false when it does not exist.
	Delivery(ctx context.Context, id string) (d Delivery, ok bool, err error)
	// ListDeliveries returns the deliveries of one subscription, newest created first, at most
	// limit, starting after the delivery with ID after ("" = from the newest).
	ListDeliveries(ctx context.Context, subscription string, limit int, after string) ([]Delivery, error)
	// Redeliver makes a delivery pending again, due at now and unclaimed, whatever its state
	// (the one way a delivered event is sent again); ErrNotFound when it does not exist.
	Redeliver(ctx context.Context, id string, now time.Time) (Delivery, error)
}

// Refresher is the optional ability of a backend whose searches (Claim, ListDeliveries) see new
// deliveries only after a periodic refresh (Elasticsearch, every 200 ms): Refresh makes every
// write so far visible to them now. Backends without it are visible at once.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// State of a delivery.
type State string

const (
	Pending   State = "pending"
	Delivered State = "delivered"
	Failed    State = "failed"
)

// Errors of the store.
var (
	ErrExists    = errors.New("already exists")
	ErrNotFound  = errors.New("not found")
	ErrClaimLost = errors.New("claim lost")
)

// Delivery is one event for one subscription, with every attempt so far.
type Delivery struct {
	ID           string    `json:"id"`
	Subscription string    `json:"subscription"`
	Bureau       string    `json:"bureau"`
	EventKey     string    `json:"event_key"` // source + " " + id of the event
	EventType    string    `json:"event_type"`
	Payload      []byte    `json:"payload"` // the exact body sent (JSON)
	State        State     `json:"state"`
	CreatedAt    time.Time `json:"created_at"`
	NextAt       time.Time `json:"next_at"`
	// Claim and ClaimedUntil are set by Claim; a worker must present Claim to Record.
	Claim        string     `json:"claim,omitempty"`
	ClaimedUntil time.Time  `json:"claimed_until"`
	DeliveredAt  *time.Time `json:"delivered_at,omitempty"`
	Attempts     []Attempt  `json:"attempts"`
}

// Attempt is one try to deliver.
type Attempt struct {
	At         time.Time `json:"at"`
	Status     int       `json:"status,omitempty"` // HTTP status; 0 when no answer came
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// DeliveryID is the ID of the delivery of one event to one subscription: the same inputs always
// give the same ID, which is what makes Enqueue idempotent. It doubles as the webhook-id header,
// so a receiver sees the same id on every retry of one message.
func DeliveryID(subscription, eventKey string) string {
	sum := sha256.Sum256([]byte(subscription + "\x00" + eventKey))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// storedSubscription is the form backends persist: the API form plus the secrets.
type storedSubscription struct {
	Subscription
	Secret         string `json:"secret"`
	PreviousSecret string `json:"previous_secret,omitempty"`
}

// MarshalStored encodes s, secrets included, for a backend to persist. Never send it to a client.
func MarshalStored(s Subscription) ([]byte, error) {
	return json.Marshal(storedSubscription{Subscription: s, Secret: s.Secret, PreviousSecret: s.PreviousSecret})
}

// UnmarshalStored decodes what MarshalStored encoded.
func UnmarshalStored(b []byte) (Subscription, error) {
	var st storedSubscription
	if err := json.Unmarshal(b, &st); err != nil {
		return Subscription{}, err
	}
	s := st.Subscription
	s.Secret, s.PreviousSecret = st.Secret, st.PreviousSecret
	return s, nil
}

// Claimable reports whether d can be claimed at now: pending, due, and not claimed (or its claim
// expired).
func (d Delivery) Claimable(now time.Time) bool {
	return d.State == Pending && !d.NextAt.After(now) && !d.ClaimedUntil.After(now)
}

// ApplyAttempt is the state change Record makes, shared by the backends: the attempt is
// appended, the claim released, and the delivery moved to next.
func ApplyAttempt(d *Delivery, a Attempt, next State, nextAt time.Time) {
	d.Attempts = append(d.Attempts, a)
	d.Claim, d.ClaimedUntil = "", time.Time{}
	d.State = next
	switch next {
	case Pending:
		d.NextAt = nextAt
	case Delivered:
		at := a.At
		d.DeliveredAt = &at
	}
}
