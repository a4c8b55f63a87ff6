#!/usr/bin/env bash
# mixbt pretrain end to end on a tiny CIFAR-10-format dataset the test writes: a run folder with its
# files, exact resume (the losses after --max-steps + --resume equal an uninterrupted run's, also when
# the resume switches to --loader device, which must give the same batches), and
# one-line errors with a non-zero exit for bad flags, missing or corrupt data, and mismatched resumes.
mixbt=$1
source "$(dirname "$0")/lib_cli.sh"
make_tiny_cifar "$tmp/c10" 7

common=(--data "$tmp/c10" --epochs 2 --batch-size 16 --subset 64 --feature-dim 32 --knn-every 0
        --threads 2 --workers 2 --seed 5)

# an uninterrupted run
if "$mixbt" pretrain "${common[@]}" --out "$tmp/a" > "$tmp/a.log" 2>&1; then ok; else bad "run a failed: $(tail -2 "$tmp/a.log")"; fi
for f in config.json metrics.csv last.safetensors; do  # best.safetensors needs the k-NN monitor
  [ -s "$tmp/a/$f" ] && ok || bad "run a: no $f"
done
[ "$(wc -l < "$tmp/a/metrics.csv")" -eq 3 ] && ok || bad "run a: metrics.csv should have a header and 2 epochs"
# the curves, redrawn after each epoch
[ "$(head -c 4 "$tmp/a/curves.png" 2>/dev/null)" = $'\x89PNG' ] && ok || bad "run a: no curves.png after its epochs"
# the checkpoint's cost table is that of the model its flags describe (ResNet-18, 32 px, projector 512-32)
"$mixbt" inspect "$tmp/a/last.safetensors" | sed -n '/^model:/,/^  total/p' > "$tmp/cost_ckpt"
"$mixbt" inspect --model --arch resnet18 --image-size 32 --projector 512-32 | sed -n '/^model:/,/^  total/p' > "$tmp/cost_flags"
[ "$(wc -l < "$tmp/cost_ckpt")" -eq 5 ] && cmp -s "$tmp/cost_ckpt" "$tmp/cost_flags" && ok ||
  bad "inspect: the checkpoint's cost table differs from --model's: $(diff "$tmp/cost_ckpt" "$tmp/cost_flags" | head -3)"

# the same run stopped after 3 steps (mid-epoch 1 of 4 steps), then resumed
# (--out in folders that do not exist yet: they are made)
"$mixbt" pretrain "${common[@]}" --out "$tmp/runs/new/b" --max-steps 3 > "$tmp/b1.log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "resume with --resume" "$tmp/b1.log" && ok || bad "stop at --max-steps: rc $rc, $(tail -1 "$tmp/b1.log")"
mv "$tmp/runs/new/b" "$tmp/b"  # a run folder may move
[ -s "$tmp/b/last.safetensors" ] && ok || bad "no checkpoint after the stop"
if "$mixbt" pretrain --resume "$tmp/b" --threads 2 --workers 2 --loader device > "$tmp/b2.log" 2>&1; then ok; else bad "resume failed: $(tail -2 "$tmp/b2.log")"; fi
grep -q "training images kept on cpu" "$tmp/b2.log" && ok || bad "--loader device: no 'kept on cpu' line in the log"
a2=$(awk -F, '$1 == 2 {print $4, $5}' "$tmp/a/metrics.csv")
b2=$(awk -F, '$1 == 2 {print $4, $5}' "$tmp/b/metrics.csv")
[ -n "$a2" ] && [ "$a2" = "$b2" ] && ok || bad "epoch 2 losses after resume '$b2' differ from the uninterrupted run's '$a2'"

# a plot that cannot be drawn (PLplot without its drivers) is one warning line per epoch, not a failed run
if PLPLOT_DRV_DIR="$tmp/no_drivers" "$mixbt" pretrain "${common[@]}" --epochs 1 --warmup-epochs 0 --out "$tmp/e" > "$tmp/e.log" 2>&1; then ok
else bad "run e (no PLplot drivers) failed: $(tail -2 "$tmp/e.log")"; fi
[ "$(grep -c "^warning: $tmp/e/curves.png not redrawn: PLplot: " "$tmp/e.log")" -eq 1 ] && [ -s "$tmp/e/last.safetensors" ] &&
  [ ! -e "$tmp/e/curves.png" ] && ok || bad "run e: expected one warning line and a checkpoint: $(grep -i plplot "$tmp/e.log")"

# errors: one line naming the flag or file, non-zero exit
expect_error "unknown flag --bogus" pretrain --bogus 1
expect_error "--batch-size" pretrain --data "$tmp/c10" --out "$tmp/x" --batch-size abc
expect_error "--dataset" pretrain --dataset imagenet9 --data "$tmp/c10" --out "$tmp/x"
expect_error "--data DIR is required" pretrain --out "$tmp/x"
expect_error "nonexistent" pretrain --data "$tmp/nonexistent" --out "$tmp/x1"
expect_error "already holds a run" pretrain "${common[@]}" --out "$tmp/a"
expect_error "is not a folder" pretrain "${common[@]}" --out "$tmp/a/config.json"
expect_error "config.json" pretrain --resume "$tmp/nonexistent_run"
expect_error "--warmup-epochs 2 equals --epochs" pretrain "${common[@]}" --warmup-epochs 2 --out "$tmp/x4"
expect_error "unknown recipe" pretrain --preset cifar10-resnet99 --data "$tmp/c10" --out "$tmp/x2"
# a corrupt data file: truncated record
mkdir -p "$tmp/bad"
cp "$tmp/c10/"*.bin "$tmp/bad/"
head -c 5000 "$tmp/c10/data_batch_1.bin" > "$tmp/bad/data_batch_1.bin"
expect_error "data_batch_1.bin" pretrain --data "$tmp/bad" --out "$tmp/x3" --knn-every 0
# a resume whose checkpoint does not fit the configuration (feature dimension changed)
cp -r "$tmp/a" "$tmp/c"
sed -i 's/"feature_dim":[[:space:]]*32/"feature_dim": 48/' "$tmp/c/config.json"
expect_error "last.safetensors" pretrain --resume "$tmp/c"
# a corrupt checkpoint
cp -r "$tmp/a" "$tmp/d"
head -c 100 "$tmp/a/last.safetensors" > "$tmp/d/last.safetensors"
expect_error "last.safetensors" pretrain --resume "$tmp/d"

echo "cli_pretrain: $pass passed, $fails failed"
[ $fails -eq 0 ]
