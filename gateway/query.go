package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

func (s *Server) entries(caller Principal, in []projections.TimelineEntry) []events.Event {
	out := make([]events.Event, len(in))
	for i, e := range in {
		out[i] = e.Event
		if len(e.Private) == 0 || e.Event.Bureau() != caller.Bureau {
			continue
		}
		var data map[string]json.RawMessage
		if json.Unmarshal(e.Event.Data, &data) == nil {
			data["consumer"] = e.Private
			if b, err := json.Marshal(data); err == nil {
				out[i].Data = b
			}
		}
	}
	return out
}

func (s *Server) readFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, projections.ErrBadQuery) {
		writeProblem(w, r, problem(http.StatusBadRequest, "invalid-parameter", "查询条件有误", "Invalid query",
			"查询条件超出了可以回答的范围，请检查时间范围和关键词。",
			FieldError{Field: "query", Rule: "query", Detail: "查询条件有误", DetailEN: err.Error()}))
		return
	}
	s.log.Error("read model query failed", "path", r.URL.Path, "err", err)
	writeProblem(w, r, problem(http.StatusServiceUnavailable, "views-unavailable", "共享视图暂不可用",
		"Views unavailable", "查询共享视图失败，请稍后重试。"))
}

func (s *Server) pathUSCC(w http.ResponseWriter, r *http.Request) (string, bool) {
	uscc := r.PathValue("uscc")
	if err := events.CheckUSCC(uscc); err != nil {
		writeProblem(w, r, badParam("uscc", "uscc", "统一社会信用代码无效："+usccReason(err), "invalid unified social credit code: "+err.Error()))
		return "", false
	}
	return uscc, true
}

func usccReason(err error) string {
	switch {
	case errors.Is(err, events.ErrUSCCLength):
		return "应为 18 位"
	case errors.Is(err, events.ErrUSCCAlphabet):
		return "只能由数字和除 I、O、Z、S、V 以外的大写字母组成"
	default:
		return "校验码不符（GB 32100-2015）"
	}
}

// ProfileResponse is the merchant profile on the wire.
type ProfileResponse struct {
	projections.MerchantProfile
	FinesTotalCNY float64 `json:"fines_total_cny"`
	Certified     bool    `json:"certified"`
	Listed        bool    `json:"listed"`
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request) {
	uscc, ok := s.pathUSCC(w, r)
	if !ok {
		return
	}
	p, found, err := s.rm.Profile(r.Context(), uscc)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	if !found {
		writeProblem(w, r, problem(http.StatusNotFound, "merchant-not-found", "没有该经营主体的信息", "Merchant not found",
			"共享视图中没有任何单位报送过该统一社会信用代码的事件。"))
		return
	}
	// Lists are [] rather than null however the backend stored them.
	if p.OpenComplaints == nil {
		p.OpenComplaints = []projections.OpenComplaint{}
	}
	if p.Certifications == nil {
		p.Certifications = []projections.Certification{}
	}
	if p.CreditListings == nil {
		p.CreditListings = []projections.CreditListing{}
	}
	writeJSON(w, http.StatusOK, ProfileResponse{MerchantProfile: p, FinesTotalCNY: float64(p.FinesTotalFen) / 100,
		Certified: p.Certified(), Listed: p.Listed()})
}

