package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/linking"
)

// Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): 311-style clients file service
// requests that become complaint.received events from the hotline whose key they use (api_key),
// naming the merchant by name (attribute[merchant_name]) and address (address_string) as a
// 12345 work order does; the hub links them like any work order. Only the JSON format is served.
//
//   - GET /open311/v2/services.json: the service list; service codes are complaint categories.
//   - GET /open311/v2/services/{code}.json: a service definition (the attributes a request carries).
//   - POST /open311/v2/requests.json: form-encoded; answers [{"service_request_id": …}].
//   - GET /open311/v2/requests.json and /open311/v2/requests/{id}.json: requests filed this way.
//
// Errors are GeoReport's [{"code": status, "description": …}], described in Chinese with the
// parameter named. Reads need a bureau key too (api_key), as every read of the shared view does.

// Open311Service is one GeoReport service: a complaint category.
type Open311Service struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Description string `json:"description"`
	Metadata    bool   `json:"metadata"`
	Type        string `json:"type"`
	Keywords    string `json:"keywords"`
	Group       string `json:"group"`
	Category    string `json:"-"` // complaint.received's data.category
}

// open311Services are the categories of the district's complaints (the demo's, from the hotlines'
// real classifications).
var open311Services = []Open311Service{
	{ServiceCode: "food-safety", ServiceName: "食品安全", Category: "食品安全", Group: "消费维权", Keywords: "食品,变质,卫生"},
	{ServiceCode: "price-fraud", ServiceName: "价格欺诈", Category: "价格欺诈", Group: "消费维权", Keywords: "价格,明码标价,宰客"},
	{ServiceCode: "service-quality", ServiceName: "服务质量", Category: "服务质量", Group: "消费维权", Keywords: "服务,态度"},
	{ServiceCode: "false-advertising", ServiceName: "虚假宣传", Category: "虚假宣传", Group: "消费维权", Keywords: "广告,宣传"},
	{ServiceCode: "product-quality", ServiceName: "质量问题", Category: "质量问题", Group: "消费维权", Keywords: "质量,假冒"},
	{ServiceCode: "contract-dispute", ServiceName: "合同纠纷", Category: "合同纠纷", Group: "消费维权", Keywords: "合同,退款"},
	{ServiceCode: "prepaid-card", ServiceName: "预付卡", Category: "预付卡", Group: "消费维权", Keywords: "预付卡,办卡,跑路"},
	{ServiceCode: "after-sales", ServiceName: "售后服务", Category: "售后服务", Group: "消费维权", Keywords: "售后,维修,三包"},
	{ServiceCode: "measurement", ServiceName: "计量问题", Category: "计量问题", Group: "消费维权", Keywords: "缺斤短两,计量"},
	{ServiceCode: "illegal-medical-beauty", ServiceName: "非法医疗美容", Category: "非法医疗美容", Group: "消费维权", Keywords: "医美,美容"},
	{ServiceCode: "illegal-operation", ServiceName: "违规经营", Category: "违规经营", Group: "市场秩序", Keywords: "无照,违规"},
	{ServiceCode: "safety-hazard", ServiceName: "安全隐患", Category: "安全隐患", Group: "市场秩序", Keywords: "安全,消防"},
	{ServiceCode: "pollution", ServiceName: "环境污染", Category: "环境污染", Group: "市容环境", Keywords: "油烟,排污"},
	{ServiceCode: "noise", ServiceName: "噪声扰民", Category: "噪声扰民", Group: "市容环境", Keywords: "噪声,扰民"},
	{ServiceCode: "street-occupation", ServiceName: "占道经营", Category: "占道经营", Group: "市容环境", Keywords: "占道,摊贩"},
}

func init() {
	for i := range open311Services {
		s := &open311Services[i]
		s.Description = "对经营者的" + s.ServiceName + "投诉举报，转为消费投诉（complaint.received）由热线承办"
		s.Metadata, s.Type = true, "realtime"
	}
}

func open311Service(code string) (Open311Service, bool) {
	i := slices.IndexFunc(open311Services, func(s Open311Service) bool { return s.ServiceCode == code })
	if i < 0 {
		return Open311Service{}, false
	}
	return open311Services[i], true
}

// Open311Attribute is one attribute of a service definition.
type Open311Attribute struct {
	Variable            bool   `json:"variable"`
	Code                string `json:"code"`
	Datatype            string `json:"datatype"`
	Required            bool   `json:"required"`
	DatatypeDescription string `json:"datatype_description"`
	Order               int    `json:"order"`
	Description         string `json:"description"`
}

// Open311Definition is a service definition.
type Open311Definition struct {
	ServiceCode string             `json:"service_code"`
	Attributes  []Open311Attribute `json:"attributes"`
}

