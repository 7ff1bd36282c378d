package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/inflight"
)

// Subscriber defaults.
const (
	DefaultCommitInterval    = time.Second
	DefaultHeartbeatInterval = time.Second
	DefaultSessionTimeout    = 30 * time.Second
	DefaultRebalanceTimeout  = 30 * time.Second
	DefaultFetchMaxWait      = 5 * time.Second
	DefaultFetchMaxBytes     = 10 << 20
)

// SubscriberConfig configures a Subscriber. Zero fields take defaults.
type SubscriberConfig struct {
	Config

	// ConsumerGroup is the Kafka consumer group: members of one group share a topic's
	// partitions, and the group's committed offsets say where delivery resumes. A group that
	// has committed nothing starts at the oldest record, so a new projection replays the whole
	// log. Required.
	ConsumerGroup string
	// MaxInFlight caps the messages of one partition handed out and neither acked nor nacked;
	// with several partitions assigned a member has up to MaxInFlight per partition.
	// Default inflight.DefaultMaxInFlight.
	MaxInFlight int
	// NackResendSleep is how long a nacked message waits before it is delivered again.
	// Default inflight.DefaultNackResendSleep; inflight.NoSleep for none.
	NackResendSleep time.Duration
	// CommitInterval is how often acknowledged positions are committed to the group. A crash
	// redelivers what was acknowledged in the last interval. Default 1 s.
	CommitInterval time.Duration
	// HeartbeatInterval is how often the member tells the group coordinator it is alive and
	// learns of a rebalance. Default 1 s.
	HeartbeatInterval time.Duration
	// SessionTimeout is how long the coordinator waits for a heartbeat before it gives the
	// member's partitions to others. Default 30 s.
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the coordinator waits for members to rejoin in a
	// rebalance. Default 30 s.
	RebalanceTimeout time.Duration
	// FetchMaxWait is how long a fetch of an idle partition waits on the broker for new records;
	// records that arrive end the wait at once, and closing does not wait for it. kafka-go asks
	// the broker to answer a quarter of it before the client gives up (at most 1 s before), so
	// a short wait turns into "i/o timeout" reconnects on a busy machine. Default 5 s, at least 1 s.
	FetchMaxWait time.Duration
	// FetchMaxBytes caps one fetch per partition. Default 10 MiB.
	FetchMaxBytes int
	// Interest, when set, picks the records the group handles by their ce_type and ce_subject
	// headers: the others are skipped and count as acknowledged (eventlog.Interest). Default:
	// every record.
	Interest eventlog.Interest
}

func (c *SubscriberConfig) setDefaults() {
	c.Config.setDefaults()
	if c.MaxInFlight == 0 {
		c.MaxInFlight = inflight.DefaultMaxInFlight
	}
	if c.NackResendSleep == 0 {
		c.NackResendSleep = inflight.DefaultNackResendSleep
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.FetchMaxWait == 0 {
		c.FetchMaxWait = DefaultFetchMaxWait
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
}

func (c SubscriberConfig) inflight() inflight.Config {
	return inflight.Config{MaxInFlight: c.MaxInFlight, NackResendSleep: c.NackResendSleep, Logger: c.Logger}
}

// Validate reports every problem of c, after defaults are applied to zero fields.
func (c SubscriberConfig) Validate() error {
	c.setDefaults()
	errs := c.Config.validate()
	if c.ConsumerGroup == "" {
		errs = append(errs, errors.New("kafkalog: ConsumerGroup is empty: name the consumer group"))
	}
	if err := c.inflight().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("kafkalog: MaxInFlight or NackResendSleep: %w", err))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"CommitInterval", c.CommitInterval}, {"HeartbeatInterval", c.HeartbeatInterval},
		{"SessionTimeout", c.SessionTimeout}, {"RebalanceTimeout", c.RebalanceTimeout}, {"FetchMaxWait", c.FetchMaxWait},
	} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("kafkalog: %s must be positive, got %s", d.name, d.d))
		}
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, fmt.Errorf("kafkalog: HeartbeatInterval (%s) must be shorter than SessionTimeout (%s)", c.HeartbeatInterval, c.SessionTimeout))
	}
	if c.FetchMaxWait > 0 && c.FetchMaxWait < time.Second {
		errs = append(errs, fmt.Errorf("kafkalog: FetchMaxWait must be at least 1s, got %s", c.FetchMaxWait))
	}
	if c.FetchMaxBytes < 1 {
		errs = append(errs, fmt.Errorf("kafkalog: FetchMaxBytes must be positive, got %d", c.FetchMaxBytes))
	}
	return errors.Join(errs...)
}

