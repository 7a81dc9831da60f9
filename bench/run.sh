#!/usr/bin/env bash
# The cross-system benchmark: flyrpc against the raw TCP floor, gRPC C++ and
# Erlang :erpc, each a server process and a client process on loopback, in
# alternating rounds, with glibc malloc at its defaults and with raised
# trim/mmap thresholds. Writes bench/results/latest.md (and latest.jsonl, the
# raw measurements). docs/PERFORMANCE.md explains what is measured and how.
#
#   bench/run.sh [--quick] [--rounds R] [--systems floor,grpc,erpc,flyrpc]
#                [--build-dir DIR] [--out FILE.md]
#                [--flyrpc-server PATH] [--flyrpc-client PATH]
#                [--flyrpc-handlers inline|pool]
#
# --quick: one round, shorter points, 10,000 sequential calls (a smoke run,
#          about 2-3 minutes); the default is 3 rounds (about 15 minutes).
# flyrpc plugs in as two executables speaking the harness's contract
# (bench/harness/README.md); when they are absent the system is skipped and
# ratios are given against the floor. --flyrpc-handlers (or FLYRPC_HANDLERS):
# where the server runs its functions, on the I/O thread (inline, default) or
# on the worker pool.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-harness
OUT=$ROOT/bench/results/latest.md
ROUNDS=3
QUICK=0
SYSTEMS=floor,grpc,erpc,flyrpc
FLYRPC_SERVER=${FLYRPC_BENCH_SERVER:-}
FLYRPC_CLIENT=${FLYRPC_BENCH_CLIENT:-}
FLYRPC_HANDLERS=${FLYRPC_HANDLERS:-inline}
TUNED='glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=33554432'
COMMAND="bench/run.sh${*:+ $*}"

die() { echo "bench/run.sh: $*" >&2; exit 2; }
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; shift ;;
    --rounds) need_value "$@"
      [[ $2 =~ ^[1-9][0-9]?$ ]] || die "--rounds: '$2' is not a number of rounds (1-99)"
      ROUNDS=$2; shift 2 ;;
    --systems) need_value "$@"
      for s in ${2//,/ }; do
        [[ $s =~ ^(floor|grpc|erpc|flyrpc)$ ]] || die "--systems: '$s' is not floor, grpc, erpc or flyrpc"
      done
      SYSTEMS=$2; shift 2 ;;
    --build-dir) need_value "$@"; BUILD=$(realpath -m "$2"); shift 2 ;;
    --out) need_value "$@"; OUT=$(realpath -m "$2"); shift 2 ;;
    --flyrpc-server) need_value "$@"; FLYRPC_SERVER=$2; shift 2 ;;
    --flyrpc-client) need_value "$@"; FLYRPC_CLIENT=$2; shift 2 ;;
    --flyrpc-handlers) need_value "$@"; FLYRPC_HANDLERS=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $FLYRPC_HANDLERS =~ ^(inline|pool)$ ]] ||
  die "--flyrpc-handlers: '$FLYRPC_HANDLERS' is not inline or pool"
FLYRPC_SERVER=${FLYRPC_SERVER:-$BUILD/bin/flyrpc_bench_server}
FLYRPC_CLIENT=${FLYRPC_CLIENT:-$BUILD/bin/flyrpc_bench_client}

# Points: sequential calls, then seconds (+ warm-up) per throughput point.
if [[ $QUICK -eq 1 ]]; then
  POINT_ARGS=(--seq-calls 10000 --seq-warmup 1000 --seconds 0.25 --warmup 0.05)
else
  POINT_ARGS=(--seq-calls 20000 --seq-warmup 2000 --seconds 0.6 --warmup 0.15)
fi

