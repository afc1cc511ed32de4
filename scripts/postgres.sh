#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests and print its DATABASE_URL.
# Usage: eval "$(scripts/postgres.sh start DIR PORT)"; scripts/postgres.sh stop DIR
# Installs Debian's postgresql package when it is missing (CI machines start without it).
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?data folder}
port=${3:-55432}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

case "$cmd" in
  start)
    if [ -z "$(pg_bin)" ]; then
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    bin=$(pg_bin)
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_postgres "'$bin/initdb' -D '$dir/data' -A trust -U liftlab >/dev/null"
    as_postgres "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w \
      -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"
    echo "export DATABASE_URL=postgres://liftlab@127.0.0.1:$port/postgres"
    ;;
  stop)
    bin=$(pg_bin)
    as_postgres "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
