#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those that are missing.
# usage: hack/deps.sh [host|cluster|browser|all]
set -euo pipefail
want=()
host=(ffmpeg rabbitmq-server postgresql openssl curl jq)
cluster=(docker.io debootstrap zstd libseccomp-dev pkg-config jq ffmpeg)
browser=(chromium)
case "${1:-host}" in
  host) want=("${host[@]}") ;;
  cluster) want=("${cluster[@]}") ;;
  browser) want=("${browser[@]}") ;;
  all) want=("${host[@]}" "${cluster[@]}" "${browser[@]}") ;;
  *) echo "usage: $0 [host|cluster|browser|all]" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo ">> installing Debian packages: ${missing[*]}"
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
# RabbitMQ's and PostgreSQL's packages must not start system services: we run private instances.
policy=/usr/sbin/policy-rc.d; added_policy=
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null; $SUDO chmod +x "$policy"; added_policy=1; fi
trap '[ -n "$added_policy" ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
