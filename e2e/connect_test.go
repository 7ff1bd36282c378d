package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/sample"
	kit "github.com/lizhou/fangxin/e2e/e2ekit"
)

// connectorFile writes a connector file for the AMR register export (header on row 2, under a
// title row) that sends to hub h with key.
func connectorFile(t *testing.T, dir, name, bureau, source, h, rate string) string {
	t.Helper()
	cfg := fmt.Sprintf(`name: %s
bureau: %s
batch_size: 200
rate: %s
source:
%s
sink:
  kind: gateway
  url: %s
  key: ${FANGXIN_KEY}
  backoff: 100ms
`+sample.RegistrationsMapping, name, bureau, rate, source, h)
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// connectorProc is one `fangxin connect run` process.
type connectorProc struct{ *kit.Process }

func startConnector(t *testing.T, cfg, key string) *connectorProc {
	t.Helper()
	cmd := exec.Command(binPath, "connect", "run", cfg, "--log-level", "info")
	cmd.Env = append(os.Environ(), "FANGXIN_KEY="+key)
	p, err := kit.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return &connectorProc{p}
}

// wait waits for the run to end and returns its counts from the summary line.
func (p *connectorProc) wait(t *testing.T) (read, sent, dead int) {
	t.Helper()
	select {
	case <-p.Exited:
	case <-time.After(5 * time.Minute):
		t.Fatalf("connector did not finish within 5 minutes: %s", p.Stderr)
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("connector exited with %d: %s", code, p.Stderr)
	}
	m := regexp.MustCompile(`\(read (\d+), sent (\d+), dead-lettered (\d+), skipped \d+\)`).FindStringSubmatch(p.Stderr.String())
	if m == nil {
		t.Fatalf("no summary line: %s", p.Stderr)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return a, b, c
}

// registeredTotal counts the merchant.registered events of the amr bureau in the hub's view.
func registeredTotal(c client) int {
	var res struct {
		Total int `json:"total"`
	}
	q := url.Values{"type": {"merchant.registered"}, "bureau": {"amr"}, "limit": {"1"}}
	if code := c.Get("/v1/events?"+q.Encode(), &res); code != 200 {
		c.T.Fatalf("GET /v1/events: %d", code)
	}
	return res.Total
}

func waitTotal(t *testing.T, c client, want int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	got := -1
	for time.Now().Before(deadline) {
		if got = registeredTotal(c); got >= want {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("hub holds %d registrations, want exactly %d", got, want)
	}
}

func readCheckpoint(path string) connectors.Checkpoint {
	var cp connectors.Checkpoint
	b, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal(b, &cp)
	}
	return cp
}

// A clerk's 6,000-row export, with a bad date every 1,000 rows, goes through a connector that is
// killed with SIGKILL in the middle and started again: the hub ends with every good row exactly
// once, the bad rows are in the dead-letter file with their row and reason, and a third run
// has nothing left to do.
func TestConnectorKilledMidFileSendsEveryRecordOnce(t *testing.T) {
	const rows = 6000
	for _, format := range []string{"xlsx", "csv-gbk"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			// t=0: the office creates the AMR key and starts the hub.
			key := fangxin(t, "keys", "create", "--data-dir", filepath.Join(dir, "hub"), "--bureau", "amr")
			h := startHub(t, filepath.Join(dir, "hub"))
			reader := newClient(t, h.URL, key)

			// The clerk exports the register; every 1,000th row has an impossible date.
			tbl := sample.Registrations(rows)
			var badRows []int
			for i := 500; i < rows; i += 1000 {
				tbl.Rows[i][7] = "2018年13月1日"
				badRows = append(badRows, i+3) // title row 1, header row 2, data from row 3
			}
			var source string
			if format == "xlsx" {
				if err := sample.WriteXLSX(filepath.Join(dir, "register.xlsx"), "登记信息", tbl); err != nil {
					t.Fatal(err)
				}
				source = "  kind: xlsx\n  path: register.xlsx\n  sheet: 登记信息\n  header_row: 2"
			} else {
				if err := sample.WriteCSV(filepath.Join(dir, "register.csv"), "gbk", tbl); err != nil {
					t.Fatal(err)
				}
				source = "  kind: csv\n  path: register.csv\n  header_row: 2"
			}
			cfg := connectorFile(t, dir, "amr-register", "amr", source, h.URL, "1500")
			cpPath := filepath.Join(dir, "state", "amr-register.checkpoint.json")

			// Run 1 is killed once a third of the file is acknowledged.
			run1 := startConnector(t, cfg, key)
			deadline := time.Now().Add(3 * time.Minute)
			for readCheckpoint(cpPath).Records < rows/3 {
				if time.Now().After(deadline) {
					t.Fatalf("no checkpoint past %d records within 3 minutes: %s", rows/3, run1.Stderr)
				}
				select {
				case <-run1.Exited:
					t.Fatalf("run 1 ended before it was killed: %s", run1.Stderr)
				case <-time.After(20 * time.Millisecond):
				}
			}
			_ = run1.Cmd.Process.Signal(syscall.SIGKILL)
			<-run1.Exited
			done := readCheckpoint(cpPath).Records
			if done >= rows {
				t.Fatalf("run 1 finished the file before the kill (%d records): make the file bigger", done)
			}
			t.Logf("run 1 killed with %d of %d records checkpointed", done, rows)

			// Run 2 resumes at the checkpoint and finishes the file.
			run2 := startConnector(t, cfg, key)
			read, _, _ := run2.wait(t)
			if !strings.Contains(run2.Stderr.String(), "resuming after checkpoint") || read >= rows || int64(read) > rows-done {
				t.Fatalf("run 2 read %d records; want at most %d after the checkpoint: %s", read, rows-int(done), run2.Stderr)
			}

			// The hub holds every good row exactly once.
			good := rows - len(badRows)
			waitTotal(t, reader, good)

			// Every bad row is in the dead-letter file, with its row, the column and the reason.
			dlPath := filepath.Join(dir, "state", "amr-register.deadletter.jsonl")
			f, err := os.Open(dlPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var gotRows []int
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var dl connectors.DeadLetter
				if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
					t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
				}
				if !strings.Contains(dl.ZH, fmt.Sprintf("第%d行", dl.Position.Row)) || !strings.Contains(dl.ZH, "成立日期") ||
					!strings.Contains(dl.EN, "is not a date") || dl.Record["成立日期"] != "2018年13月1日" || dl.Stage != connectors.StageMapping {
					t.Errorf("dead letter %s", sc.Text())
				}
				if !slices.Contains(gotRows, dl.Position.Row) { // a crash may repeat a line, never lose one
					gotRows = append(gotRows, dl.Position.Row)
				}
			}
			slices.Sort(gotRows)
			if !slices.Equal(gotRows, badRows) {
				t.Errorf("dead-lettered rows %v, want %v", gotRows, badRows)
			}

			// Run 3 finds nothing left to send.
			run3 := startConnector(t, cfg, key)
			if read, sent, _ := run3.wait(t); read != 0 || sent != 0 {
				t.Errorf("run 3 read %d and sent %d, want nothing: %s", read, sent, run3.Stderr)
			}
			if got := registeredTotal(reader); got != good {
				t.Errorf("after run 3 the hub holds %d registrations, want %d", got, good)
			}
		})
	}
}

