#!/bin/bash
# initdb on first start (as the non-root postgres user), then exec postgres in the foreground.
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then echo "postgres-entrypoint: POSTGRES_PASSWORD is required" >&2; exit 1; fi
SOCK=/var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "postgres-entrypoint: initializing $PGDATA"
  mkdir -p "$PGDATA"; chmod 700 "$PGDATA"
  pw=$(mktemp); trap 'rm -f "$pw"' EXIT
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"
  initdb -D "$PGDATA" --username=postgres --pwfile="$pw" --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
  { echo "listen_addresses = '*'"; echo "unix_socket_directories = '$SOCK'"; echo "password_encryption = 'scram-sha-256'"; } >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=$SOCK" -w start >/dev/null
  psql -v ON_ERROR_STOP=1 -h "$SOCK" -U postgres -d postgres -q \
    --set=user="$POSTGRES_USER" --set=pass="$POSTGRES_PASSWORD" --set=db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'user', :'pass') WHERE :'user' <> 'postgres' \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'user', :'pass') WHERE :'user' = 'postgres' \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres-entrypoint: initialized (user $POSTGRES_USER, database $POSTGRES_DB)"
fi
exec postgres -D "$PGDATA" "$@"
