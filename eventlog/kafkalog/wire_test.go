package kafkalog_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// receive takes n messages from ch, acking each, or fails after timeout.
func receive(t *testing.T, ch <-chan *message.Message, n int, timeout time.Duration) []*message.Message {
	t.Helper()
	var got []*message.Message
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d messages", len(got), n)
			}
			m.Ack()
			got = append(got, m)
		case <-deadline:
			t.Fatalf("received %d of %d messages in %s", len(got), n, timeout)
		}
	}
	return got
}

// readRaw reads every record of topic with kafka-go's low-level Fetch, partition by partition.
// A fetch that fails (a busy broker in CI) is asked again until a minute has passed.
func readRaw(t *testing.T, topic string, partitions int) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(brokers(t)...), Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for p := range partitions {
		res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{
			Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(p)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		end := res.Topics[topic][0].LastOffset
		for next := int64(0); next < end; {
			recs, err := fetch(ctx, c, topic, p, next)
			if err != nil {
				if ctx.Err() != nil {
					t.Fatalf("reading partition %d at offset %d: %v", p, next, err)
				}
				t.Logf("reading partition %d at offset %d: %v (asking again)", p, next, err)
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for _, m := range recs {
				if m.Offset >= next && m.Offset < end {
					out = append(out, m)
					next = m.Offset + 1
				}
			}
		}
	}
	return out
}

// fetch returns the records of one Fetch of topic/partition from offset on.
func fetch(ctx context.Context, c *kafka.Client, topic string, partition int, offset int64) ([]kafka.Message, error) {
	res, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: partition, Offset: offset,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: time.Second})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, res.Error
	}
	var out []kafka.Message
	for {
		r, err := res.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		m := kafka.Message{Topic: topic, Partition: partition, Offset: r.Offset, Time: r.Time}
		for _, h := range r.Headers { // valid only until the next ReadRecord
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: bytes.Clone(h.Value)})
		}
		if m.Key, err = readBytes(r.Key); err == nil {
			m.Value, err = readBytes(r.Value)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
}

func readBytes(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	return io.ReadAll(b)
}

func header(m kafka.Message, key string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func sameEvent(t *testing.T, got, want events.Event) {
	t.Helper()
	if got.SpecVersion != want.SpecVersion || got.ID != want.ID || got.Source != want.Source || got.Type != want.Type ||
		got.Subject != want.Subject || !got.Time.Equal(want.Time) || got.DataSchema != want.DataSchema ||
		!bytes.Equal(got.Data, want.Data) {
		t.Errorf("decoded event differs:\n got %+v\nwant %+v", got, want)
	}
}

// TestWireFormat checks the records the Publisher writes (CloudEvents Kafka binding, binary mode)
// with a plain reader, then reads them back through the Subscriber.
func TestWireFormat(t *testing.T) {
	topic := topicName(t)
	pub := newPublisher(t)
	defer pub.Close()
	ev := events.Example("complaint.received")
	if ev.Subject == "" {
		t.Fatal("example event has no subject")
	}
	msg := eventlog.ToMessage(ev)
	if err := pub.Publish(topic, msg); err != nil {
		t.Fatal(err)
	}

	recs := readRaw(t, topic, 4)
	if len(recs) != 1 {
		t.Fatalf("topic holds %d records, want 1", len(recs))
	}
	rec := recs[0]
	if string(rec.Key) != ev.Subject {
		t.Errorf("record key %q, want the subject %q", rec.Key, ev.Subject)
	}
	if !bytes.Equal(rec.Value, ev.Data) {
		t.Errorf("record value %s, want the event data %s", rec.Value, ev.Data)
	}
	for k, v := range msg.Metadata {
		if got, ok := header(rec, k); !ok || got != v {
			t.Errorf("header %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "content-type"} {
		if _, ok := header(rec, k); !ok {
			t.Errorf("record lacks header %s", k)
		}
	}
	if got, _ := header(rec, "_watermill_message_uuid"); got != msg.UUID {
		t.Errorf("uuid header %q, want %q", got, msg.UUID)
	}

	sub := newSubscriber(t, subConfig(t, "wire-"+watermill.NewShortUUID()))
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, ch, 1, 30*time.Second)[0]
	dec, err := eventlog.FromMessage(got)
	if err != nil {
		t.Fatal(err)
	}
	sameEvent(t, dec, ev)
	if got.UUID != msg.UUID {
		t.Errorf("uuid %s, want %s", got.UUID, msg.UUID)
	}
	pos, ok := eventlog.PositionOf(got)
	if !ok || pos.Partition != int32(rec.Partition) || pos.Offset != rec.Offset {
		t.Errorf("position %v (%v), want %d:%d", pos, ok, rec.Partition, rec.Offset)
	}
	if got.Metadata.Get(eventlog.MetaPartitionKey) != ev.Subject {
		t.Errorf("partition key metadata %q, want %q", got.Metadata.Get(eventlog.MetaPartitionKey), ev.Subject)
	}
}

// foreignRecord is what a CloudEvents producer in another language writes: ce_ headers,
// content-type, key = subject, and no watermill UUID.
func foreignRecord(topic string, ev events.Event) kafka.Message {
	return kafka.Message{
		Topic: topic,
		Key:   []byte(ev.Subject),
		Value: ev.Data,
		Headers: []kafka.Header{
			{Key: "ce_specversion", Value: []byte("1.0")},
			{Key: "ce_id", Value: []byte(ev.ID)},
			{Key: "ce_source", Value: []byte(ev.Source)},
			{Key: "ce_type", Value: []byte(ev.Type)},
			{Key: "ce_subject", Value: []byte(ev.Subject)},
			{Key: "ce_time", Value: []byte(ev.Time.UTC().Format(time.RFC3339Nano))},
			{Key: "content-type", Value: []byte("application/json")},
		},
	}
}

// A record without the watermill UUID header decodes with eventlog.FromMessage and gets the
// UUID eventlog.ToMessage would have given the same event.
func TestForeignProducerRecordDecodes(t *testing.T) {
	topic := topicName(t)
	sub := newSubscriber(t, subConfig(t, "foreign-"+watermill.NewShortUUID()))
	defer sub.Close()
	if err := sub.SubscribeInitialize(topic); err != nil {
		t.Fatal(err)
	}

	ev := events.Example("penalty.imposed")
	ev.ID = "foreign-" + watermill.NewShortUUID()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers(t)...), Balancer: kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, Transport: tr}
	if err := w.WriteMessages(context.Background(), foreignRecord(topic, ev)); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()

	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, ch, 1, 30*time.Second)[0]
	dec, err := eventlog.FromMessage(got)
	if err != nil {
		t.Fatal(err)
	}
	sameEvent(t, dec, ev)
	if want := eventlog.MessageUUID(ev); got.UUID != want {
		t.Errorf("uuid %s, want eventlog.MessageUUID %s", got.UUID, want)
	}
	if got.Metadata.Get(eventlog.MetaPartitionKey) != ev.Subject {
		t.Errorf("partition key %q, want %q", got.Metadata.Get(eventlog.MetaPartitionKey), ev.Subject)
	}
	if _, ok := eventlog.PositionOf(got); !ok {
		t.Error("no position")
	}
}

