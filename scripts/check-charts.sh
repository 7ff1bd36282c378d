#!/usr/bin/env bash
# Validates charts/: the Helm chart, the Prometheus alerting rules and the Grafana dashboard,
# without a cluster, a helm binary or a Prometheus server. Exits non-zero on any failure.
#
#   1. promtool check rules   charts/fangxin/rules/fangxin.rules.yml
#   2. promtool test rules    charts/fangxin/rules/fangxin.rules.test.yml (every alert, firing and not)
#   3. mutation test of the rules: each alert broken three ways (never true, no "for", threshold
#      always true); its unit tests must fail against every mutant
#   4. dashboard: valid JSON, unique panel ids, bilingual titles, every query parses (promtool)
#   5. metric drift: every metric and label used by the rules and the dashboard is registered by
#      the Go source (go/ast over the hub, plus watermill's router metrics it builds)
#   6. the chart: helm lint (helm's own Go packages) with each ci/*-values.yaml, then render
#      cases (distributed, monitoring, embedded, and refused configurations), each object
#      strictly decoded into its Kubernetes Go type and the wiring checked (selectors, refs,
#      ports, probes, the binary's settings)
#   7. YAML syntax (and no duplicate keys) of every chart file that is not a template
#
# Debian has no helm package, so steps 3-6 use charts/tools/chartcheck, a small Go program
# (its own module) built on helm.sh/helm/v3 from the Go module proxy. First run: apt installs
# prometheus (for promtool) and Go downloads and compiles helm (a few minutes on 2 cores);
# later runs reuse the binary in .cache/chartcheck and take seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/charts/fangxin"
RULES="$CHART/rules/fangxin.rules.yml"
TESTS="$CHART/rules/fangxin.rules.test.yml"
DASH="$CHART/dashboards/fangxin.json"
TOOL_SRC="$ROOT/charts/tools/chartcheck"
CACHE="$ROOT/.cache/chartcheck"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

start=$(date +%s)
failures=()
step() { printf '\n== %s\n' "$*"; }
fail() { failures+=("$1"); printf 'FAIL: %s\n' "$1"; }

# -- tools ----------------------------------------------------------------------------------
step "tools"
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus) # Debian's prometheus ships promtool
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${missing[*]} (Debian packages; install them with apt-get)" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
promtool --version 2>&1 | head -1
command -v go >/dev/null || { echo "go is missing (the hub needs Go 1.26)" >&2; exit 1; }

