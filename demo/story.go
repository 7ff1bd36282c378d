package demo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The scenario's stories: a prepaid-card gym closing overnight (a mass consumer incident,
// 群体性消费事件), a training school stopping classes, and the National Day hotspot in 白朝乡.

// storyDay is the day a story happens: at the same place in the period as in the default year.
func (g *gen) storyDay(dayOfDefaultYear int) time.Time {
	return midnight(g.w.start).AddDate(0, 0, int(math.Round(float64(g.w.days)*float64(dayOfDefaultYear)/365)))
}

func (g *gen) storyCount(n, least int) int { return max(least, int(math.Round(float64(n)*g.scale))) }

var (
	prepaidSpec  = catSpec{cat: "预付卡", to: "amr", money: true, dispute: true}
	gymSignsSpec = catSpec{cat: "预付卡", to: "amr", money: true, dispute: true, texts: []string{
		"教练陆续离职，私教课无法预约，前台称“店面升级装修”，要求退还剩余课时费用{amt}元",
		"门店近期频繁停水停电，器材无人维护，店员称老板在外地，申请退卡被拒",
		"办卡时承诺随时可退，近日申请退卡{amt}元，店方一再拖延",
	}}
)

var gymTexts = []string{
	"今早到店发现动感健身会所大门紧锁，门口贴出“停业整顿”告示，老板电话关机，本人会员卡余额{amt}元，要求退卡退费",
	"上个月刚在该健身会所续费年卡{amt}元，今天门店突然关门、负责人失联，要求退还剩余费用",
	"购买私教课{n}0节共{amt}元，仅上了{k}节，门店突然闭店，要求退费",
	"健身房闭店跑路，会员群里已有上百人，涉及金额巨大，请求有关部门尽快介入，本人损失{amt}元",
	"家人在动感健身会所办理的两张年卡共{amt}元，现门店关闭无人负责，要求退卡退费",
	"门店突然停业，前台和教练均称被拖欠工资，会员卡内余额{amt}元无法使用，要求退费",
}