// Subscriber reads a topic as a member of a Kafka consumer group and hands its messages out
// on the channel Subscribe returns.
//
// Every partition assigned to the member is read on its own and its messages go through an
// inflight.Dispatcher: up to MaxInFlight of a partition are out at once, never two of the same
// partition key, and a key's messages come in log order. Messages of different keys may be
// out at the same time, so the receiver must be safe for concurrent use. Ack marks a message
// done; Nack delivers it again after NackResendSleep. Delivery is at least once: after a
// restart or a rebalance, messages acknowledged after the last commit come again, and so do
// messages of other producers' duplicate writes, so handlers must be idempotent (the hub's
// views deduplicate on the event key and use the position as external version).
//
// Offsets are committed every CommitInterval and when a partition is given up, only up to the
// highest offset acknowledged together with every offset before it. At a rebalance (kafka-go's
// groups rebalance eagerly: every member gives up its whole assignment and gets a new one) the
// member stops handing out messages, cancels the contexts of those it handed out, commits what
// was acknowledged by then and drops the rest: acks that arrive after that are ignored, and the
// partition's next owner, this member or another, delivers those messages again. A handler
// should stop work whose message context is canceled; finishing it is harmless.
//
// Every message carries eventlog.MetaPosition (partition and offset), the record's headers
// as metadata, and eventlog.MetaPartitionKey when the record has a key. Subscribe and Close
// are safe for concurrent use. The receiver owns the messages it receives.
type Subscriber struct {
	cfg     SubscriberConfig
	cluster *cluster
	logger  watermill.LoggerAdapter

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	subs   sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

var (
	_ message.Subscriber           = (*Subscriber)(nil)
	_ message.SubscribeInitializer = (*Subscriber)(nil)
)

// NewSubscriber checks that the brokers answer (failing with an error naming the Brokers
// setting when they do not), creates the configured topics, and returns a Subscriber.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	cl := newCluster(cfg.Config)
	if err := cl.check(context.Background()); err != nil {
		cl.close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscriber{
		cfg:     cfg,
		cluster: cl,
		logger:  cfg.Logger.With(watermill.LogFields{"component": "kafkalog.Subscriber", "consumer_group": cfg.ConsumerGroup}),
		ctx:     ctx,
		cancel:  cancel,
	}, nil
}

// ErrSubscriberClosed is returned by Subscribe after Close.
var ErrSubscriberClosed = errors.New("kafkalog: subscriber is closed")

// SubscribeInitialize creates topic if it does not exist.
func (s *Subscriber) SubscribeInitialize(topic string) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DialTimeout)
	defer cancel()
	return s.cluster.ensureTopics(ctx, topic)
}

