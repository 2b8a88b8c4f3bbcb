#!/usr/bin/env bash
# A private Prometheus scraping the platform's metrics, for the dashboard renderer (hack/dashboard/render.ts).
# No Prometheus Operator and no in-cluster Prometheus: one `kubectl port-forward pod/<pod>` per Pod behind the
# chart's metrics Services (the Services labelled media.videoflix.io/metrics=true of the release, the ones the
# chart's ServiceMonitors select), and a Prometheus on the host scraping them as the ServiceMonitors would:
# plain HTTP GET /metrics on the port named `metrics`, no TLS, no bearer token (common/metrics/index.ts; the
# ports are guarded by NetworkPolicies, which a port-forward does not cross), job=<Service name>,
# namespace=<namespace>, pod=<Pod name>.
#
# usage: hack/dashboard/prometheus.sh install|up|down|status
#   install  obtains Prometheus (Debian's package, unpacked, never installed) and prints the binary's path
#   up       (re)starts the port-forwards and Prometheus; needs KUBECONFIG (and kubectl, jq, curl); NAMESPACE (videoflix),
#            RELEASE (videoflix), PROM_PORT (9390). Pods replaced since the last `up` (a rollout, a deleted
#            Pod) are not followed: run `up` again, it refreshes the targets and keeps the data.
#   down     stops what `up` started (by pid, nothing else)
# State under <checkout>/.cache/dashboard/: prometheus.yml, prom-data/ (kept across `up`s), pids, logs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HACK_ROOT=$ROOT . "$ROOT/hack/lib.sh"
STATE=${DASHBOARD_STATE:-$ROOT/.cache/dashboard}
PIDS=$STATE/pids
NAMESPACE=${NAMESPACE:-videoflix}
RELEASE=${RELEASE:-videoflix}
PROM_PORT=${PROM_PORT:-9390}

# Debian bookworm's prometheus (2.42.0+ds-5+deb12u1 when written): `apt-get download` + `dpkg -x`, so the host
# keeps its packages; its Depends (the classic web UI's JavaScript) are not needed for the HTTP API.
prometheus_bin() {
  local version d
  version=$(apt-cache show --no-all-versions prometheus 2>/dev/null | sed -n 's/^Version: //p' | head -1)
  if [ -z "$version" ]; then
    apt-get update -qq >&2
    version=$(apt-cache show --no-all-versions prometheus | sed -n 's/^Version: //p' | head -1)
  fi
  [ -n "$version" ] || { log "no Debian package prometheus"; return 1; }
  d=$TOOLS_CACHE/prometheus-${version//[:+~]/_}
  # shellcheck disable=SC2016 # expanded by the inner shell
  cached "$d" "prometheus $version (Debian package, unpacked)" sh -c '
    set -e; tmp=$(mktemp -d); trap "rm -rf \"$tmp\"" EXIT
    cd "$tmp"; apt-get download "prometheus=$2"; dpkg -x prometheus_*.deb "$1"
    "$1/usr/bin/prometheus" --version' _ "$d" "$version" >&2
  echo "$d/usr/bin/prometheus"
}

stop_all() {
  [ -f "$PIDS" ] || return 0
  local pid
  while read -r pid; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done < "$PIDS"
  for _ in $(seq 50); do # Prometheus flushes its head block on SIGTERM
    local alive=0
    while read -r pid; do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1; done < "$PIDS"
    [ "$alive" = 0 ] && break; sleep 0.2
  done
  rm -f "$PIDS"
}

# forward <pod> <port> <log>: starts `kubectl port-forward` on a free local port; prints that port.
forward() {
  local pod=$1 port=$2 out=$3 pid local_port
  : > "$out"
  kubectl port-forward -n "$NAMESPACE" --address 127.0.0.1 "pod/$pod" ":$port" > "$out" 2>&1 &
  pid=$!; echo "$pid" >> "$PIDS"
  for _ in $(seq 100); do
    local_port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$out" | head -1)
    [ -n "$local_port" ] && { echo "$local_port"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "port-forward to pod/$pod:$port failed: $(cat "$out")"; return 1
}

# "<pod> <port>" for every endpoint of a Service's EndpointSlices (ready or not: the ServiceMonitor's
# endpoints role scrapes both) on its port named metrics
ENDPOINT_ROWS='.items[] as $s | ($s.ports[]? | select(.name == "metrics") | .port) as $port
  | $s.endpoints[]? | select(.targetRef.kind == "Pod") | "\(.targetRef.name) \($port)"'

up() {
  : "${KUBECONFIG:?set KUBECONFIG to the platform kubeconfig}"
  local bin; bin=$(prometheus_bin)
  stop_all
  mkdir -p "$STATE/logs" "$STATE/prom-data"
  : > "$PIDS"
  local services svc cfg=$STATE/prometheus.yml targets=0
  services=$(kubectl get services -n "$NAMESPACE" \
    -l "media.videoflix.io/metrics=true,app.kubernetes.io/instance=$RELEASE" -o name | sed 's|^service/||')
  [ -n "$services" ] || { log "no metrics Services of release $RELEASE in namespace $NAMESPACE"; return 1; }
  printf 'global:\n  scrape_interval: 5s\n  scrape_timeout: 4s\nscrape_configs:\n' > "$cfg"
  for svc in $services; do
    local rows pod port local_port
    rows=$(kubectl get endpointslices -n "$NAMESPACE" -l "kubernetes.io/service-name=$svc" -o json \
      | jq -r "$ENDPOINT_ROWS" | sort -u)
    printf '  - job_name: %s\n    metrics_path: /metrics\n    static_configs:\n' "$svc" >> "$cfg"
    if [ -z "$rows" ]; then printf '      []\n' >> "$cfg"; log "$svc: no Pods"; continue; fi
    while read -r pod port; do
      local_port=$(forward "$pod" "$port" "$STATE/logs/port-forward-$pod.log")
      printf '      - targets: ["127.0.0.1:%s"]\n        labels: {namespace: "%s", pod: "%s"}\n' \
        "$local_port" "$NAMESPACE" "$pod" >> "$cfg"
      log "$svc: pod/$pod:$port on 127.0.0.1:$local_port"
      targets=$((targets + 1))
    done <<< "$rows"
  done
  "$bin" --config.file="$cfg" --storage.tsdb.path="$STATE/prom-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=7d \
    > "$STATE/logs/prometheus.log" 2>&1 &
  echo $! >> "$PIDS"
  wait_ready "$!"
  log "Prometheus on http://127.0.0.1:$PROM_PORT scraping $targets Pods every 5 s (config $cfg); stop: $0 down"
}

wait_ready() {
  for _ in $(seq 150); do
    curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready" > /dev/null 2>&1 && return 0
    kill -0 "$1" 2>/dev/null || { log "prometheus exited:"; tail -20 "$STATE/logs/prometheus.log" >&2; return 1; }
    sleep 0.2
  done
  log "prometheus not ready after 30 s"; return 1
}

case "${1:-}" in
  install) prometheus_bin ;;
  up)
    trap 'rc=$?; [ "$rc" = 0 ] || { log "up failed: stopping what it started"; stop_all; }' EXIT
    up ;;
  down) stop_all; log "stopped" ;;
  status) [ -f "$PIDS" ] && while read -r p; do ps -o pid=,args= -p "$p" || echo "$p (gone)"; done < "$PIDS" ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
