package projections

import (
	"encoding/json"
	"math"
	"slices"

	"github.com/lizhou/fangxin/events"
)

// Redact splits personal data out of an event for the shared view: complaint.received's
// data.consumer goes to Private, readable only by the sending bureau.
func Redact(ev events.Event) TimelineEntry {
	if ev.Type != events.TypeComplaintReceived {
		return TimelineEntry{Event: ev}
	}
	var data map[string]json.RawMessage
	if json.Unmarshal(ev.Data, &data) != nil {
		return TimelineEntry{Event: ev}
	}
	private, ok := data["consumer"]
	if !ok {
		return TimelineEntry{Event: ev}
	}
	delete(data, "consumer")
	shared, err := json.Marshal(data)
	if err != nil {
		return TimelineEntry{Event: ev}
	}
	ev.Data = shared
	return TimelineEntry{Event: ev, Private: private}
}

// FoldProfile is the profile projection: it folds one event into p. Events must come in log
// order; the Store guarantees each is folded once. Events that fail to decode change only the
// counters (validation at the gateway makes that rare; the poison queue catches the rest before).
func FoldProfile(p *MerchantProfile, ev events.Event) {
	if p.CountsByType == nil {
		p.CountsByType = map[string]int{}
	}
	if p.CountsByBureau == nil {
		p.CountsByBureau = map[string]int{}
	}
	if p.USCC == "" {
		p.USCC = ev.Subject
	}
	p.EventCount++
	p.CountsByType[ev.Type]++
	p.CountsByBureau[ev.Bureau()]++
	if ev.Time.After(p.LastActivity) {
		p.LastActivity = ev.Time.UTC()
	}
	data, err := events.DecodeData(ev)
	if err != nil || data == nil {
		return
	}
	bureau := ev.Bureau()
	switch d := data.(type) {
	case *events.MerchantRegistered:
		p.Registered = true
		p.Name, p.Address = d.Name, d.Address
		p.Township, p.TownshipName = events.NormalizeTownship(d.Township)
		p.Industry, p.IndustryName = d.Industry, events.IndustryName(d.Industry)
		t := d.RegisteredAt.UTC()
		p.RegisteredAt = &t
	case *events.ComplaintReceived:
		if !slices.ContainsFunc(p.OpenComplaints, func(c OpenComplaint) bool { return c.ComplaintID == d.ComplaintID }) {
			p.OpenComplaints = append(p.OpenComplaints, OpenComplaint{
				ComplaintID: d.ComplaintID, Bureau: bureau, Category: d.Category, ReceivedAt: d.ReceivedAt.UTC(),
			})
		}
	case *events.ComplaintAssigned:
		for i := range p.OpenComplaints {
			if p.OpenComplaints[i].ComplaintID == d.ComplaintID {
				dl := d.Deadline.UTC()
				p.OpenComplaints[i].AssignedTo, p.OpenComplaints[i].Deadline = d.ToBureau, &dl
			}
		}
	case *events.ComplaintClosed:
		p.OpenComplaints = slices.DeleteFunc(p.OpenComplaints, func(c OpenComplaint) bool { return c.ComplaintID == d.ComplaintID })
	case *events.PenaltyImposed:
		if d.FineCNY != nil {
			p.FinesTotalFen += int64(math.Round(*d.FineCNY * 100))
		}
	case *events.CertificationGranted:
		p.Certifications = slices.DeleteFunc(p.Certifications, func(c Certification) bool { return c.CertID == d.CertID && c.Scheme == d.Scheme })
		c := Certification{CertID: d.CertID, Scheme: d.Scheme, Level: d.Level, Bureau: bureau, GrantedAt: d.GrantedAt.UTC()}
		if d.ValidUntil != nil {
			v := d.ValidUntil.UTC()
			c.ValidUntil = &v
		}
		p.Certifications = append(p.Certifications, c)
	case *events.CertificationRevoked:
		p.Certifications = slices.DeleteFunc(p.Certifications, func(c Certification) bool { return c.CertID == d.CertID && c.Scheme == d.Scheme })
	case *events.CreditListed:
		p.CreditListings = slices.DeleteFunc(p.CreditListings, func(c CreditListing) bool { return c.List == d.List })
		p.CreditListings = append(p.CreditListings, CreditListing{List: d.List, Reason: d.Reason, Bureau: bureau, ListedAt: d.ListedAt.UTC()})
	case *events.CreditDelisted:
		p.CreditListings = slices.DeleteFunc(p.CreditListings, func(c CreditListing) bool { return c.List == d.List })
	}
}
