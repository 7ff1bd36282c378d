package events

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path of ValidateData.
//
// The JSON Schemas stay the contract and the reference: ValidateData first runs a plan compiled
// from the same compiled schemas (the same properties, required lists, lengths, enums, bounds,
// regular expressions and format functions) in one pass over the payload's bytes, without
// building a value tree. The plan only ever answers "certainly valid": anything it does not
// handle or finds wrong (a missing field, a bad value, an escaped string it cannot check
// cheaply, a number it cannot compare exactly, a duplicate key…) sends the payload to the
// jsonschema validator, which names every problem. Valid payloads, the common case, are
// therefore checked once and fast; invalid ones get the reference answer. fastvalidate_test.go
// checks both paths agree on every type's examples, on mutations of them and under fuzzing.
//
// Beyond the schema, a payload the plan accepts also passes what the reference path checks
// after the schema: the reference data (township, industry, bureau codes of the top-level
// fields) and decoding into the payload struct (integers without fraction or exponent and in
// range, numbers compared exactly, date-times Go's time.Time reads).

// fastTypeOf maps JSON Schema type names to fastTypes.
var fastTypeOf = map[string]fastTypes{
	"null": ftNull, "boolean": ftBoolean, "number": ftNumber, "integer": ftInteger,
	"string": ftString, "array": ftArray, "object": ftObject,
}

// fastTypes is a set of JSON types.
type fastTypes uint8

const (
	ftNull fastTypes = 1 << iota
	ftBoolean
	ftNumber
	ftInteger
	ftString
	ftArray
	ftObject
	ftAny = ftNull | ftBoolean | ftNumber | ftInteger | ftString | ftArray | ftObject
)

// refCheck names a reference-data check ValidateData runs on a top-level field.
type refCheck uint8

const (
	refNone refCheck = iota
	refTownship
	refIndustry
	refBureau
)

// fastNode is one compiled (sub)schema.
type fastNode struct {
	types fastTypes

	// string
	minLen, maxLen int // -1: no bound
	pattern        jsonschema.Regexp
	format         *jsonschema.Format
	dateTime       bool
	enum           []string
	ref            refCheck

	// number
	hasMin, hasMax bool
	min, max       float64

	// object
	propIndex          map[string]int
	props              []*fastNode
	required           uint64
	closed             bool // additionalProperties false
	minProps, maxProps int  // -1: no bound

	// array
	items              *fastNode
	minItems, maxItems int // -1: no bound
	unique             bool
}

// fastPlans compiles a plan for every catalogue type whose schema uses only the keywords the
// plan knows; a type without a plan always takes the reference path.
var fastPlans = sync.OnceValue(func() map[string]*fastNode {
	m := map[string]*fastNode{}
	for typ, s := range compiledSchemas() {
		if n, err := compileFast(s, 0); err == nil {
			markRefChecks(n)
			m[typ] = n
		}
	}
	return m
})

// markRefChecks sets the reference-data checks ValidateData runs on top-level fields.
func markRefChecks(root *fastNode) {
	for name, i := range root.propIndex {
		n := root.props[i]
		switch name {
		case "township":
			n.ref = refTownship
		case "industry":
			n.ref = refIndustry
		case "to_bureau", "created_by", "deleted_by":
			n.ref = refBureau
		case "responsible_bureaus":
			if n.items != nil {
				n.items.ref = refBureau
			}
		}
	}
}

