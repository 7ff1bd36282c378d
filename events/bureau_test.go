package events

import (
	"slices"
	"strings"
	"testing"
)

// designRegistry is DESIGN.md's "Bureau registry", in its order.
var designRegistry = [][2]string{
	{"propaganda", "区委宣传部"}, {"court", "区法院"}, {"drc", "区发展和改革局"},
	{"eit", "区经济科技和信息化局"}, {"education", "区教育局"}, {"police", "区公安分局"},
	{"finance", "区财政局"}, {"housing", "区城乡规划建设和住房保障局"}, {"transport", "区交通运输局"},
	{"water", "区水务局"}, {"agriculture", "区农业局"}, {"forestry", "区林业园林局"},
	{"commerce", "区商务局"}, {"health", "区卫生和计划生育局"}, {"environment", "区环保局"},
	{"culture", "区文广新局"}, {"statistics", "区统计局"}, {"tourism", "区旅游局"},
	{"safety", "区安监局"}, {"urban", "区城管分局"}, {"amr", "区食品药品和工商局"},
	{"quality", "区质监分局"}, {"tax", "区税务局"}, {"post", "邮政利州分公司"},
	{"legal", "区法制办"}, {"finance-office", "区金融办"}, {"civilization", "区文明办"},
	{"cca", "区消委会"}, {"tv", "利州电视台"},
	{"hotline-12345", ""}, {"hotline-12315", ""}, {"hotline-12331", ""},
}

func TestBureauRegistry(t *testing.T) {
	bs := Bureaus()
	if len(bs) != len(designRegistry) {
		t.Fatalf("Bureaus() has %d entries, want %d", len(bs), len(designRegistry))
	}
	rows := map[int]string{}
	for i, b := range bs {
		want := designRegistry[i]
		if b.Code != want[0] {
			t.Errorf("entry %d is %q, want %q", i, b.Code, want[0])
		}
		if want[1] != "" && b.NameZH != want[1] {
			t.Errorf("%s: NameZH %q, want %q", b.Code, b.NameZH, want[1])
		}
		if b.NameEN == "" || len(b.Duties) == 0 || b.Source == "" {
			t.Errorf("%s: incomplete entry %+v", b.Code, b)
		}
		for _, d := range b.Duties {
			if strings.TrimSpace(d) == "" || strings.ContainsAny(d[:1], "0123456789") {
				t.Errorf("%s: duty %q is empty or still numbered", b.Code, d)
			}
		}
		hotline := strings.HasPrefix(b.Code, "hotline-")
		if b.Hotline != hotline {
			t.Errorf("%s: Hotline = %v", b.Code, b.Hotline)
		}
		if hotline != (len(b.PlanRows) == 0) {
			t.Errorf("%s: PlanRows %v", b.Code, b.PlanRows)
		}
		for _, r := range b.PlanRows {
			if prev, dup := rows[r]; dup {
				t.Errorf("附件2 row %d in both %s and %s", r, prev, b.Code)
			}
			rows[r] = b.Code
		}
		got, ok := LookupBureau(b.Code)
		if !ok || got.Code != b.Code || got.NameZH != b.NameZH {
			t.Errorf("LookupBureau(%s) = %+v, %v", b.Code, got, ok)
		}
	}
	// 附件2 has 30 rows; rows 21 and 22 are both 区食品药品和工商局.
	for r := 1; r <= 30; r++ {
		if rows[r] == "" {
			t.Errorf("附件2 row %d belongs to no bureau", r)
		}
	}
	amr, _ := LookupBureau("amr")
	if !slices.Equal(amr.PlanRows, []int{21, 22}) || len(amr.Duties) != 12 {
		t.Errorf("amr: rows %v, %d duties; want rows 21 and 22 merged (3+9 duties)", amr.PlanRows, len(amr.Duties))
	}
	if !amr.HasRole(RoleLeadingGroupOffice) || LeadingGroupOffice().Code != "amr" {
		t.Errorf("the leading group's office must be at amr")
	}
	holders := 0
	for _, b := range bs {
		if b.HasRole(RoleLeadingGroupOffice) {
			holders++
		}
	}
	if holders != 1 {
		t.Errorf("%d bureaus hold %s, want 1", holders, RoleLeadingGroupOffice)
	}
	if tourism, _ := LookupBureau("tourism"); !slices.ContainsFunc(tourism.Duties, func(d string) bool { return strings.Contains(d, "星级农家乐") }) {
		t.Errorf("tourism duties lack 星级农家乐评定复核: %v", tourism.Duties)
	}

	for _, code := range []string{"", "AMR", "hotline", "/bureaus/amr", "hub"} {
		if _, ok := LookupBureau(code); ok {
			t.Errorf("LookupBureau(%q) found an entry", code)
		}
	}

	// Returned values are copies.
	amr.Duties[0] = "changed"
	bs[0].Duties[0] = "changed"
	if again, _ := LookupBureau("amr"); again.Duties[0] == "changed" {
		t.Errorf("LookupBureau shares Duties with the registry")
	}
	if Bureaus()[0].Duties[0] == "changed" {
		t.Errorf("Bureaus shares Duties with the registry")
	}
}
