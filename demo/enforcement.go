package demo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// inspTarget is a kind of merchant a unit inspects, the weight of it in the unit's plan and the
// findings its inspectors write.
type inspTarget struct {
	w        float64
	codes    []string
	findings string
}

var (
	cateringCodes   = []string{"H6210", "H6220", "H6291", "H6231", "H6232", "H6239"}
	foodRetailCodes = []string{"F5212", "F5213", "F5221", "F5223", "F5224", "F5229", "F5226", "F5222"}
	lodgingCodes    = []string{"H6110", "H6121", "H6129", "H6130"}
	prepaidCodes    = []string{"R8930", "P8392", "O8040", "O8051", "O8052", "P8391", "P8393", "P8399", "O8060", "O8070", "O8010", "R9019"}
	generalCodes    = []string{"F5211", "F5232", "F5233", "F5234", "F5236", "F5245", "F5272", "F5274", "F5281", "F5283", "F5238",
		"F5292", "F5261", "F5263", "O8111", "O8113", "K7020", "H6110", "H6121", "H6129", "L7291", "F5246", "R9011", "R9013", "R8760", "F5265", "O8132"}
	equipmentCodes = []string{"K7020", "H6110", "H6121", "F5211", "F5212", "R8760", "N7861"}
	metrologyCodes = []string{"F5265", "F5212", "F5223", "F5224", "F5221", "F5236", "F5245"}
)

var inspTargets = map[string][]inspTarget{
	"amr": {
		{30, cateringCodes, "amr/food"}, {25, foodRetailCodes, "amr/food"}, {5, []string{"R9030", "H6130"}, "amr/food"},
		{3, []string{"A0159", "A0164", "A0141", "A0142", "C1512"}, "amr/food"}, {8, []string{"F5251", "F5252"}, "amr/drug"},
		{10, prepaidCodes, "amr/prepaid"}, {14, generalCodes, "amr/general"},
	},
	"quality": {{30, equipmentCodes, "quality/equipment"}, {25, metrologyCodes, "quality/metrology"}},
	"health": {
		{30, lodgingCodes, "health/public"}, {35, []string{"O8040", "O8051", "O8052"}, "health/public"},
		{10, []string{"R8930", "P8392"}, "health/public"}, {5, []string{"R9011", "R9013", "R8760"}, "health/public"},
		{12, []string{"Q8425"}, "health/clinic"}, {5, []string{"O8020"}, "health/childcare"},
	},
	"tourism": {
		{25, lodgingCodes, "tourism/lodging"}, {45, []string{"R9030"}, "tourism/lodging"},
		{20, []string{"L7291"}, "tourism/agency"}, {10, []string{"N7861", "F5246"}, "tourism/scenic"},
	},
}

var inspBureaus = []choice[string]{{55, "amr"}, {17, "quality"}, {16, "health"}, {12, "tourism"}}

// campaign is a special inspection (专项检查) a unit runs every year in a season.
type campaign struct {
	bureau   string
	name     string
	target   inspTarget
	from, to func(year int) time.Time
}

func md(m time.Month, d int) func(int) time.Time {
	return func(y int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, zone) }
}

func springFestivalOffset(off int) func(int) time.Time {
	return func(y int) time.Time {
		sf, ok := springFestival[y]
		if !ok {
			sf = time.Date(y, 2, 5, 0, 0, 0, 0, zone)
		}
		return sf.AddDate(0, 0, off)
	}
}

