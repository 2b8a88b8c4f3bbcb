#!/usr/bin/env bash
# Regenerates the etcd wrapper module (go.mod/go.sum are committed). usage: setup.sh [version]
set -euo pipefail
cd "$(dirname "$0")"; . ../../versions.env
V=${1:-$ETCD_VERSION}; DIR=${2:-.}
mkdir -p "$DIR"; cd "$DIR"; rm -f go.mod go.sum
go mod init videoflix.local/hack/etcd-bin
go get -tool "go.etcd.io/etcd/server/v3@$V"
go mod edit -go=1.26.0 2>/dev/null || true
go mod tidy
