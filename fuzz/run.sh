#!/usr/bin/env bash
# Runs each fuzz target for FUZZ_SECONDS, one after another, on one core,
# then prints one summary line per target. `make fuzz` builds the targets
# first (cargo fuzz build --sanitizer none) and calls this.
#
#   FUZZ_SECONDS   seconds per target (default 600)
#   FUZZ_TARGETS   which targets (default: all five)
#   FUZZ_BIN       where cargo fuzz put the binaries
#   FUZZ_WORK      working corpus, crash artifacts and logs (outside the clone)
#
# The seed corpus in fuzz/corpus/<target> is read, never written: new
# inputs go to $FUZZ_WORK/corpus/<target>, kept between runs so a later
# run goes on from there. A crash stops its target (libFuzzer exits on the
# first one); the next target still runs, and the exit status is 1.
set -uo pipefail
cd "$(dirname "$0")"

SECONDS_EACH=${FUZZ_SECONDS:-600}
TARGETS=${FUZZ_TARGETS:-expr token_request jwt x509 pkcs7}
BIN=${FUZZ_BIN:-/var/tmp/writ-fuzz-target/x86_64-unknown-linux-gnu/release}
WORK=${FUZZ_WORK:-/var/tmp/writ-fuzz}

# Largest input per target: an expression may be 10,240 characters.
max_len() {
    case $1 in
        expr) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

summary=()
status=0
for t in $TARGETS; do
    corpus="$WORK/corpus/$t"
    artifacts="$WORK/artifacts/$t"
    log="$WORK/logs/$t.log"
    mkdir -p "$corpus" "$artifacts" "$WORK/logs"
    dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    echo "== fuzzing $t for ${SECONDS_EACH}s (log: $log)"
    start=$(date +%s)
    # One process, one thread: one core. -timeout: an input that takes
    # 10 s is a denial of service worth reporting.
    RUST_BACKTRACE=1 "$BIN/$t" "$corpus" "corpus/$t" "${dict[@]}" \
        -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    execs=$(stat number_of_executed_units)
    rate=$(stat average_exec_per_sec)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //')
    new=$(stat new_units_added)
    found=$(grep -oE "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //' | tr '\n' ' ')
    if [ "$rc" -eq 0 ]; then
        result="no crash"
    else
        status=1
        result="CRASH (exit $rc): ${found:-see log}"
        grep -m3 -E "panicked at|overflowed its stack|ERROR: libFuzzer" "$log" | sed 's/^/    /'
    fi
    summary+=("$(printf '%-13s %5ss %11s %7s  %-22s %-13s %6s  %s' \
        "$t" "$took" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "${corp:-?}" "${new:-?}" "$result")")
done

echo
echo "target         time  executions  exec/s  coverage               corpus        new    result"
printf '%s\n' "${summary[@]}"
echo "Reproduce a crash: $BIN/<target> <crash file>  (RUST_BACKTRACE=1 for the stack)"
exit $status
