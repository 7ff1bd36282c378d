package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// Handler is the router handler, and consumer group, of the deliverer.
const Handler = "webhooks"

// Deliverer turns log events into deliveries (Handle, run by a watermill router in its own
// consumer group) and sends them (Run, a pool of workers). Handle acknowledges an event only
// once its deliveries are durable in the outbox, so a crash loses none; a worker marks a
// delivery delivered only after a 2xx, and a delivered one is never claimed again.
type Deliverer struct {
	store  Store
	cfg    Config
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	wakeCh chan struct{}
	// fresh carries deliveries this process just enqueued, so a worker claims them by ID at
	// once instead of waiting for the store's search to see them. Best effort: when it is full
	// the search path (Claim) finds them.
	fresh chan string
	// slowDown holds, per subscription, until when its receiver asked (429 Retry-After) not to
	// be called: other deliveries of that subscription wait too, in this process.
	slowMu   sync.Mutex
	slowDown map[string]time.Time

	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
}

// NewDeliverer builds a Deliverer; metrics go to reg.
func NewDeliverer(store Store, cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Deliverer, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dest, _ := cfg.destinations()
	dialer := &net.Dialer{Timeout: cfg.AttemptTimeout, Control: dest.control}
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // the destination check must see the real peer
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: cfg.AttemptTimeout,
		},
		// A redirect could lead anywhere; it counts as a failed attempt.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	f := promauto.With(reg)
	return &Deliverer{
		store: store, cfg: cfg, client: client, log: logger, now: time.Now, wakeCh: make(chan struct{}, 1),
		fresh: make(chan string, 1024), slowDown: map[string]time.Time{},
		attempts: f.NewCounterVec(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "webhook",
			Name: "attempts_total", Help: "Webhook delivery attempts by outcome (delivered, retry, failed, gone, throttled)."}, []string{"outcome"}),
		latency: f.NewHistogram(prometheus.HistogramOpts{Namespace: "fangxin", Subsystem: "webhook",
			Name: "delivery_seconds", Help: "Time from enqueue to the acknowledging 2xx of a delivery.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 60, 600, 3600}}),
	}, nil
}

// Wake tells idle workers that a delivery may be due now.
func (d *Deliverer) Wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// Payload is the JSON body of every webhook: the Standard Webhooks shape (type, timestamp,
// data) plus the event's identity.
type Payload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	Event     EventRef        `json:"event"`
}

// EventRef identifies the event a webhook carries.
type EventRef struct {
	ID      string `json:"id"`
	Source  string `json:"source"`
	Subject string `json:"subject,omitempty"`
}

// Handle enqueues one log event for every subscription that wants it. It returns an error
// (the message is redelivered) only when the store fails; Enqueue is idempotent, so a redelivered
// event makes no second delivery.
func (d *Deliverer) Handle(ctx context.Context, msg *message.Message) error {
	ev, err := eventlog.FromMessage(msg)
	if err != nil {
		d.log.Warn("webhooks: skipping an undecodable message", "uuid", msg.UUID, "err", err)
		return nil
	}
	if !slices.Contains(DeliverableTypes, ev.Type) {
		return nil
	}
	subs, err := d.store.ListSubscriptions(ctx, "")
	if err != nil {
		return err
	}
	var body []byte
	woke := false
	for _, s := range subs {
		if !s.Matches(ev) {
			continue
		}
		if body == nil {
			if body, err = json.Marshal(Payload{Type: ev.Type, Timestamp: ev.Time,
				Data: events.RedactPersonalData(ev).Data, Event: EventRef{ID: ev.ID, Source: ev.Source, Subject: ev.Subject}}); err != nil {
				return err
			}
		}
		now := d.now().UTC()
		id := DeliveryID(s.ID, ev.Key())
		created, err := d.store.Enqueue(ctx, Delivery{ID: id, Subscription: s.ID, Bureau: s.Bureau,
			EventKey: ev.Key(), EventType: ev.Type, Payload: body, CreatedAt: now, NextAt: now})
		if err != nil {
			return err
		}
		if created {
			select {
			case d.fresh <- id:
			default:
			}
		}
		woke = woke || created
	}
	if woke {
		d.Wake()
	}
	return nil
}

