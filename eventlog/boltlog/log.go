// Package boltlog is the hub's embedded durable log: one bbolt file in the data folder, read and
// written through watermill's message.Publisher and message.Subscriber. It meets the contract of
// package eventlog; what follows is that contract as this backend keeps it.
//
// A Log owns the file: bbolt locks it, so one process at a time has it open. Publishers and
// subscribers are handles on the Log; closing one leaves the Log and the others running. Every
// method of Log, of its publishers and of its subscribers is safe for concurrent use.
//
// Publish:
//   - Publish returns nil only once every message of the call is written and fsync'd: it survives
//     a crash of the process or of the machine. The messages of one call are appended in one
//     transaction, so after a crash they are all there or none is, in the order given.
//     Concurrent calls share transactions and fsyncs (group commit) but stay atomic each.
//   - An error means the call is not acknowledged. Nothing of it is stored, or (after a failed
//     fsync) all of it may still turn up; retrying is always safe (next point).
//   - Publish is idempotent per topic: a message whose UUID is already in the topic, or earlier
//     in the same call, is skipped and Publish still returns nil. The stored copy stays as it
//     is, even if the new one differs. Events get a UUID derived from their key
//     (eventlog.MessageUUID), so sending an event again never stores it twice. The UUID index
//     is held in memory (about 24 bytes a message) and rebuilt from the file by Open (about
//     0.1-0.3 s per 100k messages on a busy 2-core machine); index.go says why it is not a
//     bucket.
//   - Every message gets the topic's next sequence number, from 1; the numbers have no gaps.
//     Publish does not keep the messages: the caller may reuse them once it returns.
//   - Topic names follow Kafka's rule, so the same names work in both modes: 1 to 249
//     characters of [a-zA-Z0-9._-]. A message needs a UUID.
//
// Subscribe:
//   - Every consumer group has a durable position per topic: the sequence number up to which it
//     has acknowledged everything. A new group starts at the beginning of the topic; after a
//     restart a group resumes after its position. The position is committed to the same file
//     every CommitInterval, when a subscription ends and when the Log closes; messages acked
//     after the last commit are delivered again (at least once).
//   - One subscription per (topic, group) is active in the process at a time. Another Subscribe
//     of the same group and topic waits, its channel open, until the active one ends, and then
//     takes over from the committed position (a topic has a single partition).
//   - Messages are handed out in sequence order, up to MaxInFlight unacknowledged at once; a
//     message is never handed out while an earlier one with the same eventlog.MetaPartitionKey
//     is unacknowledged (messages without the key share the key ""). Nack hands the message out
//     again after NackResendSleep. See package inflight.
//   - Every delivered message carries eventlog.MetaPosition (partition 0, offset = sequence
//     number) and a context derived from Subscribe's ctx, canceled on Ack, Nack and when the
//     subscription ends. The receiver owns the message: its payload shares no memory with the log.
//   - A publish wakes the subscribers of its topic at once; PollInterval is only a fallback.
//   - The output channel is closed when ctx is canceled, the subscriber is closed or the Log is
//     closed.
package boltlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
)

// Errors.
var (
	// ErrClosed is returned by calls on a closed Log, publisher or subscriber.
	ErrClosed = errors.New("boltlog: closed")
	// ErrGroupActive is returned by ResetGroup while the group has a subscription on the topic.
	ErrGroupActive = errors.New("boltlog: consumer group has an active subscription")
)

// Layout: bucket "topics" holds a bucket per topic, which holds
//
//	m: 8-byte big-endian sequence number -> encoded message (the log itself; append only)
//	g: consumer group -> 8-byte big-endian committed sequence number
//
// The idempotency index is rebuilt from m at Open (see index.go).
var (
	bucketTopics   = []byte("topics")
	bucketMessages = []byte("m")
	bucketGroups   = []byte("g")
)

const (
	defaultLockTimeout      = 2 * time.Second
	defaultMaxBatchMessages = 10_000
	maxGroupLen             = 255
)

