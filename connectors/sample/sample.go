// Package sample writes the spreadsheet and CSV files that connector tests, benchmarks and the
// shipped examples read: realistic Chinese headers and values (Lizhou's townships, GB/T 4754
// classes, well-formed credit codes from events.DemoUSCC), deterministic for a given n.
package sample

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/events"
)

// Table is a sheet: an optional title row above the header, the header, the rows. Cells are
// strings, numbers or time.Time (written as Excel dates in xlsx, as 2018-12-24 in CSV).
type Table struct {
	Title  string
	Header []string
	Rows   [][]any
}

// WriteXLSX writes t to a new workbook at path, sheet named sheet, with excelize's streaming
// writer (so 100k rows take little memory).
func WriteXLSX(path, sheet string, t Table) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14}) // a date as Excel shows it
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	row := 1
	put := func(cells []any) error {
		vals := make([]any, len(cells))
		for i, c := range cells {
			if tm, ok := c.(time.Time); ok {
				vals[i] = excelize.Cell{StyleID: dateStyle, Value: tm}
				continue
			}
			vals[i] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		row++
		return sw.SetRow(cell, vals)
	}
	if t.Title != "" {
		if err := put([]any{t.Title}); err != nil {
			return err
		}
	}
	hdr := make([]any, len(t.Header))
	for i, h := range t.Header {
		hdr[i] = h
	}
	if err := put(hdr); err != nil {
		return err
	}
	for _, r := range t.Rows {
		if err := put(r); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

// WriteCSV writes t as CSV in encoding utf-8, utf-8-bom, gbk or gb18030.
func WriteCSV(path, encoding string, t Table) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 1<<16)
	var w *csv.Writer
	var tw io.WriteCloser // the encoder, which must be closed to flush its last bytes
	switch encoding {
	case "utf-8":
		w = csv.NewWriter(bw)
	case "utf-8-bom":
		bw.WriteString("\ufeff")
		w = csv.NewWriter(bw)
	case "gbk":
		tw = transform.NewWriter(bw, simplifiedchinese.GBK.NewEncoder())
		w = csv.NewWriter(tw)
	case "gb18030":
		tw = transform.NewWriter(bw, simplifiedchinese.GB18030.NewEncoder())
		w = csv.NewWriter(tw)
	default:
		return fmt.Errorf("unknown encoding %q", encoding)
	}
	w.UseCRLF = true // what office software writes
	if t.Title != "" {
		w.Write([]string{t.Title})
	}
	w.Write(t.Header)
	rec := make([]string, len(t.Header))
	for _, r := range t.Rows {
		for i := range rec {
			rec[i] = ""
			if i < len(r) {
				rec[i] = cellText(r[i])
			}
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if tw != nil {
		if err := tw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func cellText(c any) string {
	if tm, ok := c.(time.Time); ok {
		if tm.Hour() == 0 && tm.Minute() == 0 {
			return tm.Format("2006-01-02")
		}
		return tm.Format("2006-01-02 15:04:05")
	}
	return connectors.Text(c)
}

var (
	brands = []string{"蜀香", "嘉陵", "凤凰", "翠云", "明月", "皇泽", "千佛", "天曌", "红星", "金鹰", "乌龙", "剑门", "利州", "南河", "万缘", "东坝", "雪峰", "上西", "白龙", "曾家山"}
	trades = []struct{ word, industry, kind string }{
		{"川菜馆", "H6210", "个体工商户"}, {"火锅店", "H6210", "个体工商户"}, {"超市", "F5212", "有限责任公司"},
		{"健身会所", "R8930", "有限责任公司"}, {"美容美发店", "O8040", "个体工商户"}, {"茶楼", "H6231", "个体工商户"},
		{"旅行社", "L7291", "有限责任公司"}, {"大酒店", "H6110", "有限责任公司"}, {"五金店", "F5281", "个体工商户"},
		{"粮油店", "F5221", "个体工商户"}, {"快餐店", "H6220", "个体工商户"}, {"培训学校", "P8394", "有限责任公司"},
	}
	roads   = []string{"利州东路", "蜀门北路", "南河路", "万缘大道", "嘉陵路", "上西大道", "雪峰路", "东坝路", "滨河北路", "和平路"}
	surname = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "何", "罗"}
	given   = []string{"建国", "秀英", "志强", "丽", "伟", "敏", "军", "芳", "明", "霞", "涛", "静"}
)

// Merchant is a fictitious Lizhou merchant, deterministic in n.
type Merchant struct {
	USCC, Name, Kind, Person, Address, Township, TownshipCode, Industry, IndustryName string
}

// MerchantN returns merchant n (codes DemoUSCC(1000+n), distinct for distinct n).
func MerchantN(n int) Merchant {
	ts := events.Townships()
	tw := ts[n%len(ts)]
	tr := trades[n%len(trades)]
	name := "广元市利州区" + brands[n%len(brands)] + tr.word
	if n >= len(brands)*len(trades) {
		name = fmt.Sprintf("广元市利州区%s%s（%d店）", brands[n%len(brands)], tr.word, n/len(brands))
	}
	if tr.kind == "有限责任公司" {
		name = "广元" + brands[n%len(brands)] + tr.word + "有限公司"
		if n >= len(brands)*len(trades) {
			name = fmt.Sprintf("广元%s%s第%d有限公司", brands[n%len(brands)], tr.word, n/len(brands))
		}
	}
	return Merchant{
		USCC: events.DemoUSCC(1000 + n), Name: name, Kind: tr.kind,
		Person:   surname[n%len(surname)] + given[(n/len(surname))%len(given)],
		Address:  fmt.Sprintf("四川省广元市利州区%s%s%d号", tw.Name, roads[n%len(roads)], 1+n%300),
		Township: tw.Name, TownshipCode: tw.Code, Industry: tr.industry, IndustryName: events.IndustryName(tr.industry),
	}
}

// RegistrationsHeader is the AMR register export's header (市场主体登记信息).
// RegistrationsMapping is the YAML mapping block that turns a Registrations table into
// merchant.registered events (tests, benchmarks and fangxin-bench use it).
const RegistrationsMapping = `mapping:
  type: {const: merchant.registered}
  key: [统一社会信用代码]
  subject: 统一社会信用代码
  time: 成立日期
  data:
    name: 企业名称
    township: 所属乡镇（街道）
    industry: 行业
    address: 住所（经营场所）
    registered_at: 成立日期
`

var RegistrationsHeader = []string{"统一社会信用代码", "企业名称", "企业类型", "法定代表人（经营者）", "住所（经营场所）", "所属乡镇（街道）", "行业", "成立日期", "登记机关"}

// Registrations returns n rows of the AMR register export, registered from 2018-01-01 on.
func Registrations(n int) Table {
	rows := make([][]any, n)
	start := time.Date(2018, 1, 1, 0, 0, 0, 0, connectors.Shanghai)
	for i := range rows {
		m := MerchantN(i)
		rows[i] = []any{m.USCC, m.Name, m.Kind, m.Person, m.Address, m.Township, m.IndustryName,
			start.AddDate(0, 0, i%365), "广元市利州区食品药品和工商质量监督管理局"}
	}
	return Table{Title: "利州区市场主体登记信息", Header: RegistrationsHeader, Rows: rows}
}
