package linking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// LinkerHandler is the router handler (and consumer group) of the linker.
const LinkerHandler = "linker"

// Views is what the linker reads: candidates, and the event itself (to know the views hold it,
// so that every registration before it in the log is folded, and whether it is linked already).
type Views interface {
	Finder
	Event(ctx context.Context, source, id string) (projections.TimelineEntry, bool, error)
}

// WaitForViews bounds how long the linker waits for the projector to fold an event before it
// leaves the event unlinked (an event the projector can never fold, sent to the poison queue,
// must not stop the linker).
const WaitForViews = 2 * time.Minute

// Linker appends merchant.linked for events that name their merchant by name and address when the
// best candidate is confident (Policy). It is safe for concurrent use.
//
// Exactly once: the link's id is derived from the linked event's key alone (AutoLinkID), so a
// redelivery, a restart or a second hub appends an event the views already hold, which they
// ignore. Its time is the linked event's, so the same link is the same event.
type Linker struct {
	views  Views
	pub    message.Publisher
	policy Policy
	logger *slog.Logger
	linked prometheus.Counter
	left   prometheus.Counter
}

// NewLinker builds a linker; reg may be nil.
func NewLinker(views Views, pub message.Publisher, policy Policy, logger *slog.Logger, reg prometheus.Registerer) *Linker {
	l := &Linker{views: views, pub: pub, policy: policy, logger: logger}
	f := promauto.With(reg)
	l.linked = f.NewCounter(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "linker", Name: "linked_total",
		Help: "Events the linker linked to a merchant (merchant.linked appended)."})
	l.left = f.NewCounter(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "linker", Name: "left_unlinked_total",
		Help: "Events the linker left for an officer: no confident candidate."})
	return l
}

// AutoLinkID is the id of the hub's automatic link of the event with key target.
func AutoLinkID(target string) string {
	sum := sha256.Sum256([]byte(target))
	return "link-" + hex.EncodeToString(sum[:16])
}

// AutoLink is the hub's merchant.linked event linking ev to m.
func AutoLink(ev events.Event, m Match) events.Event {
	data, _ := json.Marshal(events.MerchantLinked{
		EventSource: ev.Source, EventID: ev.ID, USCC: m.USCC, Method: events.LinkAuto, Score: m.Score,
	})
	return events.Event{
		SpecVersion: events.SpecVersion, ID: AutoLinkID(ev.Key()), Source: events.HubSource,
		Type: events.TypeMerchantLinked, Subject: m.USCC, Time: ev.Time, DataContentType: "application/json",
		Data: data,
	}
}

// Handle looks at one log message: nothing to do unless it names its merchant by name and
// address only; then, once the views hold it and it is not linked yet, the best candidate is
// linked when confident. An error means "try again later".
func (l *Linker) Handle(msg *message.Message) error {
	ev, err := eventlog.FromMessage(msg)
	if err != nil {
		return nil // the projector sends it to the poison queue
	}
	q, ok := QueryOf(ev)
	if !ok || len(events.Validate(ev, "")) > 0 {
		return nil // not a work order naming a shop, or one the projector refuses too
	}
	ctx := msg.Context()
	e, found, err := l.await(ctx, ev)
	switch {
	case err != nil:
		return err
	case !found:
		l.logger.Warn("linking: the views did not show the event in time; left unlinked", "event", ev.Key(), "waited", WaitForViews)
		l.left.Inc()
		return nil
	case e.Linked != nil:
		return nil // an officer was quicker, or this is a redelivery
	}
	ranked, err := Suggest(ctx, l.views, q, 2)
	if err != nil {
		return err
	}
	m, ok := l.policy.Pick(ranked)
	if !ok {
		l.left.Inc()
		return nil
	}
	link := AutoLink(ev, m)
	if ps := events.ValidateHub(link); len(ps) > 0 {
		return fmt.Errorf("linking: link of %s does not validate: %s: %s", ev.Key(), ps[0].Field, ps[0].DetailEN)
	}
	if err := l.pub.Publish(eventlog.Topic, eventlog.ToMessage(link)); err != nil {
		return err
	}
	l.linked.Inc()
	l.logger.Debug("linked", "event", ev.Key(), "uscc", m.USCC, "name", m.Name, "score", m.Score)
	return nil
}

// await polls the views for ev, with backoff, up to WaitForViews: the projector folds the log
// beside the linker, and the registrations before ev must be folded before it is matched.
func (l *Linker) await(ctx context.Context, ev events.Event) (projections.TimelineEntry, bool, error) {
	deadline := time.Now().Add(WaitForViews)
	wait := 20 * time.Millisecond
	for {
		e, found, err := l.views.Event(ctx, ev.Source, ev.ID)
		if err != nil || found || time.Now().After(deadline) {
			return e, found, err
		}
		select {
		case <-ctx.Done():
			return e, false, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// NewRouter runs the linker as a watermill router reading eventlog.Topic in consumer group
// LinkerHandler (the subscriber carries the group), beside the projector. Read-model failures are
// retried with backoff and then nacked, so the message comes back.
func NewRouter(l *Linker, sub message.Subscriber, logger *slog.Logger) (*message.Router, error) {
	wlog := watermill.NewSlogLogger(logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wlog)
	if err != nil {
		return nil, err
	}
	retry := middleware.Retry{MaxRetries: 10, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2, Logger: wlog}
	router.AddMiddleware(retry.Middleware, middleware.Recoverer)
	router.AddConsumerHandler(LinkerHandler, eventlog.Topic, sub, l.Handle)
	return router, nil
}
