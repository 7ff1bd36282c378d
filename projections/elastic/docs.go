package elastic

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Field names, shared by the mappings, the documents and the queries.
const (
	fKey       = "key"
	fUSCC      = "uscc"
	fType      = "type"
	fBureau    = "bureau"
	fTownship  = "township"
	fTime      = "time"
	fTimeNS    = "time_ns"
	fPartition = "partition"
	fOffset    = "offset"
	fText      = "text"
	fEvent     = "event"
	fPrivate   = "private"
	fLinked    = "linked"

	fName      = "name"
	fAddress   = "address"
	fIndustry  = "industry"
	fIndPrefix = "industry_prefixes"
	fCertified = "certified"
	fListed    = "listed"
	fProfile   = "profile"
)

// schemaVersion is written into both mappings' _meta; a change of the documents' shape bumps it,
// and the views are then rebuilt into a new generation.
const schemaVersion = "elastic/2"

// textField is the mapping of every searchable text: the standard analyzer (one token per Han
// character, see the package doc) with positions for phrase queries. index_phrases (two-token
// shingles, the CJK bigram) would make two-character words one term lookup, but measured here it
// cost about 30% more Elasticsearch CPU per event for queries that are fast without it.
var textField = map[string]any{"type": "text", "analyzer": "standard"}

var keyword = map[string]any{"type": "keyword"}

// stored is a field kept in _source only: not parsed into the mapping, not searchable.
var stored = map[string]any{"type": "object", "enabled": false}

func timelineMapping() map[string]any {
	return map[string]any{
		"dynamic": "strict",
		"_meta":   map[string]any{"schema": schemaVersion},
		"properties": map[string]any{
			fKey:       keyword,
			fUSCC:      keyword,
			fType:      keyword,
			fBureau:    keyword,
			fTownship:  keyword,
			fTime:      map[string]any{"type": "date"},
			fTimeNS:    map[string]any{"type": "long"},
			fPartition: map[string]any{"type": "integer"},
			fOffset:    map[string]any{"type": "long"},
			fText:      textField,
			fEvent:     stored,
			fPrivate:   stored,
			fLinked:    stored,
		},
	}
}

func merchantsMapping() map[string]any {
	return map[string]any{
		"dynamic": "strict",
		"_meta":   map[string]any{"schema": schemaVersion},
		"properties": map[string]any{
			fUSCC:      keyword,
			fName:      textField,
			fAddress:   textField,
			fTownship:  keyword,
			fIndustry:  keyword,
			fIndPrefix: keyword,
			fCertified: map[string]any{"type": "boolean"},
			fListed:    map[string]any{"type": "boolean"},
			fPartition: map[string]any{"type": "integer"},
			fOffset:    map[string]any{"type": "long"},
			fProfile:   stored,
		},
	}
}

// timelineDoc is an event in the timeline index; its id is docID(event key).
type timelineDoc struct {
	Key       string            `json:"key"`
	USCC      string            `json:"uscc,omitempty"` // absent for unlinked events
	Type      string            `json:"type"`
	Bureau    string            `json:"bureau,omitempty"`
	Township  string            `json:"township,omitempty"`
	Time      time.Time         `json:"time"`
	TimeNS    int64             `json:"time_ns"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Text      []string          `json:"text,omitempty"`
	Event     json.RawMessage   `json:"event"`
	Private   json.RawMessage   `json:"private,omitempty"`
	Linked    *projections.Link `json:"linked,omitempty"` // set on an unlinked event linked to USCC
}

func (d *timelineDoc) position() eventlog.Position {
	return eventlog.Position{Partition: d.Partition, Offset: d.Offset}
}

// merchantDoc is a merchant's profile and search fields; its id is the USCC.
type merchantDoc struct {
	USCC      string          `json:"uscc"`
	Name      string          `json:"name,omitempty"`
	Address   string          `json:"address,omitempty"`
	Township  string          `json:"township,omitempty"`
	Industry  string          `json:"industry,omitempty"`
	IndPrefix []string        `json:"industry_prefixes,omitempty"`
	Certified bool            `json:"certified"`
	Listed    bool            `json:"listed"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Profile   json.RawMessage `json:"profile"`
}

