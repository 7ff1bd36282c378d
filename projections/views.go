// Package projections folds the event log into the shared read model: the merchant timeline (every
// event of every bureau), the merchant profile and the search index. The folding logic lives here;
// backends (embedded: projections/embedded; distributed: projections/elastic) persist it behind
// Store and answer the gateway's queries.
package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// Store persists the views. Implementations live beside this package, one per backend, and pass
// projections/storetest.
//
// Apply records ev, found at pos in the log, in the timeline of its merchant (or among the
// unlinked events when it has no subject) and, when that is new, folds it into the merchant's
// profile with fold and re-indexes the merchant for search.
//
// Contract:
//   - Exactly once per event key: an event whose key is already recorded at another position is a
//     duplicate and changes nothing (applied=false); one already recorded at the same position is
//     a redelivery: whatever of it was not yet applied is completed, nothing is applied twice.
//   - Durable on return: once Apply returns nil the change survives kill -9 of the process.
//   - Safe for concurrent use. The caller never applies two events of the same merchant at once,
//     and applies them in log order; events of different merchants may be applied concurrently
//     and implementations should batch concurrent calls into one write.
//   - fold is pure and must not be retained; the Store owns the profile it passes to it.
//   - Linking: a merchant.linked event (LinkOf) is recorded in its merchant's timeline like any
//     event and, in the same durable step, moves its target (an unlinked event already applied)
//     into that merchant's timeline with TimelineEntry.Linked set, folding it into the profile:
//     the target leaves Unlinked and counts once. A target already linked stays where it is (the
//     first link in the log wins). A target not applied yet fails the call with an error
//     wrapping ErrLinkTarget and changes nothing.
type Store interface {
	Apply(ctx context.Context, ev TimelineEntry, pos eventlog.Position, fold FoldFunc) (applied bool, err error)
}

// ChainStore is a Store that can also apply a run of consecutive events of one partition key in
// one step, so that a merchant with a backlog costs one write round trip instead of one per
// event. The projector uses it when the store offers it (projections/elastic does).
//
// ApplyChain applies chain as if Apply were called for each link in turn, and returns one result
// per link, in order. Contract, beyond Apply's:
//   - chain holds events of one partition key, in log order; the caller applies nothing else of
//     that key until ApplyChain returns.
//   - Results are ordered: once a link fails, every later link fails too (wrapping ErrChainBroken
//     when it failed only because an earlier one did), so the caller can acknowledge the prefix
//     that succeeded and deliver the rest again. A failed link may have been applied in part or
//     whole; delivering it again completes it without applying anything twice (as with Apply).
//   - Durable on return for every link reported applied or as a duplicate.
type ChainStore interface {
	Store
	ApplyChain(ctx context.Context, chain []ChainLink, fold FoldFunc) []ChainResult
}

// ChainLink is one event of a chain and its position in the log.
type ChainLink struct {
	Entry TimelineEntry
	Pos   eventlog.Position
}

// ChainResult is what Apply would have returned for one link.
type ChainResult struct {
	Applied bool
	Err     error
}

// ErrChainBroken is wrapped by the results of links that were not applied because an earlier
// link of their chain failed. It is transient: deliver the link again.
var ErrChainBroken = errors.New("an earlier event of the same merchant failed, so this one waits for it")

// FailChain sets err on every result from index from on that holds neither an error nor an
// application, for a backend that stops waiting for its links (a cancelled context, a closed
// store), and returns results.
func FailChain(results []ChainResult, from int, err error) []ChainResult {
	for i := from; i < len(results); i++ {
		if results[i].Err == nil && !results[i].Applied {
			results[i].Err = err
		}
	}
	return results
}

