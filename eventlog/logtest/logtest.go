// Package logtest holds the log seam's conformance tests for what the hub's eventlog contract adds
// to watermill's pubsub suite. Every backend's tests run them against the real thing (the
// embedded log in a temporary folder, the real Kafka broker).
package logtest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// Backend is what the tests need of a log backend.
type Backend struct {
	// Publisher publishes to the backend; the tests do not close it.
	Publisher message.Publisher
	// Subscriber returns a new subscriber of consumer group group whose Interest is want. The
	// tests close it.
	Subscriber func(t *testing.T, group string, want eventlog.Interest) message.Subscriber
	// Topic is a topic no other test uses.
	Topic string
	// Wait bounds one wait for a message (a Kafka group's first join takes seconds).
	Wait time.Duration
}

// TestInterest: a subscriber hands out only the events its Interest accepts, by type and
// subject, in per-key order; the skipped events count as handled, so after a restart the
// group, now with no Interest at all, receives only what was published since.
func TestInterest(t *testing.T, b Backend) {
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	n := 0
	msg := func(typ, subject string) *message.Message {
		n++
		return eventlog.ToMessage(events.Event{
			SpecVersion: events.SpecVersion, ID: fmt.Sprintf("e%d", n), Source: "amr", Type: typ,
			Subject: subject, Time: at.Add(time.Duration(n) * time.Minute), Data: []byte(`{}`),
		})
	}
	want := func(typ, subject string) bool { return typ == events.TypeComplaintReceived && subject != "z" }
	const (
		keep = events.TypeComplaintReceived
		skip = events.TypeMerchantRegistered
	)
	publish := func(ms ...*message.Message) {
		t.Helper()
		if err := b.Publisher.Publish(b.Topic, ms...); err != nil {
			t.Fatal(err)
		}
	}

	// Timeline 1: events of four merchants; five are not for the group, by type or by subject.
	publish(msg(keep, "a"), msg(skip, "a"), msg(keep, "b"), msg(skip, "b"), msg(skip, "a"),
		msg(keep, "a"), msg(keep, "z"), msg(skip, "c"))
	group := "interest-" + b.Topic

	// Timeline 2: the group with its Interest receives e1, e3 and e6, a's in order, and no more.
	got := receive(t, b, group, want, 3)
	if ids := idsOf(got); !slices.Equal(sorted(ids), []string{"e1", "e3", "e6"}) {
		t.Fatalf("with the Interest the group received %v, want e1, e3 and e6", ids)
	}
	if ids := idsOf(got); slices.Index(ids, "e6") < slices.Index(ids, "e1") {
		t.Errorf("merchant a's events came as %v: e1 must come before e6", ids)
	}

	// Timeline 3: two more events; the group restarts with no Interest and receives those two
	// only: every event before them, skipped or handled, was committed.
	publish(msg(skip, "d"), msg(keep, "d"))
	got = receive(t, b, group, nil, 2)
	if ids := idsOf(got); !slices.Equal(ids, []string{"e9", "e10"}) {
		t.Fatalf("after the restart the group received %v, want e9 then e10 only", ids)
	}
}

// receive subscribes as group with want, acks count messages as they come, checks that no more
// come for a while, and closes the subscriber (which commits what was acked).
func receive(t *testing.T, b Backend, group string, want eventlog.Interest, count int) []*message.Message {
	t.Helper()
	sub := b.Subscriber(t, group, want)
	defer func() {
		if err := sub.Close(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := sub.Subscribe(ctx, b.Topic)
	if err != nil {
		t.Fatal(err)
	}
	var got []*message.Message
	for len(got) < count {
		select {
		case m := <-ch:
			got = append(got, m)
			m.Ack()
		case <-time.After(b.Wait):
			t.Fatalf("received %v, then nothing for %s; want %d messages", idsOf(got), b.Wait, count)
		}
	}
	select {
	case m := <-ch:
		t.Fatalf("received %v, then also %s", idsOf(got), m.Metadata.Get("ce_id"))
	case <-time.After(time.Second):
	}
	return got
}

func idsOf(ms []*message.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.Metadata.Get("ce_id")
	}
	return ids
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
