package boltlog_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/boltlog"
)

const topic = "fangxin.test.v1"

func msg(id, key string) *message.Message {
	m := message.NewMessage(id, []byte("payload of "+id))
	if key != "" {
		m.Metadata.Set(eventlog.MetaPartitionKey, key)
	}
	return m
}

func publish(t testing.TB, l *boltlog.Log, topic string, msgs ...*message.Message) {
	t.Helper()
	if err := l.Publisher().Publish(topic, msgs...); err != nil {
		t.Fatal(err)
	}
}

func subscribe(t testing.TB, l *boltlog.Log, cfg boltlog.SubscriberConfig, topic string) (message.Subscriber, <-chan *message.Message) {
	t.Helper()
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = 5 * time.Millisecond
	}
	sub, err := l.Subscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub, ch
}

func receive(t testing.TB, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

func nothing(t testing.TB, ch <-chan *message.Message, why string) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("%s, but got %s", why, m.UUID)
	case <-time.After(80 * time.Millisecond):
	}
}

func position(t testing.TB, m *message.Message) int64 {
	t.Helper()
	p, ok := eventlog.PositionOf(m)
	if !ok || p.Partition != 0 {
		t.Fatalf("message %s has position %q", m.UUID, m.Metadata.Get(eventlog.MetaPosition))
	}
	return p.Offset
}

func waitCommitted(t testing.TB, l *boltlog.Log, topic, group string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := l.Committed(topic, group)
		if err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Committed(%s) = %d, want %d", group, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestPublishSubscribe(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	in := []*message.Message{msg("a", "k1"), msg("b", "k2"), msg("c", "")}
	in[0].Metadata.Set("ce_type", "complaint.received")
	publish(t, l, topic, in...)
	in[0].Payload[0] = 'X' // Publish keeps no reference

	if hw, err := l.HighWater(topic); err != nil || hw != 3 {
		t.Fatalf("HighWater() = %d, %v; want 3", hw, err)
	}
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	for i, want := range []string{"a", "b", "c"} {
		m := receive(t, ch)
		if m.UUID != want || string(m.Payload) != "payload of "+want {
			t.Errorf("message %d: %s %q, want %s", i, m.UUID, m.Payload, want)
		}
		if got := position(t, m); got != int64(i+1) {
			t.Errorf("message %s at position %d, want %d", m.UUID, got, i+1)
		}
		m.Ack()
	}
	waitCommitted(t, l, topic, "g", 3)
	if c, _ := l.Committed(topic, "other"); c != 0 {
		t.Errorf("Committed of an unknown group = %d, want 0", c)
	}
	if hw, err := l.HighWater("no.such.topic"); err != nil || hw != 0 {
		t.Errorf("HighWater of an unknown topic = %d, %v", hw, err)
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	m := message.NewMessage("id-1", nil)
	m.Metadata = message.Metadata{"ce_source": "/bureaus/amr", "empty": "", "中文": "值", eventlog.MetaPartitionKey: "915101007234567890"}
	publish(t, l, topic, m)
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	got := receive(t, ch)
	defer got.Ack()
	for k, v := range m.Metadata {
		if got.Metadata[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, got.Metadata[k], v)
		}
	}
	if len(got.Metadata) != len(m.Metadata)+1 { // + position
		t.Errorf("metadata %v, want %v and the position", got.Metadata, m.Metadata)
	}
	if len(got.Payload) != 0 {
		t.Errorf("payload %q, want empty", got.Payload)
	}
}

