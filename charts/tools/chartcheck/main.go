// Command chartcheck validates the Fangxin Helm chart, its alerting rules and its dashboard
// without a cluster, a helm binary or a Prometheus server. scripts/check-charts.sh runs it.
//
//	chartcheck render  CHART_DIR             helm lint, render every case, strict-decode every object, assert the wiring
//	chartcheck template CHART_DIR [VALUES.yaml...]   print the manifests, as `helm template hub CHART_DIR -f ...`
//	chartcheck metrics REPO_DIR WATERMILL_DIR RULES DASHBOARD
//	                                          every metric and label the rules and dashboard use is exported by the Go source
//	chartcheck dashrules DASHBOARD OUT        write the dashboard's queries as a rule file, for `promtool check rules`
//	chartcheck mutants RULES TESTS OUT_DIR    write mutants of each alert and its tests, for `promtool test rules`
//	chartcheck yaml FILE...                  every YAML document parses, no duplicate keys
//	chartcheck survivors OUT_DIR < promtool-output   fail when a mutant's tests passed
//
// It is its own Go module (it needs helm.sh/helm/v3), outside the hub's module and build.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "render":
		err = need(args, 1, func() error { return runRender(args[0]) })
	case "template":
		if len(args) < 1 {
			usage()
		}
		err = runTemplate(args[0], args[1:])
	case "yaml":
		err = runYAML(args)
	case "metrics":
		err = need(args, 4, func() error { return runMetrics(args[0], args[1], args[2], args[3]) })
	case "dashrules":
		err = need(args, 2, func() error { return runDashRules(args[0], args[1]) })
	case "mutants":
		err = need(args, 3, func() error { return runMutants(args[0], args[1], args[2]) })
	case "survivors":
		err = need(args, 1, func() error { return runSurvivors(args[0], os.Stdin) })
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartcheck:", err)
		os.Exit(1)
	}
}

func need(args []string, n int, f func() error) error {
	if len(args) != n {
		usage()
	}
	return f()
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: chartcheck render CHART | template CHART [VALUES...] | metrics REPO WATERMILL RULES DASHBOARD | dashrules DASHBOARD OUT | mutants RULES TESTS OUTDIR | yaml FILE... | survivors OUTDIR")
	os.Exit(2)
}
