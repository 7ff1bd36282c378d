package kafkalog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lizhou/fangxin/eventlog/kafkalog"
)

func TestConfigValidateJoinsEveryProblem(t *testing.T) {
	err := kafkalog.SubscriberConfig{
		Config: kafkalog.Config{
			Brokers: []string{"no-port", "h:99999"},
			Topics:  []string{"bad topic"},
			Topic:   kafkalog.TopicConfig{Partitions: -1, ReplicationFactor: 2, MinInSyncReplicas: 3},
		},
		MaxInFlight:       -1,
		HeartbeatInterval: time.Minute,
	}.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{
		`Brokers: "no-port" is not host:port`,
		`Brokers: "h:99999" has no valid port`,
		`Topics: topic name "bad topic"`,
		"Topic.Partitions must be positive",
		"Topic.MinInSyncReplicas (3) exceeds Topic.ReplicationFactor (2)",
		"ConsumerGroup is empty",
		"MaxInFlight",
		"HeartbeatInterval (1m0s) must be shorter than SessionTimeout",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	if err := (kafkalog.PublisherConfig{}).Validate(); err == nil || !strings.Contains(err.Error(), "Brokers is empty") {
		t.Errorf("empty publisher config: got %v, want the missing Brokers named", err)
	}
	if err := (kafkalog.PublisherConfig{Config: kafkalog.Config{Brokers: []string{"127.0.0.1:9092"}}}).Validate(); err != nil {
		t.Errorf("minimal publisher config rejected: %v", err)
	}
	if err := (kafkalog.SubscriberConfig{Config: kafkalog.Config{Brokers: []string{"127.0.0.1:9092"}}, ConsumerGroup: "g"}).Validate(); err != nil {
		t.Errorf("minimal subscriber config rejected: %v", err)
	}
}

// An unreachable broker fails the start with one message that names the setting. Needs no
// broker: nothing listens on port 1.
func TestUnreachableBrokerFailsAtStart(t *testing.T) {
	cfg := kafkalog.Config{Brokers: []string{"127.0.0.1:1"}, DialTimeout: 2 * time.Second}
	start := time.Now()
	_, perr := kafkalog.NewPublisher(kafkalog.PublisherConfig{Config: cfg})
	_, serr := kafkalog.NewSubscriber(kafkalog.SubscriberConfig{Config: cfg, ConsumerGroup: "g"})
	for name, err := range map[string]error{"publisher": perr, "subscriber": serr} {
		if err == nil {
			t.Fatalf("%s started without a broker", name)
		}
		if !strings.Contains(err.Error(), "Brokers=127.0.0.1:1") {
			t.Errorf("%s error does not name the Brokers setting: %v", name, err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failing took %s, want about DialTimeout", d)
	}
	t.Log(perr)
}
