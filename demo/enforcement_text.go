package demo

// Texts of inspections, samples, penalties, credit listings, certifications and warnings.

// finding is one thing an inspection can find; penalty, when set, is the penalty basis
// (penaltyBases) of the case it may turn into.
type finding struct {
	text    string
	penalty string
}

// findingSet is what an inspector of one kind writes for each result.
type findingSet struct {
	pass    []string
	rectify []string
	fail    []finding
}

var findingSets = map[string]findingSet{
	"amr/food": {
		pass: []string{"经检查，证照齐全，从业人员健康证明有效，未发现违法违规行为", "食品经营许可证在有效期内，进货查验记录完整", "后厨布局合理，生熟分开，未发现问题"},
		rectify: []string{"从业人员健康证明过期{n}人，责令限期整改", "后厨生熟食品未分开存放，责令立即整改", "进货查验记录不完整，部分{item}无供货票据",
			"冷藏设施温度记录缺失", "部分商品未明码标价", "食品添加剂未专柜存放、未建立使用台账", "防蝇防鼠设施不完善", "餐具消毒记录不全，消毒柜未正常使用"},
		fail: []finding{
			{"销售超过保质期的{item}{n}批次，已现场下架并立案调查", "food.expired"},
			{"使用来源不明的{item}原料，无法提供进货凭证，已立案调查", "food.unqualified"},
			{"未取得食品经营许可证从事食品经营活动", "food.unlicensed"},
			{"后厨发现老鼠活动痕迹，卫生状况严重不达标，责令停业整改", "food.hygiene"},
		},
	},
	"amr/drug": {
		pass:    []string{"药品购进记录完整，执业药师在岗，未发现问题", "药品陈列分类规范，温湿度记录完整"},
		rectify: []string{"处方药未凭处方销售，无处方登记记录", "执业药师不在岗且未挂牌告知", "阴凉区温湿度记录不全", "拆零药品未标明名称、规格、批号"},
		fail: []finding{
			{"销售过期药品{n}盒，已立案调查", "drug.substandard"},
			{"未按规定建立并执行药品购进验收制度，经责令整改仍未改正", "drug.gsp"},
		},
	},
	"amr/prepaid": {
		pass:    []string{"预付卡合同文本规范，收费标准已公示，未发现问题"},
		rectify: []string{"预付卡合同未载明退费条款，责令修改合同文本", "收费标准未公示", "未按规定建立预收款台账", "营业执照未悬挂在醒目位置"},
		fail: []finding{
			{"预收款后停止服务、拒不退款，已立案调查", "consumer.refund"},
			{"宣传资料含有虚假或者引人误解的内容，已立案调查", "consumer.falsead"},
		},
	},
	"amr/general": {
		pass:    []string{"经检查，营业执照悬挂规范，未发现违法违规行为", "商品明码标价规范，进货台账完整"},
		rectify: []string{"部分商品未明码标价", "营业执照未悬挂在醒目位置", "未按规定建立商品进货台账", "未按规定公示年度报告，责令补报"},
		fail: []finding{
			{"销售不合格{item}，已立案调查", "product.quality"},
			{"商品标价与结算价不一致，涉嫌价格欺诈，已立案调查", "price.fraud"},
		},
	},
	"quality/equipment": {
		pass:    []string{"电梯定期检验合格，维保记录完整", "特种设备登记、检验、维保资料齐全"},
		rectify: []string{"电梯维保记录不完整", "特种设备作业人员证书过期", "电梯应急救援电话无人接听，责令整改", "压力容器安全附件未按期校验"},
		fail:    []finding{{"电梯超期未检验仍在使用，已责令停止使用并立案调查", "equipment.overdue"}},
	},
	"quality/metrology": {
		pass:    []string{"计量器具均在检定有效期内", "计量器具检定标识齐全，未发现问题"},
		rectify: []string{"{n}台电子秤未按期检定", "加油机铅封不完整", "计量器具检定标识缺失"},
		fail: []finding{
			{"使用未经检定的计量器具，已立案调查", "metrology.unverified"},
			{"计量器具发现疑似作弊装置，已立案调查", "metrology.cheat"},
		},
	},
	"health/public": {
		pass:    []string{"卫生许可证在有效期内，公共用品用具消毒规范", "从业人员健康证明齐全，卫生管理制度健全"},
		rectify: []string{"从业人员健康证明过期{n}人", "公共用品用具消毒不规范", "卫生许可证未公示", "空气质量检测报告未公示", "游泳池水质余氯不达标"},
		fail:    []finding{{"未取得公共场所卫生许可证从事经营", ""}, {"顾客用品用具卫生检测不合格", ""}},
	},
	"health/clinic": {
		pass:    []string{"执业许可证在有效期内，医疗废物处置规范"},
		rectify: []string{"医疗废物交接登记不全", "消毒记录不完整", "医务人员执业证书未公示"},
		fail:    []finding{{"超出核准登记的诊疗科目执业", ""}},
	},
	"health/childcare": {
		pass:    []string{"托育机构备案信息齐全，卫生保健制度健全"},
		rectify: []string{"保育人员健康证明过期{n}人", "玩具消毒记录不全", "晨午检记录不完整"},
		fail:    []finding{{"未按规定备案擅自开展托育服务", ""}},
	},
	"tourism/lodging": {
		pass:    []string{"价格公示规范，安全设施完好", "服务设施与星级标准相符"},
		rectify: []string{"价格公示牌不规范", "安全提示标识缺失", "消防器材过期", "客房卫生不达标"},
		fail:    []finding{{"节假日价格明显高于公示价格，移交市场监管部门处理", ""}},
	},
	"tourism/scenic": {
		pass:    []string{"价格公示规范，安全设施完好", "游客投诉处理台账完整"},
		rectify: []string{"价格公示牌不规范", "安全提示标识缺失", "消防器材过期", "游客投诉处理台账不全"},
		fail:    []finding{{"商品未明码标价、哄抬价格，移交市场监管部门处理", ""}},
	},
	"tourism/agency": {
		pass:    []string{"旅游合同签订规范，导游持证上岗"},
		rectify: []string{"未按规定签订旅游合同", "导游未佩戴导游证", "旅游团队信息未按规定报备"},
		fail:    []finding{{"安排游客参加另行付费旅游项目，强迫游客购物，已立案调查", "tourism.shopping"}},
	},
}

