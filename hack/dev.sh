#!/usr/bin/env bash
# The platform running locally in one command (issue 15): `make dev` / `make dev-down`.
#
#   hack/dev.sh up     installs/builds what is missing (Debian packages, pinned tools, npm dependencies, base and
#                      node images), creates or reuses the kind cluster, builds and loads the images, installs the
#                      ingress and the chart (bundled PostgreSQL, RabbitMQ, versitygw, and the maildev mail catcher
#                      that the chart leaves off by default), with the development conveniences turned on
#                      explicitly (plain http cookies, 127.0.0.1/localhost origins, the inbox), creates an admin
#                      account, uploads a generated 1080p sample through the API and waits until it is Ready,
#                      then prints the URLs and writes them to .dev/endpoints.env.
#   hack/dev.sh down   uninstalls the release, deletes the cluster, and stops the project's dockerd (unless
#                      containers of another cluster still run on it).
#
# Every step is skipped when its result is already there, so a second run is quick; a changed source gives
# a new image ID, which rolls the API and operator Deployments (helm upgrade with the image IDs as annotations)
# and is used by every new transcoder Job.
#
# Environment (all optional):
#   ADMIN_EMAIL, ADMIN_PASSWORD   the admin account (default admin@videoflix.local and a generated password,
#                                 kept in .dev/endpoints.env for later runs)
#   CLUSTER_NAME (videoflix), INGRESS_HTTP_PORT (8080), INGRESS_HTTPS_PORT (8443), KIND_NODE_IMAGE, BASE_IMAGE,
#   CLUSTER_WORKERS (unset: one node, or the existing cluster as it is; N: N workers, hack/cluster/cluster.sh)
#   DEV_NAMESPACE (videoflix), DEV_RELEASE (videoflix), DEV_SAMPLE=always|never (default: upload when no
#   Ready sample exists), DEV_READY_TIMEOUT (900 s), DEV_DIR (.dev: endpoints.env and the sample),
#   DEV_CHUNK_PARALLELISM (chunk Pods of one rendition at a time; default: the machine's cores, at least 2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CLUSTER_NAME=${CLUSTER_NAME:-videoflix}
# a cluster of another name gets a kubeconfig of its own (the default one belongs to the test tiers' cluster)
if [ "$CLUSTER_NAME" != videoflix ]; then KUBECONFIG_OUT=${KUBECONFIG_OUT:-$ROOT/.cache/cluster/$CLUSTER_NAME.kubeconfig}; fi
export CLUSTER_NAME KUBECONFIG_OUT
. "$ROOT/hack/cluster/env.sh"
export KUBECONFIG=$KUBECONFIG_OUT IMAGE_TAG=${IMAGE_TAG:-dev}
NS=${DEV_NAMESPACE:-videoflix}
RELEASE=${DEV_RELEASE:-videoflix}
CHART=$ROOT/charts/videoflix
DEV=${DEV_DIR:-$ROOT/.dev}
ENDPOINTS=$DEV/endpoints.env
SAMPLE=$DEV/sample-1080p.mp4
SAMPLE_TITLE="Sample 1080p (make dev)"
CHUNK_PARALLELISM=${DEV_CHUNK_PARALLELISM:-$(n=$(nproc); echo $((n > 2 ? n : 2)))}
T_START=$SECONDS
mkdir -p "$DEV"

step() { printf '\n\033[1;34m== %s\033[0m (%s, %d s so far)\n' "$*" "$(date +%T)" $((SECONDS - T_START)) >&2; }
fullname() { # the chart's fullname: the release name when it contains the chart name (helm create's rule)
  case "$RELEASE" in *videoflix*) echo "$RELEASE" ;; *) echo "$RELEASE-videoflix" ;; esac
}
FULL=$(fullname)

# ---- 1. packages, tools, npm ----------------------------------------------------------------------------
prerequisites() {
  step "Debian packages (first time: 2-5 min), pinned tools (first time: ~15 min of Go builds, cached per version)"
  "$ROOT/hack/deps.sh" all
  "$ROOT/hack/tools.sh" node kind helm k8s
  if [ ! -f node_modules/.install-stamp ] || [ package-lock.json -nt node_modules/.install-stamp ]; then
    with_progress "npm ci (first time ~1-2 min)" "$LOGS/dev-npm-ci.log" npm ci --no-audit --no-fund
    touch node_modules/.install-stamp
  fi
}

