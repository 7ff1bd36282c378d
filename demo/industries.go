package demo

// group gathers industry classes whose complaints, inspections and samples look alike.
type group int

const (
	gCatering      group = iota // 餐饮
	gLodging                    // 住宿
	gFarmhouse                  // 农家乐、民宿
	gTravel                     // 旅行社、景区、旅游商品
	gFoodRetail                 // 食品零售、超市
	gGoodsRetail                // 日用品、家电、服装等零售
	gPharmacy                   // 药店
	gFitness                    // 健身、体育培训（预付卡）
	gBeauty                     // 美容美发、洗浴足浴（预付卡）
	gTraining                   // 教育培训（预付卡）
	gProperty                   // 物业
	gAutoRepair                 // 汽车、摩托车维修
	gAutoSales                  // 汽车销售、汽配
	gFuel                       // 加油站
	gEntertainment              // 娱乐
	gOnline                     // 网络零售
	gAgri                       // 农产品生产、酿酒
	gHomeService                // 家政、婚庆、摄影、家电维修、托育
	gClinic                     // 诊所
	numGroups

	gAny = numGroups // no trade in particular: only the seasons every trade shares
)

// industry is a GB/T 4754-2017 class (小类) the generator uses, with how merchants of it are named
// and how often consumers complain about them. Every code is checked against events'
// reference data by the tests.
type industry struct {
	code    string
	group   group
	weight  float64  // share of the register, relative
	company float64  // share registered as companies (the rest are 个体工商户)
	rural   float64  // 0 spreads like the population, 1 sits where the tourists and fields are
	rate    float64  // complaints per merchant, relative
	shop    []string // endings of 个体工商户 names, e.g. 火锅店
	firm    []string // endings of company names, e.g. 餐饮管理有限公司
	items   []string // goods and services complaints and samples talk about
}

