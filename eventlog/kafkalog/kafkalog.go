// Package kafkalog is the distributed backend of the hub's log seam: a watermill
// message.Publisher and message.Subscriber over Apache Kafka, through github.com/segmentio/kafka-go.
// It meets the contract of package eventlog; nothing outside this package sees a kafka-go type.
//
// # Topic layout
//
// Every event goes to one topic, eventlog.Topic ("fangxin.events.v1"), keyed by the event's
// partition key (eventlog.MetaPartitionKey: the merchant's unified social credit code, or the
// event key for events that name no merchant). Kafka keeps the order of a key's messages
// within its partition, so a merchant's events of every family (listed, then delisted) stay in
// order. Keys map to partitions with the Java client's murmur2 hash, so a producer in another
// language lands a key on the same partition as this one when it uses the same hash (Java's
// default partitioner; librdkafka's partitioner=murmur2_random). Messages without a key share
// the empty key: they all go to one partition and are delivered one at a time, in order.
// Events that can never be applied go to eventlog.PoisonTopic ("fangxin.poison.v1"), with the
// reason in metadata. Both topics are created when a Publisher or Subscriber starts (see
// TopicConfig); other topics are created the first time they are published to or subscribed
// to, with the same settings. Topics are never deleted or reconfigured by this package.
//
// Retention is forever by default: the log is the hub's source of truth and every view is
// rebuilt from it. Changing a topic's partition count remaps keys to partitions and so breaks
// per-key order across the change; do not add partitions to a topic in use.
//
// # Wire format
//
// CloudEvents Kafka protocol binding, binary mode: the record key is the partition key, every
// metadata entry is a header (the ce_* attributes and content-type as eventlog.ToMessage sets
// them), the value is the payload. The watermill UUID travels in the header
// "_watermill_message_uuid"; a record without it (one written by another CloudEvents producer)
// gets the UUID eventlog.MessageUUID derives from its ce_source and ce_id, so redelivery and
// deduplication see the same UUID whoever wrote the record.
package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
)

// HeaderUUID is the record header that carries the watermill message UUID.
const HeaderUUID = "_watermill_message_uuid"

// Defaults applied to zero fields.
const (
	DefaultPartitions  = 12
	DefaultDialTimeout = 10 * time.Second
)

// Config holds the settings a Publisher and a Subscriber share.
type Config struct {
	// Brokers are the bootstrap brokers, host:port. Required.
	Brokers []string
	// ClientID names this process to the brokers (logs, quotas). Default "fangxin".
	ClientID string
	// DialTimeout bounds connecting to a broker and the start check. Default 10 s.
	DialTimeout time.Duration
	// Topics are created, if missing, when the Publisher or Subscriber starts. Default:
	// eventlog.Topic and eventlog.PoisonTopic. Other topics are created on first use.
	Topics []string
	// Topic sets how topics are created.
	Topic TopicConfig
	// Logger gets the component's and kafka-go's log lines. Default: none.
	Logger watermill.LoggerAdapter
}

// TopicConfig sets how this package creates a topic that does not exist yet. It never alters
// an existing topic.
type TopicConfig struct {
	// Partitions per topic: the most consumers of one group that can work in parallel.
	// Default 12.
	Partitions int
	// ReplicationFactor per partition; -1 takes the brokers' default.replication.factor.
	// Default -1. Use 3 in production.
	ReplicationFactor int
	// MinInSyncReplicas is the topic's min.insync.replicas: how many replicas must hold a
	// record before the Publisher's acks=all write succeeds. 0 takes the brokers' default.
	// Use 2 with a replication factor of 3.
	MinInSyncReplicas int
	// Retention is the topic's retention.ms; 0 or negative keeps records forever, which the
	// hub needs (views are rebuilt from the log). Default forever.
	Retention time.Duration
}

func (c *Config) setDefaults() {
	if c.ClientID == "" {
		c.ClientID = "fangxin"
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Topics == nil {
		c.Topics = []string{eventlog.Topic, eventlog.PoisonTopic}
	}
	if c.Topic.Partitions == 0 {
		c.Topic.Partitions = DefaultPartitions
	}
	if c.Topic.ReplicationFactor == 0 {
		c.Topic.ReplicationFactor = -1
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
}

func (c Config) validate() []error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafkalog: Brokers is empty: name at least one broker host:port"))
	}
	for _, b := range c.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" {
			errs = append(errs, fmt.Errorf("kafkalog: Brokers: %q is not host:port", b))
			continue
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("kafkalog: Brokers: %q has no valid port", b))
		}
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("kafkalog: DialTimeout must be positive, got %s", c.DialTimeout))
	}
	for _, t := range c.Topics {
		if err := validTopic(t); err != nil {
			errs = append(errs, fmt.Errorf("kafkalog: Topics: %w", err))
		}
	}
	if c.Topic.Partitions < 1 {
		errs = append(errs, fmt.Errorf("kafkalog: Topic.Partitions must be positive, got %d", c.Topic.Partitions))
	}
	if c.Topic.ReplicationFactor < 1 && c.Topic.ReplicationFactor != -1 {
		errs = append(errs, fmt.Errorf("kafkalog: Topic.ReplicationFactor must be positive or -1 (broker default), got %d", c.Topic.ReplicationFactor))
	}
	if c.Topic.MinInSyncReplicas < 0 {
		errs = append(errs, fmt.Errorf("kafkalog: Topic.MinInSyncReplicas must not be negative, got %d", c.Topic.MinInSyncReplicas))
	}
	if c.Topic.ReplicationFactor > 0 && c.Topic.MinInSyncReplicas > c.Topic.ReplicationFactor {
		errs = append(errs, fmt.Errorf("kafkalog: Topic.MinInSyncReplicas (%d) exceeds Topic.ReplicationFactor (%d): no write could succeed",
			c.Topic.MinInSyncReplicas, c.Topic.ReplicationFactor))
	}
	return errs
}

