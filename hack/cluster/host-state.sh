#!/usr/bin/env bash
# Prints the host state the cluster tier must leave alone, in a stable text form (read-only; nothing is
# created): firewall rules (iptables-save / ip6tables-save of the host's default backend, counters and
# comments removed) and the kernel settings kubelet, systemd or docker would change.
# docker.sh up records it in .cache/cluster/host-before.txt when it starts dockerd; the cluster tests and
# docker.sh down compare against it.
set -uo pipefail
KEYS=(net.ipv4.ip_forward net.ipv6.conf.all.forwarding vm.overcommit_memory vm.panic_on_oom kernel.panic
      kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes fs.protected_hardlinks
      fs.protected_symlinks fs.protected_fifos fs.protected_regular)
for k in "${KEYS[@]}"; do printf 'sysctl %s = %s\n' "$k" "$(cat "/proc/sys/${k//.//}" 2>/dev/null || echo '?')"; done
for t in iptables ip6tables; do
  "$t" -S 2>/dev/null | sed 's/^/'"$t"' -S /'
  "$t-save" 2>/dev/null | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//; s/^/'"$t"' /'
done
exit 0
