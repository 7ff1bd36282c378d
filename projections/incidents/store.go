// Package incidents is the read model of incidents and silences: the current state of every
// incident (folded from incident.detected, incident.updated and incident.resolved), the silences
// (silence.created, silence.deleted) and the feed of lifecycle events for live consoles (the
// server-sent-events stream). Store is the seam; backends: Bolt (embedded) and Elastic
// (Elasticsearch). incidentstest is the conformance suite both pass.
package incidents

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Status of an incident.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
)

// Incident is an incident's current state: the data of its latest incident.detected or
// incident.updated, and its resolution once resolved.
type Incident struct {
	events.IncidentDetected
	Status string `json:"status"` // open or resolved
	// Routed: sent to its responsible bureaus (neither inhibited nor silenced).
	Routed        bool       `json:"routed"`
	DetectedAt    time.Time  `json:"detected_at"` // time of incident.detected (zero until it is read)
	UpdatedAt     time.Time  `json:"updated_at"`  // time of the latest lifecycle event
	ResolvedAt    *time.Time `json:"resolved_at,omitempty"`
	ResolveReason string     `json:"resolve_reason,omitempty"`
	// ResolvedSeq is the sequence of incident.resolved; Sequence (embedded) that of the data.
	ResolvedSeq int `json:"resolved_sequence,omitempty"`
}

// Silence is a silence's current state.
type Silence struct {
	events.SilenceCreated
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	DeletedBy string     `json:"deleted_by,omitempty"`
}

// Active reports whether the silence applies at t.
func (s Silence) Active(t time.Time) bool {
	return s.SilenceID != "" && !t.Before(s.StartsAt) && t.Before(s.EndsAt) && (s.DeletedAt == nil || t.Before(*s.DeletedAt))
}

// FeedEntry is one lifecycle event in the order the store received it. Seq grows with that
// order and is the resume point of the stream (Last-Event-ID).
type FeedEntry struct {
	Seq   int64        `json:"seq"`
	Event events.Event `json:"event"`
}

// Filter selects incidents; empty fields match everything. Township is a code or a name.
// From and To bound detected_at: From ≤ detected_at < To.
type Filter struct {
	Rule, Level, Status, Bureau, Industry, Township, Merchant string
	From, To                                                  time.Time
	Limit                                                     int    // 0: projections.DefaultLimit; at most projections.MaxLimit
	Cursor                                                    string // from the previous page's Next
}

// Page is a page of incidents, newest detected first (ties by incident id, descending).
type Page struct {
	Incidents []Incident
	Next      string // "" on the last page
}

// ErrBadQuery wraps a filter the store cannot run (bad cursor or limit); the gateway answers 400.
var ErrBadQuery = projections.ErrBadQuery

// Store is the incident read model. Implementations are safe for concurrent use.
//
// Apply folds one event of the log: the lifecycle types and silences change the view, every other
// type is ignored. It is idempotent on the event key (source, id): an event applied twice changes
// nothing and enters the feed once. Lifecycle events of one incident may come in any order: the
// data of the highest sequence wins and a resolution is kept whatever comes after it. Apply
// returns once the change is durable and visible to queries and to Feed.
//
// Returned values are the caller's.
type Store interface {
	Apply(ctx context.Context, ev events.Event) error
	Incident(ctx context.Context, id string) (Incident, bool, error)
	Incidents(ctx context.Context, f Filter) (Page, error)
	Silence(ctx context.Context, id string) (Silence, bool, error)
	// Silences lists every silence, newest starts_at first.
	Silences(ctx context.Context) ([]Silence, error)
	// Feed returns up to limit lifecycle events with Seq > after, in Seq order.
	Feed(ctx context.Context, after int64, limit int) ([]FeedEntry, error)
	Close() error
}

// Fresh is an optional ability of a Store: Fresh reports whether the store was created empty
// when it was opened (a new file, new indices), so its projector must fold the log from the
// start, whatever position its consumer group had committed (e.g. after `fangxin rebuild`
// moved the embedded views aside).
type Fresh interface{ Fresh() bool }

// IsLifecycle reports whether typ is an incident lifecycle type.
func IsLifecycle(typ string) bool {
	return typ == events.TypeIncidentDetected || typ == events.TypeIncidentUpdated || typ == events.TypeIncidentResolved
}

// IncidentIDOf returns the incident id of a lifecycle event, or "" when it does not decode.
func IncidentIDOf(ev events.Event) string {
	var d struct {
		ID string `json:"incident_id"`
	}
	if json.Unmarshal(ev.Data, &d) != nil {
		return ""
	}
	return d.ID
}

