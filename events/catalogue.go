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
	TypeMerchantLinked       = "merchant.linked"
)

// Types lists every v1 type in catalogue order.
var Types = []string{
	TypeMerchantRegistered, TypeComplaintReceived, TypeComplaintAssigned, TypeComplaintClosed,
	TypeInspectionCompleted, TypeSamplingCompleted, TypePenaltyImposed,
	TypeCertificationGranted, TypeCertificationRevoked, TypeCreditListed, TypeCreditDelisted,
	TypeWarningIssued, TypeIncidentDetected, TypeMerchantLinked,
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

type IncidentDetected struct {
	IncidentID        string    `json:"incident_id"`
	Rule              string    `json:"rule"`
	Scope             string    `json:"scope"`
	Count             int       `json:"count"`
	Window            string    `json:"window"`
	FirstAt           time.Time `json:"first_at"`
	LastAt            time.Time `json:"last_at"`
	ResponsibleBureau []string  `json:"responsible_bureaus"`
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
	case TypeIncidentDetected:
		v = new(IncidentDetected)
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
