#!/usr/bin/env bash
# Starts a fresh Writ (own data dir, free port, SQLite), then runs the browser
# tests (Playwright + Debian Chromium) and the SDK tests (pytest + the official
# cloud-idaas-core) against it. Artifacts land in end2end/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
: "${WRIT_BIN:?path to the writ binary}" "${WRIT_SITE_ROOT:?console assets}" "${VENV:=.venv}"
VENV="$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/$(basename "$VENV")"
[ -x "$VENV/bin/python" ] || VENV="$PWD/.venv"

rm -rf artifacts && mkdir -p artifacts
DATA="$(mktemp -d /tmp/writ-e2e.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export WRIT_E2E_URL="https://localhost:${PORT}"
export WRIT_E2E_ADMIN_PASSWORD="e2e-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
export WRIT_E2E_ADMIN_TOKEN="e2e-token-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
export WRIT_E2E_CA="$DATA/ca.pem"
export WRIT_E2E_DATA="$DATA"
export WRIT_E2E_PYTHON="$VENV/bin/python"

WRIT_DATA_DIR="$DATA" WRIT_BIND="127.0.0.1:${PORT}" WRIT_SITE_ROOT="$WRIT_SITE_ROOT" \
WRIT_ADMIN_PASSWORD="$WRIT_E2E_ADMIN_PASSWORD" WRIT_BOOTSTRAP_ADMIN_TOKEN="$WRIT_E2E_ADMIN_TOKEN" \
  "$WRIT_BIN" > artifacts/writ.log 2>&1 &
WRIT_PID=$!
cleanup() { kill "$WRIT_PID" 2>/dev/null || true; wait "$WRIT_PID" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -sf --cacert "$WRIT_E2E_CA" "$WRIT_E2E_URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$WRIT_PID" 2>/dev/null || { cat artifacts/writ.log; echo "writ exited during start"; exit 1; }
  sleep 0.2
done
curl -sf --cacert "$WRIT_E2E_CA" "$WRIT_E2E_URL/healthz" >/dev/null || { cat artifacts/writ.log; exit 1; }

# Chromium trusts exactly Writ's server key (SPKI pin), not "any certificate".
export WRIT_E2E_SPKI="$(openssl x509 -in "$DATA/tls-cert.pem" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"

status=0
# E2E_ONLY=browser|sdk runs one half (a quicker loop while working on it);
# PLAYWRIGHT_ARGS / PYTEST_ARGS narrow it further (e.g. tests/audit.spec.ts).
[ "${E2E_ONLY:-browser}" = browser ] && { npx playwright test ${PLAYWRIGHT_ARGS:-} || status=1; }
[ "${E2E_ONLY:-sdk}" = sdk ] && { "$VENV/bin/python" -m pytest -q sdk ${PYTEST_ARGS:-} || status=1; }
echo "screenshots: end2end/artifacts/screenshots"
exit $status