var industries = []industry{
	// 餐饮
	{code: "H6210", group: gCatering, weight: 90, company: .15, rural: .2, rate: 1.0,
		shop:  []string{"火锅店", "中餐馆", "川菜馆", "酒楼", "饭店", "鱼庄", "烤鱼店", "私房菜馆", "土菜馆", "豆腐宴", "羊肉汤馆"},
		firm:  []string{"餐饮管理有限公司", "餐饮有限公司", "酒楼有限公司", "火锅有限公司"},
		items: []string{"火锅", "酸菜鱼", "毛血旺", "回锅肉", "烤鱼", "凉拌鸡", "剑门豆腐", "黄辣丁", "鱼头火锅", "宴席套餐"}},
	{code: "H6220", group: gCatering, weight: 35, company: .2, rate: .6,
		shop:  []string{"快餐店", "中式快餐店", "盖浇饭店", "汉堡店", "炸鸡店"},
		firm:  []string{"餐饮管理有限公司", "快餐有限公司"},
		items: []string{"盒饭", "快餐套餐", "汉堡", "炸鸡", "盖浇饭", "外卖套餐"}},
	{code: "H6291", group: gCatering, weight: 90, company: .03, rural: .15, rate: .5,
		shop:  []string{"蒸凉面店", "面馆", "米粉店", "抄手店", "包子铺", "麻辣烫店", "串串香店", "冒菜馆", "烧烤店", "米豆腐店", "豆花面馆", "饺子馆"},
		firm:  []string{"餐饮店有限公司", "小吃店有限公司"},
		items: []string{"蒸凉面", "米豆腐", "酸菜豆花面", "麻辣烫", "串串", "烧烤", "冒菜", "包子", "抄手", "牛肉面"}},
	{code: "H6231", group: gCatering, weight: 25, company: .1, rate: .3,
		shop:  []string{"茶楼", "茶坊", "茶馆"},
		firm:  []string{"茶楼有限公司", "茶文化传播有限公司"},
		items: []string{"茶水", "茶点", "棋牌包间"}},
	{code: "H6232", group: gCatering, weight: 8, company: .4, rate: .3,
		shop:  []string{"咖啡馆", "咖啡店"},
		firm:  []string{"咖啡有限公司"},
		items: []string{"咖啡", "甜品", "蛋糕"}},
	{code: "H6239", group: gCatering, weight: 25, company: .2, rate: .4,
		shop:  []string{"奶茶店", "饮品店", "冷饮店", "果茶店"},
		firm:  []string{"餐饮管理有限公司", "饮品有限公司"},
		items: []string{"奶茶", "果茶", "冰淇淋", "鲜榨果汁"}},

	// 住宿
	{code: "H6110", group: gLodging, weight: 6, company: 1, rate: 1.5,
		firm:  []string{"大酒店有限公司", "酒店管理有限公司", "国际酒店有限公司"},
		items: []string{"标准间", "豪华江景房", "会议室", "婚宴"}},
	{code: "H6121", group: gLodging, weight: 6, company: .8, rate: 1.0,
		shop:  []string{"快捷酒店", "商务酒店"},
		firm:  []string{"酒店管理有限公司", "商务酒店有限公司"},
		items: []string{"标准间", "大床房"}},
	{code: "H6129", group: gLodging, weight: 35, company: .1, rate: .6,
		shop:  []string{"宾馆", "旅馆", "招待所", "客栈", "商务宾馆"},
		firm:  []string{"宾馆有限公司"},
		items: []string{"标准间", "单人间", "钟点房"}},
	{code: "H6130", group: gFarmhouse, weight: 18, company: .1, rural: .8, rate: .7,
		shop:  []string{"民宿", "山居民宿", "客栈", "山舍"},
		firm:  []string{"民宿管理有限公司", "乡村旅游开发有限公司"},
		items: []string{"山景房", "家庭套房", "农家饭", "土鸡汤"}},

	// 农家乐、旅游
	{code: "R9030", group: gFarmhouse, weight: 40, company: .1, rural: .95, rate: .8,
		shop:  []string{"农家乐", "山庄农家乐", "生态农庄", "休闲山庄", "乡村酒店"},
		firm:  []string{"生态农业观光有限公司", "休闲农业开发有限公司"},
		items: []string{"柴火鸡", "土鸡", "腊肉", "河鱼", "野菜", "农家豆花", "土鸡汤", "烤全羊"}},
	{code: "L7291", group: gTravel, weight: 6, company: 1, rate: 1.2,
		firm:  []string{"旅行社有限公司", "国际旅行社有限公司", "旅游服务有限公司"},
		items: []string{"跟团游", "一日游", "自驾游套餐"}},
	{code: "N7861", group: gTravel, weight: 2, company: 1, rural: .7, rate: .8,
		firm:  []string{"旅游开发有限公司", "景区管理有限公司"},
		items: []string{"门票", "观光车票", "索道票"}},
	{code: "F5246", group: gTravel, weight: 10, company: .1, rural: .4, rate: .6,
		shop:  []string{"旅游纪念品店", "工艺品店", "文创店"},
		firm:  []string{"旅游商品有限公司", "文化创意有限公司"},
		items: []string{"手串", "木雕", "天麻", "核桃", "黄茶", "剑门豆腐礼盒", "旅游纪念章"}},

	// 食品零售
	{code: "F5212", group: gFoodRetail, weight: 45, company: .35, rate: .9,
		shop:  []string{"超市", "生鲜超市", "便民超市"},
		firm:  []string{"超市有限公司", "生鲜超市有限公司", "商贸有限公司", "购物中心有限公司"},
		items: []string{"牛奶", "酸奶", "面包", "腊肉", "香肠", "散装白酒", "食用油", "大米", "鸡蛋", "猕猴桃", "速冻汤圆", "火锅底料", "袋装零食", "冷鲜肉", "饮料", "挂面"}},
	{code: "F5213", group: gFoodRetail, weight: 40, company: .1, rate: .4,
		shop:  []string{"便利店", "便民店", "副食店"},
		firm:  []string{"便利店有限公司"},
		items: []string{"牛奶", "面包", "饮料", "方便面", "袋装零食", "香烟"}},
	{code: "F5221", group: gFoodRetail, weight: 20, company: .1, rate: .4,
		shop:  []string{"粮油店", "粮油经营部"},
		firm:  []string{"粮油有限公司"},
		items: []string{"大米", "菜籽油", "面粉", "挂面", "散装食用油"}},
	{code: "F5223", group: gFoodRetail, weight: 50, company: .03, rate: .3,
		shop:  []string{"水果店", "蔬菜店", "果蔬店", "水果超市"},
		firm:  []string{"果业有限公司"},
		items: []string{"猕猴桃", "苹果", "草莓", "车厘子", "橙子", "蔬菜"}},
	{code: "F5224", group: gFoodRetail, weight: 40, company: .03, rate: .35,
		shop:  []string{"鲜肉店", "冷鲜肉店", "水产店", "禽蛋店"},
		firm:  []string{"肉类食品有限公司"},
		items: []string{"猪肉", "牛肉", "鲜鱼", "鸡蛋", "冻品"}},
	{code: "F5229", group: gFoodRetail, weight: 25, company: .1, rate: .4,
		shop:  []string{"土特产店", "卤菜店", "干杂店", "特产店"},
		firm:  []string{"特产有限公司", "食品有限公司"},
		items: []string{"卤菜", "腊肉", "香肠", "木耳", "核桃", "香菇", "花椒"}},
	{code: "F5226", group: gFoodRetail, weight: 20, company: .1, rate: .4,
		shop:  []string{"茶叶店", "烟酒店", "酒行", "茶行"},
		firm:  []string{"茶业有限公司", "酒业有限公司"},
		items: []string{"白酒", "黄茶", "绿茶", "红酒", "礼品酒"}},
	{code: "F5222", group: gFoodRetail, weight: 15, company: .2, rate: .5,
		shop:  []string{"蛋糕店", "面包店", "烘焙坊"},
		firm:  []string{"食品有限公司", "烘焙有限公司"},
		items: []string{"生日蛋糕", "面包", "月饼", "糕点"}},

	// 日用品零售
	{code: "F5211", group: gGoodsRetail, weight: 10, company: .6, rate: .8,
		shop:  []string{"百货商店", "百货店"},
		firm:  []string{"百货有限公司", "商贸有限公司"},
		items: []string{"床上四件套", "保温杯", "羽绒服", "电饭煲", "儿童玩具"}},
	{code: "F5232", group: gGoodsRetail, weight: 55, company: .05, rate: .3,
		shop:  []string{"服装店", "服饰店", "童装店", "女装店"},
		firm:  []string{"服饰有限公司"},
		items: []string{"羽绒服", "羊毛衫", "牛仔裤", "童装", "校服"}},
	{code: "F5233", group: gGoodsRetail, weight: 15, company: .05, rate: .3,
		shop:  []string{"鞋店", "鞋业"},
		firm:  []string{"鞋业有限公司"},
		items: []string{"运动鞋", "皮鞋", "童鞋"}},
	{code: "F5234", group: gGoodsRetail, weight: 15, company: .1, rate: .4,
		shop:  []string{"化妆品店", "美妆店"},
		firm:  []string{"化妆品有限公司"},
		items: []string{"面霜", "面膜", "洗发水", "口红"}},
	{code: "F5236", group: gGoodsRetail, weight: 10, company: .2, rate: .4,
		shop:  []string{"眼镜店", "眼镜行"},
		firm:  []string{"眼镜有限公司"},
		items: []string{"眼镜", "近视镜片", "隐形眼镜"}},
	{code: "F5245", group: gGoodsRetail, weight: 8, company: .4, rate: .6,
		shop:  []string{"金店", "珠宝店"},
		firm:  []string{"珠宝有限公司", "黄金珠宝有限公司"},
		items: []string{"黄金项链", "金手镯", "翡翠手镯", "钻戒"}},
	{code: "F5272", group: gGoodsRetail, weight: 15, company: .4, rate: .9,
		shop:  []string{"家电商场", "电器商行"},
		firm:  []string{"电器有限公司", "家电销售有限公司"},
		items: []string{"电视机", "冰箱", "洗衣机", "空调", "热水器", "电暖器"}},
	{code: "F5274", group: gGoodsRetail, weight: 20, company: .2, rate: .6,
		shop:  []string{"手机店", "通讯店", "数码店"},
		firm:  []string{"通讯设备有限公司", "数码科技有限公司"},
		items: []string{"手机", "智能手表", "平板电脑", "蓝牙耳机"}},
	{code: "F5281", group: gGoodsRetail, weight: 25, company: .05, rate: .2,
		shop:  []string{"五金店", "五金建材店", "水电五金店"},
		firm:  []string{"五金建材有限公司"},
		items: []string{"插线板", "水龙头", "电线", "开关插座"}},
	{code: "F5283", group: gGoodsRetail, weight: 10, company: .3, rate: .6,
		shop:  []string{"家具店", "家居馆"},
		firm:  []string{"家具有限公司", "家居有限公司"},
		items: []string{"沙发", "床垫", "衣柜", "餐桌"}},
	{code: "F5238", group: gGoodsRetail, weight: 12, company: .2, rate: .5,
		shop:  []string{"电动车行", "电动车专卖店"},
		firm:  []string{"电动车销售有限公司"},
		items: []string{"电动自行车", "电动车蓄电池", "电动车充电器"}},

	// 药店
	{code: "F5251", group: gPharmacy, weight: 40, company: .6, rate: .4,
		shop:  []string{"大药房", "药店", "药房"},
		firm:  []string{"大药房有限公司", "医药有限公司"},
		items: []string{"感冒灵颗粒", "阿莫西林胶囊", "布洛芬缓释胶囊", "板蓝根颗粒", "医用口罩", "血压计", "鱼油软胶囊", "蛋白粉"}},
	{code: "F5252", group: gPharmacy, weight: 8, company: .3, rate: .3,
		shop:  []string{"中药房", "中药店", "国医馆"},
		firm:  []string{"中药饮片有限公司", "医药有限公司"},
		items: []string{"中药饮片", "天麻", "灵芝孢子粉", "三七粉", "川贝"}},

	// 健身、体育培训
	{code: "R8930", group: gFitness, weight: 18, company: .4, rate: 2.0,
		shop:  []string{"健身会所", "健身中心", "健身工作室", "瑜伽馆", "游泳健身馆"},
		firm:  []string{"健身服务有限公司", "体育发展有限公司", "健身管理有限公司"},
		items: []string{"年卡", "私教课", "游泳卡", "瑜伽课程"}},
	{code: "P8392", group: gFitness, weight: 8, company: .4, rate: 1.4,
		shop:  []string{"跆拳道馆", "游泳培训中心", "篮球训练营"},
		firm:  []string{"体育文化传播有限公司", "体育培训有限公司"},
		items: []string{"跆拳道课程", "游泳培训班", "篮球课程"}},

	// 美容美发、洗浴
	{code: "O8040", group: gBeauty, weight: 90, company: .05, rate: .9,
		shop:  []string{"美容美发店", "理发店", "美容院", "美甲店", "造型设计工作室", "美发沙龙"},
		firm:  []string{"美容美发有限公司", "美容管理有限公司"},
		items: []string{"美容卡", "美发套餐卡", "烫染", "皮肤管理疗程", "美甲"}},
	{code: "O8051", group: gBeauty, weight: 6, company: .4, rate: .6,
		shop:  []string{"洗浴中心", "汗蒸馆"},
		firm:  []string{"洗浴有限公司", "休闲服务有限公司"},
		items: []string{"洗浴年卡", "汗蒸套餐"}},
	{code: "O8052", group: gBeauty, weight: 18, company: .2, rate: .7,
		shop:  []string{"足浴店", "养生馆", "足道"},
		firm:  []string{"养生服务有限公司"},
		items: []string{"足疗卡", "养生套餐", "推拿疗程"}},

	// 教育培训
	{code: "P8391", group: gTraining, weight: 8, company: .9, rate: 1.2,
		shop:  []string{"职业技能培训中心"},
		firm:  []string{"职业技能培训有限公司", "教育咨询有限公司"},
		items: []string{"电工证培训", "会计培训", "厨师培训", "驾驶培训"}},
	{code: "P8393", group: gTraining, weight: 15, company: .5, rate: 1.5,
		shop:  []string{"艺术培训中心", "舞蹈工作室", "美术工作室", "琴行"},
		firm:  []string{"文化艺术培训有限公司", "文化传播有限公司"},
		items: []string{"舞蹈课", "美术课", "钢琴课", "书法课"}},
	{code: "P8399", group: gTraining, weight: 15, company: .8, rate: 1.8,
		shop:  []string{"教育培训中心"},
		firm:  []string{"教育咨询有限公司", "教育科技有限公司", "教育培训学校"},
		items: []string{"课外辅导课程", "编程课", "研学营", "口才课"}},

	// 物业
	{code: "K7020", group: gProperty, weight: 25, company: 1, rate: 2.0,
		firm:  []string{"物业管理有限公司", "物业服务有限公司"},
		items: []string{"物业费", "停车费", "电梯", "水电费"}},

	// 汽车
	{code: "O8111", group: gAutoRepair, weight: 35, company: .3, rural: .1, rate: .8,
		shop:  []string{"汽车修理厂", "汽修店", "汽车美容店", "汽车维修中心"},
		firm:  []string{"汽车维修有限公司", "汽车服务有限公司"},
		items: []string{"刹车片", "轮胎", "机油", "变速箱", "空调压缩机"}},
	{code: "O8113", group: gAutoRepair, weight: 10, company: .02, rural: .3, rate: .3,
		shop:  []string{"摩托车修理店", "摩托车维修部"},
		firm:  []string{"摩托车维修有限公司"},
		items: []string{"摩托车发动机", "轮胎", "电瓶"}},
	{code: "F5261", group: gAutoSales, weight: 6, company: 1, rate: 1.8,
		firm:  []string{"汽车销售服务有限公司", "汽车贸易有限公司"},
		items: []string{"新车", "延保服务", "车险套餐"}},
	{code: "F5263", group: gAutoSales, weight: 10, company: .3, rate: .4,
		shop:  []string{"汽配店", "汽车配件经营部"},
		firm:  []string{"汽车配件有限公司"},
		items: []string{"轮胎", "蓄电池", "机油", "雨刮器"}},
	{code: "F5265", group: gFuel, weight: 6, company: 1, rural: .4, rate: .5,
		firm:  []string{"石油销售有限公司", "能源有限公司", "加油站有限公司"},
		items: []string{"92号汽油", "95号汽油", "0号柴油"}},

	// 娱乐
	{code: "R9011", group: gEntertainment, weight: 8, company: .5, rate: .8,
		shop:  []string{"KTV", "歌城", "量贩KTV"},
		firm:  []string{"娱乐有限公司", "文化娱乐有限公司"},
		items: []string{"包间", "酒水套餐", "果盘"}},
	{code: "R9013", group: gEntertainment, weight: 8, company: .5, rate: .3,
		shop:  []string{"网吧", "网咖"},
		firm:  []string{"网络科技有限公司"},
		items: []string{"上网卡", "包夜套餐"}},
	{code: "R8760", group: gEntertainment, weight: 2, company: 1, rate: 1.0,
		firm:  []string{"影城有限公司", "影视文化有限公司"},
		items: []string{"电影票", "观影卡", "爆米花套餐"}},
	{code: "R9019", group: gEntertainment, weight: 6, company: .4, rate: .6,
		shop:  []string{"剧本杀馆", "密室逃脱馆", "桌游馆"},
		firm:  []string{"文化娱乐有限公司"},
		items: []string{"剧本杀场次", "密室门票", "会员卡"}},

	// 网络零售
	{code: "F5292", group: gOnline, weight: 15, company: .7, rate: 1.0,
		shop:  []string{"电子商务经营部", "网店"},
		firm:  []string{"电子商务有限公司", "网络科技有限公司"},
		items: []string{"猕猴桃礼盒", "腊肉香肠礼盒", "黄茶礼盒", "核桃", "黑木耳", "女装", "手机配件"}},

	// 农产品、酿酒
	{code: "A0159", group: gAgri, weight: 6, company: .9, rural: 1, rate: .3,
		shop:  []string{"猕猴桃种植园", "果园"},
		firm:  []string{"猕猴桃种植有限公司", "农业开发有限公司", "生态农业有限公司"},
		items: []string{"红心猕猴桃", "猕猴桃礼盒", "李子", "桃子"}},
	{code: "A0164", group: gAgri, weight: 4, company: .9, rural: 1, rate: .3,
		shop:  []string{"茶园"},
		firm:  []string{"茶业有限公司", "黄茶开发有限公司"},
		items: []string{"黄茶", "绿茶", "茶叶礼盒"}},
	{code: "A0141", group: gAgri, weight: 5, company: .7, rural: 1, rate: .2,
		shop:  []string{"蔬菜种植基地"},
		firm:  []string{"蔬菜种植有限公司", "现代农业发展有限公司"},
		items: []string{"蔬菜", "韭菜", "豆芽", "青菜"}},
	{code: "A0142", group: gAgri, weight: 3, company: .7, rural: 1, rate: .2,
		shop:  []string{"食用菌种植基地"},
		firm:  []string{"食用菌开发有限公司"},
		items: []string{"香菇", "黑木耳", "平菇"}},
	{code: "C1512", group: gAgri, weight: 3, company: .7, rural: .6, rate: .5,
		shop:  []string{"酒坊", "烤酒坊"},
		firm:  []string{"酒业有限公司", "酒厂有限公司"},
		items: []string{"散装白酒", "粮食酒", "泡酒"}},

	// 家庭服务
	{code: "O8010", group: gHomeService, weight: 10, company: .5, rate: 1.0,
		shop:  []string{"家政服务部"},
		firm:  []string{"家政服务有限公司"},
		items: []string{"保洁服务", "育儿嫂服务", "月嫂服务", "钟点工服务"}},
	{code: "O8070", group: gHomeService, weight: 6, company: .5, rate: 1.2,
		shop:  []string{"婚庆工作室"},
		firm:  []string{"婚庆礼仪有限公司", "婚礼策划有限公司"},
		items: []string{"婚庆服务", "婚礼策划套餐"}},
	{code: "O8060", group: gHomeService, weight: 8, company: .3, rate: 1.0,
		shop:  []string{"婚纱摄影店", "照相馆", "摄影工作室"},
		firm:  []string{"婚纱摄影有限公司"},
		items: []string{"婚纱摄影套餐", "儿童摄影套餐", "艺术照"}},
	{code: "O8132", group: gHomeService, weight: 8, company: .2, rate: .7,
		shop:  []string{"家电维修部", "家电维修中心"},
		firm:  []string{"家电维修服务有限公司"},
		items: []string{"空调维修", "洗衣机维修", "热水器维修", "冰箱维修"}},
	{code: "O8020", group: gHomeService, weight: 5, company: .8, rate: 1.2,
		shop:  []string{"托育中心"},
		firm:  []string{"托育服务有限公司"},
		items: []string{"托育服务", "全日托"}},

	// 诊所
	{code: "Q8425", group: gClinic, weight: 10, company: .5, rate: .8,
		shop:  []string{"口腔诊所", "中医诊所", "诊所"},
		firm:  []string{"口腔门诊部有限公司", "医疗管理有限公司"},
		items: []string{"种植牙", "牙齿矫正", "针灸理疗", "洗牙"}},
}

