package demo

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// catSpec is a complaint category of a group: its weight, the bureau competent to handle it
// (承办单位), and summaries with placeholders filled by fillText.
type catSpec struct {
	cat     string
	w       float64
	to      string
	money   bool     // an amount is in dispute (amount_cny)
	dispute bool     // a consumer dispute that ends in mediation, refund…; false for reports (举报) about nuisances
	codes   []string // when set, only merchants of these classes get this kind of complaint
	texts   []string
}

// amountRange is the money at stake in a group's complaints, yuan.
type amountRange struct{ median, lo, hi float64 }

var groupAmounts = [numGroups]amountRange{
	gCatering: {180, 20, 3000}, gLodging: {350, 80, 3000}, gFarmhouse: {600, 80, 5000},
	gTravel: {800, 30, 12000}, gFoodRetail: {60, 5, 2000}, gGoodsRetail: {900, 30, 30000},
	gPharmacy: {200, 10, 8000}, gFitness: {3000, 300, 20000}, gBeauty: {2500, 100, 30000},
	gTraining: {6000, 800, 40000}, gProperty: {1200, 100, 10000}, gAutoRepair: {1800, 100, 30000},
	gAutoSales: {6000, 200, 80000}, gFuel: {250, 50, 800}, gEntertainment: {600, 50, 5000},
	gOnline: {260, 20, 6000}, gAgri: {200, 20, 5000}, gHomeService: {3500, 100, 50000},
	gClinic: {3000, 100, 50000},
}

