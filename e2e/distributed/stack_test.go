package distributed

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// privateStack is a second Kafka and Elasticsearch of this package's own, started with
// scripts/stack.sh on other ports and with its own state (STACK_STATE), so the fault tests can
// stop and kill them without disturbing anyone else's tests on the shared stack. Its four ports
// are free ones the kernel picks, so two runs of this package on one machine do not collide;
// FANGXIN_E2E_KAFKA_PORT (controller +1) and FANGXIN_E2E_ES_PORT (transport +100) fix them.
type privateStack struct {
	once    sync.Once
	ready   chan struct{}
	err     error
	state   string
	env     []string
	brokers string
	es      string
	took    time.Duration
	mu      sync.Mutex // serializes the fault tests' stops and starts
}

var private = &privateStack{ready: make(chan struct{})}

// ports returns the port in env and the one offset above it, or two free ports.
func ports(env string, offset int) (int, int) {
	if v := os.Getenv(env); v != "" {
		if p, err := strconv.Atoi(v); err == nil {
			return p, p + offset
		}
	}
	p := freePorts(2)
	return p[0], p[1]
}

// freePorts asks the kernel for n distinct free loopback ports. Another process could take one
// before the service binds it; stack.sh then refuses to start, naming the port.
func freePorts(n int) []int {
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			break
		}
		defer ln.Close() // held until all are picked, so none is picked twice
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for len(out) < n {
		out = append(out, 0)
	}
	return out
}

// start begins starting the stack in the background.
func (s *privateStack) start() {
	s.once.Do(func() {
		kp, kcp := ports("FANGXIN_E2E_KAFKA_PORT", 1)
		ep, etp := ports("FANGXIN_E2E_ES_PORT", 100)
		dir, err := os.MkdirTemp("", "fangxin-e2e-stack")
		if err != nil {
			s.err = err
			close(s.ready)
			return
		}
		s.state = dir
		s.env = append(os.Environ(), "STACK_STATE="+dir, "STACK_SKIP_KCAT=1",
			"KAFKA_PORT="+strconv.Itoa(kp), "KAFKA_CONTROLLER_PORT="+strconv.Itoa(kcp),
			"ES_PORT="+strconv.Itoa(ep), "ES_TRANSPORT_PORT="+strconv.Itoa(etp), "ES_HEAP=384m", "KAFKA_HEAP=384m")
		s.brokers = "127.0.0.1:" + strconv.Itoa(kp)
		s.es = "http://127.0.0.1:" + strconv.Itoa(ep)
		go func() {
			defer close(s.ready)
			t0 := time.Now()
			s.err = s.run("up")
			s.took = time.Since(t0)
		}()
	})
}

func (s *privateStack) run(args ...string) error {
	script, err := filepath.Abs("../../scripts/stack.sh")
	if err != nil {
		return err
	}
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/stack.sh %s (private stack in %s): %w\n%s", strings.Join(args, " "), s.state, err, out)
	}
	return nil
}

// stop stops both services and deletes the state.
func (s *privateStack) stop() {
	if s.state == "" {
		return
	}
	<-s.ready
	if err := s.run("reset"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	_ = os.RemoveAll(s.state)
}

// use waits for the stack and holds it for the test: fault tests on it run one at a time.
// settled waits until the private stack has started (when this package starts one), so that a
// test measuring latency does not share the two cores with two JVMs starting up.
func (s *privateStack) settled(t *testing.T) {
	t.Helper()
	if os.Getenv("FANGXIN_E2E_NO_PRIVATE_STACK") == "1" {
		return
	}
	s.start()
	select {
	case <-s.ready:
	case <-time.After(6 * time.Minute):
		t.Log("the private stack did not start within 6 minutes; measuring anyway")
	}
}

func (s *privateStack) use(t *testing.T) {
	t.Helper()
	needStack(t)
	if os.Getenv("FANGXIN_E2E_NO_PRIVATE_STACK") == "1" {
		t.Fatal("this fault test needs the private stack: unset FANGXIN_E2E_NO_PRIVATE_STACK")
	}
	s.start()
	t0 := time.Now()
	select {
	case <-s.ready:
	case <-time.After(6 * time.Minute):
		t.Fatal("the private stack did not start within 6 minutes")
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	if w := time.Since(t0); w > time.Second {
		t.Logf("waited %s for the private stack (Kafka %s, Elasticsearch %s; started in %s)", w.Round(time.Second), s.brokers, s.es, s.took.Round(time.Second))
	}
	s.mu.Lock()
	t.Cleanup(func() {
		// Whatever the test did, it leaves both services running.
		if err := s.run("up"); err != nil {
			t.Error(err)
		}
		s.mu.Unlock()
	})
}

// killKafka kills the broker with SIGKILL and waits until the process is gone.
func (s *privateStack) killKafka() error {
	b, err := os.ReadFile(filepath.Join(s.state, "kafka", "kafka.pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
