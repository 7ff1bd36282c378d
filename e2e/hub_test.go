// Package e2e holds black-box acceptance tests: they start the built fangxin binary, talk to it
// over HTTP like a bureau would and read like a timeline.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
)

var binPath string

func TestMain(m *testing.M) {
	binPath = os.Getenv("FANGXIN_BIN")
	if binPath == "" {
		dir, err := os.MkdirTemp("", "fangxin-e2e")
		if err != nil {
			panic(err)
		}
		binPath = filepath.Join(dir, "fangxin")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/fangxin").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building fangxin: %v\n%s", err, out)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
	}
	os.Exit(m.Run())
}

// hub is one running fangxin process.
type hub struct {
	t       testing.TB
	cmd     *exec.Cmd
	URL     string
	dataDir string
	args    []string
	stderr  *bytes.Buffer
	exited  chan struct{}
}

var urlLine = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)

// startHub starts `fangxin serve` on a free loopback port and waits until it is ready.
func startHub(t testing.TB, dataDir string, args ...string) *hub {
	t.Helper()
	full := append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(binPath, full...)
	cmd.Env = append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{t: t, cmd: cmd, dataDir: dataDir, args: args, stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = &syncWriter{w: h.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(h.exited) }()
	t.Cleanup(func() { h.kill() })
	select {
	case addr := <-found:
		h.URL = "http://" + addr
	case <-h.exited:
		t.Fatalf("fangxin exited before listening: %s", h.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("fangxin did not print its URL within 60 s: %s", h.stderr)
	}
	h.waitReady()
	return h
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (h *hub) waitReady() {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(h.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("hub not ready within 60 s")
}

// kill sends SIGKILL: no shutdown code runs.
func (h *hub) kill() {
	if h.cmd.Process != nil {
		_ = h.cmd.Process.Signal(syscall.SIGKILL)
		<-h.exited
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (h *hub) stop() {
	h.t.Helper()
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(30 * time.Second):
		h.t.Fatalf("hub did not stop within 30 s after SIGTERM")
	}
	if code := h.cmd.ProcessState.ExitCode(); code != 0 {
		h.t.Fatalf("hub exited with %d after SIGTERM: %s", code, h.stderr)
	}
}

// fangxin runs a one-shot subcommand and returns its stdout.
func fangxin(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fangxin %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

type client struct {
	t   *testing.T
	url string
	key string
}

func (c client) do(method, path, contentType string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c client) get(path string, into any) int {
	c.t.Helper()
	code, body := c.do("GET", path, "", nil)
	if into != nil && code == 200 {
		if err := json.Unmarshal(body, into); err != nil {
			c.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return code
}

func (c client) pushBatch(evs []events.Event) (int, []byte) {
	c.t.Helper()
	body, err := json.Marshal(evs)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do("POST", "/v1/events", "application/cloudevents-batch+json", body)
}

// uscc makes a valid unified social credit code from a number.
func uscc(n int) string {
	prefix := fmt.Sprintf("92510802MA%07d", n)
	c, ok := events.USCCCheckChar(prefix)
	if !ok {
		panic(prefix)
	}
	return prefix + string(c)
}

var shanghai = time.FixedZone("CST", 8*3600)

func complaint(bureau, id, subject string, at time.Time, summary string) events.Event {
	data, _ := json.Marshal(map[string]any{
		"complaint_id": id, "channel": "12315", "category": "预付卡", "summary": summary,
		"received_at": at.Format(time.RFC3339),
	})
	return events.Event{SpecVersion: "1.0", ID: id, Source: events.SourceOf(bureau), Type: events.TypeComplaintReceived,
		Subject: subject, Time: at, DataContentType: "application/json", Data: data}
}

func registration(subject, name string, at time.Time) events.Event {
	data, _ := json.Marshal(map[string]any{
		"name": name, "township": "510802002", "industry": "H6210", "address": "利州区嘉陵街道嘉陵路1号",
		"registered_at": at.Format(time.RFC3339),
	})
	return events.Event{SpecVersion: "1.0", ID: "reg-" + subject, Source: events.SourceOf("amr"), Type: events.TypeMerchantRegistered,
		Subject: subject, Time: at, DataContentType: "application/json", Data: data}
}