// Subscribe joins the consumer group for topic (creating the topic if it does not exist) and
// returns the channel its messages come on. The channel is closed once ctx is canceled or the
// Subscriber is closed, after the acknowledged positions were committed. Each call is its own
// group member.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if err := s.SubscribeInitialize(topic); err != nil {
		if s.ctx.Err() != nil {
			return nil, ErrSubscriberClosed
		}
		return nil, err
	}
	logger := s.logger.With(watermill.LogFields{"topic": topic})
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    s.cfg.ConsumerGroup,
		Brokers:               s.cfg.Brokers,
		Dialer:                s.cluster.dialer,
		Topics:                []string{topic},
		HeartbeatInterval:     s.cfg.HeartbeatInterval,
		SessionTimeout:        s.cfg.SessionTimeout,
		RebalanceTimeout:      s.cfg.RebalanceTimeout,
		JoinGroupBackoff:      time.Second,
		WatchPartitionChanges: true,
		StartOffset:           kafka.FirstOffset,
		Timeout:               s.cfg.DialTimeout,
		Logger:                kafkaLogger{l: logger},
		ErrorLogger:           kafkaLogger{l: logger},
	})
	if err != nil {
		return nil, fmt.Errorf("kafkalog: consumer group %s: %w", s.cfg.ConsumerGroup, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = group.Close()
		return nil, ErrSubscriberClosed
	}
	out := make(chan *message.Message)
	subCtx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	s.subs.Add(1)
	go func() {
		defer s.subs.Done()
		defer close(out)
		defer stop()
		defer cancel()
		s.consume(subCtx, group, topic, out, logger)
		if err := group.Close(); err != nil {
			logger.Error("Leaving the consumer group failed", err, nil)
		}
	}()
	return out, nil
}

// consume takes part in one generation of the group after another until ctx is canceled.
func (s *Subscriber) consume(ctx context.Context, group *kafka.ConsumerGroup, topic string, out chan<- *message.Message, logger watermill.LoggerAdapter) {
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// kafka-go backs off before it tries to join again.
			logger.Info("Joining the consumer group failed, retrying", watermill.LogFields{"err": err.Error()})
			continue
		}
		done := make(chan struct{})
		gen.Start(func(genCtx context.Context) {
			defer close(done)
			s.generation(ctx, genCtx, gen, topic, out, logger)
		})
		<-done
		if ctx.Err() != nil {
			return
		}
	}
}

// generation works the partitions one generation assigned until the subscription ends or the
// generation does (a rebalance, a lost coordinator, a failed partition), then commits the
// acknowledged positions and drops the rest.
func (s *Subscriber) generation(subCtx, genCtx context.Context, gen *kafka.Generation, topic string, out chan<- *message.Message, logger watermill.LoggerAdapter) {
	ctx, cancel := context.WithCancel(subCtx)
	defer cancel()
	defer context.AfterFunc(genCtx, cancel)()

	assigned := gen.Assignments[topic]
	ids := make([]int, len(assigned))
	for i, a := range assigned {
		ids[i] = a.ID
	}
	slices.Sort(ids)
	logger = logger.With(watermill.LogFields{"generation": gen.ID})
	logger.Info("Partitions assigned", watermill.LogFields{"partitions": fmt.Sprint(ids)})

	parts := make([]*partition, 0, len(assigned))
	var wg sync.WaitGroup
	for _, a := range assigned {
		p, err := s.newPartition(topic, a, logger)
		if err != nil {
			logger.Error("Cannot start partition", err, watermill.LogFields{"partition": a.ID})
			cancel()
			break
		}
		parts = append(parts, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.run(ctx, out); err != nil && ctx.Err() == nil {
				logger.Error("Partition failed, rejoining the group", err, watermill.LogFields{"partition": p.id})
				cancel()
			}
		}()
	}

	tick := time.NewTicker(s.cfg.CommitInterval)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if err := commit(gen, topic, parts); err != nil {
				logger.Info("Committing offsets failed, retrying", watermill.LogFields{"err": err.Error()})
			}
		}
	}
	wg.Wait()
	// The generation's connection stays open until this function returns, so the final commit
	// goes out even after a rebalance began; the coordinator accepts it while the group waits
	// for members to rejoin.
	if err := commit(gen, topic, parts); err != nil {
		logger.Info("Committing offsets at the end of the generation failed: acknowledged messages after the last commit will be delivered again",
			watermill.LogFields{"err": err.Error()})
	}
}