// gymClosure: 利州区东坝街道动感健身会所 sells annual cards and personal-training packages, shows
// warning signs for a few weeks and closes one morning; members call 12315 and 12345 by the
// hundred within hours. The market-regulation bureau checks the site the same afternoon, warns
// consumers, lists the gym as unreachable, revokes its demonstration-unit title, fines it and
// puts it on the 严重违法失信名单.
func (g *gen) gymClosure() {
	m := g.pinnedMerchant(pinGym)
	if m == nil {
		return
	}
	r := g.rng("story/gym")
	d := g.storyDay(98)
	morning := d.Add(7*time.Hour + 30*time.Minute)
	if !morning.After(m.active.Add(days(25))) {
		return
	}
	// Warning signs in the weeks before.
	for range g.storyCount(8, 2) {
		t := callTime(r, d.AddDate(0, 0, -(2+r.intn(20))))
		recv := choose(r, []choice[string]{{60, "hotline-12315"}, {40, "hotline-12345"}})
		c := g.newComplaint(r, m, gymSignsSpec, recv, channelOf(r, recv), t)
		g.plan(r, c)
		// One case covers the closure; what is still open when the gym closes joins it.
		c.penalty = ""
		if !c.closeAt.IsZero() && c.closeAt.After(d) {
			c.outcome, c.compensation = "referred_to_case", 0
			c.satisfaction = satisfactionFor(r, c.outcome)
		}
		g.emitComplaint(r, c)
	}
	// The morning it closes.
	for range g.storyCount(200, 20) {
		t := morning.Add(time.Duration(r.lognormal(100, .7, 5, 420)*60) * time.Second)
		recv := choose(r, []choice[string]{{55, "hotline-12315"}, {45, "hotline-12345"}})
		c := &complaintRec{m: m, industry: m.ind, township: m.Township, recv: recv, channel: channelOf(r, recv), spec: prepaidSpec, t: t}
		c.amount = roundMoney(r.lognormal(2800, .6, 600, 12000))
		c.summary, c.amount = fillText(r, pick(r, gymTexts), m.ind, c.amount)
		if r.chance(.04) {
			n := r.between(2, 6)
			c.consumers = n * 10
			c.amount = roundMoney(float64(c.consumers) * r.lognormal(2800, .3, 1000, 8000))
			c.summary = fmt.Sprintf("会员代表反映：%d余名会员的预付卡余额无法退还，合计约%s元，门店已人去楼空，请求政府部门介入", c.consumers, yuan(c.amount))
		}
		if r.chance(.7) {
			c.consumer = map[string]any{"name": pick(r, surnames) + pick(r, []string{"先生", "女士"})}
		}
		if recv == "hotline-12345" && r.chance(.12) {
			c.unlinked = true
			c.name = pick(r, []string{"动感健身会所", "东坝动感健身", "动感健身房"})
			c.address = strings.TrimPrefix(m.Address, "四川省")
		} else {
			// urgent transfers: the hotlines pass the cases on within hours
			c.assignTo = "amr"
			c.assignAt = t.Add(time.Duration(30+r.intn(150)) * time.Minute)
			if recv == "hotline-12315" {
				c.assignAt = c.assignAt.Add(time.Duration(r.intn(240)) * time.Minute)
			}
			c.deadline = midnight(c.assignAt).AddDate(0, 0, limitOf(recv)).Add(18 * time.Hour)
			c.closer = "amr"
			switch x := r.float(); {
			case x < .3: // filed as a case (诉转案) once the bureau opens one
				c.closeAt = laterWork(r, d, days(3+r.float()*12))
				c.outcome = "referred_to_case"
				c.satisfaction = satisfactionFor(r, c.outcome)
			case x < .38:
				c.closeAt = laterWork(r, t, days(1+r.float()*9))
				c.outcome = "withdrawn"
				c.satisfaction = satisfactionFor(r, c.outcome)
			} // the rest stay open: the owner cannot be found
		}
		g.emitComplaint(r, c)
	}
	// The bureau checks the site that afternoon; the gym trades no more.
	g.inspect(m, "amr", "special", "fail",
		"现场检查：经营场所大门紧锁，门口张贴“停业整顿”告示，负责人电话无法接通；已调取场地租赁合同及会员缴费记录，涉及会员预付费用待核实",
		d.Add(14*time.Hour+20*time.Minute))
	m.closed = d.Add(15 * time.Hour)
	// More members come in person over the following days.
	for range g.storyCount(25, 3) {
		recv := choose(r, []choice[string]{{60, "cca"}, {40, "amr"}})
		t := workTime(r, nextWorkday(d.AddDate(0, 0, 1+r.intn(6))))
		c := &complaintRec{m: m, industry: m.ind, township: m.Township, recv: recv, channel: "visit", spec: prepaidSpec, t: t,
			amount: roundMoney(r.lognormal(2800, .6, 600, 12000))}
		c.summary, c.amount = fillText(r, pick(r, gymTexts[1:]), m.ind, c.amount)
		c.closer = "amr"
		if recv == "cca" {
			c.assignTo = "amr"
			c.assignAt = laterWork(r, t, time.Hour)
			c.deadline = midnight(c.assignAt).AddDate(0, 0, limitOf(recv)).Add(18 * time.Hour)
		}
		g.emitComplaint(r, c)
	}
	g.warn(m, "amr", d.Add(17*time.Hour+30*time.Minute), "关于利州区东坝街道动感健身会所闭店事件的消费警示", func() string {
		return "今日，我局接到大量消费者投诉，反映利州区东坝街道动感健身会所突然闭店、负责人失联，会员预付费用无法退还。" +
			"我局已会同东坝街道办事处成立工作专班，开展现场调查、固定证据，并统一登记会员信息。请涉及的消费者保存好会员卡、合同和付款凭证，" +
			"通过12315平台或到区消委会登记维权。同时提醒广大消费者：办理预付卡前查看经营者是否被列入经营异常名录，谨慎一次性大额充值，" +
			"签订书面合同并明确退费条款。"
	}, true)
	g.warn(m, "cca", laterWork(r, d, 20*time.Hour), "预付式消费风险提示：谨慎办理健身预付卡", func() string {
		return "针对利州区东坝街道动感健身会所闭店事件，区消委会提示：健身、美容美发、教育培训等行业预付式消费风险较高，" +
			"消费者应选择证照齐全、信誉良好的经营者，不轻信“低价年卡”“充值送课”等促销，单次充值不宜过大，并留存合同、票据等证据。" +
			"已受损的会员可到区消委会现场登记，我会将协助开展集体维权。"
	}, true)
	l := g.list(m, "abnormal_operation", laterWork(r, d, days(10)), func() string { return reasonUnreachable })
	if c := m.cert(schemeDemoUnit); c != nil && l != nil {
		g.revoke(c, laterWork(r, l.t, days(2)), func() string {
			return "经营场所关闭、负责人失联，已被列入经营异常名录，不再符合放心舒心消费示范单位条件，予以撤销（一处失信、处处受限）"
		})
	}
	p := g.addPenalty(&penaltyRec{m: m, key: "consumer.refund", basis: penaltyBases["consumer.refund"],
		t: laterWork(r, d, days(45)), kind: "fine", fine: 200000})
	if p != nil {
		g.list(m, "serious_violation", laterWork(r, p.t, days(15)), func() string {
			return fmt.Sprintf(seriousReason, "预收会员费用后停止服务、拒不退还消费者预付款", p.decisionNo)
		})
	}
}

