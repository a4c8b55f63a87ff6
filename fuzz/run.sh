#!/usr/bin/env bash
# Builds the libFuzzer harnesses of the checkpoint and dataset readers and runs them, one at a time.
# Usage: fuzz/run.sh [HARNESS|io|data|all] [seconds per harness (default 60)] [extra libFuzzer flags]
#        fuzz/run.sh coverage [HARNESS|io|data|all]
#          replays seeds + grown corpus + regressions through a source-coverage build and prints
#          llvm-cov's line/branch coverage of the harness's files in src/io and src/data.
#   Harnesses: pickle, pth, safetensors (io: the checkpoint readers); cifar, stl, idx, ppm, lists, mat
#   (data: CIFAR-10/100 binaries and pickles, STL-10 binaries, MNIST idx, PPM, the DTD / CUB / Aircraft
#   text lists, Flowers-102's .mat through libmatio; each writes the files an input describes into a
#   temporary folder, see fuzz/data_targets.h). fuzz/make_seeds.py regenerates the structured seeds.
#   Build: clang -fsanitize=fuzzer,address,undefined (Debian: clang, libclang-rt-14-dev, llvm-14 for
#   coverage), into build-fuzz/. Corpus: starts from the committed seeds in fuzz/corpus/<harness>/ and
#   grows in build-fuzz/corpus-<harness>/ (the committed seeds are not modified; minimise the grown one
#   back with -set_cover_merge=1 -use_counters=0, see docs/DESIGN.md). Crashers land in
#   build-fuzz/crashes-<harness>/; commit them under fuzz/regressions/<harness>/ so that
#   tests/test_fuzz_regress.c replays them.
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
io_srcs="src/core/status.c src/core/tensor.c src/io/state_dict.c src/io/dtype.c src/io/bytebuf.c src/io/read_file.c
      src/io/atomic_file.c src/io/safetensors_read.c src/io/safetensors_write.c src/io/pickle_parse.c
      src/io/pickle_globals.c src/io/pickle_value.c src/io/pth_select.c src/io/pth_extract.c src/io/pth_read.c"
data_srcs="src/core/status.c src/core/tensor.c src/io/state_dict.c src/io/read_file.c src/io/pickle_parse.c src/io/pickle_globals.c
      src/io/pickle_value.c src/io/dtype.c src/io/bytebuf.c src/data/dataset.c src/data/cifar.c src/data/stl10.c
      src/data/mnist_idx.c src/data/ppm.c src/data/file_list.c src/data/dtd.c src/data/cub200.c src/data/aircraft.c
      src/data/flowers102.c src/data/gtsrb.c src/data/image_folder.c src/data/image_tree.c src/data/imagenet.c src/data/numpy_random.c src/data/image.c
      src/data/decode.c"
flags="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc"
io_libs="$(pkg-config --libs libzip libcjson zlib) -lm"
data_libs="$(pkg-config --libs libarchive libjpeg libpng zlib) -lm"
harnesses=(pickle pth safetensors cifar stl idx ppm lists mat)
if pkg-config --exists matio; then
  data_libs="$data_libs $(pkg-config --libs matio)"
  flags="$flags -DMIXBT_HAVE_MATIO=1"
else
  harnesses=(pickle pth safetensors cifar stl idx ppm lists) # mat needs libmatio-dev
fi
# the sources, libraries and covered files (a regex of src/io, src/data file names) of harness $1
is_data() { case "$1" in cifar | stl | idx | ppm | lists | mat) return 0 ;; *) return 1 ;; esac; }
srcs_of() { if is_data "$1"; then echo "$data_srcs"; else echo "$io_srcs"; fi; }
libs_of() { if is_data "$1"; then echo "$data_libs"; else echo "$io_libs"; fi; }
covered_of() {
  case "$1" in
    cifar) echo "(cifar|dataset)" ;; stl) echo "(stl10|dataset)" ;; idx) echo "(mnist_idx|dataset)" ;;
    ppm) echo "ppm" ;; lists) echo "(dtd|cub200|aircraft|file_list|dataset)" ;; mat) echo "(flowers102|dataset)" ;;
    *) echo "(pickle|pth|safetensors|state_dict|dtype)[a-z_]*" ;;
  esac
}
select_harnesses() {
  case "$1" in
    all) ;;
    io) harnesses=(pickle pth safetensors) ;;
    data) mapfile -t harnesses < <(printf '%s\n' "${harnesses[@]}" | grep -Ev '^(pickle|pth|safetensors)$') ;;
    *) harnesses=("$1") ;;
  esac
}
if [ "$which" = coverage ]; then
  select_harnesses "$secs"
  for h in "${harnesses[@]}"; do
    # shellcheck disable=SC2046
    $CC ${flags/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer} -fprofile-instr-generate -fcoverage-mapping \
      -o "$out/cov_$h" "fuzz/fuzz_$h.c" $(srcs_of "$h") $(libs_of "$h")
    mkdir -p "$out/corpus-$h" fuzz/regressions/"$h"
    rm -f "$out/cov_$h.profraw"
    LLVM_PROFILE_FILE="$out/cov_$h.profraw" "$out/cov_$h" -runs=0 "$out/corpus-$h" "fuzz/corpus/$h" \
      "fuzz/regressions/$h" >/dev/null 2>&1
    llvm-profdata-14 merge -sparse "$out/cov_$h.profraw" -o "$out/cov_$h.profdata"
    n=$(find "$out/corpus-$h" "fuzz/corpus/$h" "fuzz/regressions/$h" -type f | wc -l)
    echo "== coverage by fuzz_$h ($n inputs)"
    llvm-cov-14 report "$out/cov_$h" -instr-profile="$out/cov_$h.profdata" src/io src/data |
      awk -v re="^([a-z_]*/)*$(covered_of "$h")[.]c$" '$1 ~ re || /TOTAL/' |
      awk '{print $1, "regions", $4, "functions", $7, "lines", $10, "branches", $13}'
  done
  exit 0
fi
select_harnesses "$which"
for h in "${harnesses[@]}"; do
  # shellcheck disable=SC2046
  $CC $flags -o "$out/fuzz_$h" "fuzz/fuzz_$h.c" $(srcs_of "$h") $(libs_of "$h")
  mkdir -p "$out/corpus-$h" "$out/crashes-$h"
  dict=()
  [ -f "fuzz/$h.dict" ] && dict=(-dict="fuzz/$h.dict")
  # libmatio sizes buffers by the sizes a MAT-file declares, unchecked against the file (a 200-byte
  # file asks for 3.4 GB): such allocations fail (NULL, as without overcommit) instead of stopping the run
  asan="${ASAN_OPTIONS:-}"
  [ "$h" = mat ] && asan="${asan:-allocator_may_return_null=1:max_allocation_size_mb=1024}"
  echo "== fuzz_$h: ${secs}s"
  ASAN_OPTIONS="$asan" "$out/fuzz_$h" "$out/corpus-$h" "fuzz/corpus/$h" "${dict[@]}" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$out/crashes-$h/" -rss_limit_mb=2048 -timeout=10 "$@" 2>&1 |
    tee "$out/fuzz_$h.log" | grep -E "^#[0-9]+ +(INITED|DONE|pulse)|stat::|ERROR|SUMMARY|Test unit written" || true
done
