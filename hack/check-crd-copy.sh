#!/usr/bin/env bash
# The chart ships a byte-identical copy of the CRD (crds/ is the single source).
set -euo pipefail
cd "$(dirname "$0")/.."
src=crds/media.videoflix.io_videos.yaml; copy=charts/videoflix/crds/media.videoflix.io_videos.yaml
[ -f "$src" ] || { echo "missing $src" >&2; exit 1; }
[ -f "$copy" ] || exit 0   # no chart yet
cmp -s "$src" "$copy" || { echo "$copy differs from $src: run 'cp $src $copy'" >&2; exit 1; }
