# Writ: `make run` builds a release Writ (console included) and starts it;
# `make test` runs every test. Both install what they need, once.

SHELL := /bin/bash
# Reuse a target directory outside the clone: cold Leptos + SeaORM builds are slow.
export CARGO_TARGET_DIR ?= /var/tmp/writ-target
TARGET := $(CARGO_TARGET_DIR)
WASM_BINDGEN_VERSION := $(shell grep -A1 '^name = "wasm-bindgen"$$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
TOOLS := $(HOME)/.cargo/bin
VENV := end2end/.venv
PROFILE ?= release
JOBS ?= $(shell nproc)

.PHONY: run test lint deps deps-rust deps-browser deps-python deps-haproxy wasm-target wasm-bindgen-cli site site-dev wasm-release server-release build-release build-dev test-rust test-e2e bench clean fuzz cluster cluster-stop

## Tooling -------------------------------------------------------------------

deps-rust: wasm-target wasm-bindgen-cli

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# The CLI must match the wasm-bindgen crate exactly. Built with the dev
# profile: well under half the compile time of release, and it still turns
# the console bundle around in seconds.
wasm-bindgen-cli:
	+@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install --debug wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi

deps-browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; fi
	@if [ ! -d end2end/node_modules/@playwright/test ] || [ ! -d end2end/node_modules/oidc-provider ]; then \
	  cd end2end && npm ci --no-audit --no-fund --loglevel=error; fi

deps-python:
	@if [ ! -x $(VENV)/bin/python ] || ! $(VENV)/bin/python -c 'import cloud_idaas, cloud_idaas.pam_client, jwt, pytest' 2>/dev/null; then \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q --disable-pip-version-check -r end2end/sdk/requirements.txt; fi

# HAProxy: the load balancer in front of the replicas (`make cluster`, tests/cluster.rs).
deps-haproxy:
	@command -v haproxy >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy) >/dev/null

deps: deps-rust deps-browser deps-python deps-haproxy

## Build ---------------------------------------------------------------------

# The console bundle: wasm + JS glue from wasm-bindgen, and the stylesheet.
site: wasm-release wasm-bindgen-cli
	wasm-bindgen --target web --no-typescript --out-dir $(TARGET)/site/pkg --out-name writ \
	  $(TARGET)/wasm32-unknown-unknown/wasm-release/writ_frontend.wasm
	cp style/writ.css $(TARGET)/site/pkg/writ.css

wasm-release: wasm-target
	+cargo build -p writ-frontend --target wasm32-unknown-unknown --profile wasm-release

# Tests use a dev wasm build: much faster to compile, same behaviour.
site-dev: deps-rust
	cargo build -p writ-frontend --target wasm32-unknown-unknown
	wasm-bindgen --target web --no-typescript --out-dir $(TARGET)/site/pkg --out-name writ \
	  $(TARGET)/wasm32-unknown-unknown/debug/writ_frontend.wasm
	cp style/writ.css $(TARGET)/site/pkg/writ.css

server-release:
	+cargo build -p writ-server --release

# The release server, the wasm bundle and the wasm-bindgen CLI build side
# by side: each alone leaves a core idle for long stretches (build scripts,
# one big crate, a link). The wasm build and the server build lock different
# directories of the target dir, and cargo takes its jobs from make's
# jobserver (the `+` recipes), so together they use the cores, no more.
build-release:
	+@$(MAKE) --no-print-directory -j$(JOBS) server-release site

## Commands ------------------------------------------------------------------

run: build-release
	WRIT_SITE_ROOT=$(TARGET)/site $(TARGET)/release/writ

lint:
	python3 scripts/check_layers.py
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude writ-frontend --all-targets -- -D warnings

test: deps site-dev lint
	cargo test --workspace --exclude writ-frontend
	@# cargo test built the `writ` binary (integration tests need it); reuse it.
	WRIT_BIN=$(TARGET)/debug/writ WRIT_SITE_ROOT=$(TARGET)/site VENV=$(VENV) bash end2end/run.sh

# Token endpoint load test and core micro-benchmarks (not part of `make test`).
bench: build-release deps-python
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null
	WRIT_BIN=$(TARGET)/release/writ WRIT_SITE_ROOT=$(TARGET)/site PYTHON=$(VENV)/bin/python bash server/bench/load.sh
	cargo bench -p writ-core --bench core -- --quiet
	cargo bench -p writ-core --features test-fixtures --bench federation -- --quiet

# Two replicas on the local PostgreSQL behind HAProxy on https://localhost:9443
# (scripts/cluster.sh; docs/deploy.md). They keep running; `make cluster`
# again restarts them with a new build; `make cluster-stop` stops them and
# keeps the data (scripts/cluster.sh reset drops it).
cluster: build-release
	WRIT_BIN=$(TARGET)/release/writ WRIT_SITE_ROOT=$(TARGET)/site bash scripts/cluster.sh start

cluster-stop:
	bash scripts/cluster.sh stop

# Coverage-guided fuzzing of the parsers (not part of `make test` or CI):
# cargo fuzz builds fuzz/ (its own workspace) with libFuzzer on the stable
# toolchain, without a sanitizer (AddressSanitizer needs a nightly -Z flag),
# then fuzz/run.sh runs each target FUZZ_SECONDS (default 600), one after
# another on one core, and prints executions, coverage and crashes.
fuzz:
	@[ "$$(cargo fuzz --version 2>/dev/null)" = "cargo-fuzz 0.13.2" ] || cargo install --locked cargo-fuzz --version 0.13.2
	CARGO_TARGET_DIR=/var/tmp/writ-fuzz-target cargo fuzz build --fuzz-dir fuzz --sanitizer none
	FUZZ_BIN=/var/tmp/writ-fuzz-target/x86_64-unknown-linux-gnu/release bash fuzz/run.sh

clean:
	rm -rf $(TARGET)/site
