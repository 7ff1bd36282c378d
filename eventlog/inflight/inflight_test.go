package inflight_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.uber.org/goleak"

	"github.com/lizhou/fangxin/eventlog/inflight"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness runs a Dispatcher in the background.
type harness struct {
	t      *testing.T
	d      *inflight.Dispatcher
	in     chan inflight.Entry
	out    chan *message.Message
	done   chan error
	cancel context.CancelFunc
}

type ctxKey struct{}

func start(t *testing.T, cfg inflight.Config, committed int64) *harness {
	t.Helper()
	d, err := inflight.New(cfg, committed)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "run"))
	h := &harness{t: t, d: d, in: make(chan inflight.Entry), out: make(chan *message.Message), done: make(chan error, 1), cancel: cancel}
	go func() { h.done <- d.Run(ctx, h.in, h.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

func entry(off int64, key string) inflight.Entry {
	return inflight.Entry{Offset: off, Key: key, Msg: message.NewMessage(fmt.Sprintf("m%d", off), []byte(key))}
}

func (h *harness) send(es ...inflight.Entry) {
	h.t.Helper()
	for _, e := range es {
		select {
		case h.in <- e:
		case <-time.After(5 * time.Second):
			h.t.Fatalf("dispatcher did not take offset %d", e.Offset)
		}
	}
}

func (h *harness) recv() *message.Message {
	h.t.Helper()
	select {
	case m := <-h.out:
		return m
	case <-time.After(5 * time.Second):
		h.t.Fatal("no message handed out")
		return nil
	}
}

// none asserts that nothing is handed out for a while.
func (h *harness) none(why string) {
	h.t.Helper()
	select {
	case m := <-h.out:
		h.t.Fatalf("%s, but %s was handed out", why, m.UUID)
	case <-time.After(60 * time.Millisecond):
	}
}

// waitInFlight waits until the dispatcher has processed verdicts down to n in flight.
func (h *harness) waitInFlight(n int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.d.Stats().InFlight != n {
		if time.Now().After(deadline) {
			h.t.Fatalf("in flight stays %d, want %d", h.d.Stats().InFlight, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  inflight.Config
		want []string
	}{
		{"defaults", inflight.Config{}, nil},
		{"no sleep", inflight.Config{NackResendSleep: inflight.NoSleep}, nil},
		{"negative in flight", inflight.Config{MaxInFlight: -1}, []string{"MaxInFlight"}},
		{"pending below in flight", inflight.Config{MaxInFlight: 10, MaxPending: 5}, []string{"MaxPending"}},
		{"all wrong", inflight.Config{MaxInFlight: -3, MaxPending: -4, NackResendSleep: -5}, []string{"MaxInFlight", "MaxPending", "NackResendSleep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors about %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, lacks %q", err, w)
				}
			}
			if _, err := inflight.New(tc.cfg, 0); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestCommitted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial int64
		offsets []int64
		acks    []int64 // acked in this order
		want    []int64 // Committed after each ack
	}{
		{"in order", 0, []int64{1, 2, 3, 4}, []int64{1, 2, 3, 4}, []int64{1, 2, 3, 4}},
		{"reverse", 0, []int64{1, 2, 3, 4}, []int64{4, 3, 2, 1}, []int64{0, 0, 0, 4}},
		{"holes filled", 0, []int64{1, 2, 3, 4}, []int64{2, 1, 4, 3}, []int64{0, 2, 2, 4}},
		{"offset gaps", 5, []int64{10, 20, 35}, []int64{20, 10, 35}, []int64{5, 20, 35}},
		{"kafka from zero", -1, []int64{0, 1, 2}, []int64{1, 2, 0}, []int64{-1, -1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, inflight.Config{NackResendSleep: inflight.NoSleep}, tc.initial)
			if got := h.d.Committed(); got != tc.initial {
				t.Fatalf("Committed() before any entry = %d, want %d", got, tc.initial)
			}
			for _, off := range tc.offsets {
				h.send(entry(off, fmt.Sprint("k", off))) // distinct keys: all go out at once
			}
			byOffset := map[string]*message.Message{}
			for range tc.offsets {
				m := h.recv()
				byOffset[m.UUID] = m
			}
			h.waitInFlight(len(tc.offsets))
			for i, off := range tc.acks {
				byOffset[fmt.Sprintf("m%d", off)].Ack()
				h.waitInFlight(len(tc.offsets) - i - 1)
				if got := h.d.Committed(); got != tc.want[i] {
					t.Errorf("after ack of %d: Committed() = %d, want %d", off, got, tc.want[i])
				}
			}
		})
	}
}

func TestMaxInFlight(t *testing.T) {
	h := start(t, inflight.Config{MaxInFlight: 3}, 0)
	for off := int64(1); off <= 5; off++ {
		h.send(entry(off, fmt.Sprint("k", off)))
	}
	got := []*message.Message{h.recv(), h.recv(), h.recv()}
	h.none("3 messages are unacked and MaxInFlight is 3")
	h.waitInFlight(3)
	if s := h.d.Stats(); s.InFlight != 3 || s.Pending != 5 {
		t.Errorf("Stats() = %+v, want 3 in flight, 5 pending", s)
	}
	got[1].Ack()
	if m := h.recv(); m.UUID != "m4" {
		t.Errorf("after an ack got %s, want m4", m.UUID)
	}
	h.none("3 messages are unacked again")
}

func TestSameKeyWaitsForAck(t *testing.T) {
	h := start(t, inflight.Config{}, 0)
	h.send(entry(1, "a"), entry(2, "a"), entry(3, "b"))
	a1, b3 := h.recv(), h.recv()
	if a1.UUID != "m1" || b3.UUID != "m3" {
		t.Fatalf("got %s, %s; want m1, m3 (m2 waits behind m1)", a1.UUID, b3.UUID)
	}
	h.none("m2's key has m1 unacked")
	b3.Ack()
	h.none("acking another key does not free key a")
	a1.Ack()
	if m := h.recv(); m.UUID != "m2" {
		t.Fatalf("got %s, want m2", m.UUID)
	}
}

func TestLowestOffsetFirst(t *testing.T) {
	h := start(t, inflight.Config{MaxInFlight: 1}, 0)
	h.send(entry(1, "a"), entry(2, "a"), entry(3, "b"))
	h.recv().Ack()
	// m3 became ready before m2, but m2 has the lower offset.
	for _, want := range []string{"m2", "m3"} {
		m := h.recv()
		if m.UUID != want {
			t.Fatalf("got %s, want %s", m.UUID, want)
		}
		m.Ack()
	}
}

func TestNackRedeliversAfterSleep(t *testing.T) {
	const sleep = 80 * time.Millisecond
	h := start(t, inflight.Config{NackResendSleep: sleep}, 0)
	h.send(entry(1, "a"), entry(2, "a"), entry(3, "b"))
	a1 := h.recv()
	h.recv().Ack() // m3, another key, goes on
	nackedAt := time.Now()
	a1.Nack()
	select {
	case <-a1.Context().Done():
	case <-time.After(time.Second):
		t.Fatal("context of a nacked message is not canceled")
	}
	again := h.recv()
	if waited := time.Since(nackedAt); waited < sleep {
		t.Errorf("redelivered after %s, want at least %s", waited, sleep)
	}
	if again.UUID != "m1" {
		t.Fatalf("after nack got %s, want m1 again before m2", again.UUID)
	}
	if again == a1 {
		t.Fatal("redelivery reused the nacked *Message; it cannot be acked again")
	}
	if string(again.Payload) != "a" || again.Context().Err() != nil {
		t.Errorf("redelivered copy: payload %q, ctx err %v", again.Payload, again.Context().Err())
	}
	if h.d.Committed() != 0 {
		t.Errorf("Committed() = %d with m1 unacked, want 0", h.d.Committed())
	}
	again.Ack()
	if m := h.recv(); m.UUID != "m2" {
		t.Fatalf("got %s, want m2", m.UUID)
	}
	h.waitInFlight(1) // the hand-out of m2 is counted
	if s := h.d.Stats(); s.Redelivered != 1 || s.Delivered != 4 {
		t.Errorf("Stats() = %+v, want 4 delivered, 1 redelivered", s)
	}
}

func TestMessageContext(t *testing.T) {
	h := start(t, inflight.Config{}, 0)
	h.send(entry(1, "a"), entry(2, "b"))
	m1, m2 := h.recv(), h.recv()
	if m1.Context().Value(ctxKey{}) != "run" {
		t.Error("message context does not derive from Run's context")
	}
	m1.Ack()
	select {
	case <-m1.Context().Done():
	case <-time.After(time.Second):
		t.Fatal("context not canceled after Ack")
	}
	if m2.Context().Err() != nil {
		t.Fatal("context of an unacked message canceled")
	}
	h.cancel()
	select {
	case <-m2.Context().Done():
	case <-time.After(time.Second):
		t.Fatal("context of an in-flight message not canceled when Run stops")
	}
}

func TestStopWhileBusy(t *testing.T) {
	h := start(t, inflight.Config{MaxInFlight: 2, MaxPending: 4, NackResendSleep: time.Hour}, 0)
	h.send(entry(1, "a"), entry(2, "b"), entry(3, "c"), entry(4, "d"))
	m1, m2 := h.recv(), h.recv()
	m2.Nack() // waits an hour for redelivery
	blocked := make(chan struct{})
	go func() { // the producer is blocked by MaxPending
		defer close(blocked)
		select {
		case h.in <- entry(5, "e"):
		case <-time.After(300 * time.Millisecond):
		}
	}()
	time.Sleep(20 * time.Millisecond)
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run() = %v after cancel, want nil", err)
		}
		h.done <- err // for the cleanup
	case <-time.After(time.Second):
		t.Fatal("Run did not return after cancel")
	}
	<-blocked
	if m1.Ack() != true {
		t.Error("Ack after stop must still work on the message")
	}
	if got := h.d.Committed(); got != 0 {
		t.Errorf("Committed() = %d; acks after stop must not count", got)
	}
}

