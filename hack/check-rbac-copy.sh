#!/usr/bin/env bash
# The chart's operator Role is built from a byte-identical copy of operator/rbac/rules.yaml (the single
# source of the operator's permissions, proven sufficient by test/integration/operator/rbac.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
src=operator/rbac/rules.yaml; copy=charts/videoflix/files/operator-rbac-rules.yaml
[ -f "$src" ] || { echo "missing $src" >&2; exit 1; }
[ -f "$copy" ] || { echo "missing $copy: run 'cp $src $copy'" >&2; exit 1; }
cmp -s "$src" "$copy" || { echo "$copy differs from $src: run 'cp $src $copy'" >&2; exit 1; }
grep -q 'include "videoflix.componentName" (list . "operator")' charts/videoflix/templates/operator-role.yaml \
  && grep -q 'files/operator-rbac-rules.yaml' charts/videoflix/templates/operator-role.yaml \
  || { echo "charts/videoflix/templates/operator-role.yaml no longer builds its rules from $copy" >&2; exit 1; }
