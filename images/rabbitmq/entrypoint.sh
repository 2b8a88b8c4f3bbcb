#!/bin/sh
# Writes the config (default user, loopback_users none) and the Erlang cookie, then runs the broker;
# creates the components' users (ensure-users.sh) in the background once it is up.
set -eu
: "${RABBITMQ_DEFAULT_USER:?RABBITMQ_DEFAULT_USER is required}"
: "${RABBITMQ_DEFAULT_PASS:?RABBITMQ_DEFAULT_PASS is required}"
mkdir -p "$HOME" "$RABBITMQ_LOG_BASE"
umask 077
if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
  rm -f "$HOME/.erlang.cookie"; printf '%s' "$RABBITMQ_ERLANG_COOKIE" > "$HOME/.erlang.cookie"; chmod 400 "$HOME/.erlang.cookie"
fi
cat > "$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.default = ${RABBITMQ_NODE_PORT:-5672}
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
default_vhost = /
loopback_users = none
log.console = true
log.console.level = info
log.file = false
CONF
[ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ] || echo '[].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
# Per-component users (the chart's componentCredentials): RABBITMQ_COMPONENT_USER_<X>="<user> <configure>
# <write> <read>" and RABBITMQ_COMPONENT_PASSWORD_<X>; created by ensure-users.sh once the broker is up,
# then $RABBITMQ_USERS_READY exists (the readiness probe waits for it, so no client connects before).
set -f # the regexes are no file patterns
users=""
for x in $(env | sed -n 's/^RABBITMQ_COMPONENT_USER_\([A-Z0-9_]*\)=.*/\1/p'); do
  eval "line=\$RABBITMQ_COMPONENT_USER_$x pass=\${RABBITMQ_COMPONENT_PASSWORD_$x:?RABBITMQ_COMPONENT_PASSWORD_$x is required}"
  set -- $line
  users="$users$1 $pass $2 $3 $4
"
  unset "RABBITMQ_COMPONENT_PASSWORD_$x"
done
ready=${RABBITMQ_USERS_READY:-$HOME/.users-ready}
rm -f "$ready"
( printf '%s' "$users" | /usr/local/bin/rabbitmq-ensure-users && touch "$ready" ) &
unset RABBITMQ_DEFAULT_PASS RABBITMQ_ERLANG_COOKIE users pass line
exec /usr/lib/rabbitmq/bin/rabbitmq-server
