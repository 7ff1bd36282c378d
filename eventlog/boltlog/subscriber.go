package boltlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/inflight"
)

// NoSleep as NackResendSleep redelivers a nacked message at once.
const NoSleep = inflight.NoSleep

// Subscriber defaults.
const (
	DefaultMaxInFlight     = inflight.DefaultMaxInFlight
	DefaultNackResendSleep = inflight.DefaultNackResendSleep
	DefaultCommitInterval  = time.Second
	DefaultPollInterval    = time.Second
)

// SubscriberConfig configures a subscriber. Zero fields take defaults, except ConsumerGroup.
type SubscriberConfig struct {
	// ConsumerGroup names the durable position; required, 1 to 255 bytes.
	ConsumerGroup string
	// MaxInFlight caps the messages handed out and not yet acked or nacked. Default 256.
	MaxInFlight int
	// NackResendSleep is the wait before a nacked message is handed out again. Default 100 ms;
	// NoSleep for none.
	NackResendSleep time.Duration
	// CommitInterval is how often the acknowledged position is committed. Default 1 s, as on
	// Kafka: each commit is a transaction of the log file with its own fsync, which the appends
	// the gateway waits for would queue behind (five consumer groups committing every 100 ms
	// were fifty of them a second); a crash redelivers what was acked since, and every handler
	// is idempotent.
	CommitInterval time.Duration
	// PollInterval is how often the log is read when no publish has woken the subscription.
	// Publishes through the same Log wake it at once; this is a fallback. Default 1 s.
	PollInterval time.Duration
	// Interest, when set, picks the messages the group handles: the others are skipped and
	// count as acknowledged (eventlog.Interest). Default: every message.
	Interest eventlog.Interest
	// Logger; default the Log's.
	Logger watermill.LoggerAdapter
}

func (c *SubscriberConfig) setDefaults() {
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.NackResendSleep == 0 {
		c.NackResendSleep = DefaultNackResendSleep
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
}

func (c SubscriberConfig) inflight() inflight.Config {
	return inflight.Config{MaxInFlight: c.MaxInFlight, NackResendSleep: c.NackResendSleep, Logger: c.Logger}
}

// Validate reports every problem of c, after defaults are applied to zero fields.
func (c SubscriberConfig) Validate() error {
	c.setDefaults()
	var errs []error
	if err := validateGroup(c.ConsumerGroup); err != nil {
		errs = append(errs, err)
	}
	if err := c.inflight().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.CommitInterval < 0 {
		errs = append(errs, fmt.Errorf("boltlog: CommitInterval must be positive, got %s", c.CommitInterval))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("boltlog: PollInterval must be positive, got %s", c.PollInterval))
	}
	return errors.Join(errs...)
}

var _ message.Subscriber = (*subscriber)(nil)

// Subscriber returns a new subscriber on the log for cfg.ConsumerGroup. Closing it ends its
// subscriptions and leaves the Log open.
func (l *Log) Subscriber(cfg SubscriberConfig) (message.Subscriber, error) {
	if cfg.Logger == nil {
		cfg.Logger = l.logger
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &subscriber{
		l:      l,
		cfg:    cfg,
		logger: cfg.Logger.With(watermill.LogFields{"consumer_group": cfg.ConsumerGroup}),
		subs:   map[*subscription]struct{}{},
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	l.subscribers[s] = struct{}{}
	return s, nil
}

type subscriber struct {
	l      *Log
	cfg    SubscriberConfig
	logger watermill.LoggerAdapter

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}
	wg     sync.WaitGroup
}

type subscription struct {
	s      *subscriber
	topic  string
	logger watermill.LoggerAdapter
	cancel context.CancelFunc
}

// Subscribe streams the topic from the group's committed position; see the package comment.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if err := validateTopic(topic); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	runCtx, cancel := context.WithCancel(ctx)
	sub := &subscription{
		s:      s,
		topic:  topic,
		logger: s.logger.With(watermill.LogFields{"topic": topic}),
		cancel: cancel,
	}
	s.subs[sub] = struct{}{}
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sub.run(runCtx, out)
		close(out)
		cancel()
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()
	return out, nil
}

