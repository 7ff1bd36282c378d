package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/boltlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/internal/embeddedtest"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/embedded"
)

// ---------------------------------------------------------------------------------------------
// The document

const specURL = "https://fangxin.test/openapi.json"

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type spec struct {
	raw []byte
	doc map[string]any

	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

func loadSpec(t *testing.T) *spec {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
	res, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020) // OpenAPI 3.1 schemas are JSON Schema 2020-12
	c.AssertFormat()                     // date-time, uri… are checked, not just annotations
	if err := c.AddResource(specURL, res); err != nil {
		t.Fatal(err)
	}
	return &spec{raw: raw, doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

// pointer escapes JSON pointer tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

func (s *spec) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch
	}
	sch, err := s.compiler.Compile(specURL + "#" + ptr)
	if err != nil {
		t.Fatalf("compiling %s: %v", ptr, err)
	}
	s.schemas[ptr] = sch
	return sch
}

func (s *spec) at(ptr string) (any, bool) {
	var cur any = s.doc
	if ptr == "" {
		return cur, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// operations lists "METHOD /path" of every documented operation.
func (s *spec) operations() []string {
	var ops []string
	paths, _ := s.doc["paths"].(map[string]any)
	for p, item := range paths {
		for m := range item.(map[string]any) {
			if slices.Contains(methods, m) {
				ops = append(ops, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// responsePointer finds the documented response of an operation for a status and media type,
// following a $ref to components/responses, and returns the JSON pointer of its schema ("" when
// the media type documents no schema).
func (s *spec) responsePointer(method, path string, status int, mediaType string) (string, error) {
	op := pointer("paths", path, strings.ToLower(method))
	if _, ok := s.at(op); !ok {
		return "", fmt.Errorf("%s %s is not documented", method, path)
	}
	resp := op + pointer("responses", strconv.Itoa(status))
	r, ok := s.at(resp)
	if !ok {
		return "", fmt.Errorf("%s %s: status %d is not documented", method, path, status)
	}
	if ref, ok := r.(map[string]any)["$ref"].(string); ok {
		resp = strings.TrimPrefix(ref, "#")
		if _, ok := s.at(resp); !ok {
			return "", fmt.Errorf("%s %s %d: dangling $ref %s", method, path, status, ref)
		}
	}
	content := resp + pointer("content", mediaType)
	if _, ok := s.at(content); !ok {
		return "", fmt.Errorf("%s %s %d: media type %s is not documented", method, path, status, mediaType)
	}
	ptr := content + pointer("schema")
	if _, ok := s.at(ptr); !ok {
		return "", nil
	}
	return ptr, nil
}

// check validates a real response against the operation's documented response.
func (s *spec) check(t *testing.T, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s %s → %d: Content-Type %q: %v", method, path, status, header.Get("Content-Type"), err)
		return
	}
	ptr, err := s.responsePointer(method, path, status, mt)
	if err != nil {
		t.Errorf("%v\nbody: %.400s", err, body)
		return
	}
	if ptr == "" || !strings.Contains(mt, "json") {
		return
	}
	s.validate(t, fmt.Sprintf("%s %s → %d", method, path, status), ptr, body)
}

func (s *spec) validate(t *testing.T, what, ptr string, body []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s: body is not JSON: %v\n%.400s", what, err, body)
		return
	}
	if err := s.schema(t, ptr).Validate(inst); err != nil {
		t.Errorf("%s: body does not match %s:\n%v\nbody: %.1500s", what, ptr, err, body)
	}
}

// ---------------------------------------------------------------------------------------------
// (a) Every route registered in server.go is documented, and nothing else is.

// registeredRoutes reads the patterns New registers, from the source of server.go: in New, every
// s.route("METHOD /path", …) and s.mux.Handle/HandleFunc("METHOD /path", …). The catch-all "/"
// (the 404 problem) is not an operation.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	var routes []string
	// Route groups registered from New live in their own files (incidents.go).
	for file, fnName := range map[string]string{"server.go": "New", "incidents.go": "registerIncidents"} {
		routes = append(routes, fileRoutes(t, file, fnName)...)
	}
	sort.Strings(routes)
	return routes
}

func fileRoutes(t *testing.T, file, fnName string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var newFn *ast.FuncDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == fnName {
			newFn = fn
		}
	}
	if newFn == nil {
		t.Fatalf("%s has no func %s: where are the routes registered now?", file, fnName)
	}
	var routes []string
	ast.Inspect(newFn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !slices.Contains([]string{"route", "Handle", "HandleFunc"}, sel.Sel.Name) {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("%s: route pattern is not a literal; keep server.go's patterns literal so this test can read them",
				fset.Position(call.Pos()))
			return true
		}
		pattern, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		if pattern == "/" {
			return true
		}
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Errorf("%s: pattern %q has no method", fset.Position(call.Pos()), pattern)
			return true
		}
		path = strings.TrimSuffix(path, "{$}") // "/{$}" is exactly "/"
		if path == "" {
			path = "/"
		}
		routes = append(routes, method+" "+path)
		return true
	})
	return routes
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	sp := loadSpec(t)
	registered := registeredRoutes(t)
	documented := sp.operations()
	if len(registered) < 10 {
		t.Fatalf("found only %d routes in server.go: %v", len(registered), registered)
	}
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is registered in server.go but not documented in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.json documents %s, which server.go does not register", d)
		}
	}

	// The same from the server's behaviour: each documented operation reaches a handler of its
	// own (not the catch-all 404), and an undocumented path does get the catch-all.
	h := newHub(t, gateway.Config{})
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{uscc}", events.DemoUSCC(1), "{type}", events.TypeComplaintReceived).Replace(path)
		resp, body := h.do(t, method, path, "", nil, nil)
		if isCatchAll(resp, body) {
			t.Errorf("%s: the server answers with the catch-all 404, as if the route did not exist", op)
		}
	}
	for _, path := range []string{"/v1/nothing", "/v2/merchants", "/console.js"} {
		resp, body := h.do(t, "GET", path, "", nil, nil)
		if !isCatchAll(resp, body) {
			t.Errorf("GET %s: %d %s, want the catch-all 404 (an undocumented route?)", path, resp.StatusCode, body)
		}
		sp.validate(t, "GET "+path, "/components/schemas/Problem", body)
	}

	// Every example in the components validates against its own schema.
	schemas, _ := sp.doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, s := range schemas {
		exs, _ := s.(map[string]any)["examples"].([]any)
		for i, ex := range exs {
			b, _ := json.Marshal(ex)
			sp.validate(t, fmt.Sprintf("example %d of %s", i, name), pointer("components", "schemas", name), b)
		}
	}
}

