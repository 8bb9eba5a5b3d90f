#!/usr/bin/env bash
# `make cluster`: two Writ replicas on one PostgreSQL database, behind HAProxy
# on one HTTPS port, on this machine. docs/deploy.md explains the parts.
#
#   scripts/cluster.sh [start]   (re)start everything, print the URL
#   scripts/cluster.sh stop      stop what start started; keep the data
#   scripts/cluster.sh reset     stop, then drop the database and the state
#
# State (kept across runs, made once): $CLUSTER_DIR, default
# /var/tmp/writ-cluster: the master key, a CA and a certificate for
# localhost/127.0.0.1, the admin password and admin API token, each
# replica's data directory, the rendered HAProxy config, pidfiles, logs.
# The database: $CLUSTER_DB (default writ_cluster) on the local PostgreSQL.
#
# Environment (defaults in brackets):
#   WRIT_BIN          the writ binary [$CARGO_TARGET_DIR/release/writ]
#   CARGO_TARGET_DIR  [/var/tmp/writ-target]
#   WRIT_SITE_ROOT    console assets [$CARGO_TARGET_DIR/site]
#   CLUSTER_DIR       state directory [/var/tmp/writ-cluster]
#   CLUSTER_PG        PostgreSQL server URL, no database [postgres://root@127.0.0.1:5432]
#   CLUSTER_DB        database name [writ_cluster]
#   CLUSTER_PORT      HAProxy's HTTPS port [9443]
#   CLUSTER_PORT_1/2  the replicas' ports [9441, 9442]
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET="${CARGO_TARGET_DIR:-/var/tmp/writ-target}"
WRIT_BIN="${WRIT_BIN:-$TARGET/release/writ}"
WRIT_SITE_ROOT="${WRIT_SITE_ROOT:-$TARGET/site}"
STATE="${CLUSTER_DIR:-/var/tmp/writ-cluster}"
PG="${CLUSTER_PG:-postgres://root@127.0.0.1:5432}"
DB="${CLUSTER_DB:-writ_cluster}"
FRONT_PORT="${CLUSTER_PORT:-9443}"
PORTS=("${CLUSTER_PORT_1:-9441}" "${CLUSTER_PORT_2:-9442}")
URL="https://localhost:${FRONT_PORT}"
# One instance id for every replica (it is stored in the database; a replica
# started with another one refuses the database).
INSTANCE_ID=idaas_cluster_local
# Every process this script starts has this in its command line: `stop`
# checks it before signalling a pid from a pidfile (pids are reused).
MARK=writ-cluster

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# A random value of n bytes, base64url without padding (the master key's
# format: 32 bytes; MasterKey::from_text in server/core/src/vault.rs).
random_b64() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

# Writes $2 with mode 600 unless it exists; prints 1 if it made it.
make_secret() {
  local bytes=$1 path=$2
  [ -s "$path" ] && return 0
  (umask 077 && random_b64 "$bytes" > "$path")
  echo 1
}

# render TEMPLATE OUT NAME=VALUE...: replaces each @NAME@ in TEMPLATE.
render() {
  local template=$1 out=$2 text pair
  shift 2
  # Bash 5.2 would read `&` in a replacement as the matched text.
  shopt -u patsub_replacement 2>/dev/null || true
  text="$(cat "$template")"
  for pair in "$@"; do
    text="${text//@${pair%%=*}@/${pair#*=}}"
  done
  if grep -qE '@[A-Z0-9_]+@' <<<"$text"; then
    die "$template: placeholders left: $(grep -oE '@[A-Z0-9_]+@' <<<"$text" | sort -u | tr '\n' ' ')"
  fi
  printf '%s\n' "$text" > "$out"
}

# The pid in pidfile $1 if that process is still one of ours.
running_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$MARK" || return 1
  echo "$pid"
}

# Stops the process of pidfile $1: SIGTERM, then SIGKILL after $2 seconds.
stop_one() {
  local pidfile=$1 grace=$2 name pid i
  name="$(basename "$pidfile" .pid)"
  if pid="$(running_pid "$pidfile")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) still running after ${grace}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  elif [ -f "$pidfile" ]; then
    log "$name was not running"
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  # HAProxy first (no new requests), then the replicas: a graceful stop
  # drains for 5 s and writes queued audit records for up to 10 s.
  stop_one "$STATE/haproxy.pid" 5
  rm -f "$STATE/haproxy.sock"
  local n
  for n in 2 1; do stop_one "$STATE/replica-$n.pid" 20; done
}