// NewRouter builds the watermill router of the deliverer: Handle on eventlog.Topic in consumer
// group Handler (sub carries the group), with retry of store errors and panic recovery. An
// event that keeps failing is nacked and redelivered, never dropped.
func NewRouter(d *Deliverer, sub message.Subscriber, logger *slog.Logger) (*message.Router, error) {
	wlog := watermill.NewSlogLogger(logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wlog)
	if err != nil {
		return nil, err
	}
	retry := middleware.Retry{MaxRetries: 8, InitialInterval: 50 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2, Logger: wlog}
	router.AddMiddleware(retry.Middleware, middleware.Recoverer)
	router.AddConsumerHandler(Handler, eventlog.Topic, sub, func(msg *message.Message) error {
		return d.Handle(msg.Context(), msg)
	})
	return router, nil
}

// Run runs the workers until ctx is cancelled. An attempt in flight when ctx ends is
// abandoned: its claim expires and the delivery is tried again, after a restart too.
func (d *Deliverer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.work(ctx)
		}()
	}
	wg.Wait()
}

// lease is how long a claim holds: longer than an attempt can take, short enough that a delivery
// abandoned by a crash is tried again soon after the restart.
func (d *Deliverer) lease() time.Duration { return d.cfg.AttemptTimeout + 5*time.Second }

func (d *Deliverer) work(ctx context.Context) {
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case id := <-d.fresh:
			d.attemptFresh(ctx, id)
			continue
		default:
		}
		cl, err := d.store.Claim(ctx, d.now().UTC(), 1, d.lease())
		if err != nil && ctx.Err() == nil {
			d.log.Warn("webhooks: claiming deliveries", "err", err)
		}
		if len(cl) == 1 {
			d.Wake() // there may be more: let another worker look
			d.attempt(ctx, cl[0])
			continue
		}
		select {
		case <-ctx.Done():
		case <-d.wakeCh:
		case <-tick.C:
		case id := <-d.fresh:
			d.attemptFresh(ctx, id)
		}
	}
}

// attemptFresh claims a delivery this process just enqueued, by ID, and attempts it.
func (d *Deliverer) attemptFresh(ctx context.Context, id string) {
	dl, ok, err := d.store.ClaimID(ctx, id, d.now().UTC(), d.lease())
	if err != nil && ctx.Err() == nil {
		d.log.Warn("webhooks: claiming a new delivery", "delivery", id, "err", err)
	}
	if ok {
		d.attempt(ctx, dl)
	}
}

