package e2ekit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// Process is one fangxin child process: its stderr collected as it runs, the URL it listens on
// once it has printed it, and a channel closed when it has exited.
type Process struct {
	Cmd    *exec.Cmd
	URL    string // "http://127.0.0.1:port", set by WaitURL
	Stderr *SyncBuffer
	Exited chan struct{}

	found chan string
}

var urlLine = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)

// Start starts cmd with its stderr going to p.Stderr and returns once it runs. Its stdout is
// read to the end in the background, watching for the address it listens on (see WaitURL).
// The caller kills it when done (Kill, typically in t.Cleanup).
func Start(cmd *exec.Cmd) (*Process, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, Stderr: &SyncBuffer{}, Exited: make(chan struct{}), found: make(chan string, 1)}
	cmd.Stderr = p.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go p.watchURL(stdout)
	go func() { _ = cmd.Wait(); close(p.Exited) }()
	return p, nil
}

// watchURL reads stdout in chunks (the line with the address may come in pieces), hands the
// first address on, then drains the rest so the process never blocks on a full pipe.
func (p *Process) watchURL(stdout io.Reader) {
	buf := make([]byte, 4096)
	var acc []byte
	for {
		n, err := stdout.Read(buf)
		acc = append(acc, buf[:n]...)
		if m := urlLine.FindSubmatch(acc); m != nil {
			p.found <- string(m[1])
			_, _ = io.Copy(io.Discard, stdout)
			return
		}
		if len(acc) > 1<<16 {
			acc = acc[len(acc)-1024:]
		}
		if err != nil {
			return
		}
	}
}

// WaitURL waits up to within for the process to print "http://127.0.0.1:port/" on stdout and
// sets p.URL; the error says whether it exited first or the time ran out.
func (p *Process) WaitURL(within time.Duration) error {
	select {
	case addr := <-p.found:
		p.URL = "http://" + addr
		return nil
	case <-p.Exited:
		return errors.New("exited before listening")
	case <-time.After(within):
		return fmt.Errorf("did not print its URL within %s", within)
	}
}

// WaitReady polls GET /readyz until it answers 200; the error says whether the process exited
// first or the time ran out.
func (p *Process) WaitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-p.Exited:
			return errors.New("exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready within %s", within)
}

// Kill sends SIGKILL (no shutdown code runs) and waits for the exit.
func (p *Process) Kill() {
	if p.Cmd.Process != nil {
		_ = p.Cmd.Process.Signal(syscall.SIGKILL)
		<-p.Exited
	}
}

// Terminate sends SIGTERM and waits up to within for the exit; it returns the exit code, or an
// error when the process is still running.
func (p *Process) Terminate(within time.Duration) (int, error) {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Exited:
		return p.Cmd.ProcessState.ExitCode(), nil
	case <-time.After(within):
		return 0, fmt.Errorf("did not stop within %s after SIGTERM", within)
	}
}
