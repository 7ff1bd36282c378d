package boltlog

import (
	"path/filepath"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestIndexCollisions makes every UUID hash alike: the index must still tell UUIDs apart,
// within a call, across calls and after a reopen, and never drop a message.
func TestIndexCollisions(t *testing.T) {
	for _, tc := range []struct {
		name string
		hash func([]byte) uint64
	}{
		{"all collide", func([]byte) uint64 { return 42 }},
		{"by length", func(b []byte) uint64 { return uint64(len(b)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.db")
			opts := Options{hash: tc.hash}
			l, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			pub := l.Publisher()
			ids := func(names ...string) []*message.Message {
				ms := make([]*message.Message, len(names))
				for i, n := range names {
					ms[i] = message.NewMessage(n, []byte(n))
				}
				return ms
			}
			if err := pub.Publish("t", ids("a", "b", "a", "cc", "b")...); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish("t", ids("cc", "d", "ee")...); err != nil {
				t.Fatal(err)
			}
			assertHighWater(t, l, 5) // a b cc d ee
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			l, err = Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.Publisher().Publish("t", ids("ee", "a", "f", "d")...); err != nil {
				t.Fatal(err)
			}
			assertHighWater(t, l, 6) // + f
		})
	}
}

func assertHighWater(t *testing.T, l *Log, want int64) {
	t.Helper()
	if hw, err := l.HighWater("t"); err != nil || hw != want {
		t.Fatalf("HighWater() = %d, %v; want %d", hw, err, want)
	}
}

// TestIndexRollback: a failed transaction leaves no index entries behind, so the messages of a
// failed call are stored when it is retried.
func TestIndexRollback(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "log.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	good := &op{kind: opAppend, topic: "t", uuids: [][]byte{[]byte("a")}, records: [][]byte{encode(nil, message.NewMessage("a", nil))}}
	bad := &op{kind: opKind(99), topic: "t"} // apply fails
	if err := l.update([]*op{good, bad}); err == nil {
		t.Fatal("update of a broken op succeeded")
	}
	if err := l.update([]*op{good}); err != nil {
		t.Fatal(err)
	}
	if good.appended != 1 {
		t.Fatalf("retry appended %d messages, want 1: the failed transaction left its index entry", good.appended)
	}
	assertHighWater(t, l, 1)
	if n := len(l.indexes["t"].byHash); n != 1 {
		t.Fatalf("index has %d entries, want 1", n)
	}
}
