package boltlog_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"go.uber.org/goleak"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/boltlog"
	"github.com/lizhou/fangxin/eventlog/logtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}

func openLog(t testing.TB, opts boltlog.Options) (*boltlog.Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "log.db")
	l, err := boltlog.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l, path
}

// suiteFeatures is what this backend claims in watermill's suite. Left off:
//   - ExactlyOnceDelivery: delivery is at least once. Acks after the last commit of a crashed
//     process, and nacks, deliver a message again.
//   - GuaranteedOrderWithSingleSubscriber: not needed, order holds with many subscribers: one
//     subscription per group and topic is active at a time (one partition), and messages
//     without a partition key share one key, so they go out one at a time.
//   - RestartServiceCommand: there is no broker process to restart. Closing and reopening the
//     Log, and a kill -9 of the process, are tested by TestReopen and TestCrash.
//   - RequireSingleInstance: not required. The constructors share one Log, as clients share a
//     broker: the file is the broker and bbolt lets one handle in a process have it.
//   - NewSubscriberReceivesOldMessages: the constructors share consumer group "test", and a
//     subscriber of an existing group resumes at the group's position, not at the beginning.
//     A new group does receive old messages: TestNewGroupReceivesOldMessages runs that suite
//     test with a new group per subscriber.
//   - ContextPreserved: a message's context cannot be written to a file; delivered messages
//     carry the subscription's context.
var suiteFeatures = tests.Features{
	ConsumerGroups:  true,
	GuaranteedOrder: true,
	Persistent:      true,
}

func suiteConstructors(l *boltlog.Log) (tests.PubSubConstructor, tests.ConsumerGroupPubSubConstructor) {
	group := func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
		sub, err := l.Subscriber(boltlog.SubscriberConfig{
			ConsumerGroup:   group,
			NackResendSleep: boltlog.NoSleep, // TestContinueAfterErrors nacks 300 times
		})
		if err != nil {
			t.Fatal(err)
		}
		return l.Publisher(), sub
	}
	return func(t *testing.T) (message.Publisher, message.Subscriber) { return group(t, "test") }, group
}

func TestPubSub(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	pubSub, groupPubSub := suiteConstructors(l)
	tests.TestPubSub(t, suiteFeatures, pubSub, groupPubSub)
}

func TestNewGroupReceivesOldMessages(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	_, groupPubSub := suiteConstructors(l)
	features := suiteFeatures
	features.NewSubscriberReceivesOldMessages = true
	tests.TestNewSubscriberReceivesOldMessages(t, tests.TestContext{TestID: tests.NewTestID(), Features: features},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return groupPubSub(t, "fresh-"+watermill.NewShortUUID())
		})
}

func TestInterest(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	logtest.TestInterest(t, logtest.Backend{
		Publisher: l.Publisher(),
		Subscriber: func(t *testing.T, group string, want eventlog.Interest) message.Subscriber {
			sub, err := l.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: group, Interest: want})
			if err != nil {
				t.Fatal(err)
			}
			return sub
		},
		Topic: "interest",
		Wait:  5 * time.Second,
	})
}
