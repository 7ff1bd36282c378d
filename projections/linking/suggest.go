package linking

import (
	"context"

	"github.com/lizhou/fangxin/projections"
)

// Finder is what linking asks of the read model (both backends implement it; see
// projections/storetest): registered merchants whose name shares words with a name.
type Finder interface {
	Candidates(ctx context.Context, q projections.CandidateQuery) ([]projections.MerchantHit, error)
}

// Retrieve is how many candidates Suggest asks the read model for before scoring them: enough
// for the same name in every township and its near misses.
const Retrieve = 20

// Suggest returns the candidates of q scored and ranked best first, at most limit of them.
func Suggest(ctx context.Context, f Finder, q Query, limit int) ([]Match, error) {
	core := Name(q.Name)
	if core == "" {
		return nil, nil
	}
	hits, err := f.Candidates(ctx, projections.CandidateQuery{Name: core, Limit: Retrieve})
	if err != nil {
		return nil, err
	}
	ranked := Rank(q, hits)
	if len(ranked) > limit {
		ranked = ranked[:limit]
	}
	return ranked, nil
}
