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

// Views is what the linker reads: candidates, and the event itself (whether the views hold it,
// and whether it is linked already).
type Views interface {
	Finder
	Event(ctx context.Context, source, id string) (projections.TimelineEntry, bool, error)
}

// Syncer is implemented by views whose searches see a write only after a refresh
// (projections/elastic): when the candidates give no confident match, the linker syncs and asks
// again, so that they include every registration folded.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Progress tells how far the projector has folded the log. The linker marks a point in the log
// after the event it looks at and after every registration the log holds before it, and waits
// until the views have folded everything before the mark. Waiting for the event alone is not
// enough: the projector folds the events of different merchants concurrently, so a work order
// appended right behind its shop's registration can be in the views first. Implementations are
// safe for concurrent use.
type Progress interface {
	// Mark returns a point in the log after pos and after every event appended before the event
	// at pos. (With one partition that is pos itself; across partitions, where order is only
	// kept within one, it may be later: the other partitions' ends.)
	Mark(ctx context.Context, pos eventlog.Position) (Mark, error)
	// Left returns how many events before m the projector has not committed yet (folded into
	// the views, or sent to the poison queue); 0 once it has passed m.
	Left(ctx context.Context, m Mark) (int64, error)
}

// Mark is a point in the log: the next offset of every partition.
type Mark map[int]int64

// WaitForViews bounds how long the linker waits for the projector to fold an event before it
// leaves the event unlinked: with a Progress, how long the projector may make no progress
// towards the mark (a projector catching up a long backlog is waited for); without one, how
// long the event may take to appear (an event the projector can never fold, sent to the poison
// queue, must not stop the linker).
const WaitForViews = 2 * time.Minute

// Linker appends merchant.linked for events that name their merchant by name and address when the
// best candidate is confident (Policy). It is safe for concurrent use.
//
// Exactly once: the link's id is derived from the linked event's key alone (AutoLinkID), so a
// redelivery, a restart or a second hub appends an event the views already hold, which they
// ignore. Its time is the linked event's, so the same link is the same event.
type Linker struct {
	views    Views
	progress Progress
	pub      message.Publisher
	policy   Policy
	logger   *slog.Logger
	linked   prometheus.Counter
	left     prometheus.Counter
}

// NewLinker builds a linker; reg may be nil. progress may be nil: the linker then waits only for
// the event itself to be in the views, and a registration appended just before it may be missed.
func NewLinker(views Views, progress Progress, pub message.Publisher, policy Policy, logger *slog.Logger, reg prometheus.Registerer) *Linker {
	l := &Linker{views: views, progress: progress, pub: pub, policy: policy, logger: logger}
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
	pos, hasPos := eventlog.PositionOf(msg)
	e, found, err := l.await(ctx, ev, pos, hasPos)
	switch {
	case err != nil:
		return err
	case !found:
		l.logger.Warn("linking: the views do not hold the event (the projector refused it, or made no progress for the wait); left unlinked", "event", ev.Key(), "wait", WaitForViews)
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
	if s, syncs := l.views.(Syncer); !ok && syncs {
		// A registration folded less than a refresh ago may not be searchable yet: make it so and
		// ask again. Only on a miss: a forced refresh for every work order (with the offsets
		// read per order) took Elasticsearch from 567 to 756 µs of CPU per event in a catch-up.
		if err := s.Sync(ctx); err != nil {
			return err
		}
		if ranked, err = Suggest(ctx, l.views, q, 2); err != nil {
			return err
		}
		m, ok = l.policy.Pick(ranked)
	}
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

// await waits, polling with backoff, until the projector (beside the linker) has folded ev and
// every event before it (Progress), then returns ev as the views hold it: the registrations
// before ev must be folded before it is matched. Without a Progress it waits for ev alone. See
// WaitForViews for when it gives up (found false).
func (l *Linker) await(ctx context.Context, ev events.Event, pos eventlog.Position, hasPos bool) (projections.TimelineEntry, bool, error) {
	deadline := time.Now().Add(WaitForViews)
	var mark Mark
	if l.progress != nil && hasPos {
		m, err := l.progress.Mark(ctx, pos)
		if err != nil {
			return projections.TimelineEntry{}, false, err
		}
		mark = m
	}
	wait := 20 * time.Millisecond
	last := int64(-1)
	for {
		left := int64(0)
		if mark != nil {
			n, err := l.progress.Left(ctx, mark)
			if err != nil {
				return projections.TimelineEntry{}, false, err
			}
			if last >= 0 && n < last {
				deadline = time.Now().Add(WaitForViews) // the projector is moving
			}
			left, last = n, n
		}
		if left == 0 {
			e, found, err := l.views.Event(ctx, ev.Source, ev.ID)
			// Passed the mark and not found: the projector sent ev to the poison queue.
			if err != nil || found || mark != nil {
				return e, found, err
			}
		}
		if time.Now().After(deadline) {
			return projections.TimelineEntry{}, false, nil
		}
		select {
		case <-ctx.Done():
			return projections.TimelineEntry{}, false, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
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
