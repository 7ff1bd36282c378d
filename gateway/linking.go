package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/linking"
)

// Candidate is a registered merchant an unlinked event may name, scored by the matcher.
type Candidate struct {
	USCC         string  `json:"uscc"`
	Name         string  `json:"name"`
	TownshipName string  `json:"township_name,omitempty"`
	Address      string  `json:"address,omitempty"`
	Score        float64 `json:"score"`
}

// UnlinkedResponse lists unlinked events, newest first; Candidates[i] are the best candidates of
// Events[i] (empty when none shares a word of its name).
type UnlinkedResponse struct {
	Events     []events.Event `json:"events"`
	Candidates [][]Candidate  `json:"candidates"`
}

// unlinkedCandidates is how many candidates GET /v1/unlinked shows per event.
const unlinkedCandidates = 3

func (s *Server) getUnlinked(w http.ResponseWriter, r *http.Request) {
	var p params
	limit := p.limit(r.URL.Query())
	if p.failed(w, r) {
		return
	}
	list, err := s.rm.Unlinked(r.Context(), limit)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	resp := UnlinkedResponse{Events: s.entries(principalFrom(r.Context()), list), Candidates: make([][]Candidate, len(list))}
	for i, e := range list {
		resp.Candidates[i] = []Candidate{}
		q, ok := linking.QueryOf(e.Event)
		if !ok {
			continue
		}
		ms, err := linking.Suggest(r.Context(), s.rm, q, unlinkedCandidates)
		if err != nil {
			s.readFailed(w, r, err)
			return
		}
		for _, m := range ms {
			resp.Candidates[i] = append(resp.Candidates[i], Candidate{USCC: m.USCC, Name: m.Name, TownshipName: m.TownshipName, Address: m.Address, Score: m.Score})
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// LinkRequest is the body of POST /v1/unlinked/{bureau}/{id}/link.
type LinkRequest struct {
	USCC string `json:"uscc"`
	Note string `json:"note,omitempty"`
}

// maxLinkBody bounds the body of a link request.
const maxLinkBody = 16 << 10

// ManualLinkID is the id of an officer's link of the event with key target to uscc: linking the
// same event to the same merchant again is the same event, a no-op.
func ManualLinkID(target, uscc string) string {
	sum := sha256.Sum256([]byte(target + " -> " + uscc))
	return "link-" + hex.EncodeToString(sum[:16])
}

// postLink records an officer's link of an unlinked event (source /bureaus/{bureau}, id) to a
// registered merchant as merchant.linked from the officer's bureau.
func (s *Server) postLink(w http.ResponseWriter, r *http.Request) {
	caller := principalFrom(r.Context())
	source, id := events.SourceOf(r.PathValue("bureau")), r.PathValue("id")

	body, err := io.ReadAll(io.LimitReader(r.Body, maxLinkBody+1))
	if err != nil || len(body) > maxLinkBody {
		writeProblem(w, r, badParam("body", "max-bytes", "请求体过大或无法读取（不超过 16 KiB）", "the body is unreadable or larger than 16 KiB"))
		return
	}
	var req LinkRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeProblem(w, r, badParam("body", "json", "请求体应为 JSON 对象，如 {\"uscc\": \"…\", \"note\": \"…\"}："+err.Error(),
			"the body must be a JSON object {\"uscc\": …, \"note\": …}: "+err.Error()))
		return
	}
	if req.USCC == "" {
		writeProblem(w, r, invalidLink(FieldError{Field: "uscc", Rule: "required", Detail: "缺少要关联的经营者统一社会信用代码 uscc",
			DetailEN: "uscc (the merchant to link to) is required"}))
		return
	}
	if err := events.CheckUSCC(req.USCC); err != nil {
		writeProblem(w, r, invalidLink(FieldError{Field: "uscc", Rule: "uscc", Detail: "统一社会信用代码无效：" + usccReason(err),
			DetailEN: "invalid unified social credit code: " + err.Error()}))
		return
	}

	target, found, err := s.rm.Event(r.Context(), source, id)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	switch {
	case !found:
		writeProblem(w, r, problem(http.StatusNotFound, "unknown-event", "没有这个事件", "Unknown event",
			"共享视图中没有来源为 "+source+"、编号为 "+id+" 的事件（刚提交的事件可能还在处理中，请稍后再试）。"))
		return
	case target.Linked != nil:
		writeProblem(w, r, problem(http.StatusConflict, "already-linked", "事件已关联经营者", "Already linked",
			"该事件已关联到经营者 "+target.Linked.USCC+"（"+linkMethodZH(target.Linked.Method)+"），不能再次关联。"))
		return
	case target.Event.Subject != "":
		writeProblem(w, r, problem(http.StatusConflict, "not-unlinked", "事件已有经营者代码", "Event names a merchant",
			"该事件本身带有经营者统一社会信用代码 "+target.Event.Subject+"，无需关联。"))
		return
	}
	q, linkable := linking.QueryOf(target.Event)
	if !linkable {
		writeProblem(w, r, problem(http.StatusConflict, "not-linkable", "该事件不涉及具体经营者", "Event names no merchant",
			"只有写明经营者名称和地址、但没有统一社会信用代码的投诉可以关联；该事件（"+target.Event.Type+"）针对的是乡镇、行业或全区。"))
		return
	}
	prof, ok, err := s.rm.Profile(r.Context(), req.USCC)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	if !ok || !prof.Registered {
		writeProblem(w, r, invalidLink(FieldError{Field: "uscc", Rule: "registered", Detail: "代码为 " + req.USCC + " 的经营者不在登记信息中，只能关联已登记的经营者",
			DetailEN: "no registered merchant has code " + req.USCC + "; links go to registered merchants only"}))
		return
	}

	score := linking.Score(q, projections.MerchantHit{USCC: prof.USCC, Name: prof.Name, Township: prof.Township, Address: prof.Address}).Score
	data, err := json.Marshal(events.MerchantLinked{EventSource: source, EventID: id, USCC: req.USCC, Method: events.LinkManual, Score: score, Note: req.Note})
	if err != nil {
		panic(err) // a plain struct
	}
	ev := events.Event{
		SpecVersion: events.SpecVersion, ID: ManualLinkID(target.Event.Key(), req.USCC), Source: events.SourceOf(caller.Bureau),
		Type: events.TypeMerchantLinked, Subject: req.USCC, Time: time.Now().UTC().Truncate(time.Millisecond),
		DataContentType: "application/json", Data: data,
	}
	if ps := events.ValidateLink(ev, caller.Bureau); len(ps) > 0 {
		errs := fieldErrors(ps)
		for i := range errs {
			if errs[i].Field == "data/note" {
				errs[i].Field = "note"
			}
		}
		writeProblem(w, r, invalidLink(errs...))
		return
	}
	if err := s.publish(r.Context(), []*message.Message{eventlog.ToMessage(ev)}); err != nil {
		s.metrics.unavailab.Inc()
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, problem(http.StatusServiceUnavailable, "log-unavailable", "事件日志暂不可用",
			"Event log unavailable", "关联未能安全写入日志，请稍后重新提交（重复提交不会产生重复事件）。"))
		return
	}
	s.metrics.ingested.WithLabelValues(caller.Bureau, ev.Type).Inc()
	writeJSON(w, http.StatusAccepted, EventResult{ID: ev.ID, Source: ev.Source, Status: http.StatusAccepted})
}

func invalidLink(errs ...FieldError) Problem {
	return problem(http.StatusUnprocessableEntity, "invalid-link", "关联请求不合规", "Invalid link", summarize(errs), errs...)
}

func linkMethodZH(m string) string {
	if m == events.LinkAuto {
		return "平台自动关联"
	}
	return "工作人员关联"
}