// penaltyBasis is the legal basis of a kind of case and the penalties it usually brings.
type penaltyBasis struct {
	bureau  string
	basis   string // 法律依据
	offence string // what the decision says the merchant did, for typical cases and listings
	kind    string // main kind of penalty
	fineLo  float64
	fineHi  float64 // 0: no fine
	serious bool    // may lead to the 严重违法失信名单
}

var penaltyBases = map[string]penaltyBasis{
	"food.unqualified":     {"amr", "《中华人民共和国食品安全法》第一百二十四条第一款第（一）项", "经营不符合食品安全标准的食品", "fine", 50000, 100000, true},
	"food.expired":         {"amr", "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项", "经营超过保质期的食品", "fine", 50000, 80000, true},
	"food.unlicensed":      {"amr", "《中华人民共和国食品安全法》第一百二十二条第一款", "未取得食品经营许可从事食品经营活动", "fine", 50000, 100000, false},
	"food.hygiene":         {"amr", "《中华人民共和国食品安全法》第一百二十六条第一款", "未按规定落实食品安全管理制度", "fine", 5000, 20000, false},
	"food.sampling":        {"amr", "《中华人民共和国食品安全法》第一百二十四条第一款第（一）项、第一百三十六条", "销售抽检不合格食品", "confiscation", 0, 0, false},
	"drug.substandard":     {"amr", "《中华人民共和国药品管理法》第一百一十七条第一款", "销售劣药", "fine", 100000, 150000, true},
	"drug.gsp":             {"amr", "《中华人民共和国药品管理法》第一百二十六条", "未遵守药品经营质量管理规范", "warning", 0, 0, false},
	"price.fraud":          {"amr", "《中华人民共和国价格法》第四十条第一款", "利用虚假的或者使人误解的价格手段诱骗消费者", "fine", 5000, 50000, false},
	"price.label":          {"amr", "《中华人民共和国价格法》第四十二条", "不按规定明码标价", "fine", 500, 5000, false},
	"consumer.refund":      {"amr", "《中华人民共和国消费者权益保护法》第五十六条第一款第（八）项", "对消费者提出的退货、退还预付款等要求故意拖延或者无理拒绝", "fine", 10000, 100000, true},
	"consumer.falsead":     {"amr", "《中华人民共和国消费者权益保护法》第五十六条第一款第（六）项", "对商品或者服务作虚假或者引人误解的宣传", "fine", 10000, 80000, false},
	"product.quality":      {"amr", "《中华人民共和国产品质量法》第四十九条", "销售不符合保障人体健康和人身、财产安全的国家标准、行业标准的产品", "confiscation", 2000, 30000, false},
	"product.industrial":   {"quality", "《中华人民共和国产品质量法》第四十九条", "销售不符合保障人体健康和人身、财产安全的国家标准、行业标准的产品", "confiscation", 2000, 30000, false},
	"metrology.unverified": {"quality", "《中华人民共和国计量法》第二十六条", "使用未按照规定申请检定的强制检定计量器具", "fine", 200, 1000, false},
	"metrology.cheat":      {"quality", "《中华人民共和国计量法》第二十七条", "使用以欺骗消费者为目的的计量器具", "fine", 2000, 10000, false},
	"equipment.overdue":    {"quality", "《中华人民共和国特种设备安全法》第八十四条第一款第（一）项", "使用未经定期检验的特种设备", "fine", 30000, 50000, false},
	"env.fume":             {"environment", "《中华人民共和国大气污染防治法》第一百一十八条第一款", "未安装油烟净化设施、超标排放油烟", "fine", 5000, 30000, false},
	"urban.street":         {"urban", "《城市市容和环境卫生管理条例》第三十六条", "擅自占用道路摆摊设点、堆放物料", "warning", 0, 0, false},
	"urban.street.fine":    {"urban", "《城市市容和环境卫生管理条例》第三十六条", "擅自占用道路摆摊设点、堆放物料，经责令改正拒不改正", "fine", 200, 2000, false},
	"tourism.shopping":     {"tourism", "《中华人民共和国旅游法》第九十八条", "指定具体购物场所、安排另行付费旅游项目", "fine", 30000, 100000, false},
}