var campaigns = []campaign{
	{"amr", "春节食品安全专项检查", inspTarget{1, append(append([]string{}, cateringCodes...), foodRetailCodes...), "amr/food"}, springFestivalOffset(-25), springFestivalOffset(-5)},
	{"amr", "预付式消费专项整治", inspTarget{1, prepaidCodes, "amr/prepaid"}, md(3, 1), md(3, 14)},
	{"amr", "校园周边食品安全专项检查", inspTarget{1, []string{"H6220", "H6291", "F5213", "H6239"}, "amr/food"}, md(8, 20), md(9, 10)},
	{"amr", "中秋月饼专项检查", inspTarget{1, []string{"F5222", "F5212"}, "amr/food"}, md(9, 1), md(9, 20)},
	{"amr", "国庆旅游餐饮专项检查", inspTarget{1, []string{"R9030", "H6130"}, "amr/food"}, md(9, 20), md(9, 30)},
	{"quality", "安全生产月电梯专项检查", inspTarget{1, equipmentCodes, "quality/equipment"}, md(6, 1), md(6, 30)},
	{"quality", "加油站计量专项检查", inspTarget{1, []string{"F5265"}, "quality/metrology"}, md(11, 1), md(11, 30)},
	{"health", "夏季公共场所卫生专项检查", inspTarget{1, append([]string{"R8930"}, lodgingCodes...), "health/public"}, md(6, 15), md(7, 31)},
	{"tourism", "五一假期旅游市场专项检查", inspTarget{1, []string{"R9030", "H6130", "H6129"}, "tourism/lodging"}, md(4, 15), md(4, 30)},
	{"tourism", "国庆假期旅游市场专项检查", inspTarget{1, []string{"R9030", "H6130", "L7291"}, "tourism/lodging"}, md(9, 15), md(9, 30)},
}