// attempt sends one claimed delivery and records the outcome.
func (d *Deliverer) attempt(ctx context.Context, dl Delivery) {
	now := d.now().UTC()
	a := Attempt{At: now}
	next, nextAt, outcome := Failed, time.Time{}, "failed"
	sub, ok, err := d.store.Subscription(ctx, dl.Subscription)
	switch {
	case err != nil:
		return // the claim expires and the delivery is tried again
	case !ok:
		a.Error = "the subscription was deleted"
	case sub.Disabled:
		a.Error = "the subscription is disabled: " + sub.DisabledReason
	case d.throttledUntil(sub.ID).After(now):
		// Not sent: the receiver asked to slow down. Recorded, without a status, so the log
		// shows why the delivery waited.
		next, nextAt, outcome = Pending, d.throttledUntil(sub.ID), "throttled"
		a.Error = "not sent: the receiver asked to slow down (429 Retry-After)"
	default:
		a.Status, a.Error, nextAt = d.send(ctx, sub, dl, now)
		a.DurationMS = d.now().Sub(now).Milliseconds()
		if ctx.Err() != nil {
			return // shutting down: the attempt does not count
		}
		switch {
		case a.Status >= 200 && a.Status < 300:
			next, outcome = Delivered, "delivered"
			d.latency.Observe(d.now().Sub(dl.CreatedAt).Seconds())
		case a.Status == http.StatusGone:
			outcome = "gone"
			a.Error = "410 Gone: the subscription is disabled"
			at := now.Truncate(time.Millisecond)
			if _, err := d.store.UpdateSubscription(ctx, sub.ID, func(s *Subscription) {
				s.Disabled, s.DisabledAt, s.DisabledReason = true, &at, "the receiver answered 410 Gone"
			}); err != nil && !errors.Is(err, ErrNotFound) {
				d.log.Warn("webhooks: disabling a subscription", "subscription", sub.ID, "err", err)
			}
		default:
			backoff := now.Add(d.backoff(len(dl.Attempts) + 1))
			if nextAt.Before(backoff) { // nextAt is a 429's Retry-After, when it gave one
				nextAt = backoff
			}
			outcome = "retry"
			if a.Status == http.StatusTooManyRequests {
				outcome = "throttled"
				d.throttle(sub.ID, nextAt)
			}
			next = Pending
			if nextAt.After(dl.CreatedAt.Add(d.cfg.MaxAge)) {
				next, nextAt, outcome = Failed, time.Time{}, "failed"
				a.Error += fmt.Sprintf(" (gave up: retried for %s)", d.cfg.MaxAge)
			}
		}
	}
	d.attempts.WithLabelValues(outcome).Inc()
	err = d.store.Record(ctx, dl.ID, dl.Claim, a, next, nextAt)
	if err != nil && ctx.Err() == nil {
		d.log.Warn("webhooks: recording an attempt", "delivery", dl.ID, "err", err)
	}
}

func (d *Deliverer) throttledUntil(sub string) time.Time {
	d.slowMu.Lock()
	defer d.slowMu.Unlock()
	return d.slowDown[sub]
}

func (d *Deliverer) throttle(sub string, until time.Time) {
	d.slowMu.Lock()
	defer d.slowMu.Unlock()
	if until.After(d.slowDown[sub]) {
		d.slowDown[sub] = until
	}
	for s, t := range d.slowDown { // forget the expired ones
		if t.Before(d.now()) {
			delete(d.slowDown, s)
		}
	}
}

// backoff is the wait before retry n (1 = the first retry): full jitter, a uniformly random
// time in [0, min(MaxBackoff, InitialBackoff·2ⁿ⁻¹)].
func (d *Deliverer) backoff(n int) time.Duration {
	ceil := d.cfg.MaxBackoff
	if n < 40 {
		if c := d.cfg.InitialBackoff << (n - 1); c > 0 && c < ceil {
			ceil = c
		}
	}
	return rand.N(ceil + 1)
}

// send makes one HTTP attempt. It returns the status (0 when no answer came), an error text for
// anything but 2xx, and for 429 the time Retry-After asks for (zero when absent).
func (d *Deliverer) send(ctx context.Context, sub Subscription, dl Delivery, now time.Time) (status int, errText string, retryAt time.Time) {
	sig, err := Sign(dl.ID, now, dl.Payload, sub.signingSecrets(now)...)
	if err != nil {
		return 0, "signing: " + err.Error(), time.Time{}
	}
	actx, cancel := context.WithTimeout(ctx, d.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, sub.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, err.Error(), time.Time{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fangxin-webhooks/1")
	req.Header.Set(HeaderID, dl.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err.Error(), time.Time{}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, "", time.Time{}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		retryAt = retryAfter(resp.Header.Get("Retry-After"), now)
	}
	return resp.StatusCode, "HTTP " + resp.Status, retryAt
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Time {
	if v == "" {
		return time.Time{}
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return now.Add(time.Duration(s) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}
