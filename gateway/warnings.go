package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway/capxml"
	"github.com/lizhou/fangxin/projections"
)

// Consumer warnings as OASIS CAP 1.2 (package capxml). They are public, as the plan publishes
// consumer warnings to society (及时向社会公布消费警示): these routes need no key. Warnings come
// from the shared view (SearchEvents by type), so a warning appears here once it is folded.

// feedSize is how many of the newest warnings the feed carries.
const feedSize = 100

// maxWarningScan bounds how many warnings GET /v1/warnings/{id}.cap.xml looks through.
const maxWarningScan = 10000

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func alertURL(r *http.Request, ev events.Event) string {
	return baseURL(r) + "/v1/warnings/" + url.PathEscape(ev.ID) + ".cap.xml?bureau=" + url.QueryEscape(ev.Bureau())
}

func writeXML(w http.ResponseWriter, mediaType string, doc []byte) {
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}

func (s *Server) getWarningsFeed(w http.ResponseWriter, r *http.Request) {
	res, err := s.rm.SearchEvents(r.Context(), projections.EventQuery{Types: []string{events.TypeWarningIssued}, Limit: feedSize})
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	items := make([]capxml.FeedItem, len(res.Entries))
	for i, e := range res.Entries {
		items[i] = capxml.FeedItem{Event: e.Event, URL: alertURL(r, e.Event)}
	}
	f, err := capxml.NewFeed(baseURL(r)+"/v1/warnings/cap.xml", items)
	if err == nil {
		var doc []byte
		if doc, err = capxml.MarshalFeed(f); err == nil {
			writeXML(w, capxml.FeedMediaType, doc)
			return
		}
	}
	s.capFailed(w, r, err)
}

// capFailed answers 500 for a stored warning that does not encode: a bug, logged.
func (s *Server) capFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("encoding a warning as CAP", "path", r.URL.Path, "err", err)
	writeProblem(w, r, problem(http.StatusInternalServerError, "internal", "服务内部错误", "Internal error",
		"生成 CAP 消息时发生内部错误；问题已记录。"))
}

// getWarningCAP serves /v1/warnings/{id}.cap.xml: {id} is the warning event's id; the bureau
// parameter picks the issuing bureau when two bureaus used the same id.
func (s *Server) getWarningCAP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".cap.xml")
	if !ok || id == "" {
		writeProblem(w, r, problem(http.StatusNotFound, "warning-not-found", "没有这个地址", "Not found",
			"消费警示的 CAP 地址为 /v1/warnings/{编号}.cap.xml，订阅源为 /v1/warnings/cap.xml。"))
		return
	}
	var p params
	bureaus := p.bureaus(r.URL.Query())
	if p.failed(w, r) {
		return
	}
	var found []events.Event
	for offset := 0; offset < maxWarningScan; offset += projections.MaxLimit {
		res, err := s.rm.SearchEvents(r.Context(), projections.EventQuery{Types: []string{events.TypeWarningIssued},
			Bureaus: bureaus, Limit: projections.MaxLimit, Offset: offset})
		if err != nil {
			s.readFailed(w, r, err)
			return
		}
		for _, e := range res.Entries {
			if e.Event.ID == id {
				found = append(found, e.Event)
			}
		}
		if offset+len(res.Entries) >= res.Total || len(res.Entries) == 0 {
			break
		}
	}
	switch {
	case len(found) == 0:
		writeProblem(w, r, problem(http.StatusNotFound, "warning-not-found", "没有这条消费警示", "Warning not found",
			"没有编号为“"+id+"”的消费警示（或尚未写入共享视图）。"))
		return
	case len(found) > 1:
		writeProblem(w, r, problem(http.StatusConflict, "ambiguous-warning", "多个单位使用了同一编号", "Ambiguous warning id",
			"多个单位发布了编号为“"+id+"”的消费警示，请用 bureau 参数指明发布单位。",
			FieldError{Field: "bureau", Rule: events.RuleRequired, Detail: "请指明发布单位", DetailEN: "several bureaus issued a warning with this id; name one with bureau"}))
		return
	}
	a, err := capxml.FromWarning(found[0], alertURL(r, found[0]))
	if err == nil {
		var doc []byte
		if doc, err = capxml.Marshal(a); err == nil {
			writeXML(w, capxml.MediaType, doc)
			return
		}
	}
	s.capFailed(w, r, err)
}
