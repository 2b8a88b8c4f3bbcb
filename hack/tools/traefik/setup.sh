#!/usr/bin/env bash
# Regenerates go.mod/go.sum of the Traefik wrapper module (run once per Traefik version bump).
# Traefik v3.6.x's go.mod has three non-local replace directives, which `go install pkg@version`
# refuses; a wrapper module repeating them builds it. v3.7 replaces a module with a local
# directory that the module proxy does not serve, so it cannot be built this way.
set -euo pipefail
cd "$(dirname "$0")"
. ../../versions.env
[ -f go.mod ] || go mod init videoflix.local/hack/traefik-bin
go mod edit -go=1.25.0 -require="github.com/traefik/traefik/v3@$TRAEFIK_VERSION" \
  -replace=github.com/abbot/go-http-auth=github.com/containous/go-http-auth@v0.4.1-0.20200324110947-a37a7636d23e \
  -replace=github.com/gorilla/mux=github.com/containous/mux@v0.0.0-20250523120546-41b6ec3aed59 \
  -replace=github.com/mailgun/minheap=github.com/containous/minheap@v0.0.0-20190809180810-6e71eb837595
go mod edit -tool=github.com/traefik/traefik/v3/cmd/traefik
GOFLAGS=-mod=mod go mod tidy