var open311Attributes = []Open311Attribute{
	{Variable: true, Code: "merchant_name", Datatype: "string", Required: true, Order: 1,
		DatatypeDescription: "经营者名称（店招或通常叫法）", Description: "被投诉的经营者名称，如 老张火锅店"},
	{Variable: true, Code: "uscc", Datatype: "string", Required: false, Order: 2,
		DatatypeDescription: "18 位统一社会信用代码", Description: "经营者的统一社会信用代码（知道时填写）"},
	{Variable: true, Code: "township", Datatype: "string", Required: false, Order: 3,
		DatatypeDescription: "乡镇或街道名称，或九位区划代码", Description: "经营者所在的乡镇或街道，如 嘉陵街道"},
}

// Open311Error is one GeoReport error.
type Open311Error struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

func open311Fail(w http.ResponseWriter, status int, description string) {
	writeJSON(w, status, []Open311Error{{Code: status, Description: description}})
}

// Open311Request is a service request as GeoReport returns it.
type Open311Request struct {
	ServiceRequestID  string `json:"service_request_id"`
	Status            string `json:"status"`
	ServiceName       string `json:"service_name"`
	ServiceCode       string `json:"service_code"`
	Description       string `json:"description"`
	AgencyResponsible string `json:"agency_responsible"`
	RequestedDatetime string `json:"requested_datetime"`
	UpdatedDatetime   string `json:"updated_datetime"`
	Address           string `json:"address"`
	MerchantName      string `json:"merchant_name"` // extension: whom the request is about
	MerchantUSCC      string `json:"merchant_uscc,omitempty"`
}

// open311Prefix starts the event id of every request filed through Open311.
const open311Prefix = "311-"

// open311Hotlines are the bureaus whose keys may file requests, with their channel.
var open311Hotlines = map[string]string{"hotline-12345": "12345", "hotline-12315": "12315", "hotline-12331": "12331"}

// open311Key resolves api_key (form or query) or a Bearer key.
func (s *Server) open311Key(r *http.Request) (Principal, string, bool) {
	key := r.Form.Get("api_key")
	if key == "" {
		key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return Principal{}, "缺少 api_key：请填写热线单位的访问密钥", false
	}
	p, ok := s.keys.Lookup(r.Context(), key)
	if !ok {
		return Principal{}, "api_key 无效：该密钥不存在或已被吊销", false
	}
	return p, "", true
}

func (s *Server) open311Services(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, open311Services)
}

func (s *Server) open311Definition(w http.ResponseWriter, r *http.Request) {
	code, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		open311Fail(w, http.StatusNotFound, "只提供 JSON 格式：请使用 /open311/v2/services/{service_code}.json")
		return
	}
	if _, ok := open311Service(code); !ok {
		open311Fail(w, http.StatusNotFound, "没有服务代码为 "+code+" 的服务，可用代码见 /open311/v2/services.json")
		return
	}
	writeJSON(w, http.StatusOK, Open311Definition{ServiceCode: code, Attributes: open311Attributes})
}

// maxOpen311Body bounds a request form.
const maxOpen311Body = 64 << 10

