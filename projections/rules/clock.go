package rules

import (
	"os"
	"strings"
	"sync"
	"time"
)

// Clock tells the rule engine the time when no event does: pending periods, quiet periods and
// deadlines expire by it while the stream is idle. Now must be safe for concurrent use.
type Clock interface{ Now() time.Time }

// WallClock is the machine's clock.
type WallClock struct{}

func (WallClock) Now() time.Time { return time.Now() }

// FileClock reads the time from a file holding one RFC 3339 timestamp (FANGXIN_CLOCK_FILE), so
// black-box tests drive the hub along a timeline by rewriting the file. An unreadable or empty
// file reads as the zero time (the clock stands still; events still move the engine). It is a
// test seam, not a production setting.
type FileClock struct {
	Path string

	mu   sync.Mutex
	last time.Time
}

func (c *FileClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return c.last
	}
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b))); err == nil {
		c.last = t
	}
	return c.last
}
