package linking

import (
	"testing"

	"github.com/lizhou/fangxin/projections"
)

func TestName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"广元市利州区嘉陵街道老张火锅店", "老张火锅"},
		{"老张火锅（万达店）", "老张火锅"},
		{"老张 火锅 (二分店)", "老张火锅"},
		{"老张火锅分店", "老张火锅"},
		{"广元蜀香餐饮管理有限公司", "蜀香餐饮管理"},
		{"四川蜀道商贸有限责任公司", "蜀道商贸"},
		{"利州区康泰大药房股份有限公司", "康泰大药房"},
		{"王记面馆（个体工商户）", "王记面馆"},
		{"广元市蜀香（利州）餐饮有限公司", "蜀香利州餐饮"}, // a region in brackets keeps its words
		{"ＡＢＣ超市", "abc超市"},
		{"利州烧烤店", "利州烧烤"}, // 利州 as a brand stays
		{"店", "店"},
	} {
		if got := Name(tc.in); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct{ in, rest, township string }{
		{"四川省广元市利州区嘉陵街道蜀门北路12号", "蜀门北路12号", "510802002"},
		{"广元市利州区 嘉陵街道 蜀门北路１２号", "蜀门北路12号", "510802002"},
		{"蜀门北路12号", "蜀门北路12号", ""},
		{"利州区荣山镇皇泽村2组", "皇泽村2组", "510802100"},
	} {
		rest, town := Address(tc.in)
		if rest != tc.rest || town != tc.township {
			t.Errorf("Address(%q) = %q, %q; want %q, %q", tc.in, rest, town, tc.rest, tc.township)
		}
	}
}

func TestPick(t *testing.T) {
	jialing := projections.MerchantHit{USCC: "A", Name: "广元市利州区嘉陵街道老张火锅店", Township: "510802002", Address: "四川省广元市利州区嘉陵街道蜀门北路12号"}
	dongba := projections.MerchantHit{USCC: "B", Name: "利州区东坝街道老张火锅店", Township: "510802001", Address: "四川省广元市利州区东坝街道新民街3号"}
	neighbour := projections.MerchantHit{USCC: "C", Name: "利州区嘉陵街道好再来面馆", Township: "510802002", Address: "四川省广元市利州区嘉陵街道蜀门北路12号"}
	for _, tc := range []struct {
		name string
		q    Query
		hits []projections.MerchantHit
		want string // "" = no confident link
	}{
		{"branch and township", Query{Name: "老张火锅（万达店）", Address: "嘉陵街道蜀门北路12号"}, []projections.MerchantHit{jialing, dongba}, "A"},
		{"address typo", Query{Name: "老张火锅店", Address: "蜀门北路13号", Township: "嘉陵街道"}, []projections.MerchantHit{jialing, dongba}, "A"},
		{"same name, other township", Query{Name: "老张火锅店", Address: "广元市利州区河西街道则天北路5号"}, []projections.MerchantHit{jialing, dongba}, ""},
		{"township given differs", Query{Name: "老张火锅店", Address: "蜀门北路12号", Township: "510802003"}, []projections.MerchantHit{jialing}, ""},
		{"neighbour at the address", Query{Name: "金满堂茶楼", Address: "嘉陵街道蜀门北路12号"}, []projections.MerchantHit{jialing, neighbour}, ""},
		{"no address: two shops of the name", Query{Name: "老张火锅店"}, []projections.MerchantHit{jialing, dongba}, ""},
		{"no candidates", Query{Name: "路边修鞋摊", Address: "新民街"}, nil, ""},
	} {
		got, ok := DefaultPolicy.Pick(Rank(tc.q, tc.hits))
		if ok != (tc.want != "") || ok && got.USCC != tc.want {
			t.Errorf("%s: Pick = %+v, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

// FuzzScore: any text from a work order scores in [0, 1] without panicking, and a merchant
// scored against its own registered name and address agrees with itself.
func FuzzScore(f *testing.F) {
	for _, s := range [][2]string{{"老张火锅（万达店）", "嘉陵街道蜀门北路12号"}, {"（（", "）"}, {"", ""}, {"ＡＢＣ有限公司", "利州区"}, {"店", "四川省"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, addr string) {
		m := Score(Query{Name: name, Address: addr}, projections.MerchantHit{USCC: "X", Name: "广元市利州区嘉陵街道老张火锅店", Address: "四川省广元市利州区嘉陵街道蜀门北路12号", Township: "510802002"})
		if m.Score < 0 || m.Score > 1 || m.NameScore < 0 || m.NameScore > 1 || m.AddressScore < 0 || m.AddressScore > 1 {
			t.Fatalf("scores out of range: %+v", m)
		}
		self := Score(Query{Name: name, Address: addr}, projections.MerchantHit{USCC: "Y", Name: name, Address: addr})
		if Name(name) != "" && self.NameScore != 1 {
			t.Fatalf("a name against itself scores %v", self.NameScore)
		}
	})
}
