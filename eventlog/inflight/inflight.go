// Package inflight hands out the messages of one ordered stream (a log, a Kafka partition) to a
// watermill subscriber's output channel, several at a time, while keeping order per partition key
// and tracking the position that is safe to commit. It knows nothing of where the messages come
// from: the embedded log feeds it from bbolt, the Kafka subscriber runs one per partition.
//
// The contract of a Dispatcher:
//
//   - Entries are received from the in channel in stream order: each Offset is greater than the
//     one before (gaps are allowed). A violation stops Run with an error.
//   - At most MaxInFlight messages are handed out and not yet acked or nacked at any moment.
//   - A message is never handed out while an earlier message with the same Key is handed out,
//     waiting for redelivery, or not yet handed out: per-key order holds, messages of different
//     keys are processed concurrently. Among messages free to go, the lowest offset goes first.
//   - Nack hands the message out again (a fresh copy: watermill messages are acked once) after
//     NackResendSleep; its key stays blocked meanwhile. Delivery is therefore at least once.
//   - A Skip entry is never handed out and counts as acknowledged.
//   - Followers lets the receiver of a message take the messages of its key already received
//     behind it, so that it can process a key's backlog in one step (one database round trip
//     instead of one per message). They are handed out to that receiver alone, count as in
//     flight, and must be acked in offset order; a nacked follower and every follower after it
//     come again in offset order, as any nacked message does.
//   - Every handed-out message carries a context derived from Run's ctx; it is canceled once the
//     message is acked or nacked, and when Run returns.
//   - Committed reports the highest offset that was acknowledged together with every offset
//     received before it, or the initial position given to New while there is none. It never
//     decreases. Committing it (plus one, in Kafka's convention) loses nothing on restart.
//   - Run returns when ctx is canceled (nil), when in is closed and every received entry is
//     acked (nil), or on a contract violation (an error). It has stopped every goroutine it
//     started by then; acks that arrive later are ignored and the messages are redelivered
//     after a restart from the committed position. Acks given before Run returns all count.
//
// Ownership: the Dispatcher takes the Entry's message and hands it (or its copies) to the
// receiver of out; the receiver owns what it receives. The Dispatcher never closes out.
//
// Committed and Stats are safe for concurrent use; Run is called once.
package inflight

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// NoSleep as NackResendSleep hands a nacked message out again at once.
const NoSleep time.Duration = -1

// Defaults applied to zero fields of Config.
const (
	DefaultMaxInFlight     = 256
	DefaultNackResendSleep = 100 * time.Millisecond
	pendingPerInFlight     = 4
)

// Config tunes a Dispatcher. Zero fields take defaults.
type Config struct {
	// MaxInFlight caps the messages handed out and neither acked nor nacked. Default 256.
	MaxInFlight int
	// MaxPending caps the entries the Dispatcher holds at once: handed out, blocked behind their
	// key, waiting for redelivery, or queued. While it is reached Run stops receiving from in,
	// which gives the producer back-pressure. Default 4 × MaxInFlight; at least MaxInFlight.
	MaxPending int
	// NackResendSleep is how long a nacked message waits before it is handed out again.
	// Default 100 ms; NoSleep for none.
	NackResendSleep time.Duration
	// Logger gets debug lines on redeliveries. Default: none.
	Logger watermill.LoggerAdapter
}

func (c *Config) setDefaults() {
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxPending == 0 {
		c.MaxPending = pendingPerInFlight * c.MaxInFlight
	}
	if c.NackResendSleep == 0 {
		c.NackResendSleep = DefaultNackResendSleep
	}
	if c.Logger == nil {
		c.Logger = watermill.NopLogger{}
	}
}

// Validate reports every problem of c, after defaults are applied to zero fields.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if c.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("inflight: MaxInFlight must be positive, got %d", c.MaxInFlight))
	}
	if c.MaxPending < c.MaxInFlight {
		errs = append(errs, fmt.Errorf("inflight: MaxPending (%d) must be at least MaxInFlight (%d)", c.MaxPending, c.MaxInFlight))
	}
	if c.NackResendSleep < 0 && c.NackResendSleep != NoSleep {
		errs = append(errs, fmt.Errorf("inflight: NackResendSleep must be positive or NoSleep, got %s", c.NackResendSleep))
	}
	return errors.Join(errs...)
}