func compileFast(s *jsonschema.Schema, depth int) (*fastNode, error) {
	if depth > 16 {
		return nil, fmt.Errorf("too deep")
	}
	switch {
	case s.Bool != nil, s.Ref != nil, s.RecursiveRef != nil, s.DynamicRef != nil, s.Const != nil,
		s.Not != nil, len(s.AllOf) > 0, len(s.AnyOf) > 0, len(s.OneOf) > 0, s.If != nil, s.Then != nil,
		s.Else != nil, s.PropertyNames != nil, len(s.PatternProperties) > 0, len(s.Dependencies) > 0,
		len(s.DependentRequired) > 0, len(s.DependentSchemas) > 0, s.UnevaluatedProperties != nil,
		s.Contains != nil, s.MinContains != nil, s.MaxContains != nil, s.Items != nil,
		s.AdditionalItems != nil, len(s.PrefixItems) > 0, s.UnevaluatedItems != nil,
		s.ContentEncoding != nil, s.ContentMediaType != nil, s.ContentSchema != nil,
		s.ExclusiveMaximum != nil, s.ExclusiveMinimum != nil, s.MultipleOf != nil, len(s.Extensions) > 0:
		return nil, fmt.Errorf("%s: keyword outside the fast plan", s.Location)
	}
	n := &fastNode{types: ftAny, minLen: -1, maxLen: -1, minProps: -1, maxProps: -1, minItems: -1, maxItems: -1}
	if s.Types != nil {
		n.types = 0
		for _, t := range s.Types.ToStrings() {
			n.types |= fastTypeOf[t]
		}
	}
	if s.Enum != nil {
		for _, v := range s.Enum.Values {
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: enum of non-strings", s.Location)
			}
			n.enum = append(n.enum, str)
		}
	}
	n.pattern = s.Pattern
	n.format = s.Format
	if s.Format != nil {
		n.dateTime = s.Format.Name == "date-time"
	}
	intPtr := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	n.minLen, n.maxLen = intPtr(s.MinLength), intPtr(s.MaxLength)
	n.minProps, n.maxProps = intPtr(s.MinProperties), intPtr(s.MaxProperties)
	n.minItems, n.maxItems = intPtr(s.MinItems), intPtr(s.MaxItems)
	var err error
	if n.hasMin, n.min, err = exactBound(s.Minimum); err != nil {
		return nil, fmt.Errorf("%s: minimum: %w", s.Location, err)
	}
	if n.hasMax, n.max, err = exactBound(s.Maximum); err != nil {
		return nil, fmt.Errorf("%s: maximum: %w", s.Location, err)
	}

	switch ap := s.AdditionalProperties.(type) {
	case nil:
	case bool:
		n.closed = !ap
	default:
		return nil, fmt.Errorf("%s: additionalProperties schema", s.Location)
	}
	if len(s.Properties) > 64 {
		return nil, fmt.Errorf("%s: more than 64 properties", s.Location)
	}
	n.propIndex = make(map[string]int, len(s.Properties))
	for name, ps := range s.Properties {
		c, err := compileFast(ps, depth+1)
		if err != nil {
			return nil, err
		}
		n.propIndex[name] = len(n.props)
		n.props = append(n.props, c)
	}
	for _, r := range s.Required {
		i, ok := n.propIndex[r]
		if !ok {
			return nil, fmt.Errorf("%s: required %q is not a property", s.Location, r)
		}
		n.required |= 1 << i
	}

	if s.Items2020 != nil {
		if n.items, err = compileFast(s.Items2020, depth+1); err != nil {
			return nil, err
		}
	}
	n.unique = s.UniqueItems
	if n.unique && (n.items == nil || n.items.types != ftString) {
		return nil, fmt.Errorf("%s: uniqueItems on items that are not strings", s.Location)
	}
	return n, nil
}

// exactBound converts a schema bound to a float64 when it is an integer float64 holds exactly,
// so that comparing it with a number of at most 15 digits is exact.
func exactBound(r *big.Rat) (bool, float64, error) {
	if r == nil {
		return false, 0, nil
	}
	if !r.IsInt() || r.Num().BitLen() > 53 {
		return false, 0, fmt.Errorf("%s is not a small integer", r.RatString())
	}
	f, _ := r.Float64()
	return true, f, nil
}

// fastValidData reports whether data is certainly a valid payload of typ: it passes the schema,
// the reference-data checks and decodes into the payload struct. false means "not known": the
// caller runs the reference validation.
func fastValidData(typ string, data []byte) bool {
	plan := fastPlans()[typ]
	if plan == nil || len(data) == 0 {
		return false
	}
	sc := fastScanner{s: string(data)}
	sc.skipSpace()
	if !sc.value(plan, 0) {
		return false
	}
	sc.skipSpace()
	return sc.i == len(sc.s)
}

