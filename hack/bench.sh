#!/usr/bin/env bash
# make bench: runs every benchmark under bench/ and prints one table of figures with ratios against
# baselines measured in the same run (bench/README.md explains them and holds a full run).
#
#   hack/bench.sh            all of them: time-to-ready, streaming, catalog (kind and host), chunk-scale, operator-scale, upload,
#                            progress, chunking (chunk-scale: time to Ready on 1 and 2 workers, issue 24)
#   hack/bench.sh catalog    only the named ones; "streaming" is streaming-kind (through the ingress on kind)
#                            and streaming-host (the API alone on the host tier), "catalog" is catalog-kind
#                            (through the ingress on kind) and catalog (the host tier); each selectable alone
#
# Order: the kind platform first (time-to-ready, then streaming through the ingress, which streams the
# video time-to-ready made Ready), then the host tier (operator-scale, catalog, upload, the host-tier
# streaming run of the API alone). A platform this run started is taken down before the host tier, so
# the host figures are not measured next to an idle kind cluster.
#
# The kind platform is what `make dev` installs ($DEV_DIR/endpoints.env, DEV_DIR default .dev; honours
# CLUSTER_NAME, INGRESS_HTTP_PORT, INGRESS_HTTPS_PORT like hack/dev.sh). When it is not up, the default
# BENCH_PLATFORM=auto (or start) runs `hack/dev.sh up` with a time budget (BENCH_PLATFORM_TIMEOUT, 900 s)
# and removes what it started at the end: the kind cluster when it created it, else only the Helm release
# when it installed it (a cluster or release that was there is left as it was; the dockerd is always
# left running: it is shared). BENCH_KEEP_PLATFORM=1 keeps what it started. A platform already up is
# reused and left running. BENCH_PLATFORM=off never starts one. The host tier (@videoflix/hostenv, packages/hostenv) is
# started once under $BENCH_HOSTENV_ROOT (.cache/bench/hostenv) and stopped at the end (one already
# running there is reused and left running). What cannot run prints "not run: <reason>".
# Benchmarks report; they assert nothing and are not part of `make test`.
#
# Environment: BENCH_DURATION (s per load run, default 10), BENCH_OPERATOR_SIZES (100,500),
# BENCH_UPLOAD_SIZES_MIB (256,1024), BENCH_CATALOG_ROWS (10000), BENCH_TTR_SECONDS (30),
# BENCH_PLATFORM (auto|start|off), BENCH_PLATFORM_TIMEOUT (900), BENCH_KEEP_PLATFORM (0),
# BENCH_HOSTENV_ROOT, CLUSTER_NAME, INGRESS_HTTP_PORT, INGRESS_HTTPS_PORT, DEV_DIR, DEV_NAMESPACE,
# BENCH_CHUNK_SOURCE_SECONDS (300), BENCH_CHUNK_SECONDS (30), BENCH_CHUNK_RENDITION (720p).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH=$ROOT/bin:$ROOT/node_modules/.bin:$PATH
OUT=$ROOT/.cache/bench
mkdir -p "$OUT/logs"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
export BENCH_RESULTS=$OUT/results-$STAMP.jsonl
: > "$BENCH_RESULTS"
export BENCH_HOSTENV_ROOT=${BENCH_HOSTENV_ROOT:-$OUT/hostenv}
DEV=${DEV_DIR:-$ROOT/.dev}
ENDPOINTS=$DEV/endpoints.env
CLUSTER=${CLUSTER_NAME:-videoflix}
NS=${DEV_NAMESPACE:-videoflix}
RELEASE=${DEV_RELEASE:-videoflix}
# the project's dockerd (kind nodes; streaming reads the Pods' cgroups through docker exec)
export DOCKER_HOST=${DOCKER_HOST:-$(bash -c '. hack/cluster/env.sh >/dev/null 2>&1; echo "$DOCKER_HOST"')}
HOST_BENCHES=(operator-scale catalog upload streaming-host progress)
MEDIA_BENCHES=(chunking) # ffmpeg alone: neither platform nor host tier
ALL=(time-to-ready streaming-kind catalog-kind chunk-scale "${HOST_BENCHES[@]}" "${MEDIA_BENCHES[@]}")
SELECTED=()
for b in "${@:-${ALL[@]}}"; do # "streaming" is both streaming-kind and streaming-host, "catalog" both catalog-kind and it
  case $b in
    streaming) SELECTED+=(streaming-kind streaming-host) ;;
    catalog) SELECTED+=(catalog-kind catalog) ;;
    *) SELECTED+=("$b") ;;
  esac
done
T0=$SECONDS
ELAPSED=() # "<bench> <seconds>" per step, printed at the end

