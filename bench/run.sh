#!/usr/bin/env bash
# The cross-system benchmark: flyrpc against the raw TCP floor, gRPC C++ and
# Erlang :erpc, each a server process and a client process on loopback, in
# alternating rounds, with glibc malloc at its defaults and with raised
# trim/mmap thresholds; then flyrpc, gRPC and Erlang distribution over mutual
# TLS (certificates made here with openssl; glibc defaults only). Every point
# reports the CPU time per call of the client and of the server process next
# to latency and calls/s. Writes bench/results/latest.md (and latest.jsonl,
# the raw measurements). docs/PERFORMANCE.md explains what is measured and how.
#
#   bench/run.sh [--quick] [--rounds R]
#                [--systems floor,grpc,erpc,flyrpc,flyrpc-tls,grpc-tls,erpc-tls]
#                [--build-dir DIR] [--out FILE.md]
#                [--flyrpc-server PATH] [--flyrpc-client PATH]
#                [--flyrpc-handlers inline|pool]
#
# --quick: one round, shorter points, 10,000 sequential calls (a smoke run,
#          about 3 minutes); the default is 3 rounds (about 15 minutes).
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
ALL_SYSTEMS=floor,grpc,erpc,flyrpc,flyrpc-tls,grpc-tls,erpc-tls
SYSTEMS=$ALL_SYSTEMS
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
        [[ ,$ALL_SYSTEMS, == *,$s,* ]] || die "--systems: '$s' is not one of $ALL_SYSTEMS"
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

# Points: sequential calls (warm-up and measured calls each at most
# --seq-seconds: Erlang's TLS distribution takes ~5 ms per 64 KiB call), then
# seconds (+ warm-up) per throughput point.
if [[ $QUICK -eq 1 ]]; then
  POINT_ARGS=(--seq-calls 10000 --seq-warmup 1000 --seconds 0.2 --warmup 0.05 --seq-seconds 1.5)
else
  POINT_ARGS=(--seq-calls 20000 --seq-warmup 2000 --seconds 0.5 --warmup 0.1 --seq-seconds 2)
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
# In the client's command @SERVER@ becomes what the server's READY line said
# and @PID@ the server's process id (the client reads its CPU clock).
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
  # The pid we started must be the server itself (env, erl and erlexec exec
  # into it), or its CPU would be some wrapper's.
  local exe
  exe=$(readlink "/proc/$SERVER_PID/exe")
  [[ $exe == *_bench_server || $exe == */beam.smp ]] ||
    { echo "bench/run.sh: $system: pid $SERVER_PID is '$exe', not the server" >&2; exit 1; }
  local rest
  rest=$(kib "$SERVER_PID" VmRSS)
  local tag="{\"round\":$round,\"alloc\":\"$alloc\","
  client=("${client[@]//@SERVER@/$SERVER_AT}")
  if ! timeout 900 "${envs[@]}" "${client[@]//@PID@/$SERVER_PID}" 2>>"$log" |
      sed "s/^{/$tag/" >>"$RAW"; then
    echo "bench/run.sh: $system client failed" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  echo "$tag\"kind\":\"rss\",\"system\":\"$system\",\"rest_kib\":$rest,\"peak_kib\":$(kib "$SERVER_PID" VmHWM)}" >>"$RAW"
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

# make_pki DIR: a CA and two certificates signed by it, P-256 keys, for
# "localhost" and 127.0.0.1, usable as server and as client (mutual TLS):
# ca.pem, server.pem/.key, client.pem/.key. Extensions are given explicitly so
# that the system's openssl.cnf does not matter.
make_pki() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = flybench
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  # Chained with && (set -e does not act on the left of ||).
  pki_leaf() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$1.key" &&
      openssl req -new -config "$dir/openssl.cnf" -key "$dir/$1.key" -subj "/CN=$1" \
        -out "$dir/$1.csr" &&
      openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/openssl.cnf" -extensions leaf -out "$dir/$1.pem"
  }
  {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" &&
      openssl req -x509 -new -config "$dir/openssl.cnf" -extensions ca -key "$dir/ca.key" \
        -subj "/CN=flybench CA" -days 2 -out "$dir/ca.pem" &&
      pki_leaf server && pki_leaf client
  } >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; die "making the TLS certificates failed"; }
  # Erlang distribution over TLS: both nodes verify the other's certificate
  # against the CA and the server side requires one (mutual), TLS 1.3 only.
  cat >"$dir/ssl_dist.conf" <<ERL
