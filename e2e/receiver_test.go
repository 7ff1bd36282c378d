package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a bureau's webhook endpoint: a real HTTP server on 127.0.0.1 whose answers the
// test scripts, recording every request it gets.
type receiver struct {
	t   *testing.T
	URL string

	mu       sync.Mutex
	script   []int // statuses to answer, in order; 0 = block until released; 200 when empty
	got      []received
	arrived  chan received
	released chan struct{}
}

type received struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Status                   int // what the receiver answered (0 = blocked, no answer)
}

func newReceiver(t *testing.T) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, URL: "http://" + ln.Addr().String() + "/hook", arrived: make(chan received, 100), released: make(chan struct{})}
	srv := &http.Server{Handler: rc}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rc
}

// answer scripts the next answers.
func (rc *receiver) answer(statuses ...int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.script = append(rc.script, statuses...)
}

// release unblocks a request waiting on a scripted 0.
func (rc *receiver) release() { close(rc.released) }

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	status := 200
	if len(rc.script) > 0 {
		status, rc.script = rc.script[0], rc.script[1:]
	}
	rec := received{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Signature: r.Header.Get("webhook-signature"), Body: body, Status: status}
	rc.got = append(rc.got, rec)
	rc.mu.Unlock()
	rc.arrived <- rec
	if status == 0 {
		select {
		case <-rc.released:
		case <-r.Context().Done():
		}
		return
	}
	w.WriteHeader(status)
}

// next waits for the next request.
func (rc *receiver) next(within time.Duration) received {
	rc.t.Helper()
	select {
	case r := <-rc.arrived:
		return r
	case <-time.After(within):
		rc.t.Fatalf("no webhook arrived within %s", within)
		return received{}
	}
}

// count is how many requests with webhook-id id arrived.
func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, r := range rc.got {
		if r.ID == id {
			n++
		}
	}
	return n
}

// verify checks a webhook the way a receiver following the Standard Webhooks spec does,
// written here independently of the hub's code: the signed content is "id.timestamp.body", the
// key the base64 after "whsec_", the header a space-separated list of "v1,<base64>" of which one
// must match; the timestamp must be within five minutes.
func verify(secret string, r received) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not unix seconds")
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("webhook-timestamp too far from now")
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, r.ID+"."+r.Timestamp+".")
	mac.Write(r.Body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(r.Signature) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}
