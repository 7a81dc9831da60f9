#!/usr/bin/env bash
# Installs the Debian packages flyrpc needs, and only those that are missing.
#
#   scripts/install-deps.sh [GROUP...]     groups: build (default), test, fuzz, bench
#
# Every dependency is a Debian 12 package; docs/ARCHITECTURE.md gives the reason
# for each. The script is idempotent: when everything is present it touches
# nothing and needs no network. It needs root (or sudo) only to install.
set -euo pipefail

build_pkgs=(
  g++ cmake make pkg-config
  libasio-dev          # standalone Asio: sockets, timers, completion tokens
  libmsgpack-cxx-dev   # msgpack-cxx: argument and result encoding
  libssl-dev           # OpenSSL: HMAC-SHA256 cookie auth, random nonces, TLS
  libc-ares-dev        # c-ares: non-blocking DNS discovery
  libspdlog-dev        # spdlog (+fmt): logging
  libfmt-dev
  libcli11-dev         # CLI11: the flyrpc command line
  nlohmann-json3-dev   # JSON for CLI input/output
  libgtest-dev libgmock-dev
  libbenchmark-dev     # Google Benchmark: micro-benchmarks
  libpq-dev            # libpq: the postgres component (flyrpc::postgres)
)
test_pkgs=(
  dnsmasq-base         # a real DNS server for discovery tests (binary only, no service)
  iproute2             # network namespaces for partition tests
  procps               # pgrep/ps used by process tests
  prometheus           # a real Prometheus (+ promtool) scrapes /metrics in the telemetry tests
  nftables             # nft: packet loss and partitions in the reliability (fault) tests
  openssl              # the openssl command: the TLS tests make their CA and certificates (tests/tls)
  clang-format         # make format-check (CI): the tree stays clang-formatted
  postgresql-15        # a real primary + hot standbys for the postgres tests (scripts/pg-cluster.sh)
  libcpp-httplib-dev   # cpp-httplib: the HTTP server of examples/todo_regions, driven by its test
)
fuzz_pkgs=(clang libclang-rt-14-dev)
# The peers of the cross-system benchmark (bench/run.sh, bench/harness): only
# `make bench` needs them, never the build or the tests.
bench_pkgs=(
  erlang-nox              # Erlang/OTP: the :erpc server and client nodes, epmd, erlc; erlang-ssl (TLS distribution)
  libgrpc++-dev           # gRPC C++: the unary sync/callback server and client
  protobuf-compiler-grpc  # grpc_cpp_plugin: generates the service from bench.proto
  libprotobuf-dev protobuf-compiler  # protoc and the protobuf runtime
  openssl                 # the openssl command: run.sh makes the TLS systems' CA and certificates
)

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(build)

wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${build_pkgs[@]}") ;;
    test)  wanted+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    fuzz)  wanted+=("${fuzz_pkgs[@]}") ;;
    bench) wanted+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "install-deps: unknown group '$g' (expected build, test, fuzz or bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# De-duplicate while keeping order.
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: missing packages (${missing[*]}) and not root; install them or run as root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
