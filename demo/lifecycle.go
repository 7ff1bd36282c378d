package demo

import (
	"fmt"
	"math"
	"time"
)

// Certifications, credit listings, revocations and typical-case warnings.

// consumerFacing are the groups whose merchants may become 放心舒心消费示范单位.
var consumerFacing = map[group]bool{
	gCatering: true, gLodging: true, gFarmhouse: true, gTravel: true, gFoodRetail: true, gGoodsRetail: true,
	gPharmacy: true, gFitness: true, gBeauty: true, gTraining: true, gProperty: true, gAutoRepair: true,
	gAutoSales: true, gFuel: true, gEntertainment: true, gHomeService: true, gClinic: true,
}

// years lists the calendar years that touch the period.
func (g *gen) years() []int {
	var ys []int
	for y := g.w.start.Year(); y <= g.w.end.Year(); y++ {
		ys = append(ys, y)
	}
	return ys
}

// drawDistinct draws n distinct merchants from pool, the forced ones first.
func drawDistinct(r *rng, pool []*merchant, n int, forced []*merchant) []*merchant {
	out := make([]*merchant, 0, n)
	seen := map[*merchant]bool{}
	for _, m := range forced {
		if m != nil && !seen[m] {
			out = append(out, m)
			seen[m] = true
		}
	}
	idx := make([]int, len(pool))
	for i := range idx {
		idx[i] = i
	}
	for i := 0; i < len(idx) && len(out) < n; i++ {
		j := i + r.intn(len(idx)-i)
		idx[i], idx[j] = idx[j], idx[i]
		if m := pool[idx[i]]; !seen[m] {
			out = append(out, m)
			seen[m] = true
		}
	}
	return out
}

// batch grants a scheme to merchants at one publication: a list published at 10:00 whose
// entries the unit's system records a few seconds apart.
func (g *gen) batch(r *rng, day time.Time, scheme, bureau, prefix string, pool []*merchant, n int, forced []*merchant, level func() string, years int) {
	day = nextWorkday(day)
	if !g.w.contains(day) {
		return
	}
	t0 := day.Add(10 * time.Hour)
	var ok []*merchant
	for _, m := range pool {
		if m.trades(t0) {
			ok = append(ok, m)
		}
	}
	var fs []*merchant
	for _, m := range forced {
		if m != nil && m.trades(t0) {
			fs = append(fs, m)
		}
	}
	for i, m := range drawDistinct(r, ok, n, fs) {
		g.grant(m, scheme, bureau, prefix, t0.Add(time.Duration(i*7)*time.Second), level(), years)
	}
}

