#!/usr/bin/env bash
# `mixbt transfer` end to end with a checkpoint from a two-step `mixbt pretrain` on a tiny CIFAR-10
# folder: a tiny MNIST-layout idx target (gzipped files under MNIST/raw) in the reference mode
# (training-mode BN, batches of 5, 5 and a last one of 2) and a tiny class-folder target (the test
# fixtures' PNG/JPEG files, of other sizes than the model's) with features extracted once at another
# input size; the run folder (config.json, metrics.csv with the MultiStepLR rates, the head); and
# one-line errors with exit status 2 (usage) or 1 (missing or malformed data files, named).
# Usage: tests/cli_transfer.sh PATH/TO/mixbt
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: counts a failure when the command fails
  local what=$1
  shift
  if ! "$@"; then echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
one_line() { test "$(wc -l <"$1")" -eq 1; }
byte() { printf "\\$(printf '%03o' "$1")"; }
export OMP_NUM_THREADS=2

# a checkpoint: CIFAR-10 binary layout, 8 training records, one epoch of two steps of 4 images
cifar=$tmp/cifar
mkdir -p "$cifar"
record() { byte $(($1 % 10)); yes "$1 $(($1 * 7))" | head -c 3072; }
for f in 1 2 3 4 5; do for r in 0 1; do record $(((f - 1) * 2 + r)); done >"$cifar/data_batch_$f.bin"; done
for r in 0 1; do record $((100 + r)); done >"$cifar/test_batch.bin"
"$bin" pretrain --dataset cifar10 --data "$cifar" --out "$tmp/run" --subset 8 --batch-size 4 --epochs 1 \
  --feature-dim 32 --knn-every 0 --threads 2 --workers 1 >"$tmp/pre.out" 2>&1
check "pretrain for a checkpoint: exit 0" test $? -eq 0 || cat "$tmp/pre.out" >&2
ckpt=$tmp/run/last.safetensors

