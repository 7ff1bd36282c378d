// Package e2e holds black-box acceptance tests: they start the built fangxin binary, talk to it
// over HTTP like a bureau would and read like a timeline.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
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
	*kit.Process
	t       testing.TB
	dataDir string
	args    []string
}

// startHub starts `fangxin serve` on a free loopback port and waits until it is ready.
func startHub(t testing.TB, dataDir string, args ...string) *hub {
	t.Helper()
	full := append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(binPath, full...)
	cmd.Env = append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=")
	p, err := kit.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{Process: p, t: t, dataDir: dataDir, args: args}
	t.Cleanup(h.kill)
	if err := h.WaitURL(60 * time.Second); err != nil {
		t.Fatalf("fangxin %v: %s", err, h.Stderr)
	}
	if err := h.WaitReady(60 * time.Second); err != nil {
		t.Fatalf("hub %v: %s", err, h.Stderr)
	}
	return h
}

// kill sends SIGKILL: no shutdown code runs.
func (h *hub) kill() { h.Kill() }

// stop sends SIGTERM and waits for a clean exit.
func (h *hub) stop() {
	h.t.Helper()
	code, err := h.Terminate(30 * time.Second)
	if err != nil {
		h.t.Fatalf("hub %v", err)
	}
	if code != 0 {
		h.t.Fatalf("hub exited with %d after SIGTERM: %s", code, h.Stderr)
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