func (g *gen) certifications() {
	r := g.rng("certifications")
	var facing, farms, companies, agri, tea []*merchant
	for _, m := range g.ms {
		if consumerFacing[m.ind.group] && m.risk < 1.2 {
			facing = append(facing, m)
		}
		if m.ind.group == gFarmhouse {
			farms = append(farms, m)
		}
		if !m.Individual && m.risk < 1.5 {
			companies = append(companies, m)
		}
		if m.ind.group == gAgri && m.Industry != "C1512" {
			agri = append(agri, m)
		}
		if m.Industry == "A0164" || (m.Industry == "F5226" || m.Industry == "F5292") && r.chance(.15) {
			tea = append(tea, m)
		}
	}
	n := func(share float64, of int) int { return int(math.Round(share * float64(of))) }
	demoLevel := func() string { return choose(r, []choice[string]{{80, "区级"}, {20, "市级"}}) }
	starLevel := func() string {
		return choose(r, []choice[string]{{50, "三星级"}, {35, "四星级"}, {15, "五星级"}})
	}
	forcedDemo := []*merchant{g.pinnedMerchant(0), g.pinnedMerchant(pinGym), g.pinnedMerchant(pinMarket)}
	forcedStar := []*merchant{g.pinnedMerchant(1), g.pinnedMerchant(pinFarmYueba)}
	firstDemo, firstStar := true, true
	for _, y := range g.years() {
		// 放心舒心消费示范单位: the yearly assessment in December, the 3·15 list, before National Day
		for _, b := range []struct {
			m     time.Month
			d     int
			share float64
		}{{3, 14, .010}, {9, 26, .006}, {12, 20, .008}} {
			day := time.Date(y, b.m, b.d, 0, 0, 0, 0, zone)
			var forced []*merchant
			if firstDemo && g.w.contains(day) {
				forced, firstDemo = forcedDemo, false
			}
			g.batch(r, day, schemeDemoUnit, "amr", "LZFX", facing, n(b.share, len(g.ms)), forced, demoLevel, 2)
		}
		// 星级农家乐: tourism before May Day and National Day, agriculture's leisure-farm rating in June
		for _, b := range []struct {
			m              time.Month
			d              int
			bureau, prefix string
		}{{4, 20, "tourism", "LZXJ"}, {6, 18, "agriculture", "LZXX"}, {9, 18, "tourism", "LZXJ"}} {
			day := time.Date(y, b.m, b.d, 0, 0, 0, 0, zone)
			var forced []*merchant
			if firstStar && b.bureau == "tourism" && g.w.contains(day) {
				forced, firstStar = forcedStar, false
			}
			g.batch(r, day, schemeStarFarmhouse, b.bureau, b.prefix, farms, n(.1, len(farms)), forced, starLevel, 3)
		}
		// 守合同重信用 companies, published in May
		g.batch(r, time.Date(y, 5, 20, 0, 0, 0, 0, zone), schemeContractCredit, "amr", "LZSHT", companies,
			n(.02, len(companies)), nil, func() string { return choose(r, []choice[string]{{70, "市级"}, {30, "省级"}}) }, 2)
	}
	// Organic certificates and licences to use the 广元黄茶 geographical-indication mark come one by one.
	wd := newDayPicker(g.w, gAgri, true)
	for _, m := range drawDistinct(r, agri, n(.3, len(agri)), nil) {
		g.grant(m, schemeOrganic, "agriculture", "LZYJ", workTime(r, wd.pick(r)), "", 1)
	}
	for _, m := range drawDistinct(r, tea, n(.6, len(tea)), nil) {
		g.grant(m, schemeGeoMark, "amr", "GYHC", workTime(r, wd.pick(r)), "", 3)
	}
}

// creditListings drafts the 经营异常名录 listings that do not come from a case: companies that
// missed their annual report (listed in July), merchants that cannot be reached at their
// registered address, false public information; and the delistings of those that put it right.
func (g *gen) creditListings() {
	r := g.rng("credit")
	for _, y := range g.years() {
		day := nextWorkday(time.Date(y, 7, 6, 0, 0, 0, 0, zone))
		if !g.w.contains(day) {
			continue
		}
		t0 := day.Add(10 * time.Hour)
		i := 0
		for _, m := range g.ms {
			if m.Individual || !m.RegisteredAt.Before(time.Date(y, 1, 1, 0, 0, 0, 0, zone)) || !m.trades(t0) || !r.chance(.05) {
				continue
			}
			i++
			l := g.list(m, "abnormal_operation", t0.Add(time.Duration(i*3)*time.Second), func() string {
				return fmt.Sprintf(annualReportReason, y-1)
			})
			if l != nil && r.chance(.45) {
				g.delist(l, laterWork(r, l.t, days(r.lognormal(35, .6, 5, 150))), fmt.Sprintf(annualReportDelist, y-1))
			}
		}
	}
	wd := newDayPicker(g.w, gAny, true)
	for _, k := range []struct {
		share      float64
		reason     string
		delist     string
		delistProb float64
	}{{.004, reasonUnreachable, delistUnreachable, .25}, {.0006, reasonFalseInfo, delistFalseInfo, .6}} {
		for range int(math.Round(k.share * float64(len(g.ms)))) {
			m := pick(r, g.ms)
			t := workTime(r, wd.pick(r))
			if !m.trades(t) {
				continue
			}
			reason := k.reason
			l := g.list(m, "abnormal_operation", t, func() string { return reason })
			if l != nil && r.chance(k.delistProb) {
				g.delist(l, laterWork(r, t, days(r.lognormal(40, .6, 10, 150))), k.delist)
			}
		}
	}
}