// Entry is one message of the stream.
type Entry struct {
	// Offset is the message's place in the stream; it grows with every entry.
	Offset int64
	// Key is the partition key: messages with the same key are processed one at a time, in
	// offset order. Messages without a key share "".
	Key string
	// Msg is handed out as is on the first delivery. Its context is replaced.
	Msg *message.Message
	// Skip marks an entry the receiver does not handle (eventlog.Interest): it is never handed
	// out, blocks no key, and counts as acknowledged; Committed moves past it once every entry
	// before it is acknowledged. Msg is not needed.
	Skip bool
}

// Stats is a snapshot of a Dispatcher's state.
type Stats struct {
	Committed   int64  // as Committed
	InFlight    int    // handed out, neither acked nor nacked
	Pending     int    // held by the dispatcher, InFlight included
	Delivered   uint64 // hand-outs, redeliveries included
	Redelivered uint64 // hand-outs after a nack
}

// ErrAlreadyRunning is returned by a second call of Run.
var ErrAlreadyRunning = errors.New("inflight: Run called twice")

// Dispatcher hands out one stream's messages; see the package comment for its contract.
type Dispatcher struct {
	cfg     Config
	started atomic.Bool

	committed   atomic.Int64
	inFlight    atomic.Int64
	pending     atomic.Int64
	delivered   atomic.Uint64
	redelivered atomic.Uint64
}

// New returns a Dispatcher whose Committed starts at committed: the offset before the first entry
// it will receive (the stored committed position, or first offset minus one).
func New(cfg Config, committed int64) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	d := &Dispatcher{cfg: cfg}
	d.committed.Store(committed)
	return d, nil
}

// Committed is the highest offset acknowledged together with every offset received before it.
func (d *Dispatcher) Committed() int64 { return d.committed.Load() }

// Stats returns a snapshot of the dispatcher's counters.
func (d *Dispatcher) Stats() Stats {
	return Stats{
		Committed:   d.committed.Load(),
		InFlight:    int(d.inFlight.Load()),
		Pending:     int(d.pending.Load()),
		Delivered:   d.delivered.Load(),
		Redelivered: d.redelivered.Load(),
	}
}

// entry is an Entry while the dispatcher holds it.
type entry struct {
	Entry
	acked    bool
	handed   bool             // handed out at least once: the next hand-out is a copy
	delivery *message.Message // the message to hand out or handed out; nil while blocked
	cancel   context.CancelFunc
}

// keyState is a key with messages held: those waiting in offset order, and how many are ready
// or handed out (at most one, plus its followers).
type keyState struct {
	blocked []*entry
	out     int
	hold    time.Time // nothing of the key is handed out before this (set by a nack)
}

// resendKey is a key to look at again once its hold ends.
type resendKey struct {
	key string
	due time.Time
}

// followReq asks the Run goroutine for the followers of a handed-out entry.
type followReq struct {
	e     *entry
	max   int
	reply chan []*message.Message
}

type followKey struct{}

// follower is what a handed-out message's context carries for Followers.
type follower struct {
	r *run
	e *entry
}

// Followers hands out, to the receiver of m (a message handed out by a Dispatcher and neither
// acked nor nacked), up to max messages of m's key already received behind it, in offset order.
// The receiver owns them and must ack or nack every one; it acks them only in offset order
// (after m) and, when one fails, nacks it and every later one, so the key's order holds.
// Followers returns none when m did not come from a Dispatcher, when its key has another message
// out, when nothing is waiting, or when MaxInFlight is reached. Safe for concurrent use.
func Followers(m *message.Message, max int) []*message.Message {
	f, ok := m.Context().Value(followKey{}).(*follower)
	if !ok || max < 1 {
		return nil
	}
	req := followReq{e: f.e, max: max, reply: make(chan []*message.Message, 1)}
	select {
	case f.r.follow <- req:
	case <-f.r.stop:
		return nil
	case <-m.Context().Done():
		return nil
	}
	select {
	case ms := <-req.reply:
		return ms
	case <-f.r.stop:
		return nil
	}
}

type result struct {
	e   *entry
	ack bool
}

// Run hands out the entries received from in on out until ctx is canceled or in is closed and
// drained. See the package comment.
func (d *Dispatcher) Run(ctx context.Context, in <-chan Entry, out chan<- *message.Message) error {
	if !d.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	r := &run{
		d:       d,
		ctx:     ctx,
		keys:    map[string]*keyState{},
		results: make(chan result, d.cfg.MaxInFlight),
		follow:  make(chan followReq),
		stop:    make(chan struct{}),
		last:    d.committed.Load(),
	}
	defer r.shutdown()
	return r.loop(in, out)
}

