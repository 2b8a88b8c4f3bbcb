#!/bin/sh
# iptables-wrapper for the kube-proxy image (after kubernetes-sigs/iptables-wrappers): use the iptables
# mode (legacy or nft) that the node already uses, recognised by kubelet's KUBE-IPTABLES-HINT /
# KUBE-KUBELET-CANARY chains, else by which mode holds more rules. Installed as iptables, iptables-save,
# iptables-restore and the ip6tables ones; runs the matching iptables-<mode>* binary.
set -eu
hint() { ( "iptables-$1-save" -t mangle || true; "ip6tables-$1-save" -t mangle || true ) 2>/dev/null | grep -qE '^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)'; }
count() { ( "iptables-$1-save" || true; "ip6tables-$1-save" || true ) 2>/dev/null | grep -c '^-' || true; }
if hint nft; then mode=nft
elif hint legacy; then mode=legacy
elif [ "$(count legacy)" -gt "$(count nft)" ]; then mode=legacy
else mode=nft
fi
cmd=$(basename "$0")
case "$cmd" in
  *-save) exec "/usr/sbin/${cmd%-save}-$mode-save" "$@" ;;
  *-restore) exec "/usr/sbin/${cmd%-restore}-$mode-restore" "$@" ;;
  *) exec "/usr/sbin/$cmd-$mode" "$@" ;;
esac