# ---- 2. docker, base image, node image, cluster -----------------------------------------------------------
cluster() {
  step "dockerd, base image (first time ~1 min), kind node image (first time ~10-20 min), cluster $CLUSTER_NAME"
  "$ROOT/hack/cluster/docker.sh" up
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || "$ROOT/hack/cluster/base-image.sh"
  if [ -z "${KIND_NODE_IMAGE:-}" ] && ! docker image inspect "$(node_image)" >/dev/null 2>&1; then
    "$ROOT/hack/cluster/node-image.sh"
  fi
  "$ROOT/hack/cluster/cluster.sh" up
}

# ---- 3. images and ingress -----------------------------------------------------------------------------
images() {
  step "images (first time ~10 min, Traefik's Go build ~6 min more; unchanged images: seconds) and the ingress"
  "$ROOT/hack/cluster/images.sh"
  with_progress "ingress controller (Traefik)" "$LOGS/dev-ingress.log" "$ROOT/hack/cluster/ingress.sh" up
}

# ---- 4. the chart ----------------------------------------------------------------------------------------
ingress_port() { # the host port mapped to the ingress NodePort 30080 (the cluster may predate INGRESS_HTTP_PORT)
  docker port "$CLUSTER_NAME-control-plane" 30080/tcp 2>/dev/null | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1
}
image_id() { docker image inspect -f '{{.Id}}' "$1" | cut -c8-19; }

# A release installed before the bundled services kept their data on PVCs (persistence was off by default)
# has StatefulSets without volumeClaimTemplates, which Kubernetes does not let an upgrade add: delete them
# (their data lived in emptyDir and is lost with their Pods anyway) so the upgrade creates them with claims.
ephemeral_statefulsets() {
  local c sts
  for c in postgresql rabbitmq; do
    sts="$FULL-$c"
    if kubectl -n "$NS" get statefulset "$sts" >/dev/null 2>&1 \
      && [ -z "$(kubectl -n "$NS" get statefulset "$sts" -o jsonpath='{.spec.volumeClaimTemplates[*].metadata.name}')" ]; then
      log "StatefulSet $sts keeps its data in an emptyDir: deleting it so the upgrade re-creates it on a PVC"
      kubectl -n "$NS" delete statefulset "$sts" --wait=true >/dev/null
    fi
  done
}

chart() {
  step "helm upgrade --install $RELEASE (namespace $NS; first time ~2-4 min)"
  local port values hash
  port=$(ingress_port)
  [ -n "$port" ] || die "cluster $CLUSTER_NAME has no host port mapped to the ingress (30080)"
  API_URL=http://127.0.0.1:$port
  values=$DEV/values.yaml
  # dev values: one replica each (a laptop, not a production cluster), the locally built images, and their
  # IDs as Pod annotations so a rebuilt image rolls the Deployments although the tag stays "dev"
  # and the development conveniences the chart's production defaults leave off, each turned on explicitly:
  # cookies over plain http, the local origins (the API's and the frontend's dev server), the mail catcher
  # with its inbox on the ingress (still behind the basic auth of its generated Secret)
  cat > "$values" <<EOF
# written by hack/dev.sh (make dev); not for production
api:
  image: {tag: "$IMAGE_TAG"}
  replicaCount: 1
  publicUrl: "$API_URL"
  frontendUrl: "http://localhost:4200"
  corsAllowedOrigins: ["http://localhost:4200"]
  csrfTrustedOrigins: ["$API_URL", "http://localhost:$port"]
  authCookie: {secure: false, allowInsecure: true}
  bcryptCost: 10
  podAnnotations: {videoflix.io/image-id: "$(image_id "videoflix/api:$IMAGE_TAG")"}
operator:
  image: {tag: "$IMAGE_TAG"}
  replicaCount: 1
  podAnnotations: {videoflix.io/image-id: "$(image_id "videoflix/operator:$IMAGE_TAG")"}
maildev:
  enabled: true
  ingress: {enabled: true}
transcoder:
  image: {tag: "$IMAGE_TAG"}
  # small CPU requests: on a 2-core laptop the operator's defaults (1 CPU for 720p and 1080p) leave Jobs
  # Pending next to the platform's own Pods; the limits stay, so each Job still uses what is free
  resources:
    thumbnail: {requests: {cpu: 50m, memory: 128Mi}, limits: {cpu: 500m, memory: 512Mi}}
    480p: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}
    720p: {requests: {cpu: 100m, memory: 384Mi}, limits: {cpu: "2", memory: 1536Mi}}
    1080p: {requests: {cpu: 100m, memory: 512Mi}, limits: {cpu: "2", memory: 2Gi}}
  # those small requests no longer make the scheduler queue chunk Pods: bound them by the cores instead
  # (all chunks of three renditions at once, 30 for a 5-minute source, overloaded a 2-core machine until
  # container starts failed); at least 2, so a 2-worker cluster still spreads one rendition's chunks
  chunking: {parallelism: $CHUNK_PARALLELISM}