var schoolTexts = []string{
	"孩子在优学教育培训学校报了秋季班，一次性缴费{amt}元，今天接到通知学校停课，要求退费",
	"优学教育培训学校暑假后突然停课，老师称被拖欠工资，家长缴纳的{amt}元学费无人退还",
	"学校以“搬迁”为由停课，承诺的课程无法兑现，要求退还剩余{n}0课时费用{amt}元",
	"家长群通知培训学校无限期停课，负责人电话打不通，已缴学费{amt}元，要求相关部门介入退费",
}

// schoolClosure: 利州区优学教育培训学校 collects autumn fees and stops classes at the end of the
// summer holidays; parents complain over two days, the education bureau mediates refunds.
func (g *gen) schoolClosure() {
	m := g.pinnedMerchant(pinSchool)
	if m == nil {
		return
	}
	r := g.rng("story/school")
	d := g.storyDay(262)
	notice := d.Add(19 * time.Hour)
	if !notice.After(m.active.Add(days(10))) {
		return
	}
	spec := catSpec{cat: "预付卡", to: "education", money: true, dispute: true}
	for range g.storyCount(80, 8) {
		recv := choose(r, []choice[string]{{55, "hotline-12345"}, {30, "hotline-12315"}, {15, "cca"}})
		ch := channelOf(r, recv)
		t := notice.Add(time.Duration(r.lognormal(14*60, .9, 10, 60*60)) * time.Minute)
		if ch == "visit" {
			t = workTime(r, nextWorkday(d.AddDate(0, 0, 1+r.intn(2))))
		}
		c := &complaintRec{m: m, industry: m.ind, township: m.Township, recv: recv, channel: ch, spec: spec, t: t,
			amount: roundMoney(r.lognormal(4800, .5, 1200, 16000))}
		c.summary, c.amount = fillText(r, pick(r, schoolTexts), m.ind, c.amount)
		if r.chance(.6) {
			c.consumer = map[string]any{"name": pick(r, surnames) + pick(r, []string{"先生", "女士"})}
		}
		c.assignTo = "education"
		if recv == "hotline-12315" {
			c.assignTo = "amr"
		}
		c.assignAt = laterWork(r, t, time.Duration(30+r.intn(240))*time.Minute)
		c.deadline = midnight(c.assignAt).AddDate(0, 0, limitOf(recv)).Add(18 * time.Hour)
		c.closer = c.assignTo
		switch x := r.float(); {
		case x < .4:
			c.closeAt, c.outcome = laterWork(r, d, days(14+r.float()*31)), "refunded"
			c.compensation = roundMoney(c.amount * (.5 + .5*r.float()))
		case x < .65:
			c.closeAt, c.outcome = laterWork(r, d, days(10+r.float()*30)), "mediated"
			c.compensation = roundMoney(c.amount * (.3 + .3*r.float()))
		case x < .7:
			c.closeAt, c.outcome = laterWork(r, t, days(2+r.float()*8)), "rejected"
		}
		if c.outcome != "" {
			c.satisfaction = satisfactionFor(r, c.outcome)
		}
		g.emitComplaint(r, c)
	}
	m.closed = notice.Add(days(1))
	g.warn(m, "education", laterWork(r, notice, days(2)), "关于利州区优学教育培训学校停课事件的消费提示", func() string {
		return "近日，利州区优学教育培训学校突然停课，部分学员家长已缴纳的学费未能退还。区教育局已会同区食品药品和工商局、南河街道办事处约谈相关负责人，" +
			"督促制定退费方案，请家长通过12345热线或到区教育局登记诉求。提醒广大家长：选择校外培训机构时查验办学许可和营业执照，" +
			"不一次性缴纳超过三个月或60课时的费用，签订规范合同并保留缴费凭证。"
	}, true)
	g.list(m, "abnormal_operation", laterWork(r, d, days(30)), func() string { return reasonUnreachable })
}

