#!/usr/bin/env bash
# `mixbt knn --protocol sslsota` and `mixbt linear --protocol sslsota` (ssl-sota's evaluation, SPEC
# section 7) end to end on a tiny CIFAR-10 binary folder the script writes, with a checkpoint from a
# two-step `mixbt pretrain`: the k-NN's defaults, output and its vote rule where the answer is known
# (k = the whole bank: every query gets the most frequent label, ties to the smallest), the linear
# evaluation's run folder (full batches only, the protocol recorded), and one-line errors for bad
# combinations (exit 2 for usage, 1 for a failure found while running).
# Usage: tests/cli_eval_sslsota.sh PATH/TO/mixbt
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: counts a failure when the command fails
  local what=$1
  shift
  if ! "$@"; then echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
one_line() { test "$(wc -l <"$1")" -eq 1; }
export OMP_NUM_THREADS=2

# CIFAR-10 binary layout: 5 training files of 8 records (labels 0..9 cycling), a test file of 10.
data=$tmp/cifar
mkdir -p "$data"
record() { printf "\\$(printf '%03o' $(($1 % 10)))"; yes "$1 $(($1 * 7))" | head -c 3072; }
for f in 1 2 3 4 5; do
  for r in 0 1 2 3 4 5 6 7; do record $(((f - 1) * 8 + r)); done >"$data/data_batch_$f.bin"
done
for r in 0 1 2 3 4 5 6 7 8 9; do record $((100 + r)); done >"$data/test_batch.bin"

"$bin" pretrain --dataset cifar10 --data "$data" --out "$tmp/run" --subset 8 --batch-size 4 --epochs 1 \
  --feature-dim 32 --knn-every 0 --threads 2 --workers 1 >"$tmp/pre.out" 2>&1
check "pretrain for a checkpoint: exit 0" test $? -eq 0 || cat "$tmp/pre.out" >&2
ckpt=$tmp/run/last.safetensors

# k-NN: k 5 by default, top-1 only
"$bin" knn --protocol sslsota --checkpoint "$ckpt" --data "$data" --subset 16 --test-subset 8 --batch-size 4 \
  --threads 2 --workers 1 >"$tmp/knn.out" 2>"$tmp/knn.err"
check "knn --protocol sslsota: exit 0" test $? -eq 0 || cat "$tmp/knn.err" >&2
check "knn sslsota: k 5 by default, bank and test sizes" \
  grep -Eq "^k-NN top-1 [0-9.]+%  \(sslsota: k 5, Euclidean majority vote on raw features; resnet18 safetensors, 32 px; bank 16, test 8 images" "$tmp/knn.out"
# k = 16 = the whole bank (labels 0..9, 0..5): labels 0-5 have two votes each, the smallest wins: every
# prediction is 0, and one of the 3 test images (labels 0, 1, 2) has label 0: 33.33% (breaking the tie to
# the largest tied label, 5, would give 0%)
"$bin" knn --protocol sslsota --k 16 --checkpoint "$ckpt" --data "$data" --subset 16 --test-subset 3 --batch-size 8 \
  --threads 2 --workers 1 >"$tmp/knn16.out" 2>"$tmp/knn16.err"
check "knn sslsota --k 16: exit 0" test $? -eq 0 || cat "$tmp/knn16.err" >&2
check "knn sslsota --k 16: vote ties to the smallest label give 33.33% ($(head -c 200 "$tmp/knn16.out"))" \
  grep -q "^k-NN top-1 33.33%  (sslsota: k 16," "$tmp/knn16.out"
# --k past the bank is clamped, as in the reference protocol
"$bin" knn --protocol sslsota --k 50 --checkpoint "$ckpt" --data "$data" --subset 16 --test-subset 3 --batch-size 8 \
  --threads 2 --workers 1 >"$tmp/knn50.out" 2>/dev/null
check "knn sslsota --k 50: clamped to the bank, same answer" grep -q "^k-NN top-1 33.33%  (sslsota: k 16," "$tmp/knn50.out"

# linear: 40 training images in batches of 16: 2 steps per epoch, 8 images unused each epoch
"$bin" linear --protocol sslsota --checkpoint "$ckpt" --data "$data" --epochs 3 --batch-size 16 --extract-batch 10 \
  --out "$tmp/lin" --threads 2 --workers 1 >"$tmp/lin.out" 2>"$tmp/lin.err"
check "linear --protocol sslsota: exit 0" test $? -eq 0 || cat "$tmp/lin.err" >&2
check "linear sslsota: summary" grep -Eq "^linear \(sslsota\): test top-1 [0-9.]+% top-5 [0-9.]+% loss [0-9.]+ after 3 epochs  \(best top-1 .*; batches of 16, 40 train / 10 test images" "$tmp/lin.out"
check "linear sslsota: 3 epochs in metrics.csv" test "$(wc -l <"$tmp/lin/metrics.csv")" -eq 4
check "linear sslsota: lr of epoch 2, 1e-2 * (1e-6/1e-2)^(1/3)" grep -q "^2,0.00046415888," "$tmp/lin/metrics.csv"
check "linear sslsota: config.json protocol" grep -Eq '"protocol":[[:space:]]*"sslsota"' "$tmp/lin/config.json"
check "linear sslsota: config.json drop_last" grep -Eq '"drop_last":[[:space:]]*true' "$tmp/lin/config.json"
check "linear sslsota: config.json frozen BN, no augmentation" \
  grep -Eq '"augment":[[:space:]]*false' "$tmp/lin/config.json"