# streaming offload (the chart's default here): segment URLs are signed for both names of the ingress
streaming:
  hosts: ["127.0.0.1:$port", "localhost:$port"]
EOF
  # skip the upgrade (and its hook Jobs) when neither the chart, the values nor an image changed
  hash=$( (find "$CHART" -type f | LC_ALL=C sort | xargs sha256sum; cat "$values"; image_id "videoflix/transcoder:$IMAGE_TAG") | sha256sum | cut -c1-16)
  if [ "$(cat "$DEV/release.hash" 2>/dev/null)" = "$hash" ] \
    && [ "$(helm status "$RELEASE" -n "$NS" -o json 2>/dev/null | jq -r .info.status)" = deployed ]; then
    log "release $RELEASE unchanged (chart, values and images as last time): no upgrade"
  else
    rm -f "$DEV/release.hash"
    ephemeral_statefulsets
    # Helm installs crds/ on the first install only: apply the chart's CRD first so that an upgrade's new
    # fields (e.g. status.renditions[].progress) are not pruned by an older schema
    if kubectl get crd videos.media.videoflix.io >/dev/null 2>&1; then
      kubectl apply --server-side --force-conflicts -f "$CHART/crds/" >/dev/null
    fi
    with_progress "helm upgrade --install $RELEASE" "$LOGS/dev-helm.log" \
      helm upgrade --install "$RELEASE" "$CHART" -n "$NS" --create-namespace -f "$values" \
      --wait --timeout 12m
    echo "$hash" > "$DEV/release.hash"
  fi
  kubectl -n "$NS" rollout status "deployment/$FULL-api" --timeout=300s >/dev/null
  kubectl -n "$NS" rollout status "deployment/$FULL-operator" --timeout=300s >/dev/null
  local t0=$SECONDS
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$API_URL/readyz")" = 200 ]; do
    [ $((SECONDS - t0)) -lt 120 ] || die "the API does not answer through the ingress at $API_URL/readyz"
    sleep 2
  done
  log "API ready through the ingress: $API_URL"
  # the mail catcher's inbox credentials (generated by the chart into its Secret)
  MAIL_USER=$(kubectl -n "$NS" get secret "$FULL-maildev" -o jsonpath='{.data.username}' | base64 -d)
  MAIL_PASSWORD=$(kubectl -n "$NS" get secret "$FULL-maildev" -o jsonpath='{.data.password}' | base64 -d)
}

