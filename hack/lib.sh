# Shared shell helpers of hack/*.sh (sourced, not run).
# Tool builds are cached per version under $TOOLS_CACHE: a directory per tool and version, a `.complete`
# marker when the build succeeded, the build log next to it, and a lock so that one build of a given
# version runs at a time (make dev, the test tiers and images.sh may all ask for the same tool).
HACK_ROOT=${HACK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$HACK_ROOT/hack/versions.env"
TOOLS_CACHE=${TOOLS_CACHE:-$HOME/.cache/videoflix/tools}
mkdir -p "$TOOLS_CACHE"

log() { printf '\033[1m>> %s\033[0m\n' "$*" >&2; }

# cached <dir> <label> <command...>: runs the command once per <dir>, with a heartbeat every 30 s.
cached() {
  local dir=$1 label=$2; shift 2
  if [ -f "$dir/.complete" ]; then return 0; fi
  local lock; exec {lock}>"$dir.lock"
  flock -n "$lock" || { log "waiting for the $label build in progress ($dir.lock)"; flock "$lock"; }
  if [ -f "$dir/.complete" ]; then exec {lock}>&-; return 0; fi
  rm -rf "$dir"; mkdir -p "$dir"
  log "building $label (first time only; cached in $dir)"
  local t0=$SECONDS pid rc=0
  "$@" > "$dir.build.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do # some of these builds take minutes: say so
    sleep 5; [ $(((SECONDS - t0) % 30)) -lt 5 ] && kill -0 "$pid" 2>/dev/null && log "   ... $label: $((SECONDS - t0)) s"
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "building $label FAILED, log: $dir.build.log"; tail -20 "$dir.build.log" >&2; rm -rf "$dir"; exec {lock}>&-; return 1
  fi
  touch "$dir/.complete"; log "built $label in $((SECONDS - t0)) s"; exec {lock}>&-
}
