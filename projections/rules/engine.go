// Package rules is the hub's rule engine: it folds the event log into rule state and raises
// incidents (群体性、突发性消费事件, 联动响应, 限时办结) as events of the log itself
// (incident.detected, incident.updated, incident.resolved), routed to the plan's lead and
// responsible units (data/routing.yaml) with Alertmanager-style inhibition and silences.
//
// # Determinism
//
// The engine is a pure function of the events it is given, in the order given, and of the times
// it is advanced to: no wall clock, no randomness, no map-order dependence. Event time drives
// windows; the engine's time is the latest of the event times and the times passed to Advance
// (the hub's clock, for pending periods, quiet periods and deadlines while the stream is idle).
// Every lifecycle event has a deterministic id, "{incident_id}.{sequence}", with incident_id
// derived from the incident's fingerprint and episode number, and its time is the time of the
// transition (the triggering event's time, or the due time of the timer), so replaying the log
// into a fresh engine writes the same events again, which the log's readers take as no-ops.
//
// An event older than the engine's time (late, from another partition) still counts in its
// windows but does not change transitions already made.
package rules

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/lizhou/fangxin/events"
)

// Engine folds events into rule state and collects the lifecycle events to write. It is not
// safe for concurrent use: the handler serialises calls.
type Engine struct {
	cfg     Config
	routing Routing
	now     time.Time
	// watermark is the latest time of an input event (the hub's own events aside).
	watermark time.Time

	merchants  map[string]*merchant
	complaints map[string]*complaint
	counters   []*counter
	deadlines  deadlineHeap
	calendar   calendar

	open      map[string]*incident // open incidents by fingerprint
	quietOpen map[string]*incident // the open incidents that resolve after a quiet period
	logged    map[string]int       // highest sequence of each incident read back from the log; -1: resolved
	episodes  map[string]int       // incidents raised so far per fingerprint
	dirty     map[string]*incident // open incidents with changes not yet written (group_interval)
	silences  map[string]*silence
	// silenceEdge is the next time a silence starts or ends: open incidents are re-matched then.
	silenceEdge time.Time

	out []events.Event
}

type merchant struct {
	name, industry, township string
	certs                    map[string]certification // active, by cert id
}

type certification struct {
	scheme, bureau string
	validUntil     time.Time // zero: no end
}

type complaint struct {
	id, merchant, category, industry, township string
	at                                         time.Time
	assignedTo                                 string
	due                                        time.Time // effective deadline of the current assignment
	closed                                     bool
}

type silence struct {
	data    events.SilenceCreated
	deleted time.Time // zero: not deleted
}

func (s *silence) active(t time.Time) bool {
	return !t.Before(s.data.StartsAt) && t.Before(s.data.EndsAt) && (s.deleted.IsZero() || t.Before(s.deleted))
}

// New returns an engine with the given rules and routing table (both validated by the caller:
// ParseConfig, DefaultRouting).
func New(cfg Config, routing Routing) *Engine {
	e := &Engine{
		cfg: cfg, routing: routing,
		merchants: map[string]*merchant{}, complaints: map[string]*complaint{},
		open: map[string]*incident{}, quietOpen: map[string]*incident{}, logged: map[string]int{}, episodes: map[string]int{}, dirty: map[string]*incident{},
		silences: map[string]*silence{}, calendar: calendar{},
	}
	for _, r := range cfg.CountRules {
		e.counters = append(e.counters, &counter{rule: r, groups: map[string]*group{}})
	}
	return e
}

// Now is the engine's time.
func (e *Engine) Now() time.Time { return e.now }

// AdvanceClock advances the engine by the clock: to now, but never more than the rules'
// clock_lead beyond the latest input event time, and not at all before the first event. The
// lead lets deadlines and quiet periods expire while the stream is idle (a night, a weekend)
// without letting a clock far ahead of the data (a backfill, a replayed history) fire timers
// before the events that would have stopped them arrive.
func (e *Engine) AdvanceClock(now time.Time) {
	if e.watermark.IsZero() {
		return
	}
	if limit := e.watermark.Add(e.cfg.ClockLead); now.After(limit) {
		now = limit
	}
	e.Advance(now)
}

// Outbox returns the lifecycle events collected since the last Commit, in order. The slice is
// the engine's until Commit.
func (e *Engine) Outbox() []events.Event { return e.out }

// Commit drops the first n events of the outbox, once they are durable in the log.
func (e *Engine) Commit(n int) { e.out = append(e.out[:0], e.out[n:]...) }

