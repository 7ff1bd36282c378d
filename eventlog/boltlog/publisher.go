package boltlog

import (
	"fmt"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
	bolt "go.etcd.io/bbolt"
)

var _ message.Publisher = (*publisher)(nil)

// Publisher returns a new publisher on the log. Closing it leaves the Log open.
func (l *Log) Publisher() message.Publisher { return &publisher{l: l} }

type publisher struct {
	l      *Log
	closed atomic.Bool
}

// Publish appends msgs to topic durably and atomically; see the package comment.
func (p *publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := validateTopic(topic); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	o := &op{
		kind:    opAppend,
		topic:   topic,
		uuids:   make([][]byte, len(msgs)),
		records: make([][]byte, len(msgs)),
	}
	for i, m := range msgs {
		if m == nil {
			return fmt.Errorf("boltlog: message %d of %d is nil", i, len(msgs))
		}
		if m.UUID == "" || len(m.UUID) > bolt.MaxKeySize {
			return fmt.Errorf("boltlog: message %d of %d: UUID must have 1 to %d bytes, has %d", i, len(msgs), bolt.MaxKeySize, len(m.UUID))
		}
		o.uuids[i] = []byte(m.UUID)
		o.records[i] = encode(nil, m)
		if len(o.records[i]) > bolt.MaxValueSize {
			return fmt.Errorf("boltlog: message %s is %d bytes, more than %d", m.UUID, len(o.records[i]), bolt.MaxValueSize)
		}
	}
	return p.l.submit(o)
}

// Close makes later Publish calls fail; calls in progress finish. The Log stays open.
func (p *publisher) Close() error {
	p.closed.Store(true)
	return nil
}
