package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	ce "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Media types of the CloudEvents HTTP binding the hub accepts.
const (
	MediaTypeStructured = "application/cloudevents+json"       // one event, envelope and data in the body
	MediaTypeBatch      = "application/cloudevents-batch+json" // a JSON array of structured events
	MediaTypeJSON       = "application/json"                   // binary mode: ce-* headers, body = data
)

// DefaultMaxBody is the body limit DecodeHTTP applies when given maxBody <= 0.
const DefaultMaxBody = 1 << 20

var (
	// ErrTooLarge: the body is over the limit (the gateway answers 413).
	ErrTooLarge = errors.New("events: request body too large")
	// ErrUnsupportedMediaType: the Content-Type is none of the binding's (the gateway answers
	// 415).
	ErrUnsupportedMediaType = errors.New("events: unsupported media type")
)

// DecodeError reports a body, or an element of a batch, that is not parsable JSON of the shape
// the mode needs (an object, or an array of objects).
type DecodeError struct {
	Where  string // "body", or "body[3]" for the fourth element of a batch
	Offset int64  // byte offset in Where at which parsing failed; -1 when unknown
	Line   int    // 1-based line and column of Offset; 0 when unknown
	Column int
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("events: cannot parse %s at line %d, column %d: %v", e.Where, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("events: cannot parse %s: %v", e.Where, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Problem states the error for the problem+json answer (rule json, Field "": the event as a
// whole could not be read).
func (e *DecodeError) Problem() Problem {
	at, atEN := "", ""
	if e.Line > 0 {
		at = fmt.Sprintf("第 %d 行第 %d 列附近", e.Line, e.Column)
		atEN = fmt.Sprintf(" at line %d, column %d", e.Line, e.Column)
	}
	return problem("", RuleJSON, "请求内容"+e.Where+at+"不是有效的 JSON："+e.Err.Error(),
		e.Where+" is not valid JSON"+atEN+": "+e.Err.Error())
}

// decodeJSON parses body, a single JSON value, into v. On failure it returns a *DecodeError
// locating the offending byte: for a syntax error the byte that broke it, for a value of the wrong
// shape the start of that value, for truncated input the end.
func decodeJSON(where string, body []byte, v any, shape string) *DecodeError {
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	offset := int64(-1)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		end := dec.InputOffset()
		if _, terr := dec.Token(); terr != io.EOF {
			offset = end
			for offset < int64(len(body)) && isJSONSpace(body[offset]) {
				offset++
			}
			err = errors.New("unexpected data after the JSON value")
		}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		offset, err = int64(len(body)), errors.New("unexpected end of JSON input")
	case errors.As(err, &se):
		offset = se.Offset - 1
	case errors.As(err, &te):
		offset, err = te.Offset-1, fmt.Errorf("%s, got %s", shape, te.Value)
	}
	if err == nil {
		return nil
	}
	de := &DecodeError{Where: where, Offset: offset, Err: err}
	if offset >= 0 && offset <= int64(len(body)) {
		before := body[:offset]
		de.Line = bytes.Count(before, []byte("\n")) + 1
		de.Column = len(before) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	}
	return de
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Decoded is one event read from a request, with the problems found while reading it (an
// attribute of the wrong JSON type, an unparsable time, data_base64…). Reading problems do not
// include validation: call Decoded.Validate for the full list.
type Decoded struct {
	Event    Event
	Problems []Problem
}

// Validate returns the reading problems and Validate's, without repeating a field the reading
// already reported (a time that could not be parsed is not reported missing as well), in the
// canonical order of Validate. An element that was not a JSON object at all gets only its
// reading problem.
func (d Decoded) Validate(callerBureau string) []Problem {
	out := slices.Clone(d.Problems)
	covered := map[string]bool{}
	for _, p := range d.Problems {
		if p.Rule == RuleJSON {
			return out
		}
		covered[p.Field] = true
	}
	for _, p := range Validate(d.Event, callerBureau) {
		if !covered[p.Field] {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int { return fieldRank(a.Field) - fieldRank(b.Field) })
	return out
}

// fieldRank orders problems as Validate does: the whole event, the envelope attributes, data.
func fieldRank(field string) int {
	if field == "" {
		return -1
	}
	if i := slices.Index(envelopeOrder, field); i >= 0 {
		return i
	}
	return len(envelopeOrder)
}

var envelopeOrder = []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"}

// DecodeHTTP reads the events of a request in the CloudEvents HTTP binding, through the
// CloudEvents Go SDK:
//
//   - structured mode, Content-Type application/cloudevents+json: one event;
//   - batch mode, application/cloudevents-batch+json: batch is true and items has one entry
//     per array element, in order; each element is read on its own, so a malformed one gets
//     its problems and does not fail the others;
//   - binary mode, application/json: the attributes in ce-* headers, the body is data.
//
// The body is read up to maxBody bytes (DefaultMaxBody when maxBody <= 0); a longer body
// returns an error satisfying errors.Is(err, ErrTooLarge). A Content-Type outside these three
// (or with a charset other than UTF-8) returns ErrUnsupportedMediaType. A body that is not
// parsable JSON of the mode's shape returns a *DecodeError. Events that can be read but carry
// bad attributes come back as items with Problems; the caller still has to Validate them
// (Decoded.Validate). DecodeHTTP does not close r.Body.
func DecodeHTTP(r *http.Request, maxBody int64) (batch bool, items []Decoded, err error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	ct := r.Header.Get("Content-Type")
	mt, params, perr := mime.ParseMediaType(ct)
	if perr != nil {
		return false, nil, fmt.Errorf("%w: Content-Type %q; use %s, %s or %s (binary mode)",
			ErrUnsupportedMediaType, ct, MediaTypeStructured, MediaTypeBatch, MediaTypeJSON)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false, nil, fmt.Errorf("%w: charset %q; only utf-8", ErrUnsupportedMediaType, cs)
	}
	switch mt {
	case MediaTypeStructured, MediaTypeBatch, MediaTypeJSON:
	default:
		return false, nil, fmt.Errorf("%w: %q; use %s, %s or %s (binary mode)",
			ErrUnsupportedMediaType, mt, MediaTypeStructured, MediaTypeBatch, MediaTypeJSON)
	}
	body, err := readBody(r, maxBody)
	if err != nil {
		return false, nil, err
	}

	switch mt {
	case MediaTypeStructured:
		if d, ok := decodeStructuredFast(body); ok {
			return false, []Decoded{d}, nil
		}
		d, derr := decodeStructured(body, "body")
		if derr != nil {
			return false, nil, derr
		}
		return false, []Decoded{d}, nil
	case MediaTypeBatch:
		if items, ok := decodeBatchFast(body); ok {
			return true, items, nil
		}
		items, derr := decodeBatch(body)
		if derr != nil {
			return true, nil, derr
		}
		return true, items, nil
	default:
		d, derr := decodeBinary(r.Context(), r.Header, body)
		if derr != nil {
			return false, nil, derr
		}
		return false, []Decoded{d}, nil
	}
}

// decodeBatch reads a batch body through encoding/json: the reference of decodeBatchFast, and
// the reader of bodies it does not take (it locates syntax errors).
func decodeBatch(body []byte) ([]Decoded, *DecodeError) {
	var elems []json.RawMessage
	if derr := decodeJSON("body", body, &elems, "a batch must be a JSON array of events"); derr != nil {
		return nil, derr
	}
	if elems == nil {
		return nil, &DecodeError{Where: "body", Offset: -1, Err: errors.New("a batch must be a JSON array of events, got null")}
	}
	items := make([]Decoded, len(elems))
	for i, raw := range elems {
		d, derr := decodeStructured(raw, fmt.Sprintf("body[%d]", i))
		if derr != nil {
			d = Decoded{Problems: []Problem{derr.Problem()}}
		}
		items[i] = d
	}
	return items, nil
}

func readBody(r *http.Request, maxBody int64) ([]byte, error) {
	tooLarge := func() error { return fmt.Errorf("%w: limit is %d bytes", ErrTooLarge, maxBody) }
	if r.ContentLength > maxBody {
		return nil, tooLarge()
	}
	if r.Body == nil {
		return nil, nil
	}
	var b []byte
	if n := r.ContentLength; n > 0 {
		b = make([]byte, 0, n+1) // the announced length, and a byte to meet EOF without growing
	}
	b, err := readAll(b, io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, fmt.Errorf("events: reading request body: %w", err)
	}
	if int64(len(b)) > maxBody {
		return nil, tooLarge()
	}
	return b, nil
}

// readAll is io.ReadAll appending to b.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	if cap(b) == 0 {
		b = make([]byte, 0, 512)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// decodeStructured reads one structured-mode event. It returns a *DecodeError only when raw is
// not a JSON object.
func decodeStructured(raw []byte, where string) (Decoded, *DecodeError) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return Decoded{}, &DecodeError{Where: where, Offset: -1, Err: errors.New("empty body; expected a CloudEvents JSON object")}
	}
	var members map[string]json.RawMessage
	if derr := decodeJSON(where, raw, &members, "an event must be a JSON object"); derr != nil {
		return Decoded{}, derr
	}
	if members == nil {
		return Decoded{}, &DecodeError{Where: where, Offset: -1, Err: errors.New("an event must be a JSON object, got null")}
	}
	var attrs ceAttrs
	for k, v := range members {
		attrs.set(k, v)
	}
	// The map hides duplicate members, which the SDK refuses: no bypass here.
	return structuredEventSDK(raw, &attrs), nil
}

// structuredEvent reads a structured-mode event whose members the hub reads are in attrs.
func structuredEvent(raw []byte, attrs *ceAttrs) Decoded {
	if d, ok := structuredEventFast(attrs); ok {
		return d
	}
	return structuredEventSDK(raw, attrs)
}

// structuredEventSDK reads a structured-mode event through the CloudEvents SDK.
func structuredEventSDK(raw []byte, attrs *ceAttrs) Decoded {
	var d Decoded
	var sdkEv ce.Event
	if err := safely(func() error { return sdkEv.UnmarshalJSON(raw) }); err != nil {
		d.Event, d.Problems = lenientEvent(attrs)
		if len(d.Problems) == 0 && d.Event.SpecVersion == SpecVersion {
			d.Problems = append(d.Problems, sdkProblem(err))
		}
	} else {
		d.Event = fromSDK(&sdkEv)
		// The SDK drops a dataschema that is not a URI; keep it so Validate names it.
		var ds string
		if raw, ok := attrs.get(attrDataSchema); ok && json.Unmarshal(raw, &ds) == nil {
			d.Event.DataSchema = ds
		}
	}
	// Data as the client wrote it, whatever the SDK made of it.
	if data, ok := attrs.get(attrData); ok {
		d.Event.Data = data
	}
	if _, ok := attrs.get(attrDataBase64); ok {
		d.Problems = append(d.Problems, problem("data", RuleDataBase64,
			"本平台只接受 JSON 格式的事件数据 data，不接受 data_base64",
			"data_base64 is not accepted; send the payload as JSON in data"))
	}
	return d
}

// decodeBinary reads a binary-mode event: ce-* headers and a JSON body.
func decodeBinary(ctx context.Context, h http.Header, body []byte) (Decoded, *DecodeError) {
	if len(bytes.TrimSpace(body)) > 0 {
		var v json.RawMessage
		if derr := decodeJSON("body", body, &v, "data must be JSON"); derr != nil {
			return Decoded{}, derr
		}
	}
	var d Decoded
	msg := cehttp.NewMessage(h.Clone(), io.NopCloser(bytes.NewReader(body)))
	var sdkEv *ce.Event
	err := safely(func() (err error) {
		sdkEv, err = binding.ToEvent(ctx, msg)
		return err
	})
	if err != nil || sdkEv == nil {
		if err == nil {
			err = errors.New("no event")
		}
		var attrs ceAttrs
		for _, name := range envelopeOrder {
			key := "Ce-" + name
			if name == "datacontenttype" {
				key = "Content-Type"
			}
			if vs, ok := h[http.CanonicalHeaderKey(key)]; ok && len(vs) > 0 {
				raw, _ := json.Marshal(vs[0])
				attrs.set(name, raw)
			}
		}
		d.Event, d.Problems = lenientEvent(&attrs)
		if len(d.Problems) == 0 && d.Event.SpecVersion == SpecVersion {
			d.Problems = append(d.Problems, sdkProblem(err))
		}
	} else {
		d.Event = fromSDK(sdkEv)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		d.Event.Data = json.RawMessage(body)
	}
	return d, nil
}

// safely runs an SDK decoder, turning a panic on hostile input into an error.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("CloudEvents SDK failed on this input: %v", r)
		}
	}()
	return f()
}

func sdkProblem(err error) Problem {
	msg := strings.TrimSpace(err.Error())
	return problem("", RuleCloudEvents, "事件不符合 CloudEvents 1.0 规范："+msg, "not a valid CloudEvents 1.0 event: "+msg)
}

func fromSDK(e *ce.Event) Event {
	return Event{
		SpecVersion:     e.SpecVersion(),
		ID:              e.ID(),
		Source:          e.Source(),
		Type:            e.Type(),
		Subject:         e.Subject(),
		Time:            e.Time(),
		DataContentType: e.DataContentType(),
		DataSchema:      e.DataSchema(),
	}
}

// lenientEvent reads the envelope attributes the SDK refused, so that every problem can be
// named: each attribute must be a JSON string and time an RFC 3339 date-time.
func lenientEvent(attrs *ceAttrs) (Event, []Problem) {
	var ps []Problem
	str := func(name string) string {
		raw, ok := attrs.get(attrIndex(name))
		if !ok || string(bytes.TrimSpace(raw)) == "null" {
			return ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			ps = append(ps, problem(name, RuleType, name+" 应为字符串", name+" must be a string"))
			return ""
		}
		return s
	}
	ev := Event{
		SpecVersion: str("specversion"),
		ID:          str("id"),
		Source:      str("source"),
		Type:        str("type"),
		Subject:     str("subject"),
	}
	if ts := str("time"); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			ps = append(ps, problem("time", RuleFormat,
				"事件时间 time"+quoteZH(ts)+"不是有效的 RFC 3339 时间（须带时区），如 2018-12-24T09:30:00+08:00",
				"time "+quote(ts)+" is not an RFC 3339 date-time with offset, e.g. 2018-12-24T09:30:00+08:00"))
		} else {
			ev.Time = t
		}
	}
	ev.DataContentType = str("datacontenttype")
	ev.DataSchema = str("dataschema")
	slices.SortStableFunc(ps, func(a, b Problem) int { return fieldRank(a.Field) - fieldRank(b.Field) })
	return ev, ps
}

