#!/usr/bin/env bash
# Runs examples/todo_regions in three regions on this machine, against a real
# PostgreSQL primary (syd) and two streaming replicas (lax, hkg) started by
# scripts/pg-cluster.sh. Needs root (for the database servers). Ctrl-C stops
# everything and removes the data.
#
#   examples/todo_regions/run-local.sh [path/to/todo_regions]
#
#   curl -d title=milk http://127.0.0.1:8082/todos   # POST in lax: waits for lax's replica
#   curl http://127.0.0.1:8082/todos                 # ...so lax's GET has the row at once
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/bin/todo_regions}
[[ -x $bin ]] || { echo "run-local: $bin not found: build it first (cmake --build build --target todo_regions)" >&2; exit 2; }

dir=$(mktemp -u /tmp/todo-regions.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$root/scripts/pg-cluster.sh" stop "$dir"
}
trap cleanup EXIT INT TERM
"$root/scripts/pg-cluster.sh" start "$dir" >/dev/null
port() { awk -v s="$1" '$1 == s { print $2 }' "$dir/ports"; }

export FLY_RPC_COOKIE=${FLY_RPC_COOKIE:-todo-regions-local} PRIMARY_REGION=syd HTTP_HOST=127.0.0.1
start() {  # region http-port rpc-port database-server
  FLY_REGION=$1 FLY_MACHINE_ID=$1-1 PORT=$2 FLY_RPC_PORT=$3 FLY_RPC_SEEDS=127.0.0.1:4370 \
    DATABASE_URL="postgres://postgres@127.0.0.1:$(port "$4")/postgres" "$bin" &
  pids+=($!)
}
start syd 8081 4370 primary
# The primary creates the table; the others read it once it has replicated.
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:8081/health >/dev/null 2>&1 && break
  sleep 0.1
done
start lax 8082 4371 replica1
start hkg 8083 4372 replica2
echo "run-local: syd http://127.0.0.1:8081  lax http://127.0.0.1:8082  hkg http://127.0.0.1:8083 (Ctrl-C stops)"
wait
