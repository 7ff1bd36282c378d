package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path of ValidateData (fastvalidate.go) against the reference, the jsonschema
// validator with the reference-data and decoding checks (validateDataRef):
//
//   - sound: a payload the fast path accepts has no problem on the reference path;
//   - complete: a payload valid on the reference path is accepted by the fast path, unless it
//     is written in a form the fast path leaves to the reference on purpose (an escaped string,
//     a number with an exponent or more than 15 digits, a duplicate key);
//   - same answer: ValidateData reports exactly the reference's problems.

func TestFastPlanCoversCatalogue(t *testing.T) {
	for _, typ := range Types {
		if fastPlans()[typ] == nil {
			s := compiledSchemas()[typ]
			_, err := compileFast(s, 0)
			t.Errorf("%s: no fast plan: %v", typ, err)
		}
	}
}

// checkFastAgainstRef compares the two paths on one payload and returns whether the reference
// found it valid.
func checkFastAgainstRef(t *testing.T, typ string, data []byte) bool {
	t.Helper()
	fast := fastValidData(typ, data)
	ref := validateDataRef(typ, data)
	if fast && ref != nil {
		t.Fatalf("%s: fast path accepts what the reference rejects: %v\n%s", typ, ref, data)
	}
	if got := ValidateData(typ, data); !reflect.DeepEqual(got, ref) {
		t.Fatalf("%s: ValidateData differs from the reference:\n got %v\nwant %v\n%s", typ, got, ref, data)
	}
	if ref == nil && !fast && plainJSON(data) {
		t.Fatalf("%s: fast path declines a valid payload in plain form:\n%s", typ, data)
	}
	return ref == nil
}

// plainJSON reports whether data is in the form the fast path reads itself: parsable, no
// escape in any string, every number without exponent and of at most 15 digits, no duplicate
// key.
func plainJSON(data []byte) bool {
	if bytes.IndexByte(data, '\\') >= 0 {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Number:
			s := strings.TrimPrefix(string(v), "-")
			return !strings.ContainsAny(s, "eE") && len(strings.ReplaceAll(s, ".", "")) <= 15
		case json.Delim:
			switch v {
			case '{':
				var keys []string
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return false
					}
					if slices.Contains(keys, k.(string)) {
						return false
					}
					keys = append(keys, k.(string))
					if !walk() {
						return false
					}
				}
				_, err := dec.Token()
				return err == nil
			case '[':
				for dec.More() {
					if !walk() {
						return false
					}
				}
				_, err := dec.Token()
				return err == nil
			}
		}
		return true
	}
	return walk()
}

// mutationValues are the values the table puts in every field of every type.
var mutationValues = []string{
	`null`, `true`, `false`, `0`, `-0`, `-1`, `1`, `5`, `6`, `0.5`, `1.5`, `2.0`, `-0.0`, `1e2`, `1E400`,
	`12345678901234567890`, `2147483648`, `123456789012345`, `1234567890123456`, `0.00000000000001`,
	`""`, `" "`, `"x"`, `"a b"`, `"<b>&"`, `"\u0041BC"`, `"\ud83d\ude00"`, `"中文"`,
	`"` + strings.Repeat("x", 32) + `"`, `"` + strings.Repeat("x", 33) + `"`, `"` + strings.Repeat("x", 129) + `"`,
	`"` + strings.Repeat("中", 64) + `"`, `"` + strings.Repeat("中", 65) + `"`, `"` + strings.Repeat("y", 4001) + `"`,
	`"2018-12-24T09:30:00+08:00"`, `"2018-12-24T09:30:00.123456789Z"`, `"2018-12-24t09:30:00z"`,
	`"2018-12-24T09:30:00+24:00"`, `"2018-12-24T9:30:00Z"`, `"2018-12-24T09:30:00,5Z"`, `"2018-12-24"`,
	`"2018-02-30T09:30:00Z"`, `"2016-12-31T23:59:60Z"`,
	`"PT2H"`, `"P1D"`, `"P"`, `"PT"`, `"P1W"`, `"P1H"`, `"P1Y2M3DT4H5M6S"`,
	`"510802002"`, `"嘉陵街道"`, `"510802999"`, `"H6210"`, `"H62"`, `"H"`, `"Z9999"`, `"h6210"`,
	`"amr"`, `"tourism"`, `"hotline-12345"`, `"nobody"`, `"Amr"`,
	`"12315"`, `"visit"`, `"pass"`, `"fail"`, `"auto"`, `"manual"`, `"I"`, `"IV"`,
	`"91510802MA6B00021X"`, `"0123456789abcdef"`, `"0123456789ABCDEF"`, `"demo_unit"`, `"Demo"`,
	`"138 0000 0000"`, `"phone!"`,
	`[]`, `["amr"]`, `["amr","amr"]`, `["amr","tourism"]`, `["nobody"]`, `[1]`, `[null]`, `"amr"`,
	`{}`, `{"name":"张三"}`, `{"name":""}`, `{"phone":"x"}`, `{"phone":"0839-1234567"}`, `{"bogus":1}`,
	`{"rule":"r"}`, `{"township":"nowhere"}`, `{"industry":"H6210","bogus":true}`,
}