// run is the state of one Run; only the Run goroutine touches it.
type run struct {
	d   *Dispatcher
	ctx context.Context

	window   []*entry             // every held entry in offset order; the head is the oldest unacked
	keys     map[string]*keyState // keys with entries held
	ready    readyHeap            // free to hand out, lowest offset first
	resend   []resendKey          // keys on hold after a nack, by due time (constant sleep keeps it FIFO)
	inFlight int                  // handed out, no result yet
	results  chan result          // from the watchers; capacity MaxInFlight never blocks them
	follow   chan followReq       // from Followers
	stop     chan struct{}        // closed when Run ends
	watchers sync.WaitGroup       // the watch goroutines
	last     int64                // offset of the last entry received
	timer    *time.Timer          // for the head of resend
	armed    time.Time            // due time the timer is set for
}

func (r *run) loop(in <-chan Entry, out chan<- *message.Message) error {
	cfg := r.d.cfg
	for {
		if r.ctx.Err() != nil || (in == nil && len(r.window) == 0) {
			return nil
		}
		r.publishStats()

		var inCh <-chan Entry
		if in != nil && len(r.window) < cfg.MaxPending {
			inCh = in
		}
		var outCh chan<- *message.Message
		var next *message.Message
		if len(r.ready) > 0 && r.inFlight < cfg.MaxInFlight {
			outCh, next = out, r.ready[0].delivery
		}
		var timerCh <-chan time.Time
		if len(r.resend) > 0 {
			timerCh = r.armTimer(r.resend[0].due)
		}

		select {
		case <-r.ctx.Done():
			return nil
		case e, ok := <-inCh:
			if !ok {
				in = nil
				continue
			}
			if err := r.receive(e); err != nil {
				return err
			}
		case outCh <- next:
			e := heap.Pop(&r.ready).(*entry)
			r.inFlight++
			r.d.delivered.Add(1)
			r.watch(e, next)
		case res := <-r.results:
			r.settle(res)
		case req := <-r.follow:
			req.reply <- r.followers(req)
		case now := <-timerCh:
			r.armed = time.Time{}
			for len(r.resend) > 0 && !r.resend[0].due.After(now) {
				k := r.resend[0].key
				r.resend = r.resend[1:]
				if ks := r.keys[k]; ks != nil {
					r.release(k, ks, now)
				}
			}
		}
	}
}

func (r *run) receive(e Entry) error {
	if e.Msg == nil && !e.Skip {
		return fmt.Errorf("inflight: entry at offset %d has no message", e.Offset)
	}
	if e.Offset <= r.last {
		return fmt.Errorf("inflight: offset %d received after %d: offsets must grow", e.Offset, r.last)
	}
	r.last = e.Offset
	if e.Skip {
		if len(r.window) == 0 {
			r.d.committed.Store(e.Offset) // nothing before it is open
			return nil
		}
		r.window = append(r.window, &entry{Entry: e, acked: true})
		return nil
	}
	en := &entry{Entry: e}
	r.window = append(r.window, en)
	ks := r.keys[e.Key]
	if ks == nil {
		ks = &keyState{}
		r.keys[e.Key] = ks
	}
	ks.blocked = append(ks.blocked, en)
	r.release(e.Key, ks, time.Now())
	return nil
}

// release makes the key's first waiting entry ready when nothing of the key is out and its hold
// is over, and forgets the key once it holds nothing.
func (r *run) release(key string, ks *keyState, now time.Time) {
	if ks.out == 0 && len(ks.blocked) > 0 && !now.Before(ks.hold) {
		e := ks.blocked[0]
		ks.blocked[0] = nil
		ks.blocked = ks.blocked[1:]
		ks.out++
		r.makeReady(e, r.deliveryOf(e))
	}
	if ks.out == 0 && len(ks.blocked) == 0 {
		delete(r.keys, key)
	}
}

// deliveryOf is the message to hand e out as: the original the first time, then fresh copies
// (watermill messages are acked once).
func (r *run) deliveryOf(e *entry) *message.Message {
	if !e.handed {
		e.handed = true
		return e.Msg
	}
	r.d.redelivered.Add(1)
	return e.Msg.Copy()
}

// makeReady gives e a delivery with its own context and queues it for handing out.
func (r *run) makeReady(e *entry, m *message.Message) {
	r.setDelivery(e, m)
	heap.Push(&r.ready, e)
}

func (r *run) setDelivery(e *entry, m *message.Message) {
	ctx, cancel := context.WithCancel(r.ctx)
	m.SetContext(context.WithValue(ctx, followKey{}, &follower{r: r, e: e}))
	e.delivery, e.cancel = m, cancel
}