// campaignDays lists the weekdays of a campaign inside the period.
func (g *gen) campaignDays(c campaign) []time.Time {
	var out []time.Time
	for y := g.w.start.Year() - 1; y <= g.w.end.Year()+1; y++ {
		for d := c.from(y); !d.After(c.to(y)); d = d.AddDate(0, 0, 1) {
			if !weekend(d) && g.w.contains(d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// randomDays are the days of each month a unit carries out its 双随机 checks.
func (g *gen) randomDays(r *rng, perMonth int) []time.Time {
	var out []time.Time
	for m := midnight(g.w.start); m.Before(g.w.end); m = m.AddDate(0, 1, 0) {
		first := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, zone)
		var wd []time.Time
		for d := first; d.Month() == first.Month(); d = d.AddDate(0, 0, 1) {
			if !weekend(d) && g.w.contains(d) {
				wd = append(wd, d)
			}
		}
		for i := 0; i < perMonth && len(wd) > 0; i++ {
			k := r.intn(len(wd))
			out = append(out, wd[k])
			wd = append(wd[:k], wd[k+1:]...)
		}
	}
	return out
}

// inspector draws inspection targets and dates for one unit.
type inspector struct {
	bureau    string
	targets   []inspTarget
	pool      [][]*merchant
	tw        weighted
	random    []time.Time
	campaigns []campaign
	cdays     [][]time.Time
	cpool     [][]*merchant
	weekdays  dayPicker
}

func (g *gen) newInspector(r *rng, bureau string) *inspector {
	in := &inspector{bureau: bureau, targets: inspTargets[bureau]}
	ws := make([]float64, len(in.targets))
	for i, t := range in.targets {
		in.pool = append(in.pool, g.merchantsOf(t.codes))
		if len(in.pool[i]) > 0 {
			ws[i] = t.w
		}
	}
	in.tw = newWeighted(ws)
	perMonth := 2
	if bureau == "amr" {
		perMonth = 4
	}
	in.random = g.randomDays(r, perMonth)
	for _, c := range campaigns {
		if c.bureau != bureau {
			continue
		}
		if d, pool := g.campaignDays(c), g.merchantsOf(c.target.codes); len(d) > 0 && len(pool) > 0 {
			in.campaigns = append(in.campaigns, c)
			in.cdays = append(in.cdays, d)
			in.cpool = append(in.cpool, pool)
		}
	}
	in.weekdays = newDayPicker(g.w, gAny, true)
	return in
}

// draw picks one inspection: merchant, kind, time and finding set. ok is false when the unit
// has nothing to inspect.
func (in *inspector) draw(r *rng, kind string) (m *merchant, t time.Time, findings string, ok bool) {
	switch {
	case kind == "special" && len(in.campaigns) > 0:
		k := r.intn(len(in.campaigns))
		return pick(r, in.cpool[k]), workTime(r, pick(r, in.cdays[k])), in.campaigns[k].target.findings, true
	case kind == "random" && len(in.random) > 0:
		i := in.tw.pick(r)
		if i < 0 {
			return nil, time.Time{}, "", false
		}
		return pick(r, in.pool[i]), workTime(r, pick(r, in.random)), in.targets[i].findings, true
	}
	i := in.tw.pick(r)
	if i < 0 {
		return nil, time.Time{}, "", false
	}
	// routine checks lean towards merchants with a record (风险分级)
	pool := in.pool[i]
	m = pool[r.intn(len(pool))]
	if alt := pool[r.intn(len(pool))]; alt.risk > m.risk && r.chance(.5) {
		m = alt
	}
	return m, workTime(r, in.weekdays.pick(r)), in.targets[i].findings, true
}

// fillFinding fills {n} and {item} in a finding.
func fillFinding(r *rng, text string, m *merchant) string {
	return strings.NewReplacer("{n}", fmt.Sprint(r.between(1, 4)), "{item}", pickOr(r, m.ind.items, "商品")).Replace(text)
}

// inspections drafts about n inspections with their follow-ups: re-inspections after an order
// to rectify (复查) and penalties after a failed one.
func (g *gen) inspections(n int) {
	r := g.rng("inspections")
	ins := map[string]*inspector{}
	for made, tries := 0, 0; made < n && tries < 10*n+100; tries++ {
		b := choose(r, inspBureaus)
		if ins[b] == nil {
			ins[b] = g.newInspector(g.rng("inspector/"+b), b)
		}
		kind := choose(r, []choice[string]{{45, "random"}, {40, "routine"}, {15, "special"}})
		m, t, fkey, ok := ins[b].draw(r, kind)
		if !ok || !m.trades(t) {
			continue
		}
		fs := findingSets[fkey]
		res := map[string][]choice[string]{
			"random":  {{78, "pass"}, {18, "rectify"}, {4, "fail"}},
			"routine": {{72, "pass"}, {23, "rectify"}, {5, "fail"}},
			"special": {{55, "pass"}, {33, "rectify"}, {12, "fail"}},
		}[kind]
		result := choose(r, res)
		var text string
		var fail finding
		switch result {
		case "pass":
			if r.chance(.7) {
				text = pick(r, fs.pass)
			}
		case "rectify":
			text = fillFinding(r, pick(r, fs.rectify), m)
		case "fail":
			fail = pick(r, fs.fail)
			text = fillFinding(r, fail.text, m)
		}
		if !g.inspect(m, b, kind, result, text, t) {
			continue
		}
		made++
		switch {
		case result == "rectify" && r.chance(.35):
			t2 := laterWork(r, t, days(7+r.float()*23))
			if r.chance(.9) {
				g.inspect(m, b, "routine", "pass", "复查：已按要求完成整改", t2)
			} else {
				g.inspect(m, b, "routine", "rectify", "复查：整改不到位，再次责令限期整改", t2)
			}
		case result == "fail" && fail.penalty != "" && r.chance(.75):
			g.penalize(r, m, fail.penalty, t.Add(days(10+r.float()*35)))
		}
	}
}

// fillInspections drafts n routine inspections without consequences, so that the dataset
// reaches the configured size.
func (g *gen) fillInspections(n int) {
	r := g.rng("routine")
	ins := map[string]*inspector{}
	for made, tries := 0, 0; made < n && tries < 10*n+100; tries++ {
		b := choose(r, []choice[string]{{60, "amr"}, {15, "quality"}, {15, "health"}, {10, "tourism"}})
		if ins[b] == nil {
			ins[b] = g.newInspector(g.rng("routine/"+b), b)
		}
		m, t, fkey, ok := ins[b].draw(r, "routine")
		if !ok {
			continue
		}
		fs := findingSets[fkey]
		result, text := "pass", ""
		if r.chance(.15) {
			result, text = "rectify", fillFinding(r, pick(r, fs.rectify), m)
		} else if r.chance(.6) {
			text = pick(r, fs.pass)
		}
		if g.inspect(m, b, "routine", result, text, t) {
			made++
		}
	}
}

// samplings drafts about n product samples; failed ones may bring a penalty and a published
// consumer notice.
func (g *gen) samplings(n int) {
	r := g.rng("sampling")
	type source struct {
		bureau string
		code   string
		pool   []*merchant
	}
	var srcs []source
	var ws []float64
	for _, b := range []string{"amr", "quality"} {
		for _, in := range industries { // industries order keeps this deterministic
			ps, ok := samplingProducts[b][in.code]
			if !ok || len(g.byCode[in.code]) == 0 {
				continue
			}
			srcs = append(srcs, source{b, in.code, g.byCode[in.code]})
			w := math.Sqrt(float64(len(g.byCode[in.code]))) * float64(len(ps))
			if b == "quality" {
				w *= 1.5
			}
			ws = append(ws, w)
		}
	}
	sw := newWeighted(ws)
	wd := newDayPicker(g.w, gAny, true)
	for made, tries := 0, 0; made < n && tries < 10*n+100 && len(srcs) > 0; tries++ {
		s := srcs[sw.pick(r)]
		m := pick(r, s.pool)
		t := workTime(r, wd.pick(r))
		product := pick(r, samplingProducts[s.bureau][s.code])
		for _, sp := range seasonalProducts {
			if slices.Contains(sp.codes, s.code) && inSeason(t, sp.from, sp.to) && r.chance(.4) {
				product = sp.product
			}
		}
		failRate := .045
		switch {
		case s.bureau == "quality":
			failRate = .08
		case s.code == "F5251" || s.code == "F5252":
			failRate = .02
		}
		smp := &sampleRec{m: m, bureau: s.bureau, product: product, t: t, pass: !r.chance(failRate)}
		if !g.sample(smp) {
			continue
		}
		made++
		if smp.pass {
			continue
		}
		// 检验报告 comes weeks later; the case and a public notice follow it.
		if r.chance(.7) {
			key := "food.sampling"
			switch {
			case s.bureau == "quality":
				key = "product.industrial"
			case s.code == "F5251" || s.code == "F5252":
				key = "drug.substandard"
			case s.code == "F5234":
				key = "product.quality"
			case r.chance(.4):
				key = "food.unqualified"
			}
			g.penalize(r, m, key, t.Add(days(20+r.float()*40)))
		}
		if s.bureau == "amr" && r.chance(.3) {
			g.warn(m, "amr", laterWork(r, t, days(12+r.float()*10)),
				fmt.Sprintf("关于%s销售的%s抽检不合格的消费提示", m.Name, smp.product),
				func() string {
					return fmt.Sprintf("近期，%s组织开展监督抽检，%s（%s）销售的%s（样品编号%s）经检验不合格。"+
						"我局已责令经营者立即下架、停止销售相关产品，并依法立案调查。"+
						"请已购买该批次产品的消费者停止食用或使用，可凭购物凭证要求经营者退货；如有疑问，请拨打12315反映。",
						bureauName("amr"), m.Name, m.Address, smp.product, smp.id)
				}, true)
		}
	}
}

// inSeason reports whether t falls between two month/day marks; the season may wrap the year.
func inSeason(t time.Time, from, to [2]int) bool {
	v := int(t.Month())*100 + t.Day()
	a, b := from[0]*100+from[1], to[0]*100+to[1]
	if a <= b {
		return v >= a && v <= b
	}
	return v >= a || v <= b
}

// patrols drafts penalties from the city-management and environment units' own patrols (not
// from complaints): street trading outside shops and kitchen fumes.
func (g *gen) patrols(n int) {
	r := g.rng("patrols")
	street := g.merchantsOf([]string{"H6291", "H6210", "F5223", "F5213", "H6220"})
	fume := g.merchantsOf([]string{"H6210", "H6291"})
	if len(street) == 0 || len(fume) == 0 {
		return
	}
	wd := newDayPicker(g.w, gAny, true)
	for i := 0; i < n; i++ {
		t := workTime(r, wd.pick(r))
		if r.chance(.7) {
			m := pick(r, street)
			if m.trades(t) {
				g.penalize(r, m, choose(r, []choice[string]{{3, "urban.street"}, {1, "urban.street.fine"}}), t)
			}
		} else {
			m := pick(r, fume)
			if m.trades(t) {
				g.penalize(r, m, "env.fume", t)
			}
		}
	}
}