func (s *Server) open311Post(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxOpen311Body)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		open311Fail(w, http.StatusBadRequest, "请求体应为 application/x-www-form-urlencoded 表单（GeoReport v2）")
		return
	}
	if err := r.ParseForm(); err != nil {
		open311Fail(w, http.StatusBadRequest, "表单无法解析（不超过 64 KiB）："+err.Error())
		return
	}
	caller, why, ok := s.open311Key(r)
	if !ok {
		open311Fail(w, http.StatusForbidden, why)
		return
	}
	channel, ok := open311Hotlines[caller.Bureau]
	if !ok {
		open311Fail(w, http.StatusForbidden, "api_key 属于 "+caller.Bureau+"；只有 12345、12315、12331 热线的密钥可以提交服务请求")
		return
	}
	f := r.Form
	svc, ok := open311Service(f.Get("service_code"))
	switch {
	case f.Get("service_code") == "":
		open311Fail(w, http.StatusBadRequest, "缺少 service_code：请填写服务代码（投诉类别），可用代码见 /open311/v2/services.json")
		return
	case !ok:
		open311Fail(w, http.StatusNotFound, "service_code "+f.Get("service_code")+" 不存在，可用代码见 /open311/v2/services.json")
		return
	}
	name := strings.TrimSpace(f.Get("attribute[merchant_name]"))
	addr := strings.TrimSpace(f.Get("address_string"))
	uscc := strings.TrimSpace(f.Get("attribute[uscc]"))
	var missing []string
	if name == "" && uscc == "" {
		missing = append(missing, "attribute[merchant_name]（经营者名称）")
	}
	if addr == "" && uscc == "" {
		missing = append(missing, "address_string（经营者地址；本平台不做经纬度反查）")
	}
	if len(missing) > 0 {
		open311Fail(w, http.StatusBadRequest, "缺少 "+strings.Join(missing, "、"))
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	summary := strings.TrimSpace(f.Get("description"))
	if summary == "" {
		summary = svc.ServiceName
	}
	d := events.ComplaintReceived{
		ComplaintID: "", Channel: channel, Category: svc.Category, Summary: summary, ReceivedAt: now,
		MerchantName: name, Address: addr,
	}
	if t := strings.TrimSpace(f.Get("attribute[township]")); t != "" {
		d.Township = t
	} else if _, town := linking.Address(addr); town != "" {
		d.Township = town
	}
	// The v1 consumer record holds a name and a phone (personal data, for the hotline only);
	// email, device_id and account_id are not kept.
	consumer := map[string]any{}
	if n := strings.TrimSpace(f.Get("last_name") + f.Get("first_name")); n != "" {
		consumer["name"] = n
	}
	if v := strings.TrimSpace(f.Get("phone")); v != "" {
		consumer["phone"] = v
	}
	if len(consumer) > 0 {
		d.Consumer = consumer
	}
	id := open311Prefix + uuid.NewString()
	d.ComplaintID = id
	data, err := json.Marshal(d)
	if err != nil {
		panic(err) // a plain struct
	}
	ev := events.Event{
		SpecVersion: events.SpecVersion, ID: id, Source: events.SourceOf(caller.Bureau), Type: events.TypeComplaintReceived,
		Subject: uscc, Time: now, DataContentType: "application/json", Data: data,
	}
	if ps := events.Validate(ev, caller.Bureau); len(ps) > 0 {
		descs := make([]string, len(ps))
		for i, p := range ps {
			descs[i] = open311Field(p.Field) + "：" + p.Detail
		}
		open311Fail(w, http.StatusBadRequest, strings.Join(descs, "；"))
		return
	}
	if err := s.publish(r.Context(), []*message.Message{eventlog.ToMessage(ev)}); err != nil {
		s.metrics.unavailab.Inc()
		w.Header().Set("Retry-After", "1")
		open311Fail(w, http.StatusServiceUnavailable, "事件日志暂不可用，服务请求未被接收，请稍后重新提交")
		return
	}
	s.metrics.ingested.WithLabelValues(caller.Bureau, ev.Type).Inc()
	writeJSON(w, http.StatusCreated, []map[string]any{{"service_request_id": id, "service_notice": "已转 " + bureauNameZH(caller.Bureau) + " 承办", "account_id": nil}})
}

// open311Field names a complaint field by the GeoReport parameter it came from.
func open311Field(field string) string {
	switch field {
	case "subject":
		return "attribute[uscc]"
	case "data/merchant_name":
		return "attribute[merchant_name]"
	case "data/address":
		return "address_string"
	case "data/township":
		return "attribute[township]"
	case "data/summary":
		return "description"
	case "data/consumer/name":
		return "first_name/last_name"
	case "data/consumer/phone":
		return "phone"
	}
	return field
}

func bureauNameZH(code string) string {
	if b, ok := events.LookupBureau(code); ok {
		return b.NameZH
	}
	return code
}

// open311Read checks the key of a read.
func (s *Server) open311Read(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		open311Fail(w, http.StatusBadRequest, "查询参数无法解析："+err.Error())
		return false
	}
	if _, why, ok := s.open311Key(r); !ok {
		open311Fail(w, http.StatusForbidden, why)
		return false
	}
	return true
}

// find returns the request with id, filed by any hotline.
func (s *Server) open311Find(r *http.Request, id string) (projections.TimelineEntry, bool, error) {
	if !strings.HasPrefix(id, open311Prefix) {
		return projections.TimelineEntry{}, false, nil
	}
	for _, code := range []string{"hotline-12345", "hotline-12315", "hotline-12331"} {
		e, ok, err := s.rm.Event(r.Context(), events.SourceOf(code), id)
		if err != nil || ok {
			return e, ok, err
		}
	}
	return projections.TimelineEntry{}, false, nil
}

