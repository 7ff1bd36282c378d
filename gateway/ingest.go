package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// EventResult is the answer for one event of a push.
type EventResult struct {
	Index  int          `json:"index"`
	ID     string       `json:"id,omitempty"`
	Source string       `json:"source,omitempty"`
	Status int          `json:"status"`
	Errors []FieldError `json:"errors,omitempty"`
}

// BatchResponse answers a batch push: 202 when every event was accepted, 207 when some were,
// 422 (as a problem document) when none was.
type BatchResponse struct {
	Accepted int           `json:"accepted"`
	Rejected int           `json:"rejected"`
	Results  []EventResult `json:"results"`
}

// statusFor picks the HTTP status of a rejected event: a foreign source is a permission problem,
// everything else a content problem.
func statusFor(ps []events.Problem) int {
	for _, p := range ps {
		if p.Rule != "source-bureau" {
			return http.StatusUnprocessableEntity
		}
	}
	return http.StatusForbidden
}

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	caller := principalFrom(r.Context())
	batch, items, err := events.DecodeHTTP(r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.writeDecodeError(w, r, err)
		return
	}
	if len(items) == 0 {
		writeProblem(w, r, problem(http.StatusBadRequest, "empty-batch", "批量中没有事件", "Empty batch",
			"批量请求至少要包含一个事件。", FieldError{Field: "body", Rule: "min-items", Detail: "批量为空", DetailEN: "a batch needs at least one event"}))
		return
	}
	if len(items) > s.cfg.MaxBatchEvents {
		writeProblem(w, r, problem(http.StatusRequestEntityTooLarge, "batch-too-large", "批量事件过多", "Batch too large",
			fmt.Sprintf("一次最多提交 %d 个事件，本次 %d 个，请分批提交。", s.cfg.MaxBatchEvents, len(items)),
			FieldError{Field: "body", Rule: "max-items", Detail: fmt.Sprintf("最多 %d 个事件", s.cfg.MaxBatchEvents),
				DetailEN: fmt.Sprintf("at most %d events per batch", s.cfg.MaxBatchEvents)}))
		return
	}

	results := make([]EventResult, len(items))
	msgs := make([]*message.Message, 0, len(items))
	var accepted typeCounts
	for i, it := range items {
		res := EventResult{Index: i, ID: it.Event.ID, Source: it.Event.Source}
		problems := it.Validate(caller.Bureau)
		if len(problems) > 0 {
			res.Status = statusFor(problems)
			res.Errors = fieldErrors(problems)
			s.metrics.rejected.WithLabelValues(problems[0].Rule).Inc()
		} else {
			res.Status = http.StatusAccepted
			msgs = append(msgs, eventlog.ToMessage(it.Event))
			accepted.add(it.Event.Type)
		}
		results[i] = res
	}

	if len(msgs) > 0 {
		if err := s.publish(r.Context(), msgs); err != nil {
			s.metrics.unavailab.Inc()
			s.log.Warn("log append failed", "bureau", caller.Bureau, "events", len(msgs), "err", err)
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, problem(http.StatusServiceUnavailable, "log-unavailable", "事件日志暂不可用",
				"Event log unavailable", "事件未能安全写入日志，本次提交未被接收；请稍后原样重新提交（重复提交不会产生重复事件）。"))
			return
		}
		for _, c := range accepted {
			s.metrics.ingested.WithLabelValues(caller.Bureau, c.typ).Add(float64(c.n))
		}
		s.metrics.ackLaten.Observe(time.Since(start).Seconds())
	}

	if !batch {
		res := results[0]
		if res.Status == http.StatusAccepted {
			writeJSON(w, http.StatusAccepted, res)
			return
		}
		title, titleEN := "事件不合规", "Invalid event"
		if res.Status == http.StatusForbidden {
			title, titleEN = "不能代其他单位提交事件", "Foreign source"
		}
		p := problem(res.Status, "invalid-event", title, titleEN, summarize(res.Errors), res.Errors...)
		writeProblem(w, r, p)
		return
	}
	writeBatch(w, r, results, "批量中的事件全部不合规", "No event of the batch is valid", "%d 个事件均未通过校验，逐条原因见 results。")
}