// fastScanner walks one JSON text. Every method returns false on anything it does not accept,
// which includes every syntax error.
type fastScanner struct {
	s     string
	i     int
	ascii bool // the last string str returned is ASCII (its length is its rune count)
}

const fastMaxDepth = 32

func (sc *fastScanner) skipSpace() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// value checks the value at sc.i against n (nil: any valid JSON value).
func (sc *fastScanner) value(n *fastNode, depth int) bool {
	if sc.i >= len(sc.s) || depth > fastMaxDepth {
		return false
	}
	want := ftAny
	if n != nil {
		want = n.types
	}
	switch c := sc.s[sc.i]; {
	case c == '{':
		return want&ftObject != 0 && sc.object(n, depth)
	case c == '[':
		return want&ftArray != 0 && sc.array(n, depth)
	case c == '"':
		str, ok := sc.str(n != nil)
		return ok && want&ftString != 0 && (n == nil || n.checkString(str, sc.ascii))
	case c == '-' || (c >= '0' && c <= '9'):
		return sc.number(n, want)
	case c == 't':
		return want&ftBoolean != 0 && sc.literal("true") && (n == nil || n.enum == nil)
	case c == 'f':
		return want&ftBoolean != 0 && sc.literal("false") && (n == nil || n.enum == nil)
	case c == 'n':
		return want&ftNull != 0 && sc.literal("null") && (n == nil || n.enum == nil)
	}
	return false
}

func (sc *fastScanner) literal(lit string) bool {
	if len(sc.s)-sc.i < len(lit) || sc.s[sc.i:sc.i+len(lit)] != lit {
		return false
	}
	sc.i += len(lit)
	return true
}

// open steps over the opening byte of an object or array at sc.i and the space after it, and
// reports whether the container is empty (its closing byte close follows, and is stepped over).
func (sc *fastScanner) open(close byte) (empty bool) {
	sc.i++
	sc.skipSpace()
	if sc.i < len(sc.s) && sc.s[sc.i] == close {
		sc.i++
		return true
	}
	return false
}

// memberKey reads an object member's key and the colon after it, leaving sc.i at the value;
// sc.ascii then tells whether the key was plain. ok is false on anything else.
func (sc *fastScanner) memberKey() (key string, ok bool) {
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
		return "", false
	}
	if key, ok = sc.str(true); !ok {
		return "", false
	}
	plain := sc.ascii
	sc.skipSpace()
	if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
		return "", false
	}
	sc.i++
	sc.skipSpace()
	sc.ascii = plain
	return key, true
}

// next reads what follows a member or element: the container's closing byte close (done) or a
// comma and the space after it. ok is false on anything else.
func (sc *fastScanner) next(close byte) (done, ok bool) {
	sc.skipSpace()
	if sc.i >= len(sc.s) {
		return false, false
	}
	switch sc.s[sc.i] {
	case close:
		sc.i++
		return true, true
	case ',':
		sc.i++
		sc.skipSpace()
		return false, true
	}
	return false, false
}

func (sc *fastScanner) object(n *fastNode, depth int) bool {
	var seen uint64
	count := 0
	if !sc.open('}') {
		for {
			key, ok := sc.memberKey()
			if !ok {
				return false
			}
			var child *fastNode
			idx, known := -1, false
			if n != nil {
				idx, known = n.propIndex[key]
			}
			switch {
			case known:
				if seen&(1<<idx) != 0 {
					return false // duplicate key: let the reference path decide
				}
				seen |= 1 << idx
				child = n.props[idx]
			case n != nil && (n.closed || n.minProps >= 0 || n.maxProps >= 0):
				// Not allowed, or counted: a repeated key counts once on the reference path.
				return false
			}
			// Otherwise a key outside the properties may repeat: its value is unconstrained.
			if !sc.value(child, depth+1) {
				return false
			}
			count++
			if done, ok := sc.next('}'); !ok {
				return false
			} else if done {
				break
			}
		}
	}
	if n == nil {
		return true
	}
	return seen&n.required == n.required &&
		(n.minProps < 0 || count >= n.minProps) && (n.maxProps < 0 || count <= n.maxProps)
}

