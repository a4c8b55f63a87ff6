#!/usr/bin/env bash
# Builds the libFuzzer harnesses of the checkpoint readers and runs them.
# Usage: fuzz/run.sh [pickle|pth|safetensors|all] [seconds per harness (default 60)] [extra libFuzzer flags]
#        fuzz/run.sh coverage [pickle|pth|safetensors|all]
#          replays seeds + grown corpus + regressions through a source-coverage build and prints
#          llvm-cov's line/branch coverage of src/io for each harness.
#   Build: clang -fsanitize=fuzzer,address,undefined (Debian: clang, libclang-rt-14-dev), into build-fuzz/.
#   Corpus: starts from the committed seeds in fuzz/corpus/<harness>/ and grows in
#   build-fuzz/corpus-<harness>/ (the committed seeds are not modified). Crashers land in
#   build-fuzz/crashes-<harness>/; commit them under fuzz/regressions/<harness>/ so that
#   tests/test_io_fuzz_regress.c replays them.
#   Prints libFuzzer's final statistics (executions, coverage) for each harness.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
secs="${2:-60}"
[ "$which" = coverage ] && secs="${2:-all}"
shift $(( $# > 2 ? 2 : $# )) || true
CC="${CC:-clang}"
out=build-fuzz
mkdir -p "$out"
srcs="src/core/status.c src/core/tensor.c src/io/state_dict.c src/io/dtype.c src/io/bytebuf.c src/io/read_file.c
      src/io/atomic_file.c src/io/safetensors_read.c src/io/safetensors_write.c src/io/pickle_parse.c
      src/io/pickle_globals.c src/io/pickle_value.c src/io/pth_select.c src/io/pth_extract.c src/io/pth_read.c"
flags="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc"
libs="$(pkg-config --libs libzip libcjson) -lm"
harnesses=(pickle pth safetensors)
if [ "$which" = coverage ]; then
  [ "$secs" != all ] && harnesses=("$secs")
  for h in "${harnesses[@]}"; do
    # shellcheck disable=SC2086
    $CC -std=gnu11 -g -O1 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -Isrc \
      -o "$out/cov_$h" "fuzz/fuzz_$h.c" $srcs $libs
    mkdir -p "$out/corpus-$h" fuzz/regressions/"$h"
    LLVM_PROFILE_FILE="$out/cov_$h.profraw" "$out/cov_$h" -runs=0 "$out/corpus-$h" "fuzz/corpus/$h" \
      "fuzz/regressions/$h" >/dev/null 2>&1
    llvm-profdata-14 merge -sparse "$out/cov_$h.profraw" -o "$out/cov_$h.profdata"
    echo "== coverage of src/io by fuzz_$h ($(ls "$out/corpus-$h" "fuzz/corpus/$h" | wc -l) inputs)"
    llvm-cov-14 report "$out/cov_$h" -instr-profile="$out/cov_$h.profdata" src/io |
      awk '/TOTAL/ || /(pickle|pth|safetensors|state_dict|dtype)[a-z_]*\.c/' |
      awk '{print $1, "regions", $4, "functions", $7, "lines", $10, "branches", $13}'
  done
  exit 0
fi
[ "$which" != all ] && harnesses=("$which")
for h in "${harnesses[@]}"; do
  # shellcheck disable=SC2086
  $CC $flags -o "$out/fuzz_$h" "fuzz/fuzz_$h.c" $srcs $libs
  mkdir -p "$out/corpus-$h" "$out/crashes-$h"
  dict=()
  [ -f "fuzz/$h.dict" ] && dict=(-dict="fuzz/$h.dict")
  echo "== fuzz_$h: ${secs}s"
  "$out/fuzz_$h" "$out/corpus-$h" "fuzz/corpus/$h" "${dict[@]}" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$out/crashes-$h/" -rss_limit_mb=2048 -timeout=10 "$@" 2>&1 |
    tee "$out/fuzz_$h.log" | grep -E "^#[0-9]+ +(INITED|DONE|pulse)|stat::|ERROR|SUMMARY|Test unit written" || true
done