# ---- install the peers, build the harness ------------------------------------
"$ROOT/scripts/install-deps.sh" bench
[[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$ROOT/bench/harness" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null
BIN=$BUILD/bin

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flybench.XXXXXX")
RAW=$WORK/results.jsonl
: >"$RAW"
NOTES=()
SERVER_PID=""
EPMD_PID=""

# Stops one process we started: TERM, then KILL if it has not gone in 10 s.
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  [[ -n $SERVER_PID ]] && stop_pid "$SERVER_PID"
  [[ -n $EPMD_PID ]] && stop_pid "$EPMD_PID"   # only the epmd we started
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server LOG CMD...: starts CMD with its stdout on a pipe and waits (up to
# 60 s) for its first line, "READY <where>"; sets SERVER_PID and SERVER_AT.
# The rest of its stdout goes to LOG, like its stderr.
start_server() {
  local log=$1 fd word
  shift
  exec {fd}< <(exec "$@" 2>>"$log")
  SERVER_PID=$!
  if ! read -r -t 60 -u "$fd" word SERVER_AT || [[ $word != READY || -z $SERVER_AT ]]; then
    exec {fd}<&-
    echo "bench/run.sh: server did not start: $*" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
  fi
  cat <&"$fd" >>"$log" &
  exec {fd}<&-
}

kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# run_point SYSTEM ROUND ALLOC SERVER-CMD... -- CLIENT-CMD...: one server and
# one client run; appends the client's JSON lines and the server's RSS to RAW.
run_point() {
  local system=$1 round=$2 alloc=$3
  shift 3
  local server=() client=()
  while [[ $1 != -- ]]; do server+=("$1"); shift; done
  shift
  client=("$@")
  local envs=(env -u GLIBC_TUNABLES)
  [[ $alloc == tuned ]] && envs=(env "GLIBC_TUNABLES=$TUNED")
  local log=$WORK/$system.log
  echo "  $alloc  $system" >&2
  start_server "$log" "${envs[@]}" "${server[@]}"
  local rest
  rest=$(kib "$SERVER_PID" VmRSS)
  local tag="{\"round\":$round,\"alloc\":\"$alloc\","
  if ! timeout 900 "${envs[@]}" "${client[@]//@SERVER@/$SERVER_AT}" 2>>"$log" |
      sed "s/^{/$tag/" >>"$RAW"; then
    echo "bench/run.sh: $system client failed" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  echo "$tag\"kind\":\"rss\",\"system\":\"$system\",\"rest_kib\":$rest,\"peak_kib\":$(kib "$SERVER_PID" VmHWM)}" >>"$RAW"
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

# ---- systems -------------------------------------------------------------------
# Each takes ROUND ALLOC. Clients get @SERVER@ replaced by what the server's
# READY line said (a port, or an Erlang node name).
sys_floor() {
  run_point floor "$1" "$2" "$BIN/floor_bench_server" --port 0 -- \
    "$BIN/floor_bench_client" --system floor --port @SERVER@ "${POINT_ARGS[@]}"
}
sys_grpc() {
  local api
  for api in sync callback; do
    run_point "grpc-$api" "$1" "$2" "$BIN/grpc_bench_server" --api "$api" --port 0 -- \
      "$BIN/grpc_bench_client" --system "grpc-$api" --port @SERVER@ "${POINT_ARGS[@]}"
  done
}
ERL_COOKIE=flybench_$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
ERL_ARGS=(-setcookie "$ERL_COOKIE" -noinput -kernel inet_dist_use_interface '{127,0,0,1}'
  -pa "$BUILD/erlang")
sys_erpc() {
  run_point erpc "$1" "$2" erl -sname "flybench_srv_$$@localhost" "${ERL_ARGS[@]}" \
    -s flybench_server start -- \
    erl -sname "flybench_cli_$$@localhost" "${ERL_ARGS[@]}" -s flybench_client main -extra \
    --server @SERVER@ --system erpc "${POINT_ARGS[@]}"
}
# flyrpc: the server is a node of region syd (the primary), the client a node
# of region lax calling it with rpc_region. Both share a fresh cookie (the
# binaries refuse to run without FLY_RPC_COOKIE rather than create
# ~/.flyrpc.cookie); FLY_APP_NAME is dropped so that no DNS discovery starts.
FLY_COOKIE=flybench_$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
sys_flyrpc() {
  run_point flyrpc "$1" "$2" env -u FLY_APP_NAME FLY_RPC_COOKIE="$FLY_COOKIE" FLY_REGION=syd \
    PRIMARY_REGION=syd "$FLYRPC_SERVER" --port 0 --handlers "$FLYRPC_HANDLERS" -- \
    env -u FLY_APP_NAME FLY_RPC_COOKIE="$FLY_COOKIE" FLY_REGION=lax PRIMARY_REGION=syd \
    "$FLYRPC_CLIENT" --system flyrpc --port @SERVER@ "${POINT_ARGS[@]}"
}

active=()
for s in ${SYSTEMS//,/ }; do
  if [[ $s == flyrpc && ! ( -x $FLYRPC_SERVER && -x $FLYRPC_CLIENT ) ]]; then
    NOTES+=("flyrpc skipped: no executable $FLYRPC_SERVER and $FLYRPC_CLIENT (pending the RPC layer; ratios are to the floor).")
    continue
  fi
  active+=("$s")
done
[[ ${#active[@]} -gt 0 ]] || die "no system to run"

# epmd for the BEAM nodes: use a running one, else start ours on loopback
# (in the foreground, as our child, so that we stop exactly the one we started).
if [[ " ${active[*]} " == *" erpc "* ]] && ! epmd -names >/dev/null 2>&1; then
  epmd -address 127.0.0.1 &
  EPMD_PID=$!
  for _ in $(seq 100); do epmd -names >/dev/null 2>&1 && break; sleep 0.1; done
  epmd -names >/dev/null 2>&1 || { echo "bench/run.sh: epmd did not start" >&2; exit 1; }
fi

started=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS: ${active[*]}" >&2
  for alloc in default tuned; do
    for s in "${active[@]}"; do "sys_$s" "$r" "$alloc"; done
  done
done
elapsed=$(($(date +%s) - started))

# ---- the report ------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
cp "$RAW" "${OUT%.md}.jsonl"
{
  echo "# flyrpc cross-system benchmark"
  echo
  echo "Generated by \`$COMMAND\` on $(date -u '+%Y-%m-%d %H:%M UTC') in ${elapsed} s." \
    "Raw measurements: \`$(basename "${OUT%.md}.jsonl")\`; method: docs/PERFORMANCE.md."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| machine | $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM |"
  echo "| kernel | $(uname -sr) |"
  echo "| compiler | $(g++ --version | head -n1), harness built $(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$BUILD/CMakeCache.txt") |"
  echo "| peers | gRPC $(dpkg-query -W -f='${Version}' libgrpc++-dev), Erlang/OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().') (erts $(erl -noshell -eval 'io:put_chars(erlang:system_info(version)), halt().')) |"
  [[ " ${active[*]} " == *" flyrpc "* ]] &&
    echo "| flyrpc | server functions run \`--handlers $FLYRPC_HANDLERS\` ($([[ $FLYRPC_HANDLERS == inline ]] && echo 'on the I/O thread, ExposeOptions::non_blocking' || echo 'on the worker pool')); 1 I/O thread, 4 workers (defaults) |"
  echo "| rounds | $ROUNDS, systems alternating in each round: ${active[*]} (first with glibc malloc defaults, then tuned) |"
  echo "| points | sequential: ${POINT_ARGS[1]} calls after ${POINT_ARGS[3]} warm-up; throughput: ${POINT_ARGS[5]} s after ${POINT_ARGS[7]} s warm-up, 1/8/64/256 in flight |"
  echo "| allocator | **default**: glibc malloc, GLIBC_TUNABLES unset. **tuned**: \`GLIBC_TUNABLES=$TUNED\` for server and client (glibc stops returning freed memory to the kernel and stops mmap-ing 64 KiB blocks) |"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  [[ ${#NOTES[@]} -gt 0 ]] && echo
  "$BIN/flybench_report" "$RAW"
} >"$OUT"
echo "bench/run.sh: wrote $OUT (${elapsed} s of measurement)" >&2
