// Package kafkasink is the kafka sink kind: it writes events straight into the hub's log topic
// through the eventlog/kafkalog Publisher (CloudEvents Kafka binding, keyed by merchant), for
// connectors running inside the cluster. It does not pass through the gateway, so the runner's
// local events.Validate is the only check: every event the runner hands it is accepted. Ids are
// the same derived ids as over HTTP, so the views deduplicate a re-sent batch.
package kafkasink

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
	"github.com/lizhou/fangxin/events"
)

// Kind is the kafka sink kind.
var Kind = connectors.SinkKind{
	Name:    "kafka",
	Summary: "The hub's Kafka log topic directly (acks=all), for connectors inside the cluster.",
	Config:  func() connectors.SinkConfig { return new(Config) },
}

// Config configures the kafka sink.
type Config struct {
	Brokers     string        `yaml:"brokers" required:"true" desc:"Bootstrap brokers, host:port separated by commas; ${FANGXIN_KAFKA_BROKERS} reads the hub's setting from the environment."`
	Topic       string        `yaml:"topic" default:"fangxin.events.v1" desc:"The hub's log topic (the hub's namespace prefix included, if it runs with one)."`
	ClientID    string        `yaml:"client_id" default:"fangxin-connector" desc:"Client id shown to the brokers."`
	DialTimeout time.Duration `yaml:"dial_timeout" default:"10s" desc:"Time limit for reaching a broker at start."`
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	for _, b := range c.brokers() {
		if !strings.Contains(b, ":") {
			errs = append(errs, errors.New("brokers: "+b+" 应为 主机:端口 (must be host:port)"))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) brokers() []string {
	var out []string
	for _, b := range strings.Split(c.Brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Sink publishes events to the log topic.
type Sink struct {
	pub   *kafkalog.Publisher
	topic string
}

var _ connectors.Sink = (*Sink)(nil)

// Open implements connectors.SinkConfig.
func (c *Config) Open(_ context.Context, env connectors.Env) (connectors.Sink, error) {
	pub, err := kafkalog.NewPublisher(kafkalog.PublisherConfig{Config: kafkalog.Config{
		Brokers: c.brokers(), ClientID: c.ClientID, DialTimeout: c.DialTimeout, Topics: []string{c.Topic},
	}})
	if err != nil {
		return nil, err
	}
	return &Sink{pub: pub, topic: c.Topic}, nil
}

// Send implements connectors.Sink: all or nothing, durable on return (acks=all).
func (s *Sink) Send(_ context.Context, evs []events.Event) ([]connectors.Result, error) {
	msgs := make([]*message.Message, len(evs))
	for i, ev := range evs {
		msgs[i] = eventlog.ToMessage(ev)
	}
	if err := s.pub.Publish(s.topic, msgs...); err != nil {
		return nil, err
	}
	return make([]connectors.Result, len(evs)), nil
}

// Close implements connectors.Sink.
func (s *Sink) Close() error { return s.pub.Close() }
