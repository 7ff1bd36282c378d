package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// A metric family the Go source registers.
type family struct {
	name   string // fully qualified, e.g. fangxin_ingest_ack_seconds
	kind   string // counter, gauge, histogram, summary
	labels []string
	where  string
}

// series are the names Prometheus stores for a family, with the labels each carries.
func (f family) series() map[string][]string {
	switch f.kind {
	case "histogram":
		return map[string][]string{f.name + "_bucket": append(append([]string{}, f.labels...), "le"),
			f.name + "_sum": f.labels, f.name + "_count": f.labels}
	case "summary":
		return map[string][]string{f.name: append(append([]string{}, f.labels...), "quantile"),
			f.name + "_sum": f.labels, f.name + "_count": f.labels}
	}
	return map[string][]string{f.name: f.labels}
}

// Labels every scraped series gets from Prometheus and the chart's ServiceMonitor.
var targetLabels = []string{"job", "instance", "namespace", "pod", "service", "container", "endpoint", "app_kubernetes_io_component"}

// strPart is a metric-name part: a literal, or (for watermill's builder) a field of the builder.
type strPart struct {
	lit   string
	param string // "Namespace" or "Subsystem" when taken from the builder
	ok    bool
}

// pkgScope holds what a package's string constants and []string variables evaluate to.
type pkgScope struct {
	strs   map[string]string
	slices map[string][]string
	bad    map[string]bool // declared twice with different values
}

func newScope() *pkgScope {
	return &pkgScope{strs: map[string]string{}, slices: map[string][]string{}, bad: map[string]bool{}}
}

func (s *pkgScope) setStr(name, v string) {
	if old, ok := s.strs[name]; ok && old != v {
		s.bad[name] = true
	}
	s.strs[name] = v
}

func (s *pkgScope) str(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			v, err := strconv.Unquote(e.Value)
			return v, err == nil
		}
	case *ast.Ident:
		if s.bad[e.Name] {
			return "", false
		}
		v, ok := s.strs[e.Name]
		return v, ok
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			a, ok1 := s.str(e.X)
			b, ok2 := s.str(e.Y)
			return a + b, ok1 && ok2
		}
	}
	return "", false
}

func (s *pkgScope) slice(e ast.Expr) ([]string, bool) {
	switch e := e.(type) {
	case *ast.CompositeLit:
		var out []string
		for _, el := range e.Elts {
			v, ok := s.str(el)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case *ast.Ident:
		if e.Name == "nil" {
			return nil, true
		}
		v, ok := s.slices[e.Name]
		return v, ok
	case *ast.CallExpr:
		// append(xs, "a", b) and helpers such as watermill's toLabelsSlice(xs, additional)
		// whose first argument is the base list.
		if len(e.Args) == 0 {
			return nil, false
		}
		base, ok := s.slice(e.Args[0])
		if !ok {
			return nil, false
		}
		if id, isID := e.Fun.(*ast.Ident); isID && id.Name == "append" {
			for _, a := range e.Args[1:] {
				v, ok := s.str(a)
				if !ok {
					return nil, false
				}
				base = append(append([]string{}, base...), v)
			}
		}
		return base, true
	}
	return nil, false
}

// collect records every string constant and []string variable of the files.
func (s *pkgScope) collect(files []*ast.File) {
	// Two passes so that slices may name constants declared later.
	for pass := 0; pass < 2; pass++ {
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					for i, name := range n.Names {
						if i >= len(n.Values) {
							continue
						}
						if v, ok := s.str(n.Values[i]); ok && pass == 0 {
							s.setStr(name.Name, v)
						}
						if v, ok := s.slice(n.Values[i]); ok && pass == 1 {
							s.slices[name.Name] = v
						}
					}
				case *ast.AssignStmt:
					if n.Tok != token.DEFINE || len(n.Lhs) != len(n.Rhs) {
						return true
					}
					for i, l := range n.Lhs {
						id, ok := l.(*ast.Ident)
						if !ok {
							continue
						}
						if v, ok := s.str(n.Rhs[i]); ok && pass == 0 {
							s.setStr(id.Name, v)
						}
					}
				}
				return true
			})
		}
	}
}

var kindOf = map[string]string{
	"NewCounter": "counter", "NewCounterVec": "counter", "NewCounterFunc": "counter",
	"NewGauge": "gauge", "NewGaugeVec": "gauge", "NewGaugeFunc": "gauge",
	"NewHistogram": "histogram", "NewHistogramVec": "histogram",
	"NewSummary": "summary", "NewSummaryVec": "summary",
	"NewUntypedFunc": "untyped",
}

