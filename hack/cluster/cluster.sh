#!/usr/bin/env bash
# The project's kind cluster: created from hack/cluster/kind-config.yaml (or reused when it exists), with
# the locally assembled node image (or KIND_NODE_IMAGE); waits for the node and CoreDNS; kubeconfig in
# .cache/cluster/kubeconfig (never ~/.kube/config). Then the default StorageClass (storage below).
# usage: hack/cluster/cluster.sh up|down|status|storage   (storage: only (re)deploy the default StorageClass)
#   env: CLUSTER_NAME (videoflix), INGRESS_HTTP_PORT (8080), INGRESS_HTTPS_PORT (8443), KIND_NODE_IMAGE,
#        DISABLE_DEFAULT_CNI (true for the node images built here, false for upstream ones),
#        NETWORK_POLICY (kube-router: enforce NetworkPolicies, hack/cluster/netpol.sh; none: don't),
#        CLUSTER_WORKERS (0: one node that runs everything; N: a tainted control plane and N workers, each with
#        its own pod /24 and routes to the others' — ../shared/notes/kind-airgapped.md, "Several nodes"),
#        CLUSTER_MISMATCH (fail: an existing cluster with another number of workers is an error; recreate: delete it)
set -euo pipefail
. "$(dirname "$0")/env.sh"
export INGRESS_HTTP_PORT=${INGRESS_HTTP_PORT:-8080} INGRESS_HTTPS_PORT=${INGRESS_HTTPS_PORT:-8443}
NODE=$CLUSTER_NAME-control-plane
export KUBECONFIG=$KUBECONFIG_OUT
# unset: a new cluster gets none and an existing one is reused as it is; set: an existing one must match
CLUSTER_WORKERS_ASKED=${CLUSTER_WORKERS:+1}
CLUSTER_WORKERS=${CLUSTER_WORKERS:-0}
[[ $CLUSTER_WORKERS =~ ^[0-9]$ ]] || die "CLUSTER_WORKERS must be a number from 0 to 9 (got '$CLUSTER_WORKERS')"