// decisionPrefixes are the 文号 prefixes of the penalising units: 利市监罚〔2026〕123号.
var decisionPrefixes = map[string]string{
	"amr": "利市监罚", "quality": "利质监罚", "environment": "利环罚", "urban": "利城管罚", "tourism": "利旅罚",
}

// complaintPenalties are the penalty bases a complaint referred to a case (诉转案) may lead to,
// by the bureau that handled it; none when that bureau's cases are not shared as events.
func complaintPenalties(to, cat string, g group) []choice[string] {
	one := func(k string) []choice[string] { return []choice[string]{{1, k}} }
	switch to {
	case "amr":
		switch cat {
		case "食品安全":
			return []choice[string]{{1, "food.hygiene"}, {1, "food.expired"}, {1, "food.unqualified"}}
		case "价格欺诈":
			return []choice[string]{{2, "price.fraud"}, {1, "price.label"}}
		case "虚假宣传":
			return one("consumer.falsead")
		case "预付卡", "合同纠纷", "售后服务", "服务质量":
			return one("consumer.refund")
		case "质量问题":
			if g == gPharmacy {
				return one("drug.gsp")
			}
			return one("product.quality")
		}
	case "quality":
		switch cat {
		case "计量问题":
			return []choice[string]{{3, "metrology.unverified"}, {1, "metrology.cheat"}}
		case "质量问题":
			return one("product.industrial")
		case "安全隐患":
			return one("equipment.overdue")
		}
	case "environment":
		if cat == "环境污染" {
			return one("env.fume")
		}
	case "urban":
		if cat == "占道经营" {
			return []choice[string]{{2, "urban.street"}, {1, "urban.street.fine"}}
		}
	case "tourism":
		if g == gTravel {
			return one("tourism.shopping")
		}
	}
	return nil
}

