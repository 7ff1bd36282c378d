package events

import (
	"encoding/json"
	"time"
)

// Event types of the v1 catalogue (DESIGN.md). The JSON Schema of each is schemas/{type}.json.
const (
	TypeMerchantRegistered   = "merchant.registered"
	TypeComplaintReceived    = "complaint.received"
	TypeComplaintAssigned    = "complaint.assigned"
	TypeComplaintClosed      = "complaint.closed"
	TypeInspectionCompleted  = "inspection.completed"
	TypeSamplingCompleted    = "sampling.completed"
	TypePenaltyImposed       = "penalty.imposed"
	TypeCertificationGranted = "certification.granted"
	TypeCertificationRevoked = "certification.revoked"
	TypeCreditListed         = "credit.listed"
	TypeCreditDelisted       = "credit.delisted"
	TypeWarningIssued        = "warning.issued"
	TypeIncidentDetected     = "incident.detected"
	TypeIncidentUpdated      = "incident.updated"
	TypeIncidentResolved     = "incident.resolved"
	TypeSilenceCreated       = "silence.created"
	TypeSilenceDeleted       = "silence.deleted"
	TypeMerchantLinked       = "merchant.linked"
)

// Types lists every v1 type in catalogue order.
var Types = []string{
	TypeMerchantRegistered, TypeComplaintReceived, TypeComplaintAssigned, TypeComplaintClosed,
	TypeInspectionCompleted, TypeSamplingCompleted, TypePenaltyImposed,
	TypeCertificationGranted, TypeCertificationRevoked, TypeCreditListed, TypeCreditDelisted,
	TypeWarningIssued, TypeIncidentDetected,
	TypeIncidentUpdated, TypeIncidentResolved, TypeSilenceCreated, TypeSilenceDeleted,
	TypeMerchantLinked,
}

// HubTypes are the types only the hub writes (Validate reports them as reserved-type; the hub
// checks them with ValidateHub): the incident lifecycle, emitted by the rule engine with source
// HubSource, and silences, written by the gateway on POST/DELETE /v1/silences with the
// officer's bureau as source.
var HubTypes = []string{
	TypeIncidentDetected, TypeIncidentUpdated, TypeIncidentResolved, TypeSilenceCreated, TypeSilenceDeleted,
}

// Payload types. Field names are the wire names; optional fields are pointers or omitempty.
// Decode with DecodeData after validation: these structs do not re-check the schema.

type MerchantRegistered struct {
	Name         string    `json:"name"`
	Township     string    `json:"township"`
	Industry     string    `json:"industry"`
	Address      string    `json:"address"`
	RegisteredAt time.Time `json:"registered_at"`
}

type ComplaintReceived struct {
	ComplaintID  string    `json:"complaint_id"`
	Channel      string    `json:"channel"`
	Category     string    `json:"category"`
	Summary      string    `json:"summary"`
	ReceivedAt   time.Time `json:"received_at"`
	AmountCNY    *float64  `json:"amount_cny,omitempty"`
	Consumers    *int      `json:"consumers,omitempty"`
	Township     string    `json:"township,omitempty"`
	Industry     string    `json:"industry,omitempty"`
	MerchantName string    `json:"merchant_name,omitempty"`
	Address      string    `json:"address,omitempty"`
	// Consumer holds personal data (name, phone). It is kept for the sending bureau only and
	// never enters the shared views.
	Consumer map[string]any `json:"consumer,omitempty"`
}

type ComplaintAssigned struct {
	ComplaintID string    `json:"complaint_id"`
	ToBureau    string    `json:"to_bureau"`
	Deadline    time.Time `json:"deadline"`
}

type ComplaintClosed struct {
	ComplaintID     string    `json:"complaint_id"`
	Outcome         string    `json:"outcome"`
	ClosedAt        time.Time `json:"closed_at"`
	CompensationCNY *float64  `json:"compensation_cny,omitempty"`
	Satisfaction    *int      `json:"satisfaction,omitempty"`
}

type InspectionCompleted struct {
	InspectionID string    `json:"inspection_id"`
	Kind         string    `json:"kind"`
	Result       string    `json:"result"`
	InspectedAt  time.Time `json:"inspected_at"`
	Findings     string    `json:"findings,omitempty"`
}

type SamplingCompleted struct {
	SampleID  string    `json:"sample_id"`
	Product   string    `json:"product"`
	Result    string    `json:"result"`
	SampledAt time.Time `json:"sampled_at"`
}

