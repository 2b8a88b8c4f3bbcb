#!/bin/sh
# Writes the config (default user, loopback_users none) and the Erlang cookie, then runs the broker.
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
unset RABBITMQ_DEFAULT_PASS RABBITMQ_ERLANG_COOKIE
exec /usr/lib/rabbitmq/bin/rabbitmq-server
