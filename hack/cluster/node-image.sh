#!/usr/bin/env bash
# Assembles the kind node image for Kubernetes $K8S_VERSION without any registry, doing what
# `kind build node-image` does (which cannot run offline: it pulls etcd, CoreDNS, pause, ...):
#   1. kind-base: the debootstrap base image + kind's base files (from the kind Go module) + Debian packages
#   2. node stage: Go-built containerd/runc/crictl/CNI plugins + kubelet/kubeadm/kubectl, a bridge CNI
#      conflist, restrict_oom_score_adj, the kernel-settings guard for kubelet, cri-base.json
#   3. control-plane images built locally under the names `kubeadm config images list` gives
#      (apiserver, controller-manager, scheduler, proxy, CoreDNS, etcd, pause), preloaded into the node's containerd
#   4. docker commit -> $NODE_IMAGE, saved zstd-compressed in ~/.cache/videoflix/images
# The tag carries a hash of the recipe (this script, hack/cluster/node/, the pinned versions), so a change
# rebuilds and an unchanged recipe is loaded from the cache. KIND_NODE_IMAGE=<image> skips all of it.
# usage: hack/cluster/node-image.sh [--print-image]
set -euo pipefail
. "$(dirname "$0")/env.sh"
NODE_DIR=$ROOT/hack/cluster/node

