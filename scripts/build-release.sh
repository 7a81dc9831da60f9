#!/usr/bin/env bash
# Builds what deploy/Dockerfile ships, the way it ships it: the library (with
# the postgres component when libpq-dev is there) and the CLI in Release,
# installed into PREFIX; then examples/fly_service built against
# that install through find_package (as any application using flyrpc is) and
# installed into APP_PREFIX. The Dockerfile runs this script, and CI runs it
# (`make release-check`) so that a Release build — the one a deploy makes, with
# -O3's own warnings under -Werror — is checked on every change, not first on
# `fly deploy`.
#
#   scripts/build-release.sh [--build-dir DIR] PREFIX APP_PREFIX
#
# --build-dir: where the two CMake build trees go (default: build-release,
#              beside this script's repository). Needs the build group of
#              scripts/install-deps.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-release
die() { echo "build-release: $*" >&2; exit 2; }
if [[ ${1:-} == --build-dir ]]; then
  [[ -n ${2:-} ]] || die "--build-dir needs a directory"
  BUILD=$(realpath -m "$2")
  shift 2
fi
[[ $# -eq 2 ]] || die "usage: scripts/build-release.sh [--build-dir DIR] PREFIX APP_PREFIX"
PREFIX=$(realpath -m "$1")
APP_PREFIX=$(realpath -m "$2")
JOBS=$(nproc)

cmake -S "$ROOT" -B "$BUILD/lib" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DFLYRPC_BUILD_TESTS=OFF -DFLYRPC_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD/lib" -j "$JOBS" --target flyrpc_installables
cmake --install "$BUILD/lib" --strip >/dev/null
cmake -S "$ROOT/examples" -B "$BUILD/app" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DCMAKE_INSTALL_PREFIX="$APP_PREFIX" >/dev/null
cmake --build "$BUILD/app" -j "$JOBS" --target fly_service
cmake --install "$BUILD/app" --strip >/dev/null
echo "build-release: $PREFIX/bin/flyrpc and $APP_PREFIX/bin/fly_service"
