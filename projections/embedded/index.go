package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Field names of the search documents.
const (
	fText      = "text"
	fUSCC      = "uscc"
	fTownship  = "township"
	fIndustry  = "industry"
	fCertified = "certified"
	fListed    = "listed"
	fType      = "type"
	fBureau    = "bureau"
	fMerchant  = "merchant"
	fDay       = "day"
	fDocID     = "_id" // bleve's own field of the document id
)

// merchantDoc is a merchant's search document, id = USCC. Text holds the name and the address.
type merchantDoc struct {
	USCC      string   `json:"uscc"`
	Text      []string `json:"text"`
	Township  string   `json:"township"`
	Industry  string   `json:"industry"`
	Certified bool     `json:"certified"`
	Listed    bool     `json:"listed"`
}

func (d *merchantDoc) equal(o *merchantDoc) bool {
	return d.USCC == o.USCC && slices.Equal(d.Text, o.Text) && d.Township == o.Township &&
		d.Industry == o.Industry && d.Certified == o.Certified && d.Listed == o.Listed
}

func newMerchantDoc(p *projections.MerchantProfile) *merchantDoc {
	return &merchantDoc{
		USCC:      p.USCC,
		Text:      nonEmpty(p.Name, p.Address),
		Township:  p.Township,
		Industry:  p.Industry,
		Certified: p.Certified(),
		Listed:    p.Listed(),
	}
}

// eventDoc is an event's search document. Its id is Order, the sort key (sortKey: the time, newest
// first, then the event key), so that searches sort by bleve's document id (every index has it)
// instead of a sort field with doc values, and the event key is the id without its first 16
// characters (eventKeyOf). Text holds the event's words and the merchant's name; each element is
// a separate value, so a phrase never spans two of them.
//
// The event's time is indexed for the From/To window (eventWindow) by Day, its day (dayOf), and
// by the id, which begins with the exact time. A bleve datetime field costs sixteen
// prefix-coded terms per document for the same answers, and a sort field one more unique term
// per document: building the index of the same 300k events took 162 s of CPU with both (GOGC
// 100), 102 s with the day keyword and the sort field; and at GOGC 400, 76 s with the sort field,
// 69 s without it, where sorting by the id also made event searches faster (text: p50 212 -> 111
// ms on a loaded machine).
type eventDoc struct {
	Text     []string `json:"text"`
	Type     string   `json:"type"`
	Bureau   string   `json:"bureau"`
	Township string   `json:"township"`
	Merchant string   `json:"merchant"`
	Day      string   `json:"day"`
	Order    string   `json:"-"` // the document id
}

