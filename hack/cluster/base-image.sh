#!/usr/bin/env bash
# The project's base image without a registry: `debootstrap --variant=minbase bookworm` from the Debian
# mirror apt uses, imported into the project's dockerd as $BASE_IMAGE (videoflix/debian:bookworm).
# The root file system is also kept as ~/.cache/videoflix/images/debian-bookworm-rootfs.tar.zst, so a
# fresh docker data root re-imports it in seconds. Skipped when the image is present.
# Every project Dockerfile takes `ARG BASE_IMAGE` (default this tag); elsewhere pass a public
# debian:bookworm-slim instead.
set -euo pipefail
. "$(dirname "$0")/env.sh"
need_docker
SUITE=bookworm
TARBALL=$IMAGES_CACHE/debian-$SUITE-rootfs.tar.zst

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then log "base image $BASE_IMAGE present"; exit 0; fi
mkdir -p "$IMAGES_CACHE"

# The mirror apt uses: deb822 (URIs:/Suites:) and one-line (deb URL suite ...) sources, first one for $SUITE.
mirror_for() { # mirror_for <suite>
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$1" '
      /^[[:space:]]*deb[[:space:]]/ { u=$2; if ($2 ~ /^\[/) { for (i=2;i<=NF;i++) if ($i ~ /\]$/) break; u=$(i+1); su=$(i+2) } else su=$3; if (su==s) { print u; exit } }
      /^URIs:/ { u=$2 } /^Suites:/ { for (i=2;i<=NF;i++) if ($i==s) { print u; exit } } /^[[:space:]]*$/ { u="" }' "$f"
  done | head -1
}
MIRROR=${DEBIAN_MIRROR:-$(mirror_for "$SUITE")}
SECURITY=${DEBIAN_SECURITY_MIRROR:-$(mirror_for "$SUITE-security")}
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
[ -n "$SECURITY" ] || SECURITY=http://deb.debian.org/debian-security

if [ ! -f "$TARBALL" ]; then
  command -v debootstrap >/dev/null || die "debootstrap is missing: hack/deps.sh cluster"
  WORK=$(mktemp -d "$VF_CACHE/debootstrap.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  log "debootstrap --variant=minbase $SUITE from $MIRROR (about 1 min)"
  with_progress "debootstrap" "$LOGS/debootstrap.log" debootstrap --variant=minbase --components=main "$SUITE" "$WORK/rootfs" "$MIRROR"
  R=$WORK/rootfs
  cat > "$R/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
  # the mirror may be a snapshot whose Release files are past their Valid-Until date (as the host's apt allows)
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Languages "none";\nAPT::Install-Recommends "false";\n' > "$R/etc/apt/apt.conf.d/99videoflix"
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-include /usr/share/doc/*/copyright\n' > "$R/etc/dpkg/dpkg.cfg.d/99videoflix-nodoc"
  chroot "$R" apt-get clean
  rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/log/* "$R"/tmp/* "$R"/dev/* "$R"/proc/* "$R"/sys/* "$R"/run/*
  : > "$R/etc/hostname"; : > "$R/etc/resolv.conf"
  tar --numeric-owner -C "$R" -c . | zstd -q -T0 -3 -o "$TARBALL.tmp" && mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$WORK"; trap - EXIT
fi
log "importing $TARBALL as $BASE_IMAGE"
zstd -dc "$TARBALL" | docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
  --message "debootstrap --variant=minbase $SUITE ($MIRROR)" - "$BASE_IMAGE" >/dev/null
log "base image $BASE_IMAGE: $(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%d MB", $1/1e6}')"
