#!/usr/bin/env bash
# `mixbt knn`, `mixbt linear` and `mixbt embed` end to end on a tiny CIFAR-10 binary folder the script
# writes, with a checkpoint from a two-step `mixbt pretrain`: the k-NN command reproduces the pretraining
# monitor's numbers for the same checkpoint, the linear probe writes its run folder (features once, and
# the reference mode with a partial last batch), embed writes .npy files of the right sizes (loaded with
# numpy when /usr/bin/python3 has it), and bad input gives a one-line error and a non-zero exit status
# (2 for usage, 1 for a failure found while running).
# Usage: tests/cli_eval.sh PATH/TO/mixbt
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

# CIFAR-10 binary layout: records of a label byte and 3072 pixel bytes; 5 training files of 8 records,
# a test file of 10. Pixels: the text "i i*7 ..." repeated, so images differ and the data are the same
# on every run.
data=$tmp/cifar
mkdir -p "$data"
record() { printf "\\$(printf '%03o' $(($1 % 10)))"; yes "$1 $(($1 * 7))" | head -c 3072; }
for f in 1 2 3 4 5; do
  for r in 0 1 2 3 4 5 6 7; do record $(((f - 1) * 8 + r)); done >"$data/data_batch_$f.bin"
done
for r in 0 1 2 3 4 5 6 7 8 9; do record $((100 + r)); done >"$data/test_batch.bin"
check "CIFAR file size" test "$(stat -c %s "$data/data_batch_1.bin")" -eq $((8 * 3073))

# A checkpoint: one epoch of two steps (8 images, batch 4), the k-NN monitor on 16 + 8 images after it.
"$bin" pretrain --dataset cifar10 --data "$data" --out "$tmp/run" --subset 8 --batch-size 4 --epochs 1 \
  --feature-dim 32 --knn-every 1 --knn-subset 16 --knn-test-subset 8 --threads 2 --workers 1 >"$tmp/pre.out" 2>&1
check "pretrain for a checkpoint: exit 0" test $? -eq 0 || cat "$tmp/pre.out" >&2
ckpt=$tmp/run/last.safetensors
check "checkpoint written" test -f "$ckpt"

# the row of the k-NN before training: no losses yet (empty fields), the k-NN numbers
row0=$(awk -F, '$1 == 0 { print $4 "|" $5 "|" $6 "|" ($7 != "") }' "$tmp/run/metrics.csv")
check "metrics.csv epoch-0 row: empty losses and a k-NN result ('$row0')" test "$row0" = "|||1"
# k-NN: the monitor's numbers after epoch 1 (metrics.csv columns knn_top1, knn_top5)
want=$(awk -F, '$1 == 1 { print $7 " " $8 }' "$tmp/run/metrics.csv")
"$bin" knn --checkpoint "$ckpt" --dataset cifar10 --data "$data" --subset 16 --test-subset 8 --batch-size 4 \
  --threads 2 --workers 1 >"$tmp/knn.out" 2>"$tmp/knn.err"
check "knn: exit 0" test $? -eq 0 || cat "$tmp/knn.err" >&2
got=$(sed -n 's/^k-NN top-1 \([0-9.]*\)%  top-5 \([0-9.]*\)%.*/\1 \2/p' "$tmp/knn.out")
check "knn reproduces the pretraining monitor ('$got' vs '$want')" test -n "$want" -a "$got" = "$want"
check "knn: architecture and size from the checkpoint" grep -q "k 16, T 0.5; resnet18 safetensors, 32 px; bank 16, test 8 images" "$tmp/knn.out"