// Options tunes a Log. Zero fields take defaults.
type Options struct {
	// Logger for the Log and, unless they set their own, its subscribers. Default: none.
	Logger watermill.LoggerAdapter
	// Registerer receives the Log's metrics; nil registers none.
	Registerer prometheus.Registerer
	// LockTimeout is how long Open waits for another process to release the file. Default 2 s.
	LockTimeout time.Duration
	// MaxBatchMessages caps the messages of one group commit (a single Publish call may exceed
	// it: it is never split). Default 10000.
	MaxBatchMessages int

	hash func([]byte) uint64 // tests force collisions in the idempotency index
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = watermill.NopLogger{}
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = defaultLockTimeout
	}
	if o.MaxBatchMessages == 0 {
		o.MaxBatchMessages = defaultMaxBatchMessages
	}
}

// Validate reports every problem of o, after defaults are applied to zero fields.
func (o Options) Validate() error {
	o.setDefaults()
	var errs []error
	if o.LockTimeout < 0 {
		errs = append(errs, fmt.Errorf("boltlog: LockTimeout must be positive, got %s", o.LockTimeout))
	}
	if o.MaxBatchMessages < 1 {
		errs = append(errs, fmt.Errorf("boltlog: MaxBatchMessages must be positive, got %d", o.MaxBatchMessages))
	}
	return errors.Join(errs...)
}

// Log is an open log file. See the package comment for its contract.
type Log struct {
	db      *bolt.DB
	opts    Options
	logger  watermill.LoggerAdapter
	metrics *metrics

	hash       func([]byte) uint64 // of message UUIDs, for the idempotency index
	indexes    map[string]*index   // per topic; owned by the writer
	ops        chan *op            // to the writer; unbuffered, so a sent op is always answered
	quit       chan struct{}       // closed to stop the writer
	writerDone chan struct{}

	mu          sync.Mutex
	closed      bool
	changed     map[string]chan struct{} // per topic, closed and replaced on every append
	leases      map[string]chan struct{} // per topic and group, holds a token while subscribed
	subscribers map[*subscriber]struct{}
	closeOnce   sync.Once
	closeErr    error
}

// Open opens the log file at path, creating it and its folder if needed.
func Open(path string, opts Options) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("boltlog: %w", err)
	}
	_, statErr := os.Stat(path)
	db, err := bolt.Open(path, 0o640, &bolt.Options{
		Timeout:      opts.LockTimeout,
		FreelistType: bolt.FreelistMapType,
		// The freelist is rebuilt by a scan on open instead of being written on every commit:
		// fewer pages per commit, and an append-only log frees little.
		NoFreelistSync: true,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("boltlog: %s is locked by another process (waited %s): %w", path, opts.LockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltlog: opening %s: %w", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// The new file's directory entry must be durable too.
		if err := syncDir(dir); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("boltlog: %w", err)
		}
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketTopics)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltlog: initialising %s: %w", path, err)
	}
	hash := opts.hash
	if hash == nil {
		seed := maphash.MakeSeed()
		hash = func(b []byte) uint64 { return maphash.Bytes(seed, b) }
	}
	var indexes map[string]*index
	if err := db.View(func(tx *bolt.Tx) error {
		var err error
		indexes, err = loadIndexes(tx, hash)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltlog: reading %s: %w", path, err)
	}
	l := &Log{
		hash:        hash,
		indexes:     indexes,
		db:          db,
		opts:        opts,
		logger:      opts.Logger.With(watermill.LogFields{"log": path}),
		metrics:     newMetrics(opts.Registerer),
		ops:         make(chan *op),
		quit:        make(chan struct{}),
		writerDone:  make(chan struct{}),
		changed:     map[string]chan struct{}{},
		leases:      map[string]chan struct{}{},
		subscribers: map[*subscriber]struct{}{},
	}
	go l.writer()
	return l, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close closes every subscriber of the Log (committing their positions), then the file. Later
// calls on the Log or its handles return ErrClosed. Close is idempotent.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		subs := make([]*subscriber, 0, len(l.subscribers))
		for s := range l.subscribers {
			subs = append(subs, s)
		}
		l.mu.Unlock()
		var errs []error
		for _, s := range subs {
			errs = append(errs, s.Close())
		}
		close(l.quit)
		<-l.writerDone
		errs = append(errs, l.db.Close())
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}

