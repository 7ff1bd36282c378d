package kafkasink_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
	"github.com/lizhou/fangxin/events"
)

// The shipped penalties example, sent twice straight into a real Kafka topic (the second time
// with its state wiped, as after a lost state folder): every message is a valid CloudEvent in
// the log's binary mode, keyed by the merchant, and both runs carry the same ids, so the
// views, which deduplicate on (source, id), count each penalty once.
func TestKafkaSinkAgainstRealBroker(t *testing.T) {
	brokers := os.Getenv("FANGXIN_KAFKA_BROKERS")
	if brokers == "" {
		t.Skip("FANGXIN_KAFKA_BROKERS is unset: no Kafka broker to test against (eval \"$(scripts/stack.sh env)\")")
	}
	topic := "connectors-test-" + time.Now().UTC().Format("20060102T150405.000000000")
	topic = strings.ReplaceAll(topic, ".", "-")
	t.Cleanup(func() { deleteTopic(t, brokers, topic) })

	dir := t.TempDir()
	for _, f := range []string{"amr-penalties.xlsx"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	cfg := `name: amr-penalties
bureau: amr
source: {kind: xlsx, path: amr-penalties.xlsx}
sink: {kind: kafka, brokers: "${FANGXIN_KAFKA_BROKERS}", topic: ` + topic + `}
mapping:
  type: {const: penalty.imposed}
  key: [行政处罚决定书文号]
  subject: 统一社会信用代码
  time: 处罚决定日期
  data:
    decision_no: 行政处罚决定书文号
    kind: {column: 处罚种类, map: {警告: warning, 罚款: fine, 没收违法所得: confiscation}}
    legal_basis: 处罚依据
    decided_at: 处罚决定日期
    fine_cny: {column: 罚没款金额, optional: true}
`
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte(cfg), 0o644)
	for run := 1; run <= 2; run++ {
		l, err := connectors.Load(path, kinds.All())
		if err != nil {
			t.Fatal(err)
		}
		st, err := connectors.Run(context.Background(), l, connectors.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Sent != 5 || st.DeadLettered != 0 {
			t.Fatalf("run %d: %+v, want 5 sent", run, st)
		}
		os.RemoveAll(filepath.Join(dir, "state"))
	}

	sub, err := kafkalog.NewSubscriber(kafkalog.SubscriberConfig{
		Config:        kafkalog.Config{Brokers: strings.Split(brokers, ","), Topics: []string{}},
		ConsumerGroup: topic + "-reader",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for n := 0; n < 10; n++ {
		select {
		case m := <-msgs:
			ev, err := eventlog.FromMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			if ps := events.Validate(ev, "amr"); len(ps) > 0 {
				t.Errorf("invalid event in the log: %v", ps)
			}
			if m.Metadata.Get(eventlog.MetaPartitionKey) != ev.Subject {
				t.Errorf("message key %q, want the subject %q", m.Metadata.Get(eventlog.MetaPartitionKey), ev.Subject)
			}
			seen[ev.Key()]++
			m.Ack()
		case <-ctx.Done():
			t.Fatalf("read %d of 10 messages before the deadline", n)
		}
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct event keys in 10 messages, want 5 (the same ids both runs): %v", len(seen), seen)
	}
	for k, n := range seen {
		if n != 2 {
			t.Errorf("%s: %d messages, want 2", k, n)
		}
	}
}

func deleteTopic(t *testing.T, brokers, topic string) {
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Timeout: 10 * time.Second, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}}); err != nil {
		t.Logf("deleting test topic: %v", err)
	}
	_, _ = c.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{topic + "-reader"}})
}
