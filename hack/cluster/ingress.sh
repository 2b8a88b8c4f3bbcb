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

build_traefik() {
  if [ -f "$TRAEFIK_DIR/.complete" ]; then return 0; fi
  # one build at a time (make dev, the test tiers and images.sh may all ask for it): wait for a running one
  mkdir -p "$CACHE"; exec {lockfd}>"$TRAEFIK_DIR.lock"
  flock -n "$lockfd" || { log "waiting for the traefik build in progress ($TRAEFIK_DIR.lock)"; flock "$lockfd"; }
  if [ -f "$TRAEFIK_DIR/.complete" ]; then exec {lockfd}>&-; return 0; fi
  rm -rf "$TRAEFIK_DIR"; mkdir -p "$TRAEFIK_DIR"
  log "building traefik $TRAEFIK_VERSION (first time only, ~6 min on 2 cores; cached in $TRAEFIK_DIR; log $TRAEFIK_DIR.build.log)"
  local t0=$SECONDS
  if ! (cd "$ROOT/hack/tools/traefik" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -modcacherw" \
        go build -mod=mod -trimpath \
        -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION -X github.com/traefik/traefik/v3/pkg/version.Codename=videoflix" \
        -o "$TRAEFIK_DIR/traefik" github.com/traefik/traefik/v3/cmd/traefik) > "$TRAEFIK_DIR.build.log" 2>&1; then
    log "building traefik FAILED, log: $TRAEFIK_DIR.build.log"; tail -20 "$TRAEFIK_DIR.build.log" >&2; rm -rf "$TRAEFIK_DIR"; exec {lockfd}>&-; return 1
  fi
  touch "$TRAEFIK_DIR/.complete"; log "built traefik $TRAEFIK_VERSION in $((SECONDS - t0)) s"; exec {lockfd}>&-
}

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