func (sc *fastScanner) array(n *fastNode, depth int) bool {
	var items *fastNode
	if n != nil {
		items = n.items
	}
	var uniq []string
	count := 0
	if !sc.open(']') {
		for {
			if n != nil && n.unique {
				// items is a string schema (compileFast): remember the values.
				if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
					return false
				}
				str, ok := sc.str(true)
				if !ok || !items.checkString(str, sc.ascii) {
					return false
				}
				for _, u := range uniq {
					if u == str {
						return false
					}
				}
				uniq = append(uniq, str)
			} else if !sc.value(items, depth+1) {
				return false
			}
			count++
			if done, ok := sc.next(']'); !ok {
				return false
			} else if done {
				break
			}
		}
	}
	return n == nil || ((n.minItems < 0 || count >= n.minItems) && (n.maxItems < 0 || count <= n.maxItems))
}

// str reads a string token and, when need is true, returns its value. Strings without escapes
// and in valid UTF-8 are substrings of the input; others are decoded by encoding/json, as the
// reference path does (which also turns invalid UTF-8 into U+FFFD).
func (sc *fastScanner) str(need bool) (string, bool) {
	s := sc.s
	start := sc.i
	i := start + 1 // after the quote
	simple := true
	var acc uint64 // every byte OR-ed: a high bit set when not ASCII
	for {
		// Eight bytes at a time while none ends the run of plain content.
		for i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if hasStrSpecial(w) {
				break
			}
			acc |= w
			i += 8
		}
		if i >= len(s) {
			sc.i = i
			return "", false
		}
		c := s[i]
		if !strSpecial[c] {
			acc |= uint64(c)
			i++
			continue
		}
		switch c {
		case '"':
			i++
			sc.i = i
			v := s[start+1 : i-1]
			ascii := acc&0x8080808080808080 == 0
			sc.ascii = simple && ascii
			if simple && (ascii || !need || utf8.ValidString(v)) {
				return v, true
			}
			sc.ascii = false
			if !need {
				return "", true
			}
			var d string
			if json.Unmarshal([]byte(s[start:i]), &d) != nil {
				return "", false
			}
			return d, true
		case '\\':
			simple = false
			if i+1 >= len(s) {
				sc.i = i
				return "", false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(s)-i < 6 || !isHex4(s[i+2:i+6]) {
					sc.i = i
					return "", false
				}
				i += 6
			default:
				sc.i = i
				return "", false
			}
		default: // a control character
			sc.i = i
			return "", false
		}
	}
}

// hasStrSpecial reports whether any byte of w is a control character, '"' or '\\' (the
// classic SWAR tests for a byte below n and for a zero byte: no false negatives).
func hasStrSpecial(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	below := (w - lo*0x20) & ^w & hi
	q := w ^ (lo * '"')
	quote := (q - lo) & ^q & hi
	b := w ^ (lo * '\\')
	backslash := (b - lo) & ^b & hi
	return below|quote|backslash != 0
}

// number checks a number token: JSON syntax, then what the schema and the payload struct
// accept. Integers must be plain digits that fit an int; other numbers at most 15 digits
// without exponent, so that float64 compares them with the bounds exactly.
func (sc *fastScanner) number(n *fastNode, want fastTypes) bool {
	start := sc.i
	if sc.s[sc.i] == '-' {
		sc.i++
	}
	digits := 0
	intStart := sc.i
	for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
		sc.i++
		digits++
	}
	if digits == 0 || (digits > 1 && sc.s[intStart] == '0') {
		return false
	}
	plain := true
	if sc.i < len(sc.s) && sc.s[sc.i] == '.' {
		plain = false
		sc.i++
		frac := 0
		for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
			sc.i++
			frac++
		}
		if frac == 0 {
			return false
		}
		digits += frac
	}
	if sc.i < len(sc.s) && (sc.s[sc.i] == 'e' || sc.s[sc.i] == 'E') {
		if n != nil {
			return false // exponent: leave it to the reference path
		}
		sc.i++
		if sc.i < len(sc.s) && (sc.s[sc.i] == '+' || sc.s[sc.i] == '-') {
			sc.i++
		}
		exp := 0
		for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
			sc.i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	lit := sc.s[start:sc.i]
	if n == nil {
		return true
	}
	if n.enum != nil || digits > 15 {
		return false
	}
	var f float64
	switch {
	case want&ftNumber != 0:
		v, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			return false
		}
		f = v
	case want&ftInteger != 0 && plain:
		v, err := strconv.ParseInt(lit, 10, strconv.IntSize) // the payload structs use int
		if err != nil {
			return false
		}
		f = float64(v)
	default:
		return false
	}
	return (!n.hasMin || f >= n.min) && (!n.hasMax || f <= n.max)
}

