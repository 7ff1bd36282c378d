package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func post(contentType string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// binaryRequest puts ev in binary mode: attributes in ce-* headers, data as the body.
func binaryRequest(ev Event) *http.Request {
	r := post(MediaTypeJSON, ev.Data)
	set := func(h, v string) {
		if v != "" {
			r.Header.Set(h, v)
		}
	}
	set("Ce-Specversion", ev.SpecVersion)
	set("Ce-Id", ev.ID)
	set("Ce-Source", ev.Source)
	set("Ce-Type", ev.Type)
	set("Ce-Subject", ev.Subject)
	if !ev.Time.IsZero() {
		set("Ce-Time", ev.Time.Format(time.RFC3339Nano))
	}
	set("Ce-Dataschema", ev.DataSchema)
	return r
}

// sameEvent compares events as the wire sees them: instants, not locations; data as JSON values.
func sameEvent(t *testing.T, got, want Event) {
	t.Helper()
	if !got.Time.Equal(want.Time) {
		t.Errorf("time %v, want %v", got.Time, want.Time)
	}
	var gd, wd any
	if err := json.Unmarshal(got.Data, &gd); err != nil {
		t.Errorf("data %q: %v", got.Data, err)
	}
	_ = json.Unmarshal(want.Data, &wd)
	if !reflect.DeepEqual(gd, wd) {
		t.Errorf("data %s, want %s", got.Data, want.Data)
	}
	got.Time, want.Time, got.Data, want.Data = time.Time{}, time.Time{}, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("envelope\n got %+v\nwant %+v", got, want)
	}
}

func TestDecodeHTTPRoundTrip(t *testing.T) {
	var all []Event
	for _, typ := range Types {
		ev := Example(typ)
		if typ == TypeComplaintAssigned {
			ev.DataSchema = SchemaURI(typ) // carried through both modes
		}
		all = append(all, ev)
		caller := ev.Bureau()

		body, err := EncodeStructured(ev)
		if err != nil {
			t.Fatalf("%s: EncodeStructured: %v", typ, err)
		}
		batch, items, err := DecodeHTTP(post(MediaTypeStructured, body), 0)
		if err != nil || batch || len(items) != 1 {
			t.Fatalf("%s structured: batch=%v items=%d err=%v", typ, batch, len(items), err)
		}
		sameEvent(t, items[0].Event, ev)
		if items[0].Problems != nil {
			t.Errorf("%s structured: problems %v", typ, items[0].Problems)
		}
		if !slices.Contains(HubTypes, typ) && typ != TypeMerchantLinked {
			if ps := items[0].Validate(caller); ps != nil {
				t.Errorf("%s structured: Validate %v", typ, ps)
			}
		}

		batch, items, err = DecodeHTTP(binaryRequest(ev), 0)
		if err != nil || batch || len(items) != 1 {
			t.Fatalf("%s binary: batch=%v items=%d err=%v", typ, batch, len(items), err)
		}
		sameEvent(t, items[0].Event, ev)
		if !slices.Contains(HubTypes, typ) && typ != TypeMerchantLinked {
			if ps := items[0].Validate(caller); ps != nil {
				t.Errorf("%s binary: Validate %v", typ, ps)
			}
		}
	}

	body, err := EncodeBatch(all)
	if err != nil {
		t.Fatal(err)
	}
	batch, items, err := DecodeHTTP(post(MediaTypeBatch+"; charset=utf-8", body), 0)
	if err != nil || !batch || len(items) != len(all) {
		t.Fatalf("batch: batch=%v items=%d err=%v", batch, len(items), err)
	}
	for i := range all {
		sameEvent(t, items[i].Event, all[i])
	}
}

