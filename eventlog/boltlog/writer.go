package boltlog

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The writer is the one goroutine that writes to the file. It takes every operation waiting for
// it and applies them in one transaction: one fsync answers them all (group commit). Each
// operation stays atomic, since the transaction is.

type opKind int

const (
	opAppend opKind = iota // append records to a topic
	opCommit               // store a group's position
	opReset                // delete a group's position
)

type op struct {
	kind  opKind
	topic string
	group string // opCommit, opReset
	pos   int64  // opCommit

	uuids   [][]byte // opAppend, one per record
	records [][]byte

	// results, valid once done has answered
	appended, skipped int
	highWater         uint64
	done              chan error
}

func (o *op) size() int { return max(len(o.records), 1) }

// submit hands o to the writer and waits for its transaction.
func (l *Log) submit(o *op) error {
	o.done = make(chan error, 1)
	select {
	case l.ops <- o:
	case <-l.quit:
		return ErrClosed
	}
	return <-o.done
}

func (l *Log) writer() {
	defer close(l.writerDone)
	var batch []*op
	for {
		var first *op
		select {
		case first = <-l.ops:
		case <-l.quit:
			return
		}
		batch = append(batch[:0], first)
		n := first.size()
	gather:
		for n < l.opts.MaxBatchMessages {
			select {
			case o := <-l.ops:
				batch = append(batch, o)
				n += o.size()
			default:
				break gather
			}
		}
		l.commit(batch)
		clear(batch)
	}
}

func (l *Log) commit(batch []*op) {
	start := time.Now()
	errs := make([]error, len(batch))
	err := l.update(batch)
	if err != nil && len(batch) > 1 {
		// One operation may have failed them all: give each its own transaction.
		l.logger.Error("Group commit failed, retrying operations one by one", err, nil)
		for i, o := range batch {
			errs[i] = l.update([]*op{o})
		}
	} else {
		for i := range errs {
			errs[i] = err
		}
	}
	l.metrics.observeCommit(time.Since(start), len(batch))
	for i, o := range batch {
		if errs[i] != nil {
			errs[i] = fmt.Errorf("boltlog: writing to topic %q: %w", o.topic, errs[i])
			continue
		}
		if o.kind == opAppend {
			l.metrics.observeAppend(o.topic, o.appended, o.skipped, o.highWater)
			if o.appended > 0 {
				l.notify(o.topic)
			}
		}
	}
	for i, o := range batch {
		o.done <- errs[i]
	}
}

// update applies ops in one transaction and, once it has committed, their index entries.
func (l *Log) update(ops []*op) error {
	topics := map[string]*topicBuckets{}
	err := l.db.Update(func(tx *bolt.Tx) error {
		for _, o := range ops {
			if err := l.apply(tx, topics, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for name, tb := range topics {
		if tb.index != nil {
			tb.index.commit()
			l.indexes[name] = tb.index.committed
		}
	}
	return nil
}

type topicBuckets struct {
	topic, messages *bolt.Bucket
	index           *txIndex // for appends
}

func (l *Log) openTopic(tx *bolt.Tx, topics map[string]*topicBuckets, topic string) (*topicBuckets, error) {
	if tb, ok := topics[topic]; ok {
		return tb, nil
	}
	t, err := tx.Bucket(bucketTopics).CreateBucketIfNotExists([]byte(topic))
	if err != nil {
		return nil, err
	}
	m, err := t.CreateBucketIfNotExists(bucketMessages)
	if err != nil {
		return nil, err
	}
	m.FillPercent = 1.0 // keys only ever grow: full pages, half the file
	tb := &topicBuckets{topic: t, messages: m}
	topics[topic] = tb
	return tb, nil
}

func (l *Log) apply(tx *bolt.Tx, topics map[string]*topicBuckets, o *op) error {
	o.appended, o.skipped = 0, 0
	switch o.kind {
	case opAppend:
		tb, err := l.openTopic(tx, topics, o.topic)
		if err != nil {
			return err
		}
		if tb.index == nil {
			committed := l.indexes[o.topic]
			if committed == nil {
				committed = newIndex()
			}
			tb.index = &txIndex{hash: l.hash, committed: committed, staged: newIndex(), messages: tb.messages}
		}
		keys := make([]byte, 8*len(o.records))
		for i, rec := range o.records {
			h, found, hashTaken, err := tb.index.seen(o.uuids[i])
			if err != nil {
				return err
			}
			if found {
				o.skipped++
				continue
			}
			seq, err := tb.messages.NextSequence()
			if err != nil {
				return err
			}
			k := keys[8*i : 8*i+8 : 8*i+8]
			binary.BigEndian.PutUint64(k, seq)
			if err := tb.messages.Put(k, rec); err != nil {
				return err
			}
			tb.index.add(h, hashTaken, o.uuids[i], seq)
			o.appended++
		}
		o.highWater = tb.messages.Sequence()
		return nil
	case opCommit:
		tb, err := l.openTopic(tx, topics, o.topic)
		if err != nil {
			return err
		}
		g, err := tb.topic.CreateBucketIfNotExists(bucketGroups)
		if err != nil {
			return err
		}
		return g.Put([]byte(o.group), seqKey(uint64(o.pos)))
	case opReset:
		t := tx.Bucket(bucketTopics).Bucket([]byte(o.topic))
		if t == nil {
			return nil
		}
		if g := t.Bucket(bucketGroups); g != nil {
			return g.Delete([]byte(o.group))
		}
		return nil
	}
	return fmt.Errorf("boltlog: unknown operation %d", o.kind)
}
