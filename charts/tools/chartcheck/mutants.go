package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Mutation testing of the alerting rules: for every alert, three broken copies of the rule
// file. The alert's unit tests must fail against each, which shows that they truly exercise it:
//
//	never     the expression can never be true  -> a firing case exists
//	no-for    "for" removed                     -> the pending window is checked
//	always    every threshold made always true  -> a below-threshold (not firing) case exists
var mutations = []struct {
	name string
	fn   func(rule map[string]any) bool // false: not applicable to this rule
}{
	{"never", func(r map[string]any) bool { r["expr"] = "vector(0) > 1"; return true }},
	{"no-for", func(r map[string]any) bool {
		if _, ok := r["for"]; !ok {
			return false
		}
		delete(r, "for")
		return true
	}},
	{"always", func(r map[string]any) bool {
		e, _ := r["expr"].(string)
		m := reThreshold.ReplaceAllStringFunc(e, func(s string) string {
			op := reThreshold.FindStringSubmatch(s)[1]
			if strings.HasPrefix(op, "<") {
				return "< +Inf"
			}
			return "> -Inf"
		})
		if m == e {
			return false
		}
		r["expr"] = m
		return true
	}},
}

// A comparison with a number: "> 0.05", "== 0", "< 0".
var reThreshold = regexp.MustCompile(`(>=|<=|==|!=|>|<)\s*(-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?)\b`)

func runMutants(rulesPath, testsPath, outDir string) error {
	var rules map[string]any
	if err := readYAML(rulesPath, &rules); err != nil {
		return err
	}
	var tests map[string]any
	if err := readYAML(testsPath, &tests); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	groups, _ := rules["groups"].([]any)
	n := 0
	var manifest []string
	for gi, g := range groups {
		rs, _ := g.(map[string]any)["rules"].([]any)
		for ri, r := range rs {
			alert, _ := r.(map[string]any)["alert"].(string)
			if alert == "" {
				continue
			}
			cases := testsOf(tests, alert)
			if len(cases) == 0 {
				return fmt.Errorf("alert %s has no unit test in %s", alert, testsPath)
			}
			for _, m := range mutations {
				var mr map[string]any
				if err := clone(rules, &mr); err != nil {
					return err
				}
				rule := mr["groups"].([]any)[gi].(map[string]any)["rules"].([]any)[ri].(map[string]any)
				if !m.fn(rule) {
					continue
				}
				id := fmt.Sprintf("%s.%s", alert, m.name)
				rulesOut := filepath.Join(outDir, id+".rules.yml")
				if err := writeYAML(rulesOut, mr); err != nil {
					return err
				}
				var mt map[string]any
				if err := clone(tests, &mt); err != nil {
					return err
				}
				mt["rule_files"] = []any{rulesOut}
				mt["tests"] = cases
				if err := writeYAML(filepath.Join(outDir, id+".test.yml"), mt); err != nil {
					return err
				}
				manifest = append(manifest, id)
				n++
			}
		}
	}
	fmt.Printf("mutants: %d written to %s\n", n, outDir)
	return os.WriteFile(filepath.Join(outDir, "MUTANTS"), []byte(strings.Join(manifest, "\n")+"\n"), 0o644)
}

// testsOf returns the test groups that check alert.
func testsOf(tests map[string]any, alert string) []any {
	var out []any
	ts, _ := tests["tests"].([]any)
	for _, t := range ts {
		art, _ := t.(map[string]any)["alert_rule_test"].([]any)
		for _, a := range art {
			if a.(map[string]any)["alertname"] == alert {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// runSurvivors reads `promtool test rules` output over the mutants' test files and fails when
// any mutant's tests passed (the mutant survived: its tests do not notice the breakage).
func runSurvivors(outDir string, promtoolOut io.Reader) error {
	b, err := os.ReadFile(filepath.Join(outDir, "MUTANTS"))
	if err != nil {
		return err
	}
	want := strings.Fields(string(b))
	result := map[string]string{}
	var current string
	sc := bufio.NewScanner(promtoolOut)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "Unit Testing:"); ok {
			current = strings.TrimSuffix(filepath.Base(strings.TrimSpace(f)), ".test.yml")
			continue
		}
		switch strings.TrimSpace(line) {
		case "SUCCESS":
			result[current] = "survived"
		case "FAILED:":
			result[current] = "killed"
		}
	}
	var survived, missing []string
	for _, id := range want {
		switch result[id] {
		case "killed":
		case "survived":
			survived = append(survived, id)
		default:
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no promtool result for mutant(s): %s", strings.Join(missing, ", "))
	}
	if len(survived) > 0 {
		return fmt.Errorf("the unit tests still pass against these broken rules (alert.mutation): %s", strings.Join(survived, ", "))
	}
	fmt.Printf("mutants: all %d killed (every alert's tests fail when it never fires, fires without its \"for\", or ignores its threshold)\n", len(want))
	return nil
}

func readYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func clone(in any, out any) error {
	b, err := yaml.Marshal(in)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(b, out)
}