type famTemplate struct {
	ns, sub, name strPart
	kind          string
	labels        []string
	where         string
}

// scanDir parses the non-test Go files under root (skipping skip) and returns the metric
// families they register, and the (namespace, subsystem) of every watermill metrics builder.
func scanDir(root string, skip func(rel string) bool) ([]famTemplate, [][2]string, error) {
	byDir := map[string][]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || skip(rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		byDir[filepath.Dir(p)] = append(byDir[filepath.Dir(p)], f)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var fams []famTemplate
	var builders [][2]string
	for dir, files := range byDir {
		scope := newScope()
		scope.collect(files)
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fn := funcName(call.Fun)
				if fn == "NewPrometheusMetricsBuilder" && len(call.Args) == 3 {
					ns, ok1 := scope.str(call.Args[1])
					sub, ok2 := scope.str(call.Args[2])
					if ok1 && ok2 {
						builders = append(builders, [2]string{ns, sub})
					}
					return true
				}
				kind, ok := kindOf[fn]
				if !ok || len(call.Args) == 0 {
					return true
				}
				lit := optsLit(call.Args[0])
				if lit == nil {
					return true
				}
				t := famTemplate{kind: kind, where: rel(root, fset.Position(call.Pos()).String())}
				for _, el := range lit.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, _ := kv.Key.(*ast.Ident)
					if key == nil {
						continue
					}
					var part strPart
					if v, ok := scope.str(kv.Value); ok {
						part = strPart{lit: v, ok: true}
					} else if sel, ok := kv.Value.(*ast.SelectorExpr); ok {
						part = strPart{param: sel.Sel.Name, ok: true}
					}
					switch key.Name {
					case "Namespace":
						t.ns = part
					case "Subsystem":
						t.sub = part
					case "Name":
						t.name = part
					}
				}
				if !t.name.ok || t.name.param != "" {
					return true // a name we cannot evaluate statically
				}
				if strings.HasSuffix(fn, "Vec") && len(call.Args) > 1 {
					labels, ok := scope.slice(call.Args[1])
					if !ok {
						fmt.Fprintf(os.Stderr, "chartcheck: note: labels of %s at %s not evaluated\n", t.name.lit, t.where)
					}
					t.labels = labels
				}
				fams = append(fams, t)
				return true
			})
		}
		_ = dir
	}
	return fams, builders, nil
}

func rel(root, pos string) string {
	if r, err := filepath.Rel(root, pos); err == nil {
		return r
	}
	return pos
}

func funcName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// optsLit returns the prometheus.XxxOpts{...} literal of an argument, if it is one.
func optsLit(e ast.Expr) *ast.CompositeLit {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	if strings.HasSuffix(funcName(lit.Type), "Opts") {
		return lit
	}
	return nil
}

func fqName(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "_")
}

// exportedFamilies is every metric family the hub registers: its own, and watermill's router
// metrics under each (namespace, subsystem) the hub builds them with.
func exportedFamilies(repo, watermill string) ([]family, error) {
	own, builders, err := scanDir(repo, func(rel string) bool { return rel == "charts" })
	if err != nil {
		return nil, err
	}
	var out []family
	for _, t := range own {
		if t.ns.param != "" || t.sub.param != "" {
			continue
		}
		out = append(out, family{fqName(t.ns.lit, t.sub.lit, t.name.lit), t.kind, t.labels, t.where})
	}
	if len(builders) > 0 {
		wm, _, err := scanDir(filepath.Join(watermill, "components", "metrics"), func(string) bool { return false })
		if err != nil {
			return nil, fmt.Errorf("watermill metrics source: %w", err)
		}
		if len(wm) == 0 {
			return nil, fmt.Errorf("no metric found in %s/components/metrics", watermill)
		}
		for _, b := range builders {
			for _, t := range wm {
				ns, sub := t.ns.lit, t.sub.lit
				if t.ns.param == "Namespace" {
					ns = b[0]
				}
				if t.sub.param == "Subsystem" {
					sub = b[1]
				}
				out = append(out, family{fqName(ns, sub, t.name.lit), t.kind, t.labels, "watermill " + t.where})
			}
		}
	}
	return out, nil
}

// A PromQL expression found in the rules or the dashboard.
type query struct {
	where, expr string
}