func TestIdempotentPublish(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, _ := openLog(t, boltlog.Options{Registerer: reg})
	publish(t, l, topic, msg("a", ""), msg("b", ""))
	dupB := msg("b", "")
	dupB.Payload = []byte("different payload")
	publish(t, l, topic, dupB, msg("c", ""), msg("d", ""), msg("d", ""))
	publish(t, l, topic, msg("a", "")) // a whole call of duplicates
	publish(t, l, "fangxin.other.v1", msg("a", ""))

	if hw, _ := l.HighWater(topic); hw != 4 {
		t.Fatalf("HighWater() = %d, want 4 (a b c d)", hw)
	}
	if hw, _ := l.HighWater("fangxin.other.v1"); hw != 1 {
		t.Fatalf("HighWater(other topic) = %d, want 1: idempotency is per topic", hw)
	}
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	for _, want := range []string{"a", "b", "c", "d"} {
		m := receive(t, ch)
		if m.UUID != want {
			t.Fatalf("got %s, want %s", m.UUID, want)
		}
		if want == "b" && string(m.Payload) != "payload of b" {
			t.Errorf("duplicate replaced the stored message: %q", m.Payload)
		}
		m.Ack()
	}
	nothing(t, ch, "duplicates are not stored")
	if got := gauge(t, reg, "fangxin_boltlog_duplicate_messages_total", topic); got != 3 {
		t.Errorf("duplicate_messages_total = %v, want 3", got)
	}
	if got := gauge(t, reg, "fangxin_boltlog_appended_messages_total", topic); got != 4 {
		t.Errorf("appended_messages_total = %v, want 4", got)
	}
}

func TestPublishRejects(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	pub := l.Publisher()
	for _, tc := range []struct {
		name  string
		topic string
		msgs  []*message.Message
		want  string
	}{
		{"empty topic", "", []*message.Message{msg("a", "")}, "topic"},
		{"topic with slash", "a/b", []*message.Message{msg("a", "")}, "topic"},
		{"topic too long", strings.Repeat("t", 250), []*message.Message{msg("a", "")}, "topic"},
		{"no uuid", topic, []*message.Message{msg("a", ""), msg("", "")}, "UUID"},
		{"nil message", topic, []*message.Message{msg("a", ""), nil}, "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pub.Publish(tc.topic, tc.msgs...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Publish() = %v, want error about %s", err, tc.want)
			}
		})
	}
	if hw, _ := l.HighWater(topic); hw != 0 {
		t.Errorf("HighWater() = %d after rejected calls, want 0: a call is all or nothing", hw)
	}
	if err := pub.Publish(topic); err != nil {
		t.Errorf("Publish of nothing = %v", err)
	}
}

