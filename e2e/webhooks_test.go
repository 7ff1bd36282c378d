package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// webhookFlags make retries quick and let webhooks reach this machine's 127.0.0.1 only (other
// loopback addresses, like 127.0.0.2, stay refused).
var webhookFlags = []string{"--webhook-allow-cidr", "127.0.0.1/32", "--webhook-backoff", "50ms",
	"--webhook-max-backoff", "200ms", "--webhook-poll", "50ms", "--webhook-attempt-timeout", "3s"}

func warning(bureau, id, title string) events.Event {
	at := time.Now().In(kit.Shanghai).Truncate(time.Second)
	data, _ := json.Marshal(map[string]any{"title": title, "body": "提醒消费者谨慎办理大额预付卡，保留合同和付款凭证。",
		"issued_at": at.Format(time.RFC3339), "industry": "R8930", "township": "嘉陵街道"})
	return events.Event{SpecVersion: "1.0", ID: id, Source: events.SourceOf(bureau), Type: events.TypeWarningIssued,
		Time: at, DataContentType: "application/json", Data: data}
}

type subscriptionAnswer struct {
	ID       string `json:"id"`
	Secret   string `json:"secret"`
	Disabled bool   `json:"disabled"`
}

type deliveryAnswer struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Attempts []struct {
		Status int    `json:"status"`
		Error  string `json:"error"`
	} `json:"attempts"`
}

func (c client) subscribe(url string, filter map[string]any) subscriptionAnswer {
	c.T.Helper()
	body, _ := json.Marshal(map[string]any{"url": url, "description": "测试接收端", "filter": filter})
	code, resp := c.Do("POST", "/v1/subscriptions", "application/json", body)
	if code != 201 {
		c.T.Fatalf("POST /v1/subscriptions = %d %s", code, resp)
	}
	var s subscriptionAnswer
	if err := json.Unmarshal(resp, &s); err != nil || !strings.HasPrefix(s.Secret, "whsec_") {
		c.T.Fatalf("subscription answer without a whsec_ secret: %s", resp)
	}
	return s
}

func (c client) push(ev events.Event) {
	c.T.Helper()
	if code, body := c.PushBatch([]events.Event{ev}); code != 202 && code != 207 {
		c.T.Fatalf("push %s = %d %s", ev.ID, code, body)
	}
}

func (c client) delivery(sub, id string) deliveryAnswer {
	c.T.Helper()
	var page struct {
		Deliveries []deliveryAnswer `json:"deliveries"`
	}
	if code := c.Get("/v1/deliveries?subscription="+sub, &page); code != 200 {
		c.T.Fatalf("GET /v1/deliveries = %d", code)
	}
	for _, d := range page.Deliveries {
		if d.ID == id {
			return d
		}
	}
	c.T.Fatalf("delivery %s not in the log of %s", id, sub)
	return deliveryAnswer{}
}

