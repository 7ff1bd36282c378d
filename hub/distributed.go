package hub

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
	"github.com/lizhou/fangxin/projections/elastic"
)

// The distributed backends: the log on Kafka (eventlog/kafkalog), the views on Elasticsearch
// (projections/elastic). Rebuilding Elasticsearch views is in distributed_rebuild.go.

// Namespace names one hub's Kafka topics, consumer groups and Elasticsearch indices, so that
// several hubs (a staging and a production hub, or tests running side by side) share one Kafka
// cluster and one Elasticsearch cluster without seeing each other's data. With namespace ns:
//
//	topics          ns.fangxin.events.v1, ns.fangxin.poison.v1
//	consumer groups ns.views (the projector), ns.views-rebuild-{generation} (a rebuild)
//	indices         ns-fangxin-timeline-{generation}, ns-fangxin-merchants-{generation},
//	                behind the aliases ns-fangxin-timeline and ns-fangxin-merchants
//
// The empty namespace (the default) keeps the plain names: fangxin.events.v1, views, fangxin-….
// Every process of one hub (gateway, projectors, rebuild) must use the same namespace. The
// embedded backends ignore it: their data folder is their namespace.
//
// It travels in the context given to Run and Rebuild (WithNamespace) because Config is not this
// file's to change; it belongs in KafkaConfig and ElasticsearchConfig (a field each) once their
// owner moves it there, and cmd/fangxin's --namespace flag then sets those fields instead.
type Namespace string

var namespaceRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Validate reports a namespace that cannot be part of a topic and an index name.
func (ns Namespace) Validate() error {
	if ns != "" && !namespaceRe.MatchString(string(ns)) {
		return fmt.Errorf("--namespace (FANGXIN_NAMESPACE): %q must be 1-40 lower-case letters, digits and '-', starting with a letter or digit", string(ns))
	}
	return nil
}

// Topic is the name of the hub's topic in this namespace.
func (ns Namespace) Topic(topic string) string {
	if ns == "" {
		return topic
	}
	return string(ns) + "." + topic
}

// Group is the name of a consumer group in this namespace.
func (ns Namespace) Group(group string) string { return ns.Topic(group) }

// IndexPrefix is the Elasticsearch index prefix in this namespace.
func (ns Namespace) IndexPrefix() string {
	if ns == "" {
		return "fangxin"
	}
	return string(ns) + "-fangxin"
}

type namespaceKey struct{}

// WithNamespace returns a context that makes Run and Rebuild use namespace ns for the
// distributed backends.
func WithNamespace(ctx context.Context, ns Namespace) context.Context {
	return context.WithValue(ctx, namespaceKey{}, ns)
}

func namespaceOf(ctx context.Context) (Namespace, error) {
	ns, _ := ctx.Value(namespaceKey{}).(Namespace)
	return ns, ns.Validate()
}

// settingKafka and settingES name the settings in every start error, as an operator sets them.
const (
	settingKafka = "--kafka-brokers (FANGXIN_KAFKA_BROKERS)"
	settingES    = "--elasticsearch-url (FANGXIN_ELASTICSEARCH_URL)"
)

// sessionTimeout is how long the group coordinator waits for a projector that stopped
// heartbeating (killed, partitioned away) before it hands the projector's partitions to the
// others: the views of those partitions stand still that long. kafkalog's default is 30 s;
// 10 s (ten heartbeats) keeps a crash's freshness gap short while surviving ordinary pauses.
const sessionTimeout = 10 * time.Second

// startTimeout bounds the start checks of each backend: an unreachable broker or node fails the
// start within it, with one message naming the setting.
const startTimeout = 10 * time.Second

func kafkaBase(cfg Config, d Deps, ns Namespace) kafkalog.Config {
	return kafkalog.Config{
		Brokers:     cfg.Log.Kafka.Brokers,
		ClientID:    "fangxin-" + cfg.Role,
		DialTimeout: startTimeout,
		Topics:      []string{ns.Topic(eventlog.Topic), ns.Topic(eventlog.PoisonTopic)},
		Topic:       kafkalog.TopicConfig{Partitions: cfg.Log.Kafka.Partitions},
		Logger:      watermill.NewSlogLogger(d.Logger),
	}
}

func openKafka(ctx context.Context, cfg Config, d Deps) (logBackend, error) {
	ns, err := namespaceOf(ctx)
	if err != nil {
		return nil, err
	}
	base := kafkaBase(cfg, d, ns)
	// The Admin comes first: it only checks that the brokers answer, so an unreachable broker
	// fails here, once, before anything else is tried.
	admin, err := kafkalog.NewAdmin(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", settingKafka, err)
	}
	pub, err := kafkalog.NewPublisher(kafkalog.PublisherConfig{Config: base})
	if err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("%s: %w", settingKafka, err)
	}
	return &kafkaBackend{
		ns: ns, base: base, admin: admin,
		pub: &nsPublisher{ns: ns, pub: pub},
	}, nil
}

// kafkaBackend is the log on Kafka. Topic and group names passed in are the hub's plain ones
// (eventlog.Topic, projections.ViewsHandler); the backend maps them into its namespace, so
// the gateway, the projector and the rebuild never see the namespace.
type kafkaBackend struct {
	ns    Namespace
	base  kafkalog.Config
	admin *kafkalog.Admin
	pub   *nsPublisher

	mu   sync.Mutex
	subs []*kafkalog.Subscriber
}

