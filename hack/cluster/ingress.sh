#!/usr/bin/env bash
# The cluster's ingress controller: Traefik v3.6 (Kubernetes Ingress provider only, no CRDs).
#   hack/cluster/ingress.sh build    build the traefik binary from the Go module proxy (cached per version)
#   hack/cluster/ingress.sh image    build the videoflix/traefik image FROM $BASE_IMAGE (hack/cluster/images.sh traefik)
#   hack/cluster/ingress.sh up       build+load the image if needed, install it (hack/cluster/ingress/traefik.yaml)
#   hack/cluster/ingress.sh down     remove it
# Why v3.6.12: v3.7's go.mod replaces a module with a local directory the proxy does not serve, so it
# cannot be built from the module proxy; v3.6.12 has only three non-local replaces, which the wrapper
# module hack/tools/traefik repeats. Cold build: ~6 min on 2 cores, ~3 GB peak RSS, a ~180 MB binary.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/hack/versions.env"
CACHE=${TOOLS_CACHE:-$HOME/.cache/videoflix/tools}
TRAEFIK_DIR=$CACHE/traefik-$TRAEFIK_VERSION
log() { printf '\033[1m>> %s\033[0m\n' "$*" >&2; }

build_traefik() { "$ROOT/hack/tools.sh" traefik; } # cached per version like every pinned tool

build_image() { # built and kind-loaded like every project image (a row of hack/cluster/images.sh)
  "$ROOT/hack/cluster/images.sh" "$@" traefik
}

up() {
  . "$ROOT/hack/cluster/env.sh"
  export KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_OUT}
  build_image   # builds (once) and loads the image when the node lacks it; a no-op otherwise
  kubectl apply -f "$ROOT/hack/cluster/ingress/traefik.yaml"
  kubectl -n traefik rollout status deployment/traefik --timeout=180s
}
down() {
  . "$ROOT/hack/cluster/env.sh"
  export KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_OUT}
  kubectl delete -f "$ROOT/hack/cluster/ingress/traefik.yaml" --ignore-not-found --wait=true
}

[ $# -gt 0 ] || set -- build
for cmd in "$@"; do
  case "$cmd" in
    build) build_traefik ;;
    image) build_image --no-load ;;
    up) up ;;
    down) down ;;
    *) echo "usage: $0 build|image|up|down" >&2; exit 2 ;;
  esac
done
