package hub

import (
	"context"
	"errors"
)

// The distributed backends (Kafka, Elasticsearch) are wired here once they land.

func openKafka(ctx context.Context, cfg Config, d Deps) (logBackend, error) {
	return nil, errors.New("--kafka-brokers: the Kafka log is not built into this binary yet")
}

func openElasticsearch(ctx context.Context, cfg Config, d Deps) (viewsBackend, error) {
	return nil, errors.New("--elasticsearch-url: the Elasticsearch views are not built into this binary yet")
}