// newEventDoc builds the document of ev; p is the merchant's current profile (nil for unlinked
// events). Personal data never gets here: only the named fields of Data are read.
func newEventDoc(e projections.TimelineEntry, p *projections.MerchantProfile) *eventDoc {
	ev := e.Event
	d := &eventDoc{
		Type:     ev.Type,
		Bureau:   ev.Bureau(),
		Merchant: e.Merchant(),
		Day:      dayOf(ev.Time),
		Order:    sortKey(ev.Time, ev.Key()),
	}
	var township string
	data, err := events.DecodeData(ev)
	if err == nil {
		switch x := data.(type) {
		case *events.ComplaintReceived:
			d.Text = nonEmpty(x.Summary, x.Category, x.MerchantName)
			township = x.Township
		case *events.InspectionCompleted:
			d.Text = nonEmpty(x.Findings)
		case *events.SamplingCompleted:
			d.Text = nonEmpty(x.Product)
		case *events.PenaltyImposed:
			d.Text = nonEmpty(x.LegalBasis)
		case *events.WarningIssued:
			d.Text = nonEmpty(x.Title, x.Body)
			township = x.Township
		}
	}
	if township != "" {
		d.Township, _ = events.NormalizeTownship(township)
	}
	if p != nil {
		if p.Name != "" {
			d.Text = append(d.Text, p.Name)
		}
		if d.Township == "" {
			d.Township = p.Township
		}
	}
	return d
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// newMapping is the static mapping both indexes use: only the fields above are indexed, nothing
// is stored (hits are read back from bbolt), and there is no composite _all field (every query
// names its fields).
func newMapping(textFields []string, keywords []string, sortable []string, bools []string) *mapping.IndexMappingImpl {
	dm := bleve.NewDocumentStaticMapping()
	for _, f := range textFields {
		m := bleve.NewTextFieldMapping()
		m.Analyzer = cjk.AnalyzerName
		m.Store, m.IncludeInAll, m.DocValues = false, false, false
		m.IncludeTermVectors = true // positions: phrase queries need them
		dm.AddFieldMappingsAt(f, m)
	}
	for _, f := range keywords {
		m := bleve.NewKeywordFieldMapping()
		m.Store, m.IncludeInAll, m.IncludeTermVectors = false, false, false
		m.DocValues = slices.Contains(sortable, f)
		dm.AddFieldMappingsAt(f, m)
	}
	for _, f := range bools {
		m := bleve.NewBooleanFieldMapping()
		m.Store, m.IncludeInAll, m.DocValues = false, false, false
		dm.AddFieldMappingsAt(f, m)
	}
	dm.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	im := bleve.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultField = fText
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false
	return im
}

func merchantMapping() *mapping.IndexMappingImpl {
	return newMapping([]string{fText}, []string{fUSCC, fTownship, fIndustry}, []string{fUSCC},
		[]string{fCertified, fListed})
}

func eventMapping() *mapping.IndexMappingImpl {
	return newMapping([]string{fText}, []string{fType, fBureau, fTownship, fMerchant, fDay}, nil, nil)
}

// docVersion changes whenever the search documents change in a way the mapping does not show
// (what a field holds, how it is derived): indexes built by another version are re-created.
const docVersion = "3"

// keyMapping is the internal key of an index that holds the fingerprint of the mapping and
// document version it was built with.
var keyMapping = []byte("fangxin.mapping")

// fingerprint identifies m together with docVersion. encoding/json writes map keys sorted, so
// the same mapping always gives the same fingerprint.
func fingerprint(m mapping.IndexMapping) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append(append(b, 0), docVersion...))
	return []byte(hex.EncodeToString(sum[:])), nil
}

// scorchConfig is passed at creation and at every open. unsafe_batch false (scorch's default,
// stated here so no one flips it by accident) makes Batch wait until the batch is persisted.
func scorchConfig() map[string]any {
	return map[string]any{"unsafe_batch": false}
}

