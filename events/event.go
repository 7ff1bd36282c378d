package events

import (
	"encoding/json"
	"strings"
	"time"
)

// SpecVersion is the only CloudEvents version the hub accepts.
const SpecVersion = "1.0"

// Event is one domain event in its CloudEvents 1.0 envelope. It is a plain value: copying it is
// cheap and Data is never modified after construction, so an Event may be shared between
// goroutines once built.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	DataSchema      string          `json:"dataschema,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// SourcePrefix starts every event source: "/bureaus/{code}".
const SourcePrefix = "/bureaus/"

// SourceOf returns the CloudEvents source of a bureau code.
func SourceOf(bureau string) string { return SourcePrefix + bureau }

// Bureau returns the bureau code of the event's source, or "" when the source is not of the
// form /bureaus/{code}.
func (e Event) Bureau() string {
	code, ok := strings.CutPrefix(e.Source, SourcePrefix)
	if !ok || code == "" || strings.Contains(code, "/") {
		return ""
	}
	return code
}

// Key identifies the event across the hub: (source, id). Sending an event with a known key again
// is a no-op.
func (e Event) Key() string { return e.Source + " " + e.ID }

// PartitionKey is the log key that keeps one merchant's events in order: the subject when the
// event names a merchant, otherwise the event key (unlinked events have no order to keep).
func (e Event) PartitionKey() string {
	if e.Subject != "" {
		return e.Subject
	}
	return e.Key()
}