# the same checkpoint as a PyTorch .pth (no config: the architecture comes from the tensors), if this
# build has `mixbt convert`; it carries mixbt's optimizer state too, which is ignored
if "$bin" --help | grep -q "^  convert "; then
  "$bin" convert "$ckpt" "$tmp/model.pth" >/dev/null 2>&1
  check "convert to .pth" test $? -eq 0
  "$bin" knn --checkpoint "$tmp/model.pth" --dataset cifar10 --data "$data" --subset 16 --test-subset 8 --batch-size 4 \
    --threads 2 --workers 1 >"$tmp/knn_pth.out" 2>"$tmp/knn_pth.err"
  check "knn on the .pth: exit 0" test $? -eq 0 || cat "$tmp/knn_pth.err" >&2
  got_pth=$(sed -n 's/^k-NN top-1 \([0-9.]*\)%  top-5 \([0-9.]*\)%.*/\1 \2/p' "$tmp/knn_pth.out")
  check "knn on the .pth: same numbers ('$got_pth' vs '$got')" test -n "$got" -a "$got_pth" = "$got"
  check "knn on the .pth: read as one" grep -q "resnet18 PyTorch .pth, 32 px" "$tmp/knn_pth.out"
fi

# linear, features once: a run folder with the configuration, one metrics row per epoch and the head
"$bin" linear --checkpoint "$ckpt" --data "$data" --features-once --epochs 3 --batch-size 16 --extract-batch 10 \
  --out "$tmp/lin" --threads 2 --workers 1 >"$tmp/lin.out" 2>"$tmp/lin.err"
check "linear --features-once: exit 0" test $? -eq 0 || cat "$tmp/lin.err" >&2
check "linear: best and last printed" grep -q "^linear: best test top-1 .* (epoch [1-3]), last top-1 .* top-5" "$tmp/lin.out"
check "linear: metrics.csv header" grep -q "^epoch,lr,train_loss,train_top1,train_top5,test_loss,test_top1,test_top5,elapsed_s$" "$tmp/lin/metrics.csv"
check "linear: 3 epochs in metrics.csv" test "$(wc -l <"$tmp/lin/metrics.csv")" -eq 4
check "linear: lr of epoch 2, 1e-2 * (1e-6/1e-2)^(1/3)" grep -q "^2,0.00046415888," "$tmp/lin/metrics.csv"
check "linear: config.json" grep -Eq '"features_once":[[:space:]]*true' "$tmp/lin/config.json"
check "linear: head saved" test -s "$tmp/lin/linear_head.safetensors"
"$bin" linear --checkpoint "$ckpt" --data "$data" --features-once --epochs 1 --out "$tmp/lin" >/dev/null 2>"$tmp/err"
check "linear into a used folder: exit 1" test $? -eq 1
check "linear into a used folder: one line" one_line "$tmp/err"
check "linear into a used folder: said so" grep -q "already holds a linear evaluation" "$tmp/err"

# linear, the reference mode: training-mode BN on augmented batches of 6, 6 and a last one of 4
"$bin" linear --checkpoint "$ckpt" --data "$data" --subset 16 --test-subset 4 --epochs 1 --batch-size 6 \
  --threads 2 --workers 2 >"$tmp/ref.out" 2>"$tmp/ref.err"
check "linear (reference mode): exit 0" test $? -eq 0 || cat "$tmp/ref.err" >&2
check "linear (reference mode): summary" grep -q "augmented images, training-mode BN, 1 epochs, 16 train / 4 test images" "$tmp/ref.out"