// industryIndex maps a class code to its index in industries.
var industryIndex = func() map[string]int {
	m := make(map[string]int, len(industries))
	for i, in := range industries {
		m[in.code] = i
	}
	return m
}()

// townshipProfile is what the generator assumes about a township: how many merchants it has
// (base, relative) and how much more the tourist and farm trades favour it (tourism).
type townshipProfile struct {
	base, tourism float64
	roads         []string // urban streets: roads; towns: their main streets
	villages      []string // villages (村) for rural addresses
}

// townshipProfiles are keyed by the nine-digit codes of events.Townships(). The road and village
// names are illustrative, not a gazetteer.
var townshipProfiles = map[string]townshipProfile{
	"510802001": {base: 16, tourism: .1, roads: []string{"利州东路一段", "利州东路二段", "利州东路三段", "金柜路", "翠屏路", "新民街", "栖凤路", "莲花池路"}}, // 东坝街道
	"510802002": {base: 15, tourism: .15, roads: []string{"蜀门北路", "蜀门南路", "北街", "南街", "大东街", "凤凰路"}},                        // 嘉陵街道
	"510802003": {base: 10, tourism: .15, roads: []string{"利州西路", "则天北路", "则天南路", "河西路", "皇泽路"}},                            // 河西街道
	"510802004": {base: 7, tourism: .1, roads: []string{"雪峰路", "下西路", "滨江路", "工农路"}},                                        // 雪峰街道
	"510802005": {base: 12, tourism: .1, roads: []string{"南河路", "南鹰路", "滨河南路", "学府路"}},                                      // 南河街道
	"510802006": {base: 7, tourism: .2, roads: []string{"上西路", "千佛崖路", "嘉陵路"}},                                              // 上西街道
	"510802011": {base: 8, tourism: .1, roads: []string{"万缘大道", "万缘路", "嘉陵江路", "回龙河路"}},                                     // 万缘街道
	"510802100": {base: 3, tourism: 5, roads: []string{"荣山正街", "荣山新街"}, villages: []string{"石龙", "青岗", "桂花", "红岩", "柏林"}},   // 荣山镇
	"510802101": {base: 3, tourism: 4, roads: []string{"大石正街", "大石新街"}, villages: []string{"新华", "永丰", "金星", "双河", "光明"}},   // 大石镇
	"510802102": {base: 4, tourism: 3, roads: []string{"盘龙正街", "机场路"}, villages: []string{"同心", "团结", "长坪", "平桥", "龙泉"}},    // 盘龙镇
	"510802103": {base: 7, tourism: 2, roads: []string{"宝轮正街", "宝轮新街", "站前路"}, villages: []string{"宝轮", "茶坝", "松树", "白岩"}},  // 宝轮镇
	"510802105": {base: 3, tourism: 6, roads: []string{"三堆正街"}, villages: []string{"大坪", "马口", "金岩", "五一"}},                 // 三堆镇
	"510802200": {base: 1.5, tourism: 12, roads: []string{"白朝街"}, villages: []string{"月坝", "白朝", "桂花", "青林"}},               // 白朝乡
	"510802201": {base: 1.5, tourism: 9, roads: []string{"金洞街"}, villages: []string{"金洞", "白云", "三河", "水磨"}},                // 金洞乡
	"510802202": {base: 1.5, tourism: 8, roads: []string{"龙潭街"}, villages: []string{"龙潭", "石门", "庙坪", "新民"}},                // 龙潭乡
}

// Townships the scenario names.
const (
	tsDongba  = "510802001" // 东坝街道: the gym that closes
	tsJialing = "510802002" // 嘉陵街道
	tsNanhe   = "510802005" // 南河街道: the training school
	tsWanyuan = "510802011" // 万缘街道
	tsBaichao = "510802200" // 白朝乡: 月坝, the National Day hotspot
	tsJindong = "510802201" // 金洞乡
)
