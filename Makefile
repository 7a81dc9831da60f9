# The two commands of the README, and the rest of the developer loop.
#   make demo        install what is missing, build the library and the CLI
#                    only (no tests, benchmarks or examples), run the demo
#   make test        install what is missing, build everything, run every test (ctest)
#   make package     the Debian package of the library and the CLI (CPack)
#   make test-asan   the test suite under AddressSanitizer + UBSan
#   make test-tsan   the test suite under ThreadSanitizer
#   make fuzz-short  every libFuzzer target for 15 s from a fixed seed (scripts/fuzz.sh N
#                    for a longer run from a random one)
#   make release-check  the Release build deploy/Dockerfile makes (scripts/build-release.sh)
#   make ci          what CI runs: test, test-asan, test-tsan, fuzz-short
#   make bench       micro-benchmarks, then bench/run.sh (flyrpc vs floor, gRPC, :erpc)
#   make bench-quick bench/run.sh --quick: one short round of the cross-system run
#   make format      clang-format the tree
#   make format-check  fail if any source file is not clang-formatted (CI)
JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps test-deps build build-all package demo test test-asan test-tsan fuzz-short release-check ci bench bench-quick format format-check clean

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

# What the demo and the package need, and nothing else: the library and the
# CLI (a fresh clone reaches the demo in about half the time of a full build).
build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target flyrpc flyrpc_cli

build-all: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# build/flyrpc_<version>_<arch>.deb; cpack runs the install rules only, so it
# needs what they install built (flyrpc_installables: `build` and the postgres
# component), not the tests.
package: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target flyrpc_installables
	cd $(BUILD) && cpack -G DEB

demo: build
	$(BUILD)/bin/flyrpc demo

test: test-deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

build-asan/CMakeCache.txt:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFLYRPC_SANITIZE=address -DFLYRPC_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS=-O1

build-tsan/CMakeCache.txt:
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DFLYRPC_SANITIZE=thread -DFLYRPC_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS=-O1

test-asan: test-deps build-asan/CMakeCache.txt
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

test-tsan: test-deps build-tsan/CMakeCache.txt
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

fuzz-short:
	FUZZ_SEED=1 scripts/fuzz.sh 15

# What deploy/Dockerfile builds, as it builds it (Release, installed, the app
# against the install), then the installed CLI answers --version.
release-check: deps
	scripts/build-release.sh build-release/prefix build-release/app
	build-release/prefix/bin/flyrpc --version
	test -x build-release/app/bin/fly_service

ci: format-check release-check test test-asan test-tsan fuzz-short

bench: build-all
	$(BUILD)/bin/flyrpc_micro_bench
	bench/run.sh

bench-quick: build
	bench/run.sh --quick

SOURCES = find include src tools tests bench examples -name '*.hpp' -o -name '*.cpp'

format:
	$(SOURCES) | xargs clang-format -i

# Fails, naming the lines, if any file differs from clang-format's output.
format-check: test-deps
	$(SOURCES) | xargs clang-format --dry-run --Werror

clean:
	rm -rf build build-asan build-tsan
