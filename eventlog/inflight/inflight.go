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
	delivery *message.Message // the message to hand out or handed out; nil while blocked
	cancel   context.CancelFunc
	due      time.Time // redelivery time while waiting after a nack
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
		keys:    map[string][]*entry{},
		results: make(chan result, d.cfg.MaxInFlight),
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

	window   []*entry            // every held entry in offset order; the head is the oldest unacked
	keys     map[string][]*entry // busy keys and the entries blocked behind them
	ready    readyHeap           // free to hand out, lowest offset first
	resend   []*entry            // nacked, by due time (constant sleep keeps it FIFO)
	inFlight int                 // handed out, no result yet
	results  chan result         // from the watchers; capacity MaxInFlight never blocks them
	stop     chan struct{}       // closed when Run ends
	watchers sync.WaitGroup      // the watch goroutines
	last     int64               // offset of the last entry received
	timer    *time.Timer         // for the head of resend
	armed    time.Time           // due time the timer is set for
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
		case now := <-timerCh:
			r.armed = time.Time{}
			for len(r.resend) > 0 && !r.resend[0].due.After(now) {
				e := r.resend[0]
				r.resend[0] = nil
				r.resend = r.resend[1:]
				r.makeReady(e, e.Msg.Copy())
				r.d.redelivered.Add(1)
			}
		}
	}
}

func (r *run) receive(e Entry) error {
	if e.Msg == nil {
		return fmt.Errorf("inflight: entry at offset %d has no message", e.Offset)
	}
	if e.Offset <= r.last {
		return fmt.Errorf("inflight: offset %d received after %d: offsets must grow", e.Offset, r.last)
	}
	r.last = e.Offset
	en := &entry{Entry: e}
	r.window = append(r.window, en)
	if blocked, busy := r.keys[e.Key]; busy {
		r.keys[e.Key] = append(blocked, en)
		return nil
	}
	r.keys[e.Key] = nil
	r.makeReady(en, e.Msg)
	return nil
}

// makeReady gives e a delivery with its own context and queues it for handing out.
func (r *run) makeReady(e *entry, m *message.Message) {
	ctx, cancel := context.WithCancel(r.ctx)
	m.SetContext(ctx)
	e.delivery, e.cancel = m, cancel
	heap.Push(&r.ready, e)
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
	if !res.ack {
		r.d.cfg.Logger.Debug("Message nacked, redelivering", watermill.LogFields{
			"offset": e.Offset, "key": e.Key, "uuid": e.Msg.UUID, "resend_sleep": r.d.cfg.NackResendSleep,
		})
		if r.d.cfg.NackResendSleep == NoSleep {
			r.makeReady(e, e.Msg.Copy())
			r.d.redelivered.Add(1)
			return
		}
		e.due = time.Now().Add(r.d.cfg.NackResendSleep)
		r.resend = append(r.resend, e)
		return
	}

	e.acked = true
	if blocked := r.keys[e.Key]; len(blocked) > 0 {
		next := blocked[0]
		blocked[0] = nil
		r.keys[e.Key] = blocked[1:]
		r.makeReady(next, next.Msg)
	} else {
		delete(r.keys, e.Key)
	}
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
