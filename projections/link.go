package projections

import (
	"encoding/json"
	"errors"

	"github.com/lizhou/fangxin/events"
)

// Link records how an event that named no merchant code came into a merchant's timeline: the
// merchant.linked event that linked it. Stores set TimelineEntry.Linked on the linked event.
type Link struct {
	USCC   string  `json:"uscc"`
	By     string  `json:"by"` // the key of the merchant.linked event
	Method string  `json:"method"`
	Score  float64 `json:"score,omitempty"`
}

// LinkOf reads a merchant.linked event: the key of the event it links (target) and the link.
// ok is false for any other event, or a link whose data does not decode.
func LinkOf(ev events.Event) (target string, l Link, ok bool) {
	if ev.Type != events.TypeMerchantLinked || ev.Subject == "" {
		return "", Link{}, false
	}
	var d events.MerchantLinked
	if json.Unmarshal(ev.Data, &d) != nil || d.EventSource == "" || d.EventID == "" {
		return "", Link{}, false
	}
	target = events.Event{Source: d.EventSource, ID: d.EventID}.Key()
	return target, Link{USCC: ev.Subject, By: ev.Key(), Method: d.Method, Score: d.Score}, true
}

// Merchant is the code of the merchant whose timeline holds the entry: its subject, or the
// merchant it was linked to; "" for an unlinked event.
func (e TimelineEntry) Merchant() string {
	if e.Linked != nil {
		return e.Linked.USCC
	}
	return e.Event.Subject
}

// ErrLinkTarget is wrapped by Apply's error for a merchant.linked event whose target is not in
// the views yet. It is transient: in the distributed log the target may sit in another partition
// and arrive later, so the projector retries the link until it has.
var ErrLinkTarget = errors.New("the event to link is not in the views yet")

// CandidateQuery asks for the registered merchants an unlinked event may name.
type CandidateQuery struct {
	Name  string // the name the event gives, normalised by the caller (projections/linking.Name)
	Limit int    // 1..MaxLimit; 0 = DefaultLimit
}