func TestDecodeHTTPBatchElementsAreIndependent(t *testing.T) {
	good, _ := EncodeStructured(Example(TypePenaltyImposed))
	badTime := strings.Replace(string(good), `"time":"2018-12-27T07:30:00Z"`, `"time":"yesterday"`, 1)
	if badTime == string(good) {
		t.Fatalf("test setup: time not found in %s", good)
	}
	badID := strings.Replace(string(good), `"id":"example-penalty.imposed-1"`, `"id":7`, 1)
	body := "[" + string(good) + `, 5, null, "x", ` + badTime + "," + badID + `,{"data_base64":"AAAA","specversion":"1.0"}` + "]"

	batch, items, err := DecodeHTTP(post(MediaTypeBatch, []byte(body)), 0)
	if err != nil || !batch {
		t.Fatalf("batch=%v err=%v", batch, err)
	}
	want := [][]fr{
		nil,
		{{"", RuleJSON}},
		{{"", RuleJSON}},
		{{"", RuleJSON}},
		{{"time", RuleFormat}},
		{{"id", RuleType}},
		{{"data", RuleDataBase64}},
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d", len(items), len(want))
	}
	for i, w := range want {
		if got := pairs(items[i].Problems); !slices.Equal(got, w) {
			t.Errorf("item %d: problems %v, want %v", i, got, w)
		}
	}
	if !strings.Contains(items[1].Problems[0].Detail, "body[1]") {
		t.Errorf("element problem does not say where: %v", items[1].Problems[0])
	}
	// The time that could not be read is not also reported missing; the rest is validated.
	if got := pairs(items[4].Validate("amr")); !slices.Equal(got, []fr{{"time", RuleFormat}}) {
		t.Errorf("bad time element: Validate %v", got)
	}
	if got := pairs(items[5].Validate("amr")); !slices.Equal(got, []fr{{"id", RuleType}}) {
		t.Errorf("bad id element: Validate %v", got)
	}
	if got := pairs(items[1].Validate("amr")); !slices.Equal(got, []fr{{"", RuleJSON}}) {
		t.Errorf("non-object element: Validate %v", got)
	}
	got := pairs(items[6].Validate("amr"))
	want6 := []fr{{"id", RuleRequired}, {"source", RuleRequired}, {"type", RuleRequired}, {"subject", RuleRequired},
		{"time", RuleRequired}, {"data", RuleDataBase64}}
	if !slices.Equal(got, want6) {
		t.Errorf("data_base64 element: Validate %v, want %v", got, want6)
	}
	if ps := items[0].Validate("amr"); ps != nil {
		t.Errorf("good element: %v", ps)
	}
}

func TestDecodeHTTPAttributes(t *testing.T) {
	example := Example(TypeComplaintReceived)
	structured := func(edit func(m map[string]any)) *http.Request {
		b, _ := EncodeStructured(example)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		edit(m)
		b, _ = json.Marshal(m)
		return post(MediaTypeStructured, b)
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		read []fr // Decoded.Problems
		all  []fr // Decoded.Validate("hotline-12315")
	}{
		{"specversion missing", structured(func(m map[string]any) { delete(m, "specversion") }), nil, []fr{{"specversion", RuleRequired}}},
		{"specversion 0.3", structured(func(m map[string]any) { m["specversion"] = "0.3" }), nil, []fr{{"specversion", RuleEnum}}},
		{"specversion 2.0", structured(func(m map[string]any) { m["specversion"] = "2.0" }), nil, []fr{{"specversion", RuleEnum}}},
		{"time not RFC 3339", structured(func(m map[string]any) { m["time"] = "2018-12-24 09:30" }), []fr{{"time", RuleFormat}}, []fr{{"time", RuleFormat}}},
		{"several bad attributes", structured(func(m map[string]any) { m["id"] = 1; m["type"] = true; m["time"] = "x" }),
			[]fr{{"id", RuleType}, {"type", RuleType}, {"time", RuleFormat}},
			[]fr{{"id", RuleType}, {"type", RuleType}, {"time", RuleFormat}}},
		{"subject not a string", structured(func(m map[string]any) { m["subject"] = 9 }), []fr{{"subject", RuleType}}, []fr{{"subject", RuleType}}},
		{"extension attribute", structured(func(m map[string]any) { m["traceparent"] = "00-abc-def-01" }), nil, nil},
		{"text data", structured(func(m map[string]any) { m["datacontenttype"] = "text/plain"; m["data"] = "hello" }),
			nil, []fr{{"datacontenttype", RuleEnum}, {"data", RuleType}}},
		{"data_base64", structured(func(m map[string]any) { delete(m, "data"); m["data_base64"] = "e30=" }),
			[]fr{{"data", RuleDataBase64}}, []fr{{"data", RuleDataBase64}}},
		{"bad extension name", structured(func(m map[string]any) { m["Bad_Ext"] = 1 }), []fr{{"", RuleCloudEvents}}, []fr{{"", RuleCloudEvents}}},
		{"dataschema not a URI", structured(func(m map[string]any) { m["dataschema"] = "::bad" }), nil, []fr{{"dataschema", RuleDataSchema}}},
		{"another bureau's source", structured(func(m map[string]any) { m["source"] = "/bureaus/amr" }), nil, []fr{{"source", RuleSourceBureau}}},
		{"binary without ce-specversion", func() *http.Request {
			r := binaryRequest(example)
			r.Header.Del("Ce-Specversion")
			return r
		}(), nil, []fr{{"specversion", RuleRequired}}},
		{"binary with a bad ce-time", func() *http.Request {
			r := binaryRequest(example)
			r.Header.Set("Ce-Time", "Monday")
			return r
		}(), []fr{{"time", RuleFormat}}, []fr{{"time", RuleFormat}}},
		{"binary without body", func() *http.Request {
			ev := example
			ev.Data = nil
			return binaryRequest(ev)
		}(), nil, []fr{{"data", RuleRequired}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, items, err := DecodeHTTP(tc.req, 0)
			if err != nil || len(items) != 1 {
				t.Fatalf("items=%d err=%v", len(items), err)
			}
			if got := pairs(items[0].Problems); !slices.Equal(got, tc.read) {
				t.Errorf("read problems %v, want %v", got, tc.read)
			}
			all := items[0].Validate("hotline-12315")
			if got := pairs(all); !slices.Equal(got, tc.all) {
				t.Errorf("Validate %v, want %v", got, tc.all)
				for _, p := range all {
					t.Logf("  %s", p)
				}
			}
			checkWording(t, all)
		})
	}
}