// HistoryResponse is one page of a merchant's history.
type HistoryResponse struct {
	Events     []events.Event `json:"events"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	uscc, ok := s.pathUSCC(w, r)
	if !ok {
		return
	}
	qv := r.URL.Query()
	var p params
	q := projections.HistoryQuery{
		USCC:    uscc,
		Types:   p.types(qv),
		Bureaus: p.bureaus(qv),
		From:    p.time(qv, "from"),
		To:      p.time(qv, "to"),
		Limit:   p.limit(qv),
		After:   p.cursor(qv),
	}
	if p.failed(w, r) {
		return
	}
	page, err := s.rm.History(r.Context(), q)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	resp := HistoryResponse{Events: s.entries(principalFrom(r.Context()), page.Entries)}
	if page.Next != nil {
		resp.NextCursor = encodeCursor(*page.Next)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) searchMerchants(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	var p params
	q := projections.MerchantQuery{
		Q:         strings.TrimSpace(qv.Get("q")),
		Township:  p.township(qv),
		Industry:  p.industry(qv),
		Certified: p.boolean(qv, "certified"),
		Listed:    p.boolean(qv, "listed"),
		Limit:     p.limit(qv),
		Offset:    p.offset(qv),
	}
	if p.failed(w, r) {
		return
	}
	res, err := s.rm.SearchMerchants(r.Context(), q)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	if res.Hits == nil {
		res.Hits = []projections.MerchantHit{}
	}
	writeJSON(w, http.StatusOK, res)
}

// EventSearchResponse is one page of event search results.
type EventSearchResponse struct {
	Total  int            `json:"total"`
	Events []events.Event `json:"events"`
}

func (s *Server) searchEvents(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	var p params
	q := projections.EventQuery{
		Q:        strings.TrimSpace(qv.Get("q")),
		Types:    p.types(qv),
		Bureaus:  p.bureaus(qv),
		Township: p.township(qv),
		From:     p.time(qv, "from"),
		To:       p.time(qv, "to"),
		Limit:    p.limit(qv),
		Offset:   p.offset(qv),
	}
	if p.failed(w, r) {
		return
	}
	res, err := s.rm.SearchEvents(r.Context(), q)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, EventSearchResponse{Total: res.Total, Events: s.entries(principalFrom(r.Context()), res.Entries)})
}

func (s *Server) getBureaus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"bureaus": events.Bureaus()})
}

func (s *Server) getSchema(w http.ResponseWriter, r *http.Request) {
	b, ok := events.Schema(r.PathValue("type"))
	if !ok {
		writeProblem(w, r, problem(http.StatusNotFound, "unknown-type", "没有这种事件类型", "Unknown event type",
			"事件类型目录见 /openapi.json；例如 complaint.received。"))
		return
	}
	w.Header().Set("Content-Type", "application/schema+json")
	_, _ = w.Write(b)
}

// params parses query parameters, collecting the first problem.
type params struct{ bad *Problem }

func (p *params) fail(pr Problem) {
	if p.bad == nil {
		p.bad = &pr
	}
}

func (p *params) failed(w http.ResponseWriter, r *http.Request) bool {
	if p.bad != nil {
		writeProblem(w, r, *p.bad)
		return true
	}
	return false
}

func list(qv url.Values, name string) []string {
	var out []string
	for _, v := range qv[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (p *params) types(qv url.Values) []string {
	ts := list(qv, "type")
	for _, t := range ts {
		if _, ok := events.Schema(t); !ok {
			p.fail(badParam("type", "enum", fmt.Sprintf("未知的事件类型 %q", t), fmt.Sprintf("unknown event type %q", t)))
		}
	}
	return ts
}

func (p *params) bureaus(qv url.Values) []string {
	bs := list(qv, "bureau")
	for _, b := range bs {
		if _, ok := events.LookupBureau(b); !ok {
			p.fail(badParam("bureau", "enum", fmt.Sprintf("未知的单位代码 %q，见 /v1/bureaus", b), fmt.Sprintf("unknown bureau code %q", b)))
		}
	}
	return bs
}

func (p *params) time(qv url.Values, name string) time.Time {
	v := qv.Get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.fail(badParam(name, "format", fmt.Sprintf("%s 应为 RFC 3339 时间，例如 2026-01-02T15:04:05+08:00", name),
			name+" must be an RFC 3339 time"))
	}
	return t
}

func (p *params) limit(qv url.Values) int {
	v := qv.Get("limit")
	if v == "" {
		return 50
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > projections.MaxLimit {
		p.fail(badParam("limit", "range", fmt.Sprintf("limit 应为 1 到 %d 之间的整数", projections.MaxLimit),
			fmt.Sprintf("limit must be an integer from 1 to %d", projections.MaxLimit)))
	}
	return n
}

func (p *params) offset(qv url.Values) int {
	v := qv.Get("offset")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 10000 {
		p.fail(badParam("offset", "range", "offset 应为 0 到 10000 之间的整数", "offset must be an integer from 0 to 10000"))
	}
	return n
}

func (p *params) boolean(qv url.Values, name string) *bool {
	v := qv.Get(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(badParam(name, "boolean", name+" 应为 true 或 false", name+" must be true or false"))
		return nil
	}
	return &b
}

func (p *params) township(qv url.Values) string {
	v := strings.TrimSpace(qv.Get("township"))
	if v == "" {
		return ""
	}
	t, ok := events.LookupTownship(v)
	if !ok {
		p.fail(badParam("township", "township", fmt.Sprintf("不是利州区的乡镇（街道）：%q", v), fmt.Sprintf("not a township of the district: %q", v)))
		return ""
	}
	return t.Code
}

func (p *params) industry(qv url.Values) string {
	v := strings.ToUpper(strings.TrimSpace(qv.Get("industry")))
	if v == "" {
		return v
	}
	if _, ok := events.LookupIndustry(v); !ok {
		p.fail(badParam("industry", "industry", fmt.Sprintf("不是 GB/T 4754-2017 的行业代码：%q", v), fmt.Sprintf("not a GB/T 4754-2017 code: %q", v)))
	}
	return v
}

func (p *params) cursor(qv url.Values) *projections.Cursor {
	v := qv.Get("cursor")
	if v == "" {
		return nil
	}
	c, err := decodeCursor(v)
	if err != nil {
		p.fail(badParam("cursor", "cursor", "cursor 无效，请使用上一页返回的 next_cursor", "cursor must be a next_cursor returned by a previous page"))
		return nil
	}
	return &c
}

func encodeCursor(c projections.Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (projections.Cursor, error) {
	var c projections.Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	if c.Key == "" || c.Time.IsZero() {
		return c, errors.New("incomplete cursor")
	}
	return c, nil
}
