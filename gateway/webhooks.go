package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/events"
)

// Webhooks is what the subscription and delivery routes need (delivery.Service). bureau ""
// means any bureau's (the admin's view); ErrNotFound from delivery means absent or another
// bureau's.
type Webhooks interface {
	Create(ctx context.Context, bureau string, req delivery.NewSubscription) (delivery.Subscription, string, []events.Problem, error)
	List(ctx context.Context, bureau string) ([]delivery.Subscription, error)
	Get(ctx context.Context, bureau, id string) (delivery.Subscription, error)
	Delete(ctx context.Context, bureau, id string) error
	RotateSecret(ctx context.Context, bureau, id string) (delivery.Subscription, string, error)
	Deliveries(ctx context.Context, bureau, subscription string, limit int, after string) ([]delivery.Delivery, error)
	Redeliver(ctx context.Context, bureau, id string) (delivery.Delivery, error)
}

// SubscriptionWithSecret is the answer that creates a subscription or rotates its secret: the
// only place the secret is ever shown.
type SubscriptionWithSecret struct {
	delivery.Subscription
	Secret string `json:"secret"`
}

// scope is the bureau whose subscriptions the caller manages: its own, or every bureau's for
// an admin key.
func scope(ctx context.Context) string {
	p := principalFrom(ctx)
	if slices.Contains(p.Roles, RoleAdmin) {
		return ""
	}
	return p.Bureau
}

func (s *Server) webhookFailed(w http.ResponseWriter, r *http.Request, err error, what string) {
	if errors.Is(err, delivery.ErrNotFound) {
		writeProblem(w, r, problem(http.StatusNotFound, "not-found", "没有这个"+what, "Not found",
			"本单位没有这个"+what+"；订阅只对创建它的单位可见。"))
		return
	}
	s.log.Error("webhook store", "err", err)
	writeProblem(w, r, problem(http.StatusServiceUnavailable, "store-unavailable", "订阅存储暂不可用", "Store unavailable",
		"订阅与投递记录暂时无法读写，请稍后重试。"))
}

func (s *Server) postSubscription(w http.ResponseWriter, r *http.Request) {
	var req delivery.NewSubscription
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		field, rule := "body", events.RuleJSON
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field, rule = strings.Trim(name, `"`), events.RuleUnknownField
		}
		writeProblem(w, r, problem(http.StatusBadRequest, "invalid-subscription", "订阅请求有误", "Invalid subscription",
			"请求体应为 JSON 对象：{\"url\": \"https://…\", \"filter\": {…}}。",
			FieldError{Field: field, Rule: rule, Detail: "请求体不是有效的订阅 JSON", DetailEN: err.Error()}))
		return
	}
	bureau := principalFrom(r.Context()).Bureau
	sub, secret, ps, err := s.webhooks.Create(r.Context(), bureau, req)
	if err != nil {
		s.webhookFailed(w, r, err, "订阅")
		return
	}
	if len(ps) > 0 {
		writeProblem(w, r, problem(http.StatusUnprocessableEntity, "invalid-subscription", "订阅请求有误", "Invalid subscription",
			fmt.Sprintf("订阅有 %d 处问题，见 errors。", len(ps)), fieldErrors(ps)...))
		return
	}
	w.Header().Set("Location", "/v1/subscriptions/"+sub.ID)
	writeJSON(w, http.StatusCreated, SubscriptionWithSecret{Subscription: sub, Secret: secret})
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	subs, err := s.webhooks.List(r.Context(), scope(r.Context()))
	if err != nil {
		s.webhookFailed(w, r, err, "订阅")
		return
	}
	if subs == nil {
		subs = []delivery.Subscription{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": subs})
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := s.webhooks.Get(r.Context(), scope(r.Context()), r.PathValue("id"))
	if err != nil {
		s.webhookFailed(w, r, err, "订阅")
		return
	}
	writeJSON(w, http.StatusOK, sub)
}

func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	if err := s.webhooks.Delete(r.Context(), scope(r.Context()), r.PathValue("id")); err != nil {
		s.webhookFailed(w, r, err, "订阅")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	sub, secret, err := s.webhooks.RotateSecret(r.Context(), scope(r.Context()), r.PathValue("id"))
	if err != nil {
		s.webhookFailed(w, r, err, "订阅")
		return
	}
	writeJSON(w, http.StatusOK, SubscriptionWithSecret{Subscription: sub, Secret: secret})
}

// DeliveryPage is the answer of GET /v1/deliveries.
type DeliveryPage struct {
	Deliveries []delivery.Delivery `json:"deliveries"`
	Next       string              `json:"next,omitempty"`
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	var p params
	limit := p.limit(qv)
	sub := qv.Get("subscription")
	if sub == "" {
		p.fail(badParam("subscription", events.RuleRequired, "请用 subscription 参数指明订阅编号", "subscription is required"))
	}
	if p.failed(w, r) {
		return
	}
	ds, err := s.webhooks.Deliveries(r.Context(), scope(r.Context()), sub, limit, qv.Get("after"))
	if err != nil {
		s.webhookFailed(w, r, err, "订阅")
		return
	}
	page := DeliveryPage{Deliveries: ds}
	if ds == nil {
		page.Deliveries = []delivery.Delivery{}
	}
	if len(ds) == limit {
		page.Next = ds[len(ds)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) {
	d, err := s.webhooks.Redeliver(r.Context(), scope(r.Context()), r.PathValue("id"))
	if err != nil {
		s.webhookFailed(w, r, err, "投递记录")
		return
	}
	writeJSON(w, http.StatusAccepted, d)
}
