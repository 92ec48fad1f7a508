#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the test suite, installing
# Debian's postgresql package first when no server binaries are present.
#   scripts/test-postgres.sh start   prints the TEST_DATABASE_URL to use
#   scripts/test-postgres.sh stop
set -euo pipefail

PORT="${KEYGATE_TEST_PG_PORT:-54329}"
PGDATA="${KEYGATE_TEST_PGDATA:-/tmp/keygate-test-pg}"

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# Runs a command as the postgres user when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

case "${1:-}" in
  start)
    PGBIN="$(find_bin)"
    if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
      echo "installing PostgreSQL from Debian's packages" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq postgresql >&2
      PGBIN="$(find_bin)"
    fi
    if [ -f "$PGDATA/postmaster.pid" ]; then as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' -m fast stop" >&2 || true; fi
    rm -rf "$PGDATA"
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
    as_pg "'$PGBIN/initdb' -D '$PGDATA' -U postgres -A trust --no-sync" >/dev/null
    as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' -l '$PGDATA/server.log' -w -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" start" >&2
    as_pg "'$PGBIN/createdb' -h 127.0.0.1 -p $PORT -U postgres keygate_test"
    echo "postgres://postgres@127.0.0.1:$PORT/keygate_test"
    ;;
  stop)
    PGBIN="$(find_bin)"
    [ -n "$PGBIN" ] && [ -f "$PGDATA/postmaster.pid" ] && as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' -m fast stop" >&2
    rm -rf "$PGDATA"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
