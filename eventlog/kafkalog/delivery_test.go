package kafkalog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
	"github.com/lizhou/fangxin/eventlog/logtest"
)

// keyed returns a message with a partition key and a sequence number within the key.
func keyed(key string, seq int) *message.Message {
	m := message.NewMessage(watermill.NewUUID(), []byte(key+"/"+strconv.Itoa(seq)))
	m.Metadata.Set(eventlog.MetaPartitionKey, key)
	m.Metadata.Set("seq", strconv.Itoa(seq))
	return m
}

func seqOf(t *testing.T, m *message.Message) (string, int) {
	t.Helper()
	seq, err := strconv.Atoi(m.Metadata.Get("seq"))
	if err != nil {
		t.Fatalf("message %s has no seq: %v", m.UUID, err)
	}
	return m.Metadata.Get(eventlog.MetaPartitionKey), seq
}

type groupOffsets struct {
	committed map[int]int64 // partition -> committed offset (-1: none)
	end       map[int]int64 // partition -> high watermark
}

func offsets(t *testing.T, topic, group string, partitions int) groupOffsets {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(brokers(t)...), Transport: tr, Timeout: 10 * time.Second}
	ctx := context.Background()
	ps := make([]int, partitions)
	reqs := make([]kafka.OffsetRequest, partitions)
	for i := range ps {
		ps[i] = i
		reqs[i] = kafka.LastOffsetOf(i)
	}
	of, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		t.Fatal(err)
	}
	lo, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatal(err)
	}
	g := groupOffsets{committed: map[int]int64{}, end: map[int]int64{}}
	for _, p := range of.Topics[topic] {
		g.committed[p.Partition] = p.CommittedOffset
	}
	for _, p := range lo.Topics[topic] {
		g.end[p.Partition] = p.LastOffset
	}
	return g
}

// The committed position stops before the oldest unacknowledged message, even when every later
// message was acknowledged; a late ack after Close changes nothing; the next member starts at
// the unacknowledged message.
func TestCommitStopsAtOldestUnacked(t *testing.T) {
	topic := topicName(t)
	cfg := subConfig(t, "commit-"+watermill.NewShortUUID())
	cfg.Topic.Partitions = 1
	pcfg := kafkalog.PublisherConfig{Config: cfg.Config}
	pub, err := kafkalog.NewPublisher(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var msgs []*message.Message
	for i := range 10 {
		msgs = append(msgs, keyed("k"+strconv.Itoa(i), 0)) // distinct keys: all may be in flight
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatal(err)
	}

	sub := newSubscriber(t, cfg)
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var held *message.Message
	deadline := time.After(30 * time.Second)
	for n := 0; n < 10; n++ {
		select {
		case m := <-ch:
			if pos, _ := eventlog.PositionOf(m); pos.Offset == 3 {
				held = m
				continue
			}
			m.Ack()
		case <-deadline:
			t.Fatalf("received %d of 10", n)
		}
	}
	time.Sleep(3 * cfg.CommitInterval)
	if got := offsets(t, topic, cfg.ConsumerGroup, 1).committed[0]; got != 3 {
		t.Errorf("committed %d while offset 3 is unacknowledged, want 3", got)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.Context().Done():
	default:
		t.Error("the held message's context is not canceled after Close")
	}
	held.Ack() // too late: ignored
	if got := offsets(t, topic, cfg.ConsumerGroup, 1).committed[0]; got != 3 {
		t.Errorf("committed %d after Close with offset 3 unacknowledged, want 3", got)
	}

	sub2 := newSubscriber(t, cfg)
	defer sub2.Close()
	ch2, err := sub2.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, ch2, 7, 30*time.Second)
	seen := map[int64]bool{}
	for _, m := range got {
		pos, _ := eventlog.PositionOf(m)
		seen[pos.Offset] = true
	}
	for off := int64(3); off < 10; off++ {
		if !seen[off] {
			t.Errorf("offset %d not delivered again after the restart", off)
		}
	}
	if err := sub2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := offsets(t, topic, cfg.ConsumerGroup, 1).committed[0]; got != 10 {
		t.Errorf("committed %d after everything was acknowledged, want 10", got)
	}
}

