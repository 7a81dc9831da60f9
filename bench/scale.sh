#!/usr/bin/env bash
# bench/scale.sh: what a cluster of N `flyrpc node` processes on one machine
# costs. Starts N nodes on loopback (8 regions, every node seeded with node 0
# only), then measures
#   convergence  time from the last process start until EVERY node's own
#                membership (its up/down event stream) lists the N-1 others;
#                afterwards each node's table is checked with
#                `flyrpc nodes --seeds <that node>` (its Fly.nodes built-in);
#                and the CPU all nodes used until convergence is summed;
#   connections  established TCP connections between the nodes (ss);
#   idle CPU     CPU per node over an idle window, % of one core (run time of
#                all threads from /proc/<pid>/task/*/schedstat, ns precision;
#                utime+stime ticks are 10 ms, too coarse for one node);
#   RSS          per node (/proc/<pid>/status VmRSS), and its private part
#                (RssAnon: heap, stacks; the rest is the binary's and the
#                libraries' pages, shared by every node of a machine).
# With --churn K, then: kill -9 K random nodes (never node 0, the seed) and
# restart them at once (same name and port: a new incarnation), and measure
# the time until every node's table is right again — each untouched node saw
# each killed node go down and come back, each restarted node lists the N-1
# others — and count flaps: a down event, on an untouched node, for a node
# that was not killed.
# With --lazy, the nodes run with --lazy-connections (docs/SCALING.md): each
# connects to the seed only and learns the others by its gossip, which its
# up/down events do not show, so convergence is the hub's — the seed lists the
# N-1 others and every node has the seed up; the per-node table check then
# asks each node for its table (known nodes included), and --churn does not
# apply (skipped).
# With --erlang, the same for N BEAM nodes (erl -sname on loopback, each
# net_adm:ping-ing one seed; distribution's default full mesh).
#
# Usage: bench/scale.sh [-n N[,N...]] [--idle-s S] [--erlang] [--out FILE]
#                       [--bin build/bin/flyrpc] [--timeout-s S] [--no-verify]
#                       [--no-flyrpc]   (only the Erlang rows)
#                       [--keep-logs DIR] (each node's stdout/stderr, copied there)
#                       [--lazy] [--churn K] [--node-args "ARGS"] (extra flags for every
#                       `flyrpc node`, e.g. "--heartbeat-ms 1000")
# Everything it starts is killed on exit (trap). Loopback only.
set -euo pipefail

SIZES="32"
IDLE_S=10
ERLANG=0
VERIFY=1
FLYRPC=1
KEEP_LOGS=""
TIMEOUT_S=120
CHURN=0
LAZY=0
NODE_ARGS=""
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN="$ROOT/build/bin/flyrpc"
OUT="$HERE/results/scale.md"
REGIONS=(ams cdg dfw fra iad lhr nrt syd)

die() { echo "scale.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) SIZES="${2:?-n needs a number}"; shift 2 ;;
    --idle-s) IDLE_S="${2:?}"; shift 2 ;;
    --timeout-s) TIMEOUT_S="${2:?}"; shift 2 ;;
    --erlang) ERLANG=1; shift ;;
    --no-verify) VERIFY=0; shift ;;
    --no-flyrpc) FLYRPC=0; shift ;;
    --keep-logs) KEEP_LOGS="${2:?}"; shift 2 ;;
    --churn) CHURN="${2:?}"; shift 2 ;;
    --lazy) LAZY=1; shift ;;
    --node-args) NODE_ARGS="${2?}"; shift 2 ;;
    --out) OUT="${2:?}"; shift 2 ;;
    --bin) BIN="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for n in ${SIZES//,/ }; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 2 && "$n" -le 1024 ]] || die "-n: '$n' is not a node count in 2..1024"
