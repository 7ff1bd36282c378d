package events

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON Schemas of the v1 catalogue, one per type: schemas/{type}.json. Each describes the
// CloudEvents data member of its type and is the published contract for it.
//
//go:embed schemas/*.json
var schemaFS embed.FS

// SchemaBaseURI prefixes every schema's $id: SchemaBaseURI + type + ".v1.json".
const SchemaBaseURI = "https://fangxin.lizhou.gov.cn/schemas/"

// SchemaVersion is the catalogue version these schemas describe.
const SchemaVersion = "v1"

// SchemaURI returns the $id of the v1 schema of a catalogue type, which is also the value of an
// event's dataschema attribute when set, e.g.
// https://fangxin.lizhou.gov.cn/schemas/complaint.received.v1.json. It returns "" for a type
// outside the catalogue.
func SchemaURI(typ string) string {
	if !slices.Contains(Types, typ) {
		return ""
	}
	return SchemaBaseURI + typ + "." + SchemaVersion + ".json"
}

// Schema returns the JSON Schema (2020-12) document of a catalogue type's data. The bytes are
// the caller's.
func Schema(typ string) ([]byte, bool) {
	if !slices.Contains(Types, typ) {
		return nil, false
	}
	b, err := schemaFS.ReadFile("schemas/" + typ + ".json")
	if err != nil {
		return nil, false
	}
	return b, true
}

// compiledSchemas compiles every embedded schema once, with format assertions on. The schemas
// are part of the binary and pinned by tests; a compile failure is a build defect, reported by
// panic on first use.
var compiledSchemas = sync.OnceValue(func() map[string]*jsonschema.Schema {
	m, err := compileSchemas()
	if err != nil {
		panic("events: embedded schemas: " + err.Error())
	}
	return m
})

func compileSchemas() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	// The library's date-time follows RFC 3339 to the letter (leap seconds, lower-case t);
	// ours also demands what Go's time.Time decodes, so a valid event always decodes.
	c.RegisterFormat(&jsonschema.Format{Name: "date-time", Validate: validateDateTime})
	for _, t := range Types {
		b, ok := Schema(t)
		if !ok {
			return nil, fmt.Errorf("no schema for %s", t)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		if id, _ := doc.(map[string]any)["$id"].(string); id != SchemaURI(t) {
			return nil, fmt.Errorf("%s: $id is %q, want %q", t, id, SchemaURI(t))
		}
		if err := c.AddResource(SchemaURI(t), doc); err != nil {
			return nil, err
		}
	}
	m := make(map[string]*jsonschema.Schema, len(Types))
	for _, t := range Types {
		s, err := c.Compile(SchemaURI(t))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		m[t] = s
	}
	return m, nil
}

func validateDateTime(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return fmt.Errorf("not an RFC 3339 date-time")
	}
	return nil
}

// titleZH matches the Chinese term at the end of a schema title: "Channel (受理渠道)".
var titleZH = regexp.MustCompile(`\(([^()]+)\)\s*$`)

// fieldLabel names a data field for an official: its Chinese term from the schema title and its
// path inside data, e.g. 受理渠道（channel）, 消费者电话（consumer/phone）.
func fieldLabel(typ string, path []string) string {
	if len(path) == 0 {
		return "事件数据（data）"
	}
	en := strings.Join(path, "/")
	s := compiledSchemas()[typ]
	for _, tok := range path {
		if s == nil {
			break
		}
		if next, ok := s.Properties[tok]; ok {
			s = next
		} else {
			s = s.Items2020 // array element; nil when the path leaves the schema
		}
	}
	if s != nil {
		if m := titleZH.FindStringSubmatch(s.Title); m != nil {
			return m[1] + "（" + en + "）"
		}
	}
	return en
}
