package demo

import (
	"fmt"
	"math"
	"time"

	"github.com/lizhou/fangxin/events"
)

// Business records behind the events, and the helpers that emit them. Identifiers that follow
// a unit's own numbering (complaint ids, decision numbers, certificate numbers) are given in
// time order by the numberer, after all events are drafted.

// penaltyRec is an administrative penalty (行政处罚).
type penaltyRec struct {
	m          *merchant
	key        string
	basis      penaltyBasis
	t          time.Time
	kind       string
	fine       float64 // 0: none
	decisionNo string
}

// penalize drafts a penalty of the given basis against m at t (moved into office hours). It
// returns nil when t is outside the period or m no longer trades.
func (g *gen) penalize(r *rng, m *merchant, key string, t time.Time) *penaltyRec {
	b, ok := penaltyBases[key]
	if !ok {
		panic("demo: unknown penalty basis " + key)
	}
	t = laterWork(r, t, 0)
	if !g.w.contains(t) || !t.After(m.active) {
		return nil
	}
	p := &penaltyRec{m: m, key: key, basis: b, t: t, kind: b.kind}
	if b.fineHi > 0 {
		p.fine = roundFine(b.fineLo + (b.fineHi-b.fineLo)*math.Pow(r.float(), 2))
	}
	if p.kind == "fine" && p.fine == 0 {
		p.kind = "warning"
	}
	return g.addPenalty(p)
}

func (g *gen) addPenalty(p *penaltyRec) *penaltyRec {
	prefix := decisionPrefixes[p.basis.bureau]
	year := p.t.Year()
	ok := g.emit(p.t, p.basis.bureau, "pen", events.TypePenaltyImposed, p.m.USCC,
		func(nb *numberer) {
			p.decisionNo = fmt.Sprintf("%s〔%d〕%d号", prefix, year, nb.next(prefix, year))
		},
		func() any {
			d := events.PenaltyImposed{DecisionNo: p.decisionNo, Kind: p.kind, LegalBasis: p.basis.basis, DecidedAt: p.t}
			if p.fine > 0 {
				d.FineCNY = ptr(p.fine)
			}
			return d
		})
	if !ok {
		return nil
	}
	p.m.penalties = append(p.m.penalties, p)
	g.penalties = append(g.penalties, p)
	return p
}

// roundFine rounds a fine to a figure a decision would state.
func roundFine(v float64) float64 {
	switch {
	case v >= 10000:
		return math.Round(v/1000) * 1000
	case v >= 1000:
		return math.Round(v/100) * 100
	default:
		return math.Round(v/50) * 50
	}
}

// listingRec is a listing in a credit list (经营异常名录, 严重违法失信名单) and its end.
type listingRec struct {
	m        *merchant
	list     string
	t        time.Time
	reason   func() string
	delisted time.Time
}

// list drafts m's listing; it returns nil if m is already on that list (a merchant is put on a
// list at most once in the period) or t is outside the period.
func (g *gen) list(m *merchant, list string, t time.Time, reason func() string) *listingRec {
	if m.listed[list] != nil || !t.After(m.active) {
		return nil
	}
	l := &listingRec{m: m, list: list, t: t, reason: reason}
	if !g.emit(t, "amr", "list", events.TypeCreditListed, m.USCC, nil, func() any {
		return events.CreditListed{List: list, Reason: l.reason(), ListedAt: t}
	}) {
		return nil
	}
	m.listed[list] = l
	return l
}

// delist drafts the end of a listing.
func (g *gen) delist(l *listingRec, t time.Time, reason string) {
	if l == nil || !l.delisted.IsZero() || !t.After(l.t) {
		return
	}
	if g.emit(t, "amr", "delist", events.TypeCreditDelisted, l.m.USCC, nil, func() any {
		return events.CreditDelisted{List: l.list, Reason: reason, DelistedAt: t}
	}) {
		l.delisted = t
	}
}

// certRec is a title or certificate (放心舒心消费示范单位, 星级农家乐…).
type certRec struct {
	m          *merchant
	scheme     string
	bureau     string
	prefix     string // certificate number prefix, e.g. LZFX
	id         string
	t          time.Time
	level      string
	validUntil time.Time
	revoked    time.Time
}

