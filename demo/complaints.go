package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/lizhou/fangxin/events"
)

// complaintRec is a complaint and how it is handled: received by one unit, possibly transferred
// (转办) to the competent one with a time limit (限时办结), closed with an outcome or left open.
type complaintRec struct {
	m        *merchant // nil for a 12345 work order naming an unregistered stall
	unlinked bool      // the receiving unit did not know the merchant's code
	name     string    // merchant name as the caller gave it (unlinked)
	address  string    // address as the caller gave it (unlinked)
	township string
	industry industry

	recv      string // receiving bureau
	channel   string
	spec      catSpec
	t         time.Time
	summary   string
	amount    float64
	consumers int
	consumer  map[string]any
	id        string

	assignTo string
	assignAt time.Time
	deadline time.Time

	closer       string
	closeAt      time.Time
	outcome      string
	compensation float64
	satisfaction int
	penalty      string // penalty basis when referred to a case (诉转案)
}

// complaintPrefixes number complaints per receiving unit: GD12345-2026-004521.
var complaintPrefixes = map[string]string{
	"hotline-12315": "TS12315", "hotline-12345": "GD12345", "hotline-12331": "JB12331",
	"cca": "LZXWH", "amr": "LZSJ-TS", "tourism": "LZLY-TS",
}

// limits are the time limits (限时办结), in days, of the cases each unit transfers.
var limits = map[string]int{"hotline-12345": 10, "hotline-12315": 20, "hotline-12331": 15}

func limitOf(recv string) int {
	if n, ok := limits[recv]; ok {
		return n
	}
	return 15
}

func isHotline(b string) bool { return strings.HasPrefix(b, "hotline-") }

// pickReceiver draws the unit that receives a complaint of spec about a merchant of group gr.
func pickReceiver(r *rng, spec catSpec, gr group) string {
	var cs []choice[string]
	if spec.dispute {
		cs = append(cs, choice[string]{42, "hotline-12315"}, choice[string]{30, "hotline-12345"},
			choice[string]{8, "cca"}, choice[string]{8, "amr"})
	} else {
		cs = append(cs, choice[string]{5, "hotline-12315"}, choice[string]{85, "hotline-12345"}, choice[string]{5, "amr"})
	}
	if spec.cat == "食品安全" || gr == gPharmacy {
		cs = append(cs, choice[string]{12, "hotline-12331"})
	}
	if gr == gLodging || gr == gFarmhouse || gr == gTravel {
		cs = append(cs, choice[string]{12, "tourism"})
	}
	return choose(r, cs)
}

// channelOf draws the channel through which recv got the complaint.
func channelOf(r *rng, recv string) string {
	switch recv {
	case "hotline-12315":
		return choose(r, []choice[string]{{55, "12315"}, {45, "online"}}) // the national 12315 platform takes most online
	case "hotline-12345":
		return choose(r, []choice[string]{{85, "12345"}, {15, "online"}})
	case "hotline-12331":
		return "12331"
	case "cca":
		return choose(r, []choice[string]{{50, "visit"}, {15, "letter"}, {35, "online"}})
	case "tourism":
		return choose(r, []choice[string]{{40, "visit"}, {60, "online"}})
	}
	return choose(r, []choice[string]{{60, "visit"}, {10, "letter"}, {30, "online"}})
}

// officeChannel reports whether a complaint through ch only arrives in office hours.
func officeChannel(ch string) bool { return ch == "visit" }

// newComplaint fills in the received side of a complaint about m at t.
func (g *gen) newComplaint(r *rng, m *merchant, spec catSpec, recv, channel string, t time.Time) *complaintRec {
	c := &complaintRec{m: m, industry: m.ind, township: m.Township, recv: recv, channel: channel, spec: spec, t: t}
	if spec.money {
		a := groupAmounts[m.ind.group]
		c.amount = roundMoney(r.lognormal(a.median, .75, a.lo, a.hi))
	}
	c.summary, c.amount = fillText(r, pick(r, spec.texts), m.ind, c.amount)
	if r.chance(.06) {
		c.consumers = r.between(2, 15)
	}
	if r.chance(.6) {
		c.consumer = map[string]any{"name": pick(r, surnames) + pick(r, []string{"先生", "女士"})}
	}
	return c
}

