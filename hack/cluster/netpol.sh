#!/usr/bin/env bash
# NetworkPolicy enforcement on the project's kind cluster. The node image's static bridge CNI enforces no
# NetworkPolicy; kube-router's policy controller (iptables + ipset, both in the VM's kernel; see
# ../shared/notes/network-policy.md) does, inside the kind node's network namespace.
#   hack/cluster/netpol.sh up      build (once) and load videoflix/kube-router, install the DaemonSet, wait for it
#   hack/cluster/netpol.sh down    remove it (its iptables chains stay in the node until the node goes)
#   env: NETWORK_POLICY=kube-router (default) | none; CLUSTER_NAME and the rest of hack/cluster/env.sh
# An upstream node image (KIND_NODE_IMAGE) brings kindnet, whose policy agent enforces already: skipped.
set -euo pipefail
. "$(dirname "$0")/env.sh"
export KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_OUT}
SERVICE_SUBNET=$(sed -n 's/^ *serviceSubnet: *//p' "$ROOT/hack/cluster/kind-config.yaml")
render() { sed -e "s|\${KUBE_ROUTER_VERSION}|$KUBE_ROUTER_VERSION|g" -e "s|\${SERVICE_SUBNET}|$SERVICE_SUBNET|g" "$ROOT/hack/cluster/netpol/kube-router.yaml"; }

up() {
  case "${NETWORK_POLICY:-kube-router}" in
    none) log "NETWORK_POLICY=none: no NetworkPolicy enforcer"; return 0 ;;
    kube-router) ;;
    *) die "NETWORK_POLICY must be kube-router or none" ;;
  esac
  if [ -n "${KIND_NODE_IMAGE:-}" ]; then log "upstream node image: its CNI (kindnet) enforces NetworkPolicies; no kube-router"; return 0; fi
  local t0=$SECONDS
  "$ROOT/hack/cluster/images.sh" kube-router
  render | kubectl apply -f - >/dev/null
  kubectl -n kube-system rollout status daemonset/kube-router --timeout=180s >/dev/null
  log "NetworkPolicy enforcer (kube-router $KUBE_ROUTER_VERSION) running after $((SECONDS - t0)) s"
}
down() { render | kubectl delete -f - --ignore-not-found --wait=true; }

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
