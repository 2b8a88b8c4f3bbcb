# Shared settings of the cluster-tier scripts (sourced, not run). Every path can be overridden.
# shellcheck shell=bash
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$ROOT/hack/versions.env"
export LOCALBIN=${LOCALBIN:-$ROOT/bin}
export PATH=$LOCALBIN:$ROOT/node_modules/.bin:$PATH
VF_CACHE=${VF_CACHE:-$HOME/.cache/videoflix}
TOOLS_CACHE=${TOOLS_CACHE:-$VF_CACHE/tools}
IMAGES_CACHE=${IMAGES_CACHE:-$VF_CACHE/images}
# The project's own dockerd: data under the cache (images survive between runs), runtime state under /run.
VF_DOCKER_DIR=${VF_DOCKER_DIR:-$VF_CACHE/docker}
VF_RUN_DIR=${VF_RUN_DIR:-/run/videoflix}
export DOCKER_HOST=${VF_DOCKER_HOST:-unix://$VF_RUN_DIR/docker.sock}
LOGS=${LOGS:-$ROOT/.cache/logs}
CLUSTER_NAME=${CLUSTER_NAME:-videoflix}
# .cache/cluster/kubeconfig for the default cluster, .cache/cluster/<name>.kubeconfig for others
if [ "$CLUSTER_NAME" = videoflix ]; then KUBECONFIG_OUT=${KUBECONFIG_OUT:-$ROOT/.cache/cluster/kubeconfig}
else KUBECONFIG_OUT=${KUBECONFIG_OUT:-$ROOT/.cache/cluster/$CLUSTER_NAME.kubeconfig}; fi
BASE_IMAGE=${BASE_IMAGE:-videoflix/debian:bookworm}
mkdir -p "$LOGS"

log() { printf '\033[1m>> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31m!! %s\033[0m\n' "$*" >&2; exit 1; }
# Runs a command with a heartbeat every 15 s so long steps show they are alive; output goes to a log.
with_progress() { # with_progress <label> <logfile> <command...>
  local label=$1 logf=$2; shift 2
  local t0=$SECONDS pid rc
  "$@" > "$logf" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 3
    if kill -0 "$pid" 2>/dev/null && [ $(((SECONDS - t0) % 15)) -lt 3 ]; then
      printf '   ... %s: %d s (%s)\n' "$label" $((SECONDS - t0)) "$(tail -c 300 "$logf" | tr -d '\r' | grep -v '^\s*$' | tail -1 | cut -c1-100)" >&2
    fi
  done
  wait "$pid" && rc=0 || rc=$?
  if [ $rc -ne 0 ]; then printf '!! %s failed (rc %d), log %s:\n' "$label" $rc "$logf" >&2; tail -25 "$logf" >&2; return $rc; fi
  log "$label: done in $((SECONDS - t0)) s"
}
# The node image's tag: the Kubernetes version and a hash of its recipe (node-image.sh, node/, the versions
# it pins), so any change to the recipe builds a new image and an unchanged one is reused. (node-tools.sh
# is not part of it: its binaries are cached per version, whatever the script looks like.)
node_image() {
  if [ -n "${KIND_NODE_IMAGE:-}" ]; then echo "$KIND_NODE_IMAGE"; return; fi
  local h
  h=$( (cd "$ROOT" && cat hack/cluster/node-image.sh && find hack/cluster/node -type f | LC_ALL=C sort | xargs cat \
    && grep -E '^(K8S|KIND|CONTAINERD|RUNC|CRICTL|CNI_PLUGINS|COREDNS|NODE_ETCD|PAUSE)_VERSION=' hack/versions.env) | sha256sum | cut -c1-10)
  echo "videoflix/kind-node:$K8S_VERSION-$h"
}
# Pinned tools from hack/tools.sh (built once per version), for `make cluster` / `make images` on a fresh clone.
need_tools() { # need_tools <tools.sh tool>...   (kind, k8s for kubectl)
  local t bin
  for t in "$@"; do
    case "$t" in k8s) bin=kubectl ;; *) bin=$t ;; esac
    [ -x "$LOCALBIN/$bin" ] || "$ROOT/hack/tools.sh" "$t" >&2
  done
}
docker_ok() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
need_docker() { docker_ok || die "the project's dockerd is not running at $DOCKER_HOST: run hack/cluster/docker.sh up (make docker-up)"; }
