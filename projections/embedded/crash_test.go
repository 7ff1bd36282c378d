package embedded

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

const (
	crashChildEnv     = "FANGXIN_EMBEDDED_CRASH_DIR"
	crashFromEnv      = "FANGXIN_EMBEDDED_CRASH_FROM"
	crashMerchants    = 24
	crashPerMerchant  = 40
	crashWorkers      = 8
	crashPartitions   = 4
	crashUSCCStart    = 5000
	crashNamePrefix   = "崩溃测试"
	crashRounds       = 3
	crashMinAcks      = 20
	crashMaxExtraAcks = 300
)

func crashName(m int) string { return fmt.Sprintf("%s%02d号店", crashNamePrefix, m) }

// crashLog is the log the crash test's child applies: crashMerchants merchants, each with a
// registration and complaints, spread over partitions, positions growing within each.
func crashLog() [][]storetest.LogEntry {
	offsets := make([]int64, crashPartitions)
	out := make([][]storetest.LogEntry, crashMerchants)
	for i := 0; i < crashPerMerchant; i++ {
		for m := 0; m < crashMerchants; m++ {
			uscc := storetest.USCC(crashUSCCStart + m)
			at := storetest.At(float64(i))
			var ev events.Event
			if i == 0 {
				ev = storetest.Event("amr", events.TypeMerchantRegistered, uscc, fmt.Sprintf("crash-%d-reg", m), at,
					events.MerchantRegistered{Name: crashName(m), Township: storetest.Dongba, Industry: "F5212",
						Address: "利州区东坝街道测试路", RegisteredAt: at})
			} else {
				ev = storetest.Event("hotline-12315", events.TypeComplaintReceived, uscc, fmt.Sprintf("crash-%d-%d", m, i), at,
					events.ComplaintReceived{ComplaintID: fmt.Sprintf("C-%d-%d", m, i), Channel: "12315",
						Category: "商品质量", Summary: "商品与描述不符", ReceivedAt: at,
						Consumer: map[string]any{"name": "李某", "phone": "13900000000"}})
			}
			p := m % crashPartitions
			offsets[p]++
			out[m] = append(out[m], storetest.LogEntry{
				Entry: projections.Redact(ev), Pos: eventlog.Position{Partition: int32(p), Offset: offsets[p]},
			})
		}
	}
	return out
}