func TestDrainsWhenInputCloses(t *testing.T) {
	h := start(t, inflight.Config{}, 0)
	h.send(entry(1, "a"), entry(2, "a"))
	close(h.in)
	m1 := h.recv()
	select {
	case err := <-h.done:
		t.Fatalf("Run returned %v with messages unacked", err)
	case <-time.After(50 * time.Millisecond):
	}
	m1.Ack()
	h.recv().Ack()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		h.done <- err
	case <-time.After(time.Second):
		t.Fatal("Run did not return after input closed and all acked")
	}
	if h.d.Committed() != 2 {
		t.Errorf("Committed() = %d, want 2", h.d.Committed())
	}
}

func TestBackPressure(t *testing.T) {
	h := start(t, inflight.Config{MaxInFlight: 1, MaxPending: 2}, 0)
	h.send(entry(1, "a"), entry(2, "b"))
	select {
	case h.in <- entry(3, "c"):
		t.Fatal("a third entry was taken with MaxPending 2")
	case <-time.After(60 * time.Millisecond):
	}
	h.recv().Ack()
	h.send(entry(3, "c"))
}

func TestInvalidEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []inflight.Entry
		want    string
	}{
		{"offset goes back", []inflight.Entry{entry(5, "a"), entry(4, "b")}, "offset 4 received after 5"},
		{"offset repeats", []inflight.Entry{entry(5, "a"), entry(5, "b")}, "offset 5 received after 5"},
		{"offset not after committed", []inflight.Entry{entry(3, "a")}, "offset 3 received after 3"},
		{"no message", []inflight.Entry{{Offset: 9}}, "no message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, inflight.Config{}, 3)
			for _, e := range tc.entries {
				select {
				case h.in <- e:
				case err := <-h.done:
					h.done <- err
				}
			}
			select {
			case err := <-h.done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Run() = %v, want error containing %q", err, tc.want)
				}
				h.done <- err
			case <-time.After(time.Second):
				t.Fatal("Run accepted an invalid entry")
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	h := start(t, inflight.Config{}, 0)
	h.send(entry(1, "a")) // the first Run is running for sure
	err := h.d.Run(context.Background(), make(chan inflight.Entry), make(chan *message.Message))
	if !errors.Is(err, inflight.ErrAlreadyRunning) {
		t.Fatalf("second Run() = %v, want ErrAlreadyRunning", err)
	}
}

// TestRandomized drives the dispatcher with concurrent receivers that ack and nack at random (and,
// in some cases, take the backlog of their key as followers at random) and checks every guarantee
// of the contract on the way: every message is acked once in the end, each key's acks come in offset
// order, no two receivers hold one key at once, and at most MaxInFlight messages are out.
func TestRandomized(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       inflight.Config
		messages  int
		keys      int
		workers   int
		nackRatio float64
		followers int // most followers a receiver asks for; 0: none
		skipRatio float64
	}{
		{"no sleep", inflight.Config{MaxInFlight: 8, NackResendSleep: inflight.NoSleep}, 3000, 20, 16, 0.1, 0, 0},
		{"sleep", inflight.Config{MaxInFlight: 8, NackResendSleep: time.Millisecond}, 1500, 7, 12, 0.2, 0, 0},
		{"one key", inflight.Config{MaxInFlight: 4, NackResendSleep: inflight.NoSleep}, 500, 1, 4, 0.1, 0, 0},
		{"more keys than room", inflight.Config{MaxInFlight: 3, MaxPending: 3, NackResendSleep: inflight.NoSleep}, 2000, 500, 8, 0.05, 0, 0},
		{"followers, no sleep", inflight.Config{MaxInFlight: 16, NackResendSleep: inflight.NoSleep}, 3000, 10, 8, 0.1, 6, 0},
		{"followers, sleep", inflight.Config{MaxInFlight: 8, NackResendSleep: time.Millisecond}, 1500, 4, 6, 0.2, 6, 0},
		{"followers, one key", inflight.Config{MaxInFlight: 32, NackResendSleep: inflight.NoSleep}, 1000, 1, 4, 0.05, 6, 0},
		{"skips, followers", inflight.Config{MaxInFlight: 8, NackResendSleep: inflight.NoSleep}, 3000, 10, 8, 0.1, 6, 0.5},
		{"skips, more keys than room", inflight.Config{MaxInFlight: 3, MaxPending: 3, NackResendSleep: inflight.NoSleep}, 2000, 500, 8, 0.05, 0, 0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.cfg, 0)
			keyOf := make([]string, tc.messages+1)
			skip := make([]bool, tc.messages+1)
			rnd := rand.New(rand.NewPCG(1, uint64(tc.messages)))
			for off := 1; off <= tc.messages; off++ {
				keyOf[off] = fmt.Sprint("k", rnd.IntN(tc.keys))
				skip[off] = rnd.Float64() < tc.skipRatio
			}
			var (
				mu         sync.Mutex
				holder     = map[string]int{} // key -> receiver holding it
				total      int
				ackedByKey = map[string][]int64{}
				acked      = map[string]bool{}
				failures   []string
				followed   int
			)
			fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }
			var wg sync.WaitGroup
			for w := range tc.workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), 7))
					for m := range h.out {
						key := string(m.Payload)
						batch := []*message.Message{m}
						if tc.followers > 0 {
							batch = append(batch, inflight.Followers(m, 1+r.IntN(tc.followers))...)
						}
						mu.Lock()
						followed += len(batch) - 1
						if hw, ok := holder[key]; ok {
							fail("key %s handed to receiver %d while receiver %d holds it", key, w, hw)
						}
						holder[key] = w
						total += len(batch)
						if total > tc.cfg.MaxInFlight {
							fail("%d messages out at once, MaxInFlight %d", total, tc.cfg.MaxInFlight)
						}
						for _, b := range batch {
							if string(b.Payload) != key {
								fail("follower %s of key %s given with %s", b.UUID, b.Payload, key)
							}
							if acked[b.UUID] {
								fail("%s handed out after it was acked", b.UUID)
							}
						}
						mu.Unlock()
						time.Sleep(time.Duration(r.IntN(100)) * time.Microsecond)
						failAt := len(batch) // the first nacked; every later one is nacked too
						for i := range batch {
							if r.Float64() < tc.nackRatio {
								failAt = i
								break
							}
						}
						mu.Lock()
						delete(holder, key)
						total -= len(batch)
						for _, b := range batch[:failAt] {
							var off int64
							fmt.Sscanf(b.UUID, "m%d", &off)
							ackedByKey[key] = append(ackedByKey[key], off)
							acked[b.UUID] = true
						}
						mu.Unlock()
						for i, b := range batch {
							if i < failAt {
								b.Ack()
							} else {
								b.Nack()
							}
						}
					}
				}()
			}
			go func() {
				for off := 1; off <= tc.messages; off++ {
					if skip[off] {
						h.in <- inflight.Entry{Offset: int64(off), Key: keyOf[off], Skip: true}
						continue
					}
					h.in <- inflight.Entry{Offset: int64(off), Key: keyOf[off], Msg: message.NewMessage(fmt.Sprintf("m%d", off), []byte(keyOf[off]))}
				}
				close(h.in)
			}()
			select {
			case err := <-h.done:
				if err != nil {
					t.Fatalf("Run() = %v", err)
				}
				h.done <- err
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not drain")
			}
			close(h.out)
			wg.Wait()
			for _, f := range failures[:min(len(failures), 10)] {
				t.Error(f)
			}
			want := map[string][]int64{}
			handled := 0
			for off := 1; off <= tc.messages; off++ {
				if !skip[off] {
					want[keyOf[off]] = append(want[keyOf[off]], int64(off))
					handled++
				}
			}
			if len(acked) != handled {
				t.Errorf("%d distinct messages acked, want %d (the entries not skipped)", len(acked), handled)
			}
			for key, offs := range want {
				if fmt.Sprint(ackedByKey[key]) != fmt.Sprint(offs) {
					t.Errorf("key %s acked in order %v, want %v", key, ackedByKey[key], offs)
				}
			}
			if got := h.d.Committed(); got != int64(tc.messages) {
				t.Errorf("Committed() = %d, want %d", got, tc.messages)
			}
			if s := h.d.Stats(); tc.nackRatio > 0 && s.Redelivered == 0 {
				t.Errorf("Stats() = %+v: no redelivery happened", s)
			}
			if tc.followers > 0 && followed == 0 {
				t.Error("no message was ever taken as a follower: the case did not exercise Followers")
			}
		})
	}
}

