#!/usr/bin/env bash
# The project's own docker engine (Debian's docker.io), in a mode that leaves the host's networking alone:
# no iptables rules, no ip_forward, no masquerading, no docker0 bridge; its own containerd, data root
# (under ~/.cache/videoflix/docker, so images survive between runs), exec root, pid files and socket.
# usage: hack/cluster/docker.sh up|down|status|env
#   eval "$(hack/cluster/docker.sh env)"   # point the docker CLI (and kind) at it
set -euo pipefail
. "$(dirname "$0")/env.sh"

DATA_ROOT=$VF_DOCKER_DIR/data
CTD_ROOT=$VF_DOCKER_DIR/containerd
CTD_STATE=$VF_RUN_DIR/containerd
CTD_SOCK=$CTD_STATE/containerd.sock
EXEC_ROOT=$VF_RUN_DIR/docker
DOCKERD_PID=$VF_RUN_DIR/dockerd.pid
CTD_PID=$VF_RUN_DIR/containerd.pid
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
CONTAINERD=${CONTAINERD:-/usr/bin/containerd}
KIND_NETWORK=kind
HOST_BEFORE=${HOST_BEFORE:-$ROOT/.cache/cluster/host-before.txt}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Bit 24 of the capability bounding set is CAP_SYS_RESOURCE. Some VMs run root without it; then runc
# cannot start privileged containers (kind nodes) unless the capability is dropped from their spec.
needs_cap_wrapper() {
  local bnd; bnd=$(sed -n 's/^CapBnd:\s*//p' /proc/self/status)
  [ $(((16#$bnd >> 24) & 1)) -eq 0 ]
}

# The kind network, IPv4 only (kind would add IPv6, which turns on host IPv6 forwarding). Subnet: the
# first 172.N.0.0/16 (N = 18..31) that no host route uses, unless KIND_SUBNET says.
# A network kept in the data root from an earlier run keeps its subnet even when another engine on this host
# (another checkout's, with its own data root) has taken that subnet since: the host then has two routes for it
# and the API server's published port leads to the wrong bridge (seen: kind waited 29 min for its node). Such a
# network is re-created on a free subnet while no container uses it, else refused with the reason.
ensure_kind_network() {
  if docker network inspect "$KIND_NETWORK" >/dev/null 2>&1; then
    local id sub others
    id=$(docker network inspect -f '{{.Id}}' "$KIND_NETWORK"); id=${id:0:12}
    sub=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$KIND_NETWORK")
    others=$(ip -4 route | awk -v s="$sub" -v b="br-$id" '$1 == s && $3 != b {print $3}')
    [ -z "$others" ] && return 0
    if [ -n "$(docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$KIND_NETWORK")" ]; then
      die "the docker network $KIND_NETWORK ($sub) collides with $others (another engine's network) and has containers: hack/cluster/cluster.sh down, then up"
    fi
    log "docker network $KIND_NETWORK ($sub) collides with $others: re-created on a free subnet"
    docker network rm "$KIND_NETWORK" >/dev/null
  fi
  local subnet=${KIND_SUBNET:-} n
  if [ -z "$subnet" ]; then
    for n in $(seq 18 31); do
      if ! ip -4 route | grep -q "^172\.$n\."; then subnet=172.$n.0.0/16; break; fi
    done
  fi
  [ -n "$subnet" ] || die "no free 172.N.0.0/16 subnet for the kind network; set KIND_SUBNET"
  local gw=${subnet%.0/16}.1
  docker network create "$KIND_NETWORK" --driver bridge --subnet "$subnet" --gateway "$gw" \
    -o com.docker.network.bridge.enable_ip_masquerade=false \
    -o com.docker.network.driver.mtu="$(cat /sys/class/net/"$(ip -4 route show default | awk '{print $5; exit}')"/mtu 2>/dev/null || echo 1500)" >/dev/null
  log "created docker network $KIND_NETWORK ($subnet, IPv4 only)"
}

up() {
  if alive "$DOCKERD_PID"; then # ours runs already (maybe still starting): use it, never start a second one
    for _ in $(seq 1 150); do docker_ok && break; sleep 0.2; done
    docker_ok || die "dockerd (pid $(cat "$DOCKERD_PID")) runs but does not answer on $DOCKER_HOST: hack/cluster/docker.sh down, then up"
    ensure_kind_network; log "dockerd already running ($DOCKER_HOST)"; return 0
  fi
  mkdir -p "$DATA_ROOT" "$CTD_ROOT" "$CTD_STATE" "$EXEC_ROOT" "$LOGS" "$(dirname "$HOST_BEFORE")"
  local t0=$SECONDS
  # the host's firewall rules and kernel settings before anything of ours runs (the tests compare)
  "$ROOT/hack/cluster/host-state.sh" > "$HOST_BEFORE"

  # containerd of our own (a dockerd without --containerd would attach to /run/containerd if one ran there)
  if ! alive "$CTD_PID"; then
    cat > "$VF_DOCKER_DIR/containerd.toml" <<EOF
version = 2
root = "$CTD_ROOT"
state = "$CTD_STATE"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_SOCK"
[ttrpc]
  address = "$CTD_SOCK.ttrpc"
[debug]
  address = "$CTD_STATE/debug.sock"
[metrics]
  address = ""
EOF
    rm -f "$CTD_SOCK" "$CTD_SOCK.ttrpc"
    "$CONTAINERD" --config "$VF_DOCKER_DIR/containerd.toml" >> "$LOGS/containerd.log" 2>&1 &
    echo $! > "$CTD_PID"
    for _ in $(seq 1 100); do [ -S "$CTD_SOCK" ] && break; sleep 0.1; done
    [ -S "$CTD_SOCK" ] || { tail -20 "$LOGS/containerd.log" >&2; die "containerd did not start (log $LOGS/containerd.log)"; }
  fi

  local runtime_args=()
  if needs_cap_wrapper; then
    command -v jq >/dev/null || die "jq is needed by hack/cluster/runc-wrapper.sh on this host: apt-get install jq (hack/deps.sh host)"
    log "CAP_SYS_RESOURCE is missing from the bounding set: containers run through hack/cluster/runc-wrapper.sh"
    runtime_args=(--add-runtime "vf-runc=$ROOT/hack/cluster/runc-wrapper.sh" --default-runtime vf-runc)
  fi
  echo '{}' > "$VF_DOCKER_DIR/daemon.json"
  rm -f "${DOCKER_HOST#unix://}"
  "$DOCKERD" --config-file "$VF_DOCKER_DIR/daemon.json" \
    --host "$DOCKER_HOST" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$DOCKERD_PID" \
    --containerd "$CTD_SOCK" --storage-driver overlay2 \
    --iptables=false --ip-forward=false --ip-masq=false --ipv6=false --bridge=none \
    "${runtime_args[@]}" >> "$LOGS/dockerd.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    docker_ok && break
    kill -0 "$pid" 2>/dev/null || { tail -20 "$LOGS/dockerd.log" >&2; die "dockerd exited (log $LOGS/dockerd.log)"; }
    sleep 0.2
  done
  docker_ok || die "dockerd did not answer on $DOCKER_HOST within 60 s (log $LOGS/dockerd.log)"
  echo "$pid" > "$DOCKERD_PID"
  ensure_kind_network
  log "dockerd $(docker version --format '{{.Server.Version}}') up in $((SECONDS - t0)) s: export DOCKER_HOST=$DOCKER_HOST (data $DATA_ROOT, log $LOGS/dockerd.log)"
}

stop_pid() { # stop_pid <pidfile> <name> <seconds>
  local f=$1 name=$2 secs=$3 pid
  alive "$f" || { rm -f "$f"; return 0; }
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((secs * 5))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in $secs s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$f"
}

down() {
  local bridges=() id
  if alive "$DOCKERD_PID" && docker_ok; then
    # user-defined networks keep their host bridge after dockerd stops: remember them to remove them
    for id in $(docker network ls -q --filter driver=bridge); do bridges+=("br-${id:0:12}"); done
    local running; running=$(docker ps -q)
    [ -n "$running" ] && log "stopping containers: $(docker ps --format '{{.Names}}' | tr '\n' ' ')" && docker stop -t 10 $running >/dev/null || true
  fi
  stop_pid "$DOCKERD_PID" dockerd 30
  # shims of containers that outlived dockerd (they belong to our containerd: their socket is under our state dir)
  for id in $(pgrep -f "containerd-shim-runc-v2 .*-address $CTD_SOCK" || true); do kill -TERM "$id" 2>/dev/null || true; done
  stop_pid "$CTD_PID" containerd 15
  for id in "${bridges[@]}"; do ip link show "$id" >/dev/null 2>&1 && ip link delete "$id" 2>/dev/null || true; done
  # leftover mounts of ours (overlay layers, netns, shm), deepest first
  local m
  for m in $(awk -v a="$VF_RUN_DIR" -v b="$VF_DOCKER_DIR" '$2 ~ "^"a || $2 ~ "^"b {print $2}' /proc/self/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  rm -f "${DOCKER_HOST#unix://}" "$CTD_SOCK" "$CTD_SOCK.ttrpc"
  log "dockerd and its containerd stopped"
  if [ -f "$HOST_BEFORE" ]; then
    if diff -u "$HOST_BEFORE" <("$ROOT/hack/cluster/host-state.sh") > "$LOGS/host-state.diff"; then
      log "host firewall rules and kernel settings are as they were before dockerd started"
    else
      log "WARNING: the host's firewall rules or kernel settings changed since dockerd started:"; cat "$LOGS/host-state.diff" >&2
    fi
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if alive "$DOCKERD_PID" && docker_ok; then echo "running (pid $(cat "$DOCKERD_PID"), $DOCKER_HOST)"; else echo "stopped"; exit 1; fi ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
