package events

import (
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with an event. Validate and DecodeHTTP report every problem of an
// event at once, in a deterministic order, so the gateway can name each bad field in its RFC 9457
// answer.
type Problem struct {
	// Field locates the problem, JSON-pointer-ish without the leading slash: an envelope
	// attribute ("id", "source", "subject", "time"), "data", or a path inside data
	// ("data/channel", "data/consumer/phone", "data/responsible_bureaus/0"). "" means the event
	// as a whole.
	Field string `json:"field"`
	// Rule is a stable machine word; see the Rule* constants.
	Rule string `json:"rule"`
	// Detail is plain Chinese for the official who reads it; DetailEN says the same in English.
	Detail   string `json:"detail"`
	DetailEN string `json:"detail_en"`
}

func (p Problem) String() string { return p.Field + ": " + p.Rule + ": " + p.DetailEN }

// Rules of Problem. They are part of the v1 contract: clients may switch on them.
const (
	RuleRequired      = "required"       // a required attribute or field is missing or empty
	RuleEnum          = "enum"           // not one of the allowed values
	RuleFormat        = "format"         // date-time, duration or source not in the required form
	RuleType          = "type"           // wrong JSON type (string, integer, object…)
	RuleMinimum       = "minimum"        // number too small
	RuleMaximum       = "maximum"        // number too large
	RuleMinLength     = "min-length"     // string too short (only empty strings, in v1)
	RuleMaxLength     = "max-length"     // string too long
	RulePattern       = "pattern"        // string does not match the field's pattern
	RuleMinItems      = "min-items"      // array too short
	RuleUniqueItems   = "unique-items"   // array has duplicates
	RuleUnknownField  = "unknown-field"  // a data field the type's schema does not define
	RuleJSON          = "json"           // not parsable JSON
	RuleUSCC          = "uscc"           // subject is not a valid unified social credit code
	RuleUnknownBureau = "unknown-bureau" // a bureau code not in the registry
	RuleSourceBureau  = "source-bureau"  // source is another bureau than the caller
	RuleUnknownType   = "unknown-type"   // type outside the catalogue
	RuleReservedType  = "reserved-type"  // a type only the hub emits (incident.detected)
	RuleTownship      = "township"       // not a Lizhou township or street
	RuleIndustry      = "industry"       // not a GB/T 4754-2017 class (小类) code
	RuleBureau        = "bureau"         // a data field naming a bureau that is not registered
	RuleDataSchema    = "dataschema"     // dataschema names another schema than the type's v1
	RuleDataBase64    = "data-base64"    // binary data (data_base64) instead of JSON data
	RuleCloudEvents   = "cloudevents"    // the CloudEvents SDK rejected the event for another reason
	RuleSchema        = "schema"         // any other JSON Schema failure
)

func problem(field, rule, detail, detailEN string) Problem {
	return Problem{Field: field, Rule: rule, Detail: detail, DetailEN: detailEN}
}

// sortProblems orders problems by field, then rule, then detail: a total order, so the same
// event always gets the same list.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return strings.Compare(a.Detail, b.Detail)
	})
}

// quote shows a client's value in a message, cut to a readable length.
func quote(s string) string {
	const max = 64
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// quoteZH shows a client's value in a Chinese message.
func quoteZH(s string) string {
	q := quote(s)
	return "「" + q[1:len(q)-1] + "」"
}