// FoldIncident folds a lifecycle event into cur (the zero Incident when none is stored). It
// reports whether anything changed. Backends call it inside their write.
func FoldIncident(cur *Incident, ev events.Event) (bool, error) {
	data, err := events.DecodeData(ev)
	if err != nil {
		return false, err
	}
	switch d := data.(type) {
	case *events.IncidentDetected:
		if ev.Type == events.TypeIncidentDetected && (cur.DetectedAt.IsZero() || ev.Time.Before(cur.DetectedAt)) {
			cur.DetectedAt = ev.Time
		}
		if cur.IncidentID != "" && d.Sequence <= cur.Sequence {
			return ev.Type == events.TypeIncidentDetected, nil
		}
		cur.IncidentDetected = *d
		if t, ok := events.LookupTownship(cur.Township); ok {
			cur.Township = t.Code // filters compare codes
		}
		if cur.DetectedAt.IsZero() {
			cur.DetectedAt = d.FirstAt // an update read before its detection: corrected when it comes
		}
	case *events.IncidentResolved:
		if cur.ResolvedAt != nil {
			return false, nil
		}
		at := d.ResolvedAt
		cur.ResolvedAt, cur.ResolveReason, cur.ResolvedSeq = &at, d.Reason, d.Sequence
		if cur.IncidentID == "" {
			cur.IncidentID, cur.Rule, cur.Fingerprint = d.IncidentID, d.Rule, d.Fingerprint
		}
	default:
		return false, fmt.Errorf("incidents: %s is not a lifecycle event", ev.Type)
	}
	if ev.Time.After(cur.UpdatedAt) {
		cur.UpdatedAt = ev.Time
	}
	cur.Status = StatusOpen
	if cur.ResolvedAt != nil {
		cur.Status = StatusResolved
	}
	cur.Routed = cur.IncidentDetected.Routed() && cur.Status == StatusOpen
	return true, nil
}

// FoldSilence folds silence.created or silence.deleted into cur.
func FoldSilence(cur *Silence, ev events.Event) (bool, error) {
	data, err := events.DecodeData(ev)
	if err != nil {
		return false, err
	}
	switch d := data.(type) {
	case *events.SilenceCreated:
		if cur.SilenceCreated.CreatedBy != "" {
			return false, nil
		}
		cur.SilenceCreated = *d
	case *events.SilenceDeleted:
		if cur.DeletedAt != nil {
			return false, nil
		}
		at := d.DeletedAt
		cur.DeletedAt, cur.DeletedBy, cur.SilenceID = &at, d.DeletedBy, d.SilenceID
	default:
		return false, fmt.Errorf("incidents: %s is not a silence event", ev.Type)
	}
	return true, nil
}

// Match reports whether inc passes f (cursor and limit aside).
func (f Filter) Match(inc Incident) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	tw := f.Township
	if t, ok := events.LookupTownship(tw); ok {
		tw = t.Code
	}
	return eq(f.Rule, inc.Rule) && eq(f.Level, inc.Level) && eq(f.Status, inc.Status) &&
		eq(f.Industry, inc.Industry) && eq(tw, inc.Township) && eq(f.Merchant, inc.Merchant) &&
		(f.Bureau == "" || slices.Contains(inc.ResponsibleBureau, f.Bureau)) &&
		(f.From.IsZero() || !inc.DetectedAt.Before(f.From)) && (f.To.IsZero() || inc.DetectedAt.Before(f.To))
}

// Cursor is a position in the incident order: detected_at, then incident id, both descending.
type Cursor struct {
	DetectedAt time.Time
	ID         string
}

// Encode returns the opaque cursor string.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.DetectedAt.UnixNano(), 10) + "|" + c.ID))
}

// DecodeCursor parses a cursor; "" is the start.
func DecodeCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if ns, id, ok := strings.Cut(string(b), "|"); ok {
			if n, err := strconv.ParseInt(ns, 10, 64); err == nil && id != "" {
				return Cursor{DetectedAt: time.Unix(0, n).UTC(), ID: id}, nil
			}
		}
	}
	return Cursor{}, fmt.Errorf("%w: cursor %q is not one this API returned", ErrBadQuery, s)
}

// After reports whether inc comes after c in the order (so belongs to the next page).
func (c Cursor) After(inc Incident) bool {
	if c.ID == "" {
		return true
	}
	if !inc.DetectedAt.Equal(c.DetectedAt) {
		return inc.DetectedAt.Before(c.DetectedAt)
	}
	return inc.IncidentID < c.ID
}

// Less orders incidents newest detected first, then by id descending.
func Less(a, b Incident) int {
	if c := b.DetectedAt.Compare(a.DetectedAt); c != 0 {
		return c
	}
	return strings.Compare(b.IncidentID, a.IncidentID)
}

var errClosed = errors.New("incidents: store closed")
