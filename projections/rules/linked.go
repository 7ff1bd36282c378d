package rules

import (
	"container/heap"
	"fmt"
	"slices"
	"time"

	"github.com/lizhou/fangxin/events"
)

// complaintReceived records a complaint and counts it in every count rule, once per complaint
// id: a complaint sent again (redelivery, or the same case reported twice under one id) is
// counted once.
func (e *Engine) complaintReceived(ev events.Event, d *events.ComplaintReceived) {
	if _, seen := e.complaints[d.ComplaintID]; seen {
		return
	}
	c := &complaint{id: d.ComplaintID, merchant: ev.Subject, category: d.Category,
		industry: d.Industry, township: townshipCode(d.Township), at: ev.Time}
	if m, ok := e.merchants[ev.Subject]; ok && ev.Subject != "" {
		c.industry, c.township = firstNonEmpty(c.industry, m.industry), firstNonEmpty(c.township, m.township)
	}
	if ev.Subject != "" && d.MerchantName != "" && e.merchant(ev.Subject).name == "" {
		e.merchant(ev.Subject).name = d.MerchantName
	}
	e.complaints[d.ComplaintID] = c
	for _, ctr := range e.counters {
		ctr.add(e, c)
	}
}

// deadline is a complaint's time limit in the deadline heap.
type deadline struct {
	due       time.Time
	complaint string
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int { return len(h) }
func (h deadlineHeap) Less(i, j int) bool {
	if c := h[i].due.Compare(h[j].due); c != 0 {
		return c < 0
	}
	return h[i].complaint < h[j].complaint
}
func (h deadlineHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)   { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// complaintAssigned starts (or replaces) the complaint's time limit (限时办结).
func (e *Engine) complaintAssigned(d *events.ComplaintAssigned) {
	if !e.cfg.Overdue.Enabled {
		return
	}
	c, ok := e.complaints[d.ComplaintID]
	if !ok { // assigned before received (another partition): keep what we know
		c = &complaint{id: d.ComplaintID}
		e.complaints[d.ComplaintID] = c
	}
	if c.closed {
		return
	}
	c.assignedTo = d.ToBureau
	c.due = effectiveDeadline(d.Deadline, e.calendar.working)
	heap.Push(&e.deadlines, deadline{due: c.due, complaint: c.id})
}

func (e *Engine) complaintClosed(d *events.ComplaintClosed, t time.Time) {
	c, ok := e.complaints[d.ComplaintID]
	if !ok {
		c = &complaint{id: d.ComplaintID}
		e.complaints[d.ComplaintID] = c
	}
	c.closed = true
	if inc, ok := e.open[fingerprint(RuleComplaintOverdue, c.id)]; ok {
		e.resolve(inc, t, events.ResolvedComplaintClosed)
	}
}

// deadlinePassed raises the overdue alert of a complaint still open at its effective deadline.
func (e *Engine) deadlinePassed(d deadline) {
	c, ok := e.complaints[d.complaint]
	if !ok || c.closed || !c.due.Equal(d.due) {
		return // closed, or reassigned with another deadline
	}
	fp := fingerprint(RuleComplaintOverdue, c.id)
	if _, open := e.open[fp]; open {
		return
	}
	r := e.cfg.Overdue
	inc := &incident{fp: fp}
	x := &inc.data
	x.Rule, x.Scope, x.Count, x.FirstAt, x.LastAt = RuleComplaintOverdue, "complaint:"+c.id, 1, c.at, d.due
	if c.at.IsZero() || c.at.After(d.due) {
		x.FirstAt = d.due
	}
	x.Window = isoDuration(d.due.Sub(x.FirstAt))
	x.Level, x.ComplaintID, x.Merchant = r.Level, c.id, c.merchant
	due := d.due
	x.Deadline = &due
	x.Industry, x.Township, x.Category = c.industry, c.township, c.category
	if c.merchant != "" {
		x.Group = "merchant:" + c.merchant
	}
	x.Title = fmt.Sprintf("投诉%s超期未办结：承办单位%s，办结期限%s", c.id, bureauName(c.assignedTo),
		due.In(Shanghai).Format("2006年1月2日15:04"))
	x.ResponsibleBureau = []string{c.assignedTo}
	if r.Office != c.assignedTo {
		x.ResponsibleBureau = append(x.ResponsibleBureau, r.Office)
	}
	e.raise(inc, d.due)
}

// certifier returns the bureau that granted the merchant an active certification of scheme at
// t (the first by cert id), or "".
func (e *Engine) certifier(uscc, scheme string, t time.Time) string {
	m, ok := e.merchants[uscc]
	if !ok || uscc == "" {
		return ""
	}
	for _, id := range sortedKeys(m.certs) {
		c := m.certs[id]
		if c.scheme == scheme && (c.validUntil.IsZero() || t.Before(c.validUntil)) {
			return c.bureau
		}
	}
	return ""
}

// certificationReview asks the certifying bureau of every active certification of the merchant
// to review it (一处失信、处处受限): one incident per certification, updated by each further
// listing or penalty.
func (e *Engine) certificationReview(ev events.Event, what string, t time.Time) {
	r := e.cfg.CertificationReview
	m, ok := e.merchants[ev.Subject]
	if !r.Enabled || !ok || ev.Subject == "" {
		return
	}
	for _, id := range sortedKeys(m.certs) {
		c := m.certs[id]
		if !c.validUntil.IsZero() && !t.Before(c.validUntil) {
			continue
		}
		fp := fingerprint(RuleCertificationReview, ev.Subject+"/"+id)
		if inc, open := e.open[fp]; open {
			inc.data.Count++
			if t.After(inc.data.LastAt) {
				inc.data.LastAt = t
			}
			e.changed(inc, t, false)
			continue
		}
		inc := &incident{fp: fp, quiet: r.Quiet}
		x := &inc.data
		x.Rule, x.Scope, x.Count, x.Window = RuleCertificationReview, "certification:"+id, 1, isoDuration(r.Quiet)
		x.FirstAt, x.LastAt, x.Level = t, t, r.Level
		x.Merchant, x.Industry, x.Township, x.Group = ev.Subject, m.industry, m.township, "merchant:"+ev.Subject
		x.CertID, x.Scheme = id, c.scheme
		x.Title = fmt.Sprintf("%s%s（%s），请%s复核其%s", e.merchantName(ev.Subject), what, bureauName(ev.Bureau()),
			bureauName(c.bureau), schemeName(c.scheme))
		x.ResponsibleBureau = []string{c.bureau}
		for _, b := range e.routing.Route(r.Task, "", "", ev.Bureau()) {
			if !slices.Contains(x.ResponsibleBureau, b) {
				x.ResponsibleBureau = append(x.ResponsibleBureau, b)
			}
		}
		e.raise(inc, t)
	}
}

// certificationRevoked ends the certification: its review is done (condition cleared), and so is
// a demonstration-unit review when the merchant no longer holds that scheme.
func (e *Engine) certificationRevoked(uscc string, d *events.CertificationRevoked, t time.Time) {
	m, ok := e.merchants[uscc]
	if !ok || uscc == "" {
		return
	}
	delete(m.certs, d.CertID)
	if inc, ok := e.open[fingerprint(RuleCertificationReview, uscc+"/"+d.CertID)]; ok {
		e.resolve(inc, t, events.ResolvedConditionCleared)
	}
	for _, c := range e.counters {
		if c.rule.RequireScheme == d.Scheme && e.certifier(uscc, d.Scheme, t) == "" {
			if inc, ok := e.open[fingerprint(c.rule.Name, uscc)]; ok {
				e.resolve(inc, t, events.ResolvedConditionCleared)
			}
		}
	}
}
