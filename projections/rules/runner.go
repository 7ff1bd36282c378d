package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// Handler is the router handler and consumer group of the rule engine.
const Handler = "rules"

// RunnerConfig configures the rule engine's process side. Zero values take the defaults.
type RunnerConfig struct {
	Rules   Config
	Routing Routing
	// Clock advances the engine while the stream is idle (default the wall clock).
	Clock Clock
	// Tick is how often the clock is read (default 1 s).
	Tick time.Duration
	// CaughtUp reports whether the engine has read the whole log. The clock advances the engine
	// only then, so a replay from the start of the log is folded by event time alone, exactly as
	// the events were first folded. nil: always.
	CaughtUp func(context.Context) bool
}

// Runner feeds the log into an Engine and appends the engine's lifecycle events to the log. The
// engine's state lives in memory: the hub replays the log from the start (consumer group Handler
// reset) each time it starts, and the deterministic event ids make the replayed lifecycle events
// no-ops. Run one Runner per hub (it must see every partition); it is safe for concurrent use.
type Runner struct {
	cfg RunnerConfig
	pub message.Publisher
	log *slog.Logger

	mu  sync.Mutex
	eng *Engine

	applied prometheus.Counter
	written *prometheus.CounterVec
}

// NewRunner builds a runner. pub must meet eventlog's contract (durable on return).
func NewRunner(cfg RunnerConfig, pub message.Publisher, logger *slog.Logger, reg prometheus.Registerer) *Runner {
	if cfg.Clock == nil {
		cfg.Clock = WallClock{}
	}
	if cfg.Tick == 0 {
		cfg.Tick = time.Second
	}
	if cfg.CaughtUp == nil {
		cfg.CaughtUp = func(context.Context) bool { return true }
	}
	f := promauto.With(reg)
	return &Runner{
		cfg: cfg, pub: pub, log: logger, eng: New(cfg.Rules, cfg.Routing),
		applied: f.NewCounter(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "rules",
			Name: "events_applied_total", Help: "Log events folded by the rule engine (replays included)."}),
		written: f.NewCounterVec(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "rules",
			Name: "incident_events_written_total", Help: "Incident lifecycle events appended to the log, by type."}, []string{"type"}),
	}
}

// Handle folds one log message and writes the resulting lifecycle events before it returns, so
// an acknowledged message's consequences are durable. On a publish error the events stay in the
// outbox and are written with the next message or tick; the message is nacked and, when
// redelivered, folded again without effect (complaints count once per id).
func (r *Runner) Handle(msg *message.Message) error {
	ev, err := eventlog.FromMessage(msg)
	if err != nil {
		return nil // not an event: the views' projector sends it to the poison queue
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eng.Apply(ev)
	r.applied.Inc()
	return r.flush()
}

// Tick advances the engine to the clock's time (once caught up with the log) and writes what
// fell due.
func (r *Runner) Tick(ctx context.Context) error {
	if !r.cfg.CaughtUp(ctx) {
		return nil
	}
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eng.AdvanceClock(now)
	return r.flush()
}

func (r *Runner) flush() error {
	out := r.eng.Outbox()
	if len(out) == 0 {
		return nil
	}
	msgs := make([]*message.Message, 0, len(out))
	for _, ev := range out {
		if ps := events.ValidateHub(ev); len(ps) > 0 {
			// A bug in a rule: say so loudly, but do not block the stream on it.
			r.log.Error("rules: invalid lifecycle event dropped", "id", ev.ID, "field", ps[0].Field, "problem", ps[0].DetailEN)
			continue
		}
		msgs = append(msgs, eventlog.ToMessage(ev))
	}
	if err := r.pub.Publish(eventlog.Topic, msgs...); err != nil {
		return fmt.Errorf("rules: write %d lifecycle events: %w", len(msgs), err)
	}
	for _, ev := range out {
		r.written.WithLabelValues(ev.Type).Inc()
	}
	r.eng.Commit(len(out))
	return nil
}

// Run consumes the log through sub (consumer group Handler) and ticks the clock until ctx is
// cancelled.
func (r *Runner) Run(ctx context.Context, sub message.Subscriber) error {
	wlog := watermill.NewSlogLogger(r.log)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wlog)
	if err != nil {
		return err
	}
	retry := middleware.Retry{MaxRetries: 8, InitialInterval: 50 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2, Logger: wlog}
	router.AddMiddleware(retry.Middleware, middleware.Recoverer)
	router.AddConsumerHandler(Handler, eventlog.Topic, sub, r.Handle)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.cfg.Tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.Tick(ctx); err != nil {
					r.log.Warn("rules: tick", "err", err)
				}
			}
		}
	}()
	err = router.Run(ctx)
	cancel()
	<-done
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