// openIndex opens the index at path, or creates it with m when it is missing, unreadable or was
// built with another mapping or document version (its fingerprint differs, or it has none: it
// was built before fingerprints, or a crash interrupted its creation); created reports the
// latter, and the caller then re-indexes from bbolt.
func openIndex(path string, m mapping.IndexMapping) (idx bleve.Index, created bool, err error) {
	want, err := fingerprint(m)
	if err != nil {
		return nil, false, err
	}
	idx, err = bleve.OpenUsing(path, scorchConfig())
	switch {
	case err == nil:
		have, err := idx.GetInternal(keyMapping)
		if err != nil {
			idx.Close()
			return nil, false, fmt.Errorf("embedded: open %s: %w", path, err)
		}
		if bytes.Equal(have, want) {
			return idx, false, nil
		}
		// Built for another mapping: its documents would answer wrongly. Start over.
		if err := idx.Close(); err != nil {
			return nil, false, fmt.Errorf("embedded: close %s: %w", path, err)
		}
	case !errors.Is(err, bleve.ErrorIndexPathDoesNotExist) && !errors.Is(err, bleve.ErrorIndexMetaMissing) &&
		!errors.Is(err, bleve.ErrorIndexMetaCorrupt):
		return nil, false, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	// Missing, outdated, or left half-created by a crash: start over. bbolt holds everything it
	// had.
	if err := os.RemoveAll(path); err != nil {
		return nil, false, err
	}
	idx, err = bleve.NewUsing(path, m, scorch.Name, scorch.Name, scorchConfig())
	if err != nil {
		return nil, false, fmt.Errorf("embedded: create %s: %w", path, err)
	}
	// Persisted before any document: an index without it is re-created at the next Open.
	if err := idx.SetInternal(keyMapping, want); err != nil {
		idx.Close()
		return nil, false, fmt.Errorf("embedded: create %s: %w", path, err)
	}
	return idx, true, nil
}

// uscc alphabet: digits and upper-case letters without I, O, Z, S, V.
var codeLike = regexp.MustCompile(`^[0-9A-HJ-NP-RT-UW-Y]{2,18}$`)

// looksLikeCode reports whether a query word may be a unified social credit code prefix.
func looksLikeCode(w string) bool {
	return codeLike.MatchString(w) && strings.ContainsAny(w, "0123456789")
}

// wordQuery is the query for one word of the text: a phrase of the cjk analyzer's tokens in one
// value of the field. nil means the word has no searchable token (punctuation) and is ignored.
func wordQuery(a analysis.Analyzer, field, word string) query.Query {
	tokens := a.Analyze([]byte(word))
	if len(tokens) == 0 {
		return nil
	}
	if r, n := utf8.DecodeRuneInString(word); n == len(word) && isHan(r) {
		// A lone character: the index holds it only inside bigrams, so match every bigram that
		// starts or ends with it (and the character where it stands alone).
		pre := query.NewPrefixQuery(word)
		pre.SetField(field)
		suf := query.NewRegexpQuery("." + regexp.QuoteMeta(word))
		suf.SetField(field)
		return query.NewDisjunctionQuery([]query.Query{pre, suf})
	}
	q := query.NewMatchPhraseQuery(word)
	q.SetField(field)
	return q
}

func isHan(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r)
}

func termQuery(field, term string) query.Query {
	q := query.NewTermQuery(term)
	q.SetField(field)
	return q
}

func anyTerm(field string, terms []string) query.Query {
	qs := make([]query.Query, 0, len(terms))
	for _, t := range terms {
		qs = append(qs, termQuery(field, t))
	}
	return query.NewDisjunctionQuery(qs)
}

func conjunction(qs []query.Query) query.Query {
	switch len(qs) {
	case 0:
		return query.NewMatchAllQuery()
	case 1:
		return qs[0]
	}
	return query.NewConjunctionQuery(qs)
}

// merchantQuery translates q; the caller has validated the paging.
func merchantQuery(a analysis.Analyzer, q projections.MerchantQuery) query.Query {
	var qs []query.Query
	for _, w := range strings.Fields(q.Q) {
		wq := wordQuery(a, fText, w)
		if up := strings.ToUpper(w); looksLikeCode(up) {
			code := query.NewPrefixQuery(up)
			code.SetField(fUSCC)
			if wq == nil {
				wq = code
			} else {
				wq = query.NewDisjunctionQuery([]query.Query{code, wq})
			}
		}
		if wq != nil {
			qs = append(qs, wq)
		}
	}
	if q.Township != "" {
		code, _ := events.NormalizeTownship(q.Township)
		qs = append(qs, termQuery(fTownship, code))
	}
	if q.Industry != "" {
		pq := query.NewPrefixQuery(strings.ToUpper(q.Industry))
		pq.SetField(fIndustry)
		qs = append(qs, pq)
	}
	if q.Certified != nil {
		bq := query.NewBoolFieldQuery(*q.Certified)
		bq.SetField(fCertified)
		qs = append(qs, bq)
	}
	if q.Listed != nil {
		bq := query.NewBoolFieldQuery(*q.Listed)
		bq.SetField(fListed)
		qs = append(qs, bq)
	}
	return conjunction(qs)
}

