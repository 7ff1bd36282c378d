package boltlog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/eventlog"
)

// Benchmarks publish ~500-byte messages shaped like events: a 420-byte payload and the
// CloudEvents attributes a connector sets. The Bolt* benchmarks are the floor: the same
// encoded bytes appended in bare bbolt transactions with the same options, without the
// idempotency index, the group commit or anything else.
const (
	benchBatch   = 500
	benchPayload = 420
)

var benchData = []byte(strings.Repeat(`{"complaint_id":"C2026-000001","channel":"12315"}`, benchPayload/50+1)[:benchPayload])

func benchMessage(id string, key int) *message.Message {
	m := message.NewMessage(id, benchData)
	m.Metadata.Set("ce_specversion", "1.0")
	m.Metadata.Set("ce_source", "/bureaus/hotline-12315")
	m.Metadata.Set("ce_type", "complaint.received")
	m.Metadata.Set("ce_time", "2026-11-02T08:15:00Z")
	m.Metadata.Set(eventlog.MetaPartitionKey, fmt.Sprintf("91510800%010d", key))
	return m
}

// benchBatchOf makes n messages with random UUIDs, as eventlog.MessageUUID's name-based UUIDs
// are: the idempotency index takes them at random places.
func benchBatchOf(n int) []*message.Message {
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = benchMessage(uuid.NewString(), i%97)
	}
	return msgs
}

func benchOpen(b *testing.B, reg prometheus.Registerer) *Log {
	b.Helper()
	l, err := Open(filepath.Join(b.TempDir(), "log.db"), Options{Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	return l
}

func reportRate(b *testing.B, msgs int64) {
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPublish: one publisher, calls of 500 messages.
func BenchmarkPublish(b *testing.B) {
	l := benchOpen(b, nil)
	pub := l.Publisher()
	b.SetBytes(int64(len(encode(nil, benchMessage("x", 0))) * benchBatch))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batch := benchBatchOf(benchBatch)
		b.StartTimer()
		if err := pub.Publish(eventlog.Topic, batch...); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, int64(b.N)*benchBatch)
}

// BenchmarkPublishConcurrent: 64 goroutines on 2 cores, calls of 1 to 10 messages, as the
// gateway does under load.
func BenchmarkPublishConcurrent(b *testing.B) {
	reg := prometheus.NewRegistry()
	l := benchOpen(b, reg)
	var total, goroutine atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := goroutine.Add(1)
		pub := l.Publisher()
		rnd := rand.New(rand.NewPCG(uint64(g), 1))
		for pb.Next() {
			batch := benchBatchOf(1 + rnd.IntN(10))
			if err := pub.Publish(eventlog.Topic, batch...); err != nil {
				b.Error(err)
				return
			}
			total.Add(int64(len(batch)))
		}
	})
	reportRate(b, total.Load())
	commits, ops := commitStats(b, reg)
	if commits > 0 {
		b.ReportMetric(ops/commits, "calls/commit")
	}
}

func commitStats(b *testing.B, reg *prometheus.Registry) (commits, ops float64) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "fangxin_boltlog_commit_operations" {
			h := mf.GetMetric()[0].GetHistogram()
			return float64(h.GetSampleCount()), h.GetSampleSum()
		}
	}
	return 0, 0
}

// benchBolt opens a bare bbolt file with the options Open uses.
func benchBolt(b *testing.B) *bolt.DB {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func boltAppend(db *bolt.DB, records [][]byte) error {
	return db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("m"))
		if err != nil {
			return err
		}
		bk.FillPercent = 1.0
		for _, r := range records {
			seq, err := bk.NextSequence()
			if err != nil {
				return err
			}
			if err := bk.Put(seqKey(seq), r); err != nil {
				return err
			}
		}
		return nil
	})
}

func encodeAll(msgs []*message.Message) [][]byte {
	records := make([][]byte, len(msgs))
	for i, m := range msgs {
		records[i] = encode(nil, m)
	}
	return records
}

// BenchmarkBoltAppend is the floor of BenchmarkPublish: one bare transaction per 500 records.
func BenchmarkBoltAppend(b *testing.B) {
	db := benchBolt(b)
	b.SetBytes(int64(len(encode(nil, benchMessage("x", 0))) * benchBatch))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		records := encodeAll(benchBatchOf(benchBatch))
		b.StartTimer()
		if err := boltAppend(db, records); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, int64(b.N)*benchBatch)
}

// BenchmarkBoltAppendConcurrent is BenchmarkPublishConcurrent on bare bbolt: every call its own
// transaction and fsync, no group commit.
func BenchmarkBoltAppendConcurrent(b *testing.B) {
	db := benchBolt(b)
	var total, goroutine atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := goroutine.Add(1)
		rnd := rand.New(rand.NewPCG(uint64(g), 1))
		for pb.Next() {
			records := encodeAll(benchBatchOf(1 + rnd.IntN(10)))
			if err := boltAppend(db, records); err != nil {
				b.Error(err)
				return
			}
			total.Add(int64(len(records)))
		}
	})
	reportRate(b, total.Load())
}

// BenchmarkSubscribe reads b.N messages of 97 partition keys through a subscription and acks
// each, as a projection with fast handlers would.
func BenchmarkSubscribe(b *testing.B) {
	l := benchOpen(b, nil)
	pub := l.Publisher()
	for i := 0; i < b.N; i += benchBatch {
		if err := pub.Publish(eventlog.Topic, benchBatchOf(min(benchBatch, b.N-i))...); err != nil {
			b.Fatal(err)
		}
	}
	sub, err := l.Subscriber(SubscriberConfig{ConsumerGroup: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	b.ResetTimer()
	ch, err := sub.Subscribe(context.Background(), eventlog.Topic)
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		(<-ch).Ack()
	}
	reportRate(b, int64(b.N))
}

// BenchmarkOpen opens a log of 100k messages: the cost of rebuilding the idempotency index,
// in time and in heap per message.
func BenchmarkOpen(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "log.db")
	l, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += benchBatch {
		if err := l.Publisher().Publish(eventlog.Topic, benchBatchOf(benchBatch)...); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	var heap float64
	b.ResetTimer()
	for range b.N {
		var before, after runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		l, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(heap/n, "heap-B/msg")
}
