package distributed

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The gateway and the projector run as separate processes; the projector is killed with
// SIGKILL while bureaus push, and started again. Pushes never stop getting 202 (the gateway
// needs only the log), and the restarted projector folds what its predecessor had not
// committed: nothing lost, nothing twice.
func TestProjectorKillNineMidStream(t *testing.T) {
	env := sharedEnv(t)
	key := env.key(t, "hotline-12315")
	gw := env.start(t, "gateway")
	pr := env.start(t, "projector")
	c := newClient(t, gw.URL, key)
	l := newLedger()

	// t=0..: two clients push batches of 10 complaints about 200 merchants, ~200 a second.
	push := startPushers(t, c, l, 2, 10, 100, 200, 50*time.Millisecond, "kill")
	// t=2..3.5 s: kill -9 of the projector in the middle of the stream.
	time.Sleep(time.Duration(2000+rand.IntN(1500)) * time.Millisecond)
	before := l.ackedCount()
	pr.kill()
	t.Logf("projector killed after %d acknowledged events", before)
	// t=+2 s: the stream goes on without a projector, then a new one starts.
	time.Sleep(2 * time.Second)
	pr2 := env.start(t, "projector")
	time.Sleep(2 * time.Second)
	push.halt()
	if l.statuses[202] == 0 || len(l.statuses) != 1 {
		t.Errorf("with the log up, every push must get 202: %v", l.statuses)
	}
	// The new member waits for the killed one's session to expire before it gets its
	// partitions (the hub's session timeout, 10 s).
	pr2.caughtUp(120 * time.Second)
	l.exactlyOnce(t, c, 60*time.Second)
}
