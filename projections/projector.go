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
	ev, err := eventlog.FromMessage(msg)
	if err != nil {
		return &PermanentError{err}
	}
	validate := func(ev events.Event) []events.Problem { return events.Validate(ev, "") }
	if ev.Source == events.HubSource {
		validate = events.ValidateHub
	} else if ev.Type == events.TypeMerchantLinked {
		validate = func(ev events.Event) []events.Problem { return events.ValidateLink(ev, "") }
	}
	if problems := validate(ev); len(problems) > 0 {
		return &PermanentError{fmt.Errorf("event %s does not validate: %s: %s", ev.Key(), problems[0].Field, problems[0].DetailEN)}
	}
	pos, ok := eventlog.PositionOf(msg)
	if !ok {
		return &PermanentError{fmt.Errorf("message %s has no log position", msg.UUID)}
	}
	_, err = store.Apply(ctx, Redact(ev), pos, FoldProfile)
	return err
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
	router.AddConsumerHandler(ViewsHandler, eventlog.Topic, sub, func(msg *message.Message) error {
		return Handle(msg.Context(), store, msg)
	})
	return router, nil
}