// TestConcurrentPublish: concurrent calls share commits, and each call stays one contiguous,
// ordered run of sequence numbers.
func TestConcurrentPublish(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, _ := openLog(t, boltlog.Options{Registerer: reg})
	const writers, calls = 32, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub := l.Publisher()
			for c := range calls {
				n := 1 + (w+c)%5
				batch := make([]*message.Message, n)
				for i := range batch {
					batch[i] = msg(fmt.Sprintf("w%d-c%d-i%d", w, c, i), fmt.Sprint("w", w))
				}
				if err := pub.Publish(topic, batch...); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	total := 0
	for w := range writers {
		for c := range calls {
			total += 1 + (w+c)%5
		}
	}
	hw, _ := l.HighWater(topic)
	if hw != int64(total) {
		t.Fatalf("HighWater() = %d, want %d", hw, total)
	}
	seqs := map[string]int64{}
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	for range total {
		m := receive(t, ch)
		seqs[m.UUID] = position(t, m)
		m.Ack()
	}
	for w := range writers {
		prevEnd := int64(0)
		for c := range calls {
			first := seqs[fmt.Sprintf("w%d-c%d-i0", w, c)]
			if first <= prevEnd {
				t.Errorf("writer %d call %d starts at %d, before the end of its previous call %d", w, c, first, prevEnd)
			}
			for i := range 1 + (w+c)%5 {
				if got := seqs[fmt.Sprintf("w%d-c%d-i%d", w, c, i)]; got != first+int64(i) {
					t.Errorf("writer %d call %d message %d at %d, want %d: a call is one contiguous run", w, c, i, got, first+int64(i))
				}
				prevEnd = first + int64(i)
			}
		}
	}
	commits, ops := histogram(t, reg, "fangxin_boltlog_commit_operations")
	t.Logf("%d publish calls in %d commits", writers*calls, commits)
	if ops < writers*calls || commits >= writers*calls {
		t.Errorf("%d operations in %d commits: concurrent publishes did not share commits", ops, commits)
	}
}

func TestResumeAfterReopen(t *testing.T) {
	l, path := openLog(t, boltlog.Options{})
	for i := range 10 {
		publish(t, l, topic, msg(fmt.Sprint("m", i+1), ""))
	}
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g", CommitInterval: time.Hour}, topic)
	for range 4 {
		receive(t, ch).Ack()
	}
	receive(t, ch) // the 5th stays unacked
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("subscription channel still open after Log.Close")
	}

	l2, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if c, err := l2.Committed(topic, "g"); err != nil || c != 4 {
		t.Fatalf("Committed() after reopen = %d, %v; want 4 (committed on Close)", c, err)
	}
	publish(t, l2, topic, msg("m3", ""), msg("m11", ""))
	if hw, _ := l2.HighWater(topic); hw != 11 {
		t.Fatalf("HighWater() = %d, want 11: m3 is a duplicate across restarts", hw)
	}
	_, ch2 := subscribe(t, l2, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	for want := int64(5); want <= 11; want++ {
		m := receive(t, ch2)
		if got := position(t, m); got != want || m.UUID != fmt.Sprint("m", want) {
			t.Fatalf("got %s at %d, want m%d", m.UUID, got, want)
		}
		m.Ack()
	}
	_, fresh := subscribe(t, l2, boltlog.SubscriberConfig{ConsumerGroup: "new"}, topic)
	if m := receive(t, fresh); position(t, m) != 1 {
		t.Fatalf("a new group starts at %d, want 1", position(t, m))
	}
}

func TestPartitionKeyOrder(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	const n, keys = 2000, 13
	batch := make([]*message.Message, n)
	for i := range batch {
		batch[i] = msg(fmt.Sprint(i), fmt.Sprint("k", i%keys))
	}
	publish(t, l, topic, batch...)

	sub, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g", MaxInFlight: 8, NackResendSleep: time.Millisecond}, topic)
	var (
		mu        sync.Mutex
		busy      = map[string]bool{}
		order     = map[string][]int64{}
		inFlight  int
		maxFlight int
		seen      atomic.Int64
	)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range ch {
				key, pos := m.Metadata.Get(eventlog.MetaPartitionKey), position(t, m)
				mu.Lock()
				if busy[key] {
					t.Errorf("two messages of key %s out at once", key)
				}
				busy[key] = true
				inFlight++
				maxFlight = max(maxFlight, inFlight)
				mu.Unlock()
				time.Sleep(50 * time.Microsecond)
				nack := (pos+int64(w))%17 == 0
				mu.Lock()
				busy[key] = false
				inFlight--
				if !nack {
					order[key] = append(order[key], pos)
				}
				mu.Unlock()
				if nack {
					m.Nack()
					continue
				}
				m.Ack()
				seen.Add(1)
			}
		}()
	}
	waitCommitted(t, l, topic, "g", n)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait() // the workers end when the channel closes
	if seen.Load() != n {
		t.Errorf("%d acks, want %d", seen.Load(), n)
	}
	for k := range keys {
		key := fmt.Sprint("k", k)
		if !slices.IsSorted(order[key]) || len(order[key]) != n/keys+map[bool]int{true: 1}[k < n%keys] {
			t.Errorf("key %s acked %d messages in order %v", key, len(order[key]), order[key])
		}
	}
	if maxFlight < 2 || maxFlight > 8 {
		t.Errorf("at most %d messages out at once, want 2..8 (different keys run concurrently)", maxFlight)
	}
}

// TestPublishWakesSubscriber: with polling an hour apart, only the in-process wake-up can
// deliver in time.
func TestPublishWakesSubscriber(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g", PollInterval: time.Hour}, topic)
	var worst time.Duration
	for i := range 20 {
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		start := time.Now()
		publish(t, l, topic, msg(fmt.Sprint(i), ""))
		select {
		case m := <-ch:
			worst = max(worst, time.Since(start))
			m.Ack()
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d not delivered: no wake-up", i)
		}
	}
	t.Logf("slowest publish-to-delivery: %s", worst)
}