func ruleQueries(path string) ([]query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rf struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert  string `json:"alert"`
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &rf); err != nil { // promtool checks the rest of the file
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []query
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			out = append(out, query{fmt.Sprintf("%s: %s %s", filepath.Base(path), g.Name, r.Alert+r.Record), r.Expr})
		}
	}
	return out, nil
}

func dashboardQueries(path string) ([]query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []query
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) != "" {
					out = append(out, query{fmt.Sprintf("%s: panel %d %q %s", filepath.Base(path), p.ID, p.Title, t.RefID), t.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

var (
	reString   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	reIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	reMatcher  = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)`)
	reGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	reBraces   = regexp.MustCompile(`\{[^{}]*\}`)
)

// metricsOf returns the metric names a query selects: identifiers that name a fangxin series
// or up, and are not a function call.
func metricsOf(expr string) []string {
	s := reString.ReplaceAllString(expr, `""`)
	s = reBraces.ReplaceAllString(s, "{}")
	var out []string
	for _, loc := range reIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if !strings.HasPrefix(name, "fangxin_") && name != "up" {
			continue
		}
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") {
			continue
		}
		out = append(out, name)
	}
	return out
}

// labelsOf returns the label names a query uses in matchers and in grouping clauses.
func labelsOf(expr string) []string {
	s := reString.ReplaceAllString(expr, `""`)
	var out []string
	for _, br := range reBraces.FindAllString(s, -1) {
		for _, m := range reMatcher.FindAllStringSubmatch(br, -1) {
			out = append(out, m[1])
		}
	}
	for _, m := range reGrouping.FindAllStringSubmatch(s, -1) {
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

func runMetrics(repo, watermill, rulesPath, dashPath string) error {
	fams, err := exportedFamilies(repo, watermill)
	if err != nil {
		return err
	}
	known := map[string][]string{"up": nil}
	for _, f := range fams {
		for s, l := range f.series() {
			known[s] = l
		}
	}
	if len(fams) == 0 {
		return errors.New("no metric found in the Go source: is REPO_DIR the hub's root?")
	}
	rq, err := ruleQueries(rulesPath)
	if err != nil {
		return err
	}
	dq, err := dashboardQueries(dashPath)
	if err != nil {
		return err
	}
	var problems []string
	used := map[string]bool{}
	for _, q := range append(rq, dq...) {
		names := metricsOf(q.expr)
		if len(names) == 0 {
			problems = append(problems, fmt.Sprintf("%s: selects no fangxin metric: %s", q.where, q.expr))
		}
		labels := map[string]bool{}
		for _, l := range targetLabels {
			labels[l] = true
		}
		for _, n := range names {
			ls, ok := known[n]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: metric %s is not exported by the Go source", q.where, n))
				continue
			}
			used[n] = true
			for _, l := range ls {
				labels[l] = true
			}
		}
		for _, l := range labelsOf(q.expr) {
			if l == "__name__" {
				continue
			}
			if !labels[l] {
				problems = append(problems, fmt.Sprintf("%s: label %q is not a label of %s (nor a target label)", q.where, l, strings.Join(names, ", ")))
			}
		}
	}
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
	fmt.Printf("metrics: %d families exported by the Go source, %d queries checked (%d rules, %d dashboard targets)\n",
		len(fams), len(rq)+len(dq), len(rq), len(dq))
	for _, f := range fams {
		mark := " "
		for s := range f.series() {
			if used[s] {
				mark = "*"
			}
		}
		fmt.Printf("  %s %-58s %-9s {%s}  %s\n", mark, f.name, f.kind, strings.Join(f.labels, ","), f.where)
	}
	fmt.Println("  (* used by the rules or the dashboard)")
	if len(problems) > 0 {
		return fmt.Errorf("%d metric drift problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

// Grafana variables, replaced so that promtool can parse the dashboard's queries.
var (
	reGrafanaRange = regexp.MustCompile(`\[\$\{?__[a-z_]+\}?\]`)
	reGrafanaVar   = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?`)
)

func runDashRules(dashPath, out string) error {
	dq, err := dashboardQueries(dashPath)
	if err != nil {
		return err
	}
	if len(dq) == 0 {
		return errors.New("the dashboard has no query")
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for i, q := range dq {
		e := reGrafanaRange.ReplaceAllString(q.expr, "[5m]")
		e = reGrafanaVar.ReplaceAllString(e, ".*")
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i+1), Expr: e})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
