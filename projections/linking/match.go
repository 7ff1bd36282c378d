package linking

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Query is what an unlinked event says about its merchant.
type Query struct {
	Name     string
	Address  string
	Township string // nine-digit code or name from the event's data; "" when it has none
}

// Interest is what the linker reads of the log: complaints without a merchant code; its consumer
// group skips the rest unread (eventlog.Interest).
func Interest(typ, subject string) bool { return typ == events.TypeComplaintReceived && subject == "" }

// QueryOf reads the query of an event that names its merchant by name and address (a
// complaint.received without subject); ok is false for any other event.
func QueryOf(ev events.Event) (Query, bool) {
	if !Interest(ev.Type, ev.Subject) {
		return Query{}, false
	}
	var d events.ComplaintReceived
	if json.Unmarshal(ev.Data, &d) != nil || strings.TrimSpace(d.MerchantName) == "" {
		return Query{}, false
	}
	return Query{Name: d.MerchantName, Address: d.Address, Township: d.Township}, true
}

// Township agreement between a query and a candidate.
const (
	TownshipAgree   = "agree"
	TownshipDiffer  = "differ"
	TownshipUnknown = "unknown" // the query names no township
)

// Match is a candidate merchant scored against a query. Score is in [0, 1].
type Match struct {
	projections.MerchantHit
	Score        float64 `json:"score"`
	NameScore    float64 `json:"name_score"`
	AddressScore float64 `json:"address_score"`
	Township     string  `json:"township_agreement"`
}

// Weights of the score: the name says most, the address confirms it.
const (
	nameWeight    = 0.6
	addressWeight = 0.4
	// differPenalty multiplies the score of a candidate in another township than the event
	// names: the same name in another township is another shop.
	differPenalty = 0.5
	// numberPenalty multiplies the address score when both addresses carry house numbers and
	// they differ: the same road with another number is most often another shop.
	numberPenalty = 0.8
)

// Score scores one candidate merchant against q. It is pure and deterministic.
func Score(q Query, m projections.MerchantHit) Match {
	qName, mName := Name(q.Name), Name(m.Name)
	qAddr, qTown := Address(q.Address)
	mAddr, mTown := Address(m.Address)
	if q.Township != "" {
		if code, _ := events.NormalizeTownship(q.Township); code != "" {
			qTown = code
		}
	}
	if m.Township != "" {
		mTown = m.Township
	}
	out := Match{MerchantHit: m, NameScore: similarity(qName, mName), AddressScore: similarity(qAddr, mAddr)}
	if qn, mn := numbers(qAddr), numbers(mAddr); qn != "" && mn != "" && qn != mn {
		out.AddressScore *= numberPenalty
	}
	out.Score = nameWeight*out.NameScore + addressWeight*out.AddressScore
	switch {
	case qTown == "" || mTown == "":
		out.Township = TownshipUnknown
	case qTown == mTown:
		out.Township = TownshipAgree
	default:
		out.Township = TownshipDiffer
		out.Score *= differPenalty
	}
	out.Score = math.Round(out.Score*1000) / 1000
	return out
}

// Rank scores every candidate and orders them best first, ties by code.
func Rank(q Query, hits []projections.MerchantHit) []Match {
	out := make([]Match, len(hits))
	for i, h := range hits {
		out[i] = Score(q, h)
	}
	slices.SortFunc(out, func(a, b Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.USCC, b.USCC)
	})
	return out
}

// Policy decides when the best candidate is confident enough to link without an officer.
type Policy struct {
	MinScore  float64 // the best candidate's score at least this
	MinName   float64 // and its name score at least this
	MinMargin float64 // and this much ahead of the second best
}

// DefaultPolicy is the policy measured on the labelled set (docs/performance.md, "Linking"):
// it prefers leaving an event for an officer to linking it to the wrong merchant.
var DefaultPolicy = Policy{MinScore: 0.8, MinName: 0.7, MinMargin: 0.1}

// Pick returns the candidate to link, if the best of ranked (as Rank orders them) is confident:
// score and name score high enough, townships not differing, and clearly ahead of the next.
func (p Policy) Pick(ranked []Match) (Match, bool) {
	if len(ranked) == 0 {
		return Match{}, false
	}
	best := ranked[0]
	if best.Score < p.MinScore || best.NameScore < p.MinName || best.Township == TownshipDiffer {
		return Match{}, false
	}
	if len(ranked) > 1 && best.Score-ranked[1].Score < p.MinMargin {
		return Match{}, false
	}
	return best, true
}

// similarity of two normalised strings in [0, 1]: twice their longest common subsequence over
// their total length (typos and dropped words cost in proportion), raised to 0.9 when one
// contains the other (a name with its trade word left out: 蜀香 in 蜀香餐饮).
func similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	s := 2 * float64(lcs(ra, rb)) / float64(len(ra)+len(rb))
	if s < 0.9 && min(len(ra), len(rb)) >= 2 && (strings.Contains(a, b) || strings.Contains(b, a)) {
		s = 0.9
	}
	return s
}

// lcs is the length of the longest common subsequence of a and b.
func lcs(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			case cur[j] > prev[j+1]:
				cur[j+1] = cur[j]
			default:
				cur[j+1] = prev[j+1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// numbers is the first run of digits of an address (the house number), "" when it has none.
func numbers(s string) string {
	start := strings.IndexFunc(s, unicode.IsDigit)
	if start < 0 {
		return ""
	}
	end := strings.IndexFunc(s[start:], func(r rune) bool { return !unicode.IsDigit(r) })
	if end < 0 {
		return s[start:]
	}
	return s[start : start+end]
}
