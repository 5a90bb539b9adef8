# Single entry point. `make demo` and `make test` do all set-up on a fresh machine first.
SHELL := /bin/bash
PHASE := scripts/phase.sh
CARGO ?= cargo
DATA ?= ../shared/data

.PHONY: setup setup-reference demo test examples bench fixtures clean-setup

## Installs libtorch 2.11 and the models into project-local ignored folders (idempotent).
setup:
	@$(PHASE) setup bash scripts/setup.sh

## Adds the Python peers (POT, pytrec_eval, transformers, ...) used by fixtures and bench scripts.
setup-reference:
	@$(PHASE) setup-reference bash scripts/setup.sh --reference

## The main job on the default data.
demo: setup
	@$(PHASE) demo $(CARGO) run --release --example experiment -- configs/experiments/demo.toml --data-root $(DATA) --no-docs

## Formatting, lints, the whole test suite, and a build of every bench.
test: setup
	@$(PHASE) fmt $(CARGO) fmt --all --check
	@$(PHASE) clippy $(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	@$(PHASE) test $(CARGO) test --workspace --all-features
	@$(PHASE) bench-build $(CARGO) bench --workspace --no-run

## Every example program, in release mode, into target/release/examples/.
examples: setup
	@$(PHASE) examples $(CARGO) build --release -p optical-examples -p cooc -p clir-metrics --examples

## Criterion benches, then the peer-comparison scripts (they print ratios measured in one run).
bench: setup-reference
	@$(PHASE) criterion $(CARGO) bench --workspace
	@for s in scripts/bench_*.py; do [ -e "$$s" ] || continue; $(PHASE) "$$s" .venv/bin/python "$$s" || exit 1; done

## Regenerates the golden fixtures from the Python references (committed; CI only reads them).
fixtures: setup-reference
	@for s in scripts/fixtures_*.py; do [ -e "$$s" ] || continue; $(PHASE) "$$s" .venv/bin/python "$$s" || exit 1; done

clean-setup:
	rm -rf .venv models