// eventually polls cond until it holds, for liveness only (generous deadline).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWebhookTimeline(t *testing.T) {
	dir := t.TempDir()
	amrKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "amr")
	healthKey := fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", "health")
	h := startHub(t, dir, webhookFlags...)
	amr := newClient(t, h.URL, amrKey)
	health := newClient(t, h.URL, healthKey)
	rc := newReceiver(t)

	// t=0: destinations that are not public and not allow-listed are refused, naming the rule.
	for _, url := range []string{"http://127.0.0.2:9/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://[::1]:8080/x"} {
		body, _ := json.Marshal(map[string]any{"url": url})
		code, resp := amr.Do("POST", "/v1/subscriptions", "application/json", body)
		if code != 422 || !strings.Contains(string(resp), `"rule":"public-destination"`) || !strings.Contains(string(resp), `"field":"url"`) {
			t.Fatalf("subscribing %s = %d %s, want 422 naming url and public-destination", url, code, resp)
		}
	}
	body, _ := json.Marshal(map[string]any{"url": rc.URL, "filter": map[string]any{"levels": []string{"V"}, "types": []string{"complaint.received"}}})
	if code, resp := amr.Do("POST", "/v1/subscriptions", "application/json", body); code != 422 ||
		!strings.Contains(string(resp), `"field":"filter/levels/0"`) || !strings.Contains(string(resp), `"field":"filter/types/0"`) {
		t.Fatalf("bad filter = %d %s, want 422 naming both fields", code, resp)
	}

	// t=1: amr subscribes to warnings; the secret is shown once and never listed.
	sub := amr.subscribe(rc.URL, map[string]any{"types": []string{"warning.issued"}, "townships": []string{"嘉陵街道"}})
	code, list := amr.Do("GET", "/v1/subscriptions", "", nil)
	if code != 200 || !strings.Contains(string(list), sub.ID) || strings.Contains(string(list), "whsec_") {
		t.Fatalf("GET /v1/subscriptions = %d %s: want the subscription without its secret", code, list)
	}
	if code, _ := health.Do("GET", "/v1/subscriptions/"+sub.ID, "", nil); code != 404 {
		t.Fatalf("another bureau reads amr's subscription: %d, want 404", code)
	}

	// t=2: a warning is issued; the receiver fails twice, then acknowledges.
	rc.answer(500, 500, 200)
	amr.push(warning("amr", "warn-1", "关于健身行业预付式消费的消费警示"))
	first := rc.next(60 * time.Second)
	for i, r := range []received{first, rc.next(60 * time.Second), rc.next(60 * time.Second)} {
		if err := verify(sub.Secret, r); err != nil {
			t.Fatalf("attempt %d: signature rejected by the verifier: %v", i+1, err)
		}
		if r.ID != first.ID {
			t.Fatalf("attempt %d has webhook-id %s, the first had %s: retries must keep the id", i+1, r.ID, first.ID)
		}
	}
	var payload struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(first.Body, &payload); err != nil || payload.Type != "warning.issued" || !strings.Contains(string(payload.Data), "预付") {
		t.Fatalf("payload: %s", first.Body)
	}
	eventually(t, "delivery log shows the 2xx", func() bool { return amr.delivery(sub.ID, first.ID).State == "delivered" })
	d := amr.delivery(sub.ID, first.ID)
	if len(d.Attempts) != 3 || d.Attempts[0].Status != 500 || d.Attempts[1].Status != 500 || d.Attempts[2].Status != 200 {
		t.Fatalf("delivery log: %+v, want attempts 500, 500, 200", d)
	}

	// t=3: a second warning arrives once; the first was not sent again after its 2xx.
	amr.push(warning("amr", "warn-2", "关于美容美发行业预付卡的消费提示"))
	second := rc.next(60 * time.Second)
	if second.ID == first.ID || rc.count(first.ID) != 3 {
		t.Fatalf("after the 2xx the first webhook was sent again (%d requests)", rc.count(first.ID))
	}

	// t=4: by hand, the first is delivered again, with the same webhook-id.
	if code, resp := amr.Do("POST", "/v1/deliveries/"+first.ID+"/redeliver", "", nil); code != 202 {
		t.Fatalf("redeliver = %d %s", code, resp)
	}
	if again := rc.next(60 * time.Second); again.ID != first.ID || verify(sub.Secret, again) != nil {
		t.Fatalf("manual redelivery: got %s", again.ID)
	}
	if code, _ := health.Do("POST", "/v1/deliveries/"+first.ID+"/redeliver", "", nil); code != 404 {
		t.Fatalf("another bureau redelivers amr's webhook: %d, want 404", code)
	}

	// t=5: the secret is rotated: both secrets verify while the old one's grace lasts.
	code, rot := amr.Do("POST", "/v1/subscriptions/"+sub.ID+"/rotate-secret", "", nil)
	var rotated subscriptionAnswer
	if code != 200 || json.Unmarshal(rot, &rotated) != nil || rotated.Secret == sub.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotate = %d %s", code, rot)
	}
	amr.push(warning("amr", "warn-3", "关于教育培训预付费的消费警示"))
	r3 := rc.next(60 * time.Second)
	if len(strings.Fields(r3.Signature)) != 2 || verify(rotated.Secret, r3) != nil || verify(sub.Secret, r3) != nil {
		t.Fatalf("during rotation want two signatures, each verifying: %q", r3.Signature)
	}

	// t=6: health subscribes too; its receiver answers 410 Gone, which disables it.
	gone := newReceiver(t)
	gone.answer(410)
	hs := health.subscribe(gone.URL, map[string]any{"types": []string{"warning.issued"}})
	amr.push(warning("amr", "warn-4", "关于预付卡退费的消费提示"))
	rc.next(60 * time.Second)
	goneReq := gone.next(60 * time.Second)
	eventually(t, "410 disables the subscription", func() bool {
		var s subscriptionAnswer
		return health.Get("/v1/subscriptions/"+hs.ID, &s) == 200 && s.Disabled
	})
	eventually(t, "the 410 attempt is recorded", func() bool { return health.delivery(hs.ID, goneReq.ID).State != "pending" })
	if d := health.delivery(hs.ID, goneReq.ID); d.State != "failed" || len(d.Attempts) != 1 || d.Attempts[0].Status != 410 {
		t.Fatalf("410 delivery: %+v", d)
	}

	// t=7: the hub is killed with SIGKILL while the receiver holds a delivery; after the restart
	// it is delivered.
	rc.answer(0)
	amr.push(warning("amr", "warn-5", "关于健身房闭店的紧急消费警示"))
	held := rc.next(60 * time.Second)
	h.kill()
	rc.release()
	h = startHub(t, dir, webhookFlags...)
	amr.URL = h.URL
	after := rc.next(60 * time.Second)
	if after.ID != held.ID || verify(rotated.Secret, after) != nil {
		t.Fatalf("after the restart got %s, want the held delivery %s again", after.ID, held.ID)
	}
	eventually(t, "the held delivery is recorded as delivered", func() bool { return amr.delivery(sub.ID, held.ID).State == "delivered" })
	if n := gone.count(goneReq.ID); n != 1 {
		t.Fatalf("the disabled subscription got %d requests, want 1", n)
	}
	if n := rc.count(first.ID); n != 4 {
		t.Fatalf("after the restart the first webhook was sent again: %d requests, want 4 (3 attempts + 1 by hand)", n)
	}

	// t=8: deleting the subscription stops deliveries; a second delete is 404.
	if code, _ := amr.Do("DELETE", "/v1/subscriptions/"+sub.ID, "", nil); code != 204 {
		t.Fatalf("DELETE = %d", code)
	}
	if code, _ := amr.Do("DELETE", "/v1/subscriptions/"+sub.ID, "", nil); code != 404 {
		t.Fatalf("second DELETE = %d, want 404", code)
	}
}

