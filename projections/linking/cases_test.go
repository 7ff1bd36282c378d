package linking_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lizhou/fangxin/demo"
	"github.com/lizhou/fangxin/projections/linking"
)

// The labelled set: work orders as hotlines write them, each with the merchant it names (or ""
// when it names none in the register). The register is the demo's, regenerated from a fixed seed;
// the cases are generated once (go test ./projections/linking -run TestCases -update) and kept in
// testdata/cases.json, so the figures do not move when the generator does.

var update = flag.Bool("update", false, "regenerate testdata/cases.json")

// registerConfig is the register the cases were drawn from: the demo's default district.
var registerConfig = demo.Config{Seed: demo.DefaultSeed, Merchants: demo.DefaultMerchants, Events: demo.DefaultMerchants + 1}

type labelledCase struct {
	Kind     string `json:"kind"`
	Name     string `json:"merchant_name"`
	Address  string `json:"address"`
	Township string `json:"township,omitempty"`
	Want     string `json:"want"` // USCC, or "" when the shop is not in the register
}

const casesFile = "testdata/cases.json"

func loadCases(t testing.TB) []labelledCase {
	t.Helper()
	b, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatal(err)
	}
	var cs []labelledCase
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestCases(t *testing.T) {
	if *update {
		ds := demo.Generate(registerConfig)
		cs := generateCases(ds.Merchants)
		b, err := json.MarshalIndent(cs, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(casesFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(casesFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cs := loadCases(t)
	kinds := map[string]int{}
	known := 0
	for _, c := range cs {
		kinds[c.Kind]++
		if c.Want != "" {
			known++
		}
	}
	if len(cs) < 200 || known < 100 || len(cs)-known < 50 {
		t.Fatalf("labelled set: %d cases, %d naming a registered merchant: want ≥ 200, ≥ 100 and ≥ 50 unknown", len(cs), known)
	}
	t.Logf("%d cases by kind: %v", len(cs), kinds)
}

var (
	addrRe = regexp.MustCompile(`^(?:四川省)?广元市利州区(\p{Han}+?(?:街道|镇|乡))(.*)$`)
	numRe  = regexp.MustCompile(`\d+`)
)

// generateCases draws the labelled set from the register with realistic noise.
func generateCases(ms []demo.Merchant) []labelledCase {
	r := rand.New(rand.NewPCG(2018, 12))
	pick := func(ss []string) string { return ss[r.IntN(len(ss))] }
	byCore := map[string][]demo.Merchant{}
	for _, m := range ms {
		k := linking.Name(m.Name)
		byCore[k] = append(byCore[k], m)
	}
	roads := map[string][]string{} // township name -> its streets, from the register's addresses
	for _, m := range ms {
		if sm := addrRe.FindStringSubmatch(m.Address); sm != nil {
			if road := numRe.Split(sm[2], 2)[0]; !strings.Contains(road, "村") && !slices.Contains(roads[sm[1]], road) {
				roads[sm[1]] = append(roads[sm[1]], road)
			}
		}
	}
	for _, rs := range roads {
		slices.Sort(rs)
	}
	perm := r.Perm(len(ms))
	var cs []labelledCase
	add := func(kind string, m *demo.Merchant, name, addr string) {
		c := labelledCase{Kind: kind, Name: name, Address: addr}
		if m != nil {
			c.Want = m.USCC
			if r.IntN(2) == 0 { // half the work orders carry the township the call-taker chose
				c.Township = m.TownshipName
			}
		}
		cs = append(cs, c)
	}
	short := func(m demo.Merchant) string { return strings.TrimPrefix(m.Address, "四川省") }
	next := 0
	draw := func() demo.Merchant { m := ms[perm[next]]; next++; return m }

	// Shops callers name as people know them (the demo's own unlinking).
	for range 30 {
		m := draw()
		add("common", &m, commonName(m), short(m))
	}
	// A branch in brackets or behind the name.
	for range 25 {
		m := draw()
		br := pick([]string{"（万达店）", "(南河店)", "（二分店）", "（总店）", "（吉利广场店）", "分店", "（利州东路店）"})
		add("branch", &m, commonName(m)+br, short(m))
	}
	// The registered name with its company form left out and spaces in it.
	for range 25 {
		m := draw()
		n := strings.TrimSuffix(strings.TrimSuffix(m.Name, "有限公司"), "店")
		rs := []rune(n)
		i := 2 + r.IntN(max(1, len(rs)-3))
		add("form", &m, string(rs[:i])+" "+string(rs[i:]), m.Address)
	}
	// The full registered name written with ASCII brackets and full-width digits in the address.
	for range 20 {
		m := draw()
		add("width", &m, strings.NewReplacer("（", "(", "）", ")").Replace(m.Name), toFullWidth(short(m)))
	}
	// Typos in the address: a digit of the house number, the 附 part lost, the district left out.
	for range 30 {
		m := draw()
		a := short(m)
		switch r.IntN(3) {
		case 0:
			if loc := numRe.FindStringIndex(a); loc != nil {
				d := a[loc[1]-1]
				nd := byte('0' + (int(d-'0')+1+r.IntN(8))%10)
				a = a[:loc[1]-1] + string(nd) + a[loc[1]:]
			}
		case 1:
			if i := strings.Index(a, "附"); i > 0 {
				a = a[:i]
			} else {
				a = strings.Replace(a, "号", "", 1)
			}
		default:
			if sm := addrRe.FindStringSubmatch(m.Address); sm != nil {
				a = sm[2] // the street only
			}
		}
		add("address-typo", &m, commonName(m), a)
	}
	// A wrong character in the name (a homophone the call-taker typed).
	for range 15 {
		m := draw()
		n := []rune(commonName(m))
		if len(n) > 3 {
			i := r.IntN(len(n) - 1)
			n[i] = []rune(pick([]string{"家", "佳", "利", "力", "兴", "新", "鑫", "顺"}))[0]
		}
		add("name-typo", &m, string(n), short(m))
	}
	// The same name in another township: another shop, not in the register.
	towns := []string{"东坝街道", "嘉陵街道", "河西街道", "雪峰街道", "南河街道", "上西街道", "万缘街道", "荣山镇", "大石镇", "宝轮镇", "三堆镇"}
	for n := 0; n < 30; {
		m := draw()
		other := pick(towns)
		if other == m.TownshipName {
			continue
		}
		clash := false
		for _, o := range byCore[linking.Name(m.Name)] {
			if o.TownshipName == other {
				clash = true
			}
		}
		if clash {
			continue
		}
		n++
		road := "正街"
		if len(roads[other]) > 0 {
			road = pick(roads[other])
		}
		c := labelledCase{Kind: "other-township", Name: commonName(m), Address: fmt.Sprintf("广元市利州区%s%s%d号", other, road, 1+r.IntN(200))}
		if r.IntN(2) == 0 {
			c.Township = other
		}
		cs = append(cs, c)
	}
	// Street stalls and shops that are in no register, at real addresses.
	stalls := []string{"路边烧烤摊", "流动水果摊", "夜市小吃摊", "无名卤菜摊", "早餐摊点", "修鞋摊", "无证小诊所", "黑网吧", "无牌照补习班", "临时服装摊"}
	for range 25 {
		m := draw()
		road := "正街"
		if sm := addrRe.FindStringSubmatch(m.Address); sm != nil {
			road = numRe.Split(sm[2], 2)[0]
		}
		add("stall", nil, m.TownshipName+road+pick(stalls), "广元市利州区"+m.TownshipName+road+"附近")
	}
	newBrands := []string{"金满堂", "好再来", "福临门", "老地方", "一品香", "小肥羊", "大碗", "乡巴佬", "诚信", "正宗"}
	shops := []string{"火锅店", "烧烤店", "超市", "药房", "美容院", "健身房", "培训班", "茶楼", "面馆", "干洗店"}
	for n := 0; n < 30; {
		m := draw()
		name := pick(newBrands) + pick(shops)
		if len(byCore[linking.Name(name)]) > 0 {
			continue
		}
		n++
		a := numRe.ReplaceAllStringFunc(short(m), func(s string) string { v, _ := strconv.Atoi(s); return strconv.Itoa(v + 1 + r.IntN(9)) })
		add("unknown-shop", nil, name, a)
	}
	// A neighbour: another shop's name at a registered merchant's address.
	for range 20 {
		m := draw()
		name := pick(newBrands) + pick(shops)
		if len(byCore[linking.Name(name)]) > 0 {
			name = "新开" + name
		}
		add("neighbour", nil, name, short(m))
	}
	slices.SortStableFunc(cs, func(a, b labelledCase) int { return strings.Compare(a.Kind, b.Kind) })
	return cs
}

// commonName is how a caller names a shop: without the district, township and company form.
func commonName(m demo.Merchant) string {
	n := m.Name
	for _, p := range []string{"广元市利州区", "利州区", "广元市", "广元", "四川"} {
		n = strings.TrimPrefix(n, p)
	}
	n = strings.TrimPrefix(n, m.TownshipName)
	n = strings.TrimSuffix(n, "有限公司")
	if n == "" {
		return m.Name
	}
	return n
}

func toFullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r + 0xfee0
		}
		return r
	}, s)
}
