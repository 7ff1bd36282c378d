package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// The one-pass readers (fastdecode.go) against the reference readers, encoding/json and the
// CloudEvents SDK (decodeStructured, decodeBatch, structuredEventSDK): whatever a fast reader
// accepts, it reads exactly as the reference does; the common event takes the fast path.

// memberValues are the values the table puts in every member of every example event.
var memberValues = []string{
	`"1.0"`, `"0.3"`, `"2.0"`, `""`, `" "`, `null`, `1`, `1e3`, `true`, `{}`, `[]`, `{"a":[1,"b",null]}`,
	`"\u0031.0"`, `"1.0\u0000"`, `"/bureaus/amr"`, `"/bureaus/hotline-12315"`, `"/hub"`, `"/"`, `"//x"`, `"/bureaus/a_b.c~d"`,
	`"http://x/y"`, `"/bureaus/a b"`, `"/bureaus/a%20b"`, `"/bureaus/a?"`, `"/bureaus/a#"`, `"/bureaus/a:b"`, `"amr"`, `"::bad"`,
	`"2018-12-24T09:30:00+08:00"`, `"2018-12-24T09:30:00Z"`, `"2018-12-24 09:30:00"`, `"2018-12-24T09:30:00.123+08:00"`,
	`"2018-12-24T09:30:00+24:00"`, `"2018-12-24t09:30:00z"`,
	`"application/json"`, `"application/json; charset=utf-8"`, `"application/json;charset=UTF-8"`, `"text/plain"`,
	`"text/json"`, `"APPLICATION/JSON"`, `"application/cloudevents+json"`,
	`"https://fangxin.lizhou.gov.cn/schemas/complaint.received.v1.json"`, `"中文"`, `"\"q\""`, `"x\ny"`, `"x\u00e9"`,
	`"AQID"`, `"!!"`, `"\ud800"`, "\"\xff\"", "\"a\xe4\xb8\"",
}

// memberNames are the members the table changes or adds.
var memberNames = []string{
	"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data",
	"data_base64", "traceparent", "Ext", "",
}

