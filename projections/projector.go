package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/inflight"
	"github.com/lizhou/fangxin/events"
)

// ViewsHandler is the router handler (and consumer group) that folds the log into the views.
const ViewsHandler = "views"

// ProjectorConfig configures the projector. Zero values take the defaults.
type ProjectorConfig struct {
	// Retry of transient store errors (an outage): after MaxRetries the message is nacked and
	// delivered again later, never dropped.
	MaxRetries      int
	InitialInterval time.Duration
	MaxInterval     time.Duration
	// CloseTimeout bounds how long Close waits for handlers in flight.
	CloseTimeout time.Duration
	// MaxChain caps how many events of one merchant one handler call applies together when the
	// store is a ChainStore: the message handed out plus the backlog of its key queued behind it
	// (inflight.Followers). Default 256; 1 applies one event per call.
	MaxChain int
}

func (c *ProjectorConfig) setDefaults() {
	if c.MaxRetries == 0 {
		c.MaxRetries = 8
	}
	if c.InitialInterval == 0 {
		c.InitialInterval = 50 * time.Millisecond
	}
	if c.MaxInterval == 0 {
		c.MaxInterval = 5 * time.Second
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 30 * time.Second
	}
	if c.MaxChain == 0 {
		c.MaxChain = 256
	}
}

// Validate reports every invalid setting.
func (c ProjectorConfig) Validate() error {
	var errs []error
	if c.MaxRetries < 0 {
		errs = append(errs, errors.New("projector: MaxRetries must be ≥ 0"))
	}
	if c.InitialInterval < 0 || c.MaxInterval < 0 || c.CloseTimeout < 0 {
		errs = append(errs, errors.New("projector: intervals must be ≥ 0"))
	}
	if c.MaxChain < 0 {
		errs = append(errs, errors.New("projector: MaxChain must be ≥ 0"))
	}
	return errors.Join(errs...)
}

// PermanentError marks an event that can never be applied (it does not decode or fails
// validation): the projector sends it to the poison topic with the reason instead of retrying.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Handle folds one log message into the store. It is the whole projection: decode, redact
// personal data, apply with the profile fold. Errors other than *PermanentError are transient.
func Handle(ctx context.Context, store Store, msg *message.Message) error {
	link, err := decode(msg)
	if err != nil {
		return err
	}
	_, err = store.Apply(ctx, link.Entry, link.Pos, FoldProfile)
	return err
}

// decode turns a log message into the entry the views keep (personal data redacted) and its
// position; its errors are *PermanentError.
func decode(msg *message.Message) (ChainLink, error) {
	ev, err := eventlog.FromMessage(msg)
	if err != nil {
		return ChainLink{}, &PermanentError{err}
	}
	validate := func(ev events.Event) []events.Problem { return events.Validate(ev, "") }
	if ev.Source == events.HubSource {
		validate = events.ValidateHub
	} else if ev.Type == events.TypeMerchantLinked {
		validate = func(ev events.Event) []events.Problem { return events.ValidateLink(ev, "") }
	}
	if problems := validate(ev); len(problems) > 0 {
		return ChainLink{}, &PermanentError{fmt.Errorf("event %s does not validate: %s: %s", ev.Key(), problems[0].Field, problems[0].DetailEN)}
	}
	pos, ok := eventlog.PositionOf(msg)
	if !ok {
		return ChainLink{}, &PermanentError{fmt.Errorf("message %s has no log position", msg.UUID)}
	}
	return ChainLink{Entry: Redact(ev), Pos: pos}, nil
}

// HandleChain is Handle for a ChainStore: it takes the events of msg's merchant queued behind it
// (up to maxChain in all, inflight.Followers) and applies them with msg in one ApplyChain. It
// acknowledges the followers that were applied and nacks the first that was not, with every
// later one, so they come again in order; one that does not decode ends the chain there (it
// comes again on its own and goes to the poison queue). msg's own result is returned, for the
// router's retry and poison queue. Followers bypass the router's middleware: the retry and the
// poison queue see them when they come again as messages of their own.
func HandleChain(ctx context.Context, store ChainStore, msg *message.Message, maxChain int) error {
	head, err := decode(msg)
	if err != nil {
		return err
	}
	var followers []*message.Message
	if maxChain > 1 {
		followers = inflight.Followers(msg, maxChain-1)
	}
	if len(followers) == 0 {
		_, err = store.Apply(ctx, head.Entry, head.Pos, FoldProfile)
		return err
	}
	chain := []ChainLink{head}
	for i, f := range followers {
		link, err := decode(f)
		if err != nil {
			nackAll(followers[i:])
			followers = followers[:i]
			break
		}
		chain = append(chain, link)
	}
	results := store.ApplyChain(ctx, chain, FoldProfile)
	failed := results[0].Err != nil
	for i, f := range followers {
		if !failed && results[i+1].Err != nil {
			failed = true
		}
		if failed {
			f.Nack()
		} else {
			f.Ack()
		}
	}
	return results[0].Err
}

func nackAll(ms []*message.Message) {
	for _, m := range ms {
		m.Nack()
	}
}

// NewProjector builds the watermill router that keeps the views up to date: one handler reading
// eventlog.Topic in consumer group ViewsHandler (the subscriber carries the group), wrapped in
// recoverer, retry with backoff, and a poison queue (eventlog.PoisonTopic, with the reason) for
// permanent errors and panics. Run it with router.Run(ctx); it stops when ctx is cancelled.
func NewProjector(cfg ProjectorConfig, store Store, sub message.Subscriber, poison message.Publisher, logger *slog.Logger, reg prometheus.Registerer) (*message.Router, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wlog := watermill.NewSlogLogger(logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, wlog)
	if err != nil {
		return nil, err
	}
	pq, err := middleware.PoisonQueueWithFilter(poison, eventlog.PoisonTopic, func(err error) bool {
		var perm *PermanentError
		var panicked middleware.RecoveredPanicError
		return errors.As(err, &perm) || errors.As(err, &panicked)
	})
	if err != nil {
		return nil, err
	}
	retry := middleware.Retry{
		MaxRetries:      cfg.MaxRetries,
		InitialInterval: cfg.InitialInterval,
		MaxInterval:     cfg.MaxInterval,
		Multiplier:      2,
		ShouldRetry: func(p middleware.RetryParams) bool {
			var perm *PermanentError
			var panicked middleware.RecoveredPanicError
			return !errors.As(p.Err, &perm) && !errors.As(p.Err, &panicked)
		},
		Logger: wlog,
	}
	if reg != nil {
		metrics.NewPrometheusMetricsBuilder(reg, "fangxin", "projector").AddPrometheusRouterMetrics(router)
	}
	router.AddMiddleware(pq, retry.Middleware, middleware.Recoverer)
	handle := func(msg *message.Message) error { return Handle(msg.Context(), store, msg) }
	if cs, ok := store.(ChainStore); ok && cfg.MaxChain > 1 {
		handle = func(msg *message.Message) error { return HandleChain(msg.Context(), cs, msg, cfg.MaxChain) }
	}
	router.AddConsumerHandler(ViewsHandler, eventlog.Topic, sub, handle)
	return router, nil
}
