// Package linking links events that name a shop and a street but no credit code (a 12345 work
// order: data.merchant_name and data.address, no subject) to a registered merchant.
//
// It has three parts:
//   - a normaliser (Name, Address) that takes out what callers and registers write differently:
//     the district in front (四川省广元市利州区, the township), the company form behind
//     (有限公司, 有限责任公司, 股份, 个体工商户, 分公司, 分店, 店), a branch in brackets
//     (（万达店）), spaces, punctuation and full-width letters;
//   - a matcher (Score, Rank, Policy) that scores a registered merchant against what the event
//     says: name similarity, address similarity, and whether the townships agree;
//   - a Linker, a watermill handler beside the projector that appends merchant.linked when the
//     best candidate is confident (Policy), with a deterministic id, so a redelivery appends
//     nothing new to the views.
//
// The figures of the matcher on the labelled set in testdata/ are in docs/performance.md.
package linking

import (
	"strings"
	"unicode"

	"github.com/lizhou/fangxin/events"
)

// regionPrefixes are the names of the province, city and district as they start registered
// names and addresses, longest first. Brand words that are also place names (利州, 嘉陵, 东坝)
// are not here: only the administrative forms (利州区, 嘉陵街道) are taken out.
var regionPrefixes = []string{"四川省", "广元市", "利州区", "四川", "广元"}

// formSuffixes are the company forms and shop words at the end of a name, longest first; Name
// takes them off repeatedly (…餐饮管理有限公司分公司 loses both).
var formSuffixes = []string{
	"股份有限公司", "有限责任公司", "有限公司", "个体工商户", "分公司", "营业部", "门市部",
	"股份", "公司", "分店", "总店", "门市", "店",
}

// branchWords end a bracketed part that names a branch: （万达店）, (二分店), （南河分公司）.
var branchWords = []string{"店", "分公司", "营业部", "门市", "门市部", "分部", "分号"}

// Name is the normalised core of a merchant's name: width folded, lower case, brackets of a branch
// dropped with their content (other brackets only lose the bracket characters), the district and
// township in front and the company form behind taken off, spaces and punctuation removed.
// 广元市利州区嘉陵街道老张火锅店（万达店） and 老张 火锅 both give 老张火锅.
func Name(s string) string {
	s = dropBranchBrackets(fold(s))
	s = clean(s)
	s = trimRegion(s)
	for changed := true; changed; {
		changed = false
		for _, suf := range formSuffixes {
			if rest, ok := strings.CutSuffix(s, suf); ok && len([]rune(rest)) >= 2 {
				s, changed = rest, true
			}
		}
	}
	return s
}

// Address is the normalised address: width folded, spaces and punctuation removed, the province,
// city, district and township in front taken off; township is the township (code) the address
// names, "" when it names none.
func Address(s string) (rest, township string) {
	s = clean(fold(s))
	rest = trimRegionOnly(s)
	for _, t := range events.Townships() {
		if after, ok := strings.CutPrefix(rest, t.Name); ok {
			return after, t.Code
		}
	}
	for _, t := range events.Townships() {
		if strings.Contains(rest, t.Name) {
			return rest, t.Code
		}
	}
	return rest, ""
}

// fold maps full-width ASCII to ASCII, the ideographic space to a space, and lower-cases.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u3000':
			return ' '
		case r >= '\uff01' && r <= '\uff5e' && r != '（' && r != '）':
			return unicode.ToLower(r - 0xfee0)
		}
		return unicode.ToLower(r)
	}, s)
}

// brackets pairs opening and closing brackets (after fold, （） are kept as they are).
var brackets = map[rune]rune{'(': ')', '（': '）', '[': ']', '【': '】', '〔': '〕'}

// dropBranchBrackets drops a bracketed part with its content when it names a branch, and only the
// bracket characters otherwise.
func dropBranchBrackets(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		closer, ok := brackets[rs[i]]
		if !ok {
			b.WriteRune(rs[i])
			continue
		}
		j := i + 1
		for j < len(rs) && rs[j] != closer {
			j++
		}
		inner := strings.TrimSpace(string(rs[i+1 : min(j, len(rs))]))
		if !isBranch(inner) {
			b.WriteString(inner)
		}
		i = j
	}
	return b.String()
}

func isBranch(s string) bool {
	for _, w := range branchWords {
		if strings.HasSuffix(s, w) {
			return true
		}
	}
	return false
}

// clean removes spaces, punctuation and symbols.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return -1
		}
		return r
	}, s)
}

// trimRegion takes the province, city, district and a township name off the front.
func trimRegion(s string) string {
	s = trimRegionOnly(s)
	for _, t := range events.Townships() {
		if rest, ok := strings.CutPrefix(s, t.Name); ok && rest != "" {
			return rest
		}
	}
	return s
}

func trimRegionOnly(s string) string {
	for changed := true; changed; {
		changed = false
		for _, p := range regionPrefixes {
			if rest, ok := strings.CutPrefix(s, p); ok && rest != "" {
				s, changed = rest, true
			}
		}
	}
	return s
}
