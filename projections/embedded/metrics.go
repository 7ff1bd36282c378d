package embedded

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the live stages' figures: how large the groups are and how long their commits
// take (the commit stage is serial, so commit_seconds × groups/s is its share of wall time),
// and the same for the indexer's writes to the search indexes.
type metrics struct {
	commitSeconds prometheus.Histogram
	groupEvents   prometheus.Histogram
	indexSeconds  prometheus.Histogram
	indexDocs     prometheus.Histogram
}

// newMetrics makes the store's metrics, registered with reg unless it is nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	const ns, sub = "fangxin", "views"
	return &metrics{
		commitSeconds: f.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "commit_seconds", Help: "Duration of one group commit of the embedded views (one bbolt transaction, fsync included).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		groupEvents: f.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "group_events", Help: "Apply calls committed together in one group of the embedded views.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		indexSeconds: f.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "index_seconds", Help: "Duration of one write of the embedded views' indexer to the search indexes (persisted).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		indexDocs: f.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "index_documents", Help: "Search documents written by one write of the embedded views' indexer.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
	}
}

func (m *metrics) observeCommit(d time.Duration, events int) {
	m.commitSeconds.Observe(d.Seconds())
	m.groupEvents.Observe(float64(events))
}

func (m *metrics) observeIndex(d time.Duration, docs int) {
	m.indexSeconds.Observe(d.Seconds())
	m.indexDocs.Observe(float64(docs))
}
