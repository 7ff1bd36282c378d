package events

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// catalogueTable is DESIGN.md's "Event catalogue, v1": required fields, optional fields (plus
// complaint.received's merchant_name, address and consumer from catalogue.go) and enums.
var catalogueTable = map[string]struct {
	required, optional []string
	enums              map[string][]string
}{
	TypeMerchantRegistered: {required: []string{"name", "township", "industry", "address", "registered_at"}},
	TypeComplaintReceived: {
		required: []string{"complaint_id", "channel", "category", "summary", "received_at"},
		optional: []string{"amount_cny", "consumers", "township", "industry", "merchant_name", "address", "consumer"},
		enums:    map[string][]string{"channel": {"12315", "12345", "12331", "visit", "online", "letter"}},
	},
	TypeComplaintAssigned: {required: []string{"complaint_id", "to_bureau", "deadline"}},
	TypeComplaintClosed: {
		required: []string{"complaint_id", "outcome", "closed_at"},
		optional: []string{"compensation_cny", "satisfaction"},
		enums:    map[string][]string{"outcome": {"mediated", "refunded", "rejected", "withdrawn", "referred_to_case"}},
	},
	TypeInspectionCompleted: {
		required: []string{"inspection_id", "kind", "result", "inspected_at"},
		optional: []string{"findings"},
		enums:    map[string][]string{"kind": {"random", "special", "routine"}, "result": {"pass", "rectify", "fail"}},
	},
	TypeSamplingCompleted: {
		required: []string{"sample_id", "product", "result", "sampled_at"},
		enums:    map[string][]string{"result": {"pass", "fail"}},
	},
	TypePenaltyImposed: {
		required: []string{"decision_no", "kind", "legal_basis", "decided_at"},
		optional: []string{"fine_cny"},
		enums:    map[string][]string{"kind": {"warning", "fine", "confiscation", "suspension", "revocation"}},
	},
	TypeCertificationGranted: {required: []string{"cert_id", "scheme", "granted_at"}, optional: []string{"level", "valid_until"}},
	TypeCertificationRevoked: {required: []string{"cert_id", "scheme", "revoked_at"}, optional: []string{"reason"}},
	TypeCreditListed: {
		required: []string{"list", "reason", "listed_at"},
		enums:    map[string][]string{"list": {"abnormal_operation", "serious_violation"}},
	},
	TypeCreditDelisted: {
		required: []string{"list", "reason", "delisted_at"},
		enums:    map[string][]string{"list": {"abnormal_operation", "serious_violation"}},
	},
	TypeWarningIssued:    {required: []string{"title", "body", "issued_at"}, optional: []string{"industry", "township"}},
	TypeIncidentDetected: incidentTable,
	TypeIncidentUpdated:  incidentTable,
	TypeIncidentResolved: {
		required: []string{"incident_id", "rule", "fingerprint", "resolved_at", "reason"},
		optional: []string{"sequence"},
		enums:    map[string][]string{"reason": {"quiet_period", "condition_cleared", "complaint_closed"}},
	},
	TypeSilenceCreated: {required: []string{"silence_id", "matchers", "reason", "starts_at", "ends_at", "created_by"}},
	TypeSilenceDeleted: {required: []string{"silence_id", "deleted_at", "deleted_by"}},
	TypeMerchantLinked: {
		required: []string{"event_source", "event_id", "uscc", "method", "score"},
		optional: []string{"note"},
		enums:    map[string][]string{"method": {"auto", "manual"}},
	},
}

var incidentTable = struct {
	required, optional []string
	enums              map[string][]string
}{
	required: []string{"incident_id", "rule", "scope", "count", "window", "first_at", "last_at", "responsible_bureaus"},
	optional: []string{"level", "title", "fingerprint", "merchant", "industry", "township", "category",
		"inhibited_by", "silenced_by", "group", "complaint_id", "deadline", "cert_id", "scheme", "sequence"},
	enums: map[string][]string{"level": {"I", "II", "III", "IV"}},
}

type schemaDoc struct {
	Schema               string                    `json:"$schema"`
	ID                   string                    `json:"$id"`
	Title                string                    `json:"title"`
	Type                 string                    `json:"type"`
	Required             []string                  `json:"required"`
	Properties           map[string]map[string]any `json:"properties"`
	AdditionalProperties *bool                     `json:"additionalProperties"`
}

