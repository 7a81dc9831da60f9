#!/usr/bin/env bash
# The deploy kit on a Fly-like private network, as close to Fly.io as this
# machine gets (it reaches no Fly):
#
#   - one network namespace per machine, on one bridge, each with only an IPv6
#     address in the fdaa::/16 ULA prefix of Fly's private network (6PN);
#   - Fly's internal DNS at fdaa::3 (the machines' /etc/resolv.conf, through
#     /etc/netns/<ns>/resolv.conf): a dnsmasq answering <app>.internal and
#     <region>.<app>.internal with the machines' AAAA records;
#   - each machine gets only what a Fly machine has — FLY_APP_NAME, FLY_REGION,
#     FLY_PRIVATE_IP, FLY_MACHINE_ID, PRIMARY_REGION and the cookie secret —
#     and runs deploy/entrypoint.sh as the image does, with the app as its CMD.
#
# Then: every machine's /health turns 200 with both peers; calls made with
# `flyrpc call` from inside a machine (as from `fly ssh console`) reach the
# primary and the other regions; writes are forwarded to the primary; /metrics
# has the renamed labels (and passes promtool when it is installed); the
# cluster port is bound to the private address only; a machine stopped with
# SIGTERM (a rolling deploy) exits 0 and rejoins when restarted;
# the entrypoint refuses to start without the cookie.
#
#   fly_like_test.sh ENTRYPOINT APP FLYRPC_CLI
# Exit 0: passed; 77: skipped (the reason on stdout); else failed.
set -euo pipefail

ENTRYPOINT=$1 APP=$2 CLI=$3
skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[[ -x $DNSMASQ ]] || skip "dnsmasq is not installed (scripts/install-deps.sh test)"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"

P="flyfly-$$-"                     # every namespace of this run
WORK=$(mktemp -d /tmp/flyfly.XXXXXX)
APP_NAME=flyrpc-demo
COOKIE=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
declare -A ADDR=([syd]=fdaa:0:1:a7b:8c1:1e4:5f2a:2 [lax]=fdaa:0:1:a7b:9d3:2b7:61c0:2
                 [ams]=fdaa:0:1:a7b:ae5:3c8:72d1:2)
declare -A MACHINE_ID=([syd]=3d8d9e7b16e189 [lax]=5683d927b09e48 [ams]=e784e90ea45d38)
declare -A PID=()
MACHINES=(syd lax ams)

cleanup() {
  set +e
  for m in "${!PID[@]}"; do kill -KILL "${PID[$m]}" 2>/dev/null; done
  [[ -n ${DNS_PID:-} ]] && kill -KILL "$DNS_PID" 2>/dev/null
  wait 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P"); do ip netns delete "$ns"; done
  rm -rf /etc/netns/"$P"* "$WORK"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() {
  echo "FAILED: $*"
  for m in "${MACHINES[@]}"; do echo "--- $m's log:"; tail -n 30 "$WORK/$m.log" 2>/dev/null; done
  exit 1
}
# Polls `cmd` (every 100 ms) until it succeeds or `seconds` pass.
eventually() {
  local seconds=$1; shift
  local deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s%N) < deadline )) || return 1
    sleep 0.1
  done
}

