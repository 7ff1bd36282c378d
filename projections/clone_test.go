package projections

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Clone is deep: changing anything the copy holds leaves the original as it was. A field added
// to MerchantProfile must be handled by Clone (the field count below is the reminder).
func TestMerchantProfileClone(t *testing.T) {
	if n := reflect.TypeFor[MerchantProfile]().NumField(); n != 18 {
		t.Fatalf("MerchantProfile has %d fields, Clone knows 18: copy the new ones deeply in Clone, then update this test", n)
	}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	dl, vu := at.Add(72*time.Hour), at.AddDate(1, 0, 0)
	p := &MerchantProfile{
		USCC: "91510802MA6C000X1P", Registered: true, Name: "老张火锅店", RegisteredAt: &at,
		EventCount: 3, CountsByType: map[string]int{"complaint.received": 2}, CountsByBureau: map[string]int{"amr": 1},
		OpenComplaints: []OpenComplaint{{ComplaintID: "c1", Deadline: &dl}},
		Certifications: []Certification{{CertID: "x", ValidUntil: &vu}},
		CreditListings: []CreditListing{{List: "serious"}},
	}
	before, _ := json.Marshal(p)
	c := p.Clone()
	if got, _ := json.Marshal(c); string(got) != string(before) {
		t.Fatalf("clone differs:\n%s\n%s", got, before)
	}
	*c.RegisteredAt = at.Add(time.Hour)
	c.CountsByType["x"] = 1
	c.CountsByBureau["amr"] = 9
	c.OpenComplaints[0].ComplaintID = "changed"
	*c.OpenComplaints[0].Deadline = at
	c.Certifications[0].CertID = "changed"
	*c.Certifications[0].ValidUntil = at
	c.CreditListings[0].List = "changed"
	if after, _ := json.Marshal(p); string(after) != string(before) {
		t.Errorf("changing the clone changed the original:\n%s\n%s", after, before)
	}
	if (*MerchantProfile)(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
}
