#!/usr/bin/env bash
# The test pipeline behind `make test`. usage: hack/test.sh all|cluster|e2e|faults
# The e2e and fault tiers share one platform (hack/dev.sh up on the tiers' kind cluster, brought up by the first
# spec that needs it through test/support/platform.ts): the fault tier runs after the e2e tier, on the same one.
# Long tool builds run in the background while dependencies install and unit tests run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
export LOCALBIN=${LOCALBIN:-$ROOT/bin}
export PATH=$LOCALBIN:$ROOT/node_modules/.bin:$PATH
LOGS=$ROOT/.cache/logs; mkdir -p "$LOGS"
step() { printf '\n\033[1;34m== %s\033[0m (%s)\n' "$*" "$(date +%T)"; }
T0=$SECONDS

npm_install() {
  if [ ! -f node_modules/.install-stamp ] || [ package-lock.json -nt node_modules/.install-stamp ]; then
    npm ci --no-audit --no-fund && touch node_modules/.install-stamp
  fi
}

# Background job with progress: bg_start NAME CMD...; bg_wait NAME
declare -A BG_PID
bg_start() { local n=$1; shift; ("$@") > "$LOGS/$n.log" 2>&1 & BG_PID[$n]=$!; echo "   (background: $n, log .cache/logs/$n.log)"; }
bg_wait() {
  local n=$1 pid=${BG_PID[$1]} last=""
  while kill -0 "$pid" 2>/dev/null; do
    local l; l=$(grep -a '>>' "$LOGS/$n.log" | tail -1 || true)
    [ "$l" != "$last" ] && [ -n "$l" ] && echo "   [$n] $l" && last=$l
    sleep 5
  done
  if ! wait "$pid"; then echo "background step $n failed:"; tail -30 "$LOGS/$n.log"; return 1; fi
  grep -a '>>' "$LOGS/$n.log" | tail -3 | sed "s/^/   [$n] /" || true
}
cleanup() {
  for p in "${BG_PID[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${KEEP_CLUSTER:-0}" != 1 ] && [ -n "${CLUSTER_STARTED:-}" ]; then
    hack/cluster/cluster.sh down || true
    hack/cluster/docker.sh down || true
  fi
}
trap cleanup EXIT

# The kind tiers share one cluster with two workers (issue 24: chunks spread over nodes); a cluster left with
# another shape (e.g. make dev's single node) is recreated. CLUSTER_WORKERS=0 runs the tiers on one node.
export CLUSTER_WORKERS=${CLUSTER_WORKERS:-2} CLUSTER_MISMATCH=${CLUSTER_MISMATCH:-recreate}
cluster_tier() {
  step "cluster tier: dockerd, base image, node image, kind cluster ($CLUSTER_WORKERS workers), project images"
  CLUSTER_STARTED=1
  hack/cluster/docker.sh up
  hack/cluster/base-image.sh
  hack/cluster/node-image.sh
  hack/cluster/cluster.sh up
  hack/cluster/images.sh
}

case "${1:-all}" in
  all)
    step "system packages"; hack/deps.sh all
    step "node $(. hack/versions.env; echo $NODE_VERSION) and npm dependencies"; hack/tools.sh node; npm_install
    step "building pinned tools and the node image's Go parts"
    bg_start tools sh -c 'hack/tools.sh all && hack/cluster/node-tools.sh all'
    step "typecheck and lint"; npm run typecheck; npm run lint; hack/check-crd-copy.sh; hack/check-rbac-copy.sh
    step "unit tests"; npm run test:unit
    step "waiting for tools"; bg_wait tools
    step "integration tests (host tier)"; npm run test:integration
    cluster_tier
    step "cluster tests"; npm run test:cluster
    step "end-to-end tests"; npm run test:e2e
    # the attack suite and the fault tier on the platform the e2e tier used (test/support/platform.ts): never a second one
    step "attack suite"; npm run test:attack
    step "fault-injection tests (same platform)"; npm run test:faults
    ;;
  cluster)
    hack/deps.sh cluster; hack/tools.sh node kind k8s helm; npm_install
    cluster_tier; step "cluster tests"; npm run test:cluster ;;
  e2e)
    hack/deps.sh all; hack/tools.sh all; npm_install
    cluster_tier; step "end-to-end tests"; npm run test:e2e; step "attack suite"; npm run test:attack ;;
  faults)
    hack/deps.sh all; hack/tools.sh all; npm_install
    cluster_tier; step "fault-injection tests"; npm run test:faults ;;
  *) echo "usage: $0 all|cluster|e2e|faults" >&2; exit 2 ;;
esac
step "done in $((SECONDS - T0)) s"