# embed: N x dim float32 and N int64 labels, 128-byte headers
"$bin" embed --checkpoint "$ckpt" --data "$data" --split test --out "$tmp/e/test.npy" >/dev/null 2>&1
check "embed into a missing folder: exit 1" test $? -eq 1
mkdir -p "$tmp/e"
"$bin" embed --checkpoint "$ckpt" --data "$data" --split test --out "$tmp/e/test.npy" --batch-size 4 >"$tmp/emb.out" 2>"$tmp/emb.err"
check "embed: exit 0" test $? -eq 0 || cat "$tmp/emb.err" >&2
check "embed: features size" test "$(stat -c %s "$tmp/e/test.npy")" -eq $((128 + 10 * 512 * 4))
check "embed: labels size" test "$(stat -c %s "$tmp/e/test_labels.npy")" -eq $((128 + 10 * 8))
"$bin" embed --checkpoint "$ckpt" --data "$data" --head --subset 12 --out "$tmp/e/head.npy" >/dev/null 2>&1
check "embed --head: exit 0" test $? -eq 0
check "embed --head: size" test "$(stat -c %s "$tmp/e/head.npy")" -eq $((128 + 12 * 32 * 4))
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  /usr/bin/python3 - "$tmp/e" <<'EOF'
import sys
import numpy as np
d = sys.argv[1]
x, y = np.load(d + "/test.npy"), np.load(d + "/test_labels.npy")
h, hy = np.load(d + "/head.npy"), np.load(d + "/head_labels.npy")
assert x.dtype == np.float32 and x.shape == (10, 512) and x.flags.c_contiguous, (x.dtype, x.shape)
assert y.dtype == np.int64 and list(y) == [(100 + r) % 10 for r in range(10)], y
assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
assert h.shape == (12, 32) and list(hy) == [r % 10 for r in range(12)], hy
assert np.allclose(np.linalg.norm(h, axis=1), 1, atol=1e-5)
EOF
  check "embed: numpy.load, labels in dataset order, unit rows" test $? -eq 0
else
  echo "cli_eval: /usr/bin/python3 with numpy not found; skipping the numpy.load check"
fi

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
expect 1 "$tmp/absent.safetensors: cannot open" "$bin" knn --checkpoint "$tmp/absent.safetensors" --data "$data"
expect 2 "--checkpoint FILE is required" "$bin" knn --data "$data"
expect 2 "--data DIR is required" "$bin" linear --checkpoint "$ckpt"
expect 1 "does not fit a resnet50 (architecture from --arch): " "$bin" knn --checkpoint "$ckpt" --data "$data" --arch resnet50 --batch-size 2
expect 1 "missing (f.3.0.conv3.weight" "$bin" linear --checkpoint "$ckpt" --data "$data" --arch resnet50 --features-once --extract-batch 2
expect 2 "--dataset: 'imagenet21k' is not one of" "$bin" knn --checkpoint "$ckpt" --data "$data" --dataset imagenet21k
expect 2 "--arch: 'resnet34' is not one of" "$bin" embed --checkpoint "$ckpt" --data "$data" --arch resnet34 --out "$tmp/x.npy"
expect 2 "--k: expected an integer" "$bin" knn --checkpoint "$ckpt" --data "$data" --k 0
expect 2 "--t: expected a number" "$bin" knn --checkpoint "$ckpt" --data "$data" --t -1
expect 2 "--batch-size: expected an integer" "$bin" knn --checkpoint "$ckpt" --data "$data" --batch-size many
expect 2 "--epochs: expected an integer" "$bin" linear --checkpoint "$ckpt" --data "$data" --epochs 0
expect 2 "--bn: 'sideways' is not one of" "$bin" linear --checkpoint "$ckpt" --data "$data" --bn sideways
expect 2 "cannot be combined with --bn train" "$bin" linear --checkpoint "$ckpt" --data "$data" --features-once --bn train
expect 2 "--split: 'val' is not one of" "$bin" embed --checkpoint "$ckpt" --data "$data" --split val --out "$tmp/x.npy"
expect 2 "must be named FILE.npy" "$bin" embed --checkpoint "$ckpt" --data "$data" --out "$tmp/x.txt"
expect 2 "unknown flag --kk" "$bin" knn --checkpoint "$ckpt" --data "$data" --kk 3
expect 1 "$tmp/nodata" "$bin" knn --checkpoint "$ckpt" --data "$tmp/nodata"
expect 1 "neither a safetensors file nor a PyTorch checkpoint" "$bin" knn --checkpoint "$data/test_batch.bin" --data "$data"
for c in knn linear embed; do
  "$bin" $c --help >"$tmp/help" 2>&1
  check "$c --help: exit 0" test $? -eq 0
  check "$c --help: lists --checkpoint" grep -q -- "--checkpoint FILE" "$tmp/help"
  "$bin" --help | grep -q "^  $c " ; check "mixbt --help lists $c" test $? -eq 0