// orderChecker consumes with many workers and checks the per-key contract: never two messages
// of a key out at once, and a key's next delivery is always the one after its last
// acknowledged message (a nacked message comes again before anything later of its key).
type orderChecker struct {
	t      *testing.T
	mu     sync.Mutex
	acked  map[string]int // key -> last acked seq in this run (-1 none)
	first  map[string]int // key -> first seq delivered in this run
	busy   map[string]bool
	total  atomic.Int64
	nacks  atomic.Int64
	failed atomic.Bool
}

func newOrderChecker(t *testing.T) *orderChecker {
	return &orderChecker{t: t, acked: map[string]int{}, first: map[string]int{}, busy: map[string]bool{}}
}

func (c *orderChecker) errorf(format string, args ...any) {
	c.failed.Store(true)
	c.t.Errorf(format, args...)
}

// handle processes one message: verdict after a short random delay, 5 % nacks.
func (c *orderChecker) handle(m *message.Message) {
	key, seq := seqOf(c.t, m)
	c.mu.Lock()
	if c.busy[key] {
		c.errorf("key %s: seq %d handed out while another message of the key is out", key, seq)
	}
	c.busy[key] = true
	last, ok := c.acked[key]
	if !ok {
		c.first[key] = seq
	} else if seq != last+1 {
		c.errorf("key %s: seq %d delivered after seq %d was acknowledged", key, seq, last)
	}
	c.mu.Unlock()

	time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	nack := rand.IntN(20) == 0

	c.mu.Lock()
	c.busy[key] = false
	if !nack {
		c.acked[key] = seq
	}
	c.mu.Unlock()
	if nack {
		c.nacks.Add(1)
		m.Nack()
		return
	}
	c.total.Add(1)
	m.Ack()
}

