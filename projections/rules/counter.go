package rules

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// counter runs one count rule: distinct complaints per group in a sliding event-time window.
type counter struct {
	rule   CountRule
	groups map[string]*group
	// pending groups: the condition holds, waiting for the pending period.
	pending map[string]*group
}

type group struct {
	key                                    string
	merchant, industry, township, category string
	hits                                   []hit // by time, pruned to window + baseline
	pendingSince                           time.Time
}

type hit struct {
	at                                     time.Time
	merchant, category, industry, township string
}

// keyOf returns the group key of a complaint under the rule, or "" when the complaint has no
// such group (no merchant code, no industry or township).
func (r CountRule) keyOf(c *complaint) string {
	switch r.GroupBy {
	case ByMerchant:
		return c.merchant
	case ByIndustryTownship:
		if c.industry == "" || c.township == "" {
			return ""
		}
		return c.industry + "@" + c.township
	case ByCategory:
		if len(r.Categories) > 0 && !slices.Contains(r.Categories, c.category) {
			return ""
		}
		return c.category
	}
	return ""
}

func (c *counter) add(e *Engine, cp *complaint) {
	r := c.rule
	key := r.keyOf(cp)
	if key == "" {
		return
	}
	if r.RequireScheme != "" && e.certifier(cp.merchant, r.RequireScheme, cp.at) == "" {
		return
	}
	g, ok := c.groups[key]
	if !ok {
		g = &group{key: key}
		switch r.GroupBy {
		case ByMerchant:
			g.merchant = cp.merchant
		case ByIndustryTownship:
			g.industry, g.township = cp.industry, cp.township
		case ByCategory:
			g.category = cp.category
		}
		c.groups[key] = g
	}
	h := hit{at: cp.at, merchant: cp.merchant, category: cp.category, industry: cp.industry, township: cp.township}
	i := sort.Search(len(g.hits), func(i int) bool { return g.hits[i].at.After(h.at) })
	g.hits = slices.Insert(g.hits, i, h)
	c.prune(g, e.now)

	fp := fingerprint(r.Name, key)
	if inc, ok := e.open[fp]; ok {
		if cp.at.Before(inc.data.FirstAt) {
			return // older than the incident: counted in windows, not in it
		}
		inc.data.Count++
		if cp.at.After(inc.data.LastAt) {
			inc.data.LastAt = cp.at
		}
		if n, merchants, _ := c.window(g, e.now); c.holds(g, e.now, n, merchants) && cp.at.After(inc.heldAt) {
			inc.heldAt = cp.at
		}
		lvl := r.levelOf(inc.data.Count)
		urgent := lvl != inc.data.Level
		inc.data.Level = lvl
		merchants := 1
		if r.GroupBy != ByMerchant {
			merchants = distinctMerchants(g.hits)
		}
		inc.data.Title = c.title(e, g, inc.data.Count, merchants)
		e.changed(inc, e.now, urgent)
		return
	}
	c.evaluate(e, g, e.now)
}

// evaluate checks the condition of g at t: starts the pending period, or fires once it has run.
func (c *counter) evaluate(e *Engine, g *group, t time.Time) {
	n, merchants, first := c.window(g, t)
	_, open := e.open[fingerprint(c.rule.Name, g.key)] // e.g. adopted from the log during a replay
	if open || !c.holds(g, t, n, merchants) {
		g.pendingSince = time.Time{}
		delete(c.pending, g.key)
		return
	}
	if g.pendingSince.IsZero() {
		g.pendingSince = t
	}
	if due := g.pendingSince.Add(c.rule.Pending); due.After(t) {
		if c.pending == nil {
			c.pending = map[string]*group{}
		}
		c.pending[g.key] = g
		return
	}
	g.pendingSince = time.Time{}
	delete(c.pending, g.key)
	c.fire(e, g, t, n, merchants, first)
}

// advance fires the pending groups whose pending period ended by t, each at its due time if
// the condition still holds then.
func (c *counter) advance(e *Engine, t time.Time) {
	for _, key := range sortedKeys(c.pending) {
		g := c.pending[key]
		if due := g.pendingSince.Add(c.rule.Pending); !due.After(t) {
			c.evaluate(e, g, due)
		}
	}
}

// window counts the hits in (t-window, t], their distinct merchants and the first hit's time.
func (c *counter) window(g *group, t time.Time) (n, merchants int, first time.Time) {
	lo := sort.Search(len(g.hits), func(i int) bool { return g.hits[i].at.After(t.Add(-c.rule.Window)) })
	hi := sort.Search(len(g.hits), func(i int) bool { return g.hits[i].at.After(t) })
	if hi <= lo {
		return 0, 0, time.Time{}
	}
	return hi - lo, distinctMerchants(g.hits[lo:hi]), g.hits[lo].at
}