// Close ends every subscription, commits their positions and closes their channels. It is
// idempotent.
func (s *subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for sub := range s.subs {
		sub.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.l.mu.Lock()
	delete(s.l.subscribers, s)
	s.l.mu.Unlock()
	return nil
}

func (sub *subscription) run(ctx context.Context, out chan<- *message.Message) {
	s, l, group := sub.s, sub.s.l, sub.s.cfg.ConsumerGroup
	lease := l.lease(sub.topic, group)
	select {
	case lease <- struct{}{}:
	default:
		sub.logger.Debug("Another subscription of the group is active, waiting", nil)
		select {
		case lease <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
	defer func() { <-lease }()

	committed, err := l.Committed(sub.topic, group)
	if err != nil {
		sub.logger.Error("Cannot read the committed position", err, nil)
		return
	}
	sub.logger.Debug("Subscribed", watermill.LogFields{"committed": committed})
	d, err := inflight.New(s.cfg.inflight(), committed)
	if err != nil { // Validate ran in Subscriber
		sub.logger.Error("Cannot start dispatcher", err, nil)
		return
	}

	dctx, stop := context.WithCancel(ctx)
	defer stop()
	in := make(chan inflight.Entry)
	c := &committer{sub: sub, d: d, last: committed}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer stop()
		if err := d.Run(dctx, in, out); err != nil {
			sub.logger.Error("Dispatcher stopped", err, nil)
		}
	}()
	go func() {
		defer wg.Done()
		c.loop(dctx)
	}()
	sub.read(dctx, in, committed+1, s.cfg.MaxInFlight)
	stop()
	wg.Wait()
	c.commit() // the final position, before another subscription may take the lease
	c.report()
	l.metrics.inFlight.WithLabelValues(sub.topic, group).Set(0)
}

// read feeds the dispatcher from sequence number next on, until ctx is done.
func (sub *subscription) read(ctx context.Context, in chan<- inflight.Entry, next int64, batch int) {
	l := sub.s.l
	poll := time.NewTicker(sub.s.cfg.PollInterval)
	defer poll.Stop()
	for {
		changed := l.changes(sub.topic)
		entries, err := l.readFrom(sub.topic, next, batch, sub.s.cfg.Interest)
		if err != nil {
			sub.logger.Error("Cannot read the log", err, watermill.LogFields{"from": next})
		}
		for _, e := range entries {
			select {
			case in <- e:
			case <-ctx.Done():
				return
			}
			next = e.Offset + 1
		}
		if err == nil && len(entries) == batch {
			continue
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-ctx.Done():
			return
		}
	}
}

// readFrom reads up to limit messages of topic from sequence number from on; those want does not
// accept are returned as Skip entries, not decoded.
func (l *Log) readFrom(topic string, from int64, limit int, want eventlog.Interest) ([]inflight.Entry, error) {
	var entries []inflight.Entry
	err := l.view(topic, func(tb *bolt.Bucket) error {
		m := tb.Bucket(bucketMessages)
		if m == nil {
			return nil
		}
		c := m.Cursor()
		for k, v := c.Seek(seqKey(uint64(from))); k != nil && len(entries) < limit; k, v = c.Next() {
			seq := int64(binary.BigEndian.Uint64(k))
			if want != nil {
				typ, subject, err := attrs(v, eventlog.MetaType, eventlog.MetaSubject)
				if err != nil {
					return fmt.Errorf("message %d of topic %q: %w", seq, topic, err)
				}
				if !want(typ, subject) {
					entries = append(entries, inflight.Entry{Offset: seq, Skip: true})
					continue
				}
			}
			msg, err := decode(v)
			if err != nil {
				return fmt.Errorf("message %d of topic %q: %w", seq, topic, err)
			}
			eventlog.SetPosition(msg, eventlog.Position{Partition: 0, Offset: seq})
			entries = append(entries, inflight.Entry{Offset: seq, Key: msg.Metadata.Get(eventlog.MetaPartitionKey), Msg: msg})
		}
		return nil
	})
	return entries, err
}

// committer writes the dispatcher's committable position to the file.
type committer struct {
	sub                    *subscription
	d                      *inflight.Dispatcher
	last                   int64
	delivered, redelivered uint64
}

func (c *committer) loop(ctx context.Context) {
	t := time.NewTicker(c.sub.s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.commit()
			c.report()
		}
	}
}

func (c *committer) commit() {
	pos := c.d.Committed()
	if pos <= c.last {
		return
	}
	sub := c.sub
	err := sub.s.l.submit(&op{kind: opCommit, topic: sub.topic, group: sub.s.cfg.ConsumerGroup, pos: pos})
	if err != nil {
		sub.logger.Error("Cannot commit the position", err, watermill.LogFields{"position": pos})
		return
	}
	c.last = pos
	sub.s.l.metrics.committed.WithLabelValues(sub.topic, sub.s.cfg.ConsumerGroup).Set(float64(pos))
}

func (c *committer) report() {
	st := c.d.Stats()
	m, topic, group := c.sub.s.l.metrics, c.sub.topic, c.sub.s.cfg.ConsumerGroup
	m.inFlight.WithLabelValues(topic, group).Set(float64(st.InFlight))
	m.delivered.WithLabelValues(topic, group).Add(float64(st.Delivered - c.delivered))
	m.redelivered.WithLabelValues(topic, group).Add(float64(st.Redelivered - c.redelivered))
	c.delivered, c.redelivered = st.Delivered, st.Redelivered
}
