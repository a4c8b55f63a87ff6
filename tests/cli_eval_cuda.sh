#!/usr/bin/env bash
# --device on the evaluation commands (knn, embed, linear, transfer): a bad value or a device this build
# or machine cannot run is a one-line error with a non-zero exit; with a GPU, knn and embed on cuda give
# the CPU's features (exact fp32, MIXBT_NO_TF32=1) and numbers, linear --features-once on cuda the CPU's
# accuracy, and linear in the reference BN mode (training-mode BN) on cuda the CPU's losses and accuracy.
# Without a GPU only the errors are checked (the rest is reported as skipped in the output, the test
# passes).
mixbt=$1
source "$(dirname "$0")/lib_cli.sh"
make_tiny_cifar "$tmp/c10" 13
export MIXBT_NO_TF32=1

"$mixbt" pretrain --data "$tmp/c10" --out "$tmp/run" --epochs 1 --batch-size 16 --subset 32 --feature-dim 32 \
  --knn-every 0 --threads 2 --workers 1 --seed 3 > "$tmp/pre.log" 2>&1 && ok || bad "pretrain: $(tail -2 "$tmp/pre.log")"
ckpt=$tmp/run/last.safetensors
eval_flags=(--checkpoint "$ckpt" --dataset cifar10 --data "$tmp/c10" --threads 2 --workers 1)

for cmd in knn embed linear; do
  extra=()
  [ $cmd = embed ] && extra=(--out "$tmp/x.npy")
  [ $cmd = linear ] && extra=(--epochs 1 --features-once)
  expect_error "--device gpu: expected cpu, cuda or cuda:N" $cmd "${eval_flags[@]}" "${extra[@]}" --device gpu
done
expect_error "--device gpu: expected" transfer --checkpoint "$ckpt" --target mnist --data "$tmp/c10" --epochs 1 \
  --features-once --device gpu

# cuda: runs where there is a GPU, else one clear line
"$mixbt" knn "${eval_flags[@]}" --device cuda > "$tmp/knn_gpu.out" 2> "$tmp/knn_gpu.err"
rc=$?
end_unless_gpu cli_eval_cuda $rc "$tmp/knn_gpu.err"

# k-NN: the same numbers on both devices
"$mixbt" knn "${eval_flags[@]}" > "$tmp/knn_cpu.out" 2>&1 || bad "knn on the cpu: $(tail -2 "$tmp/knn_cpu.out")"
numbers() { sed -n 's/^k-NN top-1 \([0-9.]*\)%  top-5 \([0-9.]*\)%.*/\1 \2/p' "$1"; }
a=$(numbers "$tmp/knn_cpu.out"); b=$(numbers "$tmp/knn_gpu.out")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "knn: cpu '$a', cuda '$b'"

# embed: the features agree entry by entry (float32 .npy after a header)
for dev in cpu cuda; do
  "$mixbt" embed "${eval_flags[@]}" --test --device $dev --out "$tmp/f_$dev.npy" > "$tmp/e_$dev.log" 2>&1 ||
    bad "embed --device $dev: $(tail -2 "$tmp/e_$dev.log")"
done
python3 - "$tmp/f_cpu.npy" "$tmp/f_cuda.npy" <<'PY' && ok || bad "embed: cuda features differ from the cpu's"
import struct, sys
def rows(path):
    raw = open(path, "rb").read()
    start = 10 + struct.unpack("<H", raw[8:10])[0]
    return struct.unpack("<%df" % ((len(raw) - start) // 4), raw[start:])
a, b = rows(sys.argv[1]), rows(sys.argv[2])
worst = max(abs(x - y) for x, y in zip(a, b)) if len(a) == len(b) and a else float("inf")
print("cli_eval_cuda: embed, %d values, largest difference %.3g" % (len(a), worst))
sys.exit(0 if worst < 1e-4 else 1)
PY

# linear: features once gives the CPU's accuracy
for dev in cpu cuda; do
  "$mixbt" linear "${eval_flags[@]}" --epochs 2 --features-once --device $dev > "$tmp/l_$dev.out" 2>&1 ||
    bad "linear --device $dev: $(tail -2 "$tmp/l_$dev.out")"
done
a=$(grep -i 'top-1' "$tmp/l_cpu.out" | tail -1); b=$(grep -i 'top-1' "$tmp/l_cuda.out" | tail -1)
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "linear --features-once: cpu '$a', cuda '$b'"

# linear, the reference mode (training-mode BN on augmented batches of 24, 24, 24, 24 and a last one of 4):
# the GPU's losses are the CPU's within 1e-3 and its accuracies within one test image of 32
for dev in cpu cuda; do
  "$mixbt" linear "${eval_flags[@]}" --epochs 2 --batch-size 24 --device $dev --out "$tmp/lt_$dev" \
    > "$tmp/lt_$dev.out" 2>&1 || bad "linear --bn train --device $dev: $(tail -2 "$tmp/lt_$dev.out")"
done
python3 - "$tmp/lt_cpu/metrics.csv" "$tmp/lt_cuda/metrics.csv" <<'PY' && ok || bad "linear --bn train: cuda differs from the cpu"
import csv, sys
cpu, gpu = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
worst = 0.0
for a, b in zip(cpu, gpu):
    for k in ("train_loss", "test_loss"):
        worst = max(worst, abs(float(a[k]) - float(b[k])) / abs(float(a[k])))
    for k in ("test_top1", "test_top5"):
        if abs(float(a[k]) - float(b[k])) > 100 / 32 + 1e-6: worst = float("inf")
print("cli_eval_cuda: linear --bn train, %d epochs, largest relative loss difference %.3g" % (len(cpu), worst))
sys.exit(0 if len(cpu) == len(gpu) == 2 and worst < 1e-3 else 1)
PY

echo "cli_eval_cuda: $pass passed, $fails failed"
[ $fails -eq 0 ]