# ---- 5. the admin account --------------------------------------------------------------------------------
COOKIES=$DEV/.cookies
login() { # login → HTTP status; keeps the cookies in $COOKIES
  : > "$COOKIES"; chmod 600 "$COOKIES"
  jq -n --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}' \
    | curl -s -o /dev/null -w '%{http_code}' -c "$COOKIES" -H "Origin: $API_URL" -H 'Content-Type: application/json' \
      --data-binary @- "$API_URL/api/login/"
}
admin() {
  step "admin account"
  local prev_email="" prev_password=""
  if [ -f "$ENDPOINTS" ]; then
    prev_email=$(sed -n 's/^ADMIN_EMAIL=//p' "$ENDPOINTS"); prev_password=$(sed -n 's/^ADMIN_PASSWORD=//p' "$ENDPOINTS")
  fi
  ADMIN_EMAIL=${ADMIN_EMAIL:-${prev_email:-admin@videoflix.local}}
  if [ -z "${ADMIN_PASSWORD:-}" ]; then
    if [ -n "$prev_password" ] && [ "$prev_email" = "$ADMIN_EMAIL" ]; then ADMIN_PASSWORD=$prev_password
    else ADMIN_PASSWORD=$(openssl rand -base64 24 | tr -dc 'A-Za-z0-9' | cut -c1-20); GENERATED_PASSWORD=1; fi
  fi
  if [ "$(login)" = 200 ]; then log "admin $ADMIN_EMAIL signs in: kept as it is"; write_endpoints; return; fi
  # create-admin in the API Pod (its DATABASE_URL and BCRYPT_COST); --update promotes and resets an existing user
  printf '%s' "$ADMIN_PASSWORD" | kubectl -n "$NS" exec -i "deployment/$FULL-api" -c api -- \
    node dist/api/cli/create-admin.js --email "$ADMIN_EMAIL" --password-stdin --update >&2
  [ "$(login)" = 200 ] || die "the admin $ADMIN_EMAIL cannot sign in after create-admin"
  log "admin $ADMIN_EMAIL created or updated${GENERATED_PASSWORD:+ (generated password)}"
  write_endpoints
}

# ---- 6. the sample video --------------------------------------------------------------------------------
sample() {
  step "sample video: generate, upload through the ingress, wait until Ready"
  if [ ! -s "$SAMPLE" ]; then
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
      -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 6 \
      -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 128k -movflags +faststart "$SAMPLE.tmp.mp4"
    mv "$SAMPLE.tmp.mp4" "$SAMPLE"
    log "generated $SAMPLE ($(du -h "$SAMPLE" | cut -f1), 6 s of 1920x1080)"
  fi
  local list id name
  list=$(curl -sf -b "$COOKIES" "$API_URL/api/admin/videos/")
  # the newest sample that is Ready or on its way (a run interrupted while it processed waits for it again)
  id=$(jq -r --arg t "$SAMPLE_TITLE" '[.[] | select(.title == $t and (.phase == "Ready" or .phase == "Pending" or .phase == "Processing"))][0] | "\(.id) \(.phase)" // empty' <<< "$list")
  if [ -n "$id" ] && [ "$id" != "null null" ] && [ "${DEV_SAMPLE:-}" != always ]; then
    SAMPLE_ID=${id% *}
    if [ "${id#* }" = Ready ]; then log "sample already Ready (video $SAMPLE_ID): not uploaded again"; return; fi
    log "sample video $SAMPLE_ID is ${id#* } from an earlier run: waiting for it"; id=$SAMPLE_ID
  else
    [ "${DEV_SAMPLE:-}" = never ] && { log "DEV_SAMPLE=never: no upload"; return; }
    local resp
    resp=$(curl -sS -b "$COOKIES" -H "Origin: $API_URL" -w '\n%{http_code}' \
      -F "title=$SAMPLE_TITLE" -F 'description=Generated by hack/dev.sh with ffmpeg (testsrc2, 440 Hz tone).' \
      -F 'category=Samples' -F "file=@$SAMPLE;type=video/mp4" "$API_URL/api/admin/videos/")
    [ "$(tail -1 <<< "$resp")" = 202 ] || die "upload refused: $resp"
    id=$(head -1 <<< "$resp" | jq -r .id)
    SAMPLE_ID=$id
    log "uploaded $SAMPLE as video $id"
  fi
  log "its Video resource (like kubectl get videos -n $NS -w), with the state of each rendition:"
  local t0=$SECONDS limit=${DEV_READY_TIMEOUT:-900} last="" line="" row phase renditions key header=""
  while :; do
    row=$(curl -sf -b "$COOKIES" "$API_URL/api/admin/videos/" | jq -c --argjson id "$id" '.[] | select(.id == $id)') || row=""
    name=$(jq -r '.resource.name // empty' <<< "$row" 2>/dev/null || true)
    phase=$(jq -r '.phase // empty' <<< "$row" 2>/dev/null || true)
    if [ -n "$name" ]; then
      if [ -z "$header" ]; then
        header=$(kubectl -n "$NS" get video "$name" 2>/dev/null | head -1 || true)
        [ -n "$header" ] && printf '   %s  PER RENDITION\n' "$header" >&2
      fi
      line=$(kubectl -n "$NS" get video "$name" --no-headers 2>/dev/null || true)
      renditions=$(kubectl -n "$NS" get video "$name" -o json 2>/dev/null \
        | jq -r '[.status.renditions[]? | "\(.name)=\(.phase)"] | join(" ")' || true)
      key="$(awk '{$NF=""; print}' <<< "$line") $renditions" # a line per change, not per second of AGE
      if [ -n "$line" ] && [ "$key" != "$last" ]; then
        printf '   %s  %s  (%d s)\n' "$line" "$renditions" $((SECONDS - t0)) >&2; last=$key
      fi
    fi
    case "$phase" in
      Ready) log "sample video $id Ready after $((SECONDS - t0)) s"; return ;;
      Failed) die "sample video $id Failed: $(jq -r '.error // ""' <<< "$row"); kubectl -n $NS describe video $name" ;;
    esac
    [ $((SECONDS - t0)) -lt "$limit" ] || die "sample video $id not Ready after $limit s (last: ${line:-$row})"
    sleep 2
  done
}

