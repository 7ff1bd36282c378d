package events

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sync"
)

// Bureau is a unit of the district's plan (附件2 部门任务分工表) or one of the hotlines whose
// transferred cases (转办件) the units handle. Its Code is part of the event contract: an event
// from the unit has source /bureaus/{Code}.
type Bureau struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"` // as in the plan, e.g. 区食品药品和工商局
	NameEN string `json:"name_en"`
	// Duties are the unit's tasks in the campaign, quoted from 附件2 (for hotlines, from the
	// plan's 完善维权机制 paragraph), one item each.
	Duties  []string `json:"duties"`
	Hotline bool     `json:"hotline"` // 12345, 12315 or 12331
	// PlanRows are the unit's row numbers (序号) in 附件2; amr has two (21 and 22). Empty for
	// hotlines.
	PlanRows []int `json:"plan_rows"`
	// Roles are standing roles on top of the unit's own duties, e.g. RoleLeadingGroupOffice.
	Roles []string `json:"roles"`
	// Source names the part of the plan the entry is taken from.
	Source string `json:"source"`
}

// RoleLeadingGroupOffice is the role of the unit that hosts the leading group's office
// (领导小组办公室, 附件1: 领导小组办公室设在区食品药品和工商局). It coordinates, supervises and
// evaluates all units and serves the joint meeting on consumer-rights protection
// (消费维权联席会议); the gateway grants its keys the office's reads on top of a bureau's.
const RoleLeadingGroupOffice = "leading-group-office"

// HasRole reports whether the bureau holds role.
func (b Bureau) HasRole(role string) bool { return slices.Contains(b.Roles, role) }

type bureauFile struct {
	Bureaus []struct {
		Code     string   `json:"code"`
		NameZH   string   `json:"name_zh"`
		NameEN   string   `json:"name_en"`
		Duties   []string `json:"duties"`
		Hotline  bool     `json:"hotline"`
		PlanRows []int    `json:"plan_rows"`
		Roles    []string `json:"roles"`
		Source   string   `json:"source"`
	} `json:"bureaus"`
}

type bureauRegistry struct {
	list   []Bureau
	byCode map[string]int
}

var bureauCodeRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// bureaus parses data/bureaus.json once; a parse failure is a build defect (see refdata).
var bureaus = sync.OnceValue(func() *bureauRegistry {
	reg, err := loadBureaus()
	if err != nil {
		panic("events: embedded bureau registry: " + err.Error())
	}
	return reg
})

func loadBureaus() (*bureauRegistry, error) {
	b, err := dataFS.ReadFile("data/bureaus.json")
	if err != nil {
		return nil, err
	}
	var f bureauFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("bureaus.json: %w", err)
	}
	reg := &bureauRegistry{byCode: map[string]int{}}
	for _, e := range f.Bureaus {
		if !bureauCodeRE.MatchString(e.Code) || e.NameZH == "" || e.NameEN == "" || len(e.Duties) == 0 {
			return nil, fmt.Errorf("bureaus.json: incomplete entry %q", e.Code)
		}
		if _, dup := reg.byCode[e.Code]; dup {
			return nil, fmt.Errorf("bureaus.json: duplicate code %q", e.Code)
		}
		reg.byCode[e.Code] = len(reg.list)
		reg.list = append(reg.list, Bureau{
			Code: e.Code, NameZH: e.NameZH, NameEN: e.NameEN, Duties: e.Duties,
			Hotline: e.Hotline, PlanRows: e.PlanRows, Roles: e.Roles, Source: e.Source,
		})
	}
	return reg, nil
}

// LookupBureau returns the registered bureau with the code. The returned value's slices are the
// caller's.
func LookupBureau(code string) (Bureau, bool) {
	reg := bureaus()
	i, ok := reg.byCode[code]
	if !ok {
		return Bureau{}, false
	}
	return cloneBureau(reg.list[i]), true
}

// Bureaus lists the registry: the units in 附件2 order, then the hotlines. The slice and its
// entries are the caller's.
func Bureaus() []Bureau {
	reg := bureaus()
	out := make([]Bureau, len(reg.list))
	for i, b := range reg.list {
		out[i] = cloneBureau(b)
	}
	return out
}

// LeadingGroupOffice returns the bureau that hosts the leading group's office (amr).
func LeadingGroupOffice() Bureau {
	for _, b := range bureaus().list {
		if b.HasRole(RoleLeadingGroupOffice) {
			return cloneBureau(b)
		}
	}
	panic("events: no bureau holds " + RoleLeadingGroupOffice) // pinned by TestBureauRegistry
}

func cloneBureau(b Bureau) Bureau {
	b.Duties = slices.Clone(b.Duties)
	b.PlanRows = slices.Clone(b.PlanRows)
	b.Roles = slices.Clone(b.Roles)
	return b
}
