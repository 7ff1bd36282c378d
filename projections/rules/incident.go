package rules

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lizhou/fangxin/events"
)

// incident is an open incident: its current state (data, as written in its last lifecycle
// event or about to be) and what the engine needs to move it along.
type incident struct {
	fp, id   string
	seq      int           // lifecycle events written so far
	wider    bool          // a township or district-wide incident: inhibits the merchant incidents it contains
	inhibits bool          // a merchant incident: may be inhibited by a wider one
	quiet    time.Duration // resolves quiet after the condition last held (heldAt, else LastAt); 0: only by condition
	heldAt   time.Time     // count rules: the last complaint at which the rule's condition held
	data     events.IncidentDetected
	lastEmit time.Time
}

// raise opens inc (data filled in by the rule, fp set) at t and writes incident.detected.
func (e *Engine) raise(inc *incident, t time.Time) {
	e.episodes[inc.fp]++
	inc.id = "INC-" + inc.fp + "-" + strconv.Itoa(e.episodes[inc.fp])
	inc.data.IncidentID = inc.id
	inc.data.Fingerprint = inc.fp
	e.setOpen(inc)
	e.matchInhibition(inc)
	e.matchSilence(inc, t)
	e.emit(inc, events.TypeIncidentDetected, t)
	if inc.wider {
		e.rematchInhibited(t)
	}
}

// changed records a change to an open incident: written at once when urgent (level, routing),
// otherwise at most once per group_interval.
func (e *Engine) changed(inc *incident, t time.Time, urgent bool) {
	if urgent || t.Sub(inc.lastEmit) >= e.cfg.GroupInterval {
		delete(e.dirty, inc.fp)
		e.emit(inc, events.TypeIncidentUpdated, t)
		return
	}
	e.dirty[inc.fp] = inc
}

// flushDirty writes the held-back updates whose group_interval has passed by t.
func (e *Engine) flushDirty(t time.Time) {
	for _, fp := range sortedKeys(e.dirty) {
		inc := e.dirty[fp]
		if due := inc.lastEmit.Add(e.cfg.GroupInterval); !due.After(t) {
			delete(e.dirty, fp)
			e.emit(inc, events.TypeIncidentUpdated, due)
		}
	}
}

// resolveQuiet resolves the incidents whose quiet period has passed by t, in due order.
func (e *Engine) resolveQuiet(t time.Time) {
	type due struct {
		at  time.Time
		inc *incident
	}
	var ds []due
	for _, inc := range e.quietOpen { // order fixed by the sort below
		held := inc.data.LastAt
		if !inc.heldAt.IsZero() {
			held = inc.heldAt
		}
		if at := held.Add(inc.quiet); !at.After(t) {
			ds = append(ds, due{at, inc})
		}
	}
	slices.SortFunc(ds, func(a, b due) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.inc.fp, b.inc.fp)
	})
	for _, d := range ds {
		at := d.at
		if at.Before(d.inc.lastEmit) {
			at = d.inc.lastEmit
		}
		e.resolve(d.inc, at, events.ResolvedQuietPeriod)
	}
}

// resolve closes an open incident at t and writes incident.resolved.
func (e *Engine) resolve(inc *incident, t time.Time, reason string) {
	if e.open[inc.fp] != inc {
		return
	}
	e.setClosed(inc)
	e.logged[inc.id] = -1
	inc.seq++
	e.write(inc, events.TypeIncidentResolved, t, events.IncidentResolved{
		IncidentID: inc.id, Rule: inc.data.Rule, Fingerprint: inc.fp, ResolvedAt: t, Reason: reason, Sequence: inc.seq,
	})
	if inc.wider {
		e.rematchInhibited(t)
	}
}

func (e *Engine) emit(inc *incident, typ string, t time.Time) {
	inc.seq++
	e.logged[inc.id] = inc.seq
	inc.data.Sequence = inc.seq
	inc.lastEmit = t
	e.write(inc, typ, t, inc.data)
}

func (e *Engine) write(inc *incident, typ string, t time.Time, data any) {
	e.out = append(e.out, events.Event{
		SpecVersion: events.SpecVersion, ID: inc.id + "." + strconv.Itoa(inc.seq), Source: events.HubSource,
		Type: typ, Subject: inc.data.Merchant, Time: t, DataContentType: "application/json",
		Data: mustJSON(data),
	})
}

// matchInhibition sets inc.data.InhibitedBy to the first open wider incident containing it
// (same industry and township, or same category), by incident id; reports a change.
func (e *Engine) matchInhibition(inc *incident) bool {
	if !inc.inhibits {
		return false
	}
	by := ""
	for _, fp := range sortedKeys(e.open) {
		w := e.open[fp]
		if !w.wider {
			continue
		}
		contains := w.data.Category != "" && w.data.Category == inc.data.Category && w.data.Industry == "" ||
			w.data.Industry != "" && w.data.Industry == inc.data.Industry && w.data.Township == inc.data.Township
		if contains && (by == "" || w.id < by) {
			by = w.id
		}
	}
	if by == inc.data.InhibitedBy {
		return false
	}
	inc.data.InhibitedBy = by
	return true
}

