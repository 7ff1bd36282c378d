package boltlog

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	appended      *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	highWater     *prometheus.GaugeVec
	commitSeconds prometheus.Histogram
	commitOps     prometheus.Histogram
	committed     *prometheus.GaugeVec
	inFlight      *prometheus.GaugeVec
	delivered     *prometheus.CounterVec
	redelivered   *prometheus.CounterVec
}

// newMetrics makes the Log's metrics, registered with reg unless it is nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	const ns, sub = "fangxin", "boltlog"
	return &metrics{
		appended: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "appended_messages_total", Help: "Messages appended to the log."}, []string{"topic"}),
		duplicates: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "duplicate_messages_total", Help: "Published messages skipped because their UUID was already in the topic."}, []string{"topic"}),
		highWater: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "high_water", Help: "Sequence number of the topic's last message."}, []string{"topic"}),
		commitSeconds: f.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "commit_seconds", Help: "Duration of a group commit, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		commitOps: f.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "commit_operations", Help: "Publish calls and position commits sharing one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		committed: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "committed_position", Help: "Last committed sequence number of a consumer group; high_water minus this is the lag."}, []string{"topic", "group"}),
		inFlight: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "in_flight_messages", Help: "Messages handed to a consumer group and not yet acked or nacked."}, []string{"topic", "group"}),
		delivered: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "delivered_messages_total", Help: "Messages handed to a consumer group, redeliveries included."}, []string{"topic", "group"}),
		redelivered: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "redelivered_messages_total", Help: "Messages handed to a consumer group again after a nack."}, []string{"topic", "group"}),
	}
}

func (m *metrics) observeCommit(d time.Duration, ops int) {
	m.commitSeconds.Observe(d.Seconds())
	m.commitOps.Observe(float64(ops))
}

func (m *metrics) observeAppend(topic string, appended, skipped int, highWater uint64) {
	if appended > 0 {
		m.appended.WithLabelValues(topic).Add(float64(appended))
		m.highWater.WithLabelValues(topic).Set(float64(highWater))
	}
	if skipped > 0 {
		m.duplicates.WithLabelValues(topic).Add(float64(skipped))
	}
}
