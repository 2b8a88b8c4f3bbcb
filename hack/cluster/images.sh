#!/usr/bin/env bash
# Builds the project's images on the project's dockerd (FROM $BASE_IMAGE, `--network host` so apt and npm
# reach their mirrors) and `kind load`s them into the cluster. Unchanged images are not reloaded: docker's
# layer cache makes an unchanged build a no-op, and the image ID is compared with the node's copy.
# usage: hack/cluster/images.sh [--no-load] [name...]     (default: every image of the table, in order)
#   env: IMAGE_TAG (dev) for the project's own images, BASE_IMAGE, CLUSTER_NAME
set -euo pipefail
. "$(dirname "$0")/env.sh"
IMAGE_TAG=${IMAGE_TAG:-dev}
CTX=$ROOT/.cache/image-context

# ---- the images, built in this order -------------------------------------------------------------------
# Every project Dockerfile is images/<name>/Dockerfile.
# name        image reference                          Dockerfile (repo path)                     context       staging step
IMAGES=(
  # the build stage and the runtime base of the Node images (the pinned Node, npm ci of the workspaces;
  # Debian + node + user 10001): built first, never loaded
  "node-build videoflix/node-build:$IMAGE_TAG           images/node-build/Dockerfile               .             stage_node"
  "node-runtime videoflix/node-runtime:$IMAGE_TAG       images/node-runtime/Dockerfile             .             stage_none"
  "transcoder videoflix/transcoder:$IMAGE_TAG           images/transcoder/Dockerfile               .             stage_node"
  "versitygw  videoflix/versitygw:$VERSITYGW_VERSION    images/versitygw/Dockerfile                @versitygw    stage_versitygw"
  # the chart's images (charts/videoflix): bundled services, API, operator, and the ingress controller
  "postgres   videoflix/postgres:15                     images/postgres/Dockerfile                 .             stage_none"
  "rabbitmq   videoflix/rabbitmq:3.10                   images/rabbitmq/Dockerfile                 .             stage_none"
  "maildev    videoflix/maildev:$MAILDEV_VERSION        images/maildev/Dockerfile                  .             stage_node"
  "api        videoflix/api:$IMAGE_TAG                  images/api/Dockerfile                      .             stage_node"
  "operator   videoflix/operator:$IMAGE_TAG             images/operator/Dockerfile                 .             stage_node"
  "traefik    videoflix/traefik:$TRAEFIK_VERSION        images/traefik/Dockerfile                  @traefik      stage_traefik"
  # the cluster's default StorageClass (hack/cluster/storage, deployed by hack/cluster/cluster.sh up)
  "local-path-provisioner videoflix/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION images/local-path-provisioner/Dockerfile @local-path-provisioner stage_local_path_provisioner"
  # the cluster's NetworkPolicy enforcer (hack/cluster/netpol.sh)
  "kube-router videoflix/kube-router:$KUBE_ROUTER_VERSION images/kube-router/Dockerfile @kube-router stage_kuberouter"
)
NODE_BUILD_IMAGE=videoflix/node-build:$IMAGE_TAG NODE_RUNTIME_IMAGE=videoflix/node-runtime:$IMAGE_TAG
# context "." is the repo root (filtered by .dockerignore); "@x" is the staged directory .cache/image-context/x.

