// Package push is the push source: a bureau system that can call a URL POSTs its own JSON to the
// hub at POST /v1/connectors/{name}/push with its bureau key, and the connector's mapping turns
// each record into an event. The hub serves every connector file with `source: {kind: push}` in
// its connectors folder (--connectors-dir); the gateway answers per record, naming the field and
// the rule of every problem.
//
// A push body is a JSON array of records, a single JSON object (one record), or an object whose
// field Config.Records holds the array. Nested objects are flattened with dots ({"shop":
// {"name": …}} is the column shop.name); arrays are kept as their JSON text. Numbers keep their
// JSON spelling, so 1200.50 maps as it was sent.
package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lizhou/fangxin/connectors"
)

// Kind registers the push source.
var Kind = connectors.SourceKind{
	Name:    "push",
	Summary: "Records a bureau system POSTs as JSON to the hub (POST /v1/connectors/{name}/push); served by the hub, not by connect run.",
	Config:  func() connectors.SourceConfig { return &Config{} },
}

// Config configures a push connector.
type Config struct {
	Records    string `yaml:"records" desc:"Field of the pushed object that holds the array of records (e.g. items). Empty: the body is an array of records or one record."`
	MaxRecords int    `yaml:"max_records" default:"1000" desc:"Records per request at most; more are refused with 413."`
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxRecords < 1 || c.MaxRecords > 10000 {
		errs = append(errs, fmt.Errorf("max_records: 应在 1 到 10000 之间 (must be 1..10000), got %d", c.MaxRecords))
	}
	if strings.ContainsAny(c.Records, ". ") {
		errs = append(errs, fmt.Errorf("records: %q 应为顶层字段名 (must be a top-level field name)", c.Records))
	}
	return errors.Join(errs...)
}

// ErrServedByHub is what Open returns: push records arrive at the hub, there is nothing to run.
var ErrServedByHub = errors.New("push: 推送型连接器由平台在 POST /v1/connectors/{name}/push 接收，无需 connect run (push connectors are served by the hub)")

// Open refuses: see ErrServedByHub.
func (c *Config) Open(context.Context, connectors.Env, string) (connectors.Source, error) {
	return nil, ErrServedByHub
}

// ErrTooMany is returned by Decode when the body holds more than MaxRecords records.
var ErrTooMany = errors.New("push: too many records")

// Decode turns a pushed body into records, positioned #0, #1, … in the order sent.
func (c *Config) Decode(body []byte) ([]connectors.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("请求体不是有效的 JSON (not valid JSON): %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("请求体在 JSON 之后还有内容 (trailing data after the JSON value)")
	}
	if c.Records != "" {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("请求体应为对象，记录在字段 %q 中 (the body must be an object with the records in %q)", c.Records, c.Records)
		}
		if v, ok = obj[c.Records]; !ok {
			return nil, fmt.Errorf("请求体缺少字段 %q (the body has no field %q)", c.Records, c.Records)
		}
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case map[string]any:
		if c.Records != "" {
			return nil, fmt.Errorf("字段 %q 应为数组 (field %q must be an array)", c.Records, c.Records)
		}
		items = []any{x}
	default:
		return nil, errors.New("请求体应为记录数组或一条记录（JSON 对象） (the body must be an array of records or one record)")
	}
	if len(items) > c.MaxRecords {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooMany, len(items), c.MaxRecords)
	}
	recs := make([]connectors.Record, len(items))
	for i, it := range items {
		pos := connectors.Position{Key: fmt.Sprintf("#%d", i)}
		obj, ok := it.(map[string]any)
		if !ok {
			recs[i] = connectors.Record{Position: pos, Values: nil}
			continue
		}
		values := map[string]any{}
		flatten(values, "", obj)
		recs[i] = connectors.Record{Position: pos, Values: values}
	}
	return recs, nil
}

func flatten(out map[string]any, prefix string, obj map[string]any) {
	for k, v := range obj {
		switch x := v.(type) {
		case map[string]any:
			flatten(out, prefix+k+".", x)
		case []any:
			b, _ := json.Marshal(x)
			out[prefix+k] = string(b)
		case json.Number:
			out[prefix+k] = x.String()
		case bool:
			if x {
				out[prefix+k] = "true"
			} else {
				out[prefix+k] = "false"
			}
		default:
			out[prefix+k] = v // string or nil
		}
	}
}

// FillAbsent sets every column the mappings read and rec lacks to null: JSON systems leave out
// empty fields, which an optional field of the mapping then skips and a required one reports as
// empty (naming the column), as for a blank spreadsheet cell.
func FillAbsent(ms []*connectors.Mapping, rec connectors.Record) {
	cols := func(v connectors.Value) {
		if v.Column != "" {
			if _, ok := rec.Values[v.Column]; !ok {
				rec.Values[v.Column] = nil
			}
		}
	}
	for _, m := range ms {
		cols(m.Type)
		cols(m.Time)
		if m.Subject != nil {
			cols(*m.Subject)
		}
		for _, v := range m.Data {
			cols(v)
		}
	}
}

// Registry is reg with the kinds added that it does not list yet: connectors/kinds.All may or
// may not list push and postgres, and registering a kind twice panics.
func Registry(reg *connectors.Registry, ks ...connectors.SourceKind) *connectors.Registry {
	for _, k := range ks {
		if _, ok := reg.Source(k.Name); !ok {
			reg.AddSource(k)
		}
	}
	return reg
}
