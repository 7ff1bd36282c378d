package hub

import (
	"context"
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
// on every partition of the log.
type viewsProgress struct{ lg logPositions }

var _ linking.Progress = viewsProgress{}

// Mark is the end of every partition now, and on pos's own partition pos itself (committed
// once the group's offset there passes it).
func (v viewsProgress) Mark(ctx context.Context, pos eventlog.Position) (linking.Mark, error) {
	ps, err := v.lg.Offsets(ctx, projections.ViewsHandler)
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
// committed.
func (v viewsProgress) Left(ctx context.Context, m linking.Mark) (int64, error) {
	ps, err := v.lg.Offsets(ctx, projections.ViewsHandler)
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