// grant drafts a certification; nil if m holds one of the scheme already or t is outside the
// period.
func (g *gen) grant(m *merchant, scheme, bureau, prefix string, t time.Time, level string, years int) *certRec {
	for _, c := range m.certs {
		if c.scheme == scheme && c.revoked.IsZero() {
			return nil
		}
	}
	if !m.trades(t) {
		return nil
	}
	c := &certRec{m: m, scheme: scheme, bureau: bureau, prefix: prefix, t: t, level: level,
		validUntil: midnight(t).AddDate(years, 0, 0).Add(-time.Second)}
	year := t.Year()
	if !g.emit(t, bureau, "grant", events.TypeCertificationGranted, m.USCC,
		func(nb *numberer) { c.id = fmt.Sprintf("%s-%d-%03d", prefix, year, nb.next(prefix, year)) },
		func() any {
			return events.CertificationGranted{CertID: c.id, Scheme: scheme, GrantedAt: t, Level: level, ValidUntil: ptr(c.validUntil)}
		}) {
		return nil
	}
	m.certs = append(m.certs, c)
	g.certs = append(g.certs, c)
	return c
}

// revoke drafts the revocation of c at t.
func (g *gen) revoke(c *certRec, t time.Time, reason func() string) bool {
	if c == nil || !c.revoked.IsZero() || !t.After(c.t) || !t.Before(c.validUntil) {
		return false
	}
	if !g.emit(t, c.bureau, "revoke", events.TypeCertificationRevoked, c.m.USCC, nil, func() any {
		return events.CertificationRevoked{CertID: c.id, Scheme: c.scheme, RevokedAt: t, Reason: reason()}
	}) {
		return false
	}
	c.revoked = t
	return true
}

// cert returns m's unrevoked certification of a scheme, or nil.
func (m *merchant) cert(scheme string) *certRec {
	for _, c := range m.certs {
		if c.scheme == scheme && c.revoked.IsZero() {
			return c
		}
	}
	return nil
}

// inspectionPrefixes are the units' inspection and sample numbering prefixes.
var inspectionPrefixes = map[string]string{"amr": "LZSJ", "quality": "LZZJ", "health": "LZWJ", "tourism": "LZLY"}

// inspect drafts an inspection.completed and returns its time, or false when it falls outside
// the period.
func (g *gen) inspect(m *merchant, bureau, kind, result, findings string, t time.Time) bool {
	if !m.trades(t) {
		return false
	}
	var id string
	prefix := inspectionPrefixes[bureau] + "-JC"
	year := t.Year()
	return g.emit(t, bureau, "insp", events.TypeInspectionCompleted, m.USCC,
		func(nb *numberer) { id = fmt.Sprintf("%s-%d-%05d", prefix, year, nb.next(prefix, year)) },
		func() any {
			return events.InspectionCompleted{InspectionID: id, Kind: kind, Result: result, InspectedAt: t, Findings: findings}
		})
}

// sampleRec is a product sample (抽样检验).
type sampleRec struct {
	m       *merchant
	bureau  string
	product string
	t       time.Time
	id      string
	pass    bool
}

func (g *gen) sample(s *sampleRec) bool {
	if !s.m.trades(s.t) {
		return false
	}
	prefix := inspectionPrefixes[s.bureau] + "-CY"
	year := s.t.Year()
	result := "fail"
	if s.pass {
		result = "pass"
	}
	return g.emit(s.t, s.bureau, "smp", events.TypeSamplingCompleted, s.m.USCC,
		func(nb *numberer) { s.id = fmt.Sprintf("%s-%d-%05d", prefix, year, nb.next(prefix, year)) },
		func() any {
			return events.SamplingCompleted{SampleID: s.id, Product: s.product, Result: result, SampledAt: s.t}
		})
}

// warn drafts a consumer warning (消费警示) about m. Warnings carry the merchant as subject: the
// v1 contract requires a subject on every bureau event but unlinked complaints.
func (g *gen) warn(m *merchant, bureau string, t time.Time, title string, body func() string, withPlace bool) bool {
	if !t.After(m.active) {
		return false
	}
	return g.emit(t, bureau, "warn", events.TypeWarningIssued, m.USCC, nil, func() any {
		w := events.WarningIssued{Title: title, Body: body(), IssuedAt: t}
		if withPlace {
			w.Industry, w.Township = m.Industry, m.Township
		}
		return w
	})
}

// bureauName is a unit's Chinese name from the registry, e.g. 区食品药品和工商局.
func bureauName(code string) string {
	if b, ok := events.LookupBureau(code); ok {
		return b.NameZH
	}
	return code
}