// validTopic applies Kafka's rules for topic names.
func validTopic(t string) error {
	if t == "" || t == "." || t == ".." || len(t) > 249 {
		return fmt.Errorf("topic name %q is not allowed", t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q: only ASCII letters, digits, '.', '_' and '-' are allowed", t)
		}
	}
	return nil
}

// cluster is what a Publisher and a Subscriber share about the brokers: a transport, an admin
// client, and the topics known to exist.
type cluster struct {
	cfg       Config
	transport *kafka.Transport
	client    *kafka.Client
	dialer    *kafka.Dialer
	known     sync.Map // topic -> struct{}: exists with leaders
	creating  sync.Mutex
}

func newCluster(cfg Config) *cluster {
	tr := &kafka.Transport{
		ClientID:    cfg.ClientID,
		DialTimeout: cfg.DialTimeout,
		IdleTimeout: 60 * time.Second,
		MetadataTTL: 10 * time.Second,
	}
	return &cluster{
		cfg:       cfg,
		transport: tr,
		client:    &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: cfg.DialTimeout},
		dialer:    &kafka.Dialer{ClientID: cfg.ClientID, Timeout: cfg.DialTimeout, DualStack: true},
	}
}

func (c *cluster) close() { c.transport.CloseIdleConnections() }

// check fails unless the brokers answer a metadata request within DialTimeout, then creates
// the configured topics. Its error names the setting to fix.
func (c *cluster) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err == nil && len(md.Brokers) == 0 {
		err = errors.New("the metadata answer lists no broker")
	}
	if err != nil {
		return fmt.Errorf("kafkalog: cannot reach Kafka at Brokers=%s within DialTimeout=%s: %w (check the Brokers setting and that the brokers run)",
			strings.Join(c.cfg.Brokers, ","), c.cfg.DialTimeout, err)
	}
	if err := c.ensureTopics(ctx, c.cfg.Topics...); err != nil {
		return err
	}
	return nil
}

// ensureTopics creates the topics that do not exist yet and waits until every partition of
// each has a leader.
func (c *cluster) ensureTopics(ctx context.Context, topics ...string) error {
	var missing []string
	for _, t := range topics {
		if _, ok := c.known.Load(t); !ok {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	for _, t := range missing {
		if err := validTopic(t); err != nil {
			return fmt.Errorf("kafkalog: %w", err)
		}
	}
	c.creating.Lock()
	defer c.creating.Unlock()

	req := &kafka.CreateTopicsRequest{}
	for _, t := range missing {
		tc := kafka.TopicConfig{
			Topic:             t,
			NumPartitions:     c.cfg.Topic.Partitions,
			ReplicationFactor: c.cfg.Topic.ReplicationFactor,
		}
		ret := int64(-1)
		if c.cfg.Topic.Retention > 0 {
			ret = c.cfg.Topic.Retention.Milliseconds()
		}
		tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(ret, 10)})
		if c.cfg.Topic.MinInSyncReplicas > 0 {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(c.cfg.Topic.MinInSyncReplicas)})
		}
		req.Topics = append(req.Topics, tc)
	}
	res, err := c.client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("kafkalog: creating topics %s: %w", strings.Join(missing, ", "), err)
	}
	for t, terr := range res.Errors {
		if terr != nil && !errors.Is(terr, kafka.TopicAlreadyExists) {
			return fmt.Errorf("kafkalog: creating topic %s (partitions %d, replication factor %d): %w",
				t, c.cfg.Topic.Partitions, c.cfg.Topic.ReplicationFactor, terr)
		}
	}
	// A created topic takes a moment to reach every broker's metadata cache.
	for {
		md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: missing})
		if err == nil {
			ready := 0
			for _, t := range md.Topics {
				if t.Error == nil && len(t.Partitions) > 0 && allLed(t.Partitions) {
					ready++
				}
			}
			if ready == len(missing) {
				break
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkalog: topics %s were created but have no leader yet: %w", strings.Join(missing, ", "), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, t := range missing {
		c.known.Store(t, struct{}{})
	}
	return nil
}

func allLed(ps []kafka.Partition) bool {
	for _, p := range ps {
		if p.Error != nil || p.Leader.Host == "" {
			return false
		}
	}
	return true
}

// kafkaLogger turns kafka-go's printf lines into watermill log lines.
type kafkaLogger struct {
	l     watermill.LoggerAdapter
	error bool
}

func (k kafkaLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if k.error {
		k.l.Error("kafka-go", errors.New(msg), nil)
		return
	}
	k.l.Trace(msg, nil)
}
