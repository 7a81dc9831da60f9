#!/bin/sh
# The image's entrypoint (deploy/Dockerfile): checks what a Fly machine must
# have, fills in flyrpc's defaults for Fly, then execs the app (its arguments:
# the image's CMD, /usr/local/bin/fly_service by default), so that the app is
# the process Fly's stop signal reaches.
#
# What Fly gives every machine, and flyrpc reads (NodeOptions::from_env):
#   FLY_APP_NAME     -> DNS discovery of <app>.internal (AAAA records)
#   FLY_PRIVATE_IP   -> the listen address on the private network (6PN)
#   FLY_MACHINE_ID   -> the node name
#   FLY_REGION       -> this node's region
#   PRIMARY_REGION   -> from fly.toml (primary_region / [env])
#   FLY_RPC_COOKIE   -> a secret: fly secrets set FLY_RPC_COOKIE=...
set -eu

fail() {
  echo "entrypoint: $*" >&2
  exit 2
}

# Without the secret every machine would invent its own cookie
# (~/.flyrpc.cookie) and no two machines could talk: refuse to start instead.
[ -n "${FLY_RPC_COOKIE:-}" ] || fail "FLY_RPC_COOKIE is not set: fly secrets set FLY_RPC_COOKIE=\$(openssl rand -hex 32)"
[ -n "${FLY_APP_NAME:-}" ] || [ -n "${FLY_RPC_SEEDS:-}" ] || [ -n "${FLY_RPC_DNS_NAME:-}" ] \
  || fail "none of FLY_APP_NAME, FLY_RPC_SEEDS, FLY_RPC_DNS_NAME is set: the node could find no peer"
[ -n "${PRIMARY_REGION:-}" ] || fail "PRIMARY_REGION is not set: set primary_region in fly.toml"

# Fly's defaults for flyrpc (each can be overridden in fly.toml [env]):
# metrics and /health for Fly's scraper and checks on every interface of the
# machine (the port is in no [[services]], so it is not public), the cluster
# port the same on every machine.
export FLY_RPC_METRICS="${FLY_RPC_METRICS:-[::]:9091}"
export FLY_RPC_PORT="${FLY_RPC_PORT:-4370}"

[ "$#" -gt 0 ] || set -- /usr/local/bin/fly_service
exec "$@"
