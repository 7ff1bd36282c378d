package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/lizhou/fangxin/events"
)

// The register: merchants with names, townships, addresses and unified social credit codes.

var surnames = []string{
	"张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
	"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余",
	"杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "姚", "卢", "姜", "谭", "廖", "贾", "付", "向", "苟", "母", "蒲", "雍",
}

// Brand words (字号) by group; personal 字号 (老张, 李记…) are made from surnames.
var (
	brandsGeneral = []string{
		"嘉禾", "惠民", "利民", "金凤", "凤凰", "皇泽", "女皇", "千佛", "嘉陵", "白龙", "蜀香", "蜀道", "康泰", "恒丰", "鑫源",
		"顺达", "宏发", "兴旺", "福满", "吉祥", "和顺", "永兴", "盛世", "锦绣", "新华", "华西", "明月", "青山", "翠云", "清风",
		"红星", "佳佳", "阳光", "天天", "万家", "百姓", "家乐", "润发", "金鼎", "天府", "巴蜀", "鸿运", "聚福", "百味", "悦来",
		"东升", "旭日", "时代", "星光", "优品", "金桥", "栖凤", "金柜", "翠屏", "南河", "万缘", "上西", "雪峰", "东坝", "利州",
	}
	brandsFarm     = []string{"白云", "青山", "竹林", "桃园", "农夫", "山水", "翠竹", "松林", "望江", "云顶", "栖凤", "枫林", "梨花", "杏花", "荷塘", "柴门", "石泉", "溪畔", "鹿鸣", "山里人家", "田园", "月亮湾"}
	brandsTraining = []string{"优学", "博雅", "启航", "智慧", "新思维", "状元", "精英", "卓越", "育才", "晨曦", "书香", "小天才", "七彩", "童趣"}
	brandsFitness  = []string{"动感", "力量", "活力", "炫动", "健美", "燃脂", "超越", "乐动", "型动", "悦动", "蜀体", "铁馆", "飞扬"}
	brandsBeauty   = []string{"丽人", "美丽", "靓丽", "魅力", "花漾", "伊人", "时尚", "名剪", "尚美", "悦颜", "素颜", "云裳", "水月"}
	brandsPharmacy = []string{"康泰", "德仁", "同仁", "济民", "康达", "安康", "仁和", "百姓", "惠民", "众康", "福寿", "永康", "康源", "广济", "寿康", "杏林"}
	brandsProperty = []string{"嘉陵", "凤凰", "金桥", "恒丰", "和顺", "安居", "宜居", "锦绣", "万家", "怡和", "华府", "蜀门", "滨江", "天誉"}
)

func brandsFor(g group) []string {
	switch g {
	case gFarmhouse, gAgri:
		return brandsFarm
	case gTraining:
		return brandsTraining
	case gFitness:
		return brandsFitness
	case gBeauty:
		return brandsBeauty
	case gPharmacy:
		return brandsPharmacy
	case gProperty:
		return brandsProperty
	}
	return brandsGeneral
}

// personalBrand is the 字号 of a family business: 老张, 李记, 王姐…
func personalBrand(r *rng) string {
	s := pick(r, surnames)
	return choose(r, []choice[string]{
		{3, "老" + s}, {3, s + "记"}, {1, s + "姐"}, {1, s + "妈"}, {1, "小" + s}, {1, s + "氏"}, {1, s + "二哥"}, {1, s + "幺妹"},
	})
}

// merchantSpec is one merchant before its code is drawn.
type merchantSpec struct {
	ind        int // index in industries
	township   events.Township
	individual bool
	name       string
	address    string
	registered time.Time
}

// registerBuilder draws merchants and keeps names and codes unique.
type registerBuilder struct {
	r         *rng
	townships []events.Township
	names     map[string]bool
	codes     map[string]bool
}

func newRegisterBuilder(r *rng) *registerBuilder {
	return &registerBuilder{
		r:         r,
		townships: events.Townships(),
		names:     map[string]bool{},
		codes:     map[string]bool{},
	}
}

func (b *registerBuilder) township(code string) events.Township {
	for _, t := range b.townships {
		if t.Code == code {
			return t
		}
	}
	panic("demo: township " + code + " is not in events.Townships()")
}