// rematchInhibited re-evaluates inhibition of every open merchant incident after a wider one
// opened or resolved, writing an update for each that changed.
func (e *Engine) rematchInhibited(t time.Time) {
	for _, fp := range sortedKeys(e.open) {
		if inc := e.open[fp]; e.matchInhibition(inc) {
			e.changed(inc, t, true)
		}
	}
}

// matchSilence sets inc.data.SilencedBy to the first silence (by id) active at t whose matchers
// all equal the incident's fields; reports a change.
func (e *Engine) matchSilence(inc *incident, t time.Time) bool {
	by := ""
	for _, id := range sortedKeys(e.silences) {
		s := e.silences[id]
		if s.active(t) && silenceMatches(s.data.Matchers, inc.data) {
			by = id
			break
		}
	}
	if by == inc.data.SilencedBy {
		return false
	}
	inc.data.SilencedBy = by
	return true
}

func silenceMatches(m events.SilenceMatchers, d events.IncidentDetected) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(m.Rule, d.Rule) && eq(m.Merchant, d.Merchant) && eq(m.Industry, d.Industry) &&
		(m.Township == "" || townshipCode(m.Township) == d.Township) && eq(m.Category, d.Category)
}

// rematchSilences re-matches every open incident against the silences at t (a silence was
// created or deleted, or one started or ended) and finds the next such edge.
func (e *Engine) rematchSilences(t time.Time) {
	for _, fp := range sortedKeys(e.open) {
		if inc := e.open[fp]; e.matchSilence(inc, t) {
			e.changed(inc, t, true)
		}
	}
	var next time.Time
	for _, s := range e.silences {
		for _, edge := range []time.Time{s.data.StartsAt, s.data.EndsAt, s.deleted} {
			if edge.After(t) && (next.IsZero() || edge.Before(next)) {
				next = edge
			}
		}
	}
	e.silenceEdge = next
	if next.IsZero() {
		// No edge ahead: forget silences that can no longer match.
		for id, s := range e.silences {
			if !s.active(t) && !s.data.StartsAt.After(t) {
				delete(e.silences, id)
			}
		}
	}
}

// adopt folds a lifecycle event read back from the log (see Apply).
func (e *Engine) adopt(ev events.Event, data any) {
	switch d := data.(type) {
	case *events.IncidentDetected:
		if seq, ok := e.logged[d.IncidentID]; ok && (seq < 0 || d.Sequence <= seq) {
			return // written by this engine (read back live), or older than what it knows
		}
		e.logged[d.IncidentID] = d.Sequence
		inc := e.open[d.Fingerprint]
		if inc != nil && inc.id != d.IncidentID && episodeOf(inc.id) > episodeOf(d.IncidentID) {
			return // a later episode is open already
		}
		if inc == nil || inc.id != d.IncidentID {
			if inc != nil { // the log has moved on to another episode
				e.setClosed(inc)
			}
			inc = e.template(d.Rule)
			inc.fp, inc.id = d.Fingerprint, d.IncidentID
			e.setOpen(inc)
			if n := episodeOf(d.IncidentID); n > e.episodes[inc.fp] {
				e.episodes[inc.fp] = n
			}
		}
		inc.data = *d
		if d.Sequence > inc.seq {
			inc.seq = d.Sequence
		}
		if ev.Time.After(inc.lastEmit) {
			inc.lastEmit = ev.Time
		}
	case *events.IncidentResolved:
		e.logged[d.IncidentID] = -1
		if n := episodeOf(d.IncidentID); n > e.episodes[d.Fingerprint] {
			e.episodes[d.Fingerprint] = n
		}
		if inc := e.open[d.Fingerprint]; inc != nil && inc.id == d.IncidentID {
			e.setClosed(inc)
		}
	}
}

// template is an empty open incident of a rule, with the rule's lifecycle settings.
func (e *Engine) template(rule string) *incident {
	for _, r := range e.cfg.CountRules {
		if r.Name == rule {
			return &incident{quiet: r.Quiet, wider: r.GroupBy != ByMerchant, inhibits: r.GroupBy == ByMerchant}
		}
	}
	if rule == RuleCertificationReview {
		return &incident{quiet: e.cfg.CertificationReview.Quiet}
	}
	return &incident{}
}

// episodeOf reads the episode number at the end of an incident id (INC-{fp}-{n}).
func episodeOf(id string) int {
	i := strings.LastIndexByte(id, '-')
	n, _ := strconv.Atoi(id[i+1:])
	return n
}

// setOpen and setClosed keep e.open and its indexes together.
func (e *Engine) setOpen(inc *incident) {
	e.open[inc.fp] = inc
	if inc.quiet > 0 {
		e.quietOpen[inc.fp] = inc
	}
}

func (e *Engine) setClosed(inc *incident) {
	delete(e.open, inc.fp)
	delete(e.quietOpen, inc.fp)
	delete(e.dirty, inc.fp)
}