// eventQuery translates q; the caller has validated the paging.
func eventQuery(a analysis.Analyzer, q projections.EventQuery) query.Query {
	var qs []query.Query
	for _, w := range strings.Fields(q.Q) {
		if wq := wordQuery(a, fText, w); wq != nil {
			qs = append(qs, wq)
		}
	}
	if len(q.Types) > 0 {
		qs = append(qs, anyTerm(fType, q.Types))
	}
	if len(q.Bureaus) > 0 {
		qs = append(qs, anyTerm(fBureau, q.Bureaus))
	}
	if q.Township != "" {
		code, _ := events.NormalizeTownship(q.Township)
		qs = append(qs, termQuery(fTownship, code))
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		qs = append(qs, eventWindow(q.From, q.To))
	}
	return conjunction(qs)
}

// dayOf is the day of t in China Standard Time (UTC+8, no daylight saving since 1991) as
// YYYYMMDD, so that days sort as strings and a window from one local midnight to another covers
// whole days. (Any fixed split into days would give the same answers; this one makes the usual
// windows cheap.)
func dayOf(t time.Time) string {
	return t.UTC().Add(cstOffset).Format(dayLayout)
}

const (
	cstOffset = 8 * time.Hour
	dayLayout = "20060102"
)

// startOfDay is the first instant of t's day (dayOf); endOfDay is its last.
func startOfDay(t time.Time) time.Time {
	u := t.UTC().Add(cstOffset)
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC).Add(-cstOffset)
}

func endOfDay(t time.Time) time.Time {
	return startOfDay(t).Add(24*time.Hour - time.Nanosecond)
}

// eventWindow matches exactly the events with from ≤ time < to (a zero bound is open): the days
// wholly inside the window by the day field, the parts of the first and the last day inside it
// by a range of the sort key (whose first 16 characters encode the time), which enumerates at
// most those two days' events.
func eventWindow(from, to time.Time) query.Query {
	lo, hi := from, to.Add(-time.Nanosecond) // inclusive bounds, where set
	if !from.IsZero() && !to.IsZero() {
		if hi.Before(lo) {
			return query.NewMatchNoneQuery()
		}
		if dayOf(lo) == dayOf(hi) {
			if lo.Equal(startOfDay(lo)) && hi.Equal(endOfDay(hi)) {
				return termQuery(fDay, dayOf(lo))
			}
			return orderRange(lo, hi)
		}
	}
	var parts []query.Query
	var firstDay, lastDay string // the days wholly inside: firstDay ≤ day ≤ lastDay ("" = open)
	if !from.IsZero() {
		if lo.Equal(startOfDay(lo)) {
			firstDay = dayOf(lo)
		} else {
			parts = append(parts, orderRange(lo, endOfDay(lo)))
			firstDay = dayOf(endOfDay(lo).Add(time.Nanosecond))
		}
	}
	if !to.IsZero() {
		if hi.Equal(endOfDay(hi)) {
			lastDay = dayOf(hi)
		} else {
			parts = append(parts, orderRange(startOfDay(hi), hi))
			lastDay = dayOf(startOfDay(hi).Add(-time.Nanosecond))
		}
	}
	if firstDay == "" || lastDay == "" || firstDay <= lastDay {
		incl := true
		dq := query.NewTermRangeInclusiveQuery(firstDay, lastDay, &incl, &incl)
		dq.SetField(fDay)
		parts = append(parts, dq)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return query.NewDisjunctionQuery(parts)
}

// orderRange matches the events with lo ≤ time ≤ hi by their document ids, the sort keys
// (sortKey): a newer time has a smaller key, and every key of a time begins with the same 16
// characters.
func orderRange(lo, hi time.Time) query.Query {
	incl, excl := true, false
	newest, oldest := invTime(hi), invTime(lo)
	min := fmt.Sprintf("%016x", binary.BigEndian.Uint64(newest[:]))
	max := "" // open
	if v := binary.BigEndian.Uint64(oldest[:]); v < math.MaxUint64 {
		max = fmt.Sprintf("%016x", v+1)
	}
	q := query.NewTermRangeInclusiveQuery(min, max, &incl, &excl)
	q.SetField(fDocID)
	return q
}

// eventKeyOf is the event key of an events index document id (sortKey).
func eventKeyOf(docID string) (string, bool) {
	if len(docID) <= 16 {
		return "", false
	}
	return docID[16:], true
}