// pickTownship draws where a merchant of industry in sits.
func (b *registerBuilder) pickTownship(in industry) events.Township {
	ws := make([]float64, len(b.townships))
	for i, t := range b.townships {
		p, ok := townshipProfiles[t.Code]
		if !ok {
			p = townshipProfile{base: 1, tourism: 1}
		}
		ws[i] = p.base * (1 + in.rural*(p.tourism-1))
	}
	return b.townships[newWeighted(ws).pick(b.r)]
}

// name draws a registered name, unique in the register.
func (b *registerBuilder) name(in industry, t events.Township, individual bool) string {
	r := b.r
	for try := 0; ; try++ {
		var n string
		brand := pick(r, brandsFor(in.group))
		if individual {
			if (in.group == gCatering || in.group == gAutoRepair || in.group == gFoodRetail || in.group == gHomeService) && r.chance(.5) {
				brand = personalBrand(r)
			}
			shop := pick(r, in.shop)
			n = choose(r, []choice[string]{
				{55, "利州区" + t.Name + brand + shop},
				{25, "广元市利州区" + t.Name + brand + shop},
				{20, "利州区" + brand + shop},
			})
		} else {
			firm := pick(r, in.firm)
			n = choose(r, []choice[string]{
				{40, "广元市利州区" + brand + firm},
				{35, "广元" + brand + firm},
				{15, "利州区" + t.Name + brand + firm},
				{10, "四川" + brand + firm},
			})
		}
		if try > 20 {
			n += fmt.Sprintf("（%s分店）", []string{"一", "二", "三", "四", "五", "六", "七", "八", "九"}[try%9])
		}
		if !b.names[n] {
			b.names[n] = true
			return n
		}
	}
}

// address draws the business address of a merchant of in in township t: farms and farmhouses
// sit in villages (村、组), shops on the streets of the town or city.
func (b *registerBuilder) address(in industry, t events.Township) string {
	r := b.r
	p := townshipProfiles[t.Code]
	prefix := "四川省广元市利州区" + t.Name
	if len(p.villages) > 0 && r.chance(.15+.8*in.rural) {
		return fmt.Sprintf("%s%s村%d组%d号", prefix, pick(r, p.villages), r.between(1, 9), r.between(1, 60))
	}
	roads := p.roads
	if len(roads) == 0 {
		roads = []string{"正街"}
	}
	if len(p.villages) > 0 { // a town: short streets, no blocks of flats
		addr := fmt.Sprintf("%s%s%d号", prefix, pick(r, roads), r.between(1, 160))
		if r.chance(.15) {
			addr += fmt.Sprintf("附%d号", r.between(1, 12))
		}
		return addr
	}
	addr := fmt.Sprintf("%s%s%d号", prefix, pick(r, roads), r.between(1, 420))
	switch x := r.float(); {
	case x < .25:
		addr += fmt.Sprintf("附%d号", r.between(1, 30))
	case x < .45:
		addr += fmt.Sprintf("%d栋%d号门市", r.between(1, 12), r.between(1, 20))
	}
	return addr
}

// registeredAt draws the date a merchant entered the register, before start: most merchants are
// young (个体工商户 turn over fast), a few date back to the 2000s.
func (b *registerBuilder) registeredAt(start time.Time, individual bool) time.Time {
	r := b.r
	maxYears := 22.0
	scale := 5.0
	if individual {
		maxYears, scale = 15, 3.5
	}
	years := r.lognormal(scale, .8, .05, maxYears)
	t := start.Add(-time.Duration(years * 365.25 * 24 * float64(time.Hour)))
	return officeHours(r, t)
}

// officeHours moves t to a weekday between 9:00 and 17:00 of the same week.
func officeHours(r *rng, t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, zone)
	switch d.Weekday() {
	case time.Saturday:
		d = d.AddDate(0, 0, -1)
	case time.Sunday:
		d = d.AddDate(0, 0, 1)
	}
	return d.Add(time.Duration(9*3600+r.intn(8*3600)) * time.Second)
}

