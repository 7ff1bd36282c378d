// Package capxml publishes consumer warnings (warning.issued) as OASIS Common Alerting Protocol
// 1.2 alerts (urn:oasis:names:tc:emergency:cap:1.2), one per warning, and as an Atom feed of
// them (application/atom+xml, each entry carrying its alert inline as application/cap+xml, as
// the OASIS CAP feeds note describes). Alerts are in Chinese (zh-CN), sent by the issuing
// bureau, with times in RFC 3339 at +08:00 and no fractional seconds, as the CAP schema's
// dateTime pattern requires. Every alert validates against CAP-v1.2.xsd (see the tests).
package capxml

import (
	"encoding/xml"
	"strings"
	"time"

	"github.com/lizhou/fangxin/events"
)

// Namespace is the CAP 1.2 XML namespace.
const Namespace = "urn:oasis:names:tc:emergency:cap:1.2"

// MediaType is the media type of one alert; FeedMediaType of the feed.
const (
	MediaType     = "application/cap+xml"
	FeedMediaType = "application/atom+xml"
)

// senderDomain names the hub in CAP sender addresses: {bureau}@senderDomain.
const senderDomain = "fangxin.lizhou.gov.cn"

// district is Lizhou District's statistical division code and name, the area of a warning
// without a township.
const (
	districtCode = "510802"
	districtName = "四川省广元市利州区"
)

var shanghai = time.FixedZone("CST", 8*3600)

// capTime formats t as CAP wants it: second precision, numeric offset, here +08:00.
func capTime(t time.Time) string { return t.In(shanghai).Format("2006-01-02T15:04:05-07:00") }

// Alert is the CAP alert element (the subset the hub fills, in the schema's order).
type Alert struct {
	XMLName    xml.Name `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier string   `xml:"identifier"`
	Sender     string   `xml:"sender"`
	Sent       string   `xml:"sent"`
	Status     string   `xml:"status"`
	MsgType    string   `xml:"msgType"`
	Source     string   `xml:"source,omitempty"`
	Scope      string   `xml:"scope"`
	Info       Info     `xml:"info"`
}

// Info is the alert's one info block, in Chinese.
type Info struct {
	Language    string      `xml:"language"`
	Category    string      `xml:"category"`
	Event       string      `xml:"event"`
	Urgency     string      `xml:"urgency"`
	Severity    string      `xml:"severity"`
	Certainty   string      `xml:"certainty"`
	EventCode   []ValuePair `xml:"eventCode"`
	Effective   string      `xml:"effective"`
	SenderName  string      `xml:"senderName"`
	Headline    string      `xml:"headline"`
	Description string      `xml:"description"`
	Web         string      `xml:"web,omitempty"`
	Parameter   []ValuePair `xml:"parameter"`
	Area        Area        `xml:"area"`
}

// ValuePair is CAP's valueName/value pair.
type ValuePair struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

// Area is where the warning applies.
type Area struct {
	AreaDesc string      `xml:"areaDesc"`
	Geocode  []ValuePair `xml:"geocode"`
}

// Identifier is the CAP identifier of a warning: stable, unique across bureaus, and free of the
// characters CAP forbids in identifiers (space, comma, <, &).
func Identifier(ev events.Event) string {
	return "fangxin-" + ev.Bureau() + "-" + strings.Map(func(r rune) rune {
		if r == ' ' || r == ',' || r == '<' || r == '&' {
			return '_'
		}
		return r
	}, ev.ID)
}

// FromWarning builds the alert of a warning.issued event; web, when not empty, is the alert's
// own URL.
func FromWarning(ev events.Event, web string) (Alert, error) {
	var w events.WarningIssued
	if err := decodeWarning(ev, &w); err != nil {
		return Alert{}, err
	}
	bureau := ev.Bureau()
	senderName := bureau
	if b, ok := events.LookupBureau(bureau); ok {
		senderName = b.NameZH
	}
	area := Area{AreaDesc: districtName, Geocode: []ValuePair{{ValueName: "GB/T 2260", Value: districtCode}}}
	if w.Township != "" {
		if t, ok := events.LookupTownship(w.Township); ok {
			area = Area{AreaDesc: districtName + t.Name, Geocode: []ValuePair{{ValueName: "统计用区划代码", Value: t.Code}}}
		}
	}
	var params []ValuePair
	if w.Industry != "" {
		name := events.IndustryName(w.Industry)
		params = append(params, ValuePair{ValueName: "GB/T 4754-2017", Value: strings.TrimSpace(w.Industry + " " + name)})
	}
	return Alert{
		Identifier: Identifier(ev),
		Sender:     bureau + "@" + senderDomain,
		Sent:       capTime(ev.Time),
		Status:     "Actual",
		MsgType:    "Alert",
		Source:     senderName,
		Scope:      "Public",
		Info: Info{
			Language:    "zh-CN",
			Category:    "Other",
			Event:       "消费警示",
			Urgency:     "Expected",
			Severity:    "Minor",
			Certainty:   "Likely",
			EventCode:   []ValuePair{{ValueName: "fangxin", Value: events.TypeWarningIssued}},
			Effective:   capTime(w.IssuedAt),
			SenderName:  senderName,
			Headline:    w.Title,
			Description: w.Body,
			Web:         web,
			Parameter:   params,
			Area:        area,
		},
	}, nil
}

// Marshal encodes one alert as a standalone XML document.
func Marshal(a Alert) ([]byte, error) {
	b, err := xml.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
