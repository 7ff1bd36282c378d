package eventlog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lizhou/fangxin/events"
)

// TestMessageRoundTrip: every example event comes back from its message as it went in (time in
// UTC, the same instant), with its partition key and stable UUID.
func TestMessageRoundTrip(t *testing.T) {
	for _, typ := range events.Types {
		ev := events.Example(typ)
		for _, edit := range []func(*events.Event){
			func(*events.Event) {},
			func(e *events.Event) { e.Subject, e.DataSchema, e.DataContentType = "", events.SchemaURI(typ), "" },
		} {
			edit(&ev)
			msg := ToMessage(ev)
			if want := uuid.NewSHA1(uuidSpace, []byte(ev.Key())).String(); msg.UUID != want || msg.UUID != ToMessage(ev).UUID {
				t.Errorf("%s: UUID %s, want %s every time", typ, msg.UUID, want)
			}
			if got := msg.Metadata.Get(MetaPartitionKey); got != ev.PartitionKey() {
				t.Errorf("%s: partition key %q, want %q", typ, got, ev.PartitionKey())
			}
			back, err := FromMessage(msg)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			want := ev
			want.Time = ev.Time.UTC()
			if want.DataContentType == "" {
				want.DataContentType = "application/json"
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("%s: round trip\n got %+v\nwant %+v", typ, back, want)
			}
		}
	}
}

// TestMessageUUIDLongKey: keys longer than MessageUUID's stack buffer get the same UUID as
// uuid.NewSHA1.
func TestMessageUUIDLongKey(t *testing.T) {
	ev := events.Example(events.TypeComplaintReceived)
	ev.ID = strings.Repeat("长", events.MaxIDLength)
	if got, want := MessageUUID(ev), uuid.NewSHA1(uuidSpace, []byte(ev.Key())).String(); got != want {
		t.Errorf("MessageUUID = %s, want %s", got, want)
	}
}

func BenchmarkToMessage(b *testing.B) {
	ev := events.Example(events.TypeComplaintReceived)
	for b.Loop() {
		_ = ToMessage(ev)
	}
}