done
# ImageNet-1k's layout (train/<wnid>/, a flat val/ with LOC_val_solution.csv) through knn and the
# imagenet linear protocol (evaluate_imagenet.py): JPEGs of varied sizes written with PIL when it is
# there (Debian's python3-pil; scripts/install-deps.sh --with-torch installs it)
py=""
for p in python3 /usr/bin/python3; do "$p" -c "import PIL" 2>/dev/null && { py=$p; break; }; done
if [ -n "$py" ]; then
  "$py" - "$tmp/inet" <<'PY'
import os, sys
from PIL import Image
root = sys.argv[1]
for c, wnid in enumerate(("n01", "n02")):
    os.makedirs(os.path.join(root, "train", wnid))
    for k in range(2):
        Image.new("RGB", (30 + 11 * k, 24 + 7 * c), (200 * c, 40 * k, 90)).save(os.path.join(root, "train", wnid, "%s_%d.JPEG" % (wnid, k)))
os.makedirs(os.path.join(root, "val"))
with open(os.path.join(root, "LOC_val_solution.csv"), "w") as f:
    f.write("ImageId,PredictionString\n")
    for k in range(2):
        Image.new("RGB", (26, 33), (200 * k, 20, 90)).save(os.path.join(root, "val", "ILSVRC2012_val_%08d.JPEG" % k))
        f.write("ILSVRC2012_val_%08d,n0%d 1 2 3 4\n" % (k, k + 1))
PY
  "$bin" knn --checkpoint "$ckpt" --dataset imagenet --data "$tmp/inet" --batch-size 2 --threads 2 --workers 1 \
    >"$tmp/iknn.out" 2>"$tmp/iknn.err"
  check "knn --dataset imagenet: exit 0" test $? -eq 0 || cat "$tmp/iknn.err" >&2
  check "knn --dataset imagenet: bank 4, test 2" grep -q "bank 4, test 2 images" "$tmp/iknn.out"
  "$bin" linear --protocol imagenet --checkpoint "$ckpt" --dataset imagenet --data "$tmp/inet" --epochs 2 --batch-size 2 \
    --threads 2 --workers 1 --out "$tmp/ilin" >"$tmp/ilin.out" 2>"$tmp/ilin.err"
  check "linear --protocol imagenet: exit 0" test $? -eq 0 || cat "$tmp/ilin.err" >&2
  check "linear --protocol imagenet: result line" grep -q "^linear (imagenet): best test top-1" "$tmp/ilin.out"
  check "linear --protocol imagenet: SGD from 0.3 along the cosine (0.3, 0.15)" \
    test "$(cut -d, -f2 "$tmp/ilin/metrics.csv" | tail -n +2 | tr '\n' ' ')" = "0.3 0.15 "
  check "linear --protocol imagenet: recorded" grep -q '"protocol":[[:space:]]*"imagenet"' "$tmp/ilin/config.json"
else
  echo "cli_eval: no PIL for python3: the ImageNet-layout runs are skipped" >&2
fi
expect 2 "cannot be combined with --bn train or --features-once" "$bin" linear --protocol imagenet --checkpoint "$ckpt" \
  --data "$data" --features-once

# --checkpoint's help names every layout the evaluation loader reads (tasks/evaluate_model.h)
for c in knn linear transfer embed; do
  "$bin" $c --help >"$tmp/help" 2>&1
  for layout in "any --method" "(f.*)" "(backbone.*)" "torchvision ResNet" "(model.module.*)"; do
    check "$c --help: --checkpoint names $layout" grep -qF -- "$layout" "$tmp/help"
  done
done

if [ "$fails" -ne 0 ]; then
  echo "cli_eval: $fails checks failed" >&2
  exit 1
fi
echo "cli_eval: all checks passed"
