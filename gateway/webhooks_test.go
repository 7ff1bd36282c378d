package gateway_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/delivery/boltstore"
	"github.com/lizhou/fangxin/gateway"
)

// openWebhooks gives the test hub a real webhook store in its folder (no deliverer runs: these
// tests check the API, the e2e tests check delivery).
func (h *hub) openWebhooks(t *testing.T, dir string) gateway.Webhooks {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(dir, "webhooks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := delivery.NewService(st, delivery.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.hooks = st
	return svc
}

func TestOpenAPIWebhookRoutes(t *testing.T) {
	sp := loadSpec(t)
	h := newHub(t, gateway.Config{})
	amr, quality := testKeys["amr"], testKeys["quality"]
	jsonCT := ctHeader("application/json")
	const subs = "/v1/subscriptions"

	// Create: valid, invalid (each field named), not JSON, unknown field, unauthenticated.
	b := h.call(t, sp, "POST", subs, subs, amr, jsonCT,
		[]byte(`{"url":"https://203.0.113.10/hook","description":"值班系统","filter":{"levels":["I","II"],"townships":["嘉陵街道"],"industries":["R89"],"routed_to_me":true}}`), 201)
	created := decode[gateway.SubscriptionWithSecret](t, b)
	if !strings.HasPrefix(created.Secret, "whsec_") || created.Filter.Townships[0] != "510802002" {
		t.Fatalf("created: %s", b)
	}
	b = h.call(t, sp, "POST", subs, subs, amr, jsonCT,
		[]byte(`{"url":"http://192.168.1.20/hook","filter":{"levels":["V"],"types":["merchant.registered"],"industries":["Z9999"],"townships":["北京"],"rules":["Bad Rule"]}}`), 422)
	var p gateway.Problem
	_ = json.Unmarshal(b, &p)
	want := map[string]string{"url": "public-destination", "filter/levels/0": "enum", "filter/types/0": "enum",
		"filter/industries/0": "industry", "filter/townships/0": "township", "filter/rules/0": "pattern"}
	for _, fe := range p.Errors {
		if want[fe.Field] == fe.Rule {
			delete(want, fe.Field)
		}
	}
	if len(want) > 0 {
		t.Errorf("422 does not name %v: %s", want, b)
	}
	h.call(t, sp, "POST", subs, subs, amr, jsonCT, []byte(`{"filter":{}}`), 422)
	h.call(t, sp, "POST", subs, subs, amr, jsonCT, []byte(`not json`), 400)
	b = h.call(t, sp, "POST", subs, subs, amr, jsonCT, []byte(`{"url":"https://203.0.113.10/","secret":"mine"}`), 400)
	if !strings.Contains(string(b), `"field":"secret"`) || !strings.Contains(string(b), `"rule":"unknown-field"`) {
		t.Errorf("unknown field: %s", b)
	}
	h.call(t, sp, "POST", subs, subs, "", jsonCT, []byte(`{}`), 401)

	// Read: the list and the item never show a secret; another bureau sees nothing of amr's.
	b = h.call(t, sp, "GET", subs, subs, amr, nil, nil, 200)
	if strings.Contains(string(b), "whsec_") || !strings.Contains(string(b), created.ID) {
		t.Errorf("list: %s", b)
	}
	item := subs + "/" + created.ID
	h.call(t, sp, "GET", subs+"/{id}", item, amr, nil, nil, 200)
	h.call(t, sp, "GET", subs+"/{id}", item, quality, nil, nil, 404)
	if b := h.call(t, sp, "GET", subs, subs, quality, nil, nil, 200); strings.Contains(string(b), created.ID) {
		t.Errorf("quality lists amr's subscription: %s", b)
	}

	// Rotation.
	rot := item + "/rotate-secret"
	b = h.call(t, sp, "POST", subs+"/{id}/rotate-secret", rot, amr, nil, nil, 200)
	if r := decode[gateway.SubscriptionWithSecret](t, b); r.Secret == created.Secret || r.PreviousValidUntil == nil {
		t.Errorf("rotation: %s", b)
	}
	h.call(t, sp, "POST", subs+"/{id}/rotate-secret", subs+"/sub_nope/rotate-secret", amr, nil, nil, 404)

	// The delivery log and redelivery, over a delivery put in the outbox as the deliverer would.
	ctx := context.Background()
	d := delivery.Delivery{ID: delivery.DeliveryID(created.ID, "/hub INC-1"), Subscription: created.ID, Bureau: "amr",
		EventKey: "/hub INC-1", EventType: delivery.TypeIncidentDetected, Payload: []byte(`{"type":"incident.detected"}`),
		CreatedAt: time.Now().UTC(), NextAt: time.Now().UTC()}
	if _, err := h.hooks.Enqueue(ctx, d); err != nil {
		t.Fatal(err)
	}
	cl, err := h.hooks.Claim(ctx, time.Now().UTC(), 1, time.Minute)
	if err != nil || len(cl) != 1 {
		t.Fatalf("claim: %v %v", cl, err)
	}
	if err := h.hooks.Record(ctx, d.ID, cl[0].Claim, delivery.Attempt{At: time.Now().UTC(), Status: 503, Error: "HTTP 503", DurationMS: 12}, delivery.Pending, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const dl = "/v1/deliveries"
	b = h.call(t, sp, "GET", dl, dl+"?subscription="+created.ID, amr, nil, nil, 200)
	if page := decode[gateway.DeliveryPage](t, b); len(page.Deliveries) != 1 || page.Deliveries[0].Attempts[0].Status != 503 {
		t.Errorf("delivery log: %s", b)
	}
	h.call(t, sp, "GET", dl, dl, amr, nil, nil, 400)
	h.call(t, sp, "GET", dl, dl+"?subscription="+created.ID+"&limit=0", amr, nil, nil, 400)
	h.call(t, sp, "GET", dl, dl+"?subscription="+created.ID, quality, nil, nil, 404)
	b = h.call(t, sp, "POST", dl+"/{id}/redeliver", dl+"/"+d.ID+"/redeliver", amr, nil, nil, 202)
	if r := decode[delivery.Delivery](t, b); r.State != delivery.Pending || r.Claim != "" {
		t.Errorf("redeliver: %s", b)
	}
	h.call(t, sp, "POST", dl+"/{id}/redeliver", dl+"/"+d.ID+"/redeliver", quality, nil, nil, 404)

	// Delete (204 has no body to validate), then it is gone.
	if resp, b := h.do(t, "DELETE", item, amr, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	h.call(t, sp, "DELETE", subs+"/{id}", item, amr, nil, nil, 404)
}
