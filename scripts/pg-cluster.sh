#!/usr/bin/env bash
# A throw-away PostgreSQL 15 primary with two streaming hot standbys on
# loopback, for the postgres tests, the example and the benchmark.
#
#   scripts/pg-cluster.sh start DIR    create DIR, start the three servers, print their ports
#   scripts/pg-cluster.sh stop DIR     stop them and remove DIR
#
# DIR must not exist yet (start) and must not sit under a 0700 directory such
# as /root: the servers run as the `postgres` user and must reach their data.
# A directory from `mktemp -d /tmp/pg.XXXXXX` is right. Needs root (initdb
# refuses to run as root, so it runs as `postgres` through runuser).
#
# After start, DIR/ports holds three lines "primary PORT", "replica1 PORT",
# "replica2 PORT" (127.0.0.1; user postgres, database postgres, trust auth).
# Ports are picked at random among free ones below the ephemeral range, so
# several clusters can run at once. Durability is off (fsync=off): the data is
# thrown away. pg_stat_statements is loaded on every server so that tests can
# count the queries each one ran.
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin); PG_CLUSTER_OWNER_PID:
# a process whose death stops the cluster (a watcher polls it every second),
# so that a test that crashes does not leave three servers running.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
die() { echo "pg-cluster: $*" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if port_free "$p" && ! grep -qs " $p\$" "$DIR/ports"; then echo "$p"; return; fi
  done
  die "no free port found"
}

common_conf() {  # $1 = data dir, $2 = port
  cat >>"$1/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$DIR'
fsync = off
synchronous_commit = on
full_page_writes = off
wal_level = replica
max_wal_senders = 10
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 100ms
shared_buffers = 32MB
max_connections = 60
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
logging_collector = off
log_min_messages = warning
EOF
}

start_server() {  # $1 = name
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/$1" -l "$DIR/$1.log" -w -t 30 start >/dev/null ||
    { cat "$DIR/$1.log" >&2; die "$1 did not start (log above)"; }
}

cmd_start() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (initdb runs as postgres through runuser)"
  [[ -x $PG_BIN/initdb ]] || die "$PG_BIN/initdb not found: install postgresql-15 (scripts/install-deps.sh test)"
  id postgres >/dev/null 2>&1 || die "no postgres user: install postgresql-15"
  [[ -e $DIR ]] && [[ -n $(ls -A "$DIR") ]] && die "$DIR exists and is not empty"
  mkdir -p "$DIR"
  chown postgres: "$DIR"
  chmod 755 "$DIR"
  as_pg test -x "$DIR" || die "$DIR is not reachable by the postgres user (under a 0700 directory?)"
  : >"$DIR/ports"
  chown postgres: "$DIR/ports"

  local pp r1 r2
  pp=$(pick_port); echo "primary $pp" >>"$DIR/ports"
  as_pg "$PG_BIN/initdb" -D "$DIR/primary" -U postgres -A trust --no-sync -E UTF8 \
    --locale=C >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  common_conf "$DIR/primary" "$pp"
  echo "host replication postgres 127.0.0.1/32 trust" >>"$DIR/primary/pg_hba.conf"
  start_server primary
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$pp" -U postgres -qAt -c \
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null

  local name port
  for name in replica1 replica2; do
    port=$(pick_port); echo "$name $port" >>"$DIR/ports"
    as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$pp" -U postgres -D "$DIR/$name" -R \
      -X stream --no-sync -c fast >"$DIR/$name.basebackup.log" 2>&1 ||
      { cat "$DIR/$name.basebackup.log" >&2; die "pg_basebackup for $name failed"; }
    # The copied postgresql.conf carries the primary's port: the later line wins.
    echo "port = $port" >>"$DIR/$name/postgresql.conf"
    start_server "$name"
  done
  # Ready when both standbys stream from the primary.
  for _ in $(seq 1 300); do
    n=$(as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$pp" -U postgres -qAt -c \
      "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
    if [[ $n == 2 ]]; then
      if [[ -n ${PG_CLUSTER_OWNER_PID:-} ]]; then
        local owner=$PG_CLUSTER_OWNER_PID self
        self=$(realpath "$0")
        (while kill -0 "$owner" 2>/dev/null && [[ -d $DIR ]]; do sleep 1; done
         "$self" stop "$DIR") </dev/null >/dev/null 2>&1 &
        disown
      fi
      cat "$DIR/ports"
      return
    fi
    sleep 0.05
  done
  die "the standbys did not start streaming within 15 s"
}

cmd_stop() {
  [[ -d $DIR ]] || return 0
  local name
  for name in replica2 replica1 primary; do
    if [[ -f $DIR/$name/postmaster.pid ]]; then
      as_pg "$PG_BIN/pg_ctl" -D "$DIR/$name" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$DIR"
}

[[ $# -eq 2 ]] || die "usage: $0 start|stop DIR"
DIR=$(realpath -m "$2")
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