var holidayTexts = map[string][]string{
	"价格欺诈": {
		"国庆假期到月坝游玩，在该店用餐，{item}未明码标价，一桌收费{amt}元",
		"国庆期间房价临时上涨至{amt}元一晚，与网上标价不符",
		"停车被收取{fee_amt}元停车费，未公示收费标准",
		"柴火鸡按{fee_amt}元一斤计价，称重时连锅一起称，结账{amt}元",
	},
	"服务质量": {
		"国庆期间预订的房间被取消，订金{amt}元不予退还",
		"用餐等待两个多小时，饭菜凉了，服务态度差，要求减免餐费",
		"入住房间卫生差，床单未更换，要求退还部分房费",
	},
	"食品安全": {
		"国庆假期在该店用餐后{n}人腹泻，怀疑{item}不新鲜，要求赔偿医药费",
	},
}

// nationalDay: during the National Day holidays (国庆, 1-7 October) visitors to 月坝 in 白朝乡
// complain about the prices and service of farmhouses and homestays; the tourism bureau warns
// during the holidays and inspects after them, a farmhouse is fined and loses its stars.
func (g *gen) nationalDay() {
	r := g.rng("story/national-day")
	for _, y := range g.years() {
		oct1 := time.Date(y, 10, 1, 0, 0, 0, 0, zone)
		if !g.w.contains(oct1) || !g.w.contains(oct1.AddDate(0, 0, 7)) {
			continue
		}
		var cands []*merchant
		var ws []float64
		star := g.pinnedMerchant(pinFarmYueba)
		for _, m := range g.ms {
			gr := m.ind.group
			if m.Township != tsBaichao || !m.trades(oct1) ||
				!(gr == gFarmhouse || gr == gCatering || gr == gLodging || m.Industry == "F5246") {
				continue
			}
			w := m.risk + 1
			if m == star {
				w *= 8
			}
			cands = append(cands, m)
			ws = append(ws, w)
		}
		if len(cands) == 0 {
			continue
		}
		if star == nil || !slices.Contains(cands, star) {
			star = cands[0]
		}
		pm := newWeighted(ws)
		dayW := newWeighted([]float64{1, 1.6, 1.8, 1.6, 1.3, 1, .6})
		for range g.storyCount(150, 12) {
			m := cands[pm.pick(r)]
			t := callTime(r, oct1.AddDate(0, 0, dayW.pick(r)))
			cat := choose(r, []choice[string]{{55, "价格欺诈"}, {30, "服务质量"}, {15, "食品安全"}})
			spec := catSpec{cat: cat, to: "amr", money: true, dispute: true, texts: holidayTexts[cat]}
			if cat == "服务质量" {
				spec.to = "tourism"
			}
			recv := choose(r, []choice[string]{{35, "tourism"}, {35, "hotline-12345"}, {30, "hotline-12315"}})
			ch := channelOf(r, recv)
			c := g.newComplaint(r, m, spec, recv, ch, t)
			g.plan(r, c)
			if m == star {
				c.penalty = "" // one case covers the holiday
			}
			g.emitComplaint(r, c)
		}
		g.warn(star, "tourism", oct1.AddDate(0, 0, 3).Add(16*time.Hour), "关于月坝景区周边部分农家乐价格问题的消费提示", func() string {
			return "国庆假期以来，我局陆续接到游客反映白朝乡月坝景区周边部分农家乐、民宿未明码标价、临时上调价格等问题，其中涉及" + star.Name +
				"的投诉较为集中。我局已会同区食品药品和工商局、白朝乡人民政府开展现场核查。提醒广大游客：消费前问清价格、查看价目表，" +
				"索要消费凭证；遇到价格欺诈等问题，可拨打12345或向区旅游局现场投诉点反映。"
		}, true)
		// after the holidays: the tourism bureau's checks, a fine for price fraud, the stars taken back
		checked := drawDistinct(r, cands, min(len(cands), 8), []*merchant{star})
		for i, m := range checked {
			t := workTime(r, nextWorkday(oct1.AddDate(0, 0, 8+i)))
			switch {
			case m == star:
				g.inspect(m, "tourism", "special", "fail", "节假日未明码标价、擅自提高菜品和住宿价格，移交市场监管部门处理", t)
			case r.chance(.6):
				g.inspect(m, "tourism", "special", "rectify", "节假日价格公示不规范，责令整改", t)
			default:
				g.inspect(m, "tourism", "special", "pass", "价格公示规范，安全设施完好", t)
			}
		}
		p := g.penalize(r, star, "price.fraud", oct1.AddDate(0, 0, 22))
		if c := star.cert(schemeStarFarmhouse); c != nil && p != nil {
			g.revoke(c, laterWork(r, p.t, days(10)), func() string {
				return fmt.Sprintf("国庆假期期间存在价格欺诈行为被依法查处（%s），经复核撤销星级农家乐评定", p.decisionNo)
			})
		}
	}
}