exists() { kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() {
  local t0=$SECONDS
  log "waiting for node $NODE to be Ready"
  for _ in $(seq 1 60); do kubectl get node "$NODE" --request-timeout=10s >/dev/null 2>&1 && break; sleep 2; done
  kubectl get node "$NODE" --request-timeout=10s >/dev/null || die "the API server of $CLUSTER_NAME does not answer on $(kubectl config view -o jsonpath="{.clusters[0].cluster.server}")"
  kubectl wait --for=condition=Ready nodes --all --timeout=240s >/dev/null
  log "$(kubectl get nodes --no-headers | wc -l) node(s) Ready after $((SECONDS - t0)) s; waiting for CoreDNS"
  kubectl -n kube-system rollout status deployment/coredns --timeout=240s >/dev/null
  # a reused cluster whose node was restarted reports stale statuses at first: wait for every system pod
  kubectl -n kube-system wait --for=condition=Ready pods --all --timeout=240s >/dev/null
  log "CoreDNS and the control plane Ready after $((SECONDS - t0)) s"
}

# The default StorageClass "standard", as upstream kind has it: the local-path provisioner (an image built
# here, images/local-path-provisioner) from hack/cluster/storage/local-path-storage.yaml. Our node
# images ship no /kind/manifests/default-storage.yaml, so kind created "standard" with its fallback
# provisioner kubernetes.io/host-path, which nothing serves here: that class is replaced (a class's
# provisioner cannot be changed in place). Idempotent; a reused cluster is brought up to date.
STORAGE_MANIFEST=$ROOT/hack/cluster/storage/local-path-storage.yaml
storage() {
  local image=videoflix/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION t0=$SECONDS current
  "$ROOT/hack/cluster/images.sh" local-path-provisioner
  current=$(kubectl get storageclass standard -o jsonpath='{.provisioner}' 2>/dev/null || true)
  if [ -n "$current" ] && [ "$current" != rancher.io/local-path ]; then
    log "replacing StorageClass standard (provisioner $current provisions nothing here)"
    kubectl delete storageclass standard >/dev/null
  fi
  sed "s|\${LOCAL_PATH_IMAGE}|$image|g" "$STORAGE_MANIFEST" | kubectl apply -f - >/dev/null
  kubectl -n local-path-storage rollout status deployment/local-path-provisioner --timeout=180s >/dev/null
  log "default StorageClass standard (local-path provisioner $LOCAL_PATH_PROVISIONER_VERSION) ready in $((SECONDS - t0)) s"
}

# ---- several nodes ------------------------------------------------------------------------------------
# kindnetd (kind's CNI) cannot be built offline, so each node of our image gets its own copy of the baked
# bridge conflist with its own pod /24 (the control plane 10.244.0.0/24, worker i 10.244.i.0/24), no masquerade
# between nodes (NetworkPolicies see pod addresses), and a route to every other node's /24 via that node.
CNI_DIR=$ROOT/.cache/cluster/cni
node_index() { # the pod /24 of a node: control plane 0, worker i
  case "$1" in
    "$CLUSTER_NAME-control-plane") echo 0 ;;
    "$CLUSTER_NAME-worker") echo 1 ;;
    *) echo "${1#"$CLUSTER_NAME"-worker}" ;;
  esac
}
node_conflist() { # node_conflist <index>: the node's CNI config file (under .cache, bind-mounted into the node)
  local f=$CNI_DIR/node-$1.conflist
  mkdir -p "$CNI_DIR"
  sed -e "s/10\.244\.0\./10.244.$1./g" -e 's/"ipMasq": true/"ipMasq": false/' "$ROOT/hack/cluster/node/files/10-bridge.conflist" > "$f"
  echo "$f"
}
nodes_config() { # appended to the rendered kind config: the control plane's CNI mount and the workers
  [ "$CLUSTER_WORKERS" -gt 0 ] || return 0
  if [ "$1" = true ]; then
    printf '    extraMounts:\n      - hostPath: %s\n        containerPath: /etc/cni/net.d/10-bridge.conflist\n        readOnly: true\n' "$(node_conflist 0)"
  fi
  local i
  for i in $(seq 1 "$CLUSTER_WORKERS"); do
    printf '  - role: worker\n'
    [ "$1" = true ] && printf '    extraMounts:\n      - hostPath: %s\n        containerPath: /etc/cni/net.d/10-bridge.conflist\n        readOnly: true\n' "$(node_conflist "$i")"
  done
  return 0
}
workers_running() { kind get nodes --name "$CLUSTER_NAME" 2>/dev/null | grep -c -- '-worker' || true; }
pod_routes() { # idempotent; also after a node restart (routes do not survive it)
  local nodes n m ip
  mapfile -t nodes < <(kind get nodes --name "$CLUSTER_NAME" 2>/dev/null | sort)
  [ "${#nodes[@]}" -gt 1 ] || return 0
  docker exec "$NODE" test -f /etc/cni/net.d/10-bridge.conflist 2>/dev/null || return 0 # kind's own CNI (upstream image)
  for n in "${nodes[@]}"; do
    for m in "${nodes[@]}"; do
      [ "$n" != "$m" ] || continue
      ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$m")
      docker exec "$n" ip route replace "10.244.$(node_index "$m").0/24" via "$ip"
    done
  done
  log "pod routes between ${#nodes[@]} nodes set"
}