# ---- staging steps: put what a Dockerfile copies from outside the repo into .cache/image-context ----
sync_file() { mkdir -p "$(dirname "$2")"; cmp -s "$1" "$2" 2>/dev/null || { rm -f "$2"; ln "$1" "$2" 2>/dev/null || cp "$1" "$2"; }; }
stage_node() { # the pinned node binary, npm (the one that runs `npm ci` here) and the CA bundle for the builder stage
  [ -x "$LOCALBIN/node" ] || "$ROOT/hack/tools.sh" node
  local node npm_dir
  node=$(readlink -f "$LOCALBIN/node")
  npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
  sync_file "$node" "$CTX/node/bin/node"
  if [ ! -f "$CTX/node/lib/node_modules/npm/package.json" ] || ! cmp -s "$npm_dir/package.json" "$CTX/node/lib/node_modules/npm/package.json"; then
    rm -rf "$CTX/node/lib/node_modules/npm"; mkdir -p "$CTX/node/lib/node_modules"; cp -a "$npm_dir" "$CTX/node/lib/node_modules/npm"
  fi
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$CTX/node/bin/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$CTX/node/bin/npx"
  local ca=${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
  if [ -f "$ca" ]; then sync_file "$(readlink -f "$ca")" "$CTX/ca-certificates.crt"; else : > "$CTX/ca-certificates.crt"; fi
}
stage_none() { :; }
stage_traefik() { # Traefik built from the Go module proxy (hack/cluster/ingress.sh build: ~6 min cold, cached)
  "$ROOT/hack/cluster/ingress.sh" build >&2
  sync_file "$TOOLS_CACHE/traefik-$TRAEFIK_VERSION/traefik" "$CTX/traefik/traefik"
}
stage_local_path_provisioner() {
  "$ROOT/hack/tools.sh" local-path-provisioner >&2
  sync_file "$TOOLS_CACHE/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION/local-path-provisioner" "$CTX/local-path-provisioner/local-path-provisioner"
}
stage_kuberouter() {
  "$ROOT/hack/tools.sh" kube-router >&2
  sync_file "$TOOLS_CACHE/kube-router-$KUBE_ROUTER_VERSION/kube-router" "$CTX/kube-router/kube-router"
  sync_file "$ROOT/hack/cluster/node/files/iptables-wrapper.sh" "$CTX/kube-router/iptables-wrapper.sh"
}
stage_versitygw() {
  "$ROOT/hack/tools.sh" versitygw >&2
  sync_file "$(readlink -f "$LOCALBIN/versitygw")" "$CTX/versitygw/versitygw"
}

# ---- build and load ----------------------------------------------------------------------------------
need_docker
need_tools kind
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || "$ROOT/hack/cluster/base-image.sh"
LOAD=1
if [ "${1:-}" = --no-load ]; then LOAD=0; shift; fi
NODE=$CLUSTER_NAME-control-plane
if [ $LOAD = 1 ] && ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  log "no kind cluster $CLUSTER_NAME: building only (hack/cluster/cluster.sh up, then run this again to load)"; LOAD=0
fi
node_image_id() { docker exec "$1" crictl inspecti -o go-template --template '{{.status.id}}' "docker.io/$2" 2>/dev/null || true; }
# The nodes an image goes to: every node for a single-node cluster and for the DaemonSets' images (on every
# node); only the workers otherwise (the control plane of a cluster with workers is tainted NoSchedule).
ALL_NODES=()
[ $LOAD = 1 ] && mapfile -t ALL_NODES < <(kind get nodes --name "$CLUSTER_NAME" | sort)
target_nodes() {
  local n
  for n in "${ALL_NODES[@]}"; do
    if [ "${#ALL_NODES[@]}" -gt 1 ] && [ "$n" = "$NODE" ] && [ "$1" != kube-router ]; then continue; fi
    echo "$n"
  done
}

# the images asked for, plus node-build and node-runtime when one of them starts FROM them (its layers make a rebuild a no-op)
WANTED=("$@")
if [ $# -gt 0 ]; then
  for row in "${IMAGES[@]}"; do
    read -r name _ dockerfile _ <<< "$row"
    if printf '%s\n' "$@" | grep -qx "$name" && grep -q NODE_BUILD_IMAGE "$ROOT/$dockerfile"; then WANTED+=(node-build node-runtime); break; fi
  done
fi

T_ALL=$SECONDS
for row in "${IMAGES[@]}"; do
  read -r name ref dockerfile context stage <<< "$row"
  if [ ${#WANTED[@]} -gt 0 ] && ! printf '%s\n' "${WANTED[@]}" | grep -qx "$name"; then continue; fi
  t0=$SECONDS
  "$stage"
  case "$context" in
    .) context=$ROOT ;;
    @*) context=$CTX/${context#@} ;;
  esac
  with_progress "image $ref: docker build" "$LOGS/image-$name.log" \
    docker build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "NODE_BUILD_IMAGE=$NODE_BUILD_IMAGE" --build-arg "NODE_RUNTIME_IMAGE=$NODE_RUNTIME_IMAGE" -f "$ROOT/$dockerfile" -t "$ref" "$context"
  id=$(docker image inspect -f '{{.Id}}' "$ref")
  size=$(docker image inspect -f '{{.Size}}' "$ref" | awk '{printf "%d MB", $1/1e6}')
  if [ $LOAD = 1 ] && [ "$name" != node-build ] && [ "$name" != node-runtime ]; then
    missing=()
    for n in $(target_nodes "$name"); do [ "$(node_image_id "$n" "$ref")" = "$id" ] || missing+=("$n"); done
    if [ ${#missing[@]} -eq 0 ]; then
      log "image $ref unchanged (${id:7:12}, $size): already in the cluster"
    else
      with_progress "image $ref (${id:7:12}, $size): kind load into ${missing[*]}" "$LOGS/image-$name-load.log" \
        kind load docker-image --name "$CLUSTER_NAME" --nodes "$(IFS=,; echo "${missing[*]}")" "$ref"
    fi
  fi
  log "image $name done in $((SECONDS - t0)) s"
done
log "images done in $((SECONDS - T_ALL)) s"
# docker 20.10's builder keeps every superseded build stage as a dangling image (the newest ones are the
# layer cache of the next build): drop those older than a day so the data root does not grow without end
docker image prune -f --filter until=24h >/dev/null 2>&1 || true