# an MNIST-layout target: idx files of 8x8 images (12 training, 7 test), gzipped, in MNIST/raw
idx=$tmp/mnist/MNIST/raw
mkdir -p "$idx"
idx_files() { # idx_files PREFIX COUNT
  local n=$2
  { printf '\x00\x00\x08\x03\x00\x00\x00'; byte "$n"; printf '\x00\x00\x00\x08\x00\x00\x00\x08'
    for i in $(seq 1 "$n"); do yes "$i $((i * 13)) $1" | head -c 64; done; } >"$idx/$1-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01\x00\x00\x00'; byte "$n"; for i in $(seq 1 "$n"); do byte $((i % 10)); done; } \
    >"$idx/$1-labels-idx1-ubyte"
}
idx_files train 12
idx_files t10k 7
gzip -n "$idx"/*-ubyte
check "idx sizes" test "$(gzip -dc "$idx/train-images-idx3-ubyte.gz" | wc -c)" -eq $((16 + 12 * 64))

# the reference mode, 3 epochs, the learning rate divided by 10 after epoch 2
"$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --epochs 3 --batch-size 5 --milestones 2 \
  --out "$tmp/t1" --threads 2 --workers 2 >"$tmp/t1.out" 2>"$tmp/t1.err"
check "transfer mnist: exit 0" test $? -eq 0 || cat "$tmp/t1.err" >&2
check "transfer mnist: result line" grep -q "^transfer: best test top-1 .* (epoch [1-3]), last top-1 .* top-5 .*(mnist, 10 classes, 32 px, mean 0.17,0.17,0.17 std 0.32,0.32,0.32, training-mode BN, 3 epochs, 12 train / 7 test images" "$tmp/t1.out"
check "transfer mnist: metrics.csv header" grep -q "^epoch,lr,train_loss,train_top1,train_top5,test_loss,test_top1,test_top5,elapsed_s$" "$tmp/t1/metrics.csv"
check "transfer mnist: 3 rows" test "$(wc -l <"$tmp/t1/metrics.csv")" -eq 4
check "transfer mnist: lr 0.01, 0.01, 0.001" test "$(cut -d, -f2 "$tmp/t1/metrics.csv" | tail -3 | tr '\n' ' ')" = "0.01 0.01 0.001 "
check "transfer mnist: per-epoch progress" grep -q "^epoch 3/3  lr 0.001  train loss" "$tmp/t1.err"
check "transfer mnist: config.json" grep -Eq '"target":[[:space:]]*"mnist"' "$tmp/t1/config.json"
check "transfer mnist: config.json constants" grep -Eq '"mean":[[:space:]]*\[0.17, 0.17, 0.17\]' "$tmp/t1/config.json"
check "transfer mnist: SGD in config.json" grep -Eq '"optimizer":[[:space:]]*"sgd"' "$tmp/t1/config.json"
check "transfer mnist: head saved" test -s "$tmp/t1/transfer_head.safetensors"
for col in 4 7; do
  awk -F, -v c=$col 'NR > 1 && ($c < 0 || $c > 100) { exit 1 }' "$tmp/t1/metrics.csv"
  check "transfer mnist: column $col is a percentage" test $? -eq 0
done

# a class-folder target: images of 32x16 and 29x23 px (gray, palette, CMYK among them), features once at 16 px
f=$tmp/folder
for c in cat dog eel; do mkdir -p "$f/train/$c" "$f/test/$c"; done
cp "$here/fixtures/augment_rgb.png" "$f/train/cat/1.png"; cp "$here/fixtures/augment_rgba.png" "$f/train/cat/2.png"
cp "$here/fixtures/augment_rgb.jpg" "$f/test/cat/1.jpg"
cp "$here/fixtures/augment_gray.png" "$f/train/dog/1.png"; cp "$here/fixtures/augment_pal.png" "$f/train/dog/2.png"
cp "$here/fixtures/augment_gray.jpg" "$f/test/dog/1.jpg"
cp "$here/fixtures/augment_cmyk.jpg" "$f/train/eel/1.jpg"; cp "$here/fixtures/augment_gray16.png" "$f/train/eel/2.png"
cp "$here/fixtures/augment_rgb.png" "$f/test/eel/1.png"
"$bin" transfer --checkpoint "$ckpt" --target folder --data "$f" --norm mnist --size 16 --features-once --epochs 2 \
  --batch-size 4 --extract-batch 4 --out "$tmp/t2" --threads 2 --workers 1 >"$tmp/t2.out" 2>"$tmp/t2.err"
check "transfer folder: exit 0" test $? -eq 0 || cat "$tmp/t2.err" >&2
check "transfer folder: result line" grep -q "(folder, 3 classes, 16 px, mean 0.17,0.17,0.17 std 0.32,0.32,0.32, frozen BN, features once, 2 epochs, 6 train / 3 test images" "$tmp/t2.out"
check "transfer folder: the rebuilt input size is said" grep -q "the backbone takes 16 px inputs here (the checkpoint's input size is 32)" "$tmp/t2.err"
check "transfer folder: 2 rows" test "$(wc -l <"$tmp/t2/metrics.csv")" -eq 3
check "transfer folder: config.json" grep -Eq '"features_once":[[:space:]]*true' "$tmp/t2/config.json"
# --bn frozen without augmentation computes the same as --features-once (and is run the same way)
"$bin" transfer --checkpoint "$ckpt" --target folder --data "$f" --norm mnist --size 16 --bn frozen --epochs 2 \
  --batch-size 4 --extract-batch 4 --threads 2 --workers 1 >"$tmp/t3.out" 2>/dev/null
check "transfer --bn frozen: same numbers as --features-once" \
  test "$(sed 's/, [0-9.]* s)$//' "$tmp/t3.out")" = "$(sed 's/, [0-9.]* s)$//' "$tmp/t2.out")"

# errors: usage (exit 2) and failures (exit 1), one line each, naming what is wrong
expect() { # expect STATUS PATTERN COMMAND...
  local want=$1 pattern=$2
  shift 2
  "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  check "'$*': exit $want (got $rc)" test $rc -eq "$want"
  check "'$*': one line" one_line "$tmp/err"
  check "'$*': mentions '$pattern' ($(head -c 300 "$tmp/err"))" grep -q -- "$pattern" "$tmp/err"
}
expect 1 "already holds a transfer evaluation" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --out "$tmp/t1"
expect 2 "--target NAME is required" "$bin" transfer --checkpoint "$ckpt" --data "$tmp/mnist"
expect 2 "--target: 'svhn' is not one of" "$bin" transfer --checkpoint "$ckpt" --target svhn --data "$tmp/mnist"
expect 2 "--data DIR is required" "$bin" transfer --checkpoint "$ckpt" --target mnist
expect 2 "--mean and --std go together" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --mean 0.1,0.2,0.3
expect 2 "three comma-separated numbers" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --mean 0.1,0.2 --std 1,1,1
expect 2 "--norm svhn: unknown" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --norm svhn
expect 2 "--milestones '60,x'" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --milestones 60,x
expect 2 "cannot be combined with --bn train" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --features-once --bn train
mkdir -p "$tmp/flowers"
expect 1 "$tmp/flowers/imagelabels.mat: missing file" "$bin" transfer --checkpoint "$ckpt" --target vgg_flower --data "$tmp/flowers"
mkdir -p "$tmp/dtd/labels"
expect 1 "$tmp/dtd/labels/train1.txt: missing file" "$bin" transfer --checkpoint "$ckpt" --target dtd --data "$tmp/dtd"
rm "$idx/t10k-labels-idx1-ubyte.gz"
expect 1 "$idx/t10k-labels-idx1-ubyte: missing file" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --features-once
head -c 100 /dev/zero | gzip -n >"$idx/t10k-labels-idx1-ubyte.gz"
expect 1 "$idx/t10k-labels-idx1-ubyte.gz: not an idx1 label file" "$bin" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/mnist" --features-once
"$bin" transfer --help >"$tmp/help" 2>&1
check "transfer --help: exit 0" test $? -eq 0
check "transfer --help: lists --target" grep -q -- "--target NAME" "$tmp/help"
"$bin" --help | grep -q "^  transfer "
check "mixbt --help lists transfer" test $? -eq 0

if [ "$fails" -ne 0 ]; then
  echo "cli_transfer: $fails checks failed" >&2
  exit 1
fi
echo "cli_transfer: all checks passed"