// holds is the rule's condition for a window of n complaints from merchants merchants at t.
func (c *counter) holds(g *group, t time.Time, n, merchants int) bool {
	r := c.rule
	if n < r.MinCount || merchants < r.MinMerchants {
		return false
	}
	if r.BaselineDays > 0 {
		start := t.Add(-r.Window)
		from := start.Add(-time.Duration(r.BaselineDays) * 24 * time.Hour)
		lo := sort.Search(len(g.hits), func(i int) bool { return g.hits[i].at.After(from) })
		hi := sort.Search(len(g.hits), func(i int) bool { return g.hits[i].at.After(start) })
		windows := float64(time.Duration(r.BaselineDays)*24*time.Hour) / float64(r.Window)
		mean := float64(hi-lo) / windows
		if float64(n) < r.Factor*mean {
			return false
		}
	}
	return true
}

func (c *counter) prune(g *group, now time.Time) {
	keep := c.rule.Window + time.Duration(c.rule.BaselineDays)*24*time.Hour
	cut := sort.Search(len(g.hits), func(i int) bool { return !g.hits[i].at.Before(now.Add(-keep)) })
	if cut > 0 {
		g.hits = append(g.hits[:0], g.hits[cut:]...)
	}
}

func distinctMerchants(hs []hit) int {
	seen := map[string]bool{}
	for _, h := range hs {
		if h.merchant != "" {
			seen[h.merchant] = true
		}
	}
	return len(seen)
}

// levelOf maps a count to its level; below every threshold it is IV (the rule fired).
func (r CountRule) levelOf(n int) string {
	if l := r.level(n); l != "" {
		return l
	}
	return "IV"
}

func (c *counter) fire(e *Engine, g *group, t time.Time, n, merchants int, first time.Time) {
	r := c.rule
	inc := &incident{
		fp: fingerprint(r.Name, g.key), quiet: r.Quiet, heldAt: t,
		wider: r.GroupBy != ByMerchant, inhibits: r.GroupBy == ByMerchant,
	}
	d := &inc.data
	d.Rule, d.Count, d.Window, d.FirstAt, d.LastAt = r.Name, n, isoDuration(r.Window), first, t
	d.Level = r.levelOf(n)
	last := g.hits[len(g.hits)-1].at
	if last.Before(t) {
		d.LastAt = last
	}
	switch r.GroupBy {
	case ByMerchant:
		d.Scope, d.Merchant, d.Group = "merchant:"+g.merchant, g.merchant, "merchant:"+g.merchant
		if m, ok := e.merchants[g.merchant]; ok {
			d.Industry, d.Township = m.industry, m.township
		}
		d.Category = modeCategory(g.hits)
		if d.Industry == "" || d.Township == "" { // from the complaints when the register lacks it
			for _, h := range g.hits {
				d.Industry, d.Township = firstNonEmpty(d.Industry, h.industry), firstNonEmpty(d.Township, h.township)
			}
		}
	case ByIndustryTownship:
		d.Scope = "industry:" + g.industry + "@" + g.township
		d.Industry, d.Township, d.Group = g.industry, g.township, d.Scope
		d.Category = modeCategory(g.hits)
	case ByCategory:
		d.Scope, d.Category = "category:"+g.category, g.category
	}
	d.Title = c.title(e, g, n, merchants)
	extra := []string(nil)
	if r.GroupBy == ByCategory {
		extra = []string{"cca"} // district-wide: the consumer council joins (区消委会 组织、协调成员单位维权工作)
	}
	d.ResponsibleBureau = e.routing.Route(r.Task, d.Industry, d.Category, extra...)
	if r.RouteToCertifier {
		if b := e.certifier(g.merchant, r.RequireScheme, t); b != "" {
			d.ResponsibleBureau = append([]string{b}, slices.DeleteFunc(d.ResponsibleBureau, func(s string) bool { return s == b })...)
		}
	}
	e.raise(inc, t)
}

func (c *counter) title(e *Engine, g *group, n, merchants int) string {
	w := durationZH(c.rule.Window)
	switch c.rule.GroupBy {
	case ByMerchant:
		if c.rule.RequireScheme != "" {
			return fmt.Sprintf("%s（%s）%s内被投诉%d件，请复核其称号", e.merchantName(g.merchant), schemeName(c.rule.RequireScheme), w, n)
		}
		return fmt.Sprintf("%s集中投诉：%s内%d件", e.merchantName(g.merchant), w, n)
	case ByIndustryTownship:
		return fmt.Sprintf("%s%s投诉激增：%s内%d件，涉及%d家经营者", townshipName(g.township), industryName(g.industry), w, n, merchants)
	default:
		return fmt.Sprintf("全区%s投诉激增：%s内%d件，涉及%d家经营者", g.category, w, n, merchants)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// modeCategory is the most frequent category among hs (ties: the first in order).
func modeCategory(hs []hit) string {
	counts := map[string]int{}
	best := ""
	for _, h := range hs {
		counts[h.category]++
		if h.category != "" && (best == "" || counts[h.category] > counts[best]) {
			best = h.category
		}
	}
	return best
}