// seriousListings puts merchants with heavy penalties of a serious kind on the
// 严重违法失信名单 (一处失信、处处受限).
func (g *gen) seriousListings() {
	r := g.rng("serious")
	for _, p := range g.penalties {
		if !p.basis.serious || p.fine < 50000 || !r.chance(.15) {
			continue
		}
		p := p
		g.list(p.m, "serious_violation", laterWork(r, p.t, days(20+r.float()*20)), func() string {
			return fmt.Sprintf(seriousReason, p.basis.offence, p.decisionNo)
		})
	}
}

var schemeNames = map[string]string{
	schemeDemoUnit: "放心舒心消费示范单位", schemeStarFarmhouse: "星级农家乐", schemeOrganic: "有机产品认证",
	schemeContractCredit: "守合同重信用企业", schemeGeoMark: "地理标志证明商标使用许可",
}

var listNames = map[string]string{"abnormal_operation": "经营异常名录", "serious_violation": "严重违法失信名单"}

// revocations takes titles back from merchants that were penalised or listed after they got
// them (一处失信、处处受限), and a few for reasons of their own.
func (g *gen) revocations() {
	r := g.rng("revocations")
	for _, c := range g.certs {
		if !c.revoked.IsZero() {
			continue
		}
		c := c
		// the first blot on the merchant's record after the grant
		var pen *penaltyRec
		var lst *listingRec
		var at time.Time
		for _, p := range c.m.penalties {
			if p.t.After(c.t) && (p.fine >= 5000 || p.kind == "suspension" || p.kind == "revocation") && (at.IsZero() || p.t.Before(at)) {
				pen, lst, at = p, nil, p.t
			}
		}
		for _, list := range []string{"abnormal_operation", "serious_violation"} {
			if l := c.m.listed[list]; l != nil && l.t.After(c.t) && (at.IsZero() || l.t.Before(at)) {
				pen, lst, at = nil, l, l.t
			}
		}
		name := schemeNames[c.scheme]
		switch {
		case lst != nil && c.scheme != schemeOrganic && r.chance(.85):
			g.revoke(c, laterWork(r, at, days(5+r.float()*15)), func() string {
				return fmt.Sprintf("被列入%s，不再符合%s条件，予以撤销", listNames[lst.list], name)
			})
		case pen != nil && (c.scheme == schemeDemoUnit || c.scheme == schemeContractCredit) && r.chance(.85),
			pen != nil && (c.scheme == schemeStarFarmhouse || c.scheme == schemeGeoMark) && r.chance(.6):
			g.revoke(c, laterWork(r, at, days(5+r.float()*15)), func() string {
				return fmt.Sprintf("因%s受到行政处罚（%s），撤销%s", pen.basis.offence, pen.decisionNo, name)
			})
		case c.scheme == schemeOrganic && r.chance(.06):
			g.revoke(c, laterWork(r, c.t, days(60+r.float()*200)), func() string {
				return "年度监督检查发现使用禁用投入品，撤销有机产品认证证书"
			})
		case c.scheme == schemeStarFarmhouse && r.chance(.04):
			g.revoke(c, laterWork(r, c.t, days(60+r.float()*200)), func() string {
				return "年度复核服务设施、卫生条件不达标，撤销星级评定"
			})
		case c.scheme == schemeDemoUnit && r.chance(.02):
			g.revoke(c, laterWork(r, c.t, days(30+r.float()*250)), func() string {
				return "经营者申请停业，主动退出放心舒心消费示范单位"
			})
		}
	}
}

// typicalCases publishes some heavy penalties as consumer warnings (公布典型案例).
func (g *gen) typicalCases() {
	r := g.rng("typical")
	for _, p := range g.penalties {
		if p.fine < 50000 || !r.chance(.3) {
			continue
		}
		p := p
		g.warn(p.m, p.basis.bureau, laterWork(r, p.t, days(7+r.float()*14)),
			fmt.Sprintf("消费警示：%s%s被依法查处", p.m.Name, p.basis.offence),
			func() string {
				return fmt.Sprintf("%s（统一社会信用代码%s）%s，违反了有关法律规定。%s依据%s，作出行政处罚决定（%s），处罚款%s元。"+
					"提醒广大消费者：选择证照齐全、信誉良好的经营者，索要并保存购物凭证；发现违法行为可拨打12315、12345投诉举报。",
					p.m.Name, p.m.USCC, p.basis.offence, bureauName(p.basis.bureau), p.basis.basis, p.decisionNo, yuan(p.fine))
			}, true)
	}
}