var (
	_ logBackend   = (*kafkaBackend)(nil)
	_ logPositions = (*kafkaBackend)(nil)
	_ groupDeleter = (*kafkaBackend)(nil)
)

func (k *kafkaBackend) Publisher() message.Publisher { return k.pub }

// Subscriber returns a subscriber reading as a member of consumer group group (in the
// namespace). A group that has committed nothing starts at the oldest record.
func (k *kafkaBackend) Subscriber(group string, want eventlog.Interest) (message.Subscriber, error) {
	sub, err := kafkalog.NewSubscriber(kafkalog.SubscriberConfig{Config: k.base, ConsumerGroup: k.ns.Group(group),
		SessionTimeout: sessionTimeout, Interest: want})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", settingKafka, err)
	}
	k.mu.Lock()
	k.subs = append(k.subs, sub)
	k.mu.Unlock()
	return &nsSubscriber{ns: k.ns, sub: sub}, nil
}

func (k *kafkaBackend) Lag(ctx context.Context, group string) (int64, error) {
	return k.admin.Lag(ctx, k.ns.Topic(eventlog.Topic), k.ns.Group(group))
}

func (k *kafkaBackend) ResetGroup(ctx context.Context, group string) error {
	return k.admin.ResetGroup(ctx, k.ns.Topic(eventlog.Topic), k.ns.Group(group))
}

func (k *kafkaBackend) Empty(ctx context.Context) (bool, error) {
	return k.admin.Empty(ctx, k.ns.Topic(eventlog.Topic))
}

func (k *kafkaBackend) Offsets(ctx context.Context, group string) ([]partitionOffsets, error) {
	ps, err := k.admin.Offsets(ctx, k.ns.Topic(eventlog.Topic), k.ns.Group(group))
	if err != nil {
		return nil, err
	}
	out := make([]partitionOffsets, len(ps))
	for i, p := range ps {
		out[i] = partitionOffsets{Partition: p.Partition, First: p.First, End: p.End, Committed: p.Committed}
	}
	return out, nil
}

// committedAt: a Kafka group's committed offset is the next one it reads.
func (k *kafkaBackend) committedAt(pos eventlog.Position) int64 { return pos.Offset + 1 }

func (k *kafkaBackend) DeleteGroup(ctx context.Context, group string) error {
	return k.admin.DeleteGroup(ctx, k.ns.Group(group))
}

// Close closes the subscribers (their members commit and leave their groups), then the
// publisher and the admin connections.
func (k *kafkaBackend) Close() error {
	k.mu.Lock()
	subs := k.subs
	k.subs = nil
	k.mu.Unlock()
	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	errs = append(errs, k.pub.pub.Close(), k.admin.Close())
	return errors.Join(errs...)
}

// nsPublisher publishes to the namespace's topics.
type nsPublisher struct {
	ns  Namespace
	pub *kafkalog.Publisher
}

func (p *nsPublisher) Publish(topic string, msgs ...*message.Message) error {
	return p.pub.Publish(p.ns.Topic(topic), msgs...)
}

// Close does nothing: the backend owns the publisher and closes it in its Close, after the
// projectors that use it for the poison queue have stopped.
func (p *nsPublisher) Close() error { return nil }

// nsSubscriber subscribes to the namespace's topics.
type nsSubscriber struct {
	ns  Namespace
	sub *kafkalog.Subscriber
}

var (
	_ message.Subscriber           = (*nsSubscriber)(nil)
	_ message.SubscribeInitializer = (*nsSubscriber)(nil)
)

func (s *nsSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	return s.sub.Subscribe(ctx, s.ns.Topic(topic))
}

func (s *nsSubscriber) SubscribeInitialize(topic string) error {
	return s.sub.SubscribeInitialize(s.ns.Topic(topic))
}

func (s *nsSubscriber) Close() error { return s.sub.Close() }

// elasticConfig is the read model's configuration for cfg in namespace ns.
func elasticConfig(cfg Config, ns Namespace) elastic.Config {
	return elastic.Config{URLs: cfg.Views.Elasticsearch.URLs, IndexPrefix: ns.IndexPrefix()}
}

func openElasticsearch(ctx context.Context, cfg Config, d Deps) (viewsBackend, error) {
	ns, err := namespaceOf(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*startTimeout)
	defer cancel()
	s, err := elastic.Open(sctx, elasticConfig(cfg, ns))
	if err != nil {
		return nil, esStartError(err)
	}
	d.Logger.Info("elasticsearch views open", "urls", strings.Join(cfg.Views.Elasticsearch.URLs, ","),
		"index_prefix", ns.IndexPrefix(), "generation", s.Generation())
	return s, nil
}

// esStartError names the setting once: projections/elastic names FANGXIN_ELASTICSEARCH_URL in
// its connection errors already, the flag is added.
func esStartError(err error) error {
	if strings.Contains(err.Error(), elastic.EnvURL) {
		return fmt.Errorf("--elasticsearch-url: %w", err)
	}
	return fmt.Errorf("%s: %w", settingES, err)
}

var _ viewsBackend = (*elastic.Store)(nil)