# spawn NAME LOGFILE COMMAND...: starts COMMAND in its own session (so it
# outlives this script and a Ctrl-C in this terminal), with MARK in its
# argv[0], stdout and stderr in LOGFILE (the previous run's moved to
# LOGFILE.1: not appended to, since HAProxy clears O_APPEND on its log fd
# and would write over the start of the file); writes NAME.pid.
spawn() {
  local name=$1 logfile=$2
  shift 2
  [ ! -f "$logfile" ] || mv -f "$logfile" "$logfile.1"
  # `&` forks once; setsid, bash and the command each exec in place, so $!
  # is the command's own pid.
  # shellcheck disable=SC2016 # expanded by the inner bash, not here
  setsid bash -c 'name=$1; shift; exec -a "$name" "$@"' _ "$MARK $name" "$@" \
    >"$logfile" 2>&1 </dev/null &
  echo $! > "$STATE/$name.pid"
}

# wait_https NAME PIDFILE URL LOGFILE: until URL answers 200 over TLS
# checked against our CA (60 s), or the process dies.
wait_https() {
  local name=$1 pidfile=$2 url=$3 logfile=$4 i
  for ((i = 0; i < 300; i++)); do
    if curl -sf -o /dev/null --max-time 2 --cacert "$STATE/ca.pem" \
      --resolve "localhost:${url##*:}:127.0.0.1" "$url/healthz"; then
      return 0
    fi
    running_pid "$pidfile" >/dev/null || { tail -n 30 "$logfile" >&2; die "$name exited (log: $logfile)"; }
    sleep 0.2
  done
  tail -n 30 "$logfile" >&2
  die "$name did not answer $url/healthz within 60 s (log: $logfile)"
}

# Refuses a port something else already listens on (its /healthz could
# pass for ours).
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "port $1 is in use (set CLUSTER_PORT, CLUSTER_PORT_1 or CLUSTER_PORT_2)"
  fi
}

# A CA and one ECDSA P-256 certificate for localhost and 127.0.0.1, made
# once: the replicas serve it (WRIT_TLS_CERT/KEY) and so does HAProxy, so
# the certificate fingerprints Writ shows for cloud OIDC registration are
# those of what clients see.
make_pki() {
  [ -s "$STATE/haproxy.pem" ] && return 0
  log "making a CA and a certificate for localhost in $STATE"
  (
    cd "$STATE"
    umask 077
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-key.pem 2>/dev/null
    openssl req -x509 -new -key ca-key.pem -subj "/CN=Writ cluster local CA" -days 3650 -out ca.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out tls-key.pem 2>/dev/null
    openssl req -new -key tls-key.pem -subj /CN=localhost -out tls.csr
    printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
      extendedKeyUsage=serverAuth subjectAltName=DNS:localhost,IP:127.0.0.1 > tls.ext
    openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
      -extfile tls.ext -out leaf.pem 2>/dev/null
    # The chain clients get: the server certificate, then the CA.
    cat leaf.pem ca.pem > tls-cert.pem
    # HAProxy wants the chain and the key in one file.
    cat tls-cert.pem tls-key.pem > haproxy.pem
    rm -f tls.csr tls.ext leaf.pem ca.srl
    chmod 644 ca.pem tls-cert.pem
  )
}