// A connector configured with another bureau's key: the gateway refuses each event (403 per
// event), the connector writes every one to the dead-letter file with the hub's reason, and
// the run itself succeeds.
func TestConnectorHubRefusalsAreDeadLettered(t *testing.T) {
	dir := t.TempDir()
	key := fangxin(t, "keys", "create", "--data-dir", filepath.Join(dir, "hub"), "--bureau", "quality")
	h := startHub(t, filepath.Join(dir, "hub"))
	if err := sample.WriteCSV(filepath.Join(dir, "register.csv"), "utf-8", sample.Registrations(5)); err != nil {
		t.Fatal(err)
	}
	cfg := connectorFile(t, dir, "wrong-key", "amr", "  kind: csv\n  path: register.csv\n  header_row: 2", h.URL, "0")
	p := startConnector(t, cfg, key)
	read, sent, dead := p.wait(t)
	if read != 5 || sent != 0 || dead != 5 {
		t.Fatalf("read %d sent %d dead %d, want 5 0 5: %s", read, sent, dead, p.Stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "state", "wrong-key.deadletter.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d dead letters, want 5", len(lines))
	}
	var dl connectors.DeadLetter
	if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
		t.Fatal(err)
	}
	if dl.Stage != connectors.StageSink || dl.Position.Row != 3 || !strings.Contains(dl.ZH, "HTTP 403") ||
		len(dl.Problems) == 0 || dl.Problems[0].Rule != "source-bureau" || dl.Event == nil {
		t.Errorf("dead letter %s", lines[0])
	}
}