up() {
  need_docker
  need_tools kind k8s
  local image t0=$SECONDS
  image=$(node_image)
  mkdir -p "$(dirname "$KUBECONFIG_OUT")"
  if exists && [ -z "$CLUSTER_WORKERS_ASKED" ]; then CLUSTER_WORKERS=$(workers_running); fi
  if exists && [ "$(workers_running)" != "$CLUSTER_WORKERS" ]; then
    if [ "${CLUSTER_MISMATCH:-fail}" = recreate ]; then
      log "cluster $CLUSTER_NAME has $(workers_running) worker(s), $CLUSTER_WORKERS asked: recreating it"; down
    else
      die "cluster $CLUSTER_NAME has $(workers_running) worker(s) but CLUSTER_WORKERS=$CLUSTER_WORKERS: hack/cluster/cluster.sh down first (or CLUSTER_MISMATCH=recreate)"
    fi
  fi
  if exists; then
    local n
    for n in $(kind get nodes --name "$CLUSTER_NAME"); do
      [ "$(docker inspect -f '{{.State.Running}}' "$n" 2>/dev/null)" = true ] || { log "node $n is stopped: starting it"; docker start "$n" >/dev/null; }
    done
    local running; running=$(docker inspect -f '{{.Config.Image}}' "$NODE")
    log "reusing cluster $CLUSTER_NAME ($running)"
    [ "$running" = "$image" ] || log "note: the current node image is $image; to switch: hack/cluster/cluster.sh down && hack/cluster/cluster.sh up"
    kind export kubeconfig --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_OUT" >/dev/null 2>&1
  else
    if [ -z "${KIND_NODE_IMAGE:-}" ] && ! docker image inspect "$image" >/dev/null 2>&1; then "$ROOT/hack/cluster/node-image.sh"; fi
    local p
    for p in "$INGRESS_HTTP_PORT" "$INGRESS_HTTPS_PORT"; do
      port_free "$p" || die "127.0.0.1:$p is in use: set INGRESS_HTTP_PORT / INGRESS_HTTPS_PORT to free ports"
    done
    local cfg=$ROOT/.cache/cluster/kind-config-$CLUSTER_NAME.yaml
    # our node images carry their own CNI conflist; upstream ones (KIND_NODE_IMAGE=kindest/node:...) use kind's default CNI
    local no_cni=true
    case "$image" in videoflix/kind-node:*) ;; *) no_cni=false ;; esac
    no_cni=${DISABLE_DEFAULT_CNI:-$no_cni}
    sed -e "s/\${INGRESS_HTTP_PORT}/$INGRESS_HTTP_PORT/g" -e "s/\${INGRESS_HTTPS_PORT}/$INGRESS_HTTPS_PORT/g" \
      -e "s/\${DISABLE_DEFAULT_CNI}/$no_cni/g" \
      "$ROOT/hack/cluster/kind-config.yaml" > "$cfg"
    nodes_config "$no_cni" >> "$cfg"
    log "creating kind cluster $CLUSTER_NAME from $image with $CLUSTER_WORKERS worker(s) (ingress on 127.0.0.1:$INGRESS_HTTP_PORT/$INGRESS_HTTPS_PORT)"
    kind create cluster --name "$CLUSTER_NAME" --image "$image" --config "$cfg" --kubeconfig "$KUBECONFIG_OUT" --retain=false 2>&1 \
      | sed -u 's/^/   /' || { rc=$?; die "kind create cluster failed (rc $rc); logs: kind export logs --name $CLUSTER_NAME"; }
    exists || die "kind create cluster failed"
  fi
  pod_routes
  wait_ready
  storage
  # NetworkPolicy enforcement (kube-router's policy controller). A failure leaves a working cluster without
  # enforcement, said loudly; test/e2e/networkpolicy.test.ts then fails and says so.
  "$ROOT/hack/cluster/netpol.sh" up || log "WARNING: the NetworkPolicy enforcer did not start: NetworkPolicies are NOT enforced (kubectl -n kube-system logs ds/kube-router)"
  log "cluster $CLUSTER_NAME up in $((SECONDS - t0)) s: export KUBECONFIG=$KUBECONFIG_OUT"
}

down() {
  if ! docker_ok; then log "dockerd not running: no cluster to delete"; rm -f "$KUBECONFIG_OUT"; return 0; fi
  if exists; then
    local t0=$SECONDS
    kind delete cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_OUT" 2>&1 | sed 's/^/   /'
    log "cluster $CLUSTER_NAME deleted in $((SECONDS - t0)) s"
  else
    log "no cluster $CLUSTER_NAME"
  fi
  rm -f "$KUBECONFIG_OUT"
}

case "${1:-}" in
  up) up ;;
  storage) export KUBECONFIG=$KUBECONFIG_OUT; need_docker; storage ;;
  down) down ;;
  status) if docker_ok && exists; then kubectl get nodes -o wide; else echo "no cluster $CLUSTER_NAME"; exit 1; fi ;;
  *) echo "usage: $0 up|down|status|storage" >&2; exit 2 ;;
esac
