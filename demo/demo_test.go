package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
)

// The default dataset is built once and shared by the tests that only read it.
var defaultDataset = sync.OnceValue(func() Dataset { return Generate(Config{}) })

func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Merchants: 600, Events: 6000, Days: 120, Start: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Seed: 7}
	a, b := Generate(cfg), Generate(cfg)
	if !bytes.Equal(encode(t, a), encode(t, b)) {
		t.Fatal("two runs of the same Config differ")
	}
	if !bytes.Equal(encode(t, defaultDataset()), encode(t, Generate(Config{Seed: DefaultSeed}))) {
		t.Fatal("the default dataset differs between runs")
	}
	c := Generate(Config{Merchants: 600, Events: 6000, Days: 120, Start: cfg.Start, Seed: 8})
	if bytes.Equal(encode(t, a), encode(t, c)) {
		t.Fatal("different seeds gave the same dataset")
	}
}

func encode(t *testing.T, d Dataset) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, ev := range d.Events {
		if err := enc.Encode(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range d.Merchants {
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestCounts(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{},
		{Merchants: 300, Events: 3000, Days: 90, Seed: 3},
		{Merchants: 1000, Events: 12000, Seed: 11},
	} {
		d := cfg
		if cfg.Merchants == 0 {
			d = Config{Merchants: DefaultMerchants, Events: DefaultEvents}
		}
		ds := defaultDataset()
		if cfg.Merchants != 0 {
			ds = Generate(cfg)
		}
		if len(ds.Merchants) != d.Merchants {
			t.Errorf("%+v: %d merchants, want %d", cfg, len(ds.Merchants), d.Merchants)
		}
		if n := len(ds.Events); n < d.Events*97/100 || n > d.Events*103/100 {
			t.Errorf("%+v: %d events, want %d ± 3%%", cfg, n, d.Events)
		}
		byType := map[string]int{}
		for _, ev := range ds.Events {
			byType[ev.Type]++
		}
		if byType[events.TypeMerchantRegistered] != d.Merchants {
			t.Errorf("%+v: %d registrations for %d merchants", cfg, byType[events.TypeMerchantRegistered], d.Merchants)
		}
		want := []string{events.TypeComplaintReceived, events.TypeComplaintAssigned, events.TypeComplaintClosed,
			events.TypeInspectionCompleted, events.TypeSamplingCompleted, events.TypePenaltyImposed}
		if cfg.Merchants == 0 {
			want = slices.DeleteFunc(slices.Clone(events.Types), func(t string) bool { return slices.Contains(events.HubTypes, t) || t == events.TypeMerchantLinked }) // the hub writes those
		}
		for _, typ := range want {
			if byType[typ] == 0 {
				t.Errorf("%+v: no %s events", cfg, typ)
			}
		}
	}
}

func TestDefaultShape(t *testing.T) {
	d := defaultDataset()
	byType, byBureau := map[string]int{}, map[string]int{}
	for _, ev := range d.Events {
		byType[ev.Type]++
		byBureau[ev.Bureau()]++
	}
	t.Logf("%d events, %d merchants", len(d.Events), len(d.Merchants))
	t.Logf("by type:\n%s", table(byType))
	t.Logf("by bureau:\n%s", table(byBureau))

	// Types come from the units that own them (DESIGN.md's bureau registry).
	allowed := map[string][]string{
		events.TypeMerchantRegistered:   {"amr"},
		events.TypeComplaintReceived:    {"hotline-12315", "hotline-12345", "hotline-12331", "cca", "amr", "tourism"},
		events.TypeInspectionCompleted:  {"amr", "quality", "health", "tourism"},
		events.TypeSamplingCompleted:    {"amr", "quality"},
		events.TypePenaltyImposed:       {"amr", "quality", "environment", "urban", "tourism"},
		events.TypeCertificationGranted: {"amr", "tourism", "agriculture"},
		events.TypeCreditListed:         {"amr"},
		events.TypeCreditDelisted:       {"amr"},
	}
	for _, ev := range d.Events {
		if bs, ok := allowed[ev.Type]; ok && !contains(bs, ev.Bureau()) {
			t.Errorf("%s from %s", ev.Type, ev.Bureau())
		}
	}
	if got := byType[events.TypeComplaintReceived]; got < 8000 {
		t.Errorf("%d complaints, want about ten thousand", got)
	}
	if byType[events.TypeComplaintAssigned] < byType[events.TypeComplaintReceived]*7/10 {
		t.Errorf("only %d of %d complaints assigned", byType[events.TypeComplaintAssigned], byType[events.TypeComplaintReceived])
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func table(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-24s %6d\n", k, m[k])
	}
	return b.String()
}

func TestMerchants(t *testing.T) {
	d := defaultDataset()
	codes, names := map[string]bool{}, map[string]bool{}
	for _, m := range d.Merchants {
		if err := events.CheckUSCC(m.USCC); err != nil {
			t.Errorf("%s %s: %v", m.USCC, m.Name, err)
		}
		kind := "1"
		if m.Individual {
			kind = "2"
		}
		if m.USCC[:2] != "9"+kind || m.USCC[2:8] != events.DistrictCode {
			t.Errorf("%s %s: want prefix 9%s%s", m.USCC, m.Name, kind, events.DistrictCode)
		}
		if c := orgCheckChar(m.USCC[8:16]); c != m.USCC[16] {
			t.Errorf("%s: organisation code check character %c, want %c", m.USCC, m.USCC[16], c)
		}
		if codes[m.USCC] {
			t.Errorf("duplicate code %s", m.USCC)
		}
		codes[m.USCC] = true
		if names[m.Name] {
			t.Errorf("duplicate name %s", m.Name)
		}
		names[m.Name] = true
		if tw, ok := events.LookupTownship(m.Township); !ok || tw.Name != m.TownshipName {
			t.Errorf("%s: township %s %s", m.Name, m.Township, m.TownshipName)
		}
		if in, ok := events.LookupIndustry(m.Industry); !ok || in.Level != events.IndustryClass {
			t.Errorf("%s: industry %s is not a GB/T 4754-2017 class", m.Name, m.Industry)
		}
		if !strings.Contains(m.Address, m.TownshipName) {
			t.Errorf("%s: address %s is not in %s", m.Name, m.Address, m.TownshipName)
		}
	}
	for _, p := range pinned {
		if !names[p.name] {
			t.Errorf("pinned merchant %s missing", p.name)
		}
	}
}

func TestIndustryTable(t *testing.T) {
	for _, in := range industries {
		if c, ok := events.LookupIndustry(in.code); !ok || c.Level != events.IndustryClass {
			t.Errorf("%s is not a GB/T 4754-2017 class", in.code)
		}
		if len(in.shop) == 0 && len(in.firm) == 0 {
			t.Errorf("%s has no name endings", in.code)
		}
		if len(specsFor(in)) == 0 {
			t.Errorf("%s has no complaint categories", in.code)
		}
	}
	for _, tw := range events.Townships() {
		if _, ok := townshipProfiles[tw.Code]; !ok {
			t.Errorf("no profile for township %s %s", tw.Code, tw.Name)
		}
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, d := range []Dataset{defaultDataset(), Generate(Config{Merchants: 400, Events: 4000, Days: 60, Seed: 5})} {
		bad := 0
		for _, ev := range d.Events {
			if ps := events.Validate(ev, ev.Bureau()); len(ps) > 0 {
				if bad++; bad <= 10 {
					t.Errorf("%s %s: %v\n%s", ev.Source, ev.ID, ps, ev.Data)
				}
			}
			if _, off := ev.Time.Zone(); off != 8*3600 || ev.Time.Nanosecond() != 0 {
				t.Errorf("%s: time %s not whole seconds in +08:00", ev.ID, ev.Time)
			}
			for _, ts := range dateTimeRE.FindAllString(string(ev.Data), -1) {
				if !wholeSecondsCST.MatchString(ts) {
					t.Errorf("%s: data time %s not whole seconds in +08:00", ev.ID, ts)
				}
			}
		}
		if bad > 10 {
			t.Errorf("%d invalid events in all", bad)
		}
	}
}

var (
	dateTimeRE      = regexp.MustCompile(`"\d{4}-\d\d-\d\dT[^"]*"`)
	wholeSecondsCST = regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00"$`)
)

func TestOrder(t *testing.T) {
	t.Parallel()
	d := defaultDataset()
	keys := map[string]bool{}
	type complaint struct{ received, assigned, closed int }
	complaints := map[string]*complaint{}
	registered := map[string]bool{}
	granted := map[string]bool{}
	revoked := map[string]bool{}
	listed := map[string]bool{}
	for i, ev := range d.Events {
		if i > 0 && ev.Time.Before(d.Events[i-1].Time) {
			t.Fatalf("event %d (%s) before its predecessor", i, ev.ID)
		}
		if keys[ev.Key()] {
			t.Errorf("duplicate (source, id) %s", ev.Key())
		}
		keys[ev.Key()] = true
		data, err := events.DecodeData(ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.ID, err)
		}
		if ev.Subject != "" && ev.Type != events.TypeMerchantRegistered && !registered[ev.Subject] {
			t.Errorf("%s %s about %s before its registration", ev.ID, ev.Type, ev.Subject)
		}
		switch p := data.(type) {
		case *events.MerchantRegistered:
			if registered[ev.Subject] {
				t.Errorf("%s registered twice", ev.Subject)
			}
			registered[ev.Subject] = true
		case *events.ComplaintReceived:
			if complaints[p.ComplaintID] != nil {
				t.Errorf("complaint %s received twice", p.ComplaintID)
				continue
			}
			complaints[p.ComplaintID] = &complaint{received: 1}
		case *events.ComplaintAssigned:
			c := complaints[p.ComplaintID]
			if c == nil || c.assigned > 0 || c.closed > 0 {
				t.Errorf("complaint %s assigned out of order", p.ComplaintID)
				continue
			}
			c.assigned++
			if !p.Deadline.After(ev.Time) {
				t.Errorf("complaint %s: deadline %s before assignment", p.ComplaintID, p.Deadline)
			}
		case *events.ComplaintClosed:
			c := complaints[p.ComplaintID]
			if c == nil || c.closed > 0 {
				t.Errorf("complaint %s closed out of order", p.ComplaintID)
				continue
			}
			c.closed++
		case *events.CertificationGranted:
			if granted[p.CertID] {
				t.Errorf("certificate %s granted twice", p.CertID)
			}
			granted[p.CertID] = true
		case *events.CertificationRevoked:
			if !granted[p.CertID] || revoked[p.CertID] {
				t.Errorf("certificate %s revoked out of order", p.CertID)
			}
			revoked[p.CertID] = true
		case *events.CreditListed:
			k := ev.Subject + " " + p.List
			if listed[k] {
				t.Errorf("%s listed while on the list", k)
			}
			listed[k] = true
		case *events.CreditDelisted:
			k := ev.Subject + " " + p.List
			if !listed[k] {
				t.Errorf("%s delisted while not on the list", k)
			}
			listed[k] = false
		}
	}
	var open, overdue int
	end := defaultStart.AddDate(0, 0, DefaultDays)
	for _, c := range complaints {
		if c.closed == 0 {
			open++
		}
	}
	for _, ev := range d.Events {
		if p, ok := mustDecode(t, ev).(*events.ComplaintAssigned); ok && complaints[p.ComplaintID].closed == 0 && p.Deadline.Before(end) {
			overdue++
		}
	}
	t.Logf("%d complaints, %d open, %d of them overdue", len(complaints), open, overdue)
	if open == 0 || overdue == 0 {
		t.Error("want some complaints open and some overdue")
	}
}

func mustDecode(t *testing.T, ev events.Event) any {
	t.Helper()
	v, err := events.DecodeData(ev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGymClosure(t *testing.T) {
	d := defaultDataset()
	var gym Merchant
	for _, m := range d.Merchants {
		if m.Name == "利州区东坝街道动感健身会所" {
			gym = m
		}
	}
	if gym.USCC == "" || gym.Industry != "R8930" {
		t.Fatalf("gym missing: %+v", gym)
	}
	// the busiest 4 hours of complaints about it
	var times []time.Time
	sources := map[string]int{}
	var listedAt, penaltyAt, seriousAt time.Time
	for _, ev := range d.Events {
		switch {
		case ev.Type == events.TypeComplaintReceived && ev.Subject == gym.USCC:
			p := mustDecode(t, ev).(*events.ComplaintReceived)
			if p.Category == "预付卡" {
				times = append(times, ev.Time)
			}
		case ev.Type == events.TypeCreditListed && ev.Subject == gym.USCC:
			p := mustDecode(t, ev).(*events.CreditListed)
			if p.List == "abnormal_operation" {
				listedAt = ev.Time
			} else {
				seriousAt = ev.Time
			}
		case ev.Type == events.TypePenaltyImposed && ev.Subject == gym.USCC:
			penaltyAt = ev.Time
		}
	}
	best, at := 0, time.Time{}
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) <= 4*time.Hour {
			j++
		}
		if j-i > best {
			best, at = j-i, times[i]
		}
	}
	for _, ev := range d.Events {
		if ev.Type == events.TypeComplaintReceived && ev.Subject == gym.USCC && !ev.Time.Before(at) && ev.Time.Sub(at) <= 4*time.Hour {
			sources[ev.Bureau()]++
		}
	}
	t.Logf("gym %s: %d prepaid-card complaints within 4 hours from %s (%v)", gym.USCC, best, at, sources)
	if best < 150 {
		t.Errorf("only %d complaints within 4 hours, want a burst of about 200", best)
	}
	if sources["hotline-12315"] == 0 || sources["hotline-12345"] == 0 {
		t.Errorf("burst sources %v, want 12315 and 12345", sources)
	}
	if listedAt.IsZero() || !listedAt.After(at) || penaltyAt.IsZero() || !penaltyAt.After(listedAt) || !seriousAt.After(penaltyAt) {
		t.Errorf("after the burst at %s: listed %s, penalty %s, serious list %s", at, listedAt, penaltyAt, seriousAt)
	}
}

func TestNationalDayHotspot(t *testing.T) {
	d := defaultDataset()
	byTownship := map[string]int{}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, zone)
	for _, ev := range d.Events {
		if ev.Type != events.TypeComplaintReceived || ev.Time.Before(from) || !ev.Time.Before(from.AddDate(0, 0, 7)) {
			continue
		}
		byTownship[mustDecode(t, ev).(*events.ComplaintReceived).Township]++
	}
	t.Logf("complaints 1-7 October by township: %v", byTownship)
	if byTownship[tsBaichao] < 100 || byTownship[tsBaichao] <= byTownship[tsDongba] {
		t.Errorf("白朝乡 has %d complaints during National Day, want it to stand out", byTownship[tsBaichao])
	}
}

func TestUnlinkedComplaints(t *testing.T) {
	n := 0
	for _, ev := range defaultDataset().Events {
		if ev.Subject == "" {
			p, ok := mustDecode(t, ev).(*events.ComplaintReceived)
			if !ok || p.MerchantName == "" || p.Address == "" {
				t.Errorf("%s has no subject and names no merchant", ev.ID)
			}
			n++
		}
	}
	if n < 50 {
		t.Errorf("%d unlinked complaints, want some", n)
	}
}

func TestBatches(t *testing.T) {
	d := Generate(Config{Merchants: 100, Events: 1000, Days: 60})
	bs := d.Batches(300)
	total := 0
	for i, b := range bs {
		if len(b) > 300 || len(b) == 0 {
			t.Errorf("batch %d has %d events", i, len(b))
		}
		for j, ev := range b {
			if ev.Key() != d.Events[total+j].Key() {
				t.Fatalf("batch %d event %d out of order", i, j)
			}
		}
		total += len(b)
	}
	if total != len(d.Events) {
		t.Errorf("batches hold %d events, want %d", total, len(d.Events))
	}
	if got := d.Batches(0); len(got) != 1 || len(got[0]) != len(d.Events) {
		t.Errorf("Batches(0) = %d batches", len(got))
	}
	if got := (Dataset{}).Batches(10); got != nil {
		t.Errorf("empty dataset gives %d batches", len(got))
	}
}