// checkString applies the string keywords of n, and the reference-data check of a top-level
// field, to a string value.
func (n *fastNode) checkString(s string, ascii bool) bool {
	if n.minLen >= 0 || n.maxLen >= 0 {
		l := len(s)
		if !ascii {
			l = utf8.RuneCountInString(s)
		}
		if (n.minLen >= 0 && l < n.minLen) || (n.maxLen >= 0 && l > n.maxLen) {
			return false
		}
	}
	if n.enum != nil {
		found := false
		for _, e := range n.enum {
			if e == s {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		return false
	}
	if n.dateTime {
		// The registered date-time format, and what time.Time's decoder demands on top of it.
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return false
		}
		var t time.Time
		if t.UnmarshalText([]byte(s)) != nil {
			return false
		}
	} else if n.format != nil && n.format.Validate(s) != nil {
		return false
	}
	switch n.ref {
	case refTownship:
		_, ok := LookupTownship(s)
		return ok
	case refIndustry:
		in, ok := LookupIndustry(s)
		return ok && in.Level == IndustryClass
	case refBureau:
		_, ok := bureaus().byCode[s]
		return ok
	}
	return true
}

// strSpecial marks the bytes that end a run of plain string content.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// unlinkedMerchantFast reads the top-level merchant_name and address strings of a complaint's
// data in one pass, as hasUnlinkedMerchantRef's encoding/json decoding would (a value that is
// not a string reads as ""; the last of repeated keys wins). ok is false for anything it leaves
// to encoding/json: not a well-formed object, or a key that only matches a field without
// regard to case (encoding/json's struct matching is case-insensitive, with Unicode folding).
func unlinkedMerchantFast(data []byte) (name, addr string, ok bool) {
	sc := fastScanner{s: string(data)}
	sc.skipSpace()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
		return "", "", false
	}
	sc.i++
	sc.skipSpace()
	if sc.i < len(sc.s) && sc.s[sc.i] == '}' {
		sc.i++
	} else {
		for {
			if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
				return "", "", false
			}
			key, kok := sc.str(true)
			if !kok {
				return "", "", false
			}
			var field *string
			switch {
			case key == "merchant_name":
				field = &name
			case key == "address":
				field = &addr
			case !sc.ascii || strings.EqualFold(key, "merchant_name") || strings.EqualFold(key, "address"):
				return "", "", false
			}
			sc.skipSpace()
			if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
				return "", "", false
			}
			sc.i++
			sc.skipSpace()
			if field != nil && sc.i < len(sc.s) && sc.s[sc.i] == '"' {
				v, vok := sc.str(true)
				if !vok {
					return "", "", false
				}
				*field = v
			} else {
				if !sc.value(nil, 1) {
					return "", "", false
				}
				if field != nil {
					*field = ""
				}
			}
			sc.skipSpace()
			if sc.i >= len(sc.s) {
				return "", "", false
			}
			if sc.s[sc.i] == '}' {
				sc.i++
				break
			}
			if sc.s[sc.i] != ',' {
				return "", "", false
			}
			sc.i++
			sc.skipSpace()
		}
	}
	sc.skipSpace()
	return name, addr, sc.i == len(sc.s)
}