// followers hands out the entries waiting behind req.e, the only entry of its key out.
func (r *run) followers(req followReq) []*message.Message {
	ks := r.keys[req.e.Key]
	if ks == nil || ks.out != 1 || req.e.delivery == nil || req.e.acked {
		return nil
	}
	n := min(req.max, len(ks.blocked), r.d.cfg.MaxInFlight-r.inFlight)
	if n <= 0 {
		return nil
	}
	out := make([]*message.Message, 0, n)
	for _, e := range ks.blocked[:n] {
		m := r.deliveryOf(e)
		r.setDelivery(e, m)
		ks.out++
		r.inFlight++
		r.d.delivered.Add(1)
		r.watch(e, m)
		out = append(out, m)
	}
	clear(ks.blocked[:n])
	ks.blocked = ks.blocked[n:]
	return out
}

// watch waits for the receiver's verdict on m in its own goroutine.
func (r *run) watch(e *entry, m *message.Message) {
	r.watchers.Add(1)
	go func() {
		defer r.watchers.Done()
		select {
		case <-m.Acked():
			r.results <- result{e: e, ack: true}
		case <-m.Nacked():
			r.results <- result{e: e, ack: false}
		case <-r.stop:
		}
	}()
}

func (r *run) settle(res result) {
	e := res.e
	r.inFlight--
	e.cancel()
	e.cancel, e.delivery = nil, nil
	ks := r.keys[e.Key]
	ks.out--
	now := time.Now()
	if !res.ack {
		r.d.cfg.Logger.Debug("Message nacked, redelivering", watermill.LogFields{
			"offset": e.Offset, "key": e.Key, "uuid": e.Msg.UUID, "resend_sleep": r.d.cfg.NackResendSleep,
		})
		// Back among the key's waiting entries, in offset order (followers may be nacked in any
		// order), and the key waits NackResendSleep.
		i := len(ks.blocked)
		for i > 0 && ks.blocked[i-1].Offset > e.Offset {
			i--
		}
		ks.blocked = append(ks.blocked, nil)
		copy(ks.blocked[i+1:], ks.blocked[i:])
		ks.blocked[i] = e
		if r.d.cfg.NackResendSleep != NoSleep {
			ks.hold = now.Add(r.d.cfg.NackResendSleep)
			r.resend = append(r.resend, resendKey{key: e.Key, due: ks.hold})
		}
		r.release(e.Key, ks, now)
		return
	}
	e.acked = true
	r.release(e.Key, ks, now)
	r.advance()
}

// advance moves Committed over the acked entries at the head of the window.
func (r *run) advance() {
	advanced := false
	for len(r.window) > 0 && r.window[0].acked {
		r.d.committed.Store(r.window[0].Offset)
		r.window[0] = nil
		r.window = r.window[1:]
		advanced = true
	}
	if advanced && len(r.window) == 0 {
		r.window = nil // let the backing array go
	}
}

func (r *run) armTimer(due time.Time) <-chan time.Time {
	d := max(time.Until(due), 0)
	if r.timer == nil {
		r.timer = time.NewTimer(d)
		r.armed = due
	} else if !r.armed.Equal(due) {
		r.timer.Reset(d)
		r.armed = due
	}
	return r.timer.C
}

func (r *run) publishStats() {
	r.d.inFlight.Store(int64(r.inFlight))
	r.d.pending.Store(int64(len(r.window)))
}

// shutdown stops the watchers and counts every ack given so far, so that a subscriber closed
// right after its last Ack commits it.
func (r *run) shutdown() {
	close(r.stop)
	r.watchers.Wait()
	if r.timer != nil {
		r.timer.Stop()
	}
	for drained := false; !drained; {
		select {
		case res := <-r.results:
			if res.ack {
				res.e.acked = true
			}
		default:
			drained = true
		}
	}
	for _, e := range r.window {
		if e.delivery != nil && !e.acked {
			select {
			case <-e.delivery.Acked():
				e.acked = true
			default:
			}
		}
		if e.cancel != nil {
			e.cancel()
		}
	}
	r.advance()
	r.d.inFlight.Store(0)
	r.d.pending.Store(0)
}

// readyHeap orders entries free to hand out by offset.
type readyHeap []*entry

func (h readyHeap) Len() int           { return len(h) }
func (h readyHeap) Less(i, j int) bool { return h[i].Offset < h[j].Offset }
func (h readyHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *readyHeap) Push(x any)        { *h = append(*h, x.(*entry)) }
func (h *readyHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