// mutations returns the example payload of typ changed in every field (removed, or set to each
// mutation value, nested objects too), plus whole-payload edits.
func mutations(t testing.TB, typ string) [][]byte {
	base := Example(typ).Data
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(base, &obj); err != nil {
		t.Fatal(err)
	}
	enc := func(m map[string]json.RawMessage) []byte {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(m); err != nil {
			t.Fatal(err)
		}
		return bytes.TrimSpace(b.Bytes())
	}
	with := func(key string, v json.RawMessage) []byte {
		m := maps(obj)
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		return enc(m)
	}
	out := [][]byte{base, enc(obj)}
	plan := fastPlans()[typ]
	for name, i := range plan.propIndex {
		out = append(out, with(name, nil))
		for _, v := range mutationValues {
			out = append(out, with(name, json.RawMessage(v)))
		}
		child := plan.props[i]
		for sub := range child.propIndex { // nested object: each of its fields
			var inner map[string]json.RawMessage
			_ = json.Unmarshal(obj[name], &inner)
			if inner == nil {
				inner = map[string]json.RawMessage{}
			}
			for _, v := range mutationValues {
				m := maps(inner)
				m[sub] = json.RawMessage(v)
				out = append(out, with(name, enc(m)))
			}
			m := maps(inner)
			delete(m, sub)
			out = append(out, with(name, enc(m)))
		}
	}
	out = append(out, with("bogus", json.RawMessage(`1`)),
		[]byte(`{}`), []byte(`[]`), []byte(`null`), []byte(``), []byte(`"x"`), []byte(` `),
		append(slices.Clone(base), " x"...), append(slices.Clone(base), "  \n"...),
		append([]byte(" \t"), base...), base[:len(base)-1], append(slices.Clone(base), '}'))
	// A duplicate key: the first field again, last one wins on the reference path.
	if i := bytes.IndexByte(base, ','); i > 0 {
		out = append(out, append(append(slices.Clone(base[:i+1]), base[1:i+1]...), base[i+1:]...))
	}
	return out
}

// sampled says whether the differential tests check the i-th payload of their table: all of
// them, or a quarter under the race detector.
func sampled(i int) bool { return !raceEnabled || i%4 == 0 }