func isCatchAll(resp *http.Response, body []byte) bool {
	if resp.StatusCode != http.StatusNotFound {
		return false
	}
	var p gateway.Problem
	return json.Unmarshal(body, &p) == nil && p.Type == gateway.ProblemBase+"not-found"
}

// ---------------------------------------------------------------------------------------------
// (b) A real hub: embedded log, embedded views, the projector, the gateway. Every endpoint's
// answers, success and error, validate against openapi.json.

type hub struct {
	url      string
	log      *boltlog.Log
	pubFail  atomic.Bool // the log refuses appends (503 log-unavailable)
	viewFail atomic.Bool // the views refuse queries (503 views-unavailable)
	notReady atomic.Bool
	hooks    delivery.Store // webhooks_test.go
}

// Bureau keys of the test hub.
var testKeys = map[string]string{
	"amr":           "k-amr",
	"hotline-12315": "k-12315",
	"quality":       "k-quality",
	"tourism":       "k-tourism",
}

// flakyPublisher is the real log's publisher with an outage switch.
type flakyPublisher struct {
	message.Publisher
	fail *atomic.Bool
}

func (p flakyPublisher) Publish(topic string, msgs ...*message.Message) error {
	if p.fail.Load() {
		return errors.New("test: log outage")
	}
	return p.Publisher.Publish(topic, msgs...)
}

// flakyViews is the real store with an outage switch.
type flakyViews struct {
	*embedded.Store
	fail *atomic.Bool
}

var errOutage = errors.New("test: views outage")

