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
