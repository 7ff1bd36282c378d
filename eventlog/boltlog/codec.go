package boltlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/ThreeDotsLabs/watermill/message"
)

// recordV1 is the first byte of every stored message. The layout after it:
//
//	uvarint len(uuid) | uuid | uvarint n | n × (uvarint len(key) | key | uvarint len(value) | value) | payload
//
// Metadata is written sorted by key, so equal messages encode to equal bytes. A later layout
// takes the next version byte; decode keeps reading every earlier one.
const recordV1 byte = 1

// encode appends the stored form of m to dst.
func encode(dst []byte, m *message.Message) []byte {
	keys := make([]string, 0, len(m.Metadata))
	size := 1 + binary.MaxVarintLen64*(2+2*len(m.Metadata)) + len(m.UUID) + len(m.Payload)
	for k, v := range m.Metadata {
		keys = append(keys, k)
		size += len(k) + len(v)
	}
	slices.Sort(keys)
	dst = slices.Grow(dst, size)
	dst = append(dst, recordV1)
	dst = appendString(dst, m.UUID)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		dst = appendString(dst, m.Metadata[k])
	}
	return append(dst, m.Payload...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

var errCorrupt = errors.New("boltlog: corrupt record")

// decode reads a stored message. The result shares no memory with b: bbolt's memory is valid
// only inside its transaction.
func decode(b []byte) (*message.Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", errCorrupt)
	}
	if b[0] != recordV1 {
		return nil, fmt.Errorf("%w: unknown version %d", errCorrupt, b[0])
	}
	r := reader{b: b[1:]}
	id := r.string()
	n := r.uvarint()
	if r.err != nil {
		return nil, r.err
	}
	if n > uint64(len(r.b)/2) { // every pair takes at least two bytes
		return nil, fmt.Errorf("%w: %d metadata entries in %d bytes", errCorrupt, n, len(r.b))
	}
	md := make(message.Metadata, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		k := r.string()
		md[k] = r.string()
	}
	if r.err != nil {
		return nil, r.err
	}
	m := message.NewMessage(id, append([]byte(nil), r.b...))
	m.Metadata = md
	return m, nil
}

// attrs returns the values of two metadata keys of a stored record ("" when absent) without
// decoding the rest: what an eventlog.Interest is asked about.
func attrs(b []byte, k1, k2 string) (v1, v2 string, err error) {
	if len(b) == 0 || b[0] != recordV1 {
		_, err := decode(b) // the same error decode gives
		return "", "", err
	}
	r := reader{b: b[1:]}
	r.bytes() // uuid
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		k, v := r.bytes(), r.bytes()
		switch string(k) {
		case k1:
			v1 = string(v)
		case k2:
			v2 = string(v)
		}
	}
	return v1, v2, r.err
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad length", errCorrupt)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

// bytes returns the next field; it aliases the record.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: field of %d bytes with %d left", errCorrupt, n, len(r.b))
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}