func TestOneActiveSubscriptionPerGroup(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	for i := range 6 {
		publish(t, l, topic, msg(fmt.Sprint(i+1), ""))
	}
	cfg := boltlog.SubscriberConfig{ConsumerGroup: "g", CommitInterval: time.Hour}
	first, ch1 := subscribe(t, l, cfg, topic)
	receive(t, ch1).Ack() // first is the active one
	_, ch2 := subscribe(t, l, cfg, topic)
	receive(t, ch1).Ack()
	nothing(t, ch2, "the group is active in another subscription")
	if err := l.ResetGroup(topic, "g"); !errors.Is(err, boltlog.ErrGroupActive) {
		t.Errorf("ResetGroup() while subscribed = %v, want ErrGroupActive", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, ch2); position(t, m) != 3 {
		t.Fatalf("takeover starts at %d, want 3", position(t, m))
	}
}

func TestResetGroup(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	publish(t, l, topic, msg("a", ""), msg("b", ""))
	sub, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	receive(t, ch).Ack()
	receive(t, ch).Ack()
	waitCommitted(t, l, topic, "g", 2)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.ResetGroup(topic, "g"); err != nil {
		t.Fatal(err)
	}
	if c, _ := l.Committed(topic, "g"); c != 0 {
		t.Fatalf("Committed() after reset = %d", c)
	}
	_, ch = subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	if m := receive(t, ch); m.UUID != "a" {
		t.Fatalf("after reset got %s, want a", m.UUID)
	}
	if err := l.ResetGroup("never.published", "g"); err != nil {
		t.Errorf("ResetGroup of an unknown topic = %v", err)
	}
	if err := l.ResetGroup(topic, ""); err == nil {
		t.Error("ResetGroup accepted an empty group")
	}
}

func TestNackRedelivers(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	publish(t, l, topic, msg("a", "k"), msg("b", "k"))
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g", NackResendSleep: 30 * time.Millisecond}, topic)
	a := receive(t, ch)
	a.Nack()
	again := receive(t, ch)
	if again.UUID != "a" || position(t, again) != 1 {
		t.Fatalf("after a nack got %s at %d, want a at 1", again.UUID, position(t, again))
	}
	time.Sleep(20 * time.Millisecond)
	if c, _ := l.Committed(topic, "g"); c != 0 {
		t.Fatalf("Committed() = %d before any ack", c)
	}
	again.Ack()
	receive(t, ch).Ack()
	waitCommitted(t, l, topic, "g", 2)
}

func TestSubscribeContext(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	publish(t, l, topic, msg("a", ""), msg("b", ""))
	sub, err := l.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	m := receive(t, ch)
	if m.Context().Value(key{}) != "v" {
		t.Error("message context does not carry Subscribe's context")
	}
	m.Ack()
	cancel()
	for range ch { // drains, then closes
	}
	if c, _ := l.Committed(topic, "g"); c != 1 {
		t.Errorf("Committed() = %d after the subscription ended, want 1", c)
	}
}

func TestClose(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	pub := l.Publisher()
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(topic, msg("a", "")); !errors.Is(err, boltlog.ErrClosed) {
		t.Errorf("Publish on a closed publisher = %v", err)
	}
	publish(t, l, topic, msg("a", "")) // other handles keep working

	sub, err := l.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: "g"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), "topic.without.messages")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Error("channel open after Log.Close")
	}
	if _, err := sub.Subscribe(context.Background(), topic); !errors.Is(err, boltlog.ErrClosed) {
		t.Errorf("Subscribe after Close = %v", err)
	}
	if err := l.Publisher().Publish(topic, msg("b", "")); !errors.Is(err, boltlog.ErrClosed) {
		t.Errorf("Publish after Log.Close = %v", err)
	}
	if _, err := l.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: "g"}); !errors.Is(err, boltlog.ErrClosed) {
		t.Errorf("Subscriber after Log.Close = %v", err)
	}
	if _, err := l.HighWater(topic); !errors.Is(err, boltlog.ErrClosed) {
		t.Errorf("HighWater after Log.Close = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	_, path := openLog(t, boltlog.Options{})
	start := time.Now()
	_, err := boltlog.Open(path, boltlog.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second Open = %v, want a lock error", err)
	}
	// bbolt retries the lock every 50 ms and gives up one retry before the timeout.
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("gave up after %s instead of waiting for the lock", waited)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"subscriber defaults", boltlog.SubscriberConfig{ConsumerGroup: "g"}.Validate(), nil},
		{"no group", boltlog.SubscriberConfig{}.Validate(), []string{"consumer group"}},
		{"long group", boltlog.SubscriberConfig{ConsumerGroup: strings.Repeat("g", 256)}.Validate(), []string{"consumer group"}},
		{"subscriber all wrong", boltlog.SubscriberConfig{MaxInFlight: -1, NackResendSleep: -2, CommitInterval: -1, PollInterval: -1}.Validate(),
			[]string{"consumer group", "MaxInFlight", "NackResendSleep", "CommitInterval", "PollInterval"}},
		{"options defaults", boltlog.Options{}.Validate(), nil},
		{"options all wrong", boltlog.Options{LockTimeout: -1, MaxBatchMessages: -1}.Validate(), []string{"LockTimeout", "MaxBatchMessages"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) == 0 {
				if tc.err != nil {
					t.Fatalf("Validate() = %v", tc.err)
				}
				return
			}
			if tc.err == nil {
				t.Fatalf("Validate() = nil, want errors about %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(tc.err.Error(), w) {
					t.Errorf("Validate() = %q, lacks %q", tc.err, w)
				}
			}
		})
	}
	l, _ := openLog(t, boltlog.Options{})
	if _, err := l.Subscriber(boltlog.SubscriberConfig{}); err == nil {
		t.Error("Subscriber accepted a config without a group")
	}
	if _, err := boltlog.Open(t.TempDir()+"/x.db", boltlog.Options{MaxBatchMessages: -1}); err == nil {
		t.Error("Open accepted invalid options")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, _ := openLog(t, boltlog.Options{Registerer: reg})
	publish(t, l, topic, msg("a", ""), msg("b", ""), msg("c", ""))
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	receive(t, ch).Ack()
	b := receive(t, ch) // out, not acked
	defer b.Ack()
	waitCommitted(t, l, topic, "g", 1)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"fangxin_boltlog_high_water", []string{topic}, 3},
		{"fangxin_boltlog_appended_messages_total", []string{topic}, 3},
		{"fangxin_boltlog_committed_position", []string{topic, "g"}, 1},
		{"fangxin_boltlog_in_flight_messages", []string{topic, "g"}, 1},
		{"fangxin_boltlog_delivered_messages_total", []string{topic, "g"}, 2},
	} {
		deadline := time.Now().Add(5 * time.Second) // reported on the commit ticks
		for got := gauge(t, reg, c.name, c.labels...); got != c.want; got = gauge(t, reg, c.name, c.labels...) {
			if time.Now().After(deadline) {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if n, _ := histogram(t, reg, "fangxin_boltlog_commit_seconds"); n == 0 {
		t.Error("no commit observed")
	}
}

// gauge reads a counter or gauge from reg: the one whose label values are labels (topic, then
// group); NaN if there is none.
func gauge(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"topic", "group"}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				i := slices.Index(names, lp.GetName())
				if i < 0 || i >= len(labels) || lp.GetValue() != labels[i] {
					continue metric
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return math.NaN() // not there (yet)
}

// histogram returns a histogram's sample count and sum.
func histogram(t testing.TB, reg *prometheus.Registry, name string) (count, sum int) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return int(h.GetSampleCount()), int(h.GetSampleSum())
		}
	}
	t.Fatalf("no metric %s", name)
	return 0, 0
}

func TestSetCommitted(t *testing.T) {
	l, _ := openLog(t, boltlog.Options{})
	publish(t, l, topic, msg("a", ""), msg("b", ""), msg("c", ""))
	if err := l.SetCommitted(topic, "g", 2); err != nil {
		t.Fatal(err)
	}
	if c, _ := l.Committed(topic, "g"); c != 2 {
		t.Fatalf("Committed() after SetCommitted(2) = %d", c)
	}
	sub, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: "g"}, topic)
	if m := receive(t, ch); m.UUID != "c" {
		t.Fatalf("after SetCommitted(2) got %s, want c", m.UUID)
	}
	if err := l.SetCommitted(topic, "g", 0); !errors.Is(err, boltlog.ErrGroupActive) {
		t.Errorf("SetCommitted() while subscribed = %v, want ErrGroupActive", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		group string
		pos   int64
	}{{"", 1}, {"g", -1}} {
		if err := l.SetCommitted(topic, bad.group, bad.pos); err == nil {
			t.Errorf("SetCommitted(%q, %d) accepted", bad.group, bad.pos)
		}
	}
}