cmd_start() {
  [ -x "$WRIT_BIN" ] || die "no Writ binary at $WRIT_BIN (make build-release, or set WRIT_BIN)"
  command -v haproxy >/dev/null ||
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy) >/dev/null
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  # A second start restarts everything (e.g. with a newly built binary).
  cmd_stop
  # A start that fails half way leaves nothing running.
  trap 'log "start failed; stopping what it started"; cmd_stop' EXIT

  pg_isready -q -d "$PG/postgres" || die "PostgreSQL does not answer at $PG (start it, or set CLUSTER_PG)"
  local exists
  exists="$(psql -qtA -d "$PG/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")"
  if [ -z "$exists" ]; then
    log "creating database $DB"
    psql -q -d "$PG/postgres" -c "CREATE DATABASE \"$DB\"" >/dev/null
  elif [ ! -s "$STATE/master.key" ]; then
    die "database $DB exists but $STATE/master.key does not: its sealed values cannot be opened (scripts/cluster.sh reset starts over)"
  fi

  local new_key new_pw new_token
  new_key="$(make_secret 32 "$STATE/master.key")"
  new_pw="$(make_secret 18 "$STATE/admin-password")"
  new_token="$(make_secret 24 "$STATE/admin-token")"
  [ -z "$new_key" ] || log "made the master key $STATE/master.key (every replica reads it; back it up)"
  make_pki

  # What every replica shares: the database, the master key, the public URL
  # (the issuer in every token), the instance id, the certificate, and
  # which proxy's X-Forwarded-For to believe.
  local common=(
    WRIT_DATABASE_URL="$PG/$DB"
    WRIT_MASTER_KEY_FILE="$STATE/master.key"
    WRIT_PUBLIC_URL="$URL"
    WRIT_INSTANCE_ID="$INSTANCE_ID"
    WRIT_TLS_CERT="$STATE/tls-cert.pem"
    WRIT_TLS_KEY="$STATE/tls-key.pem"
    WRIT_TRUSTED_PROXIES=127.0.0.1
    WRIT_ADMIN_PASSWORD_FILE="$STATE/admin-password"
    WRIT_BOOTSTRAP_ADMIN_TOKEN_FILE="$STATE/admin-token"
    WRIT_SITE_ROOT="$WRIT_SITE_ROOT"
  )
  # One after the other: the first applies the migrations and creates the
  # admin; the second finds them done.
  local n port
  for n in 1 2; do
    port="${PORTS[$((n - 1))]}"
    mkdir -p "$STATE/replica-$n"
    port_free "$port"
    (
      export "${common[@]}" WRIT_DATA_DIR="$STATE/replica-$n" WRIT_BIND="127.0.0.1:$port"
      spawn "replica-$n" "$STATE/replica-$n.log" "$WRIT_BIN"
    )
    wait_https "replica-$n" "$STATE/replica-$n.pid" "https://localhost:$port" "$STATE/replica-$n.log"
    log "replica $n up on https://localhost:$port (pid $(cat "$STATE/replica-$n.pid"), log $STATE/replica-$n.log)"
  done

  render deploy/haproxy.cfg.in "$STATE/haproxy.cfg" \
    FRONT_BIND="127.0.0.1:$FRONT_PORT" \
    CERT_PEM="$STATE/haproxy.pem" \
    CA_PEM="$STATE/ca.pem" \
    BACKEND_HOST=localhost \
    BACKEND_1="127.0.0.1:${PORTS[0]}" \
    BACKEND_2="127.0.0.1:${PORTS[1]}" \
    STATS_SOCKET="$STATE/haproxy.sock"
  haproxy -c -f "$STATE/haproxy.cfg" >/dev/null || die "HAProxy refuses $STATE/haproxy.cfg"
  port_free "$FRONT_PORT"
  spawn haproxy "$STATE/haproxy.log" haproxy -db -f "$STATE/haproxy.cfg"
  wait_https haproxy "$STATE/haproxy.pid" "$URL" "$STATE/haproxy.log"
  trap - EXIT

  cat <<EOF

Writ cluster: $URL/  (HAProxy, pid $(cat "$STATE/haproxy.pid"), log $STATE/haproxy.log)
  replicas:     https://localhost:${PORTS[0]}  https://localhost:${PORTS[1]}  (logs $STATE/replica-{1,2}.log)
  database:     $PG/$DB
  CA:           $STATE/ca.pem   (curl --cacert $STATE/ca.pem $URL/healthz)
  console user: admin, password in $STATE/admin-password
  admin API:    Authorization: Bearer \$(cat $STATE/admin-token)
  HAProxy:      echo 'show stat' | socat - $STATE/haproxy.sock
  stop:         make cluster-stop  (or scripts/cluster.sh stop; data kept)
EOF
  if [ -n "$new_pw$new_token" ]; then
    echo "  (first start) admin password: $(cat "$STATE/admin-password")  admin API token: $(cat "$STATE/admin-token")"
  fi
}

cmd_reset() {
  cmd_stop
  if pg_isready -q -d "$PG/postgres"; then
    psql -q -d "$PG/postgres" -c "DROP DATABASE IF EXISTS \"$DB\"" >/dev/null
    log "dropped database $DB"
  fi
  rm -rf "$STATE"
  log "removed $STATE"
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  reset) cmd_reset ;;
  *) die "usage: $0 [start|stop|reset]" ;;
esac
