package events

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Members of a structured-mode event that the hub reads itself; the CloudEvents SDK reads the
// event as a whole. The first eight are envelopeOrder.
const (
	attrSpecVersion = iota
	attrID
	attrSource
	attrType
	attrSubject
	attrTime
	attrDataContentType
	attrDataSchema
	attrData
	attrDataBase64
	numAttrs
)

// attrIndex returns the index of a member name, or -1 for another member.
func attrIndex(name string) int {
	switch name {
	case "specversion":
		return attrSpecVersion
	case "id":
		return attrID
	case "source":
		return attrSource
	case "type":
		return attrType
	case "subject":
		return attrSubject
	case "time":
		return attrTime
	case "datacontenttype":
		return attrDataContentType
	case "dataschema":
		return attrDataSchema
	case "data":
		return attrData
	case "data_base64":
		return attrDataBase64
	}
	return -1
}

// ceAttrs holds the raw JSON values of those members (a later duplicate replaces an earlier
// one, as encoding/json does).
type ceAttrs struct {
	raw [numAttrs]json.RawMessage
	str [numAttrs]string // raw as a string, when read in one pass
	has [numAttrs]bool
	// other: the event has another member (an extension); dup: a member appears twice. Either
	// sends it to the SDK.
	other, dup bool
}

func (a *ceAttrs) set(name string, raw json.RawMessage) { a.setStr(name, raw, "") }

func (a *ceAttrs) setStr(name string, raw json.RawMessage, str string) {
	if i := attrIndex(name); i >= 0 {
		a.dup = a.dup || a.has[i]
		a.raw[i], a.str[i], a.has[i] = raw, str, true
	} else {
		a.other = true
	}
}

func (a *ceAttrs) get(i int) (json.RawMessage, bool) {
	if i < 0 {
		return nil, false
	}
	return a.raw[i], a.has[i]
}

// decodeBatchFast reads a batch in one pass when body is a well-formed JSON array: the
// elements and their members are slices of body (Data aliases body). false means the body
// needs encoding/json's reading, which locates its error.
func decodeBatchFast(body []byte) ([]Decoded, bool) {
	sc := fastScanner{s: string(body)}
	sc.skipSpace()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '[' {
		return nil, false
	}
	sc.i++
	items := []Decoded{}
	sc.skipSpace()
	if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
		sc.i++
	} else {
		for {
			start := sc.i
			var attrs ceAttrs
			object := sc.i < len(sc.s) && sc.s[sc.i] == '{'
			if object {
				if !sc.members(body, &attrs) {
					return nil, false
				}
			} else if !sc.value(nil, 1) {
				return nil, false
			}
			raw := body[start:sc.i:sc.i]
			if object {
				items = append(items, structuredEvent(raw, &attrs))
			} else {
				// Well-formed JSON but not an object: the reference reader words the problem.
				d, derr := decodeStructured(raw, "body["+strconv.Itoa(len(items))+"]")
				if derr != nil {
					d = Decoded{Problems: []Problem{derr.Problem()}}
				}
				items = append(items, d)
			}
			sc.skipSpace()
			if sc.i >= len(sc.s) {
				return nil, false
			}
			if sc.s[sc.i] == ']' {
				sc.i++
				break
			}
			if sc.s[sc.i] != ',' {
				return nil, false
			}
			sc.i++
			sc.skipSpace()
		}
	}
	sc.skipSpace()
	if sc.i != len(sc.s) {
		return nil, false
	}
	return items, true
}

// decodeStructuredFast reads a structured-mode body in one pass when it is a well-formed JSON
// object; false means it needs decodeStructured.
func decodeStructuredFast(body []byte) (Decoded, bool) {
	sc := fastScanner{s: string(body)}
	sc.skipSpace()
	var attrs ceAttrs
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' || !sc.members(body, &attrs) {
		return Decoded{}, false
	}
	sc.skipSpace()
	if sc.i != len(sc.s) {
		return Decoded{}, false
	}
	return structuredEvent(body, &attrs), true
}

// members reads the JSON object at sc.i (b holds the same bytes as sc.s) and records its
// members in attrs. It returns false on anything but a well-formed object.
func (sc *fastScanner) members(b []byte, attrs *ceAttrs) bool {
	if sc.open('}') {
		return true
	}
	for {
		key, ok := sc.memberKey()
		if !ok {
			return false
		}
		plainKey := sc.ascii
		start := sc.i
		if !sc.value(nil, 2) {
			return false
		}
		attrs.setStr(key, b[start:sc.i:sc.i], sc.s[start:sc.i])
		if !plainKey {
			attrs.other = true // the SDK may read an escaped key otherwise: let it
		}
		if done, ok := sc.next('}'); !ok || done {
			return ok
		}
	}
}

// structuredEventFast reads the common structured-mode event without the CloudEvents SDK: a
// CloudEvents 1.0 event with the core attributes only, each a plain JSON string (no escape), a
// source that is a plain absolute path, a valid time or none, JSON data or none. It returns
// what structuredEventSDK returns for such an event; false for any other, which the SDK reads
// (extensions, escapes, data_base64, other spec versions, anything the SDK might refuse).
// fastdecode_test.go holds the two to the same answer.
func structuredEventFast(a *ceAttrs) (Decoded, bool) {
	if a.other || a.dup || a.has[attrDataBase64] {
		return Decoded{}, false
	}
	var vals [attrData]string
	for i := range vals {
		if !a.has[i] {
			continue
		}
		v, ok := plainJSONString(a.str[i])
		if !ok {
			return Decoded{}, false
		}
		vals[i] = v
	}
	if vals[attrSpecVersion] != SpecVersion || !plainPath(vals[attrSource]) || !sdkJSONMediaType(vals[attrDataContentType]) {
		return Decoded{}, false
	}
	ev := Event{
		SpecVersion:     vals[attrSpecVersion],
		ID:              vals[attrID],
		Source:          vals[attrSource],
		Type:            vals[attrType],
		Subject:         vals[attrSubject],
		DataContentType: vals[attrDataContentType],
		DataSchema:      vals[attrDataSchema],
	}
	if ts := vals[attrTime]; ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts) // as the SDK's types.ParseTime
		if err != nil {
			return Decoded{}, false
		}
		ev.Time = t
	}
	if a.has[attrData] {
		ev.Data = a.raw[attrData]
	}
	return Decoded{Event: ev}, true
}

// plainJSONString returns the value of a JSON string token without escapes, in valid UTF-8.
func plainJSONString(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	v := raw[1 : len(raw)-1]
	for i := 0; i < len(v); i++ {
		if strSpecial[v[i]] {
			return "", false
		}
	}
	if !utf8.ValidString(v) {
		return "", false
	}
	return v, true
}

// plainPath reports whether a source is an absolute path of unreserved characters, which the
// SDK's URI-reference parsing keeps as it is.
func plainPath(s string) bool {
	if len(s) == 0 || s[0] != '/' || strings.HasPrefix(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// sdkJSONMediaType reports whether the SDK treats data of this datacontenttype as JSON (and so
// keeps it as written).
func sdkJSONMediaType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	switch ct {
	case "", "application/json", "text/json", MediaTypeStructured, MediaTypeBatch:
		return true
	}
	return false
}
