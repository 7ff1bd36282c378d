package demo

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/lizhou/fangxin/events"
)

// merchant is a register entry with what the generator knows and decides about it.
type merchant struct {
	Merchant
	order    int // position in the register
	ind      industry
	risk     float64   // how much more than its industry's average consumers complain about it
	regEvent time.Time // time of its merchant.registered event
	active   time.Time // other events about it come after this
	closed   time.Time // when it stopped trading (zero: it trades on)

	listed    map[string]*listingRec // by list
	certs     []*certRec
	penalties []*penaltyRec
}

// trades reports whether events about m may happen at t.
func (m *merchant) trades(t time.Time) bool {
	return t.After(m.active) && (m.closed.IsZero() || t.Before(m.closed))
}

// draft is an event before ids, numbers and data are final: number assigns business numbers
// (complaint ids, decision numbers…) in time order, data builds the payload afterwards.
type draft struct {
	t       time.Time
	seq     int
	bureau  string
	kind    string // second part of the event id: amr-reg-000123
	typ     string
	subject string
	number  func(nb *numberer)
	data    func() any
}

// numberer hands out yearly sequence numbers per key (a bureau's decision numbers, complaint
// ids…). The period usually starts inside a year: the first year's numbers start where that
// year's earlier months would have left them.
type numberer struct {
	counting  bool
	totals    map[string]int
	offsets   map[string]int
	counts    map[string]int
	startYear int
}

func (nb *numberer) next(key string, year int) int {
	if nb.counting {
		nb.totals[key]++
		return 0
	}
	k := key + "|" + strconv.Itoa(year)
	if _, ok := nb.counts[k]; !ok && year == nb.startYear {
		nb.counts[k] = nb.offsets[key]
	}
	nb.counts[k]++
	return nb.counts[k]
}

type gen struct {
	cfg    Config
	w      window
	ms     []*merchant
	byCode map[string][]*merchant
	drafts []*draft
	scale  float64 // size of the scenario's stories relative to the default dataset

	penalties []*penaltyRec
	certs     []*certRec
}

func (g *gen) rng(stream string) *rng { return newRNG(g.cfg.Seed, stream) }

// emit adds a draft if t is inside the period and reports whether it did.
func (g *gen) emit(t time.Time, bureau, kind, typ, subject string, number func(*numberer), data func() any) bool {
	if !g.w.contains(t) {
		return false
	}
	g.drafts = append(g.drafts, &draft{
		t: t.Truncate(time.Second), seq: len(g.drafts), bureau: bureau, kind: kind, typ: typ, subject: subject,
		number: number, data: data,
	})
	return true
}

func (g *gen) count(types ...string) int {
	n := 0
	for _, d := range g.drafts {
		if slices.Contains(types, d.typ) {
			n++
		}
	}
	return n
}

// finish orders the drafts, numbers them and builds the events.
func (g *gen) finish() Dataset {
	slices.SortFunc(g.drafts, func(a, b *draft) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})

	// A counting pass learns how many numbers each key uses in the period, to start the first
	// year's sequences where the months before the period would have left them.
	nb := &numberer{counting: true, totals: map[string]int{}}
	for _, d := range g.drafts {
		if d.number != nil {
			d.number(nb)
		}
	}
	elapsed := float64(g.w.start.YearDay() - 1)
	offsets := map[string]int{}
	for k, n := range nb.totals {
		offsets[k] = int(math.Round(float64(n) / float64(g.w.days) * elapsed))
	}
	nb = &numberer{offsets: offsets, counts: map[string]int{}, startYear: g.w.start.Year()}
	for _, d := range g.drafts {
		if d.number != nil {
			d.number(nb)
		}
	}

	ids := map[string]int{}
	evs := make([]events.Event, len(g.drafts))
	for i, d := range g.drafts {
		key := d.bureau + "-" + d.kind
		ids[key]++
		data, err := json.Marshal(d.data())
		if err != nil {
			panic("demo: marshal " + d.typ + ": " + err.Error())
		}
		evs[i] = events.Event{
			SpecVersion:     events.SpecVersion,
			ID:              fmt.Sprintf("%s-%06d", key, ids[key]),
			Source:          events.SourceOf(d.bureau),
			Type:            d.typ,
			Subject:         d.subject,
			Time:            d.t,
			DataContentType: "application/json",
			Data:            data,
		}
	}
	ms := make([]Merchant, len(g.ms))
	for i, m := range g.ms {
		ms[i] = m.Merchant
	}
	return Dataset{Events: evs, Merchants: ms}
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// roundMoney rounds an amount the way people quote it: yuan below 200, tens above.
func roundMoney(v float64) float64 {
	if v < 200 {
		return math.Round(v)
	}
	return math.Round(v/10) * 10
}

// days is a duration of d days.
func days(d float64) time.Duration { return time.Duration(d * 24 * float64(time.Hour)) }

// register builds the merchants and their merchant.registered events: the register's initial
// load at the start of the period for existing merchants, then new registrations as they happen.
func (g *gen) register() {
	specs := buildRegister(g.cfg, g.w)
	codes := newRegisterBuilder(g.rng("uscc")).assignCodes(specs)
	r := g.rng("risk")
	g.byCode = map[string][]*merchant{}
	loadStart := g.w.start.Add(time.Hour)
	preexisting := 0
	for _, s := range specs {
		if s.registered.Before(g.w.start) {
			preexisting++
		}
	}
	loadEnd := loadStart.Add(time.Duration(preexisting) * time.Second)
	i := 0
	for k, s := range specs {
		m := &merchant{
			Merchant: Merchant{
				USCC: codes[k], Name: s.name, Township: s.township.Code, TownshipName: s.township.Name,
				Industry: industries[s.ind].code, Address: s.address, Individual: s.individual,
				RegisteredAt: s.registered,
			},
			order:  k,
			ind:    industries[s.ind],
			risk:   r.lognormal(1, 1, .05, 40),
			listed: map[string]*listingRec{},
		}
		if s.registered.Before(g.w.start) {
			m.regEvent = loadStart.Add(time.Duration(i) * time.Second)
			m.active = loadEnd.Add(time.Hour)
			i++
		} else {
			m.regEvent = s.registered.Add(time.Duration(10+r.intn(110)) * time.Minute)
			m.active = m.regEvent.Add(time.Hour)
		}
		g.ms = append(g.ms, m)
		g.byCode[m.Industry] = append(g.byCode[m.Industry], m)
		data := events.MerchantRegistered{
			Name: m.Name, Township: m.Township, Industry: m.Industry, Address: m.Address, RegisteredAt: m.RegisteredAt,
		}
		g.emit(m.regEvent, "amr", "reg", events.TypeMerchantRegistered, m.USCC, nil, func() any { return data })
	}
}

// pinnedMerchant returns the i-th pinned merchant, or nil when the register is smaller.
func (g *gen) pinnedMerchant(i int) *merchant {
	if i < len(g.ms) && i < len(pinned) {
		return g.ms[i]
	}
	return nil
}

// merchantsOf lists the merchants of the given classes, in register order.
func (g *gen) merchantsOf(codes []string) []*merchant {
	var out []*merchant
	for _, c := range codes {
		out = append(out, g.byCode[c]...)
	}
	slices.SortFunc(out, func(a, b *merchant) int { return cmp.Compare(a.order, b.order) })
	return out
}
