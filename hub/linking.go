package hub

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
