// Command gen writes the sample files of connectors/examples (the xlsx workbooks and the
// GBK-encoded CSV cannot be edited as text): go run ./connectors/examples/gen
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/sample"
	"github.com/lizhou/fangxin/events"
)

func main() {
	dir := "connectors/examples"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := write(dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func day(y, m, d int) time.Time {
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, connectors.Shanghai)
}

func write(dir string) error {
	m := sample.MerchantN
	// 市场主体登记信息: dates are real Excel dates; a title row above the header.
	if err := sample.WriteXLSX(filepath.Join(dir, "amr-registrations.xlsx"), "登记信息", sample.Registrations(12)); err != nil {
		return err
	}

	// 行政处罚案件信息: dates written as text the way clerks type them, amounts with 元.
	pen := sample.Table{
		Header: []string{"行政处罚决定书文号", "当事人名称", "统一社会信用代码", "违法行为类型", "处罚依据", "处罚种类", "罚没款金额", "处罚决定日期", "处罚机关"},
		Rows: [][]any{
			{"利食药工商罚〔2018〕101号", m(0).Name, m(0).USCC, "销售过期食品", "《中华人民共和国食品安全法》第一百二十四条", "罚款", "5,000.00元", "2018年12月3日", "区食品药品和工商局"},
			{"利食药工商罚〔2018〕102号", m(3).Name, m(3).USCC, "预付卡未明示退费规则", "《中华人民共和国消费者权益保护法》第五十六条", "罚款", "1.2万", "2018年12月10日", "区食品药品和工商局"},
			{"利食药工商罚〔2018〕103号", m(5).Name, m(5).USCC, "未亮照经营", "《无证无照经营查处办法》第十三条", "警告", "", "2018年12月12日", "区食品药品和工商局"},
			{"利食药工商罚〔2018〕104号", m(10).Name, m(10).USCC, "价格欺诈", "《中华人民共和国价格法》第四十条", "没收违法所得", "3,600元", "2018年12月18日", "区食品药品和工商局"},
			{"利食药工商罚〔2018〕105号", m(15).Name, m(15).USCC, "虚假宣传", "《中华人民共和国反不正当竞争法》第二十条", "罚款", "￥20000", "2018/12/27", "区食品药品和工商局"},
		},
	}
	if err := sample.WriteXLSX(filepath.Join(dir, "amr-penalties.xlsx"), "行政处罚", pen); err != nil {
		return err
	}

	// 产品质量监督抽查结果: GBK, as the quality branch's office software exports it. Row 6 is
	// deliberately bad (结论 待复检 is not a result).
	q := sample.Table{
		Header: []string{"抽样单编号", "受检单位名称", "统一社会信用代码", "产品名称", "规格型号", "生产日期/批号", "检验结论", "抽样日期", "承检机构"},
		Rows: [][]any{
			{"CJ-2018-1201", m(2).Name, m(2).USCC, "桶装饮用水", "18.9L", "20181120", "合格", "2018/12/3", "广元市产品质量监督检验所"},
			{"CJ-2018-1202", m(2).Name, m(2).USCC, "食用植物调和油", "5L", "20181015", "不合格", "2018/12/3", "广元市产品质量监督检验所"},
			{"CJ-2018-1203", m(9).Name, m(9).USCC, "电线电缆", "BV2.5平方毫米", "2018-10", "合格", "2018/12/5", "四川省产品质量监督检验检测院"},
			{"CJ-2018-1204", m(9).Name, m(9).USCC, "插座", "10A 250V", "2018-09", "不合格", "2018/12/5", "四川省产品质量监督检验检测院"},
			{"CJ-2018-1205", m(21).Name, m(21).USCC, "大米", "10kg", "20181101", "待复检", "2018/12/7", "广元市产品质量监督检验所"},
			{"CJ-2018-1206", m(14).Name, m(14).USCC, "白酒", "500mL 52%vol", "20180806", "合格", "2018/12/10", "广元市产品质量监督检验所"},
		},
	}
	if err := sample.WriteCSV(filepath.Join(dir, "quality-sampling.csv"), "gbk", q); err != nil {
		return err
	}

	// 星级农家乐评定与复核: UTF-8 with BOM (Excel's "CSV UTF-8"); grants and revocations in one list.
	star := sample.Table{
		Header: []string{"证书编号", "农家乐名称", "统一社会信用代码", "所在乡镇", "星级", "评定状态", "评定日期", "有效期至", "撤销原因"},
		Rows: [][]any{
			{"XJNJL-2018-031", "利州区曾家山翠云山庄农家乐", events.DemoUSCC(4), "龙潭乡", "四星", "评定", "2018年12月10日", "2021年12月9日", ""},
			{"XJNJL-2018-032", "利州区白朝乡明月农家乐", events.DemoUSCC(2001), "白朝乡", "三星", "评定", "2018年12月10日", "2021年12月9日", ""},
			{"XJNJL-2018-033", "利州区金洞乡红星渔庄", events.DemoUSCC(2002), "金洞乡", "五星", "评定", "2018年12月11日", "2021年12月10日", ""},
			{"XJNJL-2016-008", "利州区大石镇乌龙农家乐", events.DemoUSCC(2003), "大石镇", "三星", "撤销", "2018年12月20日", "", "复核不达标：厨房卫生不合格，整改逾期未完成"},
		},
	}
	if err := sample.WriteCSV(filepath.Join(dir, "star-farmhouses.csv"), "utf-8-bom", star); err != nil {
		return err
	}

	// 12345政府服务热线转办工单 (UTF-8): shop names and streets, no credit codes; row 6 names a
	// street outside Lizhou (deliberately bad); row 7 is an enquiry (咨询), skipped by the mapping.
	h := sample.Table{
		Header: []string{"工单编号", "来电时间", "来电人", "联系电话", "诉求类型", "问题分类", "被反映对象", "事发地址", "所属街道（乡镇）", "诉求内容", "涉及金额", "涉及人数"},
		Rows: [][]any{
			{"GY12345-20181224-0157", "2018-12-24 09:31:05", "张女士", "13800000001", "投诉", "预付卡", "蜀香健身会所", "利州区嘉陵街道利州东路88号", "嘉陵街道", "健身房突然闭店，预付年卡3000元无法退还，多名会员联系不上老板。", "3000元", "1"},
			{"GY12345-20181224-0163", "2018-12-24 10:02:41", "李先生", "13800000002", "投诉", "预付卡", "蜀香健身会所", "利州区嘉陵街道利州东路88号", "嘉陵街道", "与上一工单同一健身房，本人及同事5人共计办卡1.2万元。", "1.2万", "5"},
			{"GY12345-20181224-0201", "2018-12-24 14:15:00", "王先生", "13800000003", "投诉", "餐饮服务", "老码头火锅（南河店）", "利州区南河街道滨河北路12号", "南河街道", "就餐后腹泻，怀疑食材不新鲜，要求商家赔偿。", "", ""},
			{"GY12345-20181225-0033", "2018-12-25 08:47:19", "赵女士", "13800000004", "举报", "价格", "万缘大道平价超市", "利州区万缘街道万缘大道201号", "万缘", "标价与结算价不一致，多收费用。", "36.5", "1"},
			{"GY12345-20181225-0087", "2018-12-25 11:20:00", "陈先生", "13800000005", "投诉", "旅游", "某旅行社", "朝天区羊木镇", "朝天区", "跟团游被强制购物。", "800", "2"},
			{"GY12345-20181225-0102", "2018-12-25 15:03:44", "孙女士", "13800000006", "咨询", "消费维权", "", "", "上西街道", "咨询预付卡消费纠纷的投诉渠道。", "", ""},
		},
	}
	if err := sample.WriteCSV(filepath.Join(dir, "hotline-12345.csv"), "utf-8", h); err != nil {
		return err
	}

	// 12315 投诉举报登记 (xlsx): some orders carry the merchant's credit code, most do not.
	c := sample.Table{
		Header: []string{"登记编号", "登记时间", "投诉人", "投诉人电话", "被投诉人名称", "被投诉人统一社会信用代码", "被投诉人地址", "所属区域", "行业", "投诉问题", "投诉内容", "涉案金额"},
		Rows: [][]any{
			{"12315-20181224-0001", "2018-12-24 09:30", "张某", "13800000011", "蜀香健身会所", "", "利州区嘉陵街道利州东路88号", "嘉陵街道", "健身休闲活动", "预付卡", "健身房突然闭店，预付会员卡余额无法退还。", "3000"},
			{"12315-20181224-0002", "2018-12-24 10:05", "刘某", "13800000012", m(2).Name, m(2).USCC, m(2).Address, m(2).Township, m(2).IndustryName, "商品质量", "购买的桶装水有异味。", "20"},
			{"12315-20181226-0005", "2018-12-26 16:40", "黄某", "13800000013", "翠云美容美发店", "", "利州区东坝街道东坝路16号", "东坝街道", "理发及美容服务", "预付卡", "美容卡剩余次数被拒绝使用。", "1,500元"},
		},
	}
	if err := sample.WriteXLSX(filepath.Join(dir, "hotline-12315.xlsx"), "投诉登记", c); err != nil {
		return err
	}

	// 双随机抽查结果 (CSV, UTF-8): 合格 / 责令整改 / 不合格 -> pass / rectify / fail.
	ins := sample.Table{
		Header: []string{"检查编号", "检查对象", "统一社会信用代码", "检查类型", "检查结果", "发现问题", "检查日期"},
		Rows: [][]any{
			{"SJ-2018-0455", m(1).Name, m(1).USCC, "双随机", "合格", "", "2018-12-25"},
			{"SJ-2018-0456", m(3).Name, m(3).USCC, "双随机", "责令整改", "未公示预付卡退费规则，责令限期整改。", "2018-12-25"},
			{"ZX-2018-0031", m(12).Name, m(12).USCC, "专项检查", "不合格", "后厨无健康证人员上岗，已立案调查。", "2018-12-26"},
			{"RC-2018-0210", m(16).Name, m(16).USCC, "日常检查", "合格", "", "2018-12-27"},
		},
	}
	if err := sample.WriteCSV(filepath.Join(dir, "amr-inspections.csv"), "utf-8", ins); err != nil {
		return err
	}
	return nil
}
