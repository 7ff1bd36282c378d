package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections/incidents"
	"github.com/lizhou/fangxin/projections/rules"
)

// IncidentDeps are what the incident routes need: the incident view and the hub's clock (the
// rule engine's, so a silence starts when the engine thinks it is now).
type IncidentDeps struct {
	Store incidents.Store
	Now   func() time.Time
	// StreamPoll is how often the event stream looks for new lifecycle events (default 250 ms).
	StreamPoll time.Duration
}

// MaxSilence bounds a silence's length: a longer one hides incidents nobody will remember.
const MaxSilence = 30 * 24 * time.Hour

// registerIncidents adds the incident and silence routes.
func (s *Server) registerIncidents(d IncidentDeps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.StreamPoll == 0 {
		d.StreamPoll = 250 * time.Millisecond
	}
	s.inc = d
	s.route("GET /v1/incidents", s.authenticate(s.listIncidents))
	s.route("GET /v1/incidents/stream", s.authenticate(s.streamIncidents))
	s.route("GET /v1/incidents/{id}", s.authenticate(s.getIncident))
	s.route("POST /v1/silences", s.authenticate(s.postSilence))
	s.route("GET /v1/silences", s.authenticate(s.listSilences))
	s.route("DELETE /v1/silences/{id}", s.authenticate(s.deleteSilence))
}

