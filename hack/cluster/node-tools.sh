#!/usr/bin/env bash
# Go-built parts of the kind node image, cached per version under $TOOLS_CACHE (cached() of hack/lib.sh).
# usage: hack/cluster/node-tools.sh [all|containerd|runc|crictl|cni|coredns|etcd|pause|kindbase]...
# Prints nothing but progress on stderr; `node-tools.sh dir <tool>` prints the cache directory of a tool.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HACK_ROOT=$ROOT . "$ROOT/hack/lib.sh"
CACHE=$TOOLS_CACHE
NODE_DIR=$ROOT/hack/cluster/node
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -modcacherw"

dir_of() {
  case "$1" in
    containerd) echo "$CACHE/containerd-$CONTAINERD_VERSION" ;;
    runc) echo "$CACHE/runc-$RUNC_VERSION" ;;
    crictl) echo "$CACHE/crictl-$CRICTL_VERSION" ;;
    cni) echo "$CACHE/cni-plugins-$CNI_PLUGINS_VERSION" ;;
    coredns) echo "$CACHE/coredns-$COREDNS_VERSION" ;;
    etcd) echo "$CACHE/node-etcd-$NODE_ETCD_VERSION" ;;
    pause) echo "$CACHE/pause-$PAUSE_VERSION-$(sha256sum "$NODE_DIR/pause/main.go" | cut -c1-12)" ;;
    kindbase) echo "$CACHE/kind-base-files-$KIND_VERSION" ;;
    k8s) echo "$CACHE/k8s-$K8S_VERSION" ;;
    *) echo "unknown tool $1" >&2; return 2 ;;
  esac
}

build_containerd() {
  local d; d=$(dir_of containerd); local m=github.com/containerd/containerd/v2
  cached "$d" "containerd $CONTAINERD_VERSION (containerd, ctr, shim; ~2.5 min cold)" env GOBIN="$d" go install -trimpath \
    -tags "no_aufs no_zfs no_btrfs no_devmapper" \
    -ldflags "-s -w -X $m/version.Version=$CONTAINERD_VERSION -X $m/version.Revision=go-module" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
}
build_runc() { # needs cgo + libseccomp-dev (hack/deps.sh cluster); linked against bookworm's glibc/libseccomp like the node
  local d; d=$(dir_of runc)
  cached "$d" "runc $RUNC_VERSION" env CGO_ENABLED=1 GOBIN="$d" go install -trimpath -tags seccomp \
    -ldflags "-s -w -X main.version=${RUNC_VERSION#v} -X main.gitCommit=go-module" "github.com/opencontainers/runc@$RUNC_VERSION"
}
build_crictl() {
  local d; d=$(dir_of crictl)
  cached "$d" "crictl $CRICTL_VERSION" env GOBIN="$d" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
}
build_cni() {
  local d; d=$(dir_of cni); local m=github.com/containernetworking/plugins
  cached "$d" "CNI plugins $CNI_PLUGINS_VERSION" env GOBIN="$d" go install -trimpath \
    -ldflags "-s -w -X $m/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    "$m/plugins/main/bridge@$CNI_PLUGINS_VERSION" "$m/plugins/ipam/host-local@$CNI_PLUGINS_VERSION" \
    "$m/plugins/main/loopback@$CNI_PLUGINS_VERSION" "$m/plugins/meta/portmap@$CNI_PLUGINS_VERSION" \
    "$m/plugins/main/ptp@$CNI_PLUGINS_VERSION"
}
build_coredns() {
  local d; d=$(dir_of coredns)
  cached "$d" "CoreDNS $COREDNS_VERSION (~3 min cold)" env GOBIN="$d" go install -trimpath \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${COREDNS_VERSION}" "github.com/coredns/coredns@$COREDNS_VERSION"
}
build_etcd() { # same wrapper module as hack/tools/etcd (its setup.sh), generated for the node's etcd version
  local d; d=$(dir_of etcd); local w=$NODE_DIR/etcd-bin
  if ! grep -qs "go.etcd.io/etcd/server/v3 $NODE_ETCD_VERSION\( \|\$\)" "$w/go.mod"; then
    log "generating the etcd $NODE_ETCD_VERSION wrapper module in $w"
    "$ROOT/hack/tools/etcd/setup.sh" "$NODE_ETCD_VERSION" "$w" >/dev/null 2>&1
  fi
  cached "$d" "etcd $NODE_ETCD_VERSION (node image)" sh -c \
    "cd '$w' && go build -trimpath -ldflags '-s -w' -o '$d/etcd' go.etcd.io/etcd/server/v3"
}
build_pause() {
  local d; d=$(dir_of pause)
  cached "$d" "pause $PAUSE_VERSION" sh -c "cd '$NODE_DIR/pause' && go build -trimpath -ldflags '-s -w -X main.version=$PAUSE_VERSION' -o '$d/pause' ."
}
build_kindbase() { # kind's images/base/files, shipped in the kind Go module
  local d; d=$(dir_of kindbase)
  cached "$d" "kind $KIND_VERSION base files" sh -c \
    "src=\$(go mod download -json sigs.k8s.io/kind@$KIND_VERSION | sed -n 's/^\s*\"Dir\": \"\(.*\)\",\$/\1/p') && cp -a \"\$src/images/base/files/.\" '$d/' && chmod -R u+w '$d'"
}

case "${1:-all}" in
  dir) dir_of "$2"; exit ;;
esac
[ $# -gt 0 ] || set -- all
for t in "$@"; do
  case "$t" in
    all) for x in kindbase pause cni runc crictl etcd containerd coredns; do build_$x; done ;;
    containerd|runc|crictl|cni|coredns|etcd|pause|kindbase) build_$t ;;
    *) echo "unknown tool: $t" >&2; exit 2 ;;
  esac
done