// samplingProducts are the products sampled from merchants of a class, by the sampling bureau.
var samplingProducts = map[string]map[string][]string{
	"amr": {
		"F5212": {"散装白酒", "食用植物油（菜籽油）", "大米", "挂面", "鸡蛋", "猕猴桃", "酸奶", "香肠", "腊肉", "豆芽", "韭菜", "桶装饮用水"},
		"F5213": {"饮料", "方便面", "饼干", "速冻水饺"},
		"F5221": {"大米", "散装菜籽油", "小麦粉", "挂面"},
		"F5223": {"猕猴桃", "韭菜", "芹菜", "豇豆", "柑橘"},
		"F5224": {"猪肉", "牛肉", "鸡蛋", "草鱼"},
		"F5229": {"卤肉", "腊肉", "香肠", "黑木耳", "花椒"},
		"F5226": {"散装白酒", "黄茶", "绿茶"},
		"F5222": {"面包", "蛋糕", "糕点"},
		"H6210": {"复用餐饮具", "火锅底料（自制）", "煎炸过程用油", "凉拌菜"},
		"H6220": {"复用餐饮具", "米饭", "煎炸过程用油"},
		"H6291": {"复用餐饮具", "凉面", "米豆腐", "煎炸过程用油"},
		"H6239": {"奶茶", "现制饮料"},
		"R9030": {"自酿白酒", "腊肉", "复用餐饮具"},
		"H6130": {"自酿白酒", "复用餐饮具"},
		"C1512": {"散装白酒（浓香型）", "粮食酒"},
		"A0159": {"猕猴桃"},
		"A0164": {"黄茶", "绿茶"},
		"A0141": {"韭菜", "豇豆", "芹菜", "普通白菜"},
		"A0142": {"香菇", "黑木耳"},
		"F5251": {"阿莫西林胶囊", "板蓝根颗粒", "感冒灵颗粒", "医用外科口罩", "维生素C片"},
		"F5252": {"中药饮片（黄芪）", "中药饮片（当归）", "天麻", "三七粉"},
		"F5292": {"猕猴桃（网售）", "腊肉（网售）", "黄茶（网售）"},
		"F5234": {"面膜", "洗发水", "染发剂"},
	},
	"quality": {
		"F5265": {"车用汽油（VIB）", "车用柴油（VI）"},
		"F5238": {"电动自行车", "电动自行车用充电器", "电动自行车用蓄电池"},
		"F5281": {"插头插座", "电线电缆", "断路器"},
		"F5232": {"儿童服装", "校服"},
		"F5233": {"童鞋", "运动鞋"},
		"F5272": {"电暖器", "电热水壶", "电热毯"},
		"F5211": {"保温杯", "儿童玩具", "床上用品"},
		"F5283": {"床垫", "儿童家具"},
		"F5263": {"机动车制动液", "汽车轮胎"},
	},
}

// Seasonal foods, sampled only around their festival.
var seasonalProducts = []struct {
	product  string
	codes    []string
	from, to [2]int // month, day
}{
	{"月饼", []string{"F5212", "F5222"}, [2]int{8, 15}, [2]int{9, 30}},
	{"汤圆", []string{"F5212", "F5213"}, [2]int{12, 15}, [2]int{2, 28}},
	{"粽子", []string{"F5212", "F5222"}, [2]int{5, 10}, [2]int{6, 20}},
}

// Credit list reasons.
const (
	reasonUnreachable  = "通过登记的住所或者经营场所无法联系"
	reasonFalseInfo    = "公示企业信息隐瞒真实情况、弄虚作假"
	delistUnreachable  = "已依法办理住所（经营场所）变更登记，申请移出经营异常名录"
	delistFalseInfo    = "已更正其公示的信息，申请移出经营异常名录"
	annualReportReason = "未按照《企业信息公示暂行条例》规定的期限公示%d年度报告"
	annualReportDelist = "已补报%d年度报告并公示，申请移出经营异常名录"
	seriousReason      = "因%s受到较重行政处罚（%s），依据《市场监督管理严重违法失信名单管理办法》列入严重违法失信名单"
)

// Certification schemes and how they are written.
const (
	schemeDemoUnit       = "demo_unit"       // 放心舒心消费示范单位
	schemeStarFarmhouse  = "star_farmhouse"  // 星级农家乐
	schemeOrganic        = "organic"         // 有机产品认证
	schemeContractCredit = "contract_credit" // 守合同重信用
	schemeGeoMark        = "geo_mark"        // 地理标志证明商标使用许可
)
