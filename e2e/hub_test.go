// Package e2e holds black-box acceptance tests: they start the built fangxin binary, talk to it
// over HTTP like a bureau would and read like a timeline.
package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
)

var binPath string

func TestMain(m *testing.M) {
	path, cleanup, err := kit.Binary("../cmd/fangxin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = path
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// hub is one running fangxin process.
type hub struct {
	t       testing.TB
	cmd     *exec.Cmd
	URL     string
	dataDir string
	args    []string
	stderr  *kit.SyncBuffer
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
	h := &hub{t: t, cmd: cmd, dataDir: dataDir, args: args, stderr: &kit.SyncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = h.stderr
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
	out, _ := kit.Fangxin(t, binPath, args...)
	return out
}

// client is a bureau talking to a hub (see kit.Client), with this package's own helpers.
type client struct{ kit.Client }

func newClient(t *testing.T, url, key string) client {
	return client{kit.Client{T: t, URL: url, Key: key}}
}