func TestDecodeHTTPText(t *testing.T) {
	// Data is kept as the client wrote it, here a JSON string.
	b := []byte(`{"specversion":"1.0","id":"1","source":"/bureaus/amr","type":"warning.issued","datacontenttype":"text/plain","data":"hello"}`)
	_, items, err := DecodeHTTP(post(MediaTypeStructured, b), 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(items[0].Event.Data) != `"hello"` {
		t.Errorf("data %s", items[0].Event.Data)
	}
}

func TestDecodeHTTPErrors(t *testing.T) {
	valid, _ := EncodeStructured(Example(TypeCreditListed))

	for _, ct := range []string{"", "text/plain", "application/xml", "application/cloudevents+json; charset=gbk", "multipart/form-data; boundary=x", "application/json;;"} {
		_, _, err := DecodeHTTP(post(ct, valid), 0)
		if !errors.Is(err, ErrUnsupportedMediaType) {
			t.Errorf("Content-Type %q: err %v, want ErrUnsupportedMediaType", ct, err)
		}
	}

	// Over the limit: known length, unknown length (chunked), and exactly at the limit.
	limit := int64(len(valid))
	if _, _, err := DecodeHTTP(post(MediaTypeStructured, valid), limit-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	r := post(MediaTypeStructured, nil)
	r.Body = io.NopCloser(bytes.NewReader(valid))
	r.ContentLength = -1
	if _, _, err := DecodeHTTP(r, limit-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("chunked over the limit: %v", err)
	}
	r = post(MediaTypeStructured, nil)
	r.Body = io.NopCloser(bytes.NewReader(valid))
	r.ContentLength = -1
	if _, items, err := DecodeHTTP(r, limit); err != nil || len(items) != 1 {
		t.Errorf("at the limit: %v", err)
	}
	huge := bytes.Repeat([]byte(" "), DefaultMaxBody+1)
	if _, _, err := DecodeHTTP(post(MediaTypeBatch, huge), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("default limit: %v", err)
	}
	// A gateway that wraps the body in http.MaxBytesReader gets the same error.
	r = post(MediaTypeStructured, valid)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
	r.ContentLength = -1
	if _, _, err := DecodeHTTP(r, 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytesReader: %v", err)
	}

	for _, tc := range []struct {
		name, ct, body string
		line, col      int
	}{
		{"truncated", MediaTypeStructured, "{\n  \"id\": \"1\",\n  \"type\": ", 3, 11},
		{"bad token", MediaTypeStructured, "{\n \"id\": x}", 2, 8},
		{"not an object", MediaTypeStructured, `["a"]`, 1, 1},
		{"null", MediaTypeStructured, `null`, 0, 0},
		{"empty", MediaTypeStructured, ``, 0, 0},
		{"two objects", MediaTypeStructured, `{} {}`, 1, 4},
		{"batch not an array", MediaTypeBatch, `{"specversion":"1.0"}`, 1, 1},
		{"batch null", MediaTypeBatch, `null`, 0, 0},
		{"batch broken", MediaTypeBatch, `[{"id":"1"},`, 1, 13},
		{"binary body", MediaTypeJSON, `{"a":}`, 1, 6},
	} {
		_, _, err := DecodeHTTP(post(tc.ct, []byte(tc.body)), 0)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: err %v, want *DecodeError", tc.name, err)
			continue
		}
		if de.Where != "body" {
			t.Errorf("%s: Where %q", tc.name, de.Where)
		}
		if tc.line > 0 && (de.Line != tc.line || de.Column != tc.col) {
			t.Errorf("%s: at %d:%d (offset %d), want %d:%d", tc.name, de.Line, de.Column, de.Offset, tc.line, tc.col)
		}
		p := de.Problem()
		if p.Rule != RuleJSON || !strings.Contains(p.Detail, "JSON") {
			t.Errorf("%s: Problem %+v", tc.name, p)
		}
	}

	_, items, err := DecodeHTTP(post(MediaTypeBatch, []byte(`[]`)), 0)
	if err != nil || len(items) != 0 {
		t.Errorf("empty batch: %d items, %v", len(items), err)
	}
}

func TestEncodeStructured(t *testing.T) {
	ev := Example(TypeSamplingCompleted)
	b, err := EncodeStructured(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"specversion": "1.0", "id": ev.ID, "source": "/bureaus/quality", "type": TypeSamplingCompleted,
		"subject": ev.Subject, "datacontenttype": "application/json", "time": "2018-12-12T03:30:00Z", // the SDK writes UTC
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if d, ok := m["data"].(map[string]any); !ok || d["product"] != "桶装饮用水" {
		t.Errorf("data %v", m["data"])
	}

	for name, bad := range map[string]Event{
		"specversion": func() Event { e := ev; e.SpecVersion = "0.3"; return e }(),
		"data":        func() Event { e := ev; e.Data = json.RawMessage(`{"x":`); return e }(),
		"content":     func() Event { e := ev; e.DataContentType = "text/plain"; return e }(),
	} {
		if _, err := EncodeStructured(bad); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if _, err := EncodeBatch([]Event{ev, {SpecVersion: "0.3"}}); err == nil || !strings.Contains(err.Error(), "event 1") {
		t.Errorf("EncodeBatch: %v", err)
	}
}

// FuzzDecodeHTTP feeds arbitrary bodies and attribute headers through every mode. Nothing may
// panic; errors are of the documented kinds; an event without problems encodes and decodes
// again without problems.
func FuzzDecodeHTTP(f *testing.F) {
	for i, typ := range Types {
		b, _ := EncodeStructured(Example(typ))
		f.Add(uint8(i), b, "1.0", "2018-12-24T09:30:00+08:00")
	}
	f.Add(uint8(1), []byte(`[{"specversion":"1.0"},5,null]`), "", "")
	f.Add(uint8(2), []byte(Example(TypeComplaintReceived).Data), "1.0", "2018-12-24T09:30:00+08:00")
	f.Add(uint8(2), []byte(`{"a":}`), "0.3", "x")
	f.Add(uint8(0), []byte(`{"specversion":"1.0","data_base64":"!!"}`), "", "")
	f.Add(uint8(0), []byte(`{"specversion":"1.0","time":"2018-12-24T09:30:00Z","time":5}`), "", "")
	modes := []string{MediaTypeStructured, MediaTypeBatch, MediaTypeJSON, MediaTypeJSON + "; charset=utf-8", "text/plain"}
	f.Fuzz(func(t *testing.T, mode uint8, body []byte, spec, ts string) {
		ct := modes[int(mode)%len(modes)]
		r := post(ct, body)
		if ct == MediaTypeJSON || strings.HasPrefix(ct, MediaTypeJSON+";") {
			ex := Example(Types[int(mode)%len(Types)])
			for h, v := range map[string]string{"Ce-Specversion": spec, "Ce-Time": ts, "Ce-Id": ex.ID, "Ce-Source": ex.Source, "Ce-Type": ex.Type, "Ce-Subject": ex.Subject} {
				if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
					r.Header.Set(h, v)
				}
			}
		}
		batch, items, err := DecodeHTTP(r, 1<<16)
		if err != nil {
			var de *DecodeError
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedMediaType) && !errors.As(err, &de) {
				t.Fatalf("undocumented error %T: %v", err, err)
			}
			return
		}
		if !batch && len(items) != 1 {
			t.Fatalf("%d items outside batch mode", len(items))
		}
		for i, d := range items {
			ps := d.Validate("")
			for _, p := range ps {
				if p.Rule == "" || p.Detail == "" || p.DetailEN == "" {
					t.Fatalf("item %d: incomplete problem %+v", i, p)
				}
			}
			if len(ps) > 0 {
				continue
			}
			if _, err := DecodeData(d.Event); err != nil {
				t.Fatalf("item %d valid but DecodeData fails: %v", i, err)
			}
			b, err := EncodeStructured(d.Event)
			if err != nil {
				t.Fatalf("item %d valid but does not encode: %v", i, err)
			}
			_, again, err := DecodeHTTP(post(MediaTypeStructured, b), 1<<20)
			if err != nil || len(again) != 1 {
				t.Fatalf("item %d re-decoding: %v", i, err)
			}
			if ps := again[0].Validate(""); ps != nil {
				t.Fatalf("item %d valid, re-encoded invalid: %v\n%s", i, ps, b)
			}
		}
	})
}

// FuzzValidate checks arbitrary envelopes and payloads: no panic, the same answer twice,
// complete problems, and an event without problems decodes into its payload struct.
func FuzzValidate(f *testing.F) {
	for _, typ := range Types {
		ev := Example(typ)
		f.Add(ev.Type, ev.Source, ev.Subject, ev.Time.Format(time.RFC3339), []byte(ev.Data), ev.Bureau())
	}
	f.Add(TypeComplaintReceived, "/bureaus/amr", "", "", []byte(`{"merchant_name":"a","address":"b"}`), "")
	f.Add(TypeIncidentDetected, HubSource, "", "", []byte(`{"responsible_bureaus":[1,"x",null]}`), "amr")
	f.Fuzz(func(t *testing.T, typ, source, subject, ts string, data []byte, caller string) {
		ev := Event{SpecVersion: SpecVersion, ID: "f-" + strconv.Itoa(len(data)), Source: source, Type: typ, Subject: subject, Data: data}
		ev.Time, _ = time.Parse(time.RFC3339, ts)
		first := Validate(ev, caller)
		if again := Validate(ev, caller); !reflect.DeepEqual(first, again) {
			t.Fatalf("not deterministic:\n%v\n%v", first, again)
		}
		_ = ValidateHub(ev)
		for _, p := range first {
			if p.Rule == "" || p.Detail == "" || p.DetailEN == "" {
				t.Fatalf("incomplete problem %+v", p)
			}
		}
		if first == nil {
			if _, err := DecodeData(ev); err != nil {
				t.Fatalf("valid but DecodeData fails: %v", err)
			}
		}
	})
}

// benchBatch is the body of the decoding benchmarks: 100 complaints in batch mode.
func benchBatch(b *testing.B) (body []byte, n int) {
	evs := make([]Event, 100)
	for i := range evs {
		evs[i] = Example(TypeComplaintReceived)
		evs[i].ID = strconv.Itoa(i)
	}
	body, err := EncodeBatch(evs)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	return body, len(evs)
}

func BenchmarkDecodeHTTPBatch(b *testing.B) {
	body, n := benchBatch(b)
	for b.Loop() {
		_, items, err := DecodeHTTP(post(MediaTypeBatch, body), 0)
		if err != nil || len(items) != n {
			b.Fatal(err)
		}
		for _, it := range items {
			if ps := it.Validate("hotline-12315"); ps != nil {
				b.Fatal(ps)
			}
		}
	}
}