func TestSchemasMatchCatalogue(t *testing.T) {
	if len(catalogueTable) != len(Types) {
		t.Fatalf("test table has %d types, catalogue %d", len(catalogueTable), len(Types))
	}
	for _, typ := range Types {
		b, ok := Schema(typ)
		if !ok {
			t.Errorf("%s: no schema", typ)
			continue
		}
		var doc schemaDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		want := catalogueTable[typ]
		if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema %q", typ, doc.Schema)
		}
		if doc.ID != SchemaURI(typ) || doc.ID != "https://fangxin.lizhou.gov.cn/schemas/"+typ+".v1.json" {
			t.Errorf("%s: $id %q, SchemaURI %q", typ, doc.ID, SchemaURI(typ))
		}
		if !strings.HasPrefix(doc.Title, typ+" v1") || !titleZH.MatchString(doc.Title) {
			t.Errorf("%s: title %q lacks type or Chinese term", typ, doc.Title)
		}
		if doc.Type != "object" || doc.AdditionalProperties == nil || *doc.AdditionalProperties {
			t.Errorf("%s: must be a closed object schema", typ)
		}
		if !sameSet(doc.Required, want.required) {
			t.Errorf("%s: required %v, want %v", typ, doc.Required, want.required)
		}
		var props []string
		for p := range doc.Properties {
			props = append(props, p)
		}
		if !sameSet(props, append(slices.Clone(want.required), want.optional...)) {
			t.Errorf("%s: properties %v, want %v + %v", typ, props, want.required, want.optional)
		}
		for name, p := range doc.Properties {
			title, _ := p["title"].(string)
			if !titleZH.MatchString(title) {
				t.Errorf("%s.%s: title %q is not \"English (中文)\"", typ, name, title)
			}
			var enum []string
			if e, ok := p["enum"].([]any); ok {
				for _, v := range e {
					enum = append(enum, v.(string))
				}
			}
			if !slices.Equal(enum, want.enums[name]) {
				t.Errorf("%s.%s: enum %v, want %v", typ, name, enum, want.enums[name])
			}
			switch {
			case strings.HasSuffix(name, "_at") || name == "deadline" || name == "valid_until":
				if p["type"] != "string" || p["format"] != "date-time" {
					t.Errorf("%s.%s: want a date-time string", typ, name)
				}
			case strings.HasSuffix(name, "_cny"):
				if p["type"] != "number" || p["minimum"] != 0.0 {
					t.Errorf("%s.%s: want a number >= 0", typ, name)
				}
			}
		}
		// The payload struct of catalogue.go carries exactly the schema's fields.
		v, _ := DecodeData(Event{Type: typ, Data: []byte("{}")})
		var tags []string
		st := reflect.TypeOf(v).Elem()
		for i := 0; i < st.NumField(); i++ {
			tags = append(tags, strings.Split(st.Field(i).Tag.Get("json"), ",")[0])
		}
		if !sameSet(tags, props) {
			t.Errorf("%s: struct %s fields %v, schema %v", typ, st.Name(), tags, props)
		}
	}
	b, _ := Schema(TypeComplaintReceived)
	var doc schemaDoc
	_ = json.Unmarshal(b, &doc)
	if c := doc.Properties["consumers"]; c["type"] != "integer" || c["minimum"] != 1.0 || c["default"] != 1.0 {
		t.Errorf("consumers: %v", c)
	}
	b, _ = Schema(TypeComplaintClosed)
	_ = json.Unmarshal(b, &doc)
	if s := doc.Properties["satisfaction"]; s["type"] != "integer" || s["minimum"] != 1.0 || s["maximum"] != 5.0 {
		t.Errorf("satisfaction: %v", s)
	}

	if _, ok := Schema("complaint.unknown"); ok {
		t.Errorf("Schema of an unknown type")
	}
	if SchemaURI("complaint.unknown") != "" {
		t.Errorf("SchemaURI of an unknown type")
	}
	if got := len(compiledSchemas()); got != len(Types) {
		t.Errorf("%d compiled schemas", got)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