// kcat (librdkafka, C) with the Java-compatible partitioner puts a key on the same partition as
// the Publisher, so a merchant's events from producers in different languages stay in order.
// Eight merchants: a chance agreement of all eight on four partitions is 1 in 65,536.
func TestKcatProducerSharesPartitionsAndDecodes(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("skipped: kcat is not installed (scripts/stack.sh deps installs it from Debian)")
	}
	topic := topicName(t)
	pub := newPublisher(t)
	defer pub.Close()

	const merchants = 8
	var ours, theirs []events.Event
	for i := range merchants {
		ev := events.Example("complaint.received")
		ev.Subject = events.DemoUSCC(1000 + i)
		ev.ID = "go-" + watermill.NewShortUUID()
		if err := pub.Publish(topic, eventlog.ToMessage(ev)); err != nil {
			t.Fatal(err)
		}
		ours = append(ours, ev)
	}
	for i := range merchants {
		ev := ours[i]
		ev.ID = "kcat-" + watermill.NewShortUUID()
		ev.Time = ev.Time.Add(time.Minute)
		rec := foreignRecord(topic, ev)
		args := []string{"-P", "-b", strings.Join(brokers(t), ","), "-t", topic, "-k", ev.Subject,
			"-X", "partitioner=murmur2_random", "-X", "acks=all"}
		for _, h := range rec.Headers {
			args = append(args, "-H", h.Key+"="+string(h.Value))
		}
		cmd := exec.Command(kcat, args...)
		// JSON never holds a raw newline inside a string, so dropping them keeps one line.
		cmd.Stdin = bytes.NewReader(append(bytes.ReplaceAll(ev.Data, []byte("\n"), nil), '\n'))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
		theirs = append(theirs, ev)
	}

	sub := newSubscriber(t, subConfig(t, "kcat-"+watermill.NewShortUUID()))
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	byUUID := map[string]*message.Message{}
	for _, m := range receive(t, ch, 2*merchants, 30*time.Second) {
		byUUID[m.UUID] = m
	}
	for i := range merchants {
		a, b := byUUID[eventlog.MessageUUID(ours[i])], byUUID[eventlog.MessageUUID(theirs[i])]
		if a == nil || b == nil {
			t.Fatalf("merchant %d: Publisher's event received %v, kcat's %v", i, a != nil, b != nil)
		}
		pa, _ := eventlog.PositionOf(a)
		pb, _ := eventlog.PositionOf(b)
		if pa.Partition != pb.Partition {
			t.Errorf("merchant %s: partition %d from the Publisher, %d from kcat", ours[i].Subject, pa.Partition, pb.Partition)
		} else if pa.Offset >= pb.Offset {
			t.Errorf("merchant %s: offsets %d then %d, want the Publisher's first", ours[i].Subject, pa.Offset, pb.Offset)
		}
		dec, err := eventlog.FromMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		sameEvent(t, dec, theirs[i])
	}
}
