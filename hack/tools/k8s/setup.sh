#!/usr/bin/env bash
# Regenerates the wrapper module (go.mod/go.sum are committed; run only when K8S_VERSION changes).
set -euo pipefail
cd "$(dirname "$0")"; . ../../versions.env
STG=v0.${K8S_VERSION#v1.}
rm -f go.mod go.sum; go mod init videoflix.local/hack/k8s-bins
GOMOD=$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
for m in $(sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/.*#\1#p' "$GOMOD"); do go mod edit -replace="$m=$m@$STG"; done
go mod edit -go="$(sed -n 's/^go //p' "$GOMOD")" -godebug="$(sed -n 's/^godebug //p' "$GOMOD")"
go get -tool $(for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kubeadm kube-proxy; do echo "k8s.io/kubernetes/cmd/$c@$K8S_VERSION"; done)
go mod tidy