// unlink turns a 12345 work order into one that names the shop and street but not the code:
// either a registered merchant under the name people use for it, or a street stall that is in
// no register.
func (g *gen) unlink(r *rng, c *complaintRec) {
	c.unlinked = true
	m := c.m
	if r.chance(.35) {
		p := townshipProfiles[m.Township]
		road := "正街"
		if len(p.roads) > 0 {
			road = pick(r, p.roads)
		}
		stall := pick(r, []string{"路边烧烤摊", "流动水果摊", "夜市小吃摊", "无名卤菜摊", "早餐摊点"})
		c.name = m.TownshipName + road + stall
		c.address = "广元市利州区" + m.TownshipName + road + "附近"
		c.m = nil
		return
	}
	c.name = commonName(m)
	c.address = strings.TrimPrefix(m.Address, "四川省")
}

// commonName is how a caller names a shop: without the district and the company form.
func commonName(m *merchant) string {
	n := m.Name
	for _, p := range []string{"广元市利州区", "利州区", "广元市", "广元", "四川"} {
		n = strings.TrimPrefix(n, p)
	}
	n = strings.TrimPrefix(n, m.TownshipName)
	n = strings.TrimSuffix(n, "有限公司")
	if n == "" {
		return m.Name
	}
	return n
}

// assignee is the unit recv transfers a case to when to is competent: the 12315 line hands its
// cases to market regulation (or quality supervision), the 12331 line to market regulation or
// health; 12345 and the others transfer to whichever unit is competent.
func assignee(recv, to string) string {
	switch {
	case recv == "hotline-12315" && to != "quality",
		recv == "hotline-12331" && to != "health",
		to == recv:
		return "amr"
	}
	return to
}

// plan decides how a complaint is handled: transferred or handled by the receiving unit, when
// it is closed and how, or left open.
func (g *gen) plan(r *rng, c *complaintRec) {
	if c.unlinked {
		return // unlinked work orders stay visible as such until the hub links them
	}
	limit := limitOf(c.recv)
	start := c.t
	switch {
	case isHotline(c.recv) && r.chance(.08):
		// closed by the hotline itself: the caller withdraws or the matter is not theirs to take
		c.closer = c.recv
		c.closeAt = laterWork(r, c.t, time.Duration(20+r.intn(600))*time.Minute)
		c.outcome = choose(r, []choice[string]{{6, "withdrawn"}, {4, "rejected"}})
		c.satisfaction = satisfactionFor(r, c.outcome)
		return
	case isHotline(c.recv), c.recv == "cca" && r.chance(.15), (c.recv == "amr" || c.recv == "tourism") && c.spec.to != c.recv:
		c.assignTo = assignee(c.recv, c.spec.to)
		delay := time.Duration(20+r.intn(240)) * time.Minute
		if c.recv == "hotline-12315" || !isHotline(c.recv) {
			delay += days(r.float() * 2)
		}
		c.assignAt = laterWork(r, c.t, delay)
		c.deadline = midnight(c.assignAt).AddDate(0, 0, limit).Add(18 * time.Hour)
		c.closer = c.assignTo
		start = c.assignAt
	default:
		c.closer = c.recv
	}
	if r.chance(.035) {
		return // never closed: open, and overdue once the limit passes
	}
	dur := days(r.lognormal(.4*float64(limit), .6, .1, 4*float64(limit)))
	c.closeAt = laterWork(r, start, dur)
	g.decideOutcome(r, c)
}

// decideOutcome draws a closed complaint's outcome, compensation and the consumer's rating.
func (g *gen) decideOutcome(r *rng, c *complaintRec) {
	keys := complaintPenalties(c.closer, c.spec.cat, c.industry.group)
	canRefer := len(keys) > 0 && c.closer != "cca" && c.m != nil
	var cs []choice[string]
	if c.spec.dispute {
		cs = []choice[string]{{52, "mediated"}, {20, "refunded"}, {9, "rejected"}, {10, "withdrawn"}}
		if canRefer {
			cs = append(cs, choice[string]{9, "referred_to_case"})
		}
	} else {
		cs = []choice[string]{{60, "mediated"}, {15, "rejected"}}
		if canRefer {
			cs = append(cs, choice[string]{25, "referred_to_case"})
		}
	}
	c.outcome = choose(r, cs)
	if c.spec.money && c.amount > 0 {
		switch {
		case c.outcome == "refunded":
			c.compensation = roundMoney(c.amount * (.6 + .4*r.float()))
		case c.outcome == "mediated" && c.spec.dispute && r.chance(.6):
			c.compensation = roundMoney(c.amount * (.2 + .6*r.float()))
		}
	}
	c.satisfaction = satisfactionFor(r, c.outcome)
	if c.outcome == "referred_to_case" {
		c.penalty = choose(r, keys)
	}
}

