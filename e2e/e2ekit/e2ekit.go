// Package e2ekit holds the helpers that the black-box acceptance tests in e2e/ (embedded hub)
// and e2e/distributed/ (Kafka and Elasticsearch) share: a bureau's HTTP client, the event
// builders (USCC, Complaint, Registration), the read-model shapes they decode, a stderr buffer
// safe to read while a process writes it, and a runner for one-shot `fangxin` subcommands.
//
// It talks to the built fangxin binary only: over HTTP to a running hub, or by running the
// binary as a child process. It imports no hub package but events (the wire types), so the
// tests stay black-box. It is an ordinary package so that both test packages can import it;
// nothing outside the tests uses it.
package e2ekit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
)

// Binary returns the fangxin binary the tests run: $FANGXIN_BIN when set, otherwise one built
// now from the command package at cmdDir (relative to the test's folder) into a temporary
// folder that cleanup removes. Call it from TestMain.
func Binary(cmdDir string) (path string, cleanup func(), err error) {
	if p := os.Getenv("FANGXIN_BIN"); p != "" {
		return p, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "fangxin-e2e")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "fangxin")
	if out, err := exec.Command("go", "build", "-o", path, cmdDir).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building fangxin: %v\n%s", err, out)
	}
	return path, func() { os.RemoveAll(dir) }, nil
}

// Fangxin runs a one-shot subcommand of the binary at bin (without the service variables
// FANGXIN_KAFKA_BROKERS, FANGXIN_ELASTICSEARCH_URL and FANGXIN_NAMESPACE, so only the flags
// choose the backends) and returns its trimmed stdout and its stderr. A failed run fails t.
func Fangxin(t testing.TB, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=", "FANGXIN_NAMESPACE=")
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fangxin %s: %v\n%s", strings.Join(args, " "), err, errBuf.String())
	}
	return strings.TrimSpace(string(out)), errBuf.String()
}

// SyncBuffer collects a process's output; it is safe to read while the process writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n lines.
func (s *SyncBuffer) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(s.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Client is one bureau talking to a hub's gateway at URL with the bearer key Key (none when
// empty). Its methods fail T on what a test cannot go on from (a request that cannot be built,
// an answer that does not decode); status codes are returned for the test to check.
type Client struct {
	T   testing.TB
	URL string
	Key string
}

// httpClient bounds every request, so a hub that hangs fails the test instead of stalling it.
var httpClient = &http.Client{Timeout: 60 * time.Second}

// Do sends one request and returns the status and the body; status 0 and the error text when
// no answer came.
func (c Client) Do(method, path, contentType string, body []byte) (int, []byte) {
	c.T.Helper()
	req, err := http.NewRequest(method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		c.T.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Get reads path and, on 200, decodes the body into into (when not nil).
func (c Client) Get(path string, into any) int {
	c.T.Helper()
	code, body := c.Do("GET", path, "", nil)
	if into != nil && code == 200 {
		if err := json.Unmarshal(body, into); err != nil {
			c.T.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return code
}

// PushBatch posts events as one CloudEvents batch.
func (c Client) PushBatch(evs []events.Event) (int, []byte) {
	c.T.Helper()
	body, err := json.Marshal(evs)
	if err != nil {
		c.T.Fatal(err)
	}
	return c.Do("POST", "/v1/events", "application/cloudevents-batch+json", body)
}

// Push posts one event in structured mode.
func (c Client) Push(ev events.Event) (int, []byte) {
	c.T.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		c.T.Fatal(err)
	}
	return c.Do("POST", "/v1/events", "application/cloudevents+json", body)
}

// Profile is the merchant profile the gateway answers.
type Profile struct {
	USCC           string         `json:"uscc"`
	Name           string         `json:"name"`
	EventCount     int            `json:"event_count"`
	CountsByType   map[string]int `json:"counts_by_type"`
	CountsByBureau map[string]int `json:"counts_by_bureau"`
	OpenComplaints []any          `json:"open_complaints"`
}

// HistoryPage is one page of a merchant's history.
type HistoryPage struct {
	Events     []events.Event `json:"events"`
	NextCursor string         `json:"next_cursor"`
}

// History walks every page (of limit events) of a merchant's history, newest first; ok is
// false when a page did not answer 200 (the views are unavailable).
func (c Client) History(uscc string, limit int) (all []events.Event, ok bool) {
	c.T.Helper()
	cursor := ""
	for {
		var page HistoryPage
		path := "/v1/merchants/" + uscc + "/history?limit=" + strconv.Itoa(limit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		code, body := c.Do("GET", path, "", nil)
		if code != 200 {
			return nil, false
		}
		if err := json.Unmarshal(body, &page); err != nil {
			c.T.Fatalf("GET %s: %v", path, err)
		}
		all = append(all, page.Events...)
		if page.NextCursor == "" {
			return all, true
		}
		cursor = page.NextCursor
	}
}

// FullHistory is History in pages of 37 (an odd size, so page edges fall anywhere) and fails
// T when a page does not answer 200.
func (c Client) FullHistory(uscc string) []events.Event {
	c.T.Helper()
	h, ok := c.History(uscc, 37)
	if !ok {
		c.T.Fatalf("history of %s did not answer 200", uscc)
	}
	return h
}

// USCC makes a valid unified social credit code from a number.
func USCC(n int) string {
	prefix := fmt.Sprintf("92510802MA%07d", n)
	c, ok := events.USCCCheckChar(prefix)
	if !ok {
		panic(prefix)
	}
	return prefix + string(c)
}

// Shanghai is the district's time zone (UTC+8, no daylight saving).
var Shanghai = time.FixedZone("CST", 8*3600)

// Complaint is a complaint.received event about subject from bureau, with id as both the
// event id and the complaint id.
func Complaint(bureau, id, subject string, at time.Time, summary string) events.Event {
	data, _ := json.Marshal(map[string]any{
		"complaint_id": id, "channel": "12315", "category": "预付卡", "summary": summary,
		"received_at": at.Format(time.RFC3339),
	})
	return events.Event{SpecVersion: "1.0", ID: id, Source: events.SourceOf(bureau), Type: events.TypeComplaintReceived,
		Subject: subject, Time: at, DataContentType: "application/json", Data: data}
}

// Registration is the amr bureau's merchant.registered event for subject (id "reg-"+subject).
func Registration(subject, name string, at time.Time) events.Event {
	data, _ := json.Marshal(map[string]any{
		"name": name, "township": "510802002", "industry": "H6210", "address": "利州区嘉陵街道嘉陵路1号",
		"registered_at": at.Format(time.RFC3339),
	})
	return events.Event{SpecVersion: "1.0", ID: "reg-" + subject, Source: events.SourceOf("amr"), Type: events.TypeMerchantRegistered,
		Subject: subject, Time: at, DataContentType: "application/json", Data: data}
}