// HighWater returns the sequence number of the topic's last message: 0 for an empty or unknown
// topic. It equals the number of messages in the topic.
func (l *Log) HighWater(topic string) (int64, error) {
	var hw uint64
	err := l.view(topic, func(tb *bolt.Bucket) error {
		if m := tb.Bucket(bucketMessages); m != nil {
			hw = m.Sequence()
		}
		return nil
	})
	return int64(hw), err
}

// Committed returns the durable position of the group on the topic: every message up to this
// sequence number was acknowledged. 0 when the group has none (it starts at the beginning).
// HighWater minus Committed is the group's lag.
func (l *Log) Committed(topic, group string) (int64, error) {
	if err := validateGroup(group); err != nil {
		return 0, err
	}
	var pos int64
	err := l.view(topic, func(tb *bolt.Bucket) error {
		var err error
		pos, err = committedIn(tb, group)
		return err
	})
	return pos, err
}

func committedIn(tb *bolt.Bucket, group string) (int64, error) {
	g := tb.Bucket(bucketGroups)
	if g == nil {
		return 0, nil
	}
	v := g.Get([]byte(group))
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: position of group %q has %d bytes", errCorrupt, group, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// ResetGroup forgets the group's position on the topic, so that its next subscription starts
// at the beginning (a rebuild of the views). It fails with ErrGroupActive while the group has a
// subscription on the topic in this process.
func (l *Log) ResetGroup(topic, group string) error {
	if err := validateTopic(topic); err != nil {
		return err
	}
	if err := validateGroup(group); err != nil {
		return err
	}
	lease := l.lease(topic, group)
	select {
	case lease <- struct{}{}:
	default:
		return fmt.Errorf("%w: group %q on topic %q", ErrGroupActive, group, topic)
	}
	defer func() { <-lease }()
	return l.submit(&op{kind: opReset, topic: topic, group: group})
}

// SetCommitted stores pos as the group's durable position on the topic, as if the group had
// acknowledged every message up to that sequence number (a rebuild hands the position of the
// group that built new views to the group that serves them). It fails with ErrGroupActive while
// the group has a subscription on the topic in this process.
func (l *Log) SetCommitted(topic, group string, pos int64) error {
	if err := validateTopic(topic); err != nil {
		return err
	}
	if err := validateGroup(group); err != nil {
		return err
	}
	if pos < 0 {
		return fmt.Errorf("boltlog: position %d of group %q must be ≥ 0", pos, group)
	}
	lease := l.lease(topic, group)
	select {
	case lease <- struct{}{}:
	default:
		return fmt.Errorf("%w: group %q on topic %q", ErrGroupActive, group, topic)
	}
	defer func() { <-lease }()
	return l.submit(&op{kind: opCommit, topic: topic, group: group, pos: pos})
}

// view runs fn on the topic's bucket in a read transaction; fn is not called when the topic
// has no bucket yet.
func (l *Log) view(topic string, fn func(tb *bolt.Bucket) error) error {
	if err := validateTopic(topic); err != nil {
		return err
	}
	err := l.db.View(func(tx *bolt.Tx) error {
		if tb := tx.Bucket(bucketTopics).Bucket([]byte(topic)); tb != nil {
			return fn(tb)
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// changes returns a channel closed by the next append to topic. Take it before reading, so no
// append between the read and the wait is missed.
func (l *Log) changes(topic string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.changed[topic]
	if !ok {
		ch = make(chan struct{})
		l.changed[topic] = ch
	}
	return ch
}

func (l *Log) notify(topic string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.changed[topic]; ok {
		close(ch)
		delete(l.changed, topic)
	}
}

func (l *Log) lease(topic, group string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := topic + "\x00" + group
	ch, ok := l.leases[k]
	if !ok {
		ch = make(chan struct{}, 1)
		l.leases[k] = ch
	}
	return ch
}

var topicPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func validateTopic(topic string) error {
	if !topicPattern.MatchString(topic) {
		return fmt.Errorf("boltlog: topic %q: want 1 to 249 characters of [a-zA-Z0-9._-]", topic)
	}
	return nil
}

func validateGroup(group string) error {
	if group == "" || len(group) > maxGroupLen {
		return fmt.Errorf("boltlog: consumer group %q: want 1 to %d bytes", group, maxGroupLen)
	}
	return nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}
