// Package delivery delivers the hub's own events (incident.detected, .updated, .resolved, and
// warning.issued on request) to the webhooks bureaus subscribe, per the Standard Webhooks spec
// (https://www.standardwebhooks.com): signed, retried with backoff for days, never lost by a
// restart and never sent twice once acknowledged.
//
// The pieces: Subscription and Filter (what a bureau wants), Store (the durable seam: the
// subscriptions and an outbox of deliveries; backends in delivery/boltstore and
// delivery/esstore, one conformance suite in delivery/storetest), Service (what the gateway
// calls), Deliverer (a log consumer that enqueues, and a worker pool that sends).
//
// Order: the workers send in parallel, so two deliveries of one incident can arrive out of
// order, as Standard Webhooks allows; an incident's payloads carry data.sequence (1 for
// incident.detected, then +1 per lifecycle event) for the receiver to order them.
package delivery

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// Incident lifecycle event types. incident.detected is in the v1 catalogue; the other two are
// written by the incident rule engine.
const (
	TypeIncidentDetected = events.TypeIncidentDetected
	TypeIncidentUpdated  = "incident.updated"
	TypeIncidentResolved = "incident.resolved"
)

// DeliverableTypes are the event types a subscription may ask for. A filter without types gets
// the three incident types.
var DeliverableTypes = []string{TypeIncidentDetected, TypeIncidentUpdated, TypeIncidentResolved, events.TypeWarningIssued}

var defaultTypes = DeliverableTypes[:3]

// Interest is what the deliverer reads of the log: the deliverable types; its consumer group
// skips the rest unread (eventlog.Interest).
var Interest = eventlog.Types(DeliverableTypes...)

// Levels are the plan's four response levels, I the most serious.
var Levels = []string{"I", "II", "III", "IV"}

// Subscription is one bureau's webhook. The JSON form is what the API shows: it never carries a
// secret (the secrets are only in the store and, once, in the answer that creates or rotates
// them).
type Subscription struct {
	ID          string    `json:"id"`
	Bureau      string    `json:"bureau"`
	URL         string    `json:"url"`
	Description string    `json:"description,omitempty"`
	Filter      Filter    `json:"filter"`
	CreatedAt   time.Time `json:"created_at"`
	// Disabled is set when the receiver answered 410 Gone: nothing more is sent.
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	// SecretRotatedAt is when the current secret replaced the previous one; PreviousValidUntil
	// is until when the previous one still signs (both signatures are sent until then).
	SecretRotatedAt    *time.Time `json:"secret_rotated_at,omitempty"`
	PreviousValidUntil *time.Time `json:"previous_secret_valid_until,omitempty"`

	// Secret signs every delivery ("whsec_" + base64). PreviousSecret signs too until
	// PreviousValidUntil.
	Secret         string `json:"-"`
	PreviousSecret string `json:"-"`
}

// Filter selects the events of a subscription. Every set field must match; within a field any
// value matches. A field the event does not carry (incident.resolved carries no level, industry
// or township) does not exclude it.
type Filter struct {
	Types      []string `json:"types,omitempty"`      // event types; empty = the incident types
	Rules      []string `json:"rules,omitempty"`      // incident rule names
	Levels     []string `json:"levels,omitempty"`     // I..IV
	Industries []string `json:"industries,omitempty"` // GB/T 4754 codes at any level: H62 matches H6210
	Townships  []string `json:"townships,omitempty"`  // nine-digit codes (names are normalised on create)
	// RoutedToMe keeps only incidents whose responsible_bureaus name the subscribing bureau.
	RoutedToMe bool `json:"routed_to_me,omitempty"`
}

// facts are the fields of an event a filter looks at.
type facts struct {
	Rule        string   `json:"rule"`
	Level       string   `json:"level"`
	Industry    string   `json:"industry"`
	Township    string   `json:"township"`
	Responsible []string `json:"responsible_bureaus"`
	InhibitedBy string   `json:"inhibited_by"`
	SilencedBy  string   `json:"silenced_by"`
}

// Matches reports whether the subscription wants ev. A disabled subscription wants nothing, and
// an incident inhibited by a wider one or silenced is routed to no one (as in Alertmanager).
func (s Subscription) Matches(ev events.Event) bool {
	if s.Disabled {
		return false
	}
	f := s.Filter
	types := f.Types
	if len(types) == 0 {
		types = defaultTypes
	}
	if !slices.Contains(types, ev.Type) || !slices.Contains(DeliverableTypes, ev.Type) {
		return false
	}
	var d facts
	_ = json.Unmarshal(ev.Data, &d) // a payload that does not decode has no facts
	if d.Township != "" {
		d.Township, _ = events.NormalizeTownship(d.Township)
	}
	if d.InhibitedBy != "" || d.SilencedBy != "" {
		return false
	}
	if len(f.Rules) > 0 && d.Rule != "" && !slices.Contains(f.Rules, d.Rule) {
		return false
	}
	if len(f.Levels) > 0 && d.Level != "" && !slices.Contains(f.Levels, d.Level) {
		return false
	}
	if len(f.Townships) > 0 && d.Township != "" && !slices.Contains(f.Townships, d.Township) {
		return false
	}
	if len(f.Industries) > 0 && d.Industry != "" && !slices.ContainsFunc(f.Industries, func(p string) bool {
		return strings.HasPrefix(d.Industry, p)
	}) {
		return false
	}
	if f.RoutedToMe && ev.Type != events.TypeWarningIssued && d.Responsible != nil && !slices.Contains(d.Responsible, s.Bureau) {
		return false
	}
	return true
}