// EncodeStructured writes an event in the structured mode of the CloudEvents JSON format
// (Content-Type application/cloudevents+json), through the CloudEvents Go SDK, which writes time
// in UTC (the same instant; the offset is not kept) and data verbatim. It does not
// validate the event; it fails only on what the format cannot carry: a spec version other than
// 1.0, a non-JSON datacontenttype, or Data that is not JSON.
func EncodeStructured(ev Event) ([]byte, error) {
	if ev.SpecVersion != "" && ev.SpecVersion != SpecVersion {
		return nil, fmt.Errorf("events: cannot encode specversion %q, only %s", ev.SpecVersion, SpecVersion)
	}
	e := ce.New(ce.CloudEventsVersionV1)
	e.SetID(ev.ID)
	e.SetSource(ev.Source)
	e.SetType(ev.Type)
	e.SetSubject(ev.Subject)
	e.SetTime(ev.Time)
	if ev.DataSchema != "" {
		e.SetDataSchema(ev.DataSchema)
	}
	ct := ev.DataContentType
	if ct == "" {
		ct = MediaTypeJSON
	}
	if !isJSONContentType(ct) {
		return nil, fmt.Errorf("events: cannot encode datacontenttype %q, only %s", ct, MediaTypeJSON)
	}
	e.SetDataContentType(ct)
	if len(ev.Data) > 0 {
		if !json.Valid(ev.Data) {
			return nil, errors.New("events: cannot encode: data is not valid JSON")
		}
		e.DataEncoded = slices.Clone([]byte(ev.Data))
	}
	if len(e.FieldErrors) > 0 {
		return nil, fmt.Errorf("events: cannot encode: %v", ce.ValidationError(e.FieldErrors))
	}
	return json.Marshal(e)
}

// EncodeBatch writes events in the batch mode (Content-Type application/cloudevents-batch+json).
func EncodeBatch(evs []Event) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, ev := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		one, err := EncodeStructured(ev)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		b.Write(one)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}