type PenaltyImposed struct {
	DecisionNo string    `json:"decision_no"`
	Kind       string    `json:"kind"`
	LegalBasis string    `json:"legal_basis"`
	DecidedAt  time.Time `json:"decided_at"`
	FineCNY    *float64  `json:"fine_cny,omitempty"`
}

type CertificationGranted struct {
	CertID     string     `json:"cert_id"`
	Scheme     string     `json:"scheme"`
	GrantedAt  time.Time  `json:"granted_at"`
	Level      string     `json:"level,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

type CertificationRevoked struct {
	CertID    string    `json:"cert_id"`
	Scheme    string    `json:"scheme"`
	RevokedAt time.Time `json:"revoked_at"`
	Reason    string    `json:"reason,omitempty"`
}

type CreditListed struct {
	List     string    `json:"list"`
	Reason   string    `json:"reason"`
	ListedAt time.Time `json:"listed_at"`
}

type CreditDelisted struct {
	List       string    `json:"list"`
	Reason     string    `json:"reason"`
	DelistedAt time.Time `json:"delisted_at"`
}

type WarningIssued struct {
	Title    string    `json:"title"`
	Body     string    `json:"body"`
	IssuedAt time.Time `json:"issued_at"`
	Industry string    `json:"industry,omitempty"`
	Township string    `json:"township,omitempty"`
}

// IncidentDetected is the data of incident.detected and incident.updated: the incident's whole
// current state. incident_id stays the same through the lifecycle; fingerprint identifies what
// it is about (rule and grouping labels) across incidents. The event id is
// "{incident_id}.{sequence}", so the same transition written twice is one event.
type IncidentDetected struct {
	IncidentID        string    `json:"incident_id"`
	Rule              string    `json:"rule"`
	Scope             string    `json:"scope"`
	Count             int       `json:"count"`
	Window            string    `json:"window"`
	FirstAt           time.Time `json:"first_at"`
	LastAt            time.Time `json:"last_at"`
	ResponsibleBureau []string  `json:"responsible_bureaus"` // lead unit first

	Level       string     `json:"level,omitempty"` // "I" (特别重大, most severe) … "IV" (一般)
	Title       string     `json:"title,omitempty"` // Chinese, one line
	Fingerprint string     `json:"fingerprint,omitempty"`
	Merchant    string     `json:"merchant,omitempty"` // USCC
	Industry    string     `json:"industry,omitempty"`
	Township    string     `json:"township,omitempty"`
	Category    string     `json:"category,omitempty"`
	InhibitedBy string     `json:"inhibited_by,omitempty"` // incident_id of the containing incident: not routed
	SilencedBy  string     `json:"silenced_by,omitempty"`  // silence_id of a matching silence: not routed
	Group       string     `json:"group,omitempty"`        // routing group: merchant:{uscc} or industry:{code}@{township}
	ComplaintID string     `json:"complaint_id,omitempty"` // overdue alerts (限时办结)
	Deadline    *time.Time `json:"deadline,omitempty"`
	CertID      string     `json:"cert_id,omitempty"` // certification reviews
	Scheme      string     `json:"scheme,omitempty"`
	Sequence    int        `json:"sequence,omitempty"` // 1 for detected, then +1 per lifecycle event
}

// Routed reports whether the incident is sent to its responsible bureaus: neither inhibited by
// a wider incident nor silenced.
func (d IncidentDetected) Routed() bool { return d.InhibitedBy == "" && d.SilencedBy == "" }

// IncidentUpdated is the data of incident.updated: the same fields as incident.detected.
type IncidentUpdated = IncidentDetected

// Reasons an incident resolves (incident.resolved data.reason).
const (
	ResolvedQuietPeriod      = "quiet_period"      // no new matching events during the quiet period
	ResolvedConditionCleared = "condition_cleared" // e.g. the merchant was delisted or lost the certification
	ResolvedComplaintClosed  = "complaint_closed"  // the overdue complaint was closed
)

type IncidentResolved struct {
	IncidentID  string    `json:"incident_id"`
	Rule        string    `json:"rule"`
	Fingerprint string    `json:"fingerprint"`
	ResolvedAt  time.Time `json:"resolved_at"`
	Reason      string    `json:"reason"`
	Sequence    int       `json:"sequence,omitempty"`
}

// SilenceMatchers select incidents by equality on each field set; at least one is set.
type SilenceMatchers struct {
	Rule     string `json:"rule,omitempty"`
	Merchant string `json:"merchant,omitempty"`
	Industry string `json:"industry,omitempty"`
	Township string `json:"township,omitempty"`
	Category string `json:"category,omitempty"`
}

// SilenceCreated: matching incidents between starts_at and ends_at are recorded with
// silenced_by set and not routed.
type SilenceCreated struct {
	SilenceID string          `json:"silence_id"`
	Matchers  SilenceMatchers `json:"matchers"`
	Reason    string          `json:"reason"`
	StartsAt  time.Time       `json:"starts_at"`
	EndsAt    time.Time       `json:"ends_at"`
	CreatedBy string          `json:"created_by"`
}

// SilenceDeleted ends a silence early. A silence past ends_at needs no event.
type SilenceDeleted struct {
	SilenceID string    `json:"silence_id"`
	DeletedAt time.Time `json:"deleted_at"`
	DeletedBy string    `json:"deleted_by"`
}

// MerchantLinked links an event that named no merchant code (EventSource, EventID) to the
// merchant USCC, which is also the event's subject. The hub records automatic links (source
// HubSource, method auto); an officer's manual link comes from the officer's bureau (method
// manual) through the gateway's link route, never through POST /v1/events.
type MerchantLinked struct {
	EventSource string  `json:"event_source"`
	EventID     string  `json:"event_id"`
	USCC        string  `json:"uscc"`
	Method      string  `json:"method"`
	Score       float64 `json:"score"`
	Note        string  `json:"note,omitempty"`
}

// Link methods of merchant.linked.
const (
	LinkAuto   = "auto"
	LinkManual = "manual"
)

// DecodeData decodes ev.Data into the payload struct of ev.Type (a pointer), or returns
// (nil, nil) for a type outside the catalogue.
func DecodeData(ev Event) (any, error) {
	var v any
	switch ev.Type {
	case TypeMerchantRegistered:
		v = new(MerchantRegistered)
	case TypeComplaintReceived:
		v = new(ComplaintReceived)
	case TypeComplaintAssigned:
		v = new(ComplaintAssigned)
	case TypeComplaintClosed:
		v = new(ComplaintClosed)
	case TypeInspectionCompleted:
		v = new(InspectionCompleted)
	case TypeSamplingCompleted:
		v = new(SamplingCompleted)
	case TypePenaltyImposed:
		v = new(PenaltyImposed)
	case TypeCertificationGranted:
		v = new(CertificationGranted)
	case TypeCertificationRevoked:
		v = new(CertificationRevoked)
	case TypeCreditListed:
		v = new(CreditListed)
	case TypeCreditDelisted:
		v = new(CreditDelisted)
	case TypeWarningIssued:
		v = new(WarningIssued)
	case TypeIncidentDetected, TypeIncidentUpdated:
		v = new(IncidentDetected)
	case TypeIncidentResolved:
		v = new(IncidentResolved)
	case TypeSilenceCreated:
		v = new(SilenceCreated)
	case TypeSilenceDeleted:
		v = new(SilenceDeleted)
	case TypeMerchantLinked:
		v = new(MerchantLinked)
	default:
		return nil, nil
	}
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return nil, err
	}
	return v, nil
}

// ConsumerCount is the number of consumers a complaint speaks for: consumers, or 1 when absent.
func (c ComplaintReceived) ConsumerCount() int {
	if c.Consumers == nil {
		return 1
	}
	return *c.Consumers
}

// PersonalDataFields are the data fields of each type that hold consumers' personal data
// (个人信息). They are visible only to the bureau that sent the event; RedactPersonalData removes
// them before an event reaches a shared view.
var PersonalDataFields = map[string][]string{
	TypeComplaintReceived: {"consumer"},
}

// RedactPersonalData returns ev without the data fields listed in PersonalDataFields for its type.
// Events of other types, and data that is not a JSON object, are returned unchanged. The other
// fields keep their values; the object's keys come back in sorted order.
func RedactPersonalData(ev Event) Event {
	fields := PersonalDataFields[ev.Type]
	if len(fields) == 0 {
		return ev
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(ev.Data, &obj) != nil || obj == nil {
		return ev
	}
	removed := false
	for _, f := range fields {
		if _, ok := obj[f]; ok {
			delete(obj, f)
			removed = true
		}
	}
	if !removed {
		return ev
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return ev
	}
	ev.Data = b
	return ev
}
