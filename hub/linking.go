package hub

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/linking"
)

// registerLinkerLagGauge reports how many events the linker has not looked at yet: with the
// projector's lag at 0 too, every automatic link is in the views.
func registerLinkerLagGauge(reg prometheus.Registerer, lg logBackend) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "fangxin", Subsystem: "linker", Name: "lag_events",
		Help: "Events in the log the linker has not looked at yet.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := lg.Lag(ctx, linking.LinkerHandler)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// viewsProgress is the linker's linking.Progress: the views consumer group's committed offsets
// on every partition of the log. One read of the offsets serves every waiting call: on Kafka a
// read is three requests to the broker, and a catch-up with hundreds of work orders waiting
// (MaxInFlight per partition) polled it hundreds of times a second, on the broker the gateway
// needs. Reads start at least progressGap apart.
type viewsProgress struct {
	lg logPositions

	mu       sync.Mutex
	last     []partitionOffsets
	lastAt   time.Time     // when the read of last started
	fetching chan struct{} // closed when the running read ends; nil while none runs
}

// progressGap is the least time between the starts of two reads of the offsets.
const progressGap = 100 * time.Millisecond

var _ linking.Progress = (*viewsProgress)(nil)

// offsets returns the views group's offsets as read by a read that started at since or later.
func (v *viewsProgress) offsets(ctx context.Context, since time.Time) ([]partitionOffsets, error) {
	for {
		v.mu.Lock()
		if v.last != nil && !v.lastAt.Before(since) {
			ps := v.last
			v.mu.Unlock()
			return ps, nil
		}
		if ch := v.fetching; ch != nil {
			v.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		v.fetching = ch
		wait := progressGap - time.Since(v.lastAt)
		v.mu.Unlock()
		ps, start, err := v.read(ctx, wait)
		v.mu.Lock()
		v.fetching = nil
		if err == nil {
			v.last, v.lastAt = ps, start
		}
		v.mu.Unlock()
		close(ch)
		if err != nil {
			return nil, err
		}
	}
}

func (v *viewsProgress) read(ctx context.Context, wait time.Duration) ([]partitionOffsets, time.Time, error) {
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, time.Time{}, ctx.Err()
		}
	}
	start := time.Now()
	ps, err := v.lg.Offsets(ctx, projections.ViewsHandler)
	return ps, start, err
}

// Mark is the end of every partition, read after the call (so after every event appended before
// the one at pos), and on pos's own partition pos itself (committed once the group's offset
// there passes it).
func (v *viewsProgress) Mark(ctx context.Context, pos eventlog.Position) (linking.Mark, error) {
	ps, err := v.offsets(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	m := make(linking.Mark, len(ps))
	for _, p := range ps {
		m[p.Partition] = p.End
	}
	m[int(pos.Partition)] = v.lg.committedAt(pos)
	return m, nil
}

// Left sums, over the partitions of m, the events before the mark the views group has not
// committed, as of a read at most progressGap old.
func (v *viewsProgress) Left(ctx context.Context, m linking.Mark) (int64, error) {
	ps, err := v.offsets(ctx, time.Now().Add(-progressGap))
	if err != nil {
		return 0, err
	}
	var left int64
	for _, p := range ps {
		if end, ok := m[p.Partition]; ok {
			if c := max(p.Committed, p.First); c < end {
				left += end - c
			}
		}
	}
	return left, nil
}