// TestAckBeforeStopCounts: an Ack given before Run returns is in Committed, however close to the
// stop it comes (a subscriber closed right after its last Ack commits it).
func TestAckBeforeStopCounts(t *testing.T) {
	for i := range 50 {
		h := start(t, inflight.Config{}, 0)
		h.send(entry(1, "a"), entry(2, "b"), entry(3, "c"))
		m1, m2, m3 := h.recv(), h.recv(), h.recv()
		m2.Ack()
		m1.Ack()
		m3.Nack()
		h.cancel()
		if err := <-h.done; err != nil {
			t.Fatal(err)
		}
		h.done <- nil
		if got := h.d.Committed(); got != 2 {
			t.Fatalf("round %d: Committed() = %d after acks of 1 and 2 and stop, want 2", i, got)
		}
	}
}

// A receiver takes the backlog of its key as followers: they come in offset order, count as in
// flight, and a nacked follower comes again (as a copy) before anything later of its key.
func TestFollowers(t *testing.T) {
	h := start(t, inflight.Config{MaxInFlight: 8, NackResendSleep: inflight.NoSleep}, 0)
	h.send(entry(1, "a"), entry(2, "a"), entry(3, "b"), entry(4, "a"), entry(5, "a"))
	m1, m3 := h.recv(), h.recv()
	if m1.UUID != "m1" || m3.UUID != "m3" {
		t.Fatalf("handed out %s and %s, want m1 and m3", m1.UUID, m3.UUID)
	}
	if got := inflight.Followers(m3, 10); len(got) != 0 {
		t.Fatalf("b has nothing waiting, got %d followers", len(got))
	}
	fs := inflight.Followers(m1, 2)
	if len(fs) != 2 || fs[0].UUID != "m2" || fs[1].UUID != "m4" {
		t.Fatalf("followers of m1 = %v, want m2 and m4", uuids(fs))
	}
	if got := inflight.Followers(m1, 10); len(got) != 0 {
		t.Fatalf("a second call while followers are out got %v", uuids(got))
	}
	h.waitInFlight(4)
	if fs[0].Context().Err() != nil {
		t.Fatal("a follower's context is canceled while it is out")
	}
	h.none("m5 waits behind a's followers")
	m1.Ack()
	fs[0].Ack()
	fs[1].Nack()
	again := h.recv()
	if again.UUID != "m4" || again == fs[1] {
		t.Fatalf("after the nack got %s (same message: %v), want a copy of m4", again.UUID, again == fs[1])
	}
	h.none("m5 waits for m4")
	m3.Ack()
	again.Ack()
	if m5 := h.recv(); m5.UUID != "m5" {
		t.Fatalf("got %s, want m5", m5.UUID)
	} else {
		m5.Ack()
	}
	waitCommitted(t, h.d, 5)
}

