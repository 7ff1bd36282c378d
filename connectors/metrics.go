package connectors

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are a connector's Prometheus series, labelled by connector name.
type Metrics struct {
	Read         *prometheus.CounterVec   // records read from the source
	Sent         *prometheus.CounterVec   // events the sink accepted
	DeadLettered *prometheus.CounterVec   // records written to the dead-letter file, by stage
	SendSeconds  *prometheus.HistogramVec // time of one Sink.Send
}

// NewMetrics registers the series with reg (use prometheus.NewRegistry() when nothing scrapes).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		Read: f.NewCounterVec(prometheus.CounterOpts{
			Name: "fangxin_connector_records_read_total", Help: "Records read from the connector's source.",
		}, []string{"connector"}),
		Sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "fangxin_connector_events_sent_total", Help: "Events the sink accepted (durable in the hub's log).",
		}, []string{"connector"}),
		DeadLettered: f.NewCounterVec(prometheus.CounterOpts{
			Name: "fangxin_connector_records_dead_lettered_total", Help: "Records written to the dead-letter file, by stage (mapping, validation, sink).",
		}, []string{"connector", "stage"}),
		SendSeconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fangxin_connector_send_seconds", Help: "Duration of one batch send, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"connector"}),
	}
}