// commit commits the committable position of every partition that moved since the last
// commit.
func commit(gen *kafka.Generation, topic string, parts []*partition) error {
	offsets := map[int]int64{}
	for _, p := range parts {
		if next := p.disp.Committed() + 1; next > p.committed {
			offsets[p.id] = next
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{topic: offsets}); err != nil {
		return err
	}
	for _, p := range parts {
		if next, ok := offsets[p.id]; ok {
			p.committed = next
		}
	}
	return nil
}

// partition reads one assigned partition and dispatches its messages.
type partition struct {
	topic     string
	id        int
	next      int64 // offset to read next, or kafka.FirstOffset
	committed int64 // last offset committed (Kafka's convention: the next one to read)
	disp      *inflight.Dispatcher
	brokers   []string
	dialer    *kafka.Dialer
	maxWait   time.Duration
	maxBytes  int
	want      eventlog.Interest
	logger    watermill.LoggerAdapter
}

func (s *Subscriber) newPartition(topic string, a kafka.PartitionAssignment, logger watermill.LoggerAdapter) (*partition, error) {
	p := &partition{
		topic:    topic,
		id:       a.ID,
		next:     a.Offset,
		brokers:  s.cfg.Brokers,
		dialer:   s.cluster.dialer,
		maxWait:  s.cfg.FetchMaxWait,
		maxBytes: s.cfg.FetchMaxBytes,
		want:     s.cfg.Interest,
		logger:   logger.With(watermill.LogFields{"partition": a.ID}),
	}
	before := int64(-1) // nothing committed: offsets start at 0 or later
	if a.Offset >= 0 {
		before = a.Offset - 1
		p.committed = a.Offset
	} else if a.Offset != kafka.FirstOffset {
		return nil, fmt.Errorf("kafkalog: partition %d of %s assigned at offset %d: only a committed offset or the first offset is expected", a.ID, topic, a.Offset)
	}
	d, err := inflight.New(s.cfg.inflight(), before)
	if err != nil {
		return nil, err
	}
	p.disp = d
	return p, nil
}

// run feeds the partition's records to its dispatcher until ctx is canceled or the dispatcher
// fails. It returns nil when ctx ended it.
func (p *partition) run(parent context.Context, out chan<- *message.Message) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	in := make(chan inflight.Entry)
	ran := make(chan error, 1)
	go func() { ran <- p.disp.Run(ctx, in, out) }()

	err := p.fetch(ctx, in, ran)
	cancel()
	derr := <-ran
	if parent.Err() != nil {
		return nil // the generation or the subscription ended
	}
	if derr != nil {
		return derr
	}
	return fmt.Errorf("reading partition %d of %s: %w", p.id, p.topic, err)
}

var errDispatcherStopped = errors.New("dispatcher stopped")