// crashChild applies the crash log, each merchant from the index its parent says (as a log
// resumes from the committed offset: the event in flight at the kill comes again), printing
// "ack KEY" after every Apply that returned nil, until it is killed.
func crashChild() {
	s, err := Open(os.Getenv(crashChildEnv), Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	log := crashLog()
	from := make([]int, crashMerchants)
	for m, v := range strings.Split(os.Getenv(crashFromEnv), ",") {
		from[m], _ = strconv.Atoi(v)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < crashWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < crashPerMerchant; i++ {
				for m := w; m < crashMerchants; m += crashWorkers {
					if i < from[m] {
						continue
					}
					l := log[m][i]
					if _, err := s.Apply(context.Background(), l.Entry, l.Pos, projections.FoldProfile); err != nil {
						fmt.Println("error", err)
						os.Exit(2)
					}
					mu.Lock()
					fmt.Printf("ack %s\n", l.Key())
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	mu.Lock()
	fmt.Println("done")
	os.Exit(0)
}

// TestCrash kills a child process with SIGKILL in the middle of applying, several times, and
// checks after each that every acknowledged event is in bbolt and in the search index, and
// after a final redelivery of the whole log that no event was lost or counted twice.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	log := crashLog()
	acked := map[string]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := 0; round < crashRounds; round++ {
		want := crashMinAcks + rng.IntN(crashMaxExtraAcks)
		n, finished := runCrashChild(t, dir, want, acked)
		t.Logf("round %d: killed after %d acks (finished: %v)", round, n, finished)

		t.Logf("round %d: %d events pending in views.db at reopen", round, countPending(t, dir))
		s := open(t, dir)
		checkCrashStore(t, s, log, acked, false)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The log delivers the rest, from the resume points, and redelivers the first events of
	// every merchant once more: every event once, none twice.
	s := open(t, dir)
	defer s.Close()
	var rest []storetest.LogEntry
	for m, from := range resumePoints(log, acked) {
		rest = append(rest, log[m][:min(from, 5)]...)
		rest = append(rest, log[m][from:]...)
	}
	if err := storetest.ApplyAll(context.Background(), s, rest); err != nil {
		t.Fatal(err)
	}
	checkCrashStore(t, s, log, acked, true)
}

// resumePoints returns, for each merchant, how many of its events were acknowledged: they are
// acknowledged in order, so this is where its partition resumes.
func resumePoints(log [][]storetest.LogEntry, acked map[string]bool) []int {
	from := make([]int, len(log))
	for m, stream := range log {
		for from[m] < len(stream) && acked[stream[from[m]].Key()] {
			from[m]++
		}
	}
	return from
}

// runCrashChild runs the child until it has acknowledged want events, then kills it.
func runCrashChild(t *testing.T, dir string, want int, acked map[string]bool) (n int, finished bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var from []string
	for _, n := range resumePoints(crashLog(), acked) {
		from = append(from, strconv.Itoa(n))
	}
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashFromEnv+"="+strings.Join(from, ","))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if key, ok := strings.CutPrefix(line, "ack "); ok {
			acked[key] = true
			if n++; n == want {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
			continue
		}
		if line == "done" {
			finished = true
			break
		}
		t.Fatalf("child: %s", line)
	}
	_ = cmd.Wait() // killed: the error is the signal
	return n, finished
}

// checkCrashStore checks that every acknowledged event is recorded and searchable, that bbolt
// and bleve agree on every merchant, and (complete) that every event of log is there once.
func checkCrashStore(t *testing.T, s *Store, log [][]storetest.LogEntry, acked map[string]bool, complete bool) {
	t.Helper()
	ctx := context.Background()
	recorded := map[string]bool{}
	total := 0
	for m, stream := range log {
		uscc := stream[0].Entry.Event.Subject
		page, err := s.History(ctx, projections.HistoryQuery{USCC: uscc, Limit: projections.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			if recorded[e.Event.Key()] {
				t.Errorf("%s recorded twice", e.Event.Key())
			}
			recorded[e.Event.Key()] = true
		}
		n := len(page.Entries)
		total += n
		p, ok, err := s.Profile(ctx, uscc)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && (!ok || p.EventCount != n || p.CountsByType[events.TypeComplaintReceived] != n-1) {
			t.Errorf("merchant %d: %d events in history, profile %+v", m, n, p)
		}
		r, err := s.SearchEvents(ctx, projections.EventQuery{Q: crashName(m)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Total != n {
			t.Errorf("merchant %d: %d events recorded, %d searchable", m, n, r.Total)
		}
		if complete && n != len(stream) {
			t.Errorf("merchant %d: %d events, want %d", m, n, len(stream))
		}
	}
	for key := range acked {
		if !recorded[key] {
			t.Errorf("acknowledged event %s lost", key)
		}
	}
	r, err := s.SearchMerchants(ctx, projections.MerchantQuery{Q: crashNamePrefix, Limit: projections.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	registered := 0
	for _, stream := range log {
		if recorded[stream[0].Key()] {
			registered++
		}
	}
	if r.Total != registered {
		t.Errorf("%d merchants registered, %d searchable by name", registered, r.Total)
	}
	if e, err := s.SearchEvents(ctx, projections.EventQuery{Q: "李某"}); err != nil || e.Total != 0 {
		t.Errorf("personal data searchable: %d, %v", e.Total, err)
	}
	t.Logf("%d events recorded, %d acknowledged", total, len(acked))
}

// countPending counts the events whose search documents were not known durable at the kill:
// the ones Open must re-index.
func countPending(t *testing.T, dir string) int {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "views.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	if err := db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketPending).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
