package hub

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/boltlog"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/embedded"
)

func openLog(ctx context.Context, cfg Config, d Deps) (logBackend, error) {
	switch {
	case cfg.Log.Embedded != nil:
		l, err := boltlog.Open(cfg.Log.Embedded.Path, boltlog.Options{Registerer: d.Registerer})
		if err != nil {
			return nil, fmt.Errorf("embedded log %s: %w", cfg.Log.Embedded.Path, err)
		}
		return &boltBackend{l: l, logger: watermill.NewSlogLogger(d.Logger)}, nil
	case cfg.Log.Kafka != nil:
		return openKafka(ctx, cfg, d)
	}
	return nil, fmt.Errorf("log: no backend configured")
}

func openViews(ctx context.Context, cfg Config, d Deps) (viewsBackend, error) {
	switch {
	case cfg.Views.Embedded != nil:
		s, err := embedded.Open(cfg.Views.Embedded.Dir, embedded.Options{Logger: d.Logger, Registerer: d.Registerer})
		if err != nil {
			return nil, fmt.Errorf("embedded views %s: %w", cfg.Views.Embedded.Dir, err)
		}
		return s, nil
	case cfg.Views.Elasticsearch != nil:
		return openElasticsearch(ctx, cfg, d)
	}
	return nil, fmt.Errorf("views: no backend configured")
}

type boltBackend struct {
	l      *boltlog.Log
	logger watermill.LoggerAdapter
}

func (b *boltBackend) Publisher() message.Publisher { return b.l.Publisher() }

// viewsInFlight is how many events the embedded views projector has in flight: the views group
// commit (one bbolt transaction, one fsync, per group) takes every Apply waiting, so a deeper
// pipeline makes larger groups when a commit is slow (a burst, the disk busy with a search
// segment), which is when the views fall behind.
const viewsInFlight = 1000

func (b *boltBackend) Subscriber(group string, want eventlog.Interest) (message.Subscriber, error) {
	cfg := boltlog.SubscriberConfig{ConsumerGroup: group, Logger: b.logger, Interest: want}
	if group == projections.ViewsHandler {
		cfg.MaxInFlight = viewsInFlight
	}
	return b.l.Subscriber(cfg)
}

func (b *boltBackend) Lag(_ context.Context, group string) (int64, error) {
	hw, err := b.l.HighWater(eventlog.Topic)
	if err != nil {
		return 0, err
	}
	c, err := b.l.Committed(eventlog.Topic, group)
	if err != nil {
		return 0, err
	}
	return hw - c, nil
}

func (b *boltBackend) ResetGroup(_ context.Context, group string) error {
	return b.l.ResetGroup(eventlog.Topic, group)
}

// CopyGroup gives group to the position of group from (groupCopier).
func (b *boltBackend) CopyGroup(_ context.Context, from, to string) error {
	pos, err := b.l.Committed(eventlog.Topic, from)
	if err != nil {
		return err
	}
	return b.l.SetCommitted(eventlog.Topic, to, pos)
}

func (b *boltBackend) Empty(_ context.Context) (bool, error) {
	hw, err := b.l.HighWater(eventlog.Topic)
	return hw == 0, err
}

func (b *boltBackend) Close() error { return b.l.Close() }