// The prepaid-card gym scenario, seen from the subscribers: the rule engine's incident reaches
// the lead unit's webhook, signed, detected once and then updated under the same incident id; a
// subscription for levels I-III hears of it only once it grows to level III; a bureau the
// incident is not routed to gets nothing.
func TestIncidentWebhookRoutedToTheLead(t *testing.T) {
	dir := t.TempDir()
	keys := map[string]string{}
	for _, b := range []string{"amr", "hotline-12315", "health"} {
		keys[b] = fangxin(t, "keys", "create", "--data-dir", dir, "--bureau", b)
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, kit.Shanghai)
	clock := newClock(t, t0.Add(-time.Hour))
	h := startHub(t, dir, webhookFlags...)
	amr, health := newClient(t, h.URL, keys["amr"]), newClient(t, h.URL, keys["health"])
	lead, serious, other := newReceiver(t), newReceiver(t), newReceiver(t)
	sub := amr.subscribe(lead.URL, map[string]any{"routed_to_me": true})
	amr.subscribe(serious.URL, map[string]any{"routed_to_me": true, "levels": []string{"III", "II", "I"}})
	health.subscribe(other.URL, map[string]any{"routed_to_me": true})

	gym := kit.USCC(502)
	mustPush(t, amr, event(events.TypeMerchantRegistered, "amr", "reg-gym", gym, t0.Add(-24*time.Hour), events.MerchantRegistered{
		Name: "利州区力健健身房", Township: "嘉陵街道", Industry: "R8930", Address: "嘉陵路9号", RegisteredAt: t0.Add(-24 * time.Hour)}))
	hotline := newClient(t, h.URL, keys["hotline-12315"])
	for b := 0; b < 40; b += 10 {
		var batch []events.Event
		for i := b; i < b+10; i++ {
			at := t0.Add(time.Duration(i) * 3 * time.Minute)
			id := fmt.Sprintf("12315-20261102-%04d", i)
			batch = append(batch, event(events.TypeComplaintReceived, "hotline-12315", id, gym, at, events.ComplaintReceived{
				ComplaintID: id, Channel: "12315", Category: "预付卡", Summary: "健身房闭店，预付卡无法退费", ReceivedAt: at}))
		}
		mustPush(t, hotline, batch...)
		clock.set(t, batch[9].Time)
	}
	clock.set(t, t0.Add(3*time.Hour))

	// The lead's receiver gets incident.detected first, then updates up to the 40th complaint.
	type incidentPayload struct {
		Type string                  `json:"type"`
		Data events.IncidentDetected `json:"data"`
	}
	// Deliveries are sent by several workers at once, so two of one incident may arrive out of
	// order (Standard Webhooks promises no order); data.sequence orders them. Collect until the
	// update with 40 complaints and every update before it have arrived.
	var got []incidentPayload
	complete := func() bool {
		top := 0
		for _, p := range got {
			if p.Data.Count >= 40 {
				top = max(top, p.Data.Sequence)
			}
		}
		return top > 0 && len(got) >= top
	}
	for !complete() {
		var r received
		select {
		case r = <-lead.arrived:
		case <-time.After(120 * time.Second):
			_, incs := amr.Do("GET", "/v1/incidents", "", nil)
			_, dls := amr.Do("GET", "/v1/deliveries?subscription="+sub.ID, "", nil)
			t.Fatalf("no incident webhook within 120 s after %d\nincidents: %.1500s\ndeliveries: %.1500s", len(got), incs, dls)
		}
		if err := verify(sub.Secret, r); err != nil {
			t.Fatalf("incident webhook signature: %v", err)
		}
		var p incidentPayload
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	slices.SortFunc(got, func(a, b incidentPayload) int { return a.Data.Sequence - b.Data.Sequence })
	detected := 0
	for _, p := range got {
		if p.Type == events.TypeIncidentDetected {
			detected++
		}
		if p.Data.IncidentID != got[0].Data.IncidentID || p.Data.Merchant != gym {
			t.Errorf("webhook of another incident: %+v", p.Data)
		}
	}
	if detected != 1 || got[0].Type != events.TypeIncidentDetected || got[0].Data.ResponsibleBureau[0] != "amr" {
		t.Errorf("want incident.detected once, first in sequence, routed to amr first: %+v", got)
	}
	last := got[len(got)-1].Data
	if last.Level != "III" || last.Rule != "merchant-complaint-burst" {
		t.Errorf("last update: %+v", last)
	}
	// The level filter: level IV (10 complaints) is not wanted; the first webhook is level III.
	var first incidentPayload
	if r := serious.next(60 * time.Second); json.Unmarshal(r.Body, &first) != nil || first.Data.Level != "III" || first.Data.Count < 30 {
		t.Errorf("levels I-III subscription: first webhook %s", r.Body)
	}
	if got[0].Data.Level != "IV" {
		t.Errorf("the incident was detected at level %s, want IV (10 complaints)", got[0].Data.Level)
	}
	select {
	case r := <-other.arrived:
		t.Errorf("health, not responsible for the gym, received %s", r.Body)
	default:
	}
}