[{server, [{certfile, "$dir/server.pem"}, {keyfile, "$dir/server.key"},
           {cacertfile, "$dir/ca.pem"}, {verify, verify_peer},
           {fail_if_no_peer_cert, true}, {versions, ['tlsv1.3']}]},
 {client, [{certfile, "$dir/client.pem"}, {keyfile, "$dir/client.key"},
           {cacertfile, "$dir/ca.pem"}, {verify, verify_peer},
           {versions, ['tlsv1.3']}]}].
ERL
}

# ---- systems -------------------------------------------------------------------
# Each takes ROUND ALLOC. Clients get @SERVER@ replaced by what the server's
# READY line said (a port, or an Erlang node name).
sys_floor() {
  run_point floor "$1" "$2" "$BIN/floor_bench_server" --port 0 -- \
    "$BIN/floor_bench_client" --system floor --port @SERVER@ --server-pid @PID@ "${POINT_ARGS[@]}"
}
# sys_grpc ROUND ALLOC [--tls-dir DIR]: both server APIs; the report keeps the
# better per point. grpc-tls runs the callback API only (the one that wins
# most points in plaintext), which keeps the full run within 15 minutes.
sys_grpc() {
  local api apis=(sync callback) name=grpc tls=()
  [[ $# -gt 2 ]] && { name=grpc-tls; tls=("$3" "$4"); apis=(callback); }
  for api in "${apis[@]}"; do
    run_point "$name-$api" "$1" "$2" "$BIN/grpc_bench_server" --api "$api" --port 0 "${tls[@]}" -- \
      "$BIN/grpc_bench_client" --system "$name-$api" --port @SERVER@ --server-pid @PID@ \
      "${tls[@]}" "${POINT_ARGS[@]}"
  done
}
sys_grpc-tls() { sys_grpc "$1" "$2" --tls-dir "$PKI"; }
ERL_COOKIE=flybench_$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
ERL_ARGS=(-setcookie "$ERL_COOKIE" -noinput -kernel inet_dist_use_interface '{127,0,0,1}'
  -pa "$BUILD/erlang")
# sys_erpc ROUND ALLOC [DIST-ARGS...]: DIST-ARGS select TLS distribution.
sys_erpc() {
  local name=erpc dist=()
  [[ $# -gt 2 ]] && { name=erpc-tls; dist=("${@:3}"); }
  run_point "$name" "$1" "$2" erl -sname "flybench_srv_$$@localhost" "${ERL_ARGS[@]}" \
    "${dist[@]}" -s flybench_server start -- \
    erl -sname "flybench_cli_$$@localhost" "${ERL_ARGS[@]}" "${dist[@]}" \
    -s flybench_client main -extra --server @SERVER@ --server-pid @PID@ --system "$name" \
    --cpu-probe "$BIN/flybench_cpu_probe" \
    "${POINT_ARGS[@]}"
}
sys_erpc-tls() { sys_erpc "$1" "$2" -proto_dist inet_tls -ssl_dist_optfile "$PKI/ssl_dist.conf"; }
# flyrpc: the server is a node of region syd (the primary), the client a node
# of region lax calling it with rpc_region. Both share a fresh cookie (the
# binaries refuse to run without FLY_RPC_COOKIE rather than create
# ~/.flyrpc.cookie); FLY_APP_NAME is dropped so that no DNS discovery starts;
# FLY_RPC_TLS_* too, so that only --tls-dir turns TLS on.
FLY_COOKIE=flybench_$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
FLY_ENV=(env -u FLY_APP_NAME -u FLY_RPC_TLS_CERT -u FLY_RPC_TLS_KEY -u FLY_RPC_TLS_CA
  -u FLY_RPC_TLS_MUTUAL FLY_RPC_COOKIE="$FLY_COOKIE")
# sys_flyrpc ROUND ALLOC [--tls-dir DIR]
sys_flyrpc() {
  local name=flyrpc tls=()
  [[ $# -gt 2 ]] && { name=flyrpc-tls; tls=("$3" "$4"); }
  run_point "$name" "$1" "$2" "${FLY_ENV[@]}" FLY_REGION=syd PRIMARY_REGION=syd \
    "$FLYRPC_SERVER" --port 0 --handlers "$FLYRPC_HANDLERS" "${tls[@]}" -- \
    "${FLY_ENV[@]}" FLY_REGION=lax PRIMARY_REGION=syd \
    "$FLYRPC_CLIENT" --system "$name" --port @SERVER@ --server-pid @PID@ "${tls[@]}" \
    "${POINT_ARGS[@]}"
}
sys_flyrpc-tls() { sys_flyrpc "$1" "$2" --tls-dir "$PKI"; }

active=()
for s in ${SYSTEMS//,/ }; do
  if [[ $s == flyrpc* && ! ( -x $FLYRPC_SERVER && -x $FLYRPC_CLIENT ) ]]; then
    NOTES+=("$s skipped: no executable $FLYRPC_SERVER and $FLYRPC_CLIENT (ratios are to the floor).")
    continue
  fi
  active+=("$s")
done
[[ ${#active[@]} -gt 0 ]] || die "no system to run"

# epmd for the BEAM nodes: use a running one, else start ours on loopback
# (in the foreground, as our child, so that we stop exactly the one we started).
if [[ " ${active[*]} " == *" erpc"* ]] && ! epmd -names >/dev/null 2>&1; then
  epmd -address 127.0.0.1 &
  EPMD_PID=$!
  for _ in $(seq 100); do epmd -names >/dev/null 2>&1 && break; sleep 0.1; done
  epmd -names >/dev/null 2>&1 || { echo "bench/run.sh: epmd did not start" >&2; exit 1; }
fi

PKI=$WORK/tls
[[ " ${active[*]} " == *"-tls "* ]] && make_pki "$PKI"

# The machine's load, before and after: the report says how busy it was.
load_json() { awk '{ printf "[%s,%s,%s]", $1, $2, $3 }' /proc/loadavg; }
load_before=$(load_json)
started=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS: ${active[*]}" >&2
  for alloc in default tuned; do
    for s in "${active[@]}"; do
      # TLS rows: glibc defaults only (the allocator question is answered by
      # the plaintext rows; this keeps the full run under 15 minutes).
      [[ $alloc == tuned && $s == *-tls ]] && continue
      "sys_$s" "$r" "$alloc"
    done
  done
done
elapsed=$(($(date +%s) - started))
echo "{\"kind\":\"machine\",\"cpus\":$(nproc),\"load_before\":$load_before,\"load_after\":$(load_json),\"seconds\":$elapsed}" >>"$RAW"

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
  echo "| peers | gRPC $(dpkg-query -W -f='${Version}' libgrpc++-dev), $(openssl version | awk '{ print $1, $2 }'), Erlang/OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().') (erts $(erl -noshell -eval 'io:put_chars(erlang:system_info(version)), halt().')) |"
  [[ " ${active[*]} " == *" flyrpc "* ]] &&
    echo "| flyrpc | server functions run \`--handlers $FLYRPC_HANDLERS\` ($([[ $FLYRPC_HANDLERS == inline ]] && echo 'on the I/O thread, ExposeOptions::non_blocking' || echo 'on the worker pool')); 1 I/O thread, 4 workers (defaults) |"
  echo "| rounds | $ROUNDS, systems alternating in each round: ${active[*]} (first with glibc malloc defaults, then tuned; the TLS systems with the defaults only) |"
  [[ " ${active[*]} " == *"-tls "* ]] &&
    echo "| TLS | mutual, TLS 1.3, P-256 certificates made by run.sh with openssl for localhost/127.0.0.1: flyrpc \`NodeOptions::tls\` with \`require_client_certificate\`; gRPC SSL credentials requiring and verifying the client's; Erlang distribution \`-proto_dist inet_tls\` with an \`-ssl_dist_optfile\` (verify_peer both ways, fail_if_no_peer_cert) |"
  echo "| points | sequential: ${POINT_ARGS[1]} calls after ${POINT_ARGS[3]} warm-up (each at most ${POINT_ARGS[9]} s); throughput: ${POINT_ARGS[5]} s after ${POINT_ARGS[7]} s warm-up, 1/8/64/256 in flight |"
  echo "| allocator | **default**: glibc malloc, GLIBC_TUNABLES unset. **tuned**: \`GLIBC_TUNABLES=$TUNED\` for server and client (glibc stops returning freed memory to the kernel and stops mmap-ing 64 KiB blocks) |"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  [[ ${#NOTES[@]} -gt 0 ]] && echo
  "$BIN/flybench_report" "$RAW"
} >"$OUT"
echo "bench/run.sh: wrote $OUT (${elapsed} s of measurement)" >&2
