//go:build race

package events

// raceEnabled: the race detector slows the differential tests about tenfold; they then check a
// quarter of their table (every payload still runs without it).
const raceEnabled = true
