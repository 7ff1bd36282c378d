package incidents

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// Handler is the router handler and consumer group that folds the log into the incident view.
const Handler = "incidents"

// Interest is what the incident view folds: lifecycle and silence events; its consumer group
// skips the rest of the log unread (eventlog.Interest).
var Interest = eventlog.Types(events.TypeIncidentDetected, events.TypeIncidentUpdated, events.TypeIncidentResolved,
	events.TypeSilenceCreated, events.TypeSilenceDeleted)

// Handle folds one log message into store; a message that is not an event is skipped (the
// views' projector sends it to the poison queue). Store errors are transient: the message is
// retried, then nacked and redelivered.
func Handle(ctx context.Context, store Store, msg *message.Message) error {
	ev, err := eventlog.FromMessage(msg)
	if err != nil {
		return nil
	}
	return store.Apply(ctx, ev)
}

// Run folds the log (subscriber of consumer group Handler) into store until ctx is cancelled.
func Run(ctx context.Context, store Store, sub message.Subscriber, logger *slog.Logger) error {
	wlog := watermill.NewSlogLogger(logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wlog)
	if err != nil {
		return err
	}
	retry := middleware.Retry{MaxRetries: 8, InitialInterval: 50 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2, Logger: wlog}
	router.AddMiddleware(retry.Middleware, middleware.Recoverer)
	router.AddConsumerHandler(Handler, eventlog.Topic, sub, func(msg *message.Message) error {
		return Handle(msg.Context(), store, msg)
	})
	if err := router.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
