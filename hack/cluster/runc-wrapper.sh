#!/bin/sh
# OCI runtime wrapper for the project's dockerd, used only on hosts whose capability bounding set
# lacks CAP_SYS_RESOURCE (see hack/cluster/docker.sh): removes CAP_SYS_RESOURCE from every capability
# set of the container spec (config.json for create/run, the --process file for exec) and runs the
# real runc. Without it `docker run --privileged` (every kind node) fails with
# "unable to apply caps: operation not permitted".
REAL_RUNC=${VF_REAL_RUNC:-/usr/sbin/runc}
cmd= bundle= process= prev=
for a in "$@"; do
  case "$prev" in
    --bundle|-b) bundle=$a ;;
    --process|-p) process=$a ;;
  esac
  case "$a" in
    --bundle=*) bundle=${a#--bundle=} ;;
    --process=*) process=${a#--process=} ;;
    create|run|exec) [ -z "$cmd" ] && cmd=$a ;;
  esac
  prev=$a
done
strip() { # strip <json file> <jq path of the capabilities object>
  [ -f "$1" ] || return 0
  tmp="$1.vf-tmp"
  jq "if $2 then $2 |= with_entries(.value |= (if type == \"array\" then map(select(. != \"CAP_SYS_RESOURCE\")) else . end)) else . end" "$1" > "$tmp" && mv "$tmp" "$1"
}
case "$cmd" in
  create|run) strip "${bundle:-.}/config.json" '.process.capabilities' ;;
  exec) [ -n "$process" ] && strip "$process" '.capabilities' ;;
esac
exec "$REAL_RUNC" "$@"