func (v flakyViews) Profile(ctx context.Context, uscc string) (projections.MerchantProfile, bool, error) {
	if v.fail.Load() {
		return projections.MerchantProfile{}, false, errOutage
	}
	return v.Store.Profile(ctx, uscc)
}

func (v flakyViews) SearchMerchants(ctx context.Context, q projections.MerchantQuery) (projections.MerchantResults, error) {
	if v.fail.Load() {
		return projections.MerchantResults{}, errOutage
	}
	return v.Store.SearchMerchants(ctx, q)
}

func newHub(t *testing.T, cfg gateway.Config, opts ...func(*gateway.Deps)) *hub {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	lg, store, dir := embeddedtest.Open(t)
	embeddedtest.StartProjector(t, lg, store, logger, reg)

	keys := gateway.OpenKeyFile(filepath.Join(dir, "keys.json"))
	for bureau, key := range testKeys {
		var roles []gateway.Role
		if bureau == "amr" {
			roles = []gateway.Role{gateway.RoleOffice}
		}
		if err := keys.Add(key, bureau, roles, "test"); err != nil {
			t.Fatal(err)
		}
	}

	h := &hub{log: lg}
	incStore := incidentView(t, t.Context(), lg, logger)
	deps := gateway.Deps{
		Incidents:  &gateway.IncidentDeps{Store: incStore, Now: func() time.Time { return testNow }},
		Publisher:  flakyPublisher{Publisher: lg.Publisher(), fail: &h.pubFail},
		ReadModel:  flakyViews{Store: store, fail: &h.viewFail},
		Keys:       keys,
		Logger:     logger,
		Registerer: reg,
		Gatherer:   reg,
		Webhooks:   h.openWebhooks(t, dir),
		Ready: func(context.Context) error {
			if h.notReady.Load() {
				return errors.New("projector starting")
			}
			return nil
		},
	}
	for _, o := range opts {
		o(&deps)
	}
	srv, err := gateway.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	h.url = ts.URL
	return h
}

