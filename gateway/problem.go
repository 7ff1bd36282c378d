package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/lizhou/fangxin/events"
)

// ProblemBase prefixes the type URIs of the gateway's problem details (RFC 9457).
const ProblemBase = "https://fangxin.lizhou.gov.cn/problems/"

// Problem is an RFC 9457 problem details document. Title and Detail are plain Chinese for the
// official reading them; TitleEN repeats the title in English for API clients.
type Problem struct {
	Type     string        `json:"type"`
	Title    string        `json:"title"`
	TitleEN  string        `json:"title_en,omitempty"`
	Status   int           `json:"status"`
	Detail   string        `json:"detail,omitempty"`
	Instance string        `json:"instance,omitempty"`
	Errors   []FieldError  `json:"errors,omitempty"`
	Results  []EventResult `json:"results,omitempty"`
}

// FieldError names one bad field and the rule it breaks.
type FieldError struct {
	Field    string `json:"field"`
	Rule     string `json:"rule"`
	Detail   string `json:"detail"`
	DetailEN string `json:"detail_en,omitempty"`
}

func fieldErrors(ps []events.Problem) []FieldError {
	out := make([]FieldError, len(ps))
	for i, p := range ps {
		out[i] = FieldError{Field: p.Field, Rule: p.Rule, Detail: p.Detail, DetailEN: p.DetailEN}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}

// problem builds the common problems; kind is the last segment of the type URI.
func problem(status int, kind, title, titleEN, detail string, errs ...FieldError) Problem {
	return Problem{Type: ProblemBase + kind, Title: title, TitleEN: titleEN, Status: status, Detail: detail, Errors: errs}
}

func badParam(field, rule, detail, detailEN string) Problem {
	return problem(http.StatusBadRequest, "invalid-parameter", "请求参数有误", "Invalid parameter",
		detail, FieldError{Field: field, Rule: rule, Detail: detail, DetailEN: detailEN})
}
