package gctune

import (
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	tests := []struct {
		name           string
		gogc, memlimit string
		wantGC         int
		wantLimit      int64
		presetGC       int
		presetLimit    int64
	}{
		{"defaults", "", "", GCPercent, MemoryLimit, 100, 1 << 62},
		{"GOGC set: left alone", "50", "", 50, MemoryLimit, 50, 1 << 62},
		{"GOMEMLIMIT set: left alone", "", "1GiB", GCPercent, 1 << 30, 100, 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			t.Setenv("GOMEMLIMIT", tt.memlimit)
			// What the runtime would have read from the environment at start.
			debug.SetGCPercent(tt.presetGC)
			debug.SetMemoryLimit(tt.presetLimit)
			gc, limit := Apply()
			if gc != tt.wantGC || limit != tt.wantLimit {
				t.Errorf("Apply() = %d, %d; want %d, %d", gc, limit, tt.wantGC, tt.wantLimit)
			}
		})
	}
}
