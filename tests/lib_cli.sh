# Shared by the pretrain command-line tests (sourced, not run): a temporary folder removed on exit,
# pass/fail counters, and a tiny CIFAR-10 in the official binary layout.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# make_tiny_cifar DIR SEED: 100 training (5 files of 20) and 32 test records of 1 label byte + 3072
# pixel bytes, deterministic for a seed.
make_tiny_cifar() {
  mkdir -p "$1"
  python3 - "$1" "$2" <<'PY'
import os, sys, random
d, r = sys.argv[1], random.Random(int(sys.argv[2]))
def batch(name, n):
    with open(os.path.join(d, name), "wb") as f:
        for i in range(n):
            f.write(bytes([i % 10]) + bytes(r.getrandbits(8) for _ in range(3072)))
for k in range(1, 6):
    batch("data_batch_%d.bin" % k, 20)
batch("test_batch.bin", 32)
PY
}

# expect_error [--rc N] PATTERN ARGS...: `mixbt ARGS` exits non-zero (exactly N with --rc) and writes one
# line to stderr matching PATTERN. Needs $mixbt.
expect_error() {
  local want=""
  if [ "$1" = --rc ]; then want=$2; shift 2; fi
  local pattern=$1; shift
  "$mixbt" "$@" > "$tmp/err.out" 2> "$tmp/err.log"
  local rc=$?
  if [ $rc -ne 0 ] && { [ -z "$want" ] || [ $rc -eq "$want" ]; } && grep -q -- "$pattern" "$tmp/err.log" &&
     [ "$(wc -l < "$tmp/err.log")" -eq 1 ]; then ok
  else bad "mixbt $*: rc $rc (expected ${want:-non-zero}), expected one line matching '$pattern', got: $(head -3 "$tmp/err.log")"; fi
}

# end_unless_gpu NAME RC LOG: after a `--device cuda` command with exit status RC and stderr in LOG.
# Returns when it ran (RC 0). When it failed with the one line saying that this build or machine has no
# usable GPU, counts a pass, says the GPU part is skipped and ends the test with its result so far; any
# other failure fails the test.
end_unless_gpu() {
  local name=$1 rc=$2 log=$3
  [ "$rc" -eq 0 ] && return 0
  if grep -Eq -- "--device cuda: (no CUDA device found|this mixbt was built without the CUDA backend)" "$log" &&
     [ "$(wc -l < "$log")" -eq 1 ]; then
    ok
    echo "$name: no usable GPU ($(cat "$log")); the GPU runs are skipped"
  else
    bad "--device cuda failed: rc $rc, $(tail -3 "$log")"
  fi
  echo "$name: $pass passed, $fails failed"
  [ $fails -eq 0 ] && exit 0
  exit 1
}
