#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang and runs each for a while.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      default 20
#
# Installs clang if missing (scripts/install-deps.sh fuzz), configures fuzz/
# into build-fuzz/, builds, then runs fuzz_frames, fuzz_handshake and
# fuzz_arguments in turn. New inputs go to build-fuzz/corpus/<target>/ (the
# committed seeds in fuzz/corpus/<target>/ are read, never written); a crash
# leaves its input in fuzz/artifacts/ and makes the script fail. Reproduce one
# with: build-fuzz/<target> fuzz/artifacts/<file>
#
# FUZZ_SEED=N makes libFuzzer's mutations start from seed N (make fuzz-short,
# and so CI, sets 1: a gate must not turn red by the luck of the draw; a
# longer exploring run leaves it unset and gets a fresh random seed each time).
set -euo pipefail

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a positive integer, got '$seconds'" >&2
  exit 2
fi
seed_flag=()
if [[ -n "${FUZZ_SEED:-}" ]]; then
  if ! [[ "$FUZZ_SEED" =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: FUZZ_SEED must be a positive integer, got '$FUZZ_SEED'" >&2
    exit 2
  fi
  seed_flag=(-seed="$FUZZ_SEED")
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
targets=(fuzz_frames fuzz_handshake fuzz_arguments)

"$root/scripts/install-deps.sh" build fuzz

cmake -S "$root/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

mkdir -p "$root/fuzz/artifacts"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  echo "fuzz.sh: running $t for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build/$t" "$build/corpus/$t" "$root/fuzz/corpus/$t" \
      -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$root/fuzz/artifacts/$t-" -print_final_stats=1 "${seed_flag[@]}" \
      >"$build/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 60 "$build/$t.log" >&2
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/$t.log" | sed "s/^/  $t /" || true
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs in fuzz/artifacts/, logs in build-fuzz/*.log)" >&2
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s without a crash"