// IncidentsResponse is one page of incidents.
type IncidentsResponse struct {
	Incidents  []incidents.Incident `json:"incidents"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	var p params
	f := incidents.Filter{
		Rule:     strings.TrimSpace(qv.Get("rule")),
		Level:    qv.Get("level"),
		Status:   qv.Get("status"),
		Industry: p.industry(qv),
		Township: p.township(qv),
		Merchant: qv.Get("merchant"),
		From:     p.time(qv, "from"),
		To:       p.time(qv, "to"),
		Limit:    p.limit(qv),
		Cursor:   qv.Get("cursor"),
	}
	if bs := p.bureaus(qv); len(bs) > 0 {
		f.Bureau = bs[0]
	}
	if f.Level != "" && !slices.Contains(rules.Levels, f.Level) {
		p.fail(badParam("level", "enum", "level 应为 I、II、III 或 IV（I 最严重）", "level must be I, II, III or IV"))
	}
	if f.Status != "" && f.Status != incidents.StatusOpen && f.Status != incidents.StatusResolved {
		p.fail(badParam("status", "enum", "status 应为 open（处置中）或 resolved（已解除）", "status must be open or resolved"))
	}
	if f.Merchant != "" && events.CheckUSCC(f.Merchant) != nil {
		p.fail(badParam("merchant", "uscc", "merchant 应为 18 位统一社会信用代码", "merchant must be a unified social credit code"))
	}
	if p.failed(w, r) {
		return
	}
	page, err := s.inc.Store.Incidents(r.Context(), f)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	resp := IncidentsResponse{Incidents: page.Incidents, NextCursor: page.Next}
	if resp.Incidents == nil {
		resp.Incidents = []incidents.Incident{}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	inc, ok, err := s.inc.Store.Incident(r.Context(), r.PathValue("id"))
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	if !ok {
		writeProblem(w, r, problem(http.StatusNotFound, "not-found", "没有这个事件", "Incident not found",
			"平台没有编号为"+strconv.Quote(r.PathValue("id"))+"的事件预警。"))
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

// streamIncidents is a server-sent-events stream of lifecycle events (incident.detected,
// incident.updated, incident.resolved), each as one SSE event: id the feed position, event the
// type, data the CloudEvent JSON. A client that reconnects with Last-Event-ID (or ?after=)
// resumes after that position; without one the stream starts with events to come. ?bureau=
// keeps only incidents routed to that bureau.
func (s *Server) streamIncidents(w http.ResponseWriter, r *http.Request) {
	var after int64 = -1
	resume := r.Header.Get("Last-Event-ID")
	if resume == "" {
		resume = r.URL.Query().Get("after")
	}
	if resume != "" {
		n, err := strconv.ParseInt(resume, 10, 64)
		if err != nil || n < 0 {
			writeProblem(w, r, badParam("Last-Event-ID", "format", "Last-Event-ID 应为本接口发出的事件编号（非负整数）",
				"Last-Event-ID must be an id this stream sent (a non-negative integer)"))
			return
		}
		after = n
	}
	var p params
	bureaus := p.bureaus(r.URL.Query())
	if p.failed(w, r) {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeProblem(w, r, problem(http.StatusInternalServerError, "internal", "服务内部错误", "Internal error", "连接不支持事件流。"))
		return
	}
	ctx := r.Context()
	if after < 0 { // start at the end of the feed
		after = 0
		for {
			entries, err := s.inc.Store.Feed(ctx, after, 500)
			if err != nil {
				s.readFailed(w, r, err)
				return
			}
			if len(entries) == 0 {
				break
			}
			after = entries[len(entries)-1].Seq
		}
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, ": 事件预警实时推送 fangxin incident stream\nretry: 2000\n\n")
	flusher.Flush()
	poll := time.NewTicker(s.inc.StreamPoll)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		entries, err := s.inc.Store.Feed(ctx, after, 500)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("incident stream: feed", "err", err)
			}
			return
		}
		for _, e := range entries {
			after = e.Seq
			if len(bureaus) > 0 && !routedTo(e.Event, bureaus[0]) {
				continue
			}
			b, _ := json.Marshal(e.Event)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Event.Type, b); err != nil {
				return
			}
			lastWrite = time.Now()
		}
		if len(entries) > 0 {
			flusher.Flush()
			if len(entries) == 500 {
				continue
			}
		}
		if time.Since(lastWrite) > 15*time.Second { // keep proxies from closing an idle stream
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
			lastWrite = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
}

// routedTo reports whether a lifecycle event concerns bureau (resolutions carry no routing: they
// pass).
func routedTo(ev events.Event, bureau string) bool {
	if ev.Type == events.TypeIncidentResolved {
		return true
	}
	var d events.IncidentDetected
	return json.Unmarshal(ev.Data, &d) == nil && slices.Contains(d.ResponsibleBureau, bureau)
}

// SilenceRequest is the body of POST /v1/silences. starts_at defaults to now; ends_at or
// duration (Go or ISO-8601-free, e.g. "72h") is required.
type SilenceRequest struct {
	Matchers events.SilenceMatchers `json:"matchers"`
	Reason   string                 `json:"reason"`
	StartsAt *time.Time             `json:"starts_at,omitempty"`
	EndsAt   *time.Time             `json:"ends_at,omitempty"`
	Duration string                 `json:"duration,omitempty"`
}

// SilenceView is a silence on the wire, with whether it applies now.
type SilenceView struct {
	incidents.Silence
	Active bool `json:"active"`
}

func (s *Server) postSilence(w http.ResponseWriter, r *http.Request) {
	var req SilenceRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeProblem(w, r, problem(http.StatusBadRequest, "malformed", "请求内容无法解析", "Malformed request",
			"请求体应为 JSON 对象：matchers、reason、ends_at 或 duration："+err.Error(),
			FieldError{Field: "body", Rule: "json", Detail: "无法解析", DetailEN: err.Error()}))
		return
	}
	now := s.inc.Now()
	caller := principalFrom(r.Context())
	d := events.SilenceCreated{Matchers: req.Matchers, Reason: strings.TrimSpace(req.Reason), StartsAt: now, CreatedBy: caller.Bureau}
	if req.StartsAt != nil {
		d.StartsAt = *req.StartsAt
	}
	var errs []FieldError
	if m := d.Matchers; m.Township != "" {
		if t, ok := events.LookupTownship(m.Township); ok {
			d.Matchers.Township = t.Code
		} else {
			errs = append(errs, FieldError{Field: "matchers/township", Rule: "township", Detail: "不是利州区的乡镇（街道）：" + strconv.Quote(m.Township), DetailEN: "not a township of the district"})
		}
	}
	if m := d.Matchers; m.Industry != "" {
		if _, ok := events.LookupIndustry(m.Industry); !ok {
			errs = append(errs, FieldError{Field: "matchers/industry", Rule: "industry", Detail: "不是 GB/T 4754-2017 的行业代码：" + strconv.Quote(m.Industry), DetailEN: "not a GB/T 4754-2017 code"})
		}
	}
	if m := d.Matchers; m.Merchant != "" && events.CheckUSCC(m.Merchant) != nil {
		errs = append(errs, FieldError{Field: "matchers/merchant", Rule: "uscc", Detail: "merchant 应为 18 位统一社会信用代码", DetailEN: "merchant must be a unified social credit code"})
	}
	switch {
	case req.EndsAt != nil && req.Duration != "":
		errs = append(errs, FieldError{Field: "duration", Rule: "exclusive", Detail: "ends_at 与 duration 只能填写一个", DetailEN: "give ends_at or duration, not both"})
	case req.EndsAt != nil:
		d.EndsAt = *req.EndsAt
	case req.Duration != "":
		dur, err := time.ParseDuration(req.Duration)
		if err != nil || dur <= 0 {
			errs = append(errs, FieldError{Field: "duration", Rule: "format", Detail: "duration 应为正的时长，如 72h", DetailEN: "duration must be a positive Go duration such as 72h"})
		}
		d.EndsAt = d.StartsAt.Add(dur)
	default:
		errs = append(errs, FieldError{Field: "ends_at", Rule: "required", Detail: "请填写静默结束时间 ends_at 或时长 duration", DetailEN: "ends_at or duration is required"})
	}
	if !d.EndsAt.IsZero() && !d.EndsAt.After(d.StartsAt) {
		errs = append(errs, FieldError{Field: "ends_at", Rule: "after-starts", Detail: "结束时间应晚于开始时间", DetailEN: "ends_at must be after starts_at"})
	}
	if !d.EndsAt.IsZero() && !d.EndsAt.Before(now.Add(MaxSilence+time.Second)) || d.EndsAt.Sub(d.StartsAt) > MaxSilence {
		errs = append(errs, FieldError{Field: "ends_at", Rule: "max-duration", Detail: "静默最长 30 天", DetailEN: "a silence lasts at most 30 days"})
	}
	if !d.EndsAt.IsZero() && !d.EndsAt.After(now) {
		errs = append(errs, FieldError{Field: "ends_at", Rule: "future", Detail: "结束时间已过", DetailEN: "ends_at is in the past"})
	}
	if len(errs) == 0 {
		d.SilenceID = newSilenceID(now)
		for _, p := range events.ValidateData(events.TypeSilenceCreated, mustMarshal(d)) {
			errs = append(errs, FieldError{Field: strings.TrimPrefix(p.Field, "data/"), Rule: p.Rule, Detail: p.Detail, DetailEN: p.DetailEN})
		}
	}
	if len(errs) > 0 {
		writeProblem(w, r, problem(http.StatusUnprocessableEntity, "invalid-silence", "静默规则有误", "Invalid silence",
			"静默规则须至少有一个匹配条件（rule、merchant、industry、township、category）、原因和结束时间。", errs...))
		return
	}
	ev := events.Event{SpecVersion: events.SpecVersion, ID: d.SilenceID, Source: events.SourceOf(caller.Bureau),
		Type: events.TypeSilenceCreated, Time: now, DataContentType: "application/json", Data: mustMarshal(d)}
	if !s.appendHubEvent(w, r, ev) {
		return
	}
	w.Header().Set("Location", "/v1/silences/"+d.SilenceID)
	writeJSON(w, http.StatusCreated, SilenceView{Silence: incidents.Silence{SilenceCreated: d}, Active: d.StartsAt.Compare(now) <= 0})
}

func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) {
	list, err := s.inc.Store.Silences(r.Context())
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	now := s.inc.Now()
	out := make([]SilenceView, len(list))
	for i, sl := range list {
		out[i] = SilenceView{Silence: sl, Active: sl.Active(now)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"silences": out})
}

// deleteSilence ends a silence now. The bureau that created it, or the office, may end it.
func (s *Server) deleteSilence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sl, ok, err := s.inc.Store.Silence(r.Context(), id)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	if !ok {
		writeProblem(w, r, problem(http.StatusNotFound, "not-found", "没有这条静默规则", "Silence not found",
			"平台没有编号为"+strconv.Quote(id)+"的静默规则（新建的规则可能需要片刻才能查到）。"))
		return
	}
	caller := principalFrom(r.Context())
	if caller.Bureau != sl.CreatedBy && !slices.Contains(caller.Roles, RoleOffice) && !slices.Contains(caller.Roles, RoleAdmin) {
		writeProblem(w, r, problem(http.StatusForbidden, "forbidden", "无权撤销", "Forbidden",
			"只有创建该静默规则的单位或领导小组办公室可以撤销它。"))
		return
	}
	now := s.inc.Now()
	if !sl.Active(now) && !now.Before(sl.EndsAt) || sl.DeletedAt != nil {
		writeProblem(w, r, problem(http.StatusConflict, "silence-ended", "静默规则已结束", "Silence already ended",
			"该静默规则已到期或已被撤销。"))
		return
	}
	d := events.SilenceDeleted{SilenceID: id, DeletedAt: now, DeletedBy: caller.Bureau}
	ev := events.Event{SpecVersion: events.SpecVersion, ID: id + ".deleted", Source: events.SourceOf(caller.Bureau),
		Type: events.TypeSilenceDeleted, Time: now, DataContentType: "application/json", Data: mustMarshal(d)}
	if !s.appendHubEvent(w, r, ev) {
		return
	}
	sl.DeletedAt, sl.DeletedBy = &now, caller.Bureau
	writeJSON(w, http.StatusOK, SilenceView{Silence: sl, Active: false})
}

// appendHubEvent validates and appends an event the gateway writes itself; it answers the error
// and reports false when that fails.
func (s *Server) appendHubEvent(w http.ResponseWriter, r *http.Request, ev events.Event) bool {
	if ps := events.ValidateHub(ev); len(ps) > 0 {
		s.log.Error("gateway: invalid hub event", "type", ev.Type, "problems", ps)
		writeProblem(w, r, problem(http.StatusInternalServerError, "internal", "服务内部错误", "Internal error", "生成的事件未通过校验，问题已记录。"))
		return false
	}
	if err := s.publish(r.Context(), []*message.Message{eventlog.ToMessage(ev)}); err != nil {
		s.metrics.unavailab.Inc()
		writeProblem(w, r, problem(http.StatusServiceUnavailable, "log-unavailable", "暂时无法保存", "Log unavailable",
			"事件日志暂时无法写入，请稍后重试。"))
		return false
	}
	return true
}

func newSilenceID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "SIL-" + now.In(rules.Shanghai).Format("20060102") + "-" + hex.EncodeToString(b[:])
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
