#!/bin/sh
# Creates (or updates) the components' RabbitMQ users and their permissions on the vhost "/", from
# lines "<user> <password> <configure-regex> <write-regex> <read-regex>" on stdin (the chart mounts
# them from a Secret; the regexes are common/grants' amqpPermissions). Idempotent: an existing user gets
# the password and permissions of the line. Waits for the broker first. Needs rabbitmqctl's environment
# (node name, Erlang cookie in $HOME).
set -eu
ctl() { rabbitmqctl -q "$@" </dev/null; } # the Erlang VM would otherwise eat the lines on stdin
# await_startup waits for a booting node but fails at once while the node has not registered yet
tries=0
until ctl await_startup >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 150 ] || { echo "ensure-users: the broker did not start in 5 min" >&2; exit 1; }
  sleep 2
done
while read -r user pass configure write read; do
  case "$user" in ''|'#'*) continue ;; esac
  if ctl list_users --no-table-headers | cut -f1 | grep -qxF "$user"; then
    ctl change_password -- "$user" "$pass" >/dev/null # "--": a password may start with "-"
  else
    ctl add_user -- "$user" "$pass" >/dev/null
  fi
  ctl set_permissions -p / -- "$user" "$configure" "$write" "$read" >/dev/null
  echo "rabbitmq user $user: permissions configure=$configure write=$write read=$read"
done