// consume runs workers over ch until stop returns true or timeout passes.
func (c *orderChecker) consume(ch <-chan *message.Message, workers int, timeout time.Duration, stop func() bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if stop() {
					cancel()
					return
				}
				select {
				case m, ok := <-ch:
					if !ok {
						return
					}
					c.handle(m)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Per-key order holds across partitions, concurrent handlers, nacks and a restart of the
// member; the restarted member skips nothing.
func TestPerKeyOrderAcrossPartitionsNacksAndRestart(t *testing.T) {
	const keys, perKey = 40, 25
	topic := topicName(t)
	cfg := subConfig(t, "order-"+watermill.NewShortUUID())
	cfg.MaxInFlight = 16
	cfg.NackResendSleep = 5 * time.Millisecond

	pub := newPublisher(t)
	defer pub.Close()
	var wg sync.WaitGroup
	for w := range 8 { // keys published concurrently, each key's messages in order
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < keys; k += 8 {
				key := fmt.Sprintf("merchant-%02d", k)
				for s := 0; s < perKey; s += 5 {
					batch := []*message.Message{keyed(key, s), keyed(key, s+1), keyed(key, s+2), keyed(key, s+3), keyed(key, s+4)}
					if err := pub.Publish(topic, batch...); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()

	run1 := newOrderChecker(t)
	sub := newSubscriber(t, cfg)
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	run1.consume(ch, 16, 60*time.Second, func() bool { return run1.total.Load() >= keys*perKey/2 })
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	for range ch { // drain: the channel closes after Close
	}
	t.Logf("run 1: %d acked, %d nacked", run1.total.Load(), run1.nacks.Load())
	for key, first := range run1.first {
		if first != 0 {
			t.Errorf("key %s: a new group's first delivery is seq %d, want 0", key, first)
		}
	}

	run2 := newOrderChecker(t)
	done := func() bool {
		run2.mu.Lock()
		defer run2.mu.Unlock()
		for k := range keys {
			key := fmt.Sprintf("merchant-%02d", k)
			last, ok := run2.acked[key]
			if prev, ok1 := run1.acked[key]; !ok && ok1 && prev == perKey-1 {
				continue // finished in run 1, nothing left to redeliver
			}
			if !ok || last != perKey-1 {
				return false
			}
		}
		return true
	}
	sub2 := newSubscriber(t, cfg)
	defer sub2.Close()
	ch2, err := sub2.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	run2.consume(ch2, 16, 60*time.Second, done)
	if !done() {
		t.Fatal("run 2 did not deliver every remaining message in time")
	}
	redelivered := 0
	for key, first := range run2.first {
		last1, ok := run1.acked[key]
		if !ok {
			last1 = -1
		}
		if first > last1+1 {
			t.Errorf("key %s: run 2 started at seq %d, run 1 acknowledged up to %d: skipped messages", key, first, last1)
		}
		redelivered += last1 + 1 - first
	}
	t.Logf("run 2: %d acked, %d nacked; %d messages acknowledged in run 1 delivered again (acked after the committed position)",
		run2.total.Load(), run2.nacks.Load(), redelivered)
}

// When a second member joins, the first drops the work of its old assignment: the messages it
// holds get canceled contexts and the new owners deliver them again. Acks of dropped messages that
// come after the new generation started commit nothing: a partition whose redelivered first
// message is unacknowledged stays committed before it.
func TestRebalanceDropsRevokedWorkWithoutCommitting(t *testing.T) {
	const n = 40
	topic := topicName(t)
	cfg := subConfig(t, "rebalance-"+watermill.NewShortUUID())
	pub := newPublisher(t)
	defer pub.Close()
	var msgs []*message.Message
	for i := range n {
		msgs = append(msgs, keyed(fmt.Sprintf("merchant-%02d", i), 0))
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatal(err)
	}

	a := newSubscriber(t, cfg)
	defer a.Close()
	chA, err := a.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var held []*message.Message // never acknowledged by A
	deadline := time.After(30 * time.Second)
	for len(held) < n {
		select {
		case m := <-chA:
			held = append(held, m)
		case <-deadline:
			t.Fatalf("member A received %d of %d", len(held), n)
		}
	}

	b := newSubscriber(t, cfg)
	defer b.Close()
	chB, err := b.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, m := range held {
		select {
		case <-m.Context().Done():
		case <-time.After(30 * time.Second):
			t.Fatal("member A kept its messages 30 s after member B joined")
		}
	}
	t.Logf("member A dropped its work %s after member B joined", time.Since(start).Round(time.Millisecond))

	// Every message comes again, from A or B. Keep the first one redelivered at offset 0 of its
	// partition unacknowledged.
	seen := map[string]string{}
	var pinned *message.Message
	fromB := 0
	deadline = time.After(60 * time.Second)
	for len(seen) < n {
		var m *message.Message
		who := "A"
		select {
		case m = <-chA:
		case m = <-chB:
			who = "B"
		case <-deadline:
			t.Fatalf("after the rebalance %d of %d messages came again", len(seen), n)
		}
		key, _ := seqOf(t, m)
		if _, dup := seen[key]; !dup && who == "B" {
			fromB++
		}
		seen[key] = who
		if pos, _ := eventlog.PositionOf(m); pinned == nil && pos.Offset == 0 {
			pinned = m
			continue
		}
		m.Ack()
	}
	if fromB == 0 {
		t.Error("member B received nothing: no partition moved")
	}
	t.Logf("after the rebalance: %d messages from B, %d from A", fromB, n-fromB)

	// The dropped copies are acknowledged now, after the new generation started: ignored.
	for _, m := range held {
		m.Ack()
	}
	pinnedPos, _ := eventlog.PositionOf(pinned)
	time.Sleep(3 * cfg.CommitInterval)
	got := offsets(t, topic, cfg.ConsumerGroup, 4)
	for p, end := range got.end {
		c := got.committed[p]
		switch {
		case p == int(pinnedPos.Partition) && c > 0:
			t.Errorf("partition %d committed at %d while offset 0 is unacknowledged (its dropped copy was acked late)", p, c)
		case p != int(pinnedPos.Partition) && end > 0 && c != end:
			t.Errorf("partition %d committed at %d, want its end %d", p, c, end)
		}
	}

	pinned.Ack()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got = offsets(t, topic, cfg.ConsumerGroup, 4)
	for p, end := range got.end {
		if end > 0 && got.committed[p] != end {
			t.Errorf("partition %d committed at %d after everything was acknowledged, end %d", p, got.committed[p], end)
		}
	}
}

func TestInterest(t *testing.T) {
	topic := topicName(t)
	pub := newPublisher(t)
	defer pub.Close()
	logtest.TestInterest(t, logtest.Backend{
		Publisher: pub,
		Subscriber: func(t *testing.T, group string, want eventlog.Interest) message.Subscriber {
			cfg := subConfig(t, group)
			cfg.Interest = want
			sub, err := kafkalog.NewSubscriber(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return sub
		},
		Topic: topic,
		Wait:  30 * time.Second,
	})
}