// fetch reads the partition until ctx ends or the dispatcher stops, reconnecting with backoff
// after connection and broker errors (a broker restart, a new leader).
func (p *partition) fetch(ctx context.Context, in chan<- inflight.Entry, ran chan error) error {
	failures := 0
	for {
		before := p.next
		err := p.session(ctx, in, ran)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errDispatcherStopped) {
			return err
		}
		if p.next != before {
			failures = 0
		}
		failures++
		delay := min(100*time.Millisecond<<min(failures-1, 5), 3*time.Second)
		p.logger.Info("Reading the partition failed, reconnecting", watermill.LogFields{
			"err": err.Error(), "offset": p.next, "retry_in": delay.String(),
		})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// readMargin is how long the client waits for a fetch answer beyond the wait it asked the broker
// for, and for the rest of a batch once it started.
const readMargin = 10 * time.Second

// session reads over one connection to the partition's leader. The connection is closed as
// soon as ctx ends, so a fetch waiting on the broker never delays a rebalance or Close.
func (p *partition) session(ctx context.Context, in chan<- inflight.Entry, ran chan error) error {
	var conn *kafka.Conn
	var err error
	for _, b := range p.brokers {
		if conn, err = p.dialer.DialLeader(ctx, "tcp", b, p.topic, p.id); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { _ = conn.Close() })()

	if p.next < 0 {
		first, err := conn.ReadFirstOffset()
		if err != nil {
			return err
		}
		p.next = first
	}
	if _, err := conn.Seek(p.next, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
		return err
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(p.maxWait + readMargin))
		batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: p.maxBytes, MaxWait: p.maxWait})
		for {
			_ = conn.SetReadDeadline(time.Now().Add(readMargin))
			km, err := batch.ReadMessage()
			if err != nil {
				break
			}
			p.next = km.Offset + 1
			e := inflight.Entry{Offset: km.Offset, Key: string(km.Key)}
			if p.want != nil && !p.want(headerAttrs(km.Headers)) {
				e.Skip = true
			} else {
				e.Msg = fromKafka(km)
			}
			select {
			case in <- e:
			case <-ctx.Done():
				_ = batch.Close()
				return ctx.Err()
			case err := <-ran:
				ran <- err
				_ = batch.Close()
				return errDispatcherStopped
			}
		}
		err := batch.Close()
		switch {
		case err == nil, errors.Is(err, kafka.RequestTimedOut):
			// End of the batch, or no record within maxWait.
		case errors.Is(err, kafka.OffsetOutOfRange):
			first, last, oerr := conn.ReadOffsets()
			if oerr != nil {
				return oerr
			}
			if p.next >= first {
				return fmt.Errorf("offset %d out of range [%d, %d]: %w", p.next, first, last, err)
			}
			p.logger.Error("Records were deleted by retention before this group read them: skipping them",
				err, watermill.LogFields{"from": p.next, "to": first})
			p.next = first
			if _, err := conn.Seek(first, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// uuidSpace names the UUIDs of records that carry neither a watermill UUID nor a CloudEvents
// identity: they are derived from the record's place in the log.
var uuidSpace = uuid.MustParse("0d6c1f0e-5a57-4f8e-9a43-6b7a1b9f2c31")

// headerAttrs returns the ce_type and ce_subject headers' values ("" when absent).
func headerAttrs(hs []kafka.Header) (typ, subject string) {
	for _, h := range hs {
		switch h.Key {
		case eventlog.MetaType:
			typ = string(h.Value)
		case eventlog.MetaSubject:
			subject = string(h.Value)
		}
	}
	return typ, subject
}

// fromKafka decodes a record written by toKafka or by any CloudEvents binary-mode producer.
func fromKafka(km kafka.Message) *message.Message {
	md := make(message.Metadata, len(km.Headers)+2)
	var id string
	for _, h := range km.Headers {
		if h.Key == HeaderUUID {
			id = string(h.Value)
			continue
		}
		md[h.Key] = string(h.Value)
	}
	if km.Key != nil {
		md[eventlog.MetaPartitionKey] = string(km.Key)
	}
	msg := message.NewMessage(id, km.Value)
	msg.Metadata = md
	if id == "" {
		if ev, err := eventlog.FromMessage(msg); err == nil {
			msg.UUID = eventlog.MessageUUID(ev)
		} else {
			msg.UUID = uuid.NewSHA1(uuidSpace, []byte(km.Topic+"/"+strconv.Itoa(km.Partition)+"/"+strconv.FormatInt(km.Offset, 10))).String()
		}
	}
	eventlog.SetPosition(msg, eventlog.Position{Partition: int32(km.Partition), Offset: km.Offset})
	return msg
}

// Close ends every subscription: their members commit what was acknowledged, leave the group
// and close their channels. Close waits for that and is idempotent.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	s.mu.Unlock()
	s.subs.Wait()
	s.cluster.close()
	return nil
}