// A message that is not from a Dispatcher has no followers.
func TestFollowersOfForeignMessage(t *testing.T) {
	if got := inflight.Followers(message.NewMessage("x", nil), 5); got != nil {
		t.Fatalf("got %v", got)
	}
}

func uuids(ms []*message.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.UUID)
	}
	return out
}

func waitCommitted(t *testing.T, d *inflight.Dispatcher, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for d.Committed() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Committed() = %d, want %d", d.Committed(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSkip(t *testing.T) {
	h := start(t, inflight.Config{NackResendSleep: inflight.NoSleep}, 0)
	skip := func(off int64, key string) inflight.Entry { return inflight.Entry{Offset: off, Key: key, Skip: true} }
	waitCommitted := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for h.d.Committed() != want {
			if time.Now().After(deadline) {
				t.Fatalf("Committed() = %d, want %d", h.d.Committed(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Nothing open: a skipped entry is committed at once.
	h.send(skip(1, "a"))
	waitCommitted(1)

	// Behind an open message it waits for it, and blocks nothing of its key.
	h.send(entry(2, "a"), skip(3, "a"), entry(4, "a"), skip(5, "b"))
	m2 := h.recv()
	if m2.UUID != "m2" {
		t.Fatalf("handed out %s first, want m2", m2.UUID)
	}
	h.none("m4 waits for m2 (same key)")
	if got := h.d.Committed(); got != 1 {
		t.Fatalf("Committed() with m2 open = %d, want 1", got)
	}
	m2.Ack()
	m4 := h.recv()
	if m4.UUID != "m4" {
		t.Fatalf("handed out %s, want m4 (offset 3 is skipped)", m4.UUID)
	}
	waitCommitted(3)
	m4.Ack()
	waitCommitted(5)
	if st := h.d.Stats(); st.Delivered != 2 || st.Pending != 0 {
		t.Errorf("Stats() = %+v, want 2 delivered, none pending", st)
	}
}
