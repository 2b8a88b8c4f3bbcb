#!/usr/bin/env bash
# make bench: runs every benchmark under bench/ and prints one table of figures with ratios against
# baselines measured in the same run (bench/README.md explains them and holds a full run).
#
#   hack/bench.sh            all of them: operator-scale, catalog, upload, streaming, time-to-ready
#   hack/bench.sh catalog    only the named ones
#
# The host tier (test/support/hostenv.ts) is started once under .cache/bench/hostenv and stopped at
# the end (one already running there is reused and left running). The kind platform is what
# `make dev` installs (.dev/endpoints.env). When it is not up, BENCH_PLATFORM=start runs hack/dev.sh up
# with a time budget (BENCH_PLATFORM_TIMEOUT, default 420 s) first. The default (auto) does not: on
# this machine the default cluster is shared with the test tiers, and an upgrade cut off by the
# budget leaves a failed Helm release there. What cannot run prints "not run: <reason>".
# Benchmarks report; they assert nothing and are not part of `make test`.
#
# Environment: BENCH_DURATION (s per load run, default 10), BENCH_OPERATOR_SIZES (100,500),
# BENCH_UPLOAD_SIZES_MIB (256,1024), BENCH_CATALOG_ROWS (10000),
# BENCH_PLATFORM (auto|start|off), BENCH_PLATFORM_TIMEOUT (420).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH=$ROOT/bin:$ROOT/node_modules/.bin:$PATH
OUT=$ROOT/.cache/bench
mkdir -p "$OUT/logs"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
export BENCH_RESULTS=$OUT/results-$STAMP.jsonl
: > "$BENCH_RESULTS"
export BENCH_HOSTENV_ROOT=$OUT/hostenv
HOST_BENCHES=(operator-scale catalog upload streaming)
ALL=("${HOST_BENCHES[@]}" time-to-ready)
SELECTED=("$@")
[ ${#SELECTED[@]} -eq 0 ] && SELECTED=("${ALL[@]}")
T0=$SECONDS

say() { printf '\033[1m== %s\033[0m (%d s)\n' "$*" $((SECONDS - T0)); }
notrun() { # notrun <bench> <reason>
  local reason=${2//\"/\'}
  printf '{"bench":"%s","metric":"not run","value":"%s","load":%s}\n' "$1" "$reason" "$(cut -d' ' -f1 /proc/loadavg)" >> "$BENCH_RESULTS"
  printf '[%s] not run: %s\n' "$1" "$2"
}
wants() { local b; for b in "${SELECTED[@]}"; do [ "$b" = "$1" ] && return 0; done; return 1; }
run() { # run <bench> [VAR=value...]
  local b=$1 rc; shift
  say "$b"
  env "$@" node --import=tsx "bench/$b.ts" 2>&1 | tee "$OUT/logs/$b.log"
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || notrun "$b" "exited $rc after what it printed: see .cache/bench/logs/$b.log"
}

printf 'Videoflix benchmarks  %s  commit %s%s\n' "$(date -u '+%F %T UTC')" "$(git rev-parse --short HEAD)" \
  "$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (+ local changes)')"
printf 'machine: %s cores, %s memory, load %s\n' "$(nproc)" "$(free -h | awk '/^Mem:/ {print $2}')" "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- host tier ---------------------------------------------------------------------------------------
OWN_HOSTENV=0
stop_all() {
  if [ "$OWN_HOSTENV" = 1 ]; then
    say "stopping the host tier"
    node --import=tsx test/support/hostenv-cli.ts down --root "$BENCH_HOSTENV_ROOT" > "$OUT/logs/hostenv-down.log" 2>&1 || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM
needs_host=0
for b in "${HOST_BENCHES[@]}"; do wants "$b" && needs_host=1; done
if [ "$needs_host" = 1 ]; then
  say "host tier in ${BENCH_HOSTENV_ROOT#"$ROOT"/}"
  if node --import=tsx test/support/hostenv-cli.ts up --root "$BENCH_HOSTENV_ROOT" > "$OUT/logs/hostenv-up.log" 2>&1; then
    if grep -q 'already running' "$OUT/logs/hostenv-up.log"; then echo "   (reusing the one running there; left running)"; else OWN_HOSTENV=1; fi
  else
    OWN_HOSTENV=1
    tail -20 "$OUT/logs/hostenv-up.log"
    for b in "${HOST_BENCHES[@]}"; do wants "$b" && notrun "$b" "the host tier did not start (.cache/bench/logs/hostenv-up.log)"; done
    needs_host=0
  fi
fi
if [ "$needs_host" = 1 ]; then
  for b in "${HOST_BENCHES[@]}"; do wants "$b" && run "$b"; done
fi

# ---- the kind platform (make dev) -----------------------------------------------------------------------
platform_up() {
  [ -f .dev/endpoints.env ] || return 1
  # shellcheck disable=SC1091
  (set -a && . .dev/endpoints.env && curl -fsS -m 5 -o /dev/null "$API_URL/healthz")
}
platform_reason=""
if wants time-to-ready && ! platform_up; then
  if [ "${BENCH_PLATFORM:-auto}" != start ]; then
    platform_reason="the kind platform is not up (no .dev/endpoints.env answering): run make dev first, or BENCH_PLATFORM=start"
  else
    say "starting the kind platform: hack/dev.sh up (budget ${BENCH_PLATFORM_TIMEOUT:-420} s, log .cache/bench/logs/dev-up.log)"
    timeout --signal=TERM --kill-after=30 "${BENCH_PLATFORM_TIMEOUT:-420}" hack/dev.sh up > "$OUT/logs/dev-up.log" 2>&1
    rc=$?
    if ! platform_up; then
      if [ "$rc" = 124 ]; then why="took longer than ${BENCH_PLATFORM_TIMEOUT:-420} s"; else why="exited $rc"; fi
      platform_reason="the kind platform could not be started: hack/dev.sh up $why; last error: $(grep -a -E '!!|rror' "$OUT/logs/dev-up.log" | tail -1 | tr -d '\033' | cut -c1-140)"
    fi
  fi
fi
if wants time-to-ready; then
  if [ -z "$platform_reason" ]; then
    # shellcheck disable=SC1091
    set -a && . .dev/endpoints.env && set +a
    run time-to-ready BENCH_API_URL="$API_URL" BENCH_ADMIN_EMAIL="$ADMIN_EMAIL" BENCH_ADMIN_PASSWORD="$ADMIN_PASSWORD" BENCH_KUBECONFIG="${KUBECONFIG:-}"
  else
    # the plain-ffmpeg figures are measured anyway; the platform part says why it did not run
    run time-to-ready BENCH_PLATFORM_REASON="$platform_reason"
  fi
fi

say "done"
printf '\nVideoflix benchmarks: %s cores, load %s at the end, %d s in all; results in %s\n\n' \
  "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" $((SECONDS - T0)) "${BENCH_RESULTS#"$ROOT"/}"
node --import=tsx bench/report.ts "$BENCH_RESULTS"