// writeObject writes members in the given order (duplicates allowed).
func writeObject(keys []string, vals []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vals[i])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// structuredBodies returns structured-mode bodies: every example event, each member removed or
// set to each member value, in two member orders (the SDK reads specversion first or last).
func structuredBodies(t testing.TB) [][]byte {
	var out [][]byte
	for i, typ := range Types {
		b, err := EncodeStructured(Example(typ))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b,
			bytes.Replace(b, []byte(`"specversion"`), []byte(`"spec\u0076ersion"`), 1),
			bytes.Replace(b, []byte(`"data"`), []byte(`"d\u0061ta"`), 1),
			bytes.Replace(b, []byte(`"id"`), []byte(`"\u0069d"`), 1),
			bytes.Replace(b, []byte(`"time"`), []byte(`"tim\u00e9"`), 1))
		if i%5 != 1 { // the envelope is the same for every type: mutate a few (complaint.received first)
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		variant := func(name string, v json.RawMessage, dup bool) {
			var keys []string
			for k := range m {
				if k != name || dup {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			if v != nil {
				keys = append(keys, name)
			}
			reversed := slices.Clone(keys)
			slices.Reverse(reversed)
			for _, order := range [][]string{keys, reversed} {
				vals := make([]json.RawMessage, len(order))
				for i, k := range order {
					if k == name && v != nil {
						vals[i] = v
					} else {
						vals[i] = m[k]
					}
				}
				out = append(out, writeObject(order, vals))
			}
		}
		for _, name := range memberNames {
			variant(name, nil, false)
			for _, v := range memberValues {
				variant(name, json.RawMessage(v), false)
			}
			if _, ok := m[name]; ok {
				variant(name, m[name], true) // the same member twice
			}
		}
	}
	return out
}

// sdkStable drops the wording of a cloudevents problem: the SDK checks an event's extensions
// in map order, so with several bad ones it names one at random (the rule and field stay).
func sdkStable(d Decoded) Decoded {
	d.Problems = slices.Clone(d.Problems)
	for i, p := range d.Problems {
		if p.Rule == RuleCloudEvents {
			d.Problems[i].Detail, d.Problems[i].DetailEN = "", ""
		}
	}
	return d
}

// checkStructuredFast compares the fast structured reader with the reference on one body and
// returns whether the fast reader took it.
func checkStructuredFast(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := decodeStructuredFast(body)
	ref, derr := decodeStructured(body, "body")
	if !ok {
		return false
	}
	if derr != nil {
		t.Fatalf("fast reader accepts what the reference refuses (%v):\n%s", derr, body)
	}
	if !reflect.DeepEqual(sdkStable(fast), sdkStable(ref)) {
		t.Fatalf("fast reader differs from the reference:\n got %+v\nwant %+v\n%s", fast, ref, body)
	}
	// And the SDK bypass on its own: same event as the SDK.
	var attrs ceAttrs
	sc := fastScanner{s: string(body)}
	sc.skipSpace()
	if !sc.members(body, &attrs) {
		t.Fatalf("members refuses a body decodeStructuredFast took:\n%s", body)
	}
	if d, ok := structuredEventFast(&attrs); ok {
		if sdk := structuredEventSDK(body, &attrs); !reflect.DeepEqual(sdkStable(d), sdkStable(sdk)) {
			t.Fatalf("SDK bypass differs from the SDK:\n got %+v\nwant %+v\n%s", d, sdk, body)
		}
		return true
	}
	return true
}

// checkBatchFast compares the fast batch reader with the reference on one body.
func checkBatchFast(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := decodeBatchFast(body)
	ref, derr := decodeBatch(body)
	if !ok {
		return false
	}
	if derr != nil {
		t.Fatalf("fast batch reader accepts what the reference refuses (%v):\n%s", derr, body)
	}
	if len(fast) != len(ref) {
		t.Fatalf("fast batch reader reads %d events, the reference %d:\n%s", len(fast), len(ref), body)
	}
	for i := range fast {
		if !reflect.DeepEqual(sdkStable(fast[i]), sdkStable(ref[i])) {
			t.Fatalf("fast batch reader differs from the reference on event %d:\n got %+v\nwant %+v\n%s", i, fast[i], ref[i], body)
		}
	}
	return true
}

func TestFastStructuredAgreesWithSDK(t *testing.T) {
	bodies := structuredBodies(t)
	fast, bypass := 0, 0
	for i, b := range bodies {
		if !sampled(i) {
			continue
		}
		if checkStructuredFast(t, b) {
			fast++
		}
		var attrs ceAttrs
		sc := fastScanner{s: string(b)}
		if sc.members(b, &attrs) {
			if _, ok := structuredEventFast(&attrs); ok {
				bypass++
			}
		}
	}
	// Every example takes both fast paths; the table exercises the SDK too.
	for _, typ := range Types {
		b, _ := EncodeStructured(Example(typ))
		var attrs ceAttrs
		sc := fastScanner{s: string(b)}
		if !sc.members(b, &attrs) {
			t.Errorf("%s: example not read in one pass", typ)
		} else if _, ok := structuredEventFast(&attrs); !ok {
			t.Errorf("%s: example goes through the SDK", typ)
		}
	}
	if bypass < len(Types)/4 || bypass > len(bodies)*3/4 {
		t.Errorf("%d of %d bodies bypass the SDK: the table does not exercise both readers", bypass, len(bodies))
	}
	t.Logf("%d bodies: %d read in one pass, %d without the SDK", len(bodies), fast, bypass)
}

func TestFastBatchAgreesWithReference(t *testing.T) {
	bodies := structuredBodies(t)
	batches := [][]byte{
		[]byte(`[]`), []byte(` [ ] `), []byte(`[1,"x",null,{},[]]`), []byte(`[{"specversion":"1.0"},5,null]`),
		[]byte(`null`), []byte(`{}`), []byte(`[`), []byte(`[{}`), []byte(`[{},]`), []byte(`[{}] x`), []byte(``),
	}
	for i := 0; i < len(bodies); i += 40 {
		end := min(i+40, len(bodies))
		batches = append(batches, append(append([]byte("[\n"), bytes.Join(bodies[i:end], []byte(",\n "))...), "\n]"...))
	}
	fast := 0
	for _, b := range batches {
		if checkBatchFast(t, b) {
			fast++
		}
	}
	if fast < len(batches)/2 {
		t.Errorf("only %d of %d batches read in one pass", fast, len(batches))
	}
}

// FuzzFastDecode mutates structured and batch bodies: the fast readers agree with the
// reference on whatever they accept.
func FuzzFastDecode(f *testing.F) {
	for i, b := range structuredBodies(f) {
		if i%9 == 0 {
			f.Add(false, b)
		}
		if i%31 == 0 {
			f.Add(true, append(append([]byte("["), b...), ",1]"...))
		}
	}
	f.Fuzz(func(t *testing.T, batch bool, body []byte) {
		if batch {
			checkBatchFast(t, body)
		} else {
			checkStructuredFast(t, body)
		}
	})
}

// BenchmarkDecodeHTTPBatchReference reads BenchmarkDecodeHTTPBatch's body the way DecodeHTTP
// and ValidateData did before their fast paths, measured in the same process: encoding/json
// for the array and each event's members, the CloudEvents SDK for the event, the jsonschema
// validator (with the payload-struct decoding) for the data. It leaves out the envelope checks
// (a few µs per event), so it understates the old cost a little.
func BenchmarkDecodeHTTPBatchReference(b *testing.B) {
	body, _ := benchBatch(b)
	for b.Loop() {
		var elems []json.RawMessage
		if derr := decodeJSON("body", body, &elems, "array"); derr != nil {
			b.Fatal(derr)
		}
		for _, raw := range elems {
			var members map[string]json.RawMessage
			if derr := decodeJSON("body[i]", raw, &members, "object"); derr != nil {
				b.Fatal(derr)
			}
			var attrs ceAttrs
			for k, v := range members {
				attrs.set(k, v)
			}
			d := structuredEventSDK(raw, &attrs)
			if ps := validateDataRef(d.Event.Type, d.Event.Data); ps != nil || d.Problems != nil {
				b.Fatal(ps, d.Problems)
			}
		}
	}
}
