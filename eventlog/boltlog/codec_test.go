package boltlog

import (
	"bytes"
	"errors"
	"maps"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

func TestCodecRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  *message.Message
	}{
		{"empty", message.NewMessage("u", nil)},
		{"payload", message.NewMessage("0b7b2c4e-uuid", []byte(`{"name":"水果超市"}`))},
		{"metadata", func() *message.Message {
			m := message.NewMessage("u", []byte{0, 1, 2, 255})
			m.Metadata = message.Metadata{"ce_type": "complaint.received", "": "empty key", "k": "", "长": string(make([]byte, 300))}
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encode(nil, tc.msg)
			if again := encode(nil, tc.msg); !bytes.Equal(b, again) {
				t.Fatal("encoding is not deterministic")
			}
			got, err := decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.UUID != tc.msg.UUID || !bytes.Equal(got.Payload, tc.msg.Payload) || !maps.Equal(got.Metadata, tc.msg.Metadata) {
				t.Fatalf("decode(encode(m)) = %s %q %v, want %s %q %v", got.UUID, got.Payload, got.Metadata, tc.msg.UUID, tc.msg.Payload, tc.msg.Metadata)
			}
			b[len(b)-1]++ // the decoded message shares no memory with the stored bytes
			if len(got.Payload) > 0 && got.Payload[len(got.Payload)-1] != tc.msg.Payload[len(tc.msg.Payload)-1] {
				t.Fatal("decoded payload aliases the record")
			}
		})
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := encode(nil, func() *message.Message {
		m := message.NewMessage("uuid", []byte("p"))
		m.Metadata.Set("key", "value")
		return m
	}())
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"truncated uuid", good[:3]},
		{"truncated metadata", good[:9]},
		{"huge metadata count", []byte{recordV1, 1, 'u', 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad varint", []byte{recordV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decode(tc.b); !errors.Is(err, errCorrupt) {
				t.Fatalf("decode(%v) = %v, want errCorrupt", tc.b, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	m := message.NewMessage("uuid", []byte("payload"))
	m.Metadata.Set("partition_key", "915101007234567890")
	f.Add(encode(nil, m))
	f.Add([]byte{recordV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decode(b)
		if err != nil {
			return
		}
		// whatever decodes encodes back to a record that decodes to the same message
		again, err := decode(encode(nil, got))
		if err != nil || again.UUID != got.UUID || !bytes.Equal(again.Payload, got.Payload) || !maps.Equal(again.Metadata, got.Metadata) {
			t.Fatalf("re-encoding %v changed the message (%v)", b, err)
		}
	})
}