var groupComplaints = [numGroups][]catSpec{
	gCatering: {
		{cat: "食品安全", w: 4, to: "amr", money: true, dispute: true, texts: []string{
			"在该店就餐后，同行{n}人陆续出现腹泻、呕吐症状，怀疑{item}不新鲜，要求商家承担医药费",
			"食用{item}时发现菜品中有{foreign}，与店方协商只同意退该道菜，消费者不认可",
			"在该店点的外卖{item}有明显酸味，疑似变质，商家拒绝退款",
			"反映该店后厨卫生脏乱，看到蟑螂在操作台爬行，请求监管部门查处",
			"该店使用的{item}原料无进货票据，疑似来源不明，请求核查",
			"该店服务员徒手抓取熟食，未佩戴口罩和手套，餐具有油渍，要求整改",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"菜单标价{p}元的{item}，结账时按{amt}元收取，多收费用拒不退还",
			"该店{item}未明码标价，一份收费{amt}元，明显高于周边同类餐馆",
			"结账时被收取未事先告知的{fee}{fee_amt}元，要求退还",
			"团购券写明“全天可用”，到店被告知周末需另加{fee_amt}元",
		}},
		{cat: "服务质量", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"上菜等待一个多小时，催促后服务员态度恶劣并出言不逊，要求道歉并减免餐费",
			"提前预订的包间被转给他人，商家拒绝退还定金{amt}元",
			"在店内就餐时地面湿滑摔伤，商家不愿承担医药费",
		}},
		{cat: "预付卡", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"在该店办理储值卡{amt}元，现门店转让，新经营者不认可卡内余额",
			"充值{amt}元办理会员卡，商家擅自取消会员折扣，要求退还余额被拒",
		}},
		{cat: "虚假宣传", w: .6, to: "amr", money: true, dispute: true, texts: []string{
			"宣传“现杀活鱼”“野生河鲜”，实际使用冷冻养殖鱼",
			"店内宣传“当日现熬骨汤”，实为料包勾兑",
		}},
		{cat: "环境污染", w: .5, to: "environment", texts: []string{
			"该店油烟直排，楼上住户无法开窗，多次沟通无果，请求处理",
			"该店排风机噪声和油烟影响周边居民，夜间营业至凌晨",
		}},
		{cat: "占道经营", w: .4, to: "urban", texts: []string{
			"该店长期在人行道摆放桌椅经营，影响行人通行",
			"该店夜间在店外占道烧烤，烟雾大、垃圾多",
		}},
	},
	gLodging: {
		{cat: "服务质量", w: 3, to: "tourism", money: true, dispute: true, texts: []string{
			"客房卫生差，床单有污渍、卫生间有异味，要求换房未果",
			"通过网络平台预订并支付房费{amt}元，到店后被告知无房且不予退款",
			"入住后热水器无热水、空调无法制冷，前台长时间未处理",
			"夜间隔壁房间吵闹，向前台反映多次无人处理，要求减免房费",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"节假日房价临时上调，实际收取{amt}元，与店内公示价格不符",
			"退房时被以“房间物品损坏”为由扣押金{fee_amt}元，店方无法说明损坏情况",
		}},
		{cat: "合同纠纷", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"提前{n}天取消预订，商家拒绝退还定金{amt}元",
			"预订的{item}到店被更换为普通房，差价{fee_amt}元不予退还",
		}},
		{cat: "虚假宣传", w: .5, to: "amr", money: true, dispute: true, texts: []string{
			"网上宣传图片为江景房，实际窗外为墙壁，要求退还差价",
		}},
		{cat: "安全隐患", w: .4, to: "safety", texts: []string{
			"酒店消防通道堆放杂物，安全出口指示灯损坏",
		}},
	},
	gFarmhouse: {
		{cat: "价格欺诈", w: 3, to: "amr", money: true, dispute: true, texts: []string{
			"在该农家乐用餐，{item}未明码标价，一桌收费{amt}元，明显偏高",
			"宣称散养土鸡按{fee_amt}元一斤收费，称重时连同竹篮一起计重",
			"住宿标价{p}元一晚，结账时按{amt}元收取",
			"钓鱼按斤计价但事先未告知价格，结账收费{amt}元",
		}},
		{cat: "服务质量", w: 2, to: "tourism", money: true, dispute: true, texts: []string{
			"实际住宿条件与网络宣传图片严重不符，要求退还部分房费",
			"预订的篝火晚会临时取消，商家拒绝退费",
			"用餐高峰等待两小时无人接待，预付的{amt}元订金不予退还",
		}},
		{cat: "食品安全", w: 1.5, to: "amr", money: true, dispute: true, texts: []string{
			"在该农家乐用餐后{n}人出现腹痛腹泻，怀疑{item}不新鲜",
			"食用店家自采的野生菌后出现头晕呕吐症状，要求赔偿医药费",
		}},
		{cat: "虚假宣传", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"宣传“自家种植有机蔬菜”，实为市场采购",
			"宣称“野生河鱼”，实为养殖鱼，按野生价格收费{amt}元",
		}},
	},
	gTravel: {
		{cat: "服务质量", w: 3, to: "tourism", money: true, dispute: true, codes: []string{"L7291", "N7861"}, texts: []string{
			"跟团游擅自变更行程、减少景点，要求退还相应费用",
			"导游强制游客进入购物店消费，不购物即被冷落",
			"景区观光车排队两小时，未乘坐的票款{fee_amt}元不予退还",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, codes: []string{"F5246", "N7861"}, texts: []string{
			"旅游纪念品未明码标价，一个{item}收费{amt}元",
			"景区内商铺矿泉水售价{fee_amt}元一瓶，未公示价格",
		}},
		{cat: "合同纠纷", w: 1.5, to: "tourism", money: true, dispute: true, codes: []string{"L7291"}, texts: []string{
			"出发前{n}天取消行程，旅行社扣除全部团款{amt}元",
			"旅游合同约定入住三星级酒店，实际安排为普通旅馆",
		}},
		{cat: "虚假宣传", w: 1, to: "amr", money: true, dispute: true, codes: []string{"F5246"}, texts: []string{
			"宣称“野生天麻”“百年灵芝”，实为种植产品，花费{amt}元",
		}},
	},
	gFoodRetail: {
		{cat: "食品安全", w: 4, to: "amr", money: true, dispute: true, texts: []string{
			"购买的{item}已超过保质期{d}天仍在销售",
			"{item}开封后发现霉变、有异味，要求十倍赔偿",
			"购买的{item}包装上无生产日期和生产厂家",
			"超市熟食区{item}疑似变质仍在售卖",
			"购买的{item}食用后出现腹泻，商家拒绝承担责任",
		}},
		{cat: "价格欺诈", w: 3, to: "amr", money: true, dispute: true, texts: []string{
			"{item}货架标价{p}元，结账时按{amt}元收取",
			"促销宣传“买一送一”，结账时未兑现",
			"会员价与结算价不一致，多收{fee_amt}元",
		}},
		{cat: "计量问题", w: 1, to: "quality", money: true, dispute: true, texts: []string{
			"购买{item}{n}斤，回家复称少了近{x}两",
			"商家电子秤未归零，疑似缺斤短两",
		}},
		{cat: "质量问题", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"购买的{item}包装破损、漏液，商家拒绝退换",
		}},
		{cat: "服务质量", w: .5, to: "amr", dispute: true, texts: []string{
			"收银员态度恶劣，拒绝开具发票",
		}},
	},
	gGoodsRetail: {
		{cat: "质量问题", w: 4, to: "amr", money: true, dispute: true, texts: []string{
			"购买的{item}使用{d}天后出现{defect}，商家拒绝退换",
			"购买的{item}与样品不一致，存在明显质量问题",
		}},
		{cat: "售后服务", w: 2, to: "amr", money: true, dispute: true, codes: []string{"F5211", "F5272", "F5274", "F5238", "F5283"}, texts: []string{
			"{item}在三包期内维修{n}次仍未修好，要求换货被拒",
			"商家承诺送货上门安装，付款{amt}元后迟迟不履行",
		}},
		{cat: "价格欺诈", w: 1.5, to: "amr", money: true, dispute: true, texts: []string{
			"以“原价{amt}元、现价{p}元”宣传促销，原价系虚构",
			"同款{item}标价与结算价不一致",
		}},
		{cat: "虚假宣传", w: 1.5, to: "amr", money: true, dispute: true, texts: []string{
			"购买{item}时商家宣称{claim}，经鉴定不符",
		}},
		{cat: "合同纠纷", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"支付定金{fee_amt}元后商家无法按期交货，拒绝退还定金",
		}},
	},
	gPharmacy: {
		{cat: "质量问题", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"购买的{item}包装破损、批号模糊",
			"购买的{item}临近有效期，销售时未告知",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"{item}标价{p}元，医保结算时按{amt}元收取",
		}},
		{cat: "虚假宣传", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"店员推销保健品称可治疗{disease}，老人花费{amt}元",
			"以“免费体检”为名诱导老人购买高价{item}，花费{amt}元",
		}},
		{cat: "服务质量", w: .5, to: "amr", texts: []string{
			"药店无执业药师在岗，销售处方药未要求提供处方",
		}},
	},
	gFitness: {
		{cat: "预付卡", w: 5, to: "amr", money: true, dispute: true, texts: []string{
			"办理{item}{amt}元，现门店停业装修，要求退还剩余费用被拒",
			"办卡时承诺“不满意可随时退”，现申请退卡商家拒绝",
			"购买私教课{n}0节共{amt}元，教练离职后课程无法预约",
			"会员卡到期前被要求续费，不续费即停用，已付{amt}元",
		}},
		{cat: "虚假宣传", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"宣传“24小时营业”“全新器材”，实际器材陈旧、夜间不开放",
		}},
		{cat: "服务质量", w: 1.5, to: "amr", money: true, dispute: true, texts: []string{
			"器材损坏长期未修，淋浴间无热水",
			"上课时反复被推销蛋白粉等产品，拒绝后服务敷衍",
		}},
		{cat: "安全隐患", w: .3, to: "health", texts: []string{
			"游泳池水质浑浊、有异味，无救生员在岗",
		}},
	},
	gBeauty: {
		{cat: "预付卡", w: 4, to: "amr", money: true, dispute: true, texts: []string{
			"充值{amt}元办理{item}，门店转让后新老板不认可余额",
			"办理{item}{amt}元，店家擅自提高项目价格",
			"办卡后被反复推销，拒绝后服务敷衍，要求退卡退费",
		}},
		{cat: "服务质量", w: 2, to: "amr", money: true, dispute: true, codes: []string{"O8040"}, texts: []string{
			"烫染后头发严重受损、头皮过敏，要求赔偿",
			"美甲后指甲感染，店家推卸责任",
		}},
		{cat: "服务质量", w: 2, to: "amr", money: true, dispute: true, codes: []string{"O8051", "O8052"}, texts: []string{
			"推拿后腰部疼痛加重，店家推卸责任",
			"更衣柜内财物丢失，店家拒绝赔偿",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"服务前告知{p}元，完成后以“药水费”“材料费”为由收取{amt}元",
			"价目表未公示，一次护理收费{amt}元",
		}},
		{cat: "虚假宣传", w: 1, to: "amr", money: true, dispute: true, codes: []string{"O8040"}, texts: []string{
			"宣传“祛斑包好”，做了{n}次无效果，要求退费",
		}},
		{cat: "非法医疗美容", w: .5, to: "health", money: true, codes: []string{"O8040"}, texts: []string{
			"在该店注射“玻尿酸”后面部红肿，怀疑非法开展医疗美容",
		}},
	},
	gTraining: {
		{cat: "预付卡", w: 5, to: "education", money: true, dispute: true, texts: []string{
			"一次性缴纳{n}0课时费用{amt}元，学校突然停课，要求退还剩余学费",
			"孩子不愿继续学习，申请退费被以“概不退费”拒绝",
			"更换授课老师后教学质量下降，要求退费未果",
		}},
		{cat: "虚假宣传", w: 2, to: "education", money: true, dispute: true, texts: []string{
			"宣称“保过”“提分30分”，实际无效果，要求退费",
			"宣传“名师授课”，实际为实习老师",
		}},
		{cat: "合同纠纷", w: 1.5, to: "education", money: true, dispute: true, texts: []string{
			"合同约定{n}0次课程，已上{k}次，退费时按原价扣除不合理",
		}},
		{cat: "安全隐患", w: .6, to: "education", texts: []string{
			"培训场所消防条件差，教室拥挤，无安全出口标识",
		}},
	},
	gProperty: {
		{cat: "服务质量", w: 4, to: "housing", dispute: true, texts: []string{
			"小区电梯频繁故障，物业处置不及时",
			"小区垃圾清运不及时，绿化无人管理",
			"车库积水、照明损坏，物业长期不维修",
			"物业擅自将小区公共区域出租，收益未公示",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"物业费未经业主大会即上调，每年多收{amt}元",
			"停车费收费标准未公示，每月收取{fee_amt}元",
			"物业代收水电费加价收取",
		}},
		{cat: "安全隐患", w: 1, to: "quality", texts: []string{
			"小区电梯一个月内困人{n}次，物业未及时处置",
			"电梯检验合格证已过期仍在运行",
		}},
		{cat: "合同纠纷", w: 1, to: "housing", money: true, dispute: true, texts: []string{
			"物业合同到期后拒不退出，继续收取物业费{amt}元",
		}},
	},
	gAutoRepair: {
		{cat: "质量问题", w: 2, to: "transport", money: true, dispute: true, texts: []string{
			"在该厂更换的{item}为拆车件，与报价单不符",
			"保养后车辆出现异响，修理厂推卸责任",
		}},
		{cat: "价格欺诈", w: 3, to: "amr", money: true, dispute: true, texts: []string{
			"维修前报价{p}元，结算时收取{amt}元",
			"未经同意增加维修项目并收费{fee_amt}元",
		}},
		{cat: "服务质量", w: 1, to: "transport", money: true, dispute: true, texts: []string{
			"车辆在店维修期间被剐蹭，店方拒绝赔偿",
		}},
	},
	gAutoSales: {
		{cat: "合同纠纷", w: 3, to: "amr", money: true, dispute: true, codes: []string{"F5261"}, texts: []string{
			"购车时被强制收取{carfee}{fee_amt10}元",
			"交付车辆与合同约定配置不符，要求退还差价",
		}},
		{cat: "质量问题", w: 2, to: "amr", money: true, dispute: true, codes: []string{"F5261"}, texts: []string{
			"新车交付{d}天后出现{defect}，要求换车被拒",
			"新车有维修痕迹，销售时未告知",
		}},
		{cat: "虚假宣传", w: 1, to: "amr", money: true, dispute: true, codes: []string{"F5261"}, texts: []string{
			"宣传“零首付”“零利率”，实际收取高额金融服务费",
		}},
		{cat: "质量问题", w: 3, to: "amr", money: true, dispute: true, codes: []string{"F5263"}, texts: []string{
			"购买的{item}为翻新件，使用不久即损坏",
			"购买的{item}与车型不匹配，商家拒绝退换",
		}},
	},
	gFuel: {
		{cat: "计量问题", w: 4, to: "quality", money: true, dispute: true, texts: []string{
			"加油{n}5升，而油箱容量只有{n}0升，怀疑加油机计量不准",
			"加油机显示数量与实际加油量明显不符",
		}},
		{cat: "质量问题", w: 1, to: "quality", money: true, dispute: true, texts: []string{
			"加油后车辆动力明显下降，怀疑油品质量有问题",
		}},
		{cat: "价格欺诈", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"挂牌油价与实际结算价不一致",
		}},
	},
	gEntertainment: {
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"{item}未明码标价，结账{amt}元",
			"最低消费未事先告知，多收{fee_amt}元",
		}},
		{cat: "服务质量", w: 1, to: "culture", money: true, dispute: true, texts: []string{
			"{item}使用中途中断，拒绝退款",
		}},
		{cat: "预付卡", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"充值{amt}元会员卡后门店停业，无法联系经营者",
		}},
		{cat: "噪声扰民", w: 1, to: "environment", texts: []string{
			"营业至凌晨，音响声音过大影响附近居民休息",
		}},
		{cat: "违规经营", w: .5, to: "culture", texts: []string{
			"该场所允许未成年人进入，未核验身份证",
		}},
	},
	gOnline: {
		{cat: "质量问题", w: 3, to: "amr", money: true, dispute: true, texts: []string{
			"网购的{item}收货时多个腐烂变质，商家拒绝退款",
			"网购的{item}与页面描述严重不符",
		}},
		{cat: "售后服务", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"七日无理由退货被拒，商家以“特价商品”为由推脱",
		}},
		{cat: "虚假宣传", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"直播间宣称{item}{claim}，收货后不符",
		}},
		{cat: "价格欺诈", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"“双十一”期间先涨价后打折，实际价格高于平日",
		}},
	},
	gAgri: {
		{cat: "质量问题", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"购买的{item}多个腐烂，商家拒绝退换",
			"{item}分级与宣传不符，以次充好",
		}},
		{cat: "食品安全", w: 2, to: "agriculture", money: true, dispute: true, codes: []string{"A0159", "A0164", "A0141", "A0142"}, texts: []string{
			"购买的{item}疑似农药残留超标，要求检测",
		}},
		{cat: "食品安全", w: 2, to: "amr", money: true, dispute: true, codes: []string{"C1512"}, texts: []string{
			"购买的{item}疑似用食用酒精勾兑，要求检测",
			"{item}无标签、无生产日期",
		}},
		{cat: "虚假宣传", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"宣称“有机”“地理标志产品”，无法提供认证证书",
		}},
	},
	gHomeService: {
		{cat: "合同纠纷", w: 3, to: "amr", money: true, dispute: true, codes: []string{"O8070", "O8060"}, texts: []string{
			"预付{item}费用{amt}元，临近约定日期商家失联",
			"合同约定的{item}内容被擅自缩减，要求退还差价",
		}},
		{cat: "合同纠纷", w: 3, to: "amr", money: true, dispute: true, codes: []string{"O8010"}, texts: []string{
			"{item}人员{d}天内更换{n}次，要求退还中介费被拒",
		}},
		{cat: "服务质量", w: 2, to: "amr", money: true, dispute: true, codes: []string{"O8010", "O8070", "O8060", "O8132"}, texts: []string{
			"{item}质量差，与合同约定不符，要求退还部分费用",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, codes: []string{"O8132"}, texts: []string{
			"上门{item}虚报故障，收取费用{amt}元",
			"{item}更换的配件未提供凭证，收费{amt}元明显偏高",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, codes: []string{"O8060", "O8070"}, texts: []string{
			"{item}完成后以各种名目加收费用{fee_amt10}元",
		}},
		{cat: "预付卡", w: 2, to: "amr", money: true, dispute: true, codes: []string{"O8060"}, texts: []string{
			"办理{item}{amt}元，拍摄后又被要求加收“精修费”",
		}},
		{cat: "预付卡", w: 4, to: "health", money: true, dispute: true, codes: []string{"O8020"}, texts: []string{
			"预交{n}个月{item}费用{amt}元，机构停业后不予退费",
			"孩子入托后频繁生病，要求退还预交的{item}费用被拒",
		}},
	},
	gClinic: {
		{cat: "服务质量", w: 3, to: "health", money: true, dispute: true, texts: []string{
			"在该诊所做{item}后反复疼痛，诊所推诿",
			"{item}治疗效果与承诺不符，要求退费",
		}},
		{cat: "价格欺诈", w: 2, to: "amr", money: true, dispute: true, texts: []string{
			"{item}治疗前报价{p}元，实际收取{amt}元，收费项目未公示",
		}},
		{cat: "虚假宣传", w: 1, to: "amr", money: true, dispute: true, texts: []string{
			"宣传“无痛”“终身保用”，实际效果不符",
		}},
	},
}

var (
	foreignBodies = []string{"头发", "钢丝球残渣", "苍蝇", "塑料片", "创可贴", "小石子"}
	fees          = []string{"餐位费", "茶位费", "开瓶费", "包间费", "服务费"}
	carFees       = []string{"金融服务费", "上牌服务费", "出库费", "精品加装费"}
	defects       = map[string][]string{
		"F5211": {"破损", "开线"},
		"F5232": {"开线", "起球", "褪色", "跑绒"},
		"F5233": {"开胶", "断底", "掉色"},
		"F5234": {"皮肤过敏", "变质结块"},
		"F5236": {"镜片脱膜", "度数不准"},
		"F5245": {"断裂", "变色"},
		"F5272": {"不制冷", "漏水", "异响", "无法开机"},
		"F5274": {"无法开机", "充电发烫", "屏幕失灵", "自动关机"},
		"F5281": {"漏电", "漏水", "外壳开裂"},
		"F5283": {"开裂", "异味刺鼻", "变形"},
		"F5238": {"电池鼓包", "续航严重不足", "刹车失灵"},
		"F5261": {"发动机异响", "变速箱顿挫", "漏油", "车漆色差"},
	}
	claims = map[string][]string{
		"F5211": {"“纯棉”", "“正品保证”"},
		"F5232": {"“纯棉”", "“羊绒”", "“白鸭绒含量90%”"},
		"F5233": {"“真皮”", "“头层牛皮”"},
		"F5234": {"“进口原装”", "“纯天然无添加”"},
		"F5236": {"“进口镜片”", "“防蓝光”"},
		"F5245": {"“足金999”", "“天然A货翡翠”"},
		"F5272": {"“国家一级能效”", "“原装正品”"},
		"F5274": {"“全新原装”", "“国行正品”"},
		"F5281": {"“国标铜芯”", "“3C认证”"},
		"F5283": {"“实木”", "“环保E0级”"},
		"F5238": {"“新国标”", "“续航100公里”"},
		"F5292": {"“有机种植”", "“野生”", "“原产地直发”", "“特级”"},
	}
	diseases = []string{"高血压", "糖尿病", "关节炎", "失眠"}
)

// specsFor returns the complaint categories that apply to an industry.
func specsFor(in industry) []catSpec {
	var out []catSpec
	for _, s := range groupComplaints[in.group] {
		if len(s.codes) == 0 || slices.Contains(s.codes, in.code) {
			out = append(out, s)
		}
	}
	return out
}

// yuan writes an amount in yuan, without decimals when it has none.
func yuan(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// fillText fills a summary's placeholders and returns it with the amount in dispute: amt, or the
// fee the summary names when it names no other amount.
func fillText(r *rng, text string, in industry, amt float64) (string, float64) {
	if !strings.Contains(text, "{") {
		return text, amt
	}
	n := r.between(2, 6)
	fee := r.between(2, 40) * 5
	if !strings.Contains(text, "{amt}") {
		switch {
		case strings.Contains(text, "{fee_amt}"):
			amt = float64(fee)
		case strings.Contains(text, "{fee_amt10}"):
			amt = float64(fee * 10)
		}
	}
	return strings.NewReplacer(
		"{item}", pickOr(r, in.items, "商品"),
		"{amt}", yuan(amt),
		"{p}", yuan(math.Round(amt*(.45+.35*r.float()))),
		"{n}", strconv.Itoa(n),
		"{k}", strconv.Itoa(r.between(1, n)),
		"{d}", strconv.Itoa(r.between(3, 60)),
		"{x}", []string{"一", "二", "三"}[r.intn(3)],
		"{fee}", pick(r, fees),
		"{carfee}", pick(r, carFees),
		"{fee_amt}", strconv.Itoa(fee),
		"{fee_amt10}", strconv.Itoa(fee*10),
		"{foreign}", pick(r, foreignBodies),
		"{defect}", pickOr(r, defects[in.code], "质量问题"),
		"{claim}", pickOr(r, claims[in.code], "“正品”"),
		"{disease}", pick(r, diseases),
	).Replace(text), amt
}

// pickOr picks from xs, or returns def when xs is empty.
func pickOr(r *rng, xs []string, def string) string {
	if len(xs) == 0 {
		return def
	}
	return pick(r, xs)
}
