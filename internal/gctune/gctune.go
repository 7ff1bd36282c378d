// Package gctune sets the Go garbage collector for a long-running hub process.
//
// The hub's heap is mostly short-lived garbage (decoded events, HTTP bodies, bleve's analysis)
// over a live heap of a few hundred MiB, so the default GOGC of 100 spends about a tenth of
// its CPU collecting (measured at a steady push rate, docs/performance.md). Serve collects
// less often, within a soft memory limit that keeps the heap bounded. The Go runtime's own
// variables win: when GOGC or GOMEMLIMIT is set in the environment, it is left alone.
package gctune

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// Serve's settings, unless the environment names its own.
const (
	GCPercent   = 300
	MemoryLimit = 2 << 30 // bytes, soft: the collector works harder as the heap nears it
)

// Apply sets GCPercent and MemoryLimit for this process, each unless its environment variable
// (GOGC, GOMEMLIMIT) is set. It returns the settings in force afterwards, read back from the
// runtime's metrics.
func Apply() (gcPercent int, memoryLimit int64) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
	ms := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(ms)
	return int(ms[0].Value.Uint64()), int64(ms[1].Value.Uint64())
}
