#!/usr/bin/env bash
# Installs what is missing, builds mixbt, and runs the whole test suite: an optimised build, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build. On an AVX-512 host each suite runs twice: natively
# (oneDNN's 16-channel nChw16c layout) and with DNNL_MAX_CPU_ISA=AVX2 (the 8-channel nChw8c layout), so
# both CPU paths are covered whichever machine runs it. Every phase runs even when an earlier one fails;
# the exit status is non-zero if any failed, and the last line lists each phase's outcome.
# Usage: scripts/test.sh [--fast]   (--fast: skip the sanitizer build)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-torch || exit 1
jobs=$(nproc)
isas=(native)
grep -qw avx512f /proc/cpuinfo && isas+=(AVX2)
# the host, so that a log says which instruction sets it proved
echo "== host: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores," \
     "$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || { grep -qw avx2 /proc/cpuinfo && echo AVX2 || echo 'no AVX2'; })," \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; suites: ${isas[*]}"

summary=()
failed=0
# run_suite NAME BUILD_DIR [ENV=VALUE...]: ctest in BUILD_DIR with the given environment, once per ISA.
run_suite() {
  local name=$1 dir=$2
  shift 2
  local isa
  for isa in "${isas[@]}"; do
    local isa_env=()
    [ "$isa" != native ] && isa_env=(DNNL_MAX_CPU_ISA="$isa")
    echo "== tests: $name, ISA $isa"
    if (cd "$dir" && env "$@" "${isa_env[@]}" ctest --output-on-failure -j"$jobs"); then
      summary+=("$name/$isa: passed")
    else
      summary+=("$name/$isa: FAILED")
      failed=1
    fi
  done
}
# build NAME BUILD_DIR [cmake flags...]
build() {
  local name=$1 dir=$2
  shift 2
  echo "== build: $name ($dir)"
  if cmake -S . -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$jobs"; then
    return 0
  fi
  summary+=("$name: BUILD FAILED")
  failed=1
  return 1
}

build release build -DCMAKE_BUILD_TYPE=Release && run_suite release build
if [ "${1:-}" != "--fast" ]; then
  # oneDNN's JIT code and OpenMP's runtime are not instrumented; leaks there are not ours.
  # protect_shadow_gap=0: the CUDA driver maps memory where ASan keeps its shadow gap (GPU machines)
  # -march=native as in Release: the sanitizers then see the same vector code paths (#ifdef __AVX__ ...)
  build asan+ubsan build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIXBT_SANITIZE=ON -DCMAKE_C_FLAGS=-march=native &&
    run_suite asan+ubsan build-asan ASAN_OPTIONS=detect_leaks=0:protect_shadow_gap=0
fi
echo "test.sh: ${summary[*]/%/;}"
exit "$failed"
