package projections

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lizhou/fangxin/eventlog"
)

// randomProfile fills every field of a profile from rnd, with strings that need escaping.
func randomProfile(rnd *rand.Rand) *MerchantProfile {
	pieces := []string{"", "老张火锅店", "a\"b\\c", "<script>&", "\x00\x01\x1f\t\n\r\b\f", "\u2028\u2029", "\xff\xfe", "ok", "水果超市", "é"}
	str := func() string {
		var b strings.Builder
		for range rnd.IntN(3) {
			b.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return b.String()
	}
	tm := func() time.Time {
		t := time.Date(2000+rnd.IntN(30), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(28), rnd.IntN(24), rnd.IntN(60), rnd.IntN(60), rnd.IntN(3)*rnd.IntN(1e9), time.UTC)
		if rnd.IntN(2) == 0 {
			t = t.In(time.FixedZone("CST", 8*3600))
		}
		return t
	}
	ptm := func() *time.Time {
		if rnd.IntN(2) == 0 {
			return nil
		}
		t := tm()
		return &t
	}
	counts := func() map[string]int {
		if rnd.IntN(4) == 0 {
			return nil
		}
		m := map[string]int{}
		for range rnd.IntN(20) {
			m[str()] = rnd.IntN(1000) - 10
		}
		return m
	}
	p := &MerchantProfile{
		USCC: str(), Registered: rnd.IntN(2) == 0, Name: str(), Township: str(), TownshipName: str(),
		Industry: str(), IndustryName: str(), Address: str(), RegisteredAt: ptm(), EventCount: rnd.IntN(1e6),
		CountsByType: counts(), CountsByBureau: counts(), FinesTotalFen: rnd.Int64N(1e12) - 5,
		LastActivity: tm(), LastPosition: eventlog.Position{Partition: rnd.Int32N(64), Offset: rnd.Int64N(1e12)},
	}
	if rnd.IntN(4) > 0 {
		p.OpenComplaints = []OpenComplaint{}
		for range rnd.IntN(30) {
			p.OpenComplaints = append(p.OpenComplaints, OpenComplaint{ComplaintID: str(), Bureau: str(), Category: str(), ReceivedAt: tm(), AssignedTo: str(), Deadline: ptm()})
		}
	}
	if rnd.IntN(4) > 0 {
		p.Certifications = []Certification{}
		for range rnd.IntN(4) {
			p.Certifications = append(p.Certifications, Certification{CertID: str(), Scheme: str(), Level: str(), Bureau: str(), GrantedAt: tm(), ValidUntil: ptm()})
		}
	}
	if rnd.IntN(4) > 0 {
		p.CreditListings = []CreditListing{}
		for range rnd.IntN(4) {
			p.CreditListings = append(p.CreditListings, CreditListing{List: str(), Reason: str(), Bureau: str(), ListedAt: tm()})
		}
	}
	return p
}

// AppendJSON gives encoding/json's bytes for every profile. A field added to MerchantProfile or
// its parts must be encoded by AppendJSON too (the field counts below are the reminder).
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for typ, n := range map[reflect.Type]int{
		reflect.TypeFor[MerchantProfile](): 18, reflect.TypeFor[OpenComplaint](): 6,
		reflect.TypeFor[Certification](): 6, reflect.TypeFor[CreditListing](): 4,
	} {
		if got := typ.NumField(); got != n {
			t.Fatalf("%s has %d fields, AppendJSON knows %d: encode the new ones, then update this test", typ, got, n)
		}
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	for i := range 3000 {
		p := randomProfile(rnd)
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("profile %d:\nAppendJSON   %s\nencoding/json %s", i, got, want)
		}
	}
	// The zero profile, and a time encoding/json refuses.
	var zero MerchantProfile
	want, _ := json.Marshal(&zero)
	if got, _ := zero.AppendJSON(nil); string(got) != string(want) {
		t.Fatalf("zero profile:\nAppendJSON   %s\nencoding/json %s", got, want)
	}
	bad := MerchantProfile{LastActivity: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(&bad); err == nil {
		t.Fatal("encoding/json encoded the year 10000")
	}
	if _, err := bad.AppendJSON(nil); err == nil {
		t.Fatal("AppendJSON encoded the year 10000, which encoding/json refuses")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "老张", "a\"b", "<>&", "\x00\x7f", "\u2028", "\xff", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := MerchantProfile{USCC: s, Name: s, CountsByType: map[string]int{s: 1}}
		want, err := json.Marshal(&p)
		if err != nil {
			t.Skip()
		}
		got, err := p.AppendJSON(nil)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%q:\nAppendJSON   %s (%v)\nencoding/json %s", s, got, err, want)
		}
	})
}

func BenchmarkProfileJSON(b *testing.B) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	p := &MerchantProfile{
		USCC: "91510802MA6C000X1P", Registered: true, Name: "老张火锅店", Township: "510802001", TownshipName: "东坝街道",
		Industry: "H6210", IndustryName: "正餐服务", Address: "四川省广元市利州区东坝路12号", RegisteredAt: &at,
		EventCount: 40, CountsByType: map[string]int{"complaint.received": 30, "inspection.completed": 6, "merchant.registered": 1, "penalty.imposed": 3},
		CountsByBureau: map[string]int{"amr": 10, "hotline-12315": 25, "culture-tourism": 5}, LastActivity: at,
	}
	for i := range 25 {
		dl := at.Add(time.Duration(i) * time.Hour)
		p.OpenComplaints = append(p.OpenComplaints, OpenComplaint{ComplaintID: "hotline-12315/c-2026-000123" + string(rune('a'+i)), Bureau: "hotline-12315", Category: "食品安全", ReceivedAt: at, Deadline: &dl})
	}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.AppendJSON(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
