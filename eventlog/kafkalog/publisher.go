package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
)

// Publisher defaults.
const (
	DefaultLinger         = 2 * time.Millisecond
	DefaultBatchSize      = 1000
	DefaultBatchBytes     = 1 << 20
	DefaultWriteTimeout   = 10 * time.Second
	DefaultPublishTimeout = 30 * time.Second
	DefaultMaxAttempts    = 5
)

// PublisherConfig configures a Publisher. Zero fields take defaults.
type PublisherConfig struct {
	Config

	// Linger is how long a partition's batch waits for more messages before it is sent; a full
	// batch goes at once. Concurrent Publish calls share batches. Default 2 ms (kafka-go's own
	// default of 1 s would hold every synchronous Publish for a second).
	Linger time.Duration
	// BatchSize caps the messages in one produce request per partition. Default 1000.
	BatchSize int
	// BatchBytes caps the bytes of one batch and so the size of one message. Default 1 MiB,
	// the brokers' default message.max.bytes.
	BatchBytes int64
	// WriteTimeout bounds one produce request on the wire. Default 10 s.
	WriteTimeout time.Duration
	// PublishTimeout bounds a whole Publish call, retries included. Default 30 s.
	PublishTimeout time.Duration
	// MaxAttempts is how often a batch is sent before Publish gives up on it. Default 5.
	MaxAttempts int
}

func (c *PublisherConfig) setDefaults() {
	c.Config.setDefaults()
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
}

// Validate reports every problem of c, after defaults are applied to zero fields.
func (c PublisherConfig) Validate() error {
	c.setDefaults()
	errs := c.Config.validate()
	if c.Linger < 0 {
		errs = append(errs, fmt.Errorf("kafkalog: Linger must be positive, got %s", c.Linger))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("kafkalog: BatchSize must be positive, got %d", c.BatchSize))
	}
	if c.BatchBytes < 1 {
		errs = append(errs, fmt.Errorf("kafkalog: BatchBytes must be positive, got %d", c.BatchBytes))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("kafkalog: WriteTimeout must be positive, got %s", c.WriteTimeout))
	}
	if c.PublishTimeout < 0 {
		errs = append(errs, fmt.Errorf("kafkalog: PublishTimeout must be positive, got %s", c.PublishTimeout))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("kafkalog: MaxAttempts must be positive, got %d", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// Publisher writes watermill messages to Kafka; see the package comment for the wire format.
//
// Publish is safe for concurrent use; concurrent calls share produce requests. It returns nil
// only once every message was acknowledged by all in-sync replicas of its partition
// (acks=all): the message is durable as far as the topic's min.insync.replicas promises.
// Messages of one call with the same partition key are stored in the order given; messages of
// concurrent calls are ordered as the calls reach the partition. An error means none, some or
// (after a timeout) all of the messages were stored: the caller retries the whole call, and
// since Kafka writes a retried message again, consumers see duplicates and must deduplicate on
// the event key (the hub's views do). The Publisher does not keep the messages after Publish
// returns; it never modifies them.
type Publisher struct {
	cfg     PublisherConfig
	cluster *cluster
	writer  *kafka.Writer
	logger  watermill.LoggerAdapter

	ctx    context.Context // canceled by Close once in-flight publishes are done
	cancel context.CancelFunc
	mu     sync.RWMutex // held for reading by every Publish; Close takes it for writing
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher checks that the brokers answer (failing with an error naming the Brokers
// setting when they do not), creates the configured topics, and returns a Publisher.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
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
	logger := cfg.Logger.With(watermill.LogFields{"component": "kafkalog.Publisher"})
	w := &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Balancer:     kafka.Murmur2Balancer{Consistent: true},
		MaxAttempts:  cfg.MaxAttempts,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   cfg.BatchBytes,
		BatchTimeout: cfg.Linger,
		WriteTimeout: cfg.WriteTimeout,
		RequiredAcks: kafka.RequireAll,
		Transport:    cl.transport,
		ErrorLogger:  kafkaLogger{l: logger, error: true},
		Logger:       kafkaLogger{l: logger},
	}
	return &Publisher{cfg: cfg, cluster: cl, writer: w, logger: logger, ctx: ctx, cancel: cancel}, nil
}

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("kafkalog: publisher is closed")

// Publish writes msgs to topic, creating the topic first if it does not exist, and returns
// once all of them are acknowledged by all in-sync replicas. See Publisher for the contract.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrPublisherClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.PublishTimeout)
	defer cancel()
	if err := p.cluster.ensureTopics(ctx, topic); err != nil {
		return err
	}
	kms := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		kms[i] = toKafka(topic, m)
	}
	if err := p.writer.WriteMessages(ctx, kms...); err != nil {
		return p.publishError(topic, msgs, err)
	}
	return nil
}

func (p *Publisher) publishError(topic string, msgs []*message.Message, err error) error {
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		failed := 0
		var first error
		for _, e := range werrs {
			if e != nil {
				failed++
				if first == nil {
					first = e
				}
			}
		}
		return fmt.Errorf("kafkalog: publishing to %s: %d of %d messages not acknowledged: %w", topic, failed, len(msgs), first)
	}
	return fmt.Errorf("kafkalog: publishing %d messages to %s: %w", len(msgs), topic, err)
}

// toKafka encodes m in CloudEvents binary mode; see the package comment.
func toKafka(topic string, m *message.Message) kafka.Message {
	km := kafka.Message{Topic: topic, Value: m.Payload}
	if k, ok := m.Metadata[eventlog.MetaPartitionKey]; ok {
		km.Key = []byte(k)
	}
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		if k != eventlog.MetaPosition && k != HeaderUUID {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	km.Headers = make([]kafka.Header, 0, len(keys)+1)
	km.Headers = append(km.Headers, kafka.Header{Key: HeaderUUID, Value: []byte(m.UUID)})
	for _, k := range keys {
		km.Headers = append(km.Headers, kafka.Header{Key: k, Value: []byte(m.Metadata[k])})
	}
	return km
}

// Close waits for the Publish calls in progress, then flushes and closes the connections.
// Publish calls after Close fail with ErrPublisherClosed. Close is idempotent.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.writer.Close()
	p.cancel()
	p.cluster.close()
	return err
}
