# Fangxin hub. `make run` starts an embedded hub with demo data; `make test` runs every test,
# bringing up real Kafka and Elasticsearch on loopback (scripts/stack.sh) unless
# FANGXIN_KAFKA_BROKERS and FANGXIN_ELASTICSEARCH_URL name running ones.
SHELL := /bin/bash
GO ?= go
BIN := bin/fangxin
DATA ?= ./data
export GOFLAGS ?= -buildvcs=false

.PHONY: build run test test-unit bench lint check-charts stack-up stack-down clean

build:
	$(GO) build -o $(BIN) ./cmd/fangxin

run: build
	$(BIN) serve --demo --data-dir $(DATA)

# Every test, with the race detector and shuffled order. The distributed backends run against
# the real services; stack.sh starts them (cached after the first download) when none are named.
test: build
	@set -euo pipefail; \
	if [ -z "$${FANGXIN_KAFKA_BROKERS:-}" ] || [ -z "$${FANGXIN_ELASTICSEARCH_URL:-}" ]; then \
	  scripts/stack.sh up; eval "$$(scripts/stack.sh env)"; \
	fi; \
	command -v xmllint >/dev/null || { apt-get update -qq && apt-get install -y -qq libxml2-utils; } || \
	  echo "make test: could not install xmllint (Debian libxml2-utils): the CAP 1.2 schema checks will skip"; \
	if [ -z "$${FANGXIN_POSTGRES_URL:-}" ]; then \
	  scripts/postgres.sh up; eval "$$(scripts/postgres.sh env)"; \
	fi; \
	FANGXIN_BIN=$(CURDIR)/$(BIN) $(GO) test -race -shuffle=on -timeout 30m ./... 2>&1 | tee .test.out; \
	echo "distributed: FANGXIN_KAFKA_BROKERS=$${FANGXIN_KAFKA_BROKERS} FANGXIN_ELASTICSEARCH_URL=$${FANGXIN_ELASTICSEARCH_URL}"

# Unit and embedded tests only (no services): quick feedback while coding.
test-unit: build
	FANGXIN_SKIP_DISTRIBUTED=1 FANGXIN_BIN=$(CURDIR)/$(BIN) $(GO) test -race -shuffle=on ./...

bench: build
	FANGXIN_BIN=$(CURDIR)/$(BIN) $(GO) run ./cmd/fangxin-bench $(BENCHFLAGS)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

# Helm chart, alert rules (promtool unit tests) and dashboard, checked against the Go metrics.
check-charts:
	scripts/check-charts.sh

stack-up:
	scripts/stack.sh up

stack-down:
	scripts/stack.sh down

clean:
	rm -rf bin .test.out