# ---- the private network ---------------------------------------------------
step "a Fly-like 6PN: namespaces on a bridge, fdaa::/16, DNS at fdaa::3"
# Namespaces left by a run that was killed (its pid is gone).
for ns in $(ip netns list | awk '{print $1}' | grep '^flyfly-' || true); do
  pid=${ns#flyfly-}; pid=${pid%%-*}
  kill -0 "$pid" 2>/dev/null || ip netns delete "$ns" 2>/dev/null || true
done
ip netns add "${P}net"
ip -n "${P}net" link set lo up
ip -n "${P}net" link add br0 type bridge
ip -n "${P}net" link set br0 up
ip -n "${P}net" addr add fdaa::3/16 dev br0 nodad
i=0
for m in "${MACHINES[@]}"; do
  i=$((i + 1))
  ip netns add "$P$m"
  ip -n "${P}net" link add "veth$i" type veth peer name eth0 netns "$P$m"
  ip -n "${P}net" link set "veth$i" master br0 up
  ip -n "$P$m" link set lo up
  ip -n "$P$m" link set eth0 up
  ip -n "$P$m" addr add "${ADDR[$m]}/16" dev eth0 nodad
  mkdir -p "/etc/netns/$P$m"
  echo "nameserver fdaa::3" > "/etc/netns/$P$m/resolv.conf"
done
HOSTS=$WORK/hosts
for m in "${MACHINES[@]}"; do
  echo "${ADDR[$m]} $APP_NAME.internal $m.$APP_NAME.internal" >> "$HOSTS"
done
ip netns exec "${P}net" "$DNSMASQ" --no-daemon --conf-file=/dev/null --pid-file= --port=53 \
  --listen-address=fdaa::3 --bind-interfaces --no-resolv --no-hosts --addn-hosts="$HOSTS" \
  --local=/internal/ --user=root 2>"$WORK/dnsmasq.log" &
DNS_PID=$!
dns_answers() { ip netns exec "$P$1" getent ahostsv6 "$APP_NAME.internal" | grep -q "${ADDR[$1]}"; }
eventually 10 dns_answers syd || { cat "$WORK/dnsmasq.log"; fail "dnsmasq never answered $APP_NAME.internal"; }
ip netns exec "${P}lax" getent ahostsv6 "syd.$APP_NAME.internal" | grep -q "${ADDR[syd]}" \
  || fail "syd.$APP_NAME.internal does not resolve to the syd machine"

# ---- the machines -----------------------------------------------------------
# What a Fly machine's environment holds for the app, and nothing of this
# host's (env -i); sanitizer settings pass through for the sanitized builds.
machine_env() {
  local m=$1
  echo PATH=/usr/local/bin:/usr/bin:/bin HOME="$WORK/home-$m" \
    FLY_APP_NAME=$APP_NAME FLY_REGION="$m" FLY_PRIVATE_IP="${ADDR[$m]}" \
    FLY_MACHINE_ID="${MACHINE_ID[$m]}" PRIMARY_REGION=syd FLY_RPC_COOKIE="$COOKIE"
  for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do [[ -n ${!v:-} ]] && echo "$v=${!v}"; done
  true
}
start_machine() {
  local m=$1
  mkdir -p "$WORK/home-$m"
  # shellcheck disable=SC2046
  ip netns exec "$P$m" env -i $(machine_env "$m") "$ENTRYPOINT" "$APP" >>"$WORK/$m.log" 2>&1 &
  PID[$m]=$!
}
# GET a path of a machine's metrics endpoint from inside it (bash's /dev/tcp:
# the machines have nothing but the app). Prints the whole response.
http_get() {
  ip netns exec "$P$1" bash -c 'exec 3<>/dev/tcp/$0/9091 && \
    printf "GET %s HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n" "$1" >&3 && cat <&3' \
    "${ADDR[$1]}" "$2"
}
healthy_with() { http_get "$1" /health | grep -q "^HTTP/1.1 200" && http_get "$1" /health | grep -q "\"peers\":$2"; }
# A bare `flyrpc call` from inside machine $1, with nothing but the machine's
# environment, as from `fly ssh console`: the CLI finds the cluster itself,
# through the AAAA records of <FLY_APP_NAME>.internal.
call_from() {
  local m=$1; shift
  # shellcheck disable=SC2046
  ip netns exec "$P$m" env -i $(machine_env "$m") "$CLI" call "$@"
}

step "the entrypoint refuses to start without the cookie secret"
set +e
out=$(ip netns exec "${P}syd" env -i PATH=/usr/bin:/bin FLY_APP_NAME=$APP_NAME PRIMARY_REGION=syd \
  "$ENTRYPOINT" "$APP" 2>&1)
rc=$?
set -e
[[ $rc -eq 2 && $out == *"FLY_RPC_COOKIE is not set"* ]] || fail "no cookie: exit $rc, '$out'"

step "three machines (syd is the primary, lax, ams) run the entrypoint"
for m in "${MACHINES[@]}"; do start_machine "$m"; done
for m in "${MACHINES[@]}"; do
  eventually 30 healthy_with "$m" 2 || fail "$m: /health never 200 with 2 peers: $(http_get "$m" /health)"
  echo "$m /health: $(http_get "$m" /health | tail -n 1)"
done

step "the cluster port is bound to the private address only"
ip netns exec "${P}lax" ss -Hltn "sport = :4370" | grep -q "\[${ADDR[lax]}\]:4370" \
  || fail "4370 not on [${ADDR[lax]}]: $(ip netns exec "${P}lax" ss -Hltn)"
! ip netns exec "${P}lax" ss -Hltn "sport = :4370" | grep -Eq '\*:4370|\[::\]:4370|0\.0\.0\.0:4370' \
  || fail "the cluster port listens on a wildcard address"

step "calls from inside the lax machine"
r=$(call_from lax --primary Fly.region) || fail "call into the primary failed: $r"
echo "lax -> primary: Fly.region = $r"
[[ $r == '"syd"' ]] || fail "the primary answered $r"
r=$(call_from lax --region ams Fly.region) || fail "call into ams failed: $r"
[[ $r == '"ams"' ]] || fail "ams answered $r"
r=$(call_from lax --region lax Fly.whoami) || fail "Fly.whoami failed: $r"
[[ $r == *'"node":"'"${MACHINE_ID[lax]}"'"'* ]] || fail "lax's node is not named by FLY_MACHINE_ID: $r"
r=$(call_from lax --region lax Notes.add '"from lax"') || fail "Notes.add from lax failed: $r"
[[ $r == 1 ]] || fail "Notes.add from lax: $r"
r=$(call_from ams --region ams Notes.add '"from ams"') || fail "Notes.add from ams failed: $r"
[[ $r == 2 ]] || fail "Notes.add from ams (forwarded to the primary): $r"
r=$(call_from syd --primary Notes.count) || fail "Notes.count failed: $r"
[[ $r == 2 ]] || fail "the primary holds $r notes, not 2"
echo "writes from lax and ams forwarded to the primary: Notes.count = $r"

step "/metrics: renamed labels, none Fly overwrites"
metrics=$(http_get lax /metrics | sed '1,/^\r$/d')
grep -q '^flyrpc_nodes{peer_region="ams"} 1' <<<"$metrics" || fail "no peer_region series: $metrics"
grep -q '^flyrpc_calls_total{function="Notes.add",target_region="syd",outcome="ok"} 1' <<<"$metrics" \
  || fail "lax's forwarded write is not counted with target_region=syd"
if grep -Eq '[{,](app|region|host|instance)="' <<<"$metrics"; then fail "a series uses a label Fly overwrites"; fi
if command -v promtool >/dev/null; then
  promtool check metrics <<<"$metrics" || fail "promtool check metrics failed"
  echo "promtool check metrics: ok"
fi

step "a rolling deploy: lax gets SIGTERM, exits 0, comes back"
kill -TERM "${PID[lax]}"
set +e
wait "${PID[lax]}"
rc=$?
set -e
unset 'PID[lax]'
[[ $rc -eq 0 ]] || fail "lax exited $rc on SIGTERM"
grep -q "signal 15, stopping" "$WORK/lax.log" || fail "lax did not stop on the signal"
gone() { ! call_from syd --timeout 1500 --region lax Fly.region; }
eventually 15 gone || fail "syd still reaches lax after it stopped"
start_machine lax
eventually 30 healthy_with lax 2 || fail "lax never healthy again: $(http_get lax /health)"
r=$(call_from syd --region lax Fly.region) || fail "call into the restarted lax failed: $r"
[[ $r == '"lax"' ]] || fail "the restarted lax answered $r"
echo "lax rejoined: syd -> lax Fly.region = $r"

echo "PASSED: Fly-like deploy (3 machines, fdaa: 6PN, DNS at fdaa::3)"
