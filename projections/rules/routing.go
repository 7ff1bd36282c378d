package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lizhou/fangxin/events"
)

//go:embed data/routing.yaml
var routingYAML []byte

// Routing is the default routing table (data/routing.yaml): the plan's lead and responsible
// units per task (section 四) and the competent department per industry and complaint category
// (附件2). It is immutable after loading and safe for concurrent use.
type Routing struct {
	Tasks      map[string]Task     `yaml:"tasks"`
	Industries []IndustryRoute     `yaml:"industries"`
	Categories map[string][]string `yaml:"categories"`
}

// Task is a task of the plan with its lead unit (牵头单位).
type Task struct {
	Name string `yaml:"name"`
	Lead string `yaml:"lead"`
}

// IndustryRoute maps a GB/T 4754-2017 code prefix to its competent departments.
type IndustryRoute struct {
	Prefix string   `yaml:"prefix"`
	Name   string   `yaml:"name"`
	Units  []string `yaml:"units"`
}

// DefaultRouting returns the embedded routing table.
func DefaultRouting() Routing {
	var r Routing
	dec := yaml.NewDecoder(strings.NewReader(string(routingYAML)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		panic("rules: embedded data/routing.yaml: " + err.Error())
	}
	if err := r.Validate(); err != nil {
		panic("rules: embedded data/routing.yaml: " + err.Error())
	}
	return r
}

// Validate checks that every unit is a registered bureau code.
func (r Routing) Validate() error {
	var errs []error
	check := func(where, code string) {
		if _, ok := events.LookupBureau(code); !ok {
			errs = append(errs, fmt.Errorf("%s: %q is not a bureau code", where, code))
		}
	}
	for name, t := range r.Tasks {
		check("tasks."+name+".lead", t.Lead)
	}
	for _, in := range r.Industries {
		for _, u := range in.Units {
			check("industries."+in.Prefix, u)
		}
	}
	for c, us := range r.Categories {
		for _, u := range us {
			check("categories."+c, u)
		}
	}
	return errors.Join(errs...)
}

// Route returns the units an incident of task goes to, lead first: the task's lead, the units of
// the longest industry prefix matching industry, then those of category, then extra. Unknown
// task falls back to amr (the leading group's office). Duplicates are dropped.
func (r Routing) Route(task, industry, category string, extra ...string) []string {
	lead := "amr"
	if t, ok := r.Tasks[task]; ok {
		lead = t.Lead
	}
	out := []string{lead}
	add := func(us ...string) {
		for _, u := range us {
			if u != "" && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	best := -1
	for i, in := range r.Industries {
		if industry != "" && strings.HasPrefix(industry, in.Prefix) && (best < 0 || len(in.Prefix) > len(r.Industries[best].Prefix)) {
			best = i
		}
	}
	if best >= 0 {
		add(r.Industries[best].Units...)
	}
	add(r.Categories[category]...)
	add(extra...)
	return out
}