# ---- 7. endpoints ----------------------------------------------------------------------------------------
write_endpoints() { # (also right after the admin step, so a generated password is never lost)
  local tmp=$ENDPOINTS.tmp
  (umask 077; cat > "$tmp") <<EOF
API_URL=$API_URL
ADMIN_URL=$API_URL/admin/
MAIL_UI_URL=$API_URL/maildev/
MAIL_API_URL=$API_URL/maildev/api
MAIL_USER=$MAIL_USER
MAIL_PASSWORD=$MAIL_PASSWORD
KUBECONFIG=$KUBECONFIG
ADMIN_EMAIL=$ADMIN_EMAIL
ADMIN_PASSWORD=$ADMIN_PASSWORD
SAMPLE_VIDEO=$SAMPLE
EOF
  mv "$tmp" "$ENDPOINTS"
}
endpoints() {
  write_endpoints
  local mail
  mail=$(curl -s -o /dev/null -w '%{http_code}' -u "$MAIL_USER:$MAIL_PASSWORD" "$API_URL/maildev/api/email")
  [ "$mail" = 200 ] || log "WARNING: the mail catcher's REST API answered $mail at $API_URL/maildev/api/email"
  cat >&2 <<EOF

$(printf '\033[1;32m')Videoflix is running on the kind cluster "$CLUSTER_NAME" (make dev took $((SECONDS - T_START)) s)$(printf '\033[0m')
  API            $API_URL/api/        (OpenAPI: $API_URL/api/openapi.json)
  Admin console  $API_URL/admin/
  Mail inbox     $API_URL/maildev/    (activation and password-reset links; REST: $API_URL/maildev/api/email)
                 user $MAIL_USER, password $MAIL_PASSWORD
  Admin          $ADMIN_EMAIL / $ADMIN_PASSWORD
  Sample video   $SAMPLE${SAMPLE_ID:+ (video $SAMPLE_ID)}
  kubectl        KUBECONFIG=$KUBECONFIG kubectl -n $NS get videos,pods
  Written to     $ENDPOINTS   (make dev-down removes the platform)
EOF
}

up() {
  prerequisites
  cluster
  images
  chart
  admin
  sample
  endpoints
}

down() {
  local t0=$SECONDS
  if docker_ok && kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
    if [ -f "$KUBECONFIG" ] && helm status "$RELEASE" -n "$NS" >/dev/null 2>&1; then
      log "helm uninstall $RELEASE"; helm uninstall "$RELEASE" -n "$NS" --wait --timeout 3m >&2 || true
    fi
    "$ROOT/hack/cluster/cluster.sh" down
  else
    log "no cluster $CLUSTER_NAME"
  fi
  rm -f "$ENDPOINTS" "$DEV/release.hash" "$COOKIES" "$DEV/values.yaml"
  if docker_ok; then
    local others; others=$(docker ps --format '{{.Names}}')
    if [ -n "$others" ]; then
      log "dockerd left running: other containers still use it ($(tr '\n' ' ' <<< "$others"))"
    else
      "$ROOT/hack/cluster/docker.sh" down
    fi
  fi
  log "make dev-down done in $((SECONDS - t0)) s (the sample clip stays in $DEV; cached images and tools stay in $VF_CACHE)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
