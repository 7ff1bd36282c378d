package embedded

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/projections"
)

// Bucket names of views.db.
var (
	bucketMeta     = []byte("meta")
	bucketTimeline = []byte("timeline")
	bucketEvents   = []byte("events")
	bucketProfiles = []byte("profiles")
	bucketHits     = []byte("hits")
	bucketPending  = []byte("pending")

	keySchema = []byte("schema")
)

// schemaVersion changes when the layout of views.db or of the search documents changes; a store
// of another version is refused (drop the folder and rebuild from the log).
const schemaVersion = "embedded/1"

// maxKeyLen bounds event keys and subjects so that every bbolt key stays far below
// bbolt.MaxKeySize: a put can then only fail for reasons that fail the whole transaction.
const maxKeyLen = 4096

// Times whose UnixNano is defined.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// invTime encodes t so that newer times sort first: MaxInt64-unixNano for times after 1970,
// order-preserving for earlier ones (the int64 is mapped onto uint64 first).
func invTime(t time.Time) [8]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano())^math.MaxInt64)
	return b
}

// merchantPrefix is the timeline prefix of a merchant; the empty code holds the unlinked events.
func merchantPrefix(uscc string) []byte {
	p := make([]byte, 0, len(uscc)+1)
	return append(append(p, uscc...), 0)
}

func timelineKey(uscc string, t time.Time, key string) []byte {
	ts := invTime(t)
	k := make([]byte, 0, len(uscc)+1+8+len(key))
	k = append(k, uscc...)
	k = append(k, 0)
	k = append(k, ts[:]...)
	return append(k, key...)
}

// splitTimelineKey returns the event key of a timeline key under prefix.
func splitTimelineKey(prefix, k []byte) (ts []byte, key string, ok bool) {
	if len(k) < len(prefix)+8 {
		return nil, "", false
	}
	return k[len(prefix) : len(prefix)+8], string(k[len(prefix)+8:]), true
}

// sortKey is the event document's sort key: the timeline order (newest first, then event key)
// as a string.
func sortKey(t time.Time, key string) string {
	ts := invTime(t)
	return fmt.Sprintf("%016x", binary.BigEndian.Uint64(ts[:])) + key
}

// Timeline values: uvarint len | type | uvarint len | bureau | entry JSON. Type and bureau come
// first so that History filters without decoding the JSON.
func encodeTimeline(e projections.TimelineEntry) ([]byte, error) {
	js, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	typ, bureau := e.Event.Type, e.Event.Bureau()
	v := make([]byte, 0, 2*binary.MaxVarintLen64+len(typ)+len(bureau)+len(js))
	v = binary.AppendUvarint(v, uint64(len(typ)))
	v = append(v, typ...)
	v = binary.AppendUvarint(v, uint64(len(bureau)))
	v = append(v, bureau...)
	return append(v, js...), nil
}

var errCorrupt = errors.New("embedded: corrupt record in views.db")

// timelineHead returns the type and bureau of a timeline value and the offset of its JSON.
func timelineHead(v []byte) (typ, bureau []byte, body int, err error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, nil, 0, errCorrupt
	}
	typ, v = v[w:w+int(n)], v[w+int(n):]
	body = w + int(n)
	n, w = binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, nil, 0, errCorrupt
	}
	bureau = v[w : w+int(n)]
	return typ, bureau, body + w + int(n), nil
}

// decodeTimeline decodes a timeline value into a fresh entry that owns all its memory.
func decodeTimeline(v []byte) (projections.TimelineEntry, error) {
	var e projections.TimelineEntry
	_, _, body, err := timelineHead(v)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(v[body:], &e); err != nil {
		return e, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return e, nil
}

// Event records: partition int32 | offset int64 | timeline key.
func encodeEventRecord(pos eventlog.Position, tlKey []byte) []byte {
	v := make([]byte, 12, 12+len(tlKey))
	binary.BigEndian.PutUint32(v[0:4], uint32(pos.Partition))
	binary.BigEndian.PutUint64(v[4:12], uint64(pos.Offset))
	return append(v, tlKey...)
}

func decodeEventRecord(v []byte) (eventlog.Position, []byte, error) {
	if len(v) < 12 {
		return eventlog.Position{}, nil, errCorrupt
	}
	pos := eventlog.Position{
		Partition: int32(binary.BigEndian.Uint32(v[0:4])),
		Offset:    int64(binary.BigEndian.Uint64(v[4:12])),
	}
	return pos, v[12:], nil
}

// Pending markers: key = sequence number (8 bytes, big-endian, in commit order), value = flags
// byte | event key. (Folders written before this layout hold event key -> flags byte; Open
// re-indexes and empties the bucket, and decodePending reads both.)
func pendingKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// decodePending returns the event key and flags of the marker k -> v.
func decodePending(k, v []byte) (key []byte, flags byte, ok bool) {
	switch {
	case len(v) == 1: // the earlier layout: event key -> flags
		return k, v[0], len(k) > 0
	case len(k) == 8 && len(v) > 1:
		return v[1:], v[0], true
	}
	return nil, 0, false
}

// Pending markers carry flags.
const (
	// pendingRefresh: the event changed what the merchant's event documents carry (its name or
	// township), so every event of the merchant must be re-indexed.
	pendingRefresh byte = 1 << iota
)

// checkEntry rejects what the timeline cannot key. The gateway's validation makes these
// unreachable in practice; they are checked so that a bad entry fails alone, never the group.
func checkEntry(e projections.TimelineEntry) error {
	ev := e.Event
	switch {
	case ev.ID == "" || ev.Source == "":
		return errors.New("embedded: event has no id or source")
	case len(ev.Key()) > maxKeyLen || len(ev.Subject) > maxKeyLen:
		return fmt.Errorf("embedded: event key or subject longer than %d bytes", maxKeyLen)
	case strings.IndexByte(ev.Subject, 0) >= 0:
		return errors.New("embedded: subject contains a NUL byte")
	case ev.Time.Before(minTime) || ev.Time.After(maxTime):
		return fmt.Errorf("embedded: event time %v is out of range (1678..2262)", ev.Time)
	}
	return nil
}
