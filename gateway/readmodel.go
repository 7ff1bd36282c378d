package gateway

import (
	"context"

	"github.com/lizhou/fangxin/projections"
)

// ReadModel is what the gateway asks of the shared views. Backends (projections/embedded,
// projections/elastic) implement it idiomatically and pass projections/storetest.
//
// All methods are safe for concurrent use and read committed data only: an event is visible once
// the projector's Apply for it returned. Returned values are owned by the caller. Queries are
// validated by the gateway; a backend may still reject one with an error wrapping
// projections.ErrBadQuery.
type ReadModel interface {
	// Profile returns the merchant's shared profile; ok is false when no event names it.
	Profile(ctx context.Context, uscc string) (p projections.MerchantProfile, ok bool, err error)
	// History returns one page of the merchant's timeline, newest first.
	History(ctx context.Context, q projections.HistoryQuery) (projections.HistoryPage, error)
	// SearchMerchants finds merchants by Chinese name words, code prefix and filters.
	SearchMerchants(ctx context.Context, q projections.MerchantQuery) (projections.MerchantResults, error)
	// SearchEvents finds events of all merchants by the words of their text, newest first.
	SearchEvents(ctx context.Context, q projections.EventQuery) (projections.EventResults, error)
	// Unlinked lists events that name no merchant code, newest first.
	Unlinked(ctx context.Context, limit int) ([]projections.TimelineEntry, error)
	// Candidates finds registered merchants whose name shares words with q.Name (linking).
	Candidates(ctx context.Context, q projections.CandidateQuery) ([]projections.MerchantHit, error)
	// Event returns a recorded event by its key, wherever it is (Linked set once linked).
	Event(ctx context.Context, source, id string) (projections.TimelineEntry, bool, error)
}