say() { printf '\033[1m== %s\033[0m (%d s)\n' "$*" $((SECONDS - T0)); }
notrun() { # notrun <bench> <reason>
  local reason=${2//\"/\'}
  printf '{"bench":"%s","metric":"not run","value":"%s","load":%s}\n' "$1" "$reason" "$(cut -d' ' -f1 /proc/loadavg)" >> "$BENCH_RESULTS"
  printf '[%s] not run: %s\n' "$1" "$2"
}
wants() { local b; for b in "${SELECTED[@]}"; do [ "$b" = "$1" ] && return 0; done; return 1; }
run() { # run <bench> <label> [VAR=value...]
  local b=$1 label=$2 rc t=$SECONDS; shift 2
  say "$label"
  env "$@" node --import=tsx "bench/$b.ts" 2>&1 | tee "$OUT/logs/$label.log"
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || notrun "$label" "exited $rc after what it printed: see .cache/bench/logs/$label.log"
  ELAPSED+=("$label $((SECONDS - t))")
}

printf 'Videoflix benchmarks  %s  commit %s%s\n' "$(date -u '+%F %T UTC')" "$(git rev-parse --short HEAD)" \
  "$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (+ local changes)')"
printf 'machine: %s cores, %s memory, load %s\n' "$(nproc)" "$(free -h | awk '/^Mem:/ {print $2}')" "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the kind platform (make dev) -----------------------------------------------------------------------
OWN_HOSTENV=0 OWN_CLUSTER=0 OWN_RELEASE=0
kc() { sed -n 's/^KUBECONFIG=//p' "$ENDPOINTS" 2>/dev/null; }
platform_up() {
  [ -f "$ENDPOINTS" ] || return 1
  # shellcheck disable=SC1090
  (set -a && . "$ENDPOINTS" && curl -fsS -m 5 -o /dev/null "$API_URL/healthz")
}
cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; }
release_exists() { # on the cluster's kubeconfig as hack/dev.sh names it
  local k=$ROOT/.cache/cluster/kubeconfig
  [ "$CLUSTER" = videoflix ] || k=$ROOT/.cache/cluster/$CLUSTER.kubeconfig
  [ -f "$k" ] && KUBECONFIG=$k helm status "$RELEASE" -n "$NS" >/dev/null 2>&1
}
platform_down() { # removes what this run started (never the dockerd: it is shared)
  local t=$SECONDS k
  [ "$OWN_CLUSTER" = 1 ] || [ "$OWN_RELEASE" = 1 ] || return 0
  k=$(kc)
  if [ "$OWN_CLUSTER" = 1 ]; then
    say "deleting the kind cluster $CLUSTER this run created (BENCH_KEEP_PLATFORM=1 keeps it)"
    kind delete cluster --name "$CLUSTER" ${k:+--kubeconfig "$k"} > "$OUT/logs/platform-down.log" 2>&1 || tail -5 "$OUT/logs/platform-down.log"
    rm -f "$ENDPOINTS" "$DEV/release.hash" "$DEV/.cookies"
    [ -n "$k" ] && rm -f "$k"
  elif [ "$OWN_RELEASE" = 1 ]; then
    say "uninstalling the Helm release $RELEASE this run installed on the existing cluster $CLUSTER"
    KUBECONFIG=$k helm uninstall "$RELEASE" -n "$NS" --wait --timeout 3m > "$OUT/logs/platform-down.log" 2>&1 || tail -5 "$OUT/logs/platform-down.log"
    rm -f "$ENDPOINTS" "$DEV/release.hash" "$DEV/.cookies"
  fi
  OWN_CLUSTER=0 OWN_RELEASE=0
  ELAPSED+=("platform-down $((SECONDS - t))")
}
stop_all() {
  if [ "${BENCH_KEEP_PLATFORM:-0}" != 1 ]; then platform_down; fi
  if [ "$OWN_HOSTENV" = 1 ]; then
    say "stopping the host tier"
    node --import=tsx packages/hostenv/src/cli.ts down --root "$BENCH_HOSTENV_ROOT" > "$OUT/logs/hostenv-down.log" 2>&1 || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

platform_reason=""
wants_kind() { wants time-to-ready || wants streaming-kind || wants catalog-kind || wants chunk-scale; }
if wants_kind; then
  if platform_up; then
    echo "   kind platform up ($ENDPOINTS): reused, left running"
  elif [ "${BENCH_PLATFORM:-auto}" = off ]; then
    platform_reason="the kind platform is not up (no $ENDPOINTS answering) and BENCH_PLATFORM=off"
  else
    cluster_exists && had_cluster=1 || had_cluster=0
    release_exists && had_release=1 || had_release=0
    say "starting the kind platform: CLUSTER_NAME=$CLUSTER hack/dev.sh up (budget ${BENCH_PLATFORM_TIMEOUT:-900} s, log .cache/bench/logs/dev-up.log)"
    t=$SECONDS
    # its progress in .cache/bench/logs/dev-up.log, its steps' logs under .cache/logs
    # no sample video when time-to-ready runs: it uploads its own, which streaming-kind then uses
    sample=${DEV_SAMPLE:-}; wants time-to-ready && sample=${DEV_SAMPLE:-never}
    # chunk-scale needs two workers; a cluster that exists is reused as it is
    workers=${CLUSTER_WORKERS:-}; [ "$had_cluster" = 0 ] && wants chunk-scale && workers=${CLUSTER_WORKERS:-2}
    CLUSTER_NAME=$CLUSTER CLUSTER_WORKERS=$workers DEV_SAMPLE=$sample timeout --signal=TERM --kill-after=30 "${BENCH_PLATFORM_TIMEOUT:-900}" hack/dev.sh up > "$OUT/logs/dev-up.log" 2>&1
    rc=$?
    ELAPSED+=("platform-up $((SECONDS - t))")
    [ "$had_cluster" = 0 ] && cluster_exists && OWN_CLUSTER=1
    [ "$had_cluster" = 1 ] && [ "$had_release" = 0 ] && release_exists && OWN_RELEASE=1
    if platform_up; then
      echo "   up in $((SECONDS - t)) s$([ "$OWN_CLUSTER" = 1 ] && echo ", new cluster $CLUSTER")"
    else
      if [ "$rc" = 124 ]; then why="took longer than ${BENCH_PLATFORM_TIMEOUT:-900} s"; else why="exited $rc"; fi
      platform_reason="the kind platform could not be started: hack/dev.sh up $why; last error: $(grep -a -E '!!|rror' "$OUT/logs/dev-up.log" | tail -1 | tr -d '\033' | cut -c1-140)"
    fi
  fi
fi
if [ -z "$platform_reason" ] && wants_kind; then
  # shellcheck disable=SC1090
  PLATFORM_ENV=(BENCH_API_URL="$(sed -n 's/^API_URL=//p' "$ENDPOINTS")"
    BENCH_ADMIN_EMAIL="$(sed -n 's/^ADMIN_EMAIL=//p' "$ENDPOINTS")"
    BENCH_ADMIN_PASSWORD="$(sed -n 's/^ADMIN_PASSWORD=//p' "$ENDPOINTS")"
    BENCH_KUBECONFIG="$(kc)" BENCH_NAMESPACE="$NS")
else
  PLATFORM_ENV=(BENCH_PLATFORM_REASON="$platform_reason")
fi
VIDEO_ID_FILE=$OUT/logs/ttr-video-id-$STAMP
if wants time-to-ready; then
  # it keeps its Ready video for the streaming run below, which deletes it
  run time-to-ready time-to-ready "${PLATFORM_ENV[@]}" \
    $(wants streaming-kind && [ -z "$platform_reason" ] && echo BENCH_TTR_VIDEO_ID_FILE="$VIDEO_ID_FILE")
fi
if wants streaming-kind; then
  if [ -s "$VIDEO_ID_FILE" ]; then
    run streaming streaming-kind "${PLATFORM_ENV[@]}" BENCH_STREAM_TARGET=kind \
      BENCH_STREAM_VIDEO_ID="$(cat "$VIDEO_ID_FILE")" BENCH_STREAM_DELETE_VIDEO=1
    rm -f "$VIDEO_ID_FILE"
  else
    run streaming streaming-kind "${PLATFORM_ENV[@]}" BENCH_STREAM_TARGET=kind
  fi
fi
wants catalog-kind && run catalog catalog-kind "${PLATFORM_ENV[@]}" BENCH_CATALOG_TARGET=kind
wants chunk-scale && run chunk-scale chunk-scale "${PLATFORM_ENV[@]}"
[ "${BENCH_KEEP_PLATFORM:-0}" = 1 ] || platform_down

# ---- host tier ---------------------------------------------------------------------------------------
needs_host=0
for b in "${HOST_BENCHES[@]}"; do wants "$b" && needs_host=1; done
if [ "$needs_host" = 1 ]; then
  say "host tier in ${BENCH_HOSTENV_ROOT#"$ROOT"/}"
  t=$SECONDS
  if node --import=tsx packages/hostenv/src/cli.ts up --root "$BENCH_HOSTENV_ROOT" > "$OUT/logs/hostenv-up.log" 2>&1; then
    if grep -q 'already running' "$OUT/logs/hostenv-up.log"; then echo "   (reusing the one running there; left running)"; else OWN_HOSTENV=1; fi
  else
    OWN_HOSTENV=1
    tail -20 "$OUT/logs/hostenv-up.log"
    for b in "${HOST_BENCHES[@]}"; do wants "$b" && notrun "$b" "the host tier did not start (.cache/bench/logs/hostenv-up.log)"; done
    needs_host=0
  fi
  ELAPSED+=("host-tier-up $((SECONDS - t))")
fi
if [ "$needs_host" = 1 ]; then
  for b in "${HOST_BENCHES[@]}"; do
    if [ "$b" = streaming-host ]; then wants "$b" && run streaming streaming-host BENCH_STREAM_TARGET=host
    else wants "$b" && run "$b" "$b"; fi
  done
fi

# ---- media (ffmpeg only) ----------------------------------------------------------------------------------
for b in "${MEDIA_BENCHES[@]}"; do wants "$b" && run "$b" "$b"; done

say "done"
printf '\nVideoflix benchmarks: %s cores, load %s at the end, %d s in all; results in %s\n' \
  "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" $((SECONDS - T0)) "${BENCH_RESULTS#"$ROOT"/}"
printf 'elapsed:'; for e in "${ELAPSED[@]}"; do printf '  %s %s s' "${e% *}" "${e##* }"; done; printf '\n\n'
node --import=tsx bench/report.ts "$BENCH_RESULTS"