// OrderChain makes results ordered as ChainStore requires, for a backend whose links may fail
// out of order (a cancelled wait, a group error): after the first failed link, every link that
// did not fail itself fails with ErrChainBroken, wrapped with the backend's name.
func OrderChain(results []ChainResult, backend string) []ChainResult {
	for i := range results {
		if results[i].Err != nil {
			for j := i + 1; j < len(results); j++ {
				if results[j].Err == nil {
					results[j] = ChainResult{Err: fmt.Errorf("%s: %w", backend, ErrChainBroken)}
				}
			}
			break
		}
	}
	return results
}

// FoldFunc changes a merchant's profile for one event. It is pure: the same profile and event
// always give the same result.
type FoldFunc func(p *MerchantProfile, ev events.Event)

// TimelineEntry is an event as the shared view keeps it: personal data taken out of Data and kept
// in Private, which only the sending bureau may read.
type TimelineEntry struct {
	Event   events.Event    `json:"event"`
	Private json.RawMessage `json:"private,omitempty"`
	// Linked is set on an event that named no merchant code and was linked to one by a
	// merchant.linked event (link.go): it is then in that merchant's timeline, not Unlinked.
	Linked *Link `json:"linked,omitempty"`
}

// MerchantProfile is the shared profile of one merchant: what every bureau knows about it, folded.
type MerchantProfile struct {
	USCC           string            `json:"uscc"`
	Registered     bool              `json:"registered"`
	Name           string            `json:"name,omitempty"`
	Township       string            `json:"township,omitempty"`
	TownshipName   string            `json:"township_name,omitempty"`
	Industry       string            `json:"industry,omitempty"`
	IndustryName   string            `json:"industry_name,omitempty"`
	Address        string            `json:"address,omitempty"`
	RegisteredAt   *time.Time        `json:"registered_at,omitempty"`
	EventCount     int               `json:"event_count"`
	CountsByType   map[string]int    `json:"counts_by_type"`
	CountsByBureau map[string]int    `json:"counts_by_bureau"`
	OpenComplaints []OpenComplaint   `json:"open_complaints"`
	Certifications []Certification   `json:"certifications"`
	CreditListings []CreditListing   `json:"credit_listings"`
	FinesTotalFen  int64             `json:"fines_total_fen"`
	LastActivity   time.Time         `json:"last_activity"`
	LastPosition   eventlog.Position `json:"last_position"`
}