if [ "${1:-}" = --print-image ]; then node_image; exit 0; fi
if [ -n "${KIND_NODE_IMAGE:-}" ]; then log "KIND_NODE_IMAGE=$KIND_NODE_IMAGE: not building a node image"; exit 0; fi
need_docker
IMAGE=$(node_image)
TARBALL=$IMAGES_CACHE/kind-node-${IMAGE##*:}.tar.zst
T_ALL=$SECONDS

if docker image inspect "$IMAGE" >/dev/null 2>&1; then log "node image $IMAGE present"; exit 0; fi
mkdir -p "$IMAGES_CACHE"
if [ -f "$TARBALL" ]; then
  with_progress "loading cached node image $(basename "$TARBALL") ($(du -h "$TARBALL" | cut -f1))" "$LOGS/node-image-load.log" \
    sh -c "zstd -dc '$TARBALL' | docker load"
  exit 0
fi
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || "$ROOT/hack/cluster/base-image.sh"

d() { "$ROOT/hack/cluster/node-tools.sh" dir "$1"; }
"$ROOT/hack/cluster/node-tools.sh" kindbase
KINDBASE=$(d kindbase)

WORK=$(mktemp -d "$VF_CACHE/node-image.XXXXXX")
BUILD_CTR=
cleanup() { [ -n "$BUILD_CTR" ] && docker rm -f "$BUILD_CTR" >/dev/null 2>&1; rm -rf "$WORK"; }
trap cleanup EXIT
put() { mkdir -p "$(dirname "$2")"; ln "$1" "$2" 2>/dev/null || cp "$1" "$2"; }  # hard link into a build context
build() { # build <label> <tag> <context> [docker build args...]
  local label=$1 tag=$2 ctx=$3; shift 3
  with_progress "$label" "$LOGS/node-image-$(echo "$label" | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-40).log" \
    docker build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$tag" "$@" "$ctx"
}

# --- 1. kind-base (as kind's images/base/Dockerfile; nfs-common/open-iscsi left out) -----------------
# The last rm: systemd-sysctl inside the node would write these non-namespaced keys to the HOST
# (fs.protected_* are global): only kind's own net.* settings (per network namespace) stay.
KIND_BASE=videoflix/kind-base:$KIND_VERSION-${IMAGE##*-}
C=$WORK/kind-base; mkdir -p "$C"
cp -a "$KINDBASE/." "$C/files/"; rm -f "$C/files/.complete"
cat > "$C/Dockerfile" <<'EOF'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY files/ /
# docker 20.10's builder has no COPY --chmod: scripts 0755, everything else 0644, as kind sets them
RUN find /kind /etc/containerd /etc/crictl.yaml /etc/default/kubelet /etc/sysctl.d /etc/systemd/system /LICENSES -type f -exec chmod 0644 {} + \
 && chmod 0755 /kind /kind/bin /kind/bin/* /usr/local/bin/clean-install /usr/local/bin/entrypoint \
 && echo "Installing Packages ..." \
 && DEBIAN_FRONTEND=noninteractive clean-install \
      systemd \
      conntrack iptables nftables iproute2 ethtool util-linux mount kmod \
      libseccomp2 pigz fuse-overlayfs \
      e2fsprogs \
      bash ca-certificates curl jq procps \
 && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \
 && rm -f /lib/systemd/system/multi-user.target.wants/* \
 && rm -f /etc/systemd/system/*.wants/* \
 && rm -f /lib/systemd/system/local-fs.target.wants/* \
 && rm -f /lib/systemd/system/sockets.target.wants/*udev* \
 && rm -f /lib/systemd/system/sockets.target.wants/*initctl* \
 && rm -f /lib/systemd/system/basic.target.wants/* \
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \
 && ln -s /usr/lib/systemd/systemd /sbin/init \
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \
 && systemctl mask systemd-binfmt.service \
 && mkdir -p /etc/kubernetes/manifests \
 && rm -f /usr/lib/sysctl.d/50-pid-max.conf /usr/lib/sysctl.d/99-protect-links.conf /usr/lib/sysctl.d/50-default.conf /etc/sysctl.d/99-sysctl.conf
ENV container=docker
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
EOF
build "node image 1/4: kind-base (debian packages)" "$KIND_BASE" "$C"

# --- inputs: Go-built binaries, cached per version -------------------------------------------------
t0=$SECONDS
"$ROOT/hack/tools.sh" k8s
"$ROOT/hack/cluster/node-tools.sh" all
log "binaries ready in $((SECONDS - t0)) s"
K8S_BIN=$(d k8s); CTD=$(d containerd); RUNC=$(d runc); CRICTL=$(d crictl); CNI=$(d cni)
COREDNS=$(d coredns); ETCD=$(d etcd); PAUSE=$(d pause)

# --- 2. node stage -------------------------------------------------------------------------------------
# restrict_oom_score_adj: runc cannot set a negative oom_score_adj without CAP_SYS_RESOURCE, so
# containerd clamps it (pod sandboxes fail with "can't get final child's PID from pipe: EOF" otherwise).
STAGE2=videoflix/kind-node-stage2:${IMAGE##*:}
C=$WORK/stage2; mkdir -p "$C"
for b in containerd ctr containerd-shim-runc-v2; do put "$CTD/$b" "$C/local-bin/$b"; done
put "$CRICTL/crictl" "$C/local-bin/crictl"
put "$RUNC/runc" "$C/sbin/runc"
for b in bridge host-local loopback portmap ptp; do put "$CNI/$b" "$C/cni/$b"; done
for b in kubelet kubeadm kubectl; do put "$K8S_BIN/$b" "$C/usr-bin/$b"; done
cp "$NODE_DIR/files/10-bridge.conflist" "$NODE_DIR/files/protect-kernel-settings.sh" "$NODE_DIR/files/05-videoflix-kernel-settings.conf" "$C/"
cat > "$C/Dockerfile" <<EOF
FROM $KIND_BASE
COPY local-bin/ /usr/local/bin/
COPY sbin/runc /usr/local/sbin/runc
COPY cni/ /opt/cni/bin/
COPY usr-bin/ /usr/bin/
COPY 10-bridge.conflist /etc/cni/net.d/10-bridge.conflist
COPY protect-kernel-settings.sh /kind/bin/protect-kernel-settings.sh
COPY 05-videoflix-kernel-settings.conf /etc/systemd/system/kubelet.service.d/05-videoflix-kernel-settings.conf
RUN chmod 0755 /usr/local/bin/* /usr/local/sbin/runc /opt/cni/bin/* /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl /kind/bin/protect-kernel-settings.sh \\
 && chmod 0644 /etc/cni/net.d/10-bridge.conflist /etc/systemd/system/kubelet.service.d/05-videoflix-kernel-settings.conf \\
 && echo "$K8S_VERSION" > /kind/version \\
 && sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml \\
 && grep -q 'restrict_oom_score_adj = true' /etc/containerd/config.toml \\
 && ctr oci spec \\
    | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
    | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
 && containerd --version && runc --version && crictl --version && kubelet --version && kubeadm version -o short
EOF
build "node image 2/4: binaries and node config" "$STAGE2" "$C"

# --- 3. control-plane images under the names kubeadm expects ------------------------------------------
mapfile -t WANT < <(docker run --rm --network none --entrypoint kubeadm "$STAGE2" config images list --kubernetes-version "$K8S_VERSION")
SANDBOX=$(docker run --rm --network none --entrypoint sh "$STAGE2" -c "sed -n 's/^ *sandbox_image *= *\"\(.*\)\"/\1/p' /etc/containerd/config.toml")
[ -n "$SANDBOX" ] && WANT+=("$SANDBOX")
log "preloading: ${WANT[*]}"
TAGS=()
for ref in "${WANT[@]}"; do
  name=${ref%:*}; tag=${ref##*:}; short=${name##*/}
  C=$WORK/img-$short-$tag; mkdir -p "$C"
  case "$short" in
    kube-apiserver|kube-controller-manager|kube-scheduler)
      [ "$tag" = "$K8S_VERSION" ] || die "$ref: kubeadm wants $tag, we build $K8S_VERSION"
      put "$K8S_BIN/$short" "$C/$short"
      printf 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY %s /usr/local/bin/%s\nENTRYPOINT ["/usr/local/bin/%s"]\n' "$short" "$short" "$short" > "$C/Dockerfile" ;;
    kube-proxy)
      [ "$tag" = "$K8S_VERSION" ] || die "$ref: kubeadm wants $tag, we build $K8S_VERSION"
      put "$K8S_BIN/kube-proxy" "$C/kube-proxy"; cp "$NODE_DIR/files/iptables-wrapper.sh" "$C/"
      cat > "$C/Dockerfile" <<'EOF'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables conntrack ipset nftables kmod \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/* /usr/share/doc/* /usr/share/man/*
COPY kube-proxy /usr/local/bin/kube-proxy
COPY iptables-wrapper.sh /usr/sbin/iptables-wrapper
RUN chmod 0755 /usr/sbin/iptables-wrapper /usr/local/bin/kube-proxy \
 && for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do ln -sf iptables-wrapper /usr/sbin/$c; done
ENTRYPOINT ["/usr/local/bin/kube-proxy"]
EOF
      ;;
    coredns)
      [ "$tag" = "$COREDNS_VERSION" ] || die "$ref: kubeadm wants CoreDNS $tag, COREDNS_VERSION is $COREDNS_VERSION"
      put "$COREDNS/coredns" "$C/coredns"
      printf 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY coredns /coredns\nEXPOSE 53 53/udp\nENTRYPOINT ["/coredns"]\n' > "$C/Dockerfile" ;;
    etcd)
      [ "${tag%-*}" = "${NODE_ETCD_VERSION#v}" ] || die "$ref: kubeadm wants etcd $tag, NODE_ETCD_VERSION is $NODE_ETCD_VERSION"
      put "$ETCD/etcd" "$C/etcd"
      printf 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY etcd /usr/local/bin/etcd\nENTRYPOINT ["/usr/local/bin/etcd"]\n' > "$C/Dockerfile" ;;
    pause)
      put "$PAUSE/pause" "$C/pause"
      printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$C/Dockerfile" ;;
    *) die "kubeadm wants $ref, which this script does not know how to build" ;;
  esac
  build "node image 3/4: $ref" "$ref" "$C"
  TAGS+=("$ref")
done

# --- 4. preload into the node's containerd, commit, save ------------------------------------------------
t0=$SECONDS
BUILD_CTR=$(docker run -d --privileged --network none --entrypoint sleep "$STAGE2" infinity)
docker exec -d "$BUILD_CTR" sh -c 'containerd > /tmp/containerd.log 2>&1'
for _ in $(seq 1 100); do docker exec "$BUILD_CTR" test -S /run/containerd/containerd.sock && break; sleep 0.2; done
with_progress "node image 4/4: importing ${#TAGS[@]} images into the node's containerd" "$LOGS/node-image-import.log" \
  sh -c "docker save ${TAGS[*]} | docker exec -i '$BUILD_CTR' ctr -n k8s.io images import --all-platforms --no-unpack --digests --label=io.cri-containerd.pinned=pinned -"
# ctr names the archive's index "import-<date>@sha256:..." besides the tags: drop that name (the tags stay)
docker exec "$BUILD_CTR" sh -c 'ctr -n k8s.io images ls -q | grep "^import-" | xargs -r ctr -n k8s.io images rm' >/dev/null
docker exec "$BUILD_CTR" ctr -n k8s.io images ls -q | grep -v '^sha256:' | sed 's/^/   preloaded: /' >&2
docker exec "$BUILD_CTR" sh -c 'pkill containerd; for i in $(seq 1 50); do pgrep containerd >/dev/null || break; sleep 0.2; done; rm -rf /tmp/* /run/containerd'
docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'ENV container=docker' \
  --change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' "$BUILD_CTR" "$IMAGE" >/dev/null
log "committed $IMAGE in $((SECONDS - t0)) s"
with_progress "saving $IMAGE to $TARBALL" "$LOGS/node-image-save.log" \
  sh -c "docker save '$IMAGE' | zstd -q -T0 -3 -o '$TARBALL.tmp' && mv '$TARBALL.tmp' '$TARBALL'"
# older node images of this recipe family: their tarballs go, their docker images too unless a container uses them
for f in "$IMAGES_CACHE"/kind-node-*.tar.zst; do [ "$f" = "$TARBALL" ] || rm -f "$f"; done
docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^videoflix/kind-(node|node-stage2|base):' | grep -v -e "^$IMAGE\$" -e "^$STAGE2\$" -e "^$KIND_BASE\$" \
  | xargs -r docker rmi >/dev/null 2>&1 || true
log "node image $IMAGE ready ($(du -h "$TARBALL" | cut -f1) compressed) in $((SECONDS - T_ALL)) s"