func (h *hub) do(t *testing.T, method, path, key string, header http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// call makes a request, checks the status and validates the answer against the operation.
func (h *hub) call(t *testing.T, sp *spec, method, route, path, key string, header http.Header, body []byte, want int) []byte {
	t.Helper()
	resp, b := h.do(t, method, path, key, header, body)
	if resp.StatusCode != want {
		t.Errorf("%s %s: status %d, want %d\n%.600s", method, path, resp.StatusCode, want, b)
	}
	sp.check(t, method, route, resp.StatusCode, resp.Header, b)
	return b
}

func ctHeader(ct string) http.Header { return http.Header{"Content-Type": {ct}} }

func structured(t *testing.T, ev events.Event) []byte {
	t.Helper()
	b, err := events.EncodeStructured(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func batch(t *testing.T, evs ...events.Event) []byte {
	t.Helper()
	b, err := events.EncodeBatch(evs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant is an Example of typ with another id, subject and source ("" keeps the example's) and
// some data fields set (nil removes one).
func variant(t *testing.T, typ, id, source, subject string, set map[string]any) events.Event {
	t.Helper()
	ev := events.Example(typ)
	ev.ID = id
	ev.Subject = subject
	if source != "" {
		ev.Source = events.SourceOf(source)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(data, k)
		} else {
			data[k] = v
		}
	}
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	ev.Data = b
	return ev
}

func keyOf(ev events.Event) string { return testKeys[ev.Bureau()] }

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %.300s", err, b)
	}
	return v
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpenAPIMatchesResponses(t *testing.T) {
	sp := loadSpec(t)
	h := newHub(t, gateway.Config{MaxBatchEvents: 20, MaxBodyBytes: 64 << 10})

	var (
		restaurant = events.DemoUSCC(1) // registered by amr
		gym        = events.DemoUSCC(2) // complaints, inspection, penalty, listings
		waterCo    = events.DemoUSCC(3) // sampling
		farmhouse  = events.DemoUSCC(4) // certification granted, then revoked
		unknown    = events.DemoUSCC(99)
	)
	const push = "/v1/events"
	amr := testKeys["amr"]

	// ---------------------------------------------------------------- POST /v1/events
	t.Run("push", func(t *testing.T) {
		// Structured mode, one event of each type a bureau may send.
		for _, typ := range events.Types {
			if slices.Contains(events.HubTypes, typ) {
				continue // the hub's own (source /hub); a bureau may not send it: see below
			}
			if typ == events.TypeMerchantLinked {
				continue // the hub's or the link route's: see linking_test.go
			}
			ev := events.Example(typ)
			b := h.call(t, sp, "POST", push, push, keyOf(ev), ctHeader(events.MediaTypeStructured), structured(t, ev), 202)
			if r := decode[gateway.EventResult](t, b); r.ID != ev.ID || r.Status != 202 {
				t.Errorf("%s: result %+v", typ, r)
			}
		}
		// Sending the same event again is a no-op, answered 202 like the first time.
		h.call(t, sp, "POST", push, push, amr, ctHeader(events.MediaTypeStructured), structured(t, events.Example(events.TypeInspectionCompleted)), 202)

		// Batch, all accepted: the gym registers, gets a second complaint (transferred, still
		// open), a certification and a listing that stay; an unlinked 12345 call.
		reg := variant(t, events.TypeMerchantRegistered, "reg-gym", "", gym, map[string]any{
			"name": "广元市利州区示例健身俱乐部", "industry": "R8930", "address": "广元市利州区嘉陵街道示例街8号"})
		all := batch(t, reg,
			variant(t, events.TypeCertificationGranted, "cert-gym", "amr", gym, map[string]any{"cert_id": "SF-2018-007", "scheme": "demo_unit", "level": nil, "valid_until": nil}),
			variant(t, events.TypeCreditListed, "list-gym", "", gym, map[string]any{"list": "serious_violation", "reason": "预付卡卷款跑路，列入严重违法失信名单。"}),
		)
		b := h.call(t, sp, "POST", push, push, amr, ctHeader(events.MediaTypeBatch), all, 202)
		if r := decode[gateway.BatchResponse](t, b); r.Accepted != 3 || r.Rejected != 0 {
			t.Errorf("batch: %+v", r)
		}

		open := variant(t, events.TypeComplaintReceived, "c2", "", gym, map[string]any{"complaint_id": "12315-20181225-0002", "consumer": nil})
		assign := variant(t, events.TypeComplaintAssigned, "a2", "", gym, map[string]any{"complaint_id": "12315-20181225-0002"})
		unlinked := variant(t, events.TypeComplaintReceived, "c3", "", "", map[string]any{
			"complaint_id": "12315-20181226-0003", "merchant_name": "无名小吃店", "address": "广元市利州区东坝街道某巷", "consumer": nil})
		foreign := variant(t, events.TypeComplaintReceived, "c4", "amr", gym, map[string]any{"complaint_id": "x"})
		// Batch, some accepted: 207.
		b = h.call(t, sp, "POST", push, push, testKeys["hotline-12315"], ctHeader(events.MediaTypeBatch), batch(t, open, assign, unlinked, foreign), 207)
		if r := decode[gateway.BatchResponse](t, b); r.Accepted != 3 || r.Rejected != 1 || r.Results[3].Status != 403 {
			t.Errorf("mixed batch: %+v", r)
		}

		// Binary mode.
		bin := variant(t, events.TypeInspectionCompleted, "insp-bin", "", gym, map[string]any{"inspection_id": "SJ-2018-0999", "kind": "special", "result": "fail"})
		hdr := http.Header{
			"Content-Type":   {events.MediaTypeJSON},
			"Ce-Specversion": {"1.0"},
			"Ce-Id":          {bin.ID},
			"Ce-Source":      {bin.Source},
			"Ce-Type":        {bin.Type},
			"Ce-Subject":     {bin.Subject},
			"Ce-Time":        {bin.Time.Format(time.RFC3339)},
		}
		h.call(t, sp, "POST", push, push, amr, hdr, bin.Data, 202)

		// Errors.
		good := structured(t, events.Example(events.TypeInspectionCompleted))
		h.call(t, sp, "POST", push, push, "", ctHeader(events.MediaTypeStructured), good, 401)
		h.call(t, sp, "POST", push, push, "no-such-key", ctHeader(events.MediaTypeStructured), good, 401)
		h.call(t, sp, "POST", push, push, amr, ctHeader("text/plain"), good, 415)
		h.call(t, sp, "POST", push, push, amr, ctHeader(events.MediaTypeStructured), []byte(`{"specversion":`), 400)
		h.call(t, sp, "POST", push, push, amr, ctHeader(events.MediaTypeBatch), []byte(`[]`), 400)
		h.call(t, sp, "POST", push, push, amr, ctHeader(events.MediaTypeStructured), bytes.Repeat([]byte(" "), 65<<10), 413)
		many := make([]events.Event, 21)
		for i := range many {
			many[i] = events.Example(events.TypeInspectionCompleted)
		}
		h.call(t, sp, "POST", push, push, amr, ctHeader(events.MediaTypeBatch), batch(t, many...), 413)
		h.call(t, sp, "POST", push, push, testKeys["quality"], ctHeader(events.MediaTypeStructured), good, 403)
		bad := events.Example(events.TypeComplaintReceived)
		bad.Subject = "91510802MA6B000000" // wrong check character
		bad.Data = json.RawMessage(`{"complaint_id":"x","channel":"fax"}`)
		b = h.call(t, sp, "POST", push, push, testKeys["hotline-12315"], ctHeader(events.MediaTypeStructured), structured(t, bad), 422)
		if p := decode[gateway.Problem](t, b); len(p.Errors) < 3 {
			t.Errorf("invalid event: want every bad field named, got %+v", p.Errors)
		}
		incident := events.Example(events.TypeIncidentDetected)
		incident.Source = events.SourceOf("amr")
		b = h.call(t, sp, "POST", push, push, amr, ctHeader(events.MediaTypeBatch), batch(t, bad, incident), 422)
		if p := decode[gateway.Problem](t, b); len(p.Results) != 2 {
			t.Errorf("invalid batch: want results for both events, got %+v", p)
		}
		h.pubFail.Store(true)
		resp, b := h.do(t, "POST", push, amr, ctHeader(events.MediaTypeStructured), good)
		h.pubFail.Store(false)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("log outage: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		sp.check(t, "POST", push, resp.StatusCode, resp.Header, b)
	})
	if t.Failed() {
		t.FailNow()
	}

	// Wait until the projector has folded everything: the gym's 14 events (8 examples, 3 of the
	// first batch, 2 of the mixed one, the binary one) and the unlinked call.
	waitFor(t, "the views", func() bool {
		resp, b := h.do(t, "GET", "/v1/merchants/"+gym, amr, nil, nil)
		if resp.StatusCode != 200 {
			return false
		}
		p := decode[gateway.ProfileResponse](t, b)
		return p.EventCount == 14 && p.Registered
	})
	waitFor(t, "the unlinked event", func() bool {
		_, b := h.do(t, "GET", "/v1/unlinked", amr, nil, nil)
		return len(decode[gateway.HistoryResponse](t, b).Events) == 1
	})

	// ---------------------------------------------------------------- GET /v1/merchants/{uscc}
	t.Run("profile", func(t *testing.T) {
		route := "/v1/merchants/{uscc}"
		for _, m := range []string{restaurant, gym, waterCo, farmhouse} {
			h.call(t, sp, "GET", route, "/v1/merchants/"+m, amr, nil, nil, 200)
		}
		b := h.call(t, sp, "GET", route, "/v1/merchants/"+gym, testKeys["tourism"], nil, nil, 200)
		p := decode[gateway.ProfileResponse](t, b)
		if len(p.OpenComplaints) != 1 || len(p.Certifications) != 1 || len(p.CreditListings) != 1 || p.FinesTotalCNY != 5000 || !p.Certified || !p.Listed {
			t.Errorf("gym profile: %s", b)
		}
		h.call(t, sp, "GET", route, "/v1/merchants/"+unknown, amr, nil, nil, 404)
		h.call(t, sp, "GET", route, "/v1/merchants/91510802MA6B000000", amr, nil, nil, 400)
		h.call(t, sp, "GET", route, "/v1/merchants/abc", amr, nil, nil, 400)
		h.call(t, sp, "GET", route, "/v1/merchants/"+gym, "", nil, nil, 401)
		h.viewFail.Store(true)
		h.call(t, sp, "GET", route, "/v1/merchants/"+gym, amr, nil, nil, 503)
		h.viewFail.Store(false)
	})

	// ---------------------------------------------------------------- GET /v1/merchants/{uscc}/history
	t.Run("history", func(t *testing.T) {
		route := "/v1/merchants/{uscc}/history"
		base := "/v1/merchants/" + gym + "/history"
		var all []events.Event
		cursor := ""
		for page := 0; page < 10; page++ {
			q := url.Values{"limit": {"5"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			b := h.call(t, sp, "GET", route, base+"?"+q.Encode(), amr, nil, nil, 200)
			r := decode[gateway.HistoryResponse](t, b)
			all = append(all, r.Events...)
			if cursor = r.NextCursor; cursor == "" {
				break
			}
		}
		if len(all) != 14 {
			t.Errorf("paging through the history gave %d events, want 14", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].Time.After(all[i-1].Time) {
				t.Errorf("history not newest first at %d", i)
			}
		}
		// Personal data: the 12315 hotline sees its complainant, amr does not.
		for key, want := range map[string]bool{testKeys["hotline-12315"]: true, amr: false} {
			b := h.call(t, sp, "GET", route, base+"?type=complaint.received&bureau=hotline-12315", key, nil, nil, 200)
			got := bytes.Contains(b, []byte(`"consumer"`))
			if got != want {
				t.Errorf("key %s: consumer data visible = %v, want %v", key, got, want)
			}
		}
		q := url.Values{"type": {"penalty.imposed,inspection.completed"}, "bureau": {"amr"},
			"from": {"2018-12-01T00:00:00+08:00"}, "to": {"2019-01-01T00:00:00+08:00"}}
		h.call(t, sp, "GET", route, base+"?"+q.Encode(), amr, nil, nil, 200)
		for _, bad := range []string{"type=nothing.happened", "bureau=nobody", "from=yesterday", "to=2018-12-01",
			"limit=0", "limit=501", "cursor=!!", "from=1000-01-01T00:00:00Z"} {
			h.call(t, sp, "GET", route, base+"?"+bad, amr, nil, nil, 400)
		}
		h.call(t, sp, "GET", route, "/v1/merchants/x/history", amr, nil, nil, 400)
		h.call(t, sp, "GET", route, base, "", nil, nil, 401)
	})

	// ---------------------------------------------------------------- GET /v1/merchants
	t.Run("search merchants", func(t *testing.T) {
		route := "/v1/merchants"
		waitFor(t, "the merchant index", func() bool {
			_, b := h.do(t, "GET", "/v1/merchants?q=健身", amr, nil, nil)
			return decode[projections.MerchantResults](t, b).Total == 1
		})
		for _, q := range []string{"", "q=健身", "q=" + gym[:10], "township=嘉陵街道", "township=510802002",
			"industry=R", "industry=h62", "certified=true", "listed=false", "limit=1&offset=1", "q=没有这种店"} {
			h.call(t, sp, "GET", route, route+"?"+q, amr, nil, nil, 200)
		}
		for _, bad := range []string{"township=北京", "industry=Z9999", "certified=maybe", "listed=2", "limit=x", "offset=-1", "offset=10001"} {
			h.call(t, sp, "GET", route, route+"?"+bad, amr, nil, nil, 400)
		}
		h.call(t, sp, "GET", route, route, "", nil, nil, 401)
		h.viewFail.Store(true)
		h.call(t, sp, "GET", route, route, amr, nil, nil, 503)
		h.viewFail.Store(false)
	})

	// ---------------------------------------------------------------- GET /v1/events
	t.Run("search events", func(t *testing.T) {
		route := "/v1/events"
		waitFor(t, "the event index", func() bool {
			_, b := h.do(t, "GET", "/v1/events?q=预付卡", amr, nil, nil)
			return decode[gateway.EventSearchResponse](t, b).Total >= 2
		})
		for _, q := range []string{"q=预付卡", "", "type=warning.issued", "bureau=amr&type=penalty.imposed",
			"township=嘉陵街道", "from=2018-12-24T00:00:00%2B08:00&to=2018-12-25T00:00:00Z", "limit=2&offset=2"} {
			h.call(t, sp, "GET", route, route+"?"+q, amr, nil, nil, 200)
		}
		for _, bad := range []string{"from=2018-12-24", "type=x", "bureau=x", "township=x", "limit=1000"} {
			h.call(t, sp, "GET", route, route+"?"+bad, amr, nil, nil, 400)
		}
		h.call(t, sp, "GET", route, route, "bad-key", nil, nil, 401)
	})

	// ---------------------------------------------------------------- the rest
	t.Run("unlinked", func(t *testing.T) {
		route := "/v1/unlinked"
		h.call(t, sp, "GET", route, route, amr, nil, nil, 200)
		h.call(t, sp, "GET", route, route+"?limit=1", testKeys["hotline-12315"], nil, nil, 200)
		h.call(t, sp, "GET", route, route+"?limit=0", amr, nil, nil, 400)
		h.call(t, sp, "GET", route, route, "", nil, nil, 401)
	})
	t.Run("reference", func(t *testing.T) {
		h.call(t, sp, "GET", "/v1/bureaus", "/v1/bureaus", "", nil, nil, 200)
		for _, typ := range events.Types {
			h.call(t, sp, "GET", "/v1/schemas/{type}", "/v1/schemas/"+typ, "", nil, nil, 200)
		}
		h.call(t, sp, "GET", "/v1/schemas/{type}", "/v1/schemas/complaint.lost", "", nil, nil, 404)
	})
	t.Run("operations", func(t *testing.T) {
		h.call(t, sp, "GET", "/healthz", "/healthz", "", nil, nil, 200)
		h.call(t, sp, "GET", "/readyz", "/readyz", "", nil, nil, 200)
		h.notReady.Store(true)
		h.call(t, sp, "GET", "/readyz", "/readyz", "", nil, nil, 503)
		h.notReady.Store(false)
		b := h.call(t, sp, "GET", "/metrics", "/metrics", "", nil, nil, 200)
		if !bytes.Contains(b, []byte("fangxin_ingest_events_accepted_total")) {
			t.Errorf("metrics lack fangxin_ingest_events_accepted_total")
		}
		b = h.call(t, sp, "GET", "/openapi.json", "/openapi.json", "", nil, nil, 200)
		if !bytes.Equal(b, sp.raw) {
			t.Errorf("GET /openapi.json does not serve gateway/openapi.json")
		}
	})
	t.Run("console", func(t *testing.T) {
		resp, b := h.do(t, "GET", "/", "", nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /: %d %.300s", resp.StatusCode, b)
		}
		sp.check(t, "GET", "/", resp.StatusCode, resp.Header, b)
		page := string(b)
		for _, want := range []string{"<style>", "<script>", `id="refdata"`, "嘉陵街道", "经营主体查询", "加载更多", "Asia/Shanghai"} {
			if !strings.Contains(page, want) {
				t.Errorf("the console page lacks %q", want)
			}
		}
		for _, external := range []string{`src="http`, `href="http`, `src="//`, `href="//`, "console.js\"", "console.css\""} {
			if strings.Contains(page, external) {
				t.Errorf("the console page refers to %s: it must be self-contained", external)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") {
			t.Errorf("Content-Security-Policy = %q", csp)
		}
	})
}

// The events pushed above went through the real log: check it holds them, so a silent no-op
// publisher could not pass.
func TestPushIsDurable(t *testing.T) {
	h := newHub(t, gateway.Config{})
	ev := events.Example(events.TypeSamplingCompleted)
	resp, b := h.do(t, "POST", "/v1/events", testKeys["quality"], ctHeader(events.MediaTypeStructured), structured(t, ev))
	if resp.StatusCode != 202 {
		t.Fatalf("push: %d %s", resp.StatusCode, b)
	}
	hw, err := h.log.HighWater(eventlog.Topic)
	if err != nil || hw != 1 {
		t.Fatalf("log high water = %d, %v; want 1", hw, err)
	}
}
