package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lizhou/fangxin/projections"
)

// snapshotPage is the page size Snapshot reads history with: small and odd, so that cursors are
// exercised on every merchant with more than a few events.
const snapshotPage = 7

// Snapshot dumps, deterministically, every answer b gives about usccs (profile, whole history
// page by page, search by code, search by name, the events found by the name), and the answers
// that span merchants (unlinked events, the first page of every merchant, of the certified and
// listed ones, and of every event).
// Two stores built from the same log, however they got there, must give equal snapshots: that
// is what the hub's rebuild test compares (use Diff to show where they differ).
//
// Times are rendered in UTC and JSON compacted, so the dump compares what the views mean, not
// how a backend spells it. The result is indented JSON.
func Snapshot(ctx context.Context, b Backend, usccs []string) (string, error) {
	type merchant struct {
		USCC    string                       `json:"uscc"`
		Found   bool                         `json:"found"`
		Profile *projections.MerchantProfile `json:"profile,omitempty"`
		History []entry                      `json:"history"`
		ByCode  projections.MerchantResults  `json:"by_code"`
		ByName  *projections.MerchantResults `json:"by_name,omitempty"`
		Events  *eventPage                   `json:"events_by_name,omitempty"`
	}
	var dump struct {
		Merchants    []merchant                  `json:"merchants"`
		Unlinked     []entry                     `json:"unlinked"`
		AllMerchants projections.MerchantResults `json:"all_merchants"`
		Certified    projections.MerchantResults `json:"certified"`
		Listed       projections.MerchantResults `json:"listed"`
		AllEvents    eventPage                   `json:"all_events"`
	}
	usccs = slices.Clone(usccs)
	slices.Sort(usccs)
	usccs = slices.Compact(usccs)
	for _, uscc := range usccs {
		m := merchant{USCC: uscc}
		p, ok, err := b.Profile(ctx, uscc)
		if err != nil {
			return "", fmt.Errorf("Profile %s: %w", uscc, err)
		}
		if m.Found = ok; ok {
			m.Profile = &p
		}
		q := projections.HistoryQuery{USCC: uscc, Limit: snapshotPage}
		for {
			page, err := b.History(ctx, q)
			if err != nil {
				return "", fmt.Errorf("History %s: %w", uscc, err)
			}
			m.History = append(m.History, canonical(page.Entries)...)
			if page.Next == nil {
				break
			}
			q.After = page.Next
		}
		if m.ByCode, err = b.SearchMerchants(ctx, projections.MerchantQuery{Q: uscc, Limit: projections.MaxLimit}); err != nil {
			return "", fmt.Errorf("SearchMerchants %s: %w", uscc, err)
		}
		if ok && p.Name != "" {
			r, err := b.SearchMerchants(ctx, projections.MerchantQuery{Q: p.Name, Limit: projections.MaxLimit})
			if err != nil {
				return "", fmt.Errorf("SearchMerchants %s: %w", p.Name, err)
			}
			m.ByName = &r
			e, err := b.SearchEvents(ctx, projections.EventQuery{Q: p.Name, Limit: projections.MaxLimit})
			if err != nil {
				return "", fmt.Errorf("SearchEvents %s: %w", p.Name, err)
			}
			m.Events = &eventPage{Total: e.Total, Entries: canonical(e.Entries)}
		}
		dump.Merchants = append(dump.Merchants, m)
	}
	u, err := b.Unlinked(ctx, projections.MaxLimit)
	if err != nil {
		return "", fmt.Errorf("Unlinked: %w", err)
	}
	dump.Unlinked = canonical(u)
	if dump.AllMerchants, err = b.SearchMerchants(ctx, projections.MerchantQuery{Limit: projections.MaxLimit}); err != nil {
		return "", fmt.Errorf("SearchMerchants: %w", err)
	}
	yes := true
	if dump.Certified, err = b.SearchMerchants(ctx, projections.MerchantQuery{Certified: &yes, Limit: projections.MaxLimit}); err != nil {
		return "", fmt.Errorf("SearchMerchants: %w", err)
	}
	if dump.Listed, err = b.SearchMerchants(ctx, projections.MerchantQuery{Listed: &yes, Limit: projections.MaxLimit}); err != nil {
		return "", fmt.Errorf("SearchMerchants: %w", err)
	}
	e, err := b.SearchEvents(ctx, projections.EventQuery{Limit: projections.MaxLimit})
	if err != nil {
		return "", fmt.Errorf("SearchEvents: %w", err)
	}
	dump.AllEvents = eventPage{Total: e.Total, Entries: canonical(e.Entries)}
	out, err := json.MarshalIndent(dump, "", "  ")
	return string(out), err
}

type eventPage struct {
	Total   int     `json:"total"`
	Entries []entry `json:"entries"`
}

// entry is a timeline entry as Snapshot renders it.
type entry struct {
	Key     string            `json:"key"`
	Type    string            `json:"type"`
	Subject string            `json:"subject,omitempty"`
	Time    string            `json:"time"`
	Data    json.RawMessage   `json:"data"`
	Private json.RawMessage   `json:"private,omitempty"`
	Linked  *projections.Link `json:"linked,omitempty"`
}

func canonical(es []projections.TimelineEntry) []entry {
	out := make([]entry, 0, len(es))
	for _, e := range es {
		out = append(out, entry{
			Key: e.Event.Key(), Type: e.Event.Type, Subject: e.Event.Subject,
			Time:    e.Event.Time.UTC().Format(time.RFC3339Nano),
			Data:    compact(e.Event.Data),
			Private: compact(e.Private),
			Linked:  e.Linked,
		})
	}
	return out
}

func compact(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return json.RawMessage(fmt.Sprintf("%q", raw)) // not JSON: compare as text
	}
	return b.Bytes()
}

// Diff returns "" when two snapshots are equal, otherwise the first differing line of each with
// a few lines of context.
func Diff(a, b string) string {
	if a == b {
		return ""
	}
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(la) && i < len(lb) && la[i] == lb[i] {
		i++
	}
	from := max(0, i-5)
	var sb strings.Builder
	fmt.Fprintf(&sb, "first difference at line %d\n", i+1)
	for j := from; j < i; j++ {
		fmt.Fprintf(&sb, "  %s\n", la[j])
	}
	for j := i; j < min(i+3, len(la)); j++ {
		fmt.Fprintf(&sb, "- %s\n", la[j])
	}
	for j := i; j < min(i+3, len(lb)); j++ {
		fmt.Fprintf(&sb, "+ %s\n", lb[j])
	}
	return sb.String()
}
