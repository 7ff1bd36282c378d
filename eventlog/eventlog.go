// Package eventlog is the hub's durable log seam. The seam itself is watermill's
// message.Publisher and message.Subscriber; this package fixes what the hub expects of them on
// top of watermill's own contract, and converts events to messages and back (CloudEvents binary
// mode: attributes in ce_ metadata, data as payload, as the Kafka protocol binding does).
//
// Every backend (boltlog, the embedded default; kafkalog, for the distributed mode) promises:
//
//   - Publish returns nil only once every message is durable: fsync'd to the data folder, or
//     acknowledged by all in-sync Kafka replicas. An error means none or some were stored; the
//     caller retries and the views deduplicate on the event key. Publish is safe for concurrent
//     use.
//   - Messages with the same MetaPartitionKey are delivered in the order they were published.
//   - Delivery is at least once. A subscriber never hands out a message of a partition key while
//     an earlier one of the same key is unacknowledged; Nack redelivers it. Messages of other keys
//     may be in flight at the same time, so a handler must be safe for concurrent use.
//   - A consumer group's position is committed only up to the last message acknowledged
//     together with all messages before it; after a restart delivery resumes there.
//   - Subscribers set MetaPosition on every delivered message: a position that grows with
//     publish order within a partition, usable as an external version by the views.
package eventlog

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/lizhou/fangxin/events"
)

// Topic is the one topic every event goes to: a merchant's events of all families stay in one
// partition, so their order (listed, then delisted) survives.
const Topic = "fangxin.events.v1"

// PoisonTopic receives events that can never be applied, with the reason in metadata.
const PoisonTopic = "fangxin.poison.v1"

// Metadata keys.
const (
	MetaPartitionKey = "partition_key"
	MetaPosition     = "fangxin_position"
	MetaContentType  = "content-type"
	ce               = "ce_"
)

var uuidSpace = uuid.MustParse("6f1d0c2e-6c1b-4c52-9d0a-3f3c7f6c1a10")

// MessageUUID is the watermill UUID of an event: derived from its key, so the same event always
// gets the same UUID (uuid.NewSHA1(uuidSpace, key), computed without its allocations).
func MessageUUID(ev events.Event) string {
	var buf [256]byte
	b := append(buf[:0], uuidSpace[:]...)
	b = append(b, ev.Source...)
	b = append(b, ' ')
	b = append(b, ev.ID...)
	sum := sha1.Sum(b)
	var u uuid.UUID
	copy(u[:], sum[:])
	u[6] = (u[6] & 0x0f) | 0x50 // version 5 (SHA-1)
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u.String()
}

// ToMessage encodes ev as a watermill message in CloudEvents binary mode.
func ToMessage(ev events.Event) *message.Message {
	msg := message.NewMessage(MessageUUID(ev), []byte(ev.Data))
	md := make(message.Metadata, 8) // one group: the entries below but dataschema
	msg.Metadata = md
	md[ce+"specversion"] = events.SpecVersion
	md[ce+"id"] = ev.ID
	md[ce+"source"] = ev.Source
	md[ce+"type"] = ev.Type
	if ev.Subject != "" {
		md[ce+"subject"] = ev.Subject
	}
	md[ce+"time"] = ev.Time.UTC().Format(time.RFC3339Nano)
	if ev.DataSchema != "" {
		md[ce+"dataschema"] = ev.DataSchema
	}
	ct := ev.DataContentType
	if ct == "" {
		ct = "application/json"
	}
	md[MetaContentType] = ct
	md[MetaPartitionKey] = ev.PartitionKey()
	return msg
}

// FromMessage decodes a message written by ToMessage, or by any CloudEvents binary-mode producer.
// The returned event's Data aliases msg.Payload.
func FromMessage(msg *message.Message) (events.Event, error) {
	md := msg.Metadata
	ev := events.Event{
		SpecVersion:     md.Get(ce + "specversion"),
		ID:              md.Get(ce + "id"),
		Source:          md.Get(ce + "source"),
		Type:            md.Get(ce + "type"),
		Subject:         md.Get(ce + "subject"),
		DataSchema:      md.Get(ce + "dataschema"),
		DataContentType: md.Get(MetaContentType),
		Data:            json.RawMessage(msg.Payload),
	}
	var missing []string
	for k, v := range map[string]string{"specversion": ev.SpecVersion, "id": ev.ID, "source": ev.Source, "type": ev.Type} {
		if v == "" {
			missing = append(missing, ce+k)
		}
	}
	if len(missing) > 0 {
		return ev, fmt.Errorf("message %s lacks CloudEvents attributes %s", msg.UUID, strings.Join(missing, ", "))
	}
	if t := md.Get(ce + "time"); t != "" {
		var err error
		if ev.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
			return ev, fmt.Errorf("message %s: ce_time %q is not RFC 3339", msg.UUID, t)
		}
	}
	return ev, nil
}

// Interest picks the messages a consumer group handles by two CloudEvents attributes, ce_type
// and ce_subject ("" when a message lacks them), and is given to a backend's subscriber. The
// subscriber hands out only the messages Interest accepts; the others are never decoded into
// messages nor handed out, and count as acknowledged as soon as every message before them is, so
// the group's committed position moves past them and its lag reaches 0 as before. Per-key order
// among the accepted messages is unchanged. A nil Interest accepts every message.
//
// An Interest must be pure (the same answer for the same attributes, or a restart would hand out
// what an earlier run skipped, or the reverse), cheap and safe for concurrent use.
type Interest func(typ, subject string) bool

// Types is the Interest in messages of the given types.
func Types(types ...string) Interest {
	set := make(map[string]bool, len(types))
	for _, t := range types {
		set[t] = true
	}
	return func(typ, _ string) bool { return set[typ] }
}

// Attribute keys Interest reads, as they are in metadata and Kafka headers.
const (
	MetaType    = ce + "type"
	MetaSubject = ce + "subject"
)

// Position is where a message sits in the log: a partition and an offset that grows with publish
// order within it. The embedded log has one partition.
type Position struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Partition, p.Offset) }

// SetPosition records p on msg; subscribers call it before delivering.
func SetPosition(msg *message.Message, p Position) { msg.Metadata.Set(MetaPosition, p.String()) }

// PositionOf reads the position a subscriber recorded on msg.
func PositionOf(msg *message.Message) (Position, bool) {
	part, off, ok := strings.Cut(msg.Metadata.Get(MetaPosition), ":")
	if !ok {
		return Position{}, false
	}
	pi, err1 := strconv.ParseInt(part, 10, 32)
	oi, err2 := strconv.ParseInt(off, 10, 64)
	if err1 != nil || err2 != nil {
		return Position{}, false
	}
	return Position{Partition: int32(pi), Offset: oi}, true
}
