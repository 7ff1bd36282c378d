package kafkalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
)

func newAdmin(t *testing.T) *kafkalog.Admin {
	t.Helper()
	a, err := kafkalog.NewAdmin(base(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// publishKeyed writes n messages with keys k0..k(keys-1) in turn.
func publishKeyed(t *testing.T, pub *kafkalog.Publisher, topic string, n, keys int) {
	t.Helper()
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = message.NewMessage(watermill.NewUUID(), []byte(fmt.Sprint(i)))
		msgs[i].Metadata.Set(eventlog.MetaPartitionKey, fmt.Sprintf("k%d", i%keys))
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatal(err)
	}
}

// consume reads n messages of topic in group, acks them, and returns once the group committed
// them (the subscriber is closed, which commits).
func consume(t *testing.T, topic, group string, n int) {
	t.Helper()
	sub := newSubscriber(t, subConfig(t, group))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		select {
		case m := <-ch:
			m.Ack()
		case <-ctx.Done():
			t.Fatalf("got %d of %d messages", i, n)
		}
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
}

func waitLag(t *testing.T, a *kafkalog.Admin, topic, group string, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got int64
	var err error
	for time.Now().Before(deadline) {
		if got, err = a.Lag(context.Background(), topic, group); err == nil && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("lag of %s: got %d (%v), want %d", group, got, err, want)
}

func TestAdminLagResetEmpty(t *testing.T) {
	a := newAdmin(t)
	ctx := context.Background()
	topic := topicName(t)
	group := "admin-" + watermill.NewShortUUID()

	// A topic that does not exist is empty and has no lag; ResetGroup names it.
	if empty, err := a.Empty(ctx, topic); err != nil || !empty {
		t.Fatalf("Empty of a missing topic: %v %v", empty, err)
	}
	if lag, err := a.Lag(ctx, topic, group); err != nil || lag != 0 {
		t.Fatalf("Lag on a missing topic: %d %v", lag, err)
	}
	if err := a.ResetGroup(ctx, topic, group); !errors.Is(err, kafkalog.ErrUnknownTopic) {
		t.Fatalf("ResetGroup on a missing topic: %v", err)
	}

	pub := newPublisher(t)
	defer pub.Close()
	if err := pub.Publish(topic); err != nil { // nothing: the topic is not created
		t.Fatal(err)
	}
	publishKeyed(t, pub, topic, 0, 1)
	// Created, but still empty.
	sub := newSubscriber(t, subConfig(t, "never"))
	if err := sub.SubscribeInitialize(topic); err != nil {
		t.Fatal(err)
	}
	_ = sub.Close()
	if empty, err := a.Empty(ctx, topic); err != nil || !empty {
		t.Fatalf("Empty of a new topic: %v %v", empty, err)
	}

	publishKeyed(t, pub, topic, 40, 8)
	// The Admin learns of a topic another client created within AdminMetadataTTL.
	deadline := time.Now().Add(3 * kafkalog.AdminMetadataTTL)
	for {
		empty, err := a.Empty(ctx, topic)
		if err == nil && !empty {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Empty after 40 records: %v %v", empty, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A group that committed nothing lags by everything stored.
	if lag, err := a.Lag(ctx, topic, group); err != nil || lag != 40 {
		t.Fatalf("Lag of a new group: %d %v", lag, err)
	}
	ps, err := a.Offsets(ctx, topic, group)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range ps {
		if p.Committed != -1 || p.First != 0 {
			t.Fatalf("new group on a new topic: %+v", p)
		}
		sum += p.End
	}
	if len(ps) != 4 || sum != 40 {
		t.Fatalf("offsets: %+v", ps)
	}

	consume(t, topic, group, 40)
	waitLag(t, a, topic, group, 0)
	publishKeyed(t, pub, topic, 10, 8)
	waitLag(t, a, topic, group, 10)

	// ResetGroup refuses while a member is in the group, naming it.
	member := newSubscriber(t, subConfig(t, group))
	mctx, mcancel := context.WithCancel(ctx)
	ch, err := member.Subscribe(mctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range ch {
			m.Ack()
		}
	}()
	waitLag(t, a, topic, group, 0)
	err = a.ResetGroup(ctx, topic, group)
	if !errors.Is(err, kafkalog.ErrGroupActive) || !strings.Contains(err.Error(), "kafkalog-test@") {
		t.Fatalf("ResetGroup of an active group: %v", err)
	}
	if err := a.DeleteGroup(ctx, group); !errors.Is(err, kafkalog.ErrGroupActive) {
		t.Fatalf("DeleteGroup of an active group: %v", err)
	}
	mcancel()
	_ = member.Close()

	// Once the member left, the group starts again from the oldest record.
	if err := a.ResetGroup(ctx, topic, group); err != nil {
		t.Fatal(err)
	}
	if lag, err := a.Lag(ctx, topic, group); err != nil || lag != 50 {
		t.Fatalf("Lag after reset: %d %v", lag, err)
	}
	consume(t, topic, group, 50)
	waitLag(t, a, topic, group, 0)

	// DeleteGroup forgets the group: it lags by everything again. A missing group is fine.
	if err := a.DeleteGroup(ctx, group); err != nil {
		t.Fatal(err)
	}
	if lag, err := a.Lag(ctx, topic, group); err != nil || lag != 50 {
		t.Fatalf("Lag after delete: %d %v", lag, err)
	}
	if err := a.DeleteGroup(ctx, group); err != nil {
		t.Fatalf("deleting a missing group: %v", err)
	}
}

// Lag counts only stored records: a group behind the oldest stored offset (retention deleted
// what it had not read) or with nothing committed starts at First.
func TestPartitionOffsetsLag(t *testing.T) {
	for _, c := range []struct {
		p    kafkalog.PartitionOffsets
		want int64
	}{
		{kafkalog.PartitionOffsets{First: 0, End: 10, Committed: -1}, 10},
		{kafkalog.PartitionOffsets{First: 0, End: 10, Committed: 4}, 6},
		{kafkalog.PartitionOffsets{First: 0, End: 10, Committed: 10}, 0},
		{kafkalog.PartitionOffsets{First: 15, End: 20, Committed: -1}, 5},
		{kafkalog.PartitionOffsets{First: 15, End: 20, Committed: 3}, 5},
		{kafkalog.PartitionOffsets{First: 15, End: 20, Committed: 18}, 2},
		{kafkalog.PartitionOffsets{First: 7, End: 7, Committed: -1}, 0},
	} {
		if got := c.p.Lag(); got != c.want {
			t.Errorf("%+v: Lag %d, want %d", c.p, got, c.want)
		}
	}
}

func TestAdminUnreachableBrokerNamesTheSetting(t *testing.T) {
	cfg := base(t)
	cfg.Brokers = []string{"127.0.0.1:1"}
	cfg.DialTimeout = time.Second
	start := time.Now()
	_, err := kafkalog.NewAdmin(cfg)
	if err == nil || !strings.Contains(err.Error(), "Brokers=127.0.0.1:1") {
		t.Fatalf("NewAdmin with an unreachable broker: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("NewAdmin took %s to fail", d)
	}
}

// An Admin never creates a topic, even one named in Config.Topics.
func TestAdminCreatesNoTopic(t *testing.T) {
	cfg := base(t)
	topic := topicName(t)
	cfg.Topics = []string{topic}
	a, err := kafkalog.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if empty, err := a.Empty(context.Background(), topic); err != nil || !empty {
		t.Fatalf("Empty: %v %v", empty, err)
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	md, err := c.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range md.Topics {
		if tp.Name == topic && tp.Error == nil {
			t.Fatalf("the Admin created topic %s", topic)
		}
	}
}
