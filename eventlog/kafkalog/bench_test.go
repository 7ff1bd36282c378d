package kafkalog_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
	"github.com/lizhou/fangxin/events"
)

// benchMessages returns n events of ~500 B about 1,000 merchants, as the gateway publishes them.
func benchMessages(n int) []*message.Message {
	base := events.Example("complaint.received")
	msgs := make([]*message.Message, n)
	for i := range msgs {
		ev := base
		ev.ID = fmt.Sprintf("bench-%d", i)
		ev.Subject = events.DemoUSCC(i % 1000)
		msgs[i] = eventlog.ToMessage(ev)
	}
	return msgs
}

// BenchmarkPublish compares the Publisher with a raw kafka-go Writer set up the same way (acks
// all, murmur2 keys, 2 ms linger) writing byte-identical records, in the same process, on a
// 12-partition topic of the real broker. "callers=N" runs N goroutines that each publish one
// message per call and wait for its ack: the gateway's path. "batch=500" publishes 500 messages
// per call from one goroutine. Reported: msgs/s, and the latency of one call (ack) at p50 and
// p99.
func BenchmarkPublish(b *testing.B) {
	cfg := base(b)
	cfg.Topic.Partitions = kafkalog.DefaultPartitions
	cfg.Logger = nil
	pub, err := kafkalog.NewPublisher(kafkalog.PublisherConfig{Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	topic := topicName(b)
	if err := pub.Publish(topic, benchMessages(1)...); err != nil { // creates the topic
		b.Fatal(err)
	}
	tr := &kafka.Transport{ClientID: "kafkalog-bench"}
	defer tr.CloseIdleConnections()
	raw := &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Balancer:     kafka.Murmur2Balancer{Consistent: true},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: kafkalog.DefaultLinger,
		BatchSize:    kafkalog.DefaultBatchSize,
		MaxAttempts:  kafkalog.DefaultMaxAttempts,
		Transport:    tr,
	}
	defer raw.Close()

	const pool = 20000
	msgs := benchMessages(pool)
	recs := make([]kafka.Message, pool)
	for i, m := range msgs {
		recs[i] = kafkalog.ToKafka(topic, m)
	}
	viaPublisher := func(i, n int) error {
		batch := make([]*message.Message, n)
		for j := range batch {
			batch[j] = msgs[(i+j)%pool]
		}
		return pub.Publish(topic, batch...)
	}
	viaWriter := func(i, n int) error {
		batch := make([]kafka.Message, n)
		for j := range batch {
			batch[j] = recs[(i+j)%pool]
		}
		return raw.WriteMessages(context.Background(), batch...)
	}

	for _, shape := range []struct {
		callers, batch int
	}{{1, 1}, {64, 1}, {1, 500}} {
		for _, impl := range []struct {
			name  string
			write func(i, n int) error
		}{{"publisher", viaPublisher}, {"kafka-go-writer", viaWriter}} {
			name := fmt.Sprintf("%s/callers=%d/batch=%d", impl.name, shape.callers, shape.batch)
			b.Run(name, func(b *testing.B) {
				runPublish(b, shape.callers, shape.batch, impl.write)
			})
		}
	}
}

func runPublish(b *testing.B, callers, batch int, write func(i, n int) error) {
	calls := (b.N + batch - 1) / batch
	var next atomic.Int64
	lat := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(calls) {
					return
				}
				t0 := time.Now()
				if err := write(int(i)*batch, batch); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(calls*batch)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