// open311View renders a recorded request; status is closed once a complaint.closed folded it out
// of its merchant's open complaints.
func (s *Server) open311View(r *http.Request, e projections.TimelineEntry) (Open311Request, error) {
	var d events.ComplaintReceived
	if err := json.Unmarshal(e.Event.Data, &d); err != nil {
		return Open311Request{}, err
	}
	code := ""
	for _, svc := range open311Services {
		if svc.Category == d.Category {
			code = svc.ServiceCode
			break
		}
	}
	out := Open311Request{
		ServiceRequestID: e.Event.ID, Status: "open", ServiceName: d.Category, ServiceCode: code, Description: d.Summary,
		AgencyResponsible: bureauNameZH(e.Event.Bureau()), Address: d.Address, MerchantName: d.MerchantName,
		RequestedDatetime: e.Event.Time.In(shanghai).Format(time.RFC3339), UpdatedDatetime: e.Event.Time.In(shanghai).Format(time.RFC3339),
		MerchantUSCC: e.Merchant(),
	}
	if m := e.Merchant(); m != "" {
		p, ok, err := s.rm.Profile(r.Context(), m)
		if err != nil {
			return out, err
		}
		if ok && !slices.ContainsFunc(p.OpenComplaints, func(c projections.OpenComplaint) bool { return c.ComplaintID == d.ComplaintID }) {
			out.Status = "closed"
			out.UpdatedDatetime = p.LastActivity.In(shanghai).Format(time.RFC3339)
		}
	}
	return out, nil
}

var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

func (s *Server) open311Get(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		open311Fail(w, http.StatusNotFound, "只提供 JSON 格式：请使用 /open311/v2/requests/{service_request_id}.json")
		return
	}
	if !s.open311Read(w, r) {
		return
	}
	e, found, err := s.open311Find(r, id)
	if err == nil && found {
		var v Open311Request
		if v, err = s.open311View(r, e); err == nil {
			writeJSON(w, http.StatusOK, []Open311Request{v})
			return
		}
	}
	if err != nil {
		s.log.Error("open311: read failed", "err", err)
		open311Fail(w, http.StatusServiceUnavailable, "共享视图暂不可用，请稍后重试")
		return
	}
	open311Fail(w, http.StatusNotFound, "没有编号为 "+id+" 的服务请求（刚提交的请求可能还在处理中）")
}

// open311Max caps a list, as GeoReport suggests (1000).
const open311Max = 1000

func (s *Server) open311List(w http.ResponseWriter, r *http.Request) {
	if !s.open311Read(w, r) {
		return
	}
	f := r.Form
	var out []Open311Request
	fail := func(err error) {
		s.log.Error("open311: read failed", "err", err)
		open311Fail(w, http.StatusServiceUnavailable, "共享视图暂不可用，请稍后重试")
	}
	if ids := f.Get("service_request_id"); ids != "" {
		for _, id := range strings.Split(ids, ",") {
			e, ok, err := s.open311Find(r, strings.TrimSpace(id))
			if err != nil {
				fail(err)
				return
			}
			if ok {
				v, err := s.open311View(r, e)
				if err != nil {
					fail(err)
					return
				}
				out = append(out, v)
			}
		}
		writeJSON(w, http.StatusOK, nonNil(out))
		return
	}
	var category string
	if c := f.Get("service_code"); c != "" {
		svc, ok := open311Service(c)
		if !ok {
			open311Fail(w, http.StatusBadRequest, "service_code "+c+" 不存在，可用代码见 /open311/v2/services.json")
			return
		}
		category = svc.Category
	}
	status := f.Get("status")
	if status != "" && status != "open" && status != "closed" {
		open311Fail(w, http.StatusBadRequest, "status 只能是 open 或 closed")
		return
	}
	var from, to time.Time
	for name, t := range map[string]*time.Time{"start_date": &from, "end_date": &to} {
		if v := f.Get(name); v != "" {
			parsed, err := time.Parse(time.RFC3339, v)
			if err != nil {
				open311Fail(w, http.StatusBadRequest, name+" 应为 W3C 日期时间（RFC 3339），如 2018-12-24T09:30:00+08:00")
				return
			}
			*t = parsed
		}
	}
	if from.IsZero() {
		base := to
		if base.IsZero() {
			base = time.Now()
		}
		from = base.AddDate(0, 0, -90) // GeoReport's default window
	}
	q := projections.EventQuery{Types: []string{events.TypeComplaintReceived}, Bureaus: []string{"hotline-12345", "hotline-12315", "hotline-12331"},
		From: from, To: to, Limit: projections.MaxLimit}
	for len(out) < open311Max {
		res, err := s.rm.SearchEvents(r.Context(), q)
		if err != nil {
			if errors.Is(err, projections.ErrBadQuery) {
				open311Fail(w, http.StatusBadRequest, "查询条件有误："+err.Error())
				return
			}
			fail(err)
			return
		}
		for _, e := range res.Entries {
			if !strings.HasPrefix(e.Event.ID, open311Prefix) {
				continue
			}
			v, err := s.open311View(r, e)
			if err != nil {
				fail(err)
				return
			}
			if (category == "" || v.ServiceName == category) && (status == "" || v.Status == status) && len(out) < open311Max {
				out = append(out, v)
			}
		}
		q.Offset += len(res.Entries)
		if len(res.Entries) < q.Limit || q.Offset+q.Limit > 10000 {
			break
		}
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