check "linear sslsota: head saved" test -s "$tmp/lin/linear_head.safetensors"
"$bin" linear --checkpoint "$ckpt" --data "$data" --features-once --epochs 1 --batch-size 16 --out "$tmp/ref" \
  --threads 2 --workers 1 >/dev/null 2>&1
check "linear reference: protocol recorded" grep -Eq '"protocol":[[:space:]]*"reference"' "$tmp/ref/config.json"

expect() { # expect STATUS PATTERN COMMAND...
  local want=$1 pattern=$2
  shift 2
  "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  check "'$*': exit $want (got $rc)" test $rc -eq "$want"
  check "'$*': one line" one_line "$tmp/err"
  check "'$*': mentions '$pattern' ($(head -c 300 "$tmp/err"))" grep -q -- "$pattern" "$tmp/err"
}
expect 2 "--protocol: 'sota' is not one of" "$bin" knn --checkpoint "$ckpt" --data "$data" --protocol sota
expect 2 "--protocol: 'sota' is not one of" "$bin" linear --checkpoint "$ckpt" --data "$data" --protocol sota
expect 2 "--protocol sslsota takes a plain majority vote" "$bin" knn --protocol sslsota --t 0.1 --checkpoint "$ckpt" --data "$data"
expect 2 "cannot be combined with --bn train" "$bin" linear --protocol sslsota --bn train --checkpoint "$ckpt" --data "$data"
expect 1 "40 training images make no full batch of 1000" "$bin" linear --protocol sslsota --checkpoint "$ckpt" --data "$data"
# A baseline's checkpoint (SimCLR: the encoder as model.module.*, a head), as written and converted to a
# .pth: the same k-NN answer and bit-identical features from both, and the linear evaluation runs on it.
"$bin" pretrain --method simclr --dataset cifar10 --data "$data" --out "$tmp/sim" --subset 8 --batch-size 4 --epochs 1 \
  --emb 16 --head-size 32 --knn-every 0 --threads 2 --workers 1 >"$tmp/sim.out" 2>&1
check "pretrain --method simclr for a checkpoint: exit 0" test $? -eq 0 || cat "$tmp/sim.out" >&2
"$bin" convert "$tmp/sim/last.safetensors" "$tmp/sim.pth" >"$tmp/conv.out" 2>&1
check "convert the SimCLR checkpoint to .pth: exit 0" test $? -eq 0 || cat "$tmp/conv.out" >&2
for f in safetensors pth; do
  src=$tmp/sim/last.safetensors
  [ $f = pth ] && src=$tmp/sim.pth
  "$bin" knn --protocol sslsota --checkpoint "$src" --data "$data" --subset 16 --test-subset 8 --batch-size 4 \
    --threads 2 --workers 1 >"$tmp/sknn.$f" 2>"$tmp/sknn.$f.err"
  check "knn sslsota on the SimCLR .$f: exit 0" test $? -eq 0 || cat "$tmp/sknn.$f.err" >&2
  check "knn sslsota on the SimCLR .$f: read as ssl-sota's encoder" grep -q "an ssl-sota checkpoint, its encoder model.module" "$tmp/sknn.$f.err"
  "$bin" embed --checkpoint "$src" --data "$data" --subset 12 --batch-size 4 --out "$tmp/semb.$f.npy" --threads 2 \
    --workers 1 >"$tmp/semb.$f.out" 2>&1
  check "embed of the SimCLR .$f: exit 0" test $? -eq 0 || cat "$tmp/semb.$f.out" >&2
done
check "SimCLR .safetensors and .pth: the same k-NN top-1" \
  test "$(grep -o '^k-NN top-1 [0-9.]*%' "$tmp/sknn.safetensors")" = "$(grep -o '^k-NN top-1 [0-9.]*%' "$tmp/sknn.pth")"
check "SimCLR .safetensors and .pth: bit-identical features" cmp -s "$tmp/semb.safetensors.npy" "$tmp/semb.pth.npy"
"$bin" linear --protocol sslsota --checkpoint "$tmp/sim.pth" --data "$data" --epochs 2 --batch-size 16 --extract-batch 10 \
  --threads 2 --workers 1 >"$tmp/slin.out" 2>"$tmp/slin.err"
check "linear sslsota on the SimCLR .pth: exit 0" test $? -eq 0 || cat "$tmp/slin.err" >&2
check "linear sslsota on the SimCLR .pth: summary" grep -Eq "^linear \(sslsota\): test top-1 [0-9.]+% .* after 2 epochs" "$tmp/slin.out"

for c in knn linear; do
  "$bin" $c --help >"$tmp/help" 2>&1
  check "$c --help: documents --protocol sslsota" grep -q -- "--protocol sslsota" "$tmp/help"
done

if [ "$fails" -ne 0 ]; then
  echo "cli_eval_sslsota: $fails checks failed" >&2
  exit 1
fi
echo "cli_eval_sslsota: all checks passed"
