# Sanxiang developer entry points. The README names two of them: `make up` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
LOCAL := $(CARGO) run --quiet -p sanxiang-local --bin sanxiang-local --

.PHONY: setup up down purge status test lint bench bench-tenant bench-portal generate images

## setup: install Debian packages and build the Go control plane (cached; warm = no-op)
setup:
	@e2e/scripts/setup.sh

## up: start the whole local platform (profile dev): control plane, PostgreSQL, NATS,
## Prometheus, Alertmanager, the operator, the tenant service, the disclosure platform, the
## supervision workspace and the sample province
up: setup
	@$(CARGO) build --quiet --bins -p sanxiang-operator -p sanxiang-tenant-service -p sanxiang-disclosure -p sanxiang-supervision -p sanxiang-local
	@$(LOCAL) up --apps

## down / purge: stop the local platform (purge also deletes its data)
down:
	@$(LOCAL) down
purge:
	@$(LOCAL) purge

status:
	@$(LOCAL) status

## test: lint gates, then every test against a real platform (profile test)
test: setup
	@e2e/scripts/test.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## bench: onboarding benchmark (N agencies to Ready, memory, idle writes) on profile bench
BENCH_SIZES ?= 100 1000
bench: setup
	SANXIANG_PROFILE=bench $(CARGO) bench -p sanxiang-operator --bench onboarding -- $(BENCH_SIZES)

## bench-tenant: decision writes/s next to pgbench TPS, and push latency percentiles
bench-tenant: setup
	SANXIANG_PROFILE=bench $(CARGO) bench -p sanxiang-tenant-service --bench decisions

## images: release container images of e2e/images/binaries as OCI archives in
## $(CARGO_TARGET_DIR)/images (or target/images), built by buildah without registry or daemon
images: setup
	@e2e/images/build.sh

## generate: regenerate every generated file (CRD YAML, chart rules and dashboards, OpenAPI,
## sqlx's offline data)
generate:
	$(CARGO) xtask generate

## bench-portal: the disclosure platform at 1M disclosures: build rate, size, RSS, query
## p50/p99 under 16 clients, freshness (BENCH_N=… for a smaller run)
BENCH_N ?= 1000000
bench-portal: setup
	BENCH_N=$(BENCH_N) $(CARGO) bench -p sanxiang-disclosure --bench portal