done
[[ "$CHURN" =~ ^[0-9]+$ ]] || die "--churn: '$CHURN' is not a node count"
[[ "$IDLE_S" =~ ^[0-9]+$ && "$IDLE_S" -ge 1 ]] || die "--idle-s: '$IDLE_S' is not a number of seconds >= 1"
[[ "$TIMEOUT_S" =~ ^[0-9]+$ && "$TIMEOUT_S" -ge 5 ]] || die "--timeout-s: '$TIMEOUT_S' is not a number of seconds >= 5"
[[ -x "$BIN" ]] || die "no flyrpc binary at $BIN (build the 'flyrpc' target or pass --bin)"
if [[ $ERLANG == 1 ]] && ! command -v erl >/dev/null; then
  die "--erlang: no erl on PATH (scripts/install-deps.sh bench installs erlang-nox)"
fi

WORK="$(mktemp -d /tmp/flyrpc-scale.XXXXXX)"
export ERL_CRASH_DUMP="$WORK/erl_crash.dump"  # not in the caller's directory
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

# Sum of the run time (ns) of every thread of each pid: one line per pid
# (0 for a pid that is gone, so the lines stay one per node).
cpu_ns() {
  local p
  for p in "$@"; do
    { cat /proc/"$p"/task/*/schedstat 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}'
  done
}
rss_kib() {
  local p
  for p in "$@"; do { cat /proc/"$p"/status 2>/dev/null || true; } | awk '/^VmRSS:/ {k = $2} END {print k + 0}'; done
}
anon_kib() {
  local p
  for p in "$@"; do { cat /proc/"$p"/status 2>/dev/null || true; } | awk '/^RssAnon:/ {k = $2} END {print k + 0}'; done
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
# median and max of numbers on stdin, as "median max"
med_max() { sort -g | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[NR]}'; }

# The idle window of NODE_PIDS: a 2 s settle, then each node's CPU over
# IDLE_S seconds (% of one core) and its memory now (KiB). Prints one line:
# "cpu_med cpu_max cpu_sum rss_med rss_max anon_med anon_max".
idle_window() {
  local before after t0 t1 i cpu_lines=""
  sleep 2
  mapfile -t before < <(cpu_ns "${NODE_PIDS[@]}")
  t0=$(date +%s%N)
  sleep "$IDLE_S"
  mapfile -t after < <(cpu_ns "${NODE_PIDS[@]}")
  t1=$(date +%s%N)
  for ((i = 0; i < ${#NODE_PIDS[@]}; i++)); do
    cpu_lines+=$(awk -v a="${after[$i]}" -v b="${before[$i]}" -v w=$((t1 - t0)) \
      'BEGIN {printf "%.4f", 100 * (a - b) / w}')$'\n'
  done
  local cpu_med cpu_max cpu_sum rss_med rss_max anon_med anon_max
  read -r cpu_med cpu_max < <(printf '%s' "$cpu_lines" | med_max)
  cpu_sum=$(printf '%s' "$cpu_lines" | awk '{s += $1} END {printf "%.1f", s}')
  read -r rss_med rss_max < <(rss_kib "${NODE_PIDS[@]}" | med_max)
  read -r anon_med anon_max < <(anon_kib "${NODE_PIDS[@]}" | med_max)
  echo "$cpu_med $cpu_max $cpu_sum $rss_med $rss_max $anon_med $anon_max"
}

# Start node i (listening on port $3, default any); its pid is NODE_PIDS[i].
start_node() {
  local i=$1 seed=$2 port=${3:-0} log="$WORK/n$1.log"
  local args=(node --name "s$i" --region "${REGIONS[$((i % 8))]}" --primary ams --listen "127.0.0.1:$port")
  [[ -n "$seed" ]] && args+=(--seeds "$seed")
  # shellcheck disable=SC2206
  [[ -n "$NODE_ARGS" ]] && args+=($NODE_ARGS)
  [[ $LAZY == 1 ]] && args+=(--lazy-connections)
  FLY_RPC_COOKIE=scale-bench "$BIN" "${args[@]}" >"$log" 2>"$WORK/n$i.err" &
  PIDS+=($!)
  NODE_PIDS[i]=$!
}
port_of() {  # waits for node i's "listening" line
  local i=$1 deadline=$(($(now_ms) + 20000)) line
  while :; do
    line=$(grep -m1 '^listening ' "$WORK/n$i.log" 2>/dev/null || true)
    if [[ -n "$line" ]]; then
      line=${line#listening }
      line=${line%% *}
      echo "${line##*:}"
      return
    fi
    [[ $(now_ms) -lt $deadline ]] || die "node s$i did not listen within 20 s: $(cat "$WORK/n$i.err")"
    sleep 0.05
  done
}
# How many nodes' own views list all n-1 others (up minus down per name).
converged_count() {
  local n=$1
  awk -v want=$((n - 1)) '
    FNR == 1 { if (NR > 1) finish(); delete up }
    $1 == "up" { up[$2] = 1 }
    $1 == "down" { delete up[$2] }
    function finish(  k, c) { c = 0; for (k in up) c++; if (c >= want) ok++ }
    END { finish(); print ok + 0 }' "$WORK"/n*.log
}

# Lazy connections: 1 when the seed (node 0) lists the n-1 others and every
# other node has the seed up, else 0 (printed as n or 0, like converged_count).
hub_converged() {
  local n=$1 seed_ups others
  seed_ups=$(awk '$1 == "up" { up[$2] = 1 } $1 == "down" { delete up[$2] } END { c = 0; for (k in up) c++; print c }' "$WORK/n0.log")
  others=$(grep -l '^up s0 ' "$WORK"/n*.log 2>/dev/null | wc -l)
  if [[ $seed_ups -ge $((n - 1)) && $others -ge $((n - 1)) ]]; then echo "$n"; else echo 0; fi
}

# Churn: kill -9 CHURN random nodes (not node 0) and restart them at once
# with the same name and port. Sets CHURN_RESULT.
CHURN_RESULT=""
run_churn() {
  local n=$1 i k
  local -a killed=() marks=()
  mapfile -t killed < <(seq 1 $((n - 1)) | shuf -n "$CHURN" | sort -n)
  local is_killed=" ${killed[*]} "
  # Where each untouched node's log stands before the kill: only what comes
  # after counts.
  for ((i = 0; i < n; i++)); do marks[i]=$(wc -l <"$WORK/n$i.log"); done
  echo "   churn: kill -9 and restart $(printf "s%s " "${killed[@]}")" >&2
  local t_kill
  t_kill=$(now_ms)
  for k in "${killed[@]}"; do kill -KILL "${NODE_PIDS[$k]}" 2>/dev/null || true; done
  for k in "${killed[@]}"; do wait "${NODE_PIDS[$k]}" 2>/dev/null || true; done
  for k in "${killed[@]}"; do
    mv "$WORK/n$k.log" "$WORK/churned-s$k.log"
    start_node "$k" "127.0.0.1:${ports[0]}" "${ports[$k]}"
  done
  local t_restarted
  t_restarted=$(now_ms)
  # A node is right when its table (up minus down) lists the n-1 others and,
  # if untouched, it saw every killed node go down and then come up again.
  churn_state() {
    local i files=() mk=()
    for ((i = 0; i < n; i++)); do
      files+=("$WORK/n$i.log")
      if [[ $is_killed == *" $i "* ]]; then mk+=(0); else mk+=("${marks[$i]}"); fi
    done
    awk -v want=$((n - 1)) -v killed="${killed[*]}" -v marks="${mk[*]}" '
      BEGIN { split(killed, kl, " "); for (j in kl) kill["s" kl[j]] = 1; split(marks, mark, " ") }
      FNR == 1 { if (NR > 1) finish(); delete up; delete downs; delete last; f++ }
      { after = FNR > mark[f] }
      $1 == "up" { up[$2] = 1; if (after) last[$2] = "up" }
      $1 == "down" { delete up[$2]; if (after) { downs[$2] = 1; last[$2] = "down"; if (mark[f] > 0 && !($2 in kill)) flaps++ } }
      function finish(  k, c, good) {
        c = 0; for (k in up) c++
        good = c >= want
        if (mark[f] > 0) for (k in kill) if (!(k in downs) || last[k] != "up") good = 0
        if (good) ok++
      }
      END { finish(); print ok + 0, flaps + 0 }' "${files[@]}"
  }
  local deadline=$((t_kill + TIMEOUT_S * 1000)) ok=0 flaps=0 t_right=""
  while :; do
    read -r ok flaps < <(churn_state)
    if [[ $ok -ge $n ]]; then t_right=$(($(now_ms) - t_kill)); break; fi
    [[ $(now_ms) -ge $deadline ]] && break
    sleep 0.05
  done
  # Flaps may come late (a heartbeat timeout): look again after a while.
  sleep 3
  read -r ok flaps < <(churn_state)
  local right
  if [[ -n "$t_right" ]]; then right=$(awk -v m="$t_right" 'BEGIN {printf "%.2f s", m / 1000}')
  else right="not within ${TIMEOUT_S} s ($ok/$n nodes right)"; fi
  echo "   churn: every table right after $right (restarts took $((t_restarted - t_kill)) ms), flaps on untouched nodes: $flaps" >&2
  CHURN_RESULT="| flyrpc | $n | $CHURN | $right | $((t_restarted - t_kill)) ms | $flaps |"
}

RESULT_ROWS=()
CHURN_ROWS=()
run_flyrpc() {
  local n=$1 i
  NODE_PIDS=()
  rm -f "$WORK"/n*.log "$WORK"/n*.err "$WORK"/churned-*.log
  echo "== flyrpc, $n nodes" >&2
  start_node 0 ""
  local seed_port
  seed_port=$(port_of 0)
  for ((i = 1; i < n; i++)); do start_node "$i" "127.0.0.1:$seed_port"; done
  local t_last
  t_last=$(now_ms)
  ports=("$seed_port")
  for ((i = 1; i < n; i++)); do ports+=("$(port_of "$i")"); done
  local deadline=$((t_last + TIMEOUT_S * 1000)) ok=0 t_conv=""
  while :; do
    if [[ $LAZY == 1 ]]; then ok=$(hub_converged "$n"); else ok=$(converged_count "$n"); fi
    if [[ $ok -ge $n ]]; then t_conv=$(($(now_ms) - t_last)); break; fi
    if [[ $(now_ms) -ge $deadline ]]; then break; fi
    sleep 0.05
  done
  # What the whole start cost: every node's CPU time from its start until now.
  local conv_cpu
  conv_cpu=$(cpu_ns "${NODE_PIDS[@]}" | awk '{s += $1} END {printf "%.1f", s / 1e9}')
  local conv
  if [[ -n "$t_conv" ]]; then conv=$(awk -v m="$t_conv" 'BEGIN {printf "%.2f s", m / 1000}')
  else conv="not within ${TIMEOUT_S} s ($ok/$n nodes complete)"; fi
  echo "   convergence: $conv (CPU of all nodes until then: ${conv_cpu} s)" >&2

  # Idle: let the joins' echoes settle, then a window with nothing to do.
  local cpu_med cpu_max cpu_sum rss_med rss_max anon_med anon_max
  read -r cpu_med cpu_max cpu_sum rss_med rss_max anon_med anon_max < <(idle_window)
  # Connections: count each once, at its accepting end (local port = a node's).
  local conns
  conns=$(ss -tnH state established 2>/dev/null | awk -v ports="${ports[*]}" '
    BEGIN { split(ports, p, " "); for (k in p) want[p[k]] = 1 }
    { n = split($3, a, ":"); if (a[n] in want) c++ } END { print c + 0 }')
  echo "   connections $conns (full mesh $((n * (n - 1) / 2))), idle CPU median ${cpu_med}% max ${cpu_max}% (sum ${cpu_sum}%), RSS median ${rss_med} KiB max ${rss_max} KiB (private median ${anon_med} KiB)" >&2

  local verified="skipped"
  if [[ $VERIFY == 1 ]]; then
    # Each node's own table, through its Fly.nodes built-in (one hidden
    # client at a time, so the check itself does not load the cluster).
    local good=0 rows
    for ((i = 0; i < n; i++)); do
      rows=$(FLY_RPC_COOKIE=scale-bench timeout 30 "$BIN" nodes --seeds "127.0.0.1:${ports[$i]}" \
        --json --timeout 10000 2>/dev/null | grep -o '"name"' | wc -l || true)
      [[ "$rows" -eq "$n" ]] && good=$((good + 1))
    done
    verified="$good/$n"
    echo "   flyrpc nodes: $verified nodes list all $n" >&2
  fi
  if [[ $CHURN -gt 0 && $LAZY == 0 ]]; then
    run_churn "$n"
    CHURN_ROWS+=("$CHURN_RESULT")
  fi
  RESULT_ROWS+=("| flyrpc$([[ $LAZY == 1 ]] && echo ' (lazy)') | $n | $conv | ${conv_cpu} s | $verified | $conns / $((n * (n - 1) / 2)) | $(printf '%.3f' "$cpu_med") % | $(printf '%.3f' "$cpu_max") % | ${cpu_sum} % | $(mib "$rss_med") MiB | $(mib "$rss_max") MiB | $(mib "$anon_med") MiB |")
  for p in "${NODE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  if [[ -n "$KEEP_LOGS" ]]; then
    mkdir -p "$KEEP_LOGS/flyrpc-$n" && cp "$WORK"/n*.log "$WORK"/n*.err "$KEEP_LOGS/flyrpc-$n/" && cp "$WORK"/churned-*.log "$KEEP_LOGS/flyrpc-$n/" 2>/dev/null || true
  fi
}

run_erlang() {
  local n=$1 i
  NODE_PIDS=()
  echo "== Erlang distribution, $n nodes" >&2
  # Each node pings the seed (again while it says pang: a loaded seed misses
  # some of a burst of connects), then reports the time its nodes() first held
  # n-1 others and stops polling (so the idle window measures the runtime).
  local eval_seed="io:format(\"listening~n\"), receive never -> ok end."
  local eval_node
  eval_node="P = fun Ping(0) -> halt(3); Ping(K) -> case net_adm:ping('e0@localhost') of pong -> ok; pang -> timer:sleep(100), Ping(K - 1) end end, P(100), W = fun L() -> case length(nodes()) >= $((n - 1)) of true -> io:format(\"converged ~p~n\", [os:system_time(millisecond)]); false -> timer:sleep(20), L() end end, W(), receive never -> ok end."
  local eopts=(-setcookie scale-bench -noshell -kernel inet_dist_use_interface '{127,0,0,1}')
  ERL_EPMD_ADDRESS=127.0.0.1 erl -sname e0@localhost "${eopts[@]}" -eval "$eval_seed" >"$WORK/e0.log" 2>&1 &
  PIDS+=($!) NODE_PIDS+=($!)
  local deadline=$(($(now_ms) + 20000))
  until grep -q listening "$WORK/e0.log" 2>/dev/null; do
    [[ $(now_ms) -lt $deadline ]] || die "erl seed did not start: $(cat "$WORK/e0.log")"
    sleep 0.05
  done
  for ((i = 1; i < n; i++)); do
    ERL_EPMD_ADDRESS=127.0.0.1 erl -sname "e$i@localhost" "${eopts[@]}" -eval "$eval_node" >"$WORK/e$i.log" 2>&1 &
    PIDS+=($!) NODE_PIDS+=($!)
  done
  local t_last
  t_last=$(now_ms)
  deadline=$((t_last + TIMEOUT_S * 1000))
  local done_count=0
  while :; do
    done_count=$(cat "$WORK"/e*.log 2>/dev/null | grep -c '^converged' || true)
    [[ $done_count -ge $((n - 1)) || $(now_ms) -ge $deadline ]] && break
    sleep 0.1
  done
  local conv
  if [[ $done_count -ge $((n - 1)) ]]; then
    # The last node to see everyone; the seed's view is complete by then.
    local last
    last=$(cat "$WORK"/e*.log | awk '$1 == "converged" && $2 > m {m = $2} END {print m}')
    conv=$(awk -v m="$((last - t_last))" 'BEGIN {printf "%.2f s", (m < 0 ? 0 : m) / 1000}')
  else
    conv="not within ${TIMEOUT_S} s ($done_count/$((n - 1)) nodes complete)"
  fi
  echo "   convergence: $conv" >&2
  local cpu_med cpu_max cpu_sum rss_med rss_max anon_med anon_max
  read -r cpu_med cpu_max cpu_sum rss_med rss_max anon_med anon_max < <(idle_window)
  # Distribution connections of these BEAM processes (those to epmd excluded;
  # epmd itself, started by the first erl if not running, is left running).
  local conns
  conns=$(ss -tnpH state established 2>/dev/null | awk -v pids=" ${NODE_PIDS[*]} " '
    $3 ~ /:4369$/ || $4 ~ /:4369$/ { next }
    { if (match($0, /pid=[0-9]+/)) { p = substr($0, RSTART + 4, RLENGTH - 4); if (index(pids, " " p " ")) c++ } }
    END { print int(c / 2) }')
  echo "   connections $conns, idle CPU median ${cpu_med}% max ${cpu_max}% (sum ${cpu_sum}%), RSS median ${rss_med} KiB max ${rss_max} KiB (private median ${anon_med} KiB)" >&2
  RESULT_ROWS+=("| Erlang dist | $n | $conv | — | nodes() | $conns / $((n * (n - 1) / 2)) | $(printf '%.3f' "$cpu_med") % | $(printf '%.3f' "$cpu_max") % | ${cpu_sum} % | $(mib "$rss_med") MiB | $(mib "$rss_max") MiB | $(mib "$anon_med") MiB |")
  for p in "${NODE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for n in ${SIZES//,/ }; do
  [[ $FLYRPC == 1 ]] && run_flyrpc "$n"
  [[ $ERLANG == 1 ]] && run_erlang "$n"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
# Asked before the report is (re)written: the file itself would make the tree dirty.
REVISION=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')

{
  echo "# Scale: N nodes on one machine"
  echo
  echo "Written by \`bench/scale.sh -n $SIZES$([[ $ERLANG == 1 ]] && echo ' --erlang')$([[ $LAZY == 1 ]] && echo ' --lazy')$([[ $CHURN -gt 0 ]] && echo " --churn $CHURN")$([[ -n $NODE_ARGS ]] && echo " --node-args '$NODE_ARGS'")\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores,"
  echo "$(uname -r), flyrpc $REVISION."
  echo "Load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER."
  echo
  echo "Loopback, 8 regions, every node seeded with node 0 only. Convergence: from the"
  echo "last process start until every node's own membership lists all others; \"CPU to"
  echo "converge\": the CPU time all nodes used from their start until then."
  echo "Verified: nodes whose table, asked with \`flyrpc nodes --seeds <node>\`, lists all N."
  if [[ $LAZY == 1 ]]; then
    echo "Lazy connections (--lazy): each node connects to the seed only; convergence is the"
    echo "seed listing all others and every node having the seed up (each node learns the"
    echo "others from the seed's gossip); a node's table lists the nodes it knows by gossip"
    echo "too. No churn run."
  fi
  echo "Idle CPU over ${IDLE_S} s with nothing to do, % of one core (thread run time from"
  echo "schedstat); \"sum\" is the whole cluster. Heartbeat: ${NODE_ARGS:-the defaults (2 s, timeout 4.5 s)}."
  echo "RSS: resident set; \"private\": its RssAnon part (heap, stacks), the rest being the"
  echo "binary's and libraries' pages, shared by the nodes of one machine."
  echo
  echo "| system | N | convergence | CPU to converge | verified | connections / n(n-1)/2 | idle CPU median | idle CPU max | idle CPU sum | RSS median | RSS max | private median |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${RESULT_ROWS[@]}"
  if [[ ${#CHURN_ROWS[@]} -gt 0 ]]; then
    echo
    echo "Churn: with all N up, kill -9 K random nodes (not the seed) and restart them at"
    echo "once (same name and port). \"Right after\": from the kill until every node's table"
    echo "lists all N again, each untouched node having seen each killed node go down and"
    echo "come back. Flaps: down events on untouched nodes for nodes not killed."
    echo
    echo "| system | N | killed | right after | kill + restart took | flaps |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${CHURN_ROWS[@]}"
  fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
