package distributed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// hookReceiver is a webhook endpoint on 127.0.0.1 that answers 500 to the first two requests of
// every webhook-id, then 200, and counts what it got.
type hookReceiver struct {
	URL    string
	mu     sync.Mutex
	byID   map[string][]int // statuses answered, per webhook-id
	badSig []string
	secret string
	// hold, when set, makes the next request of a new webhook-id block (no answer) until the
	// request is abandoned; its id goes to held.
	hold bool
	held chan string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &hookReceiver{URL: "http://" + ln.Addr().String() + "/hook", byID: map[string][]int{}, held: make(chan string, 1)}
	srv := &http.Server{Handler: rc}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rc
}

func (rc *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	rc.mu.Lock()
	if rc.hold && len(rc.byID[id]) == 0 {
		rc.hold = false
		rc.byID[id] = append(rc.byID[id], 0)
		rc.mu.Unlock()
		rc.held <- id
		<-r.Context().Done() // the sender dies with the request unanswered
		return
	}
	defer rc.mu.Unlock()
	// Verified as the Standard Webhooks spec says, independently of the hub's code.
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(rc.secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	if sig != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		rc.badSig = append(rc.badSig, id)
	}
	status := 200
	if len(rc.byID[id]) < 2 {
		status = 500
	}
	rc.byID[id] = append(rc.byID[id], status)
	w.WriteHeader(status)
}

// acknowledged counts the webhook-ids answered 200, and returns any id answered 200 twice.
func (rc *hookReceiver) acknowledged() (n int, twice []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, st := range rc.byID {
		oks := 0
		for _, s := range st {
			if s == 200 {
				oks++
			}
		}
		if oks > 0 {
			n++
		}
		if oks > 1 {
			twice = append(twice, id)
		}
	}
	return n, twice
}

// The distributed hub delivers webhooks the same way: a gateway and two projector replicas share
// the Elasticsearch outbox; each warning reaches the receiver after two 500s, exactly once with
// a 2xx, signed with the subscription's secret; a delivery in flight when both projectors are
// killed is delivered by their successor. (delivery/esstore's
// TestTwoClientsNeverClaimTheSame races two outbox clients directly.)
func TestWebhooksWithTwoProjectors(t *testing.T) {
	env := sharedEnv(t)
	key := env.key(t, "amr")
	flags := []string{"--webhook-allow-cidr", "127.0.0.1/32", "--webhook-backoff", "50ms", "--webhook-max-backoff", "200ms",
		"--webhook-poll", "50ms", "--webhook-attempt-timeout", "3s"}
	gw := env.start(t, "gateway", flags...)
	p1 := env.start(t, "projector", flags...)
	p2 := env.start(t, "projector", flags...)
	c := newClient(t, gw.URL, key)
	rc := newHookReceiver(t)

	// A loopback address outside the allow-list is refused here too.
	body, _ := json.Marshal(map[string]any{"url": "http://127.0.0.9:8080/hook"})
	if code, resp := c.Do("POST", "/v1/subscriptions", "application/json", body); code != 422 || !strings.Contains(string(resp), "public-destination") {
		t.Fatalf("loopback subscription = %d %s, want 422 public-destination", code, resp)
	}
	body, _ = json.Marshal(map[string]any{"url": rc.URL, "filter": map[string]any{"types": []string{"warning.issued"}}})
	code, resp := c.Do("POST", "/v1/subscriptions", "application/json", body)
	var sub struct{ ID, Secret string }
	if code != 201 || json.Unmarshal(resp, &sub) != nil {
		t.Fatalf("subscribe = %d %s", code, resp)
	}
	rc.mu.Lock()
	rc.secret = sub.Secret
	rc.mu.Unlock()

	const n = 10
	var batch []events.Event
	for i := range n {
		at := time.Now().In(kit.Shanghai).Truncate(time.Second)
		data, _ := json.Marshal(map[string]any{"title": fmt.Sprintf("消费提示第%d号", i+1), "body": "谨慎办理预付卡。", "issued_at": at.Format(time.RFC3339)})
		batch = append(batch, events.Event{SpecVersion: "1.0", ID: fmt.Sprintf("warn-%d", i), Source: events.SourceOf("amr"),
			Type: events.TypeWarningIssued, Time: at, DataContentType: "application/json", Data: data})
	}
	if code, resp := c.PushBatch(batch); code != 202 {
		t.Fatalf("push = %d %s", code, resp)
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		got, _ := rc.acknowledged()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d warnings acknowledged within 120 s", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every delivery is recorded as delivered after three attempts (the log is in Elasticsearch,
	// read through the gateway).
	var page struct {
		Deliveries []struct {
			ID, State string
			Attempts  []struct{ Status int }
		}
	}
	allDelivered := func() bool {
		page.Deliveries = nil
		if code := c.Get("/v1/deliveries?subscription="+sub.ID, &page); code != 200 || len(page.Deliveries) != n {
			return false
		}
		for _, d := range page.Deliveries {
			if d.State != "delivered" {
				return false
			}
		}
		return true
	}
	for !allDelivered() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // the 2xx is recorded just after the receiver answers it
	}
	for _, d := range page.Deliveries {
		if d.State != "delivered" || len(d.Attempts) != 3 {
			t.Errorf("delivery %s: %s after %d attempts, want delivered after 3", d.ID, d.State, len(d.Attempts))
		}
	}
	rc.mu.Lock()
	if len(rc.badSig) > 0 {
		t.Errorf("signatures rejected for %v", rc.badSig)
	}
	for id, st := range rc.byID {
		if len(st) != 3 {
			t.Errorf("webhook %s received %d times (%v), want 3 (500, 500, 200): two replicas sent it", id, len(st), st)
		}
	}
	rc.hold = true
	rc.mu.Unlock()

	// Both projectors are killed with SIGKILL while the receiver holds a delivery; a new
	// projector delivers it once the dead one's claim expires (attempt timeout + 5 s).
	at := time.Now().In(kit.Shanghai).Truncate(time.Second)
	data, _ := json.Marshal(map[string]any{"title": "紧急消费警示", "body": "健身房闭店，请勿续费。", "issued_at": at.Format(time.RFC3339)})
	if code, resp := c.Push(events.Event{SpecVersion: "1.0", ID: "warn-held", Source: events.SourceOf("amr"),
		Type: events.TypeWarningIssued, Time: at, DataContentType: "application/json", Data: data}); code != 202 {
		t.Fatalf("push = %d %s", code, resp)
	}
	var heldID string
	select {
	case heldID = <-rc.held:
	case <-time.After(120 * time.Second):
		t.Fatal("the held webhook did not arrive within 120 s")
	}
	p1.kill()
	p2.kill()
	env.start(t, "projector", flags...)
	for {
		rc.mu.Lock()
		st := append([]int(nil), rc.byID[heldID]...)
		rc.mu.Unlock()
		if len(st) > 0 && st[len(st)-1] == 200 {
			// held, then the retries after the restart: 500, then 200 (the receiver's script).
			if len(st) != 3 {
				t.Errorf("held webhook: %v, want held, 500, 200", st)
			}
			break
		}
		if time.Now().After(deadline.Add(120 * time.Second)) {
			t.Fatalf("the held webhook was not delivered after the restart: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
