#!/usr/bin/env bash
# Installs what is missing, builds mixbt, and runs the whole test suite twice: an optimised build,
# then an AddressSanitizer + UndefinedBehaviorSanitizer build. Usage: scripts/test.sh [--fast]
# (--fast: skip the sanitizer build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-torch
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
if [ "${1:-}" != "--fast" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIXBT_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # oneDNN's JIT code and OpenMP's runtime are not instrumented; leaks there are not ours.
  # protect_shadow_gap=0: the CUDA driver maps memory where ASan keeps its shadow gap (GPU machines)
  (cd build-asan && ASAN_OPTIONS=detect_leaks=0:protect_shadow_gap=0 ctest --output-on-failure -j"$jobs")
fi