// Clone returns a deep copy of p: folding the copy leaves p as it was.
func (p *MerchantProfile) Clone() *MerchantProfile {
	if p == nil {
		return nil
	}
	c := *p
	c.RegisteredAt = cloneTime(p.RegisteredAt)
	c.CountsByType = maps.Clone(p.CountsByType)
	c.CountsByBureau = maps.Clone(p.CountsByBureau)
	c.OpenComplaints = slices.Clone(p.OpenComplaints)
	for i := range c.OpenComplaints {
		c.OpenComplaints[i].Deadline = cloneTime(c.OpenComplaints[i].Deadline)
	}
	c.Certifications = slices.Clone(p.Certifications)
	for i := range c.Certifications {
		c.Certifications[i].ValidUntil = cloneTime(c.Certifications[i].ValidUntil)
	}
	c.CreditListings = slices.Clone(p.CreditListings)
	return &c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

// OpenComplaint is a complaint received and not yet closed.
type OpenComplaint struct {
	ComplaintID string     `json:"complaint_id"`
	Bureau      string     `json:"bureau"`
	Category    string     `json:"category,omitempty"`
	ReceivedAt  time.Time  `json:"received_at"`
	AssignedTo  string     `json:"assigned_to,omitempty"`
	Deadline    *time.Time `json:"deadline,omitempty"`
}

// Certification is a certification granted and not revoked.
type Certification struct {
	CertID     string     `json:"cert_id"`
	Scheme     string     `json:"scheme"`
	Level      string     `json:"level,omitempty"`
	Bureau     string     `json:"bureau"`
	GrantedAt  time.Time  `json:"granted_at"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

// CreditListing is a credit list entry not yet delisted.
type CreditListing struct {
	List     string    `json:"list"`
	Reason   string    `json:"reason"`
	Bureau   string    `json:"bureau"`
	ListedAt time.Time `json:"listed_at"`
}

// Certified reports whether the merchant holds a certification that was granted and not revoked.
// (valid_until is shown, not evaluated: a view must not depend on when it was built.)
func (p *MerchantProfile) Certified() bool { return len(p.Certifications) > 0 }

// Listed reports whether the merchant is on any credit list.
func (p *MerchantProfile) Listed() bool { return len(p.CreditListings) > 0 }

// HistoryQuery selects a page of one merchant's timeline. Results are ordered by event time,
// newest first, ties by event key ascending.
type HistoryQuery struct {
	USCC    string
	Types   []string  // any of; empty = all
	Bureaus []string  // any of; empty = all
	From    time.Time // inclusive; zero = open
	To      time.Time // exclusive; zero = open
	Limit   int       // 1..MaxLimit
	After   *Cursor   // continue after this entry
}

// Cursor marks the last entry of a page.
type Cursor struct {
	Time time.Time `json:"t"`
	Key  string    `json:"k"`
}

// MaxLimit caps every page; DefaultLimit is the page size of a query whose Limit is 0.
const (
	MaxLimit     = 500
	DefaultLimit = 50
)

// PageLimit applies the page-size rule every backend shares: 0 takes DefaultLimit, anything
// outside 1..MaxLimit is an error wrapping ErrBadQuery.
func PageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultLimit, nil
	case limit < 0 || limit > MaxLimit:
		return 0, fmt.Errorf("%w: limit %d must be between 1 and %d (0 = %d)", ErrBadQuery, limit, MaxLimit, DefaultLimit)
	}
	return limit, nil
}

// HistoryPage is one page of a timeline. Entries are owned by the caller.
type HistoryPage struct {
	Entries []TimelineEntry
	Next    *Cursor // nil on the last page
}

// MerchantQuery searches merchants. Every set field must match.
type MerchantQuery struct {
	Q         string // words of the name or address (Chinese words match as phrases), or a code prefix
	Township  string // nine-digit code
	Industry  string // GB/T 4754 code or a prefix of one (H62 matches H6210)
	Certified *bool
	Listed    *bool
	Limit     int // 1..MaxLimit
	Offset    int
}

// MerchantHit is one search result.
type MerchantHit struct {
	USCC         string `json:"uscc"`
	Name         string `json:"name"`
	Township     string `json:"township,omitempty"`
	TownshipName string `json:"township_name,omitempty"`
	Industry     string `json:"industry,omitempty"`
	IndustryName string `json:"industry_name,omitempty"`
	Address      string `json:"address,omitempty"`
	Certified    bool   `json:"certified"`
	Listed       bool   `json:"listed"`
}

// MerchantResults is one page of search results. Total counts every match.
type MerchantResults struct {
	Total int           `json:"total"`
	Hits  []MerchantHit `json:"merchants"`
}

// EventQuery searches the text of events across all merchants (complaint summaries and
// categories, inspection findings, sampled products, penalty bases, warnings, merchant names).
// Chinese words match as phrases: 火锅 finds 老张火锅店 but not 火车 or 锅炉.
type EventQuery struct {
	Q        string
	Types    []string  // any of; empty = all
	Bureaus  []string  // any of; empty = all
	Township string    // nine-digit code, for events that carry one or whose merchant is registered there
	From     time.Time // inclusive; zero = open
	To       time.Time // exclusive; zero = open
	Limit    int       // 1..MaxLimit
	Offset   int
}

// EventResults is one page of event search results, newest first. Total counts every match.
type EventResults struct {
	Total   int
	Entries []TimelineEntry
}

// ErrBadQuery is wrapped by read-model errors caused by the query rather than the backend.
var ErrBadQuery = errors.New("bad query")