// The hub is down when the connector starts: with few attempts the run fails, naming the cause,
// and saves no checkpoint; with enough attempts it keeps retrying until the hub comes up, and
// then delivers everything.
func TestConnectorWaitsForTheHub(t *testing.T) {
	dir := t.TempDir()
	key := fangxin(t, "keys", "create", "--data-dir", filepath.Join(dir, "hub"), "--bureau", "amr")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := sample.WriteCSV(filepath.Join(dir, "register.csv"), "utf-8", sample.Registrations(300)); err != nil {
		t.Fatal(err)
	}
	source := "  kind: csv\n  path: register.csv\n  header_row: 2"
	cfg := connectorFile(t, dir, "amr-register", "amr", source, "http://"+addr, "0")
	withAttempts := func(n int) {
		b, _ := os.ReadFile(cfg)
		s := regexp.MustCompile(`(?m)^  max_(attempts|backoff): \w+\n`).ReplaceAllString(string(b), "")
		s = strings.Replace(s, "  backoff: 100ms\n", fmt.Sprintf("  backoff: 100ms\n  max_backoff: 500ms\n  max_attempts: %d\n", n), 1)
		os.WriteFile(cfg, []byte(s), 0o644)
	}

	// t=0: no hub. Three attempts, then the run gives up.
	withAttempts(3)
	cmd := exec.Command(binPath, "connect", "run", cfg)
	cmd.Env = append(os.Environ(), "FANGXIN_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "gateway unavailable after 3 attempts") {
		t.Fatalf("run against no hub: err %v, output %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "amr-register.checkpoint.json")); !os.IsNotExist(err) {
		t.Fatalf("a checkpoint was saved although nothing was delivered: %v", err)
	}

	// t=1: a patient run starts and retries ...
	withAttempts(1000)
	p := startConnector(t, cfg, key)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.Stderr.String(), "retrying") {
		select {
		case <-p.Exited:
			t.Fatalf("the connector ended instead of retrying: %s", p.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connector did not retry: %s", p.Stderr)
		}
	}
	// t=2: ... the hub comes up on the address, and every row arrives.
	h := startHub(t, filepath.Join(dir, "hub"), "--listen", addr)
	if read, sent, dead := p.wait(t); read != 300 || sent != 300 || dead != 0 {
		t.Fatalf("read %d sent %d dead %d, want 300 300 0", read, sent, dead)
	}
	waitTotal(t, newClient(t, h.URL, key), 300)
}

// SIGTERM stops a run cleanly (exit 0, a note that it resumes), and the next run finishes the
// file: the hub holds every row once.
func TestConnectorStopsOnSIGTERM(t *testing.T) {
	const rows = 2000
	dir := t.TempDir()
	key := fangxin(t, "keys", "create", "--data-dir", filepath.Join(dir, "hub"), "--bureau", "amr")
	h := startHub(t, filepath.Join(dir, "hub"))
	if err := sample.WriteCSV(filepath.Join(dir, "register.csv"), "utf-8", sample.Registrations(rows)); err != nil {
		t.Fatal(err)
	}
	cfg := connectorFile(t, dir, "amr-register", "amr", "  kind: csv\n  path: register.csv\n  header_row: 2", h.URL, "400")
	cpPath := filepath.Join(dir, "state", "amr-register.checkpoint.json")

	p := startConnector(t, cfg, key)
	deadline := time.Now().Add(2 * time.Minute)
	for readCheckpoint(cpPath).Records == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint within 2 minutes: %s", p.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	<-p.Exited
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(p.Stderr.String(), "resumes from the checkpoint") {
		t.Fatalf("after SIGTERM: exit %d, %s", code, p.Stderr)
	}
	if done := readCheckpoint(cpPath).Records; done >= rows {
		t.Fatalf("the run finished (%d records) before SIGTERM arrived", done)
	}
	p2 := startConnector(t, cfg, key)
	p2.wait(t)
	waitTotal(t, newClient(t, h.URL, key), rows)
}
