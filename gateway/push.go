package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/push"
	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
)

// PushConnector is a connector file with a push source (connectors/push) that the gateway serves
// at POST /v1/connectors/{name}/push.
type PushConnector struct {
	Loaded *connectors.Loaded
	Source *push.Config
}

// NewPushConnector checks that l has a push source.
func NewPushConnector(l *connectors.Loaded) (PushConnector, error) {
	src, ok := l.Source.(*push.Config)
	if !ok {
		return PushConnector{}, fmt.Errorf("connector %s: source kind %s is not push", l.Name, l.SourceKind)
	}
	return PushConnector{Loaded: l, Source: src}, nil
}

// postPush maps a bureau system's own JSON with the connector's mapping and appends the events
// that validate. It answers like a batch push: 202 none rejected, 207 some, 422 all (a problem
// with results), one result per record naming each problem's field and rule; a record a skip
// mapping matches is answered 204 and counted neither way.
func (s *Server) postPush(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	caller := principalFrom(r.Context())
	name := r.PathValue("name")
	pc, ok := s.push[name]
	if !ok {
		writeProblem(w, r, problem(http.StatusNotFound, "unknown-connector", "没有这个连接器", "Unknown connector",
			"平台没有名为 "+name+" 的推送型连接器；连接器配置放在平台的连接器目录中（--connectors-dir）。"))
		return
	}
	if caller.Bureau != pc.Loaded.Bureau {
		writeProblem(w, r, problem(http.StatusForbidden, "foreign-connector", "不能使用其他单位的连接器", "Foreign connector",
			"连接器 "+name+" 属于 "+bureauNameZH(pc.Loaded.Bureau)+"，请使用本单位的连接器和密钥。",
			FieldError{Field: "Authorization", Rule: "source-bureau", Detail: "密钥所属单位与连接器不符",
				DetailEN: "the key's bureau " + caller.Bureau + " is not the connector's " + pc.Loaded.Bureau}))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil || int64(len(body)) > s.cfg.MaxBodyBytes {
		s.writeDecodeError(w, r, events.ErrTooLarge)
		return
	}
	recs, err := pc.Source.Decode(body)
	switch {
	case errors.Is(err, push.ErrTooMany):
		writeProblem(w, r, problem(http.StatusRequestEntityTooLarge, "batch-too-large", "记录过多", "Too many records",
			fmt.Sprintf("一次最多推送 %d 条记录，请分批推送。", pc.Source.MaxRecords),
			FieldError{Field: "body", Rule: "max-items", Detail: fmt.Sprintf("最多 %d 条", pc.Source.MaxRecords), DetailEN: err.Error()}))
		return
	case err != nil:
		writeProblem(w, r, badParam("body", "json", err.Error(), err.Error()))
		return
	case len(recs) == 0:
		writeProblem(w, r, problem(http.StatusBadRequest, "empty-batch", "没有记录", "Empty batch",
			"请求至少要包含一条记录。", FieldError{Field: "body", Rule: "min-items", Detail: "记录为空", DetailEN: "at least one record is needed"}))
		return
	}

	results := make([]EventResult, len(recs))
	var msgs []*message.Message
	var accepted []events.Event
	for i, rec := range recs {
		res := EventResult{Index: i}
		field := "records/" + strconv.Itoa(i)
		if rec.Values == nil {
			res.Status = http.StatusUnprocessableEntity
			res.Errors = []FieldError{{Field: field, Rule: "type", Detail: "记录应为 JSON 对象", DetailEN: "a record must be a JSON object"}}
			results[i] = res
			continue
		}
		push.FillAbsent(pc.Loaded.Mappings, rec)
		ev, err := connectors.MapRecord(pc.Loaded.Mappings, rec)
		res.ID, res.Source = ev.ID, ev.Source
		var reason connectors.Reason
		switch {
		case errors.Is(err, connectors.ErrSkip):
			res.Status = http.StatusNoContent // a skip mapping drops it on purpose
		case errors.As(err, &reason):
			res.Status = http.StatusUnprocessableEntity
			res.Errors = []FieldError{{Field: field, Rule: "mapping", Detail: reason.ZH, DetailEN: reason.EN}}
		case err != nil:
			res.Status = http.StatusUnprocessableEntity
			res.Errors = []FieldError{{Field: field, Rule: "mapping", Detail: err.Error(), DetailEN: err.Error()}}
		default:
			if ps := events.Validate(ev, caller.Bureau); len(ps) > 0 {
				res.Status = statusFor(ps)
				res.Errors = fieldErrors(ps)
				for j := range res.Errors {
					res.Errors[j].Field = field + "/" + res.Errors[j].Field
				}
				s.metrics.rejected.WithLabelValues(ps[0].Rule).Inc()
			} else {
				res.Status = http.StatusAccepted
				msgs = append(msgs, eventlog.ToMessage(ev))
				accepted = append(accepted, ev)
			}
		}
		results[i] = res
	}
	if len(msgs) > 0 {
		if err := s.publish(r.Context(), msgs); err != nil {
			s.metrics.unavailab.Inc()
			s.log.Warn("log append failed", "connector", name, "events", len(msgs), "err", err)
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, problem(http.StatusServiceUnavailable, "log-unavailable", "事件日志暂不可用",
				"Event log unavailable", "记录未能安全写入日志，本次推送未被接收；请稍后原样重新推送（重复推送不会产生重复事件）。"))
			return
		}
		for _, ev := range accepted {
			s.metrics.ingested.WithLabelValues(caller.Bureau, ev.Type).Inc()
		}
		s.metrics.ackLaten.Observe(time.Since(start).Seconds())
	}
	writeBatch(w, r, results, "推送的记录全部不合规", "No record is valid", "%d 条记录均未通过映射或校验，逐条原因见 results。")
}