// docID is the timeline document id of an event key: keys are unbounded, ids must stay under
// 512 bytes, so the id is a hash (43 characters).
func docID(key string) string {
	h := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// maxIDBytes is Elasticsearch's limit on document ids, which the USCC is used as.
const maxIDBytes = 512

// Times whose UnixNano is defined: time_ns orders the timeline exactly.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func inRange(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }

// checkEntry rejects what this backend can never store; the gateway's validation makes these
// unreachable in practice. The errors become *projections.PermanentError.
func checkEntry(e projections.TimelineEntry) error {
	ev := e.Event
	switch {
	case ev.ID == "" || ev.Source == "":
		return errors.New("event has no id or source")
	case len(ev.Subject) > maxIDBytes:
		return fmt.Errorf("subject longer than %d bytes", maxIDBytes)
	case !utf8.ValidString(ev.Key()) || !utf8.ValidString(ev.Subject) || !utf8.ValidString(ev.Type):
		return errors.New("event key, subject or type is not UTF-8")
	case !inRange(ev.Time):
		return fmt.Errorf("event time %v is out of range (1678..2262)", ev.Time)
	}
	return nil
}

// newTimelineDoc builds the document of e at pos; p is the merchant's profile after the event
// was folded (nil for unlinked events). The event JSON is encoded once by the caller.
func newTimelineDoc(e projections.TimelineEntry, eventJSON json.RawMessage, pos eventlog.Position, p *projections.MerchantProfile) *timelineDoc {
	ev := e.Event
	d := &timelineDoc{
		Key:       ev.Key(),
		USCC:      e.Merchant(),
		Type:      ev.Type,
		Bureau:    ev.Bureau(),
		Time:      ev.Time.UTC(),
		TimeNS:    ev.Time.UnixNano(),
		Partition: pos.Partition,
		Offset:    pos.Offset,
		Event:     eventJSON,
		Private:   e.Private,
		Linked:    e.Linked,
	}
	d.Text, d.Township = eventText(ev, p)
	return d
}

// eventText returns an event's searchable words and its township: the named fields of its data
// (never personal data) and the merchant's name; the township its data carries, otherwise the
// merchant's.
func eventText(ev events.Event, p *projections.MerchantProfile) (text []string, township string) {
	data, err := events.DecodeData(ev)
	if err == nil {
		switch x := data.(type) {
		case *events.ComplaintReceived:
			text = nonEmpty(x.Summary, x.Category, x.MerchantName)
			township = x.Township
		case *events.InspectionCompleted:
			text = nonEmpty(x.Findings)
		case *events.SamplingCompleted:
			text = nonEmpty(x.Product)
		case *events.PenaltyImposed:
			text = nonEmpty(x.LegalBasis)
		case *events.WarningIssued:
			text = nonEmpty(x.Title, x.Body)
			township = x.Township
		}
	}
	if township != "" {
		township, _ = events.NormalizeTownship(township)
	}
	if p != nil {
		if p.Name != "" {
			text = append(text, p.Name)
		}
		if township == "" {
			township = p.Township
		}
	}
	return text, township
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// newMerchantDoc builds a merchant's document from its profile and the profile's JSON.
func newMerchantDoc(p *projections.MerchantProfile, profileJSON json.RawMessage) *merchantDoc {
	d := &merchantDoc{
		USCC:      p.USCC,
		Name:      p.Name,
		Address:   p.Address,
		Township:  p.Township,
		Industry:  p.Industry,
		Certified: p.Certified(),
		Listed:    p.Listed(),
		Partition: p.LastPosition.Partition,
		Offset:    p.LastPosition.Offset,
		Profile:   profileJSON,
	}
	for i := 1; i <= len(p.Industry); i++ {
		d.IndPrefix = append(d.IndPrefix, strings.ToUpper(p.Industry[:i]))
	}
	return d
}

// externalVersion is the profile's Elasticsearch version after folding the event at pos: a
// writer holding an older profile can never overwrite a newer one.
func externalVersion(pos eventlog.Position) int64 { return pos.Offset + 1 }

// searchFields is what a merchant's event documents carry from its profile.
func searchFields(p *projections.MerchantProfile) [2]string {
	if p == nil {
		return [2]string{}
	}
	return [2]string{p.Name, p.Township}
}