// typeCounts counts accepted events by type, so that a batch updates each metric series once.
type typeCounts []struct {
	typ string
	n   int
}

func (c *typeCounts) add(typ string) {
	for i := range *c {
		if (*c)[i].typ == typ {
			(*c)[i].n++
			return
		}
	}
	*c = append(*c, struct {
		typ string
		n   int
	}{typ, 1})
}

// writeBatch answers a batch by its per-item results (BatchResponse): 202 when none was
// rejected (status ≥ 400; a skipped record, 204, counts as neither), 207 when some were accepted,
// otherwise a 422 problem titled titleZH/titleEN whose detail is detailZH with the number
// rejected, carrying the results.
func writeBatch(w http.ResponseWriter, r *http.Request, results []EventResult, titleZH, titleEN, detailZH string) {
	resp := BatchResponse{Results: results}
	for _, res := range results {
		switch {
		case res.Status == http.StatusAccepted:
			resp.Accepted++
		case res.Status >= 400:
			resp.Rejected++
		}
	}
	switch {
	case resp.Rejected == 0:
		writeJSON(w, http.StatusAccepted, resp)
	case resp.Accepted > 0:
		writeJSON(w, http.StatusMultiStatus, resp)
	default:
		p := problem(http.StatusUnprocessableEntity, "invalid-batch", titleZH, titleEN, fmt.Sprintf(detailZH, resp.Rejected))
		p.Results = results
		writeProblem(w, r, p)
	}
}

func summarize(errs []FieldError) string {
	if len(errs) == 0 {
		return ""
	}
	d := fmt.Sprintf("%s：%s", errs[0].Field, errs[0].Detail)
	if len(errs) > 1 {
		d += fmt.Sprintf("（另有 %d 处问题，见 errors）", len(errs)-1)
	}
	return d
}

// publish appends msgs durably, giving up after PublishTimeout. A timed-out append may still
// complete: the client retries and the views deduplicate on the event key.
func (s *Server) publish(ctx context.Context, msgs []*message.Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.pub.Publish(eventlog.Topic, msgs...) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) writeDecodeError(w http.ResponseWriter, r *http.Request, err error) {
	var de *events.DecodeError
	switch {
	case errors.Is(err, events.ErrTooLarge):
		writeProblem(w, r, problem(http.StatusRequestEntityTooLarge, "body-too-large", "请求体过大", "Body too large",
			fmt.Sprintf("请求体不能超过 %d 字节，请分批提交。", s.cfg.MaxBodyBytes),
			FieldError{Field: "body", Rule: "max-bytes", Detail: fmt.Sprintf("不超过 %d 字节", s.cfg.MaxBodyBytes),
				DetailEN: fmt.Sprintf("at most %d bytes", s.cfg.MaxBodyBytes)}))
	case errors.Is(err, events.ErrUnsupportedMediaType):
		writeProblem(w, r, problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "不支持的内容类型",
			"Unsupported media type", "请使用 application/cloudevents+json、application/cloudevents-batch+json，或带 ce- 请求头的 application/json（二进制模式）。",
			FieldError{Field: "Content-Type", Rule: "media-type", Detail: "内容类型不受支持", DetailEN: err.Error()}))
	case errors.As(err, &de):
		writeProblem(w, r, problem(http.StatusBadRequest, "malformed", "请求内容无法解析", "Malformed request",
			"请求体不是合法的 CloudEvents JSON："+de.Error(),
			FieldError{Field: "body", Rule: "json", Detail: "无法解析", DetailEN: de.Error()}))
	default:
		writeProblem(w, r, problem(http.StatusBadRequest, "malformed", "请求内容无法解析", "Malformed request", err.Error()))
	}
}
