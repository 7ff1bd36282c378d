package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lizhou/fangxin/events"
)

//go:embed data/rules.yaml
var defaultRulesYAML []byte

// Levels are the four response levels, most severe first: I 特别重大, II 重大, III 较大, IV 一般.
var Levels = []string{"I", "II", "III", "IV"}

// Config is the rule set: the YAML of data/rules.yaml (DefaultConfig) or of `--rules FILE`.
type Config struct {
	CountRules          []CountRule       `yaml:"count_rules"`
	CertificationReview CertificationRule `yaml:"certification_review"`
	Overdue             OverdueRule       `yaml:"overdue"`
	GroupInterval       time.Duration     `yaml:"group_interval"`
	// ClockLead bounds how far the clock may move the engine beyond the latest event time it has
	// seen (see Engine.AdvanceClock). Default 24h.
	ClockLead time.Duration `yaml:"clock_lead"`
}

// GroupBy values of a count rule.
const (
	ByMerchant         = "merchant"
	ByIndustryTownship = "industry_township"
	ByCategory         = "category"
)

// CountRule raises an incident when at least MinCount distinct complaints of one group fall in
// Window (and, with a baseline, at least Factor times the group's mean per window over the
// previous BaselineDays), held for Pending; it resolves after Quiet without a new complaint.
type CountRule struct {
	Name             string         `yaml:"name"`
	Task             string         `yaml:"task"` // routing task whose lead leads the response
	GroupBy          string         `yaml:"group_by"`
	Categories       []string       `yaml:"categories"` // optional: only these categories
	Window           time.Duration  `yaml:"window"`
	MinCount         int            `yaml:"min_count"`
	MinMerchants     int            `yaml:"min_merchants"`
	BaselineDays     int            `yaml:"baseline_days"`
	Factor           float64        `yaml:"factor"`
	Pending          time.Duration  `yaml:"pending"`
	Quiet            time.Duration  `yaml:"quiet"`
	Levels           map[string]int `yaml:"levels"` // level -> minimum count
	RequireScheme    string         `yaml:"require_scheme"`
	RouteToCertifier bool           `yaml:"route_to_certifier"`
}

// CertificationRule configures the certification review (一处失信、处处受限).
type CertificationRule struct {
	Enabled bool          `yaml:"enabled"`
	Task    string        `yaml:"task"`
	Level   string        `yaml:"level"`
	Quiet   time.Duration `yaml:"quiet"`
}

// OverdueRule configures overdue alerts (限时办结).
type OverdueRule struct {
	Enabled bool   `yaml:"enabled"`
	Task    string `yaml:"task"`
	Office  string `yaml:"office"` // the leading group's office, alerted with the assignee
	Level   string `yaml:"level"`
}

// Rule names of the linked-response rules.
const (
	RuleCertificationReview = "certification-review"
	RuleComplaintOverdue    = "complaint-overdue"
)

// DefaultConfig returns the embedded default rules.
func DefaultConfig() Config {
	c, err := ParseConfig(defaultRulesYAML)
	if err != nil {
		panic("rules: embedded data/rules.yaml: " + err.Error()) // pinned by tests
	}
	return c
}

// LoadConfig reads a rules file; "" returns DefaultConfig.
func LoadConfig(path string) (Config, error) {
	if path == "" {
		return DefaultConfig(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("--rules: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("--rules %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses and validates a rules YAML document. Unknown keys are errors.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, err
	}
	c.setDefaults()
	return c, c.Validate()
}

func (c *Config) setDefaults() {
	if c.GroupInterval == 0 {
		c.GroupInterval = 5 * time.Minute
	}
	if c.ClockLead == 0 {
		c.ClockLead = 24 * time.Hour
	}
	for i := range c.CountRules {
		r := &c.CountRules[i]
		if r.Task == "" {
			r.Task = "complaints"
		}
		if r.Factor == 0 {
			r.Factor = 1
		}
	}
	if c.CertificationReview.Task == "" {
		c.CertificationReview.Task = "credit"
	}
	if c.CertificationReview.Level == "" {
		c.CertificationReview.Level = "III"
	}
	if c.Overdue.Task == "" {
		c.Overdue.Task = "complaints"
	}
	if c.Overdue.Office == "" {
		c.Overdue.Office = "amr"
	}
	if c.Overdue.Level == "" {
		c.Overdue.Level = "IV"
	}
}

// Validate reports every problem, naming the rule and the setting.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	seen := map[string]bool{RuleCertificationReview: true, RuleComplaintOverdue: true}
	for i, r := range c.CountRules {
		at := fmt.Sprintf("count_rules[%d] %q", i, r.Name)
		switch {
		case r.Name == "":
			bad("count_rules[%d]: name is required", i)
		case seen[r.Name]:
			bad("%s: name is used twice (or is a built-in rule's)", at)
		}
		seen[r.Name] = true
		if !slices.Contains([]string{ByMerchant, ByIndustryTownship, ByCategory}, r.GroupBy) {
			bad("%s: group_by must be merchant, industry_township or category", at)
		}
		if r.Window <= 0 {
			bad("%s: window must be > 0", at)
		}
		if r.MinCount < 1 {
			bad("%s: min_count must be ≥ 1", at)
		}
		if r.Pending < 0 || r.Quiet <= 0 {
			bad("%s: pending must be ≥ 0 and quiet > 0", at)
		}
		if r.BaselineDays < 0 || r.Factor < 0 {
			bad("%s: baseline_days and factor must be ≥ 0", at)
		}
		if r.RouteToCertifier && r.RequireScheme == "" {
			bad("%s: route_to_certifier needs require_scheme", at)
		}
		if r.RequireScheme != "" && r.GroupBy != ByMerchant {
			bad("%s: require_scheme needs group_by merchant", at)
		}
		if len(r.Levels) == 0 {
			bad("%s: levels are required (I, II, III, IV -> minimum count)", at)
		}
		for l, n := range r.Levels {
			if !slices.Contains(Levels, l) {
				bad("%s: level %q is not I, II, III or IV", at, l)
			}
			if n < 1 {
				bad("%s: level %s needs a minimum count ≥ 1", at, l)
			}
		}
	}
	if !slices.Contains(Levels, c.CertificationReview.Level) {
		bad("certification_review: level %q is not I, II, III or IV", c.CertificationReview.Level)
	}
	if c.CertificationReview.Enabled && c.CertificationReview.Quiet <= 0 {
		bad("certification_review: quiet must be > 0")
	}
	if !slices.Contains(Levels, c.Overdue.Level) {
		bad("overdue: level %q is not I, II, III or IV", c.Overdue.Level)
	}
	if _, ok := events.LookupBureau(c.Overdue.Office); !ok {
		bad("overdue: office %q is not a bureau code", c.Overdue.Office)
	}
	if c.GroupInterval < 0 {
		bad("group_interval must be ≥ 0")
	}
	if c.ClockLead < 0 {
		bad("clock_lead must be ≥ 0")
	}
	return errors.Join(errs...)
}

// level maps a count to the most severe level whose minimum it reaches; "" below all.
func (r CountRule) level(count int) string {
	for _, l := range Levels {
		if min, ok := r.Levels[l]; ok && count >= min {
			return l
		}
	}
	return ""
}