// satisfactionFor draws the consumer's rating (满意度, 1-5) of an outcome, or 0 when none was
// given.
func satisfactionFor(r *rng, outcome string) int {
	if r.chance(.15) || outcome == "withdrawn" && r.chance(.6) {
		return 0
	}
	ws := map[string][5]float64{
		"refunded":         {2, 3, 10, 30, 55},
		"mediated":         {5, 7, 18, 35, 35},
		"rejected":         {35, 30, 25, 7, 3},
		"referred_to_case": {4, 6, 25, 35, 30},
		"withdrawn":        {0, 5, 25, 40, 30},
	}[outcome]
	return newWeighted(ws[:]).pick(r) + 1
}

// emitComplaint drafts the complaint's events and, for a case, its penalty.
func (g *gen) emitComplaint(r *rng, c *complaintRec) {
	subject := ""
	if c.m != nil && !c.unlinked {
		subject = c.m.USCC
	}
	prefix := complaintPrefixes[c.recv]
	year := c.t.Year()
	if !g.emit(c.t, c.recv, "rcv", events.TypeComplaintReceived, subject,
		func(nb *numberer) { c.id = fmt.Sprintf("%s-%d-%06d", prefix, year, nb.next(prefix, year)) },
		func() any {
			d := events.ComplaintReceived{
				ComplaintID: c.id, Channel: c.channel, Category: c.spec.cat, Summary: c.summary, ReceivedAt: c.t,
				Township: c.township, Industry: c.industry.code, Consumer: c.consumer,
			}
			if c.amount > 0 {
				d.AmountCNY = ptr(c.amount)
			}
			if c.consumers > 1 {
				d.Consumers = ptr(c.consumers)
			}
			if c.unlinked {
				d.MerchantName, d.Address = c.name, c.address
			}
			return d
		}) {
		return
	}
	if c.assignTo != "" {
		if !g.emit(c.assignAt, c.recv, "asg", events.TypeComplaintAssigned, subject, nil, func() any {
			return events.ComplaintAssigned{ComplaintID: c.id, ToBureau: c.assignTo, Deadline: c.deadline}
		}) {
			c.closeAt = time.Time{}
			return
		}
	}
	if c.closeAt.IsZero() {
		return
	}
	if !g.emit(c.closeAt, c.closer, "cls", events.TypeComplaintClosed, subject, nil, func() any {
		d := events.ComplaintClosed{ComplaintID: c.id, Outcome: c.outcome, ClosedAt: c.closeAt}
		if c.compensation > 0 {
			d.CompensationCNY = ptr(c.compensation)
		}
		if c.satisfaction > 0 {
			d.Satisfaction = ptr(c.satisfaction)
		}
		return d
	}) {
		c.closeAt = time.Time{}
		return
	}
	if c.penalty != "" {
		g.penalize(r, c.m, c.penalty, c.closeAt.Add(days(7+r.float()*40)))
	}
}

// backgroundComplaints drafts n ordinary complaints over the period: about merchants in
// proportion to their industry's complaint rate and their own record, on days that follow the
// seasons.
func (g *gen) backgroundComplaints(n int) {
	r := g.rng("complaints")
	ws := make([]float64, len(g.ms))
	for i, m := range g.ms {
		ws[i] = m.ind.rate * m.risk
	}
	pickM := newWeighted(ws)
	var calls, office [numGroups]*dayPicker
	for made, tries := 0, 0; made < n && tries < 20*n+100; tries++ {
		m := g.ms[pickM.pick(r)]
		specs := specsFor(m.ind)
		sw := make([]float64, len(specs))
		for i, s := range specs {
			sw[i] = s.w
		}
		spec := specs[newWeighted(sw).pick(r)]
		recv := pickReceiver(r, spec, m.ind.group)
		ch := channelOf(r, recv)
		gr := m.ind.group
		var t time.Time
		if officeChannel(ch) {
			if office[gr] == nil {
				office[gr] = ptr(newDayPicker(g.w, gr, true))
			}
			t = workTime(r, office[gr].pick(r))
		} else {
			if calls[gr] == nil {
				calls[gr] = ptr(newDayPicker(g.w, gr, false))
			}
			t = callTime(r, calls[gr].pick(r))
		}
		if !m.trades(t) {
			continue
		}
		c := g.newComplaint(r, m, spec, recv, ch, t)
		if recv == "hotline-12345" && r.chance(.05) {
			g.unlink(r, c)
		}
		g.plan(r, c)
		g.emitComplaint(r, c)
		made++
	}
}
