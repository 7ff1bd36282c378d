package distributed

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var assignedLine = regexp.MustCompile(`msg="Partitions assigned".* generation=(\d+) partitions="\[([0-9 ]*)\]"`)

// assigned returns the partitions of the process's latest group generation, as it logs them.
func (p *proc) assigned() (generation string, partitions []string) {
	for _, m := range assignedLine.FindAllStringSubmatch(p.Stderr.String(), -1) {
		generation, partitions = m[1], strings.Fields(m[2])
	}
	return generation, partitions
}

// waitAssigned waits until the process's latest generation satisfies ok.
func (p *proc) waitAssigned(t *testing.T, within time.Duration, what string, ok func(partitions []string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, parts := p.assigned()
		if parts != nil && ok(parts) {
			return parts
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not within %s (latest assignment %v)", p.name, what, within, parts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two projector processes in one consumer group share the topic's 12 partitions; one is killed
// with SIGKILL mid-stream and the other takes its partitions over, without losing or doubling
// an event.
func TestScaleOutTwoProjectorsShareAndTakeOver(t *testing.T) {
	env := sharedEnv(t)
	key := env.key(t, "hotline-12315")
	gw := env.start(t, "gateway")
	a := env.start(t, "projector")
	a.name = "projector-a"
	a.waitAssigned(t, 30*time.Second, "all 12 partitions alone", func(p []string) bool { return len(p) == 12 })
	b := env.start(t, "projector")
	b.name = "projector-b"
	// The second member joins: the group rebalances and each gets a share.
	b.waitAssigned(t, 60*time.Second, "a share of the partitions", func(p []string) bool { return len(p) > 0 && len(p) < 12 })
	pa := a.waitAssigned(t, 30*time.Second, "the other share", func(p []string) bool { return len(p) > 0 && len(p) < 12 })
	_, pb := b.assigned()
	t.Logf("shared: %s has partitions %v, %s has %v", a.name, pa, b.name, pb)
	if len(pa)+len(pb) != 12 {
		t.Fatalf("the two members hold %d partitions, want 12: %v and %v", len(pa)+len(pb), pa, pb)
	}

	c := newClient(t, gw.URL, key)
	l := newLedger()
	push := startPushers(t, c, l, 2, 10, 1000, 200, 50*time.Millisecond, "scale")
	time.Sleep(3 * time.Second)
	// Both fold their share: their handlers run.
	for _, p := range []*proc{a, b} {
		if n := p.handled(); n <= 0 {
			t.Errorf("%s folded no event while holding a share of the partitions", p.name)
		}
	}
	// Kill b mid-stream: a takes all 12 partitions once b's session expires (10 s).
	b.kill()
	t.Logf("%s killed after %d acknowledged events", b.name, l.ackedCount())
	time.Sleep(2 * time.Second)
	push.halt()
	a.waitAssigned(t, 60*time.Second, "all 12 partitions after the kill", func(p []string) bool { return len(p) == 12 })
	a.caughtUp(90 * time.Second)
	l.exactlyOnce(t, c, 60*time.Second)
}