mkdir -p "$CACHE"
# Build chartcheck when its sources changed (go build itself is a no-op when up to date, but
# linking helm takes seconds: skip it when nothing changed).
stamp="$(cat "$TOOL_SRC"/go.mod "$TOOL_SRC"/go.sum "$TOOL_SRC"/*.go | sha256sum | cut -c1-16)-$(go env GOVERSION)"
if [ ! -x "$CACHE/chartcheck" ] || [ "$(cat "$CACHE/chartcheck.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "building charts/tools/chartcheck (first time: downloads and compiles helm.sh/helm/v3)"
  if ! (cd "$TOOL_SRC" && go build -o "$CACHE/chartcheck" .) >"$CACHE/build.log" 2>&1; then
    grep -v '^go: downloading' "$CACHE/build.log" | tail -40
    echo "building chartcheck failed (full log: $CACHE/build.log)" >&2
    exit 1
  fi
  echo "$stamp" >"$CACHE/chartcheck.stamp"
fi
CC="$CACHE/chartcheck"

# -- 1, 2: rules ----------------------------------------------------------------------------
step "promtool check rules"
promtool check rules "$RULES" || fail "promtool check rules"

step "promtool test rules"
(cd "$(dirname "$TESTS")" && promtool test rules "$(basename "$TESTS")") || fail "promtool test rules"

# -- 3: mutants -----------------------------------------------------------------------------
step "mutation test of the alerting rules"
MUT="$CACHE/mutants"
rm -rf "$MUT"
if "$CC" mutants "$RULES" "$TESTS" "$MUT"; then
  mapfile -t ids <"$MUT/MUTANTS"
  rulefiles=("${ids[@]/#/$MUT/}"); rulefiles=("${rulefiles[@]/%/.rules.yml}")
  if promtool check rules "${rulefiles[@]}" >"$MUT/check.out" 2>&1; then
    : # every mutant is a valid rule file (a broken one would be "killed" for the wrong reason)
  else
    cat "$MUT/check.out"; fail "mutants are not valid rule files"
  fi
  # promtool runs the files one after the other: split them over two processes.
  half=$(( (${#ids[@]} + 1) / 2 ))
  files=("${ids[@]/#/$MUT/}"); files=("${files[@]/%/.test.yml}")
  (promtool test rules "${files[@]:0:$half}" >"$MUT/out.1" 2>&1 || true) &
  (promtool test rules "${files[@]:$half}" >"$MUT/out.2" 2>&1 || true) &
  wait
  cat "$MUT/out.1" "$MUT/out.2" | "$CC" survivors "$MUT" || fail "mutation test"
else
  fail "writing mutants"
fi

# -- 4: dashboard ---------------------------------------------------------------------------
step "dashboard"
if jq -e . "$DASH" >/dev/null; then
  dup=$(jq -r '[.. | objects | select(has("gridPos")) | .id] | group_by(.) | map(select(length > 1) | .[0]) | join(",")' "$DASH")
  [ -z "$dup" ] || fail "dashboard: duplicate panel ids: $dup"
  # Every panel title in Chinese, then English ("事件接收速率 Ingest rate", "HTTP 错误率 HTTP error rate").
  bad=$(jq -r '.. | objects | select(has("gridPos")) | .title | select(test("\\p{Han}.* [A-Za-z]{2,}") | not)' "$DASH")
  [ -z "$bad" ] || fail "dashboard: titles not in Chinese and English: ${bad//$'\n'/; }"
  [ "$(jq -r '.uid' "$DASH")" = fangxin-hub ] || fail "dashboard: uid must stay fangxin-hub (links and provisioning)"
  bad=$(jq -r '.. | objects | select(has("targets")) | select(.datasource.uid != "${datasource}") | .title' "$DASH")
  [ -z "$bad" ] || fail "dashboard: panels not on the \${datasource} variable: $bad"
  "$CC" dashrules "$DASH" "$CACHE/dashboard.rules.yml" && promtool check rules "$CACHE/dashboard.rules.yml" \
    || fail "dashboard queries do not parse"
  echo "dashboard: $(jq '[.. | objects | select(has("gridPos")) | select(.type != "row")] | length' "$DASH") panels, $(jq '[.. | .expr? // empty] | length' "$DASH") queries"
else
  fail "dashboard is not valid JSON"
fi

# -- 5: metric drift ------------------------------------------------------------------------
step "metric names and labels against the Go source"
WATERMILL="$(cd "$ROOT" && go list -m -f '{{.Dir}}' github.com/ThreeDotsLabs/watermill 2>/dev/null || true)"
if [ -z "$WATERMILL" ] || [ ! -d "$WATERMILL" ]; then
  (cd "$ROOT" && go mod download github.com/ThreeDotsLabs/watermill)
  WATERMILL="$(cd "$ROOT" && go list -m -f '{{.Dir}}' github.com/ThreeDotsLabs/watermill)"
fi
"$CC" metrics "$ROOT" "$WATERMILL" "$RULES" "$DASH" || fail "metric drift"

# -- 6: chart -------------------------------------------------------------------------------
step "helm lint and render"
"$CC" render "$CHART" || fail "chart"

# -- YAML syntax of every chart file that is not a template --------------------------------
step "YAML syntax"
mapfile -t yamls < <(find "$CHART" -path "$CHART/templates" -prune -o \( -name '*.yaml' -o -name '*.yml' \) -print | sort)
"$CC" yaml "${yamls[@]}" || fail "YAML syntax"

printf '\n'
if [ ${#failures[@]} -gt 0 ]; then
  printf 'check-charts: %d failure(s) in %ss:\n' "${#failures[@]}" "$(( $(date +%s) - start ))"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
printf 'check-charts: all checks passed in %ss\n' "$(( $(date +%s) - start ))"
