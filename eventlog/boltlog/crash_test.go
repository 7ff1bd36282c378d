package boltlog_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/boltlog"
)

// The crash test runs this test binary again as a child (crashChildEnv names the log file).
// The child publishes batches from several goroutines, prints "ACK <batch> <size>" once Publish
// returned, consumes the topic in group crashGroup and prints "COMMITTED <pos>" whenever the
// durable position grows. The parent kills it with SIGKILL at a random moment and checks the
// file.
const (
	crashChildEnv   = "BOLTLOG_CRASH_CHILD"
	crashRoundEnv   = "BOLTLOG_CRASH_ROUND"
	crashTopic      = "fangxin.crash.v1"
	crashGroup      = "crash-consumer"
	crashWriters    = 4
	crashMaxBatch   = 40
	crashPayloadLen = 500
)

func crashChild() int {
	path, round := os.Getenv(crashChildEnv), os.Getenv(crashRoundEnv)
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var out sync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...) // one write per line
	}

	sub, err := l.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: crashGroup, CommitInterval: 5 * time.Millisecond, MaxInFlight: 32})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	msgs, err := sub.Subscribe(context.Background(), crashTopic)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go func() {
		for m := range msgs {
			m.Ack()
		}
	}()
	go func() {
		var last int64
		for {
			if c, err := l.Committed(crashTopic, crashGroup); err == nil && c > last {
				say("COMMITTED %d", c)
				last = c
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()

	payload := strings.Repeat("x", crashPayloadLen)
	for w := range crashWriters {
		go func() {
			pub := l.Publisher()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			var prev []*message.Message
			for b := 0; ; b++ {
				id := fmt.Sprintf("r%s-w%d-b%06d", round, w, b)
				batch := make([]*message.Message, 1+rnd.IntN(crashMaxBatch))
				for i := range batch {
					m := message.NewMessage(fmt.Sprintf("%s-m%03d", id, i), []byte(payload))
					m.Metadata.Set(eventlog.MetaPartitionKey, fmt.Sprintf("w%d", w))
					m.Metadata.Set("batch", id)
					m.Metadata.Set("index", strconv.Itoa(i))
					m.Metadata.Set("size", strconv.Itoa(len(batch)))
					batch[i] = m
				}
				if err := pub.Publish(crashTopic, batch...); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				say("ACK %s %d", id, len(batch))
				if b%7 == 6 { // a client retrying an acknowledged call: must not store it twice
					if err := pub.Publish(crashTopic, prev...); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(3)
					}
				}
				prev = batch
			}
		}()
	}
	time.Sleep(time.Minute) // killed long before
	fmt.Fprintln(os.Stderr, "crash child was not killed")
	return 4
}

// TestCrash kills a publishing and consuming process with SIGKILL, several times over the same
// file, and checks after each kill that every acknowledged message is there exactly once and in
// order, that every batch is all there or not at all, and that the consumer group resumes from
// its committed position.
func TestCrash(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	path := filepath.Join(t.TempDir(), "log.db")
	acked := map[string]int{}   // batch -> size, over all rounds
	var lastCommitted int64 = 0 // printed by the last child that printed one
	for round := range 3 {
		lastCommitted = max(lastCommitted, runCrashChild(t, path, round, rnd, acked))
		verifyAfterCrash(t, path, round, acked, lastCommitted)
		if t.Failed() {
			return
		}
	}
}

func runCrashChild(t *testing.T, path string, round int, rnd *rand.Rand, acked map[string]int) (committed int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	// Let it run until it has acknowledged some batches and committed a position, then kill it
	// at a random moment.
	var acks, commits int
	var kill <-chan time.Time
	deadline := time.After(30 * time.Second)
	killed := false
	for line := range lines {
		switch f := strings.Fields(line); {
		case len(f) == 3 && f[0] == "ACK":
			n, _ := strconv.Atoi(f[2])
			acked[f[1]] = n
			acks++
		case len(f) == 2 && f[0] == "COMMITTED":
			c, _ := strconv.ParseInt(f[1], 10, 64)
			committed = max(committed, c)
			commits++
		default:
			t.Errorf("child said %q", line)
		}
		if kill == nil && acks >= 40 && commits >= 1 {
			kill = time.After(time.Duration(rnd.IntN(300)) * time.Millisecond)
		}
		if !killed {
			select {
			case <-kill:
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true // read what it printed before dying
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatalf("child made too little progress: %d acks, %d commits; stderr: %s", acks, commits, stderr.String())
			default:
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !killed || !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not by our SIGKILL; stderr: %s", err, stderr.String())
	}
	t.Logf("round %d: killed after %d acknowledged batches, committed position %d", round, acks, committed)
	return committed
}

type stored struct {
	pos         int64
	uuid, batch string
	index, size int
}

func verifyAfterCrash(t *testing.T, path string, round int, acked map[string]int, lastCommitted int64) {
	t.Helper()
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		t.Fatalf("reopening after the crash: %v", err)
	}
	defer l.Close()
	hw, err := l.HighWater(crashTopic)
	if err != nil {
		t.Fatal(err)
	}

	// Read everything with a new group.
	all := make([]stored, 0, hw)
	_, ch := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: fmt.Sprint("verify-", round)}, crashTopic)
	for range hw {
		m := receive(t, ch)
		index, _ := strconv.Atoi(m.Metadata.Get("index"))
		size, _ := strconv.Atoi(m.Metadata.Get("size"))
		all = append(all, stored{pos: position(t, m), uuid: m.UUID, batch: m.Metadata.Get("batch"), index: index, size: size})
		m.Ack()
	}
	nothing(t, ch, fmt.Sprintf("HighWater is %d", hw))
	slices.SortFunc(all, func(a, b stored) int { return int(a.pos - b.pos) })

	uuids := map[string]bool{}
	batchStart := map[string]int64{}
	for i, s := range all {
		if s.pos != int64(i+1) {
			t.Fatalf("position %d at index %d: the sequence has a gap or a repeat", s.pos, i)
		}
		if uuids[s.uuid] {
			t.Errorf("message %s stored twice", s.uuid)
		}
		uuids[s.uuid] = true
		if s.index == 0 {
			batchStart[s.batch] = s.pos
		}
		if start, ok := batchStart[s.batch]; !ok || s.pos != start+int64(s.index) {
			t.Errorf("message %s at %d: its batch is not one contiguous run in order", s.uuid, s.pos)
		}
		if s.index == s.size-1 {
			delete(batchStart, s.batch) // complete; a later run of the same batch would be a duplicate
		}
	}
	for b := range batchStart {
		t.Errorf("batch %s is stored in part: a Publish call was not atomic", b)
	}
	stores := map[string]int{}
	for _, s := range all {
		if s.index == 0 {
			stores[s.batch]++
		}
	}
	for b, n := range acked {
		if stores[b] != 1 {
			t.Errorf("acknowledged batch %s (%d messages) is stored %d times", b, n, stores[b])
		}
	}
	// Per writer, batches are stored in the order they were published.
	lastByWriter := map[string]string{}
	for _, s := range all {
		if s.index != 0 {
			continue
		}
		w := s.batch[:strings.LastIndex(s.batch, "-b")]
		if prev := lastByWriter[w]; prev >= s.batch {
			t.Errorf("batch %s stored after %s of the same writer", s.batch, prev)
		}
		lastByWriter[w] = s.batch
	}

	// The consumer group resumes after its committed position.
	committed, err := l.Committed(crashTopic, crashGroup)
	if err != nil {
		t.Fatal(err)
	}
	if committed < lastCommitted || committed > hw {
		t.Fatalf("group committed %d after the crash; the child saw %d committed, high water %d", committed, lastCommitted, hw)
	}
	if committed == hw {
		return
	}
	_, resumed := subscribe(t, l, boltlog.SubscriberConfig{ConsumerGroup: crashGroup, CommitInterval: time.Hour}, crashTopic)
	first := receive(t, resumed)
	if got := position(t, first); got != committed+1 {
		t.Fatalf("group resumed at %d, want %d (committed %d)", got, committed+1, committed)
	}
	t.Logf("round %d: %d messages, %d acknowledged batches, group resumes at %d", round, hw, len(acked), committed+1)
}
