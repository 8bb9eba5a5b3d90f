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

.PHONY: run test lint deps deps-rust deps-browser deps-python site site-dev build-release build-dev test-rust test-e2e bench clean

## Tooling -------------------------------------------------------------------

deps-rust:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi

deps-browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; fi
	@if [ ! -d end2end/node_modules/@playwright/test ] || [ ! -d end2end/node_modules/oidc-provider ]; then \
	  cd end2end && npm ci --no-audit --no-fund --loglevel=error; fi

deps-python:
	@if [ ! -x $(VENV)/bin/python ] || ! $(VENV)/bin/python -c 'import cloud_idaas, cloud_idaas.pam_client, jwt, pytest' 2>/dev/null; then \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q --disable-pip-version-check -r end2end/sdk/requirements.txt; fi

deps: deps-rust deps-browser deps-python

## Build ---------------------------------------------------------------------

# The console bundle: wasm + JS glue from wasm-bindgen, and the stylesheet.
site: deps-rust
	cargo build -p writ-frontend --target wasm32-unknown-unknown --profile wasm-release
	wasm-bindgen --target web --no-typescript --out-dir $(TARGET)/site/pkg --out-name writ \
	  $(TARGET)/wasm32-unknown-unknown/wasm-release/writ_frontend.wasm
	cp style/writ.css $(TARGET)/site/pkg/writ.css

# Tests use a dev wasm build: much faster to compile, same behaviour.
site-dev: deps-rust
	cargo build -p writ-frontend --target wasm32-unknown-unknown
	wasm-bindgen --target web --no-typescript --out-dir $(TARGET)/site/pkg --out-name writ \
	  $(TARGET)/wasm32-unknown-unknown/debug/writ_frontend.wasm
	cp style/writ.css $(TARGET)/site/pkg/writ.css

build-release: site
	cargo build -p writ-server --release

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

clean:
	rm -rf $(TARGET)/site