// code draws a unique unified social credit code (GB 32100-2015): registration authority 9 (工商),
// kind 1 (企业) or 2 (个体工商户), the district code 510802, a nine-character organisation code
// (GB 11714, with its own check character) and the check character of events.USCCCheckChar.
// Entities registered since the code reform (October 2015) carry the MA-series organisation
// codes Sichuan assigns; older companies a digit code; older 个体工商户 an L-series code.
func (b *registerBuilder) code(individual bool, registered time.Time) string {
	r := b.r
	kind := "1"
	if individual {
		kind = "2"
	}
	reform := time.Date(2015, 10, 1, 0, 0, 0, 0, zone)
	for {
		var body string
		switch {
		case !registered.Before(reform):
			body = "MA6" + randomChars(r, orgAlphabet, 5)
		case individual:
			body = "L" + randomChars(r, "0123456789", 7)
		default:
			body = pick(r, []string{"0", "2", "5", "6", "7"}) + randomChars(r, "0123456789", 7)
		}
		prefix := "9" + kind + events.DistrictCode + body + string(orgCheckChar(body))
		c, ok := events.USCCCheckChar(prefix)
		if !ok {
			panic("demo: bad USCC prefix " + prefix)
		}
		code := prefix + string(c)
		if !b.codes[code] {
			b.codes[code] = true
			return code
		}
	}
}

// orgAlphabet is the part of the GB 11714 alphabet that the unified code alphabet admits (no I,
// O, S, V, Z).
const orgAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

func randomChars(r *rng, alphabet string, n int) string {
	var sb strings.Builder
	for range n {
		sb.WriteByte(alphabet[r.intn(len(alphabet))])
	}
	return sb.String()
}

// orgCheckChar is the GB 11714-1997 check character of an eight-character organisation code body:
// weights 3 7 9 10 5 8 4 2, digits worth their value and letters A=10 … Z=35, C9 = 11 − sum mod 11
// with 10 written X and 11 written 0.
func orgCheckChar(body string) byte {
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 8; i++ {
		c := body[i]
		v := int(c - '0')
		if c >= 'A' && c <= 'Z' {
			v = int(c-'A') + 10
		}
		sum += v * weights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// pinned are the merchants the scenario's stories are about; they come first in the register.
var pinned = []struct {
	name, township, industry string
	individual               bool
}{
	{"利州区嘉陵街道老张火锅店", tsJialing, "H6210", true},
	{"广元市利州区金洞乡白云山庄农家乐", tsJindong, "R9030", true},
	{"利州区东坝街道动感健身会所", tsDongba, "R8930", true}, // closes overnight
	{"利州区优学教育培训学校", tsNanhe, "P8399", false},   // stops classes after the summer
	{"利州区万缘街道惠民生鲜超市有限公司", tsWanyuan, "F5212", false},
	{"利州区白朝乡月坝人家农家乐", tsBaichao, "R9030", true}, // the National Day hotspot
	{"广元市利州区白朝乡月坝山居民宿", tsBaichao, "H6130", true},
}

// Indexes of pinned merchants the scenario uses.
const (
	pinGym       = 2
	pinSchool    = 3
	pinMarket    = 4
	pinFarmYueba = 5
)

// buildRegister draws n merchants: the pinned ones first, then the rest by industry weight.
// inWindow of them (the newest) are registered during the period rather than before it.
func buildRegister(cfg Config, w window) []merchantSpec {
	b := newRegisterBuilder(newRNG(cfg.Seed, "register"))
	r := b.r
	specs := make([]merchantSpec, 0, cfg.Merchants)
	for _, p := range pinned {
		if len(specs) == cfg.Merchants {
			break
		}
		t := b.township(p.township)
		b.names[p.name] = true
		specs = append(specs, merchantSpec{
			ind: industryIndex[p.industry], township: t, individual: p.individual, name: p.name,
			address: b.address(industries[industryIndex[p.industry]], t), registered: b.registeredAt(w.start, p.individual),
		})
	}
	ws := make([]float64, len(industries))
	for i, in := range industries {
		ws[i] = in.weight
	}
	pickInd := newWeighted(ws)
	for len(specs) < cfg.Merchants {
		i := pickInd.pick(r)
		in := industries[i]
		individual := len(in.shop) > 0 && (len(in.firm) == 0 || !r.chance(in.company))
		t := b.pickTownship(in)
		s := merchantSpec{ind: i, township: t, individual: individual, name: b.name(in, t, individual), address: b.address(in, t)}
		// About one in twelve registers during the period (new businesses), never in its last
		// month so that something can happen to it.
		if w.days > 60 && r.chance(1.0/12) {
			day := r.between(1, w.days-31)
			s.registered = officeHours(r, w.start.AddDate(0, 0, day))
		} else {
			s.registered = b.registeredAt(w.start, individual)
		}
		specs = append(specs, s)
	}
	return specs
}

// assignCodes gives each spec its unified social credit code, in register order.
func (b *registerBuilder) assignCodes(specs []merchantSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = b.code(s.individual, s.registered)
	}
	return out
}