func maps(m map[string]json.RawMessage) map[string]json.RawMessage {
	c := make(map[string]json.RawMessage, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestFastPathAgreesWithSchema(t *testing.T) {
	for _, typ := range Types {
		t.Run(typ, func(t *testing.T) {
			valid, invalid := 0, 0
			for i, data := range mutations(t, typ) {
				if !sampled(i) {
					continue
				}
				if checkFastAgainstRef(t, typ, data) {
					valid++
				} else {
					invalid++
				}
			}
			// The table must exercise both answers.
			if valid < 3 || invalid < 10 {
				t.Errorf("%d valid and %d invalid payloads: the mutations do not cover both answers", valid, invalid)
			}
			if !fastValidData(typ, Example(typ).Data) {
				t.Errorf("the example payload takes the slow path")
			}
		})
	}
}

// TestFastPathCanonical: whatever the reference accepts, re-encoded plainly, the fast path
// accepts too (completeness on values the table does not list).
func TestFastPathCanonical(t *testing.T) {
	for _, typ := range Types {
		for i, data := range mutations(t, typ) {
			if !sampled(i) || validateDataRef(typ, data) != nil {
				continue
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			e := json.NewEncoder(&b)
			e.SetEscapeHTML(false)
			_ = e.Encode(v)
			checkFastAgainstRef(t, typ, bytes.TrimSpace(b.Bytes()))
		}
	}
}

// FuzzFastValidate mutates valid and invalid payloads of every type: both paths must agree.
func FuzzFastValidate(f *testing.F) {
	for i, typ := range Types {
		for j, data := range mutations(f, typ) {
			if (j%7 == 0 && sampled(j/7)) || j < 2 { // a sample of each type's mutations, the example first
				f.Add(uint8(i), data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := Types[int(ti)%len(Types)]
		checkFastAgainstRef(t, typ, data)
	})
}

func BenchmarkValidateData(b *testing.B) {
	for _, typ := range []string{TypeComplaintReceived, TypeIncidentDetected} {
		data := Example(typ).Data
		b.Run(typ+"/fast", func(b *testing.B) {
			for b.Loop() {
				if ValidateData(typ, data) != nil {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(typ+"/reference", func(b *testing.B) {
			for b.Loop() {
				if validateDataRef(typ, data) != nil {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// TestHasStrSpecial: the eight-byte test finds every control character, quote and backslash at
// every position, among every kind of neighbour, and flags no word without one.
func TestHasStrSpecial(t *testing.T) {
	fillers := []byte{' ', 'a', '0', 0x7f, 0x80, 0xe4, 0xff, 0x21, 0x5b, 0x5d}
	for _, fill := range fillers {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var w uint64
				for i := 0; i < 8; i++ {
					b := fill
					if i == pos {
						b = byte(c)
					}
					w |= uint64(b) << (8 * i)
				}
				if got, want := hasStrSpecial(w), strSpecial[byte(c)] || strSpecial[fill]; got != want {
					t.Fatalf("fill %#x, byte %#x at %d: hasStrSpecial = %v, want %v", fill, c, pos, got, want)
				}
			}
		}
	}
}

// unlinkedCases are complaint payloads for hasUnlinkedMerchant, beyond the table's mutations.
var unlinkedCases = []string{
	`{"merchant_name":"示例店","address":"嘉陵街道示例路1号"}`, `{"merchant_name":" ","address":"x"}`,
	`{"merchant_name":"a","address":"b","merchant_name":""}`, `{"merchant_name":"a","address":"b","MERCHANT_NAME":""}`,
	`{"Merchant_Name":"a","address":"b"}`, `{"merchant_name":"a","Address":"b"}`, `{"merchant_name":"a","addreſs":"b"}`,
	`{"merchant_name":"a","address":null}`, `{"merchant_name":1,"address":"b"}`, `{"merchant_name":"\u0061","address":"b"}`,
	`{"merchant\u005fname":"a","address":"b"}`, `{"merchant_name":"a","address":"b"`, `{"merchant_name":"a","address":"b"} x`,
	`[]`, `null`, `""`, ``, `{}`, `{"merchant_name":"a","address":"\t"}`, `{"merchant_name":"a","address":"b","x":[1,{"y":2}]}`,
	"{\"merchant_name\":\"\xff\",\"address\":\"b\"}", `{"merchant_name":"a","address":"b","merchant_name":{"x":1}}`,
}

func checkUnlinkedFast(t *testing.T, data []byte) {
	t.Helper()
	if got, want := hasUnlinkedMerchant(data), hasUnlinkedMerchantRef(data); got != want {
		t.Fatalf("hasUnlinkedMerchant = %v, the encoding/json reference %v:\n%s", got, want, data)
	}
}

func TestUnlinkedMerchantFast(t *testing.T) {
	fast := 0
	for _, c := range unlinkedCases {
		checkUnlinkedFast(t, []byte(c))
	}
	for _, data := range mutations(t, TypeComplaintReceived) {
		checkUnlinkedFast(t, data)
		if _, _, ok := unlinkedMerchantFast(data); ok {
			fast++
		}
	}
	if fast == 0 {
		t.Error("no payload took the fast path")
	}
}

func FuzzUnlinkedMerchant(f *testing.F) {
	for _, c := range unlinkedCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkUnlinkedFast(t, data) })
}

// BenchmarkValidateUnlinked: a 12345 complaint naming a shop without its code (no subject).
func BenchmarkValidateUnlinked(b *testing.B) {
	ev := Example(TypeComplaintReceived)
	ev.Subject = ""
	var m map[string]any
	_ = json.Unmarshal(ev.Data, &m)
	m["merchant_name"], m["address"] = "示例健身馆", "广元市利州区嘉陵街道示例路2号"
	ev.Data, _ = json.Marshal(m)
	for b.Loop() {
		if ps := Validate(ev, "hotline-12315"); ps != nil {
			b.Fatal(ps)
		}
	}
}