// Apply folds one event of the log. It first advances the engine to the event's time, so timers
// due before the event fire before it counts. Events that do not decode are ignored (the views'
// projector sends them to the poison queue).
//
// The engine's own lifecycle events, read back from the log, are authoritative for the
// incidents they describe (adopt): after a restart the replay rebuilds the windows from the
// inputs, while which incidents are open, their state and their sequence numbers come from what
// was written. Clock ticks happened at points of the stream a replay cannot see; adopting keeps
// the ids of later lifecycle events from colliding with ids already written.
func (e *Engine) Apply(ev events.Event) {
	data, err := events.DecodeData(ev)
	if err != nil || data == nil {
		return
	}
	if ev.Source == events.HubSource {
		e.adopt(ev, data)
		return
	}
	if ev.Time.After(e.watermark) {
		e.watermark = ev.Time
	}
	e.Advance(ev.Time)
	t := ev.Time
	switch d := data.(type) {
	case *events.MerchantRegistered:
		m := e.merchant(ev.Subject)
		m.name, m.industry, m.township = d.Name, d.Industry, townshipCode(d.Township)
	case *events.ComplaintReceived:
		e.complaintReceived(ev, d)
	case *events.ComplaintAssigned:
		e.complaintAssigned(d)
	case *events.ComplaintClosed:
		e.complaintClosed(d, t)
	case *events.CertificationGranted:
		if ev.Subject != "" {
			c := certification{scheme: d.Scheme, bureau: ev.Bureau()}
			if d.ValidUntil != nil {
				c.validUntil = *d.ValidUntil
			}
			e.merchant(ev.Subject).certs[d.CertID] = c
		}
	case *events.CertificationRevoked:
		e.certificationRevoked(ev.Subject, d, t)
	case *events.CreditListed:
		if d.List == "serious_violation" {
			e.certificationReview(ev, "被列入严重违法失信名单", t)
		}
	case *events.PenaltyImposed:
		switch d.Kind {
		case "suspension":
			e.certificationReview(ev, "被责令停产停业", t)
		case "revocation":
			e.certificationReview(ev, "被吊销许可证件或营业执照", t)
		}
	case *events.SilenceCreated:
		e.silences[d.SilenceID] = &silence{data: *d}
		e.silenceEdge = time.Time{}
		e.rematchSilences(t)
	case *events.SilenceDeleted:
		if s, ok := e.silences[d.SilenceID]; ok && s.deleted.IsZero() {
			s.deleted = d.DeletedAt
			e.silenceEdge = time.Time{}
			e.rematchSilences(t)
		}
	}
}

// Advance moves the engine's time to t (never backwards) and fires what is due by then:
// pending incidents whose condition held for the pending period, updates held back by
// group_interval, quiet periods, deadlines, silences starting or ending. Each fires at its own
// due time, in time order within its kind.
func (e *Engine) Advance(t time.Time) {
	if !t.After(e.now) {
		return
	}
	e.now = t
	for _, c := range e.counters {
		c.advance(e, t)
	}
	for e.deadlines.Len() > 0 && !e.deadlines[0].due.After(t) {
		d := heap.Pop(&e.deadlines).(deadline)
		e.deadlinePassed(d)
	}
	e.flushDirty(t)
	e.resolveQuiet(t)
	if !e.silenceEdge.IsZero() && !t.Before(e.silenceEdge) || e.silenceEdge.IsZero() && len(e.silences) > 0 {
		e.rematchSilences(t)
	}
}

func (e *Engine) merchant(uscc string) *merchant {
	m, ok := e.merchants[uscc]
	if !ok {
		m = &merchant{certs: map[string]certification{}}
		e.merchants[uscc] = m
	}
	return m
}

func townshipCode(s string) string {
	if tw, ok := events.LookupTownship(s); ok {
		return tw.Code
	}
	return s
}

func townshipName(code string) string {
	if tw, ok := events.LookupTownship(code); ok {
		return tw.Name
	}
	return code
}

func industryName(code string) string {
	if in, ok := events.LookupIndustry(code); ok {
		return in.Name
	}
	return code
}

func bureauName(code string) string {
	if b, ok := events.LookupBureau(code); ok {
		return b.NameZH
	}
	return code
}

// fingerprint identifies what an incident is about: the rule and its grouping key.
func fingerprint(rule, key string) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + key))
	return hex.EncodeToString(sum[:8])
}

// isoDuration writes d as an ISO 8601 duration (PT2H, PT720H, PT1H30M).
func isoDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	out := "PT"
	if h > 0 {
		out += strconv.Itoa(h) + "H"
	}
	if m > 0 {
		out += strconv.Itoa(m) + "M"
	}
	if s > 0 || out == "PT" {
		out += strconv.Itoa(s) + "S"
	}
	return out
}

// durationZH writes d for an official: 2小时, 30天, 10分钟.
func durationZH(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "天"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "小时"
	default:
		return strconv.Itoa(int(d/time.Minute)) + "分钟"
	}
}

var schemeZH = map[string]string{
	"demo_unit": "放心舒心消费示范单位", "star_farmhouse": "星级农家乐", "organic": "有机产品认证",
	"contract_credit": "守合同重信用企业", "geo_mark": "地理标志商标",
}

func schemeName(s string) string {
	if n, ok := schemeZH[s]; ok {
		return n
	}
	return s
}

func (e *Engine) merchantName(uscc string) string {
	if m, ok := e.merchants[uscc]; ok && m.name != "" {
		return m.name
	}
	return "经营者" + uscc
}

// sortedKeys returns a map's keys in order, so iteration never depends on map order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("rules: marshal %T: %v", v, err)) // plain structs: cannot happen
	}
	return b
}
