#!/usr/bin/env bash
# mixbt pretrain --method simclr|byol|wmse end to end on a tiny CIFAR-10-format dataset: each baseline runs
# a few steps, stops at --max-steps and resumes exactly (its losses and its final checkpoint, the target
# network, the optimizer state per segment and the k-NN monitor's rows included, equal an uninterrupted
# run's), its checkpoint carries ssl-sota's state_dict names and evaluates with `mixbt knn` (default and
# --protocol sslsota); W-MSE with 4 views per image does the same, resuming on the other loader, and the
# wmse4 preset runs; bad combinations get a one-line error before any run folder is made.
mixbt=$1
source "$(dirname "$0")/lib_cli.sh"
make_tiny_cifar "$tmp/c10" 11

common=(--data "$tmp/c10" --epochs 2 --batch-size 8 --subset 16 --emb 16 --head-size 32 --knn-every 2 --knn-k 5
        --knn-subset 16 --knn-test-subset 8 --threads 2 --workers 1 --seed 3)
for m in simclr byol wmse; do
  extra=()
  [ $m = wmse ] && extra=(--w-size 4 --w-iter 2)
  if "$mixbt" pretrain "${common[@]}" "${extra[@]}" --method $m --out "$tmp/$m-a" > "$tmp/$m-a.log" 2>&1; then ok
  else bad "$m: run failed: $(tail -2 "$tmp/$m-a.log")"; fi
  grep -q "\"method\":[[:space:]]*\"$m\"" "$tmp/$m-a/config.json" && ok || bad "$m: config.json has no method"
  head -1 "$tmp/$m-a/metrics.csv" | grep -q "^epoch,step,lr,loss,knn_top1" && ok || bad "$m: metrics header $(head -1 "$tmp/$m-a/metrics.csv")"
  # stopped after 3 of the 4 steps (mid-epoch 2), then resumed
  "$mixbt" pretrain "${common[@]}" "${extra[@]}" --method $m --out "$tmp/$m-b" --max-steps 3 > "$tmp/$m-b1.log" 2>&1
  rc=$?
  [ $rc -eq 130 ] && grep -q "resume with --resume" "$tmp/$m-b1.log" && ok || bad "$m: stop: rc $rc, $(tail -1 "$tmp/$m-b1.log")"
  if "$mixbt" pretrain --resume "$tmp/$m-b" --threads 2 --workers 1 > "$tmp/$m-b2.log" 2>&1; then ok
  else bad "$m: resume failed: $(tail -2 "$tmp/$m-b2.log")"; fi
  a=$(cut -d, -f1-6 "$tmp/$m-a/metrics.csv"); b=$(cut -d, -f1-6 "$tmp/$m-b/metrics.csv")
  [ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "$m: metrics after resume differ: '$b' vs '$a'"
  cmp -s "$tmp/$m-a/last.safetensors" "$tmp/$m-b/last.safetensors" && ok || bad "$m: last.safetensors after resume differs"
  # ssl-sota's names, and an optimizer state per segment
  names=$(head -c 200000 "$tmp/$m-a/last.safetensors" | tr -c '[:print:]' '\n')
  for want in model.module.conv1.weight head.0.weight head.1.running_mean mixbt.optimizer.exp_avg mixbt.optimizer.head.exp_avg; do
    grep -q "\"$want\"" <<< "$names" && ok || bad "$m: no $want in the checkpoint"
  done
  case $m in
    simclr) wants=(bn_last.weight) ;;
    byol) wants=(pred.0.weight model_t.module.conv1.weight head_t.0.weight mixbt.optimizer.pred.exp_avg) ;;
    wmse) wants=() ;;
  esac
  for want in "${wants[@]}"; do grep -q "\"$want\"" <<< "$names" && ok || bad "$m: no $want in the checkpoint"; done
  # evaluation finds the encoder
  if "$mixbt" knn --checkpoint "$tmp/$m-a/last.safetensors" --data "$tmp/c10" --subset 16 --test-subset 8 --batch-size 8 \
       --threads 2 --workers 1 > "$tmp/$m-knn.out" 2> "$tmp/$m-knn.err"; then ok
  else bad "$m: knn failed: $(tail -2 "$tmp/$m-knn.err")"; fi
  if "$mixbt" knn --protocol sslsota --checkpoint "$tmp/$m-a/last.safetensors" --data "$tmp/c10" --subset 16 \
       --test-subset 8 --batch-size 8 --threads 2 --workers 1 > "$tmp/$m-knn2.out" 2> "$tmp/$m-knn2.err"; then ok
  else bad "$m: knn --protocol sslsota failed: $(tail -2 "$tmp/$m-knn2.err")"; fi
done

# W-MSE with 4 views per image (--num-samples 4, the README's W-MSE 4): runs; stopped after 3 steps with the
# host loader and resumed with the device-resident one (on the CPU: the same views) it ends with the same
# losses and checkpoint bytes; its losses are not the 2-view run's; the wmse4 preset starts
w4=(--method wmse --num-samples 4 --w-size 4 --w-iter 2)
if "$mixbt" pretrain "${common[@]}" "${w4[@]}" --out "$tmp/w4-a" > "$tmp/w4-a.log" 2>&1; then ok
else bad "wmse 4 views: run failed: $(tail -2 "$tmp/w4-a.log")"; fi
grep -Eq '"num_samples":[[:space:]]*4' "$tmp/w4-a/config.json" && ok || bad "wmse 4 views: config.json has no num_samples 4"
"$mixbt" pretrain "${common[@]}" "${w4[@]}" --loader host --out "$tmp/w4-b" --max-steps 3 > "$tmp/w4-b1.log" 2>&1
rc=$?
[ $rc -eq 130 ] && grep -q "resume with --resume" "$tmp/w4-b1.log" && ok || bad "wmse 4 views: stop: rc $rc, $(tail -1 "$tmp/w4-b1.log")"
if "$mixbt" pretrain --resume "$tmp/w4-b" --loader device --threads 2 --workers 1 > "$tmp/w4-b2.log" 2>&1; then ok
else bad "wmse 4 views: resume failed: $(tail -2 "$tmp/w4-b2.log")"; fi
grep -q "training images kept on cpu" "$tmp/w4-b2.log" && ok || bad "wmse 4 views: --loader device did not keep the images"
a=$(cut -d, -f1-6 "$tmp/w4-a/metrics.csv"); b=$(cut -d, -f1-6 "$tmp/w4-b/metrics.csv")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "wmse 4 views: metrics after resume differ: '$b' vs '$a'"
cmp -s "$tmp/w4-a/last.safetensors" "$tmp/w4-b/last.safetensors" && ok || bad "wmse 4 views: last.safetensors after resume differs"
[ "$(cut -d, -f4 "$tmp/w4-a/metrics.csv")" != "$(cut -d, -f4 "$tmp/wmse-a/metrics.csv")" ] && ok ||
  bad "wmse: the losses with 4 views equal those with 2"
if "$mixbt" pretrain --preset cifar10-wmse4 --data "$tmp/c10" --epochs 1 --batch-size 8 --subset 8 --w-size 4 --emb 16 \
     --head-size 32 --knn-every 0 --threads 2 --workers 1 --out "$tmp/w4-p" > "$tmp/w4-p.log" 2>&1; then ok
else bad "--preset cifar10-wmse4 failed: $(tail -2 "$tmp/w4-p.log")"; fi
grep -Eq '"num_samples":[[:space:]]*4' "$tmp/w4-p/config.json" && ok || bad "--preset cifar10-wmse4: no num_samples 4 in config.json"

# bad combinations: one line, no folder
data=(--data "$tmp/c10" --knn-every 0)
expect_error "--w-size 5 does not divide --batch-size 8" pretrain "${data[@]}" --method wmse --batch-size 8 --w-size 5 --out "$tmp/x1"
expect_error "--num-samples 1" pretrain "${data[@]}" --method simclr --num-samples 1 --out "$tmp/x2"
expect_error --rc 2 "num-samples" pretrain "${data[@]}" --method byol --num-samples 5 --out "$tmp/x9"
expect_error "--lambda-reg does not apply to --method byol" pretrain "${data[@]}" --method byol --lambda-reg 4 --out "$tmp/x3"
expect_error "--lambda-reg does not apply to --method simclr" pretrain "${data[@]}" --method simclr --lambda-reg 1 --out "$tmp/x4"
expect_error "--emb does not apply to --method mixbt" pretrain "${data[@]}" --emb 32 --out "$tmp/x5"
expect_error "--tau does not apply to --method bt" pretrain "${data[@]}" --method bt --tau 0.2 --out "$tmp/x6"
expect_error "--w-size does not apply to --method simclr" pretrain "${data[@]}" --method simclr --w-size 4 --out "$tmp/x7"
expect_error "unknown recipe" pretrain "${data[@]}" --preset cifar10-swav --out "$tmp/x8"
expect_error "unknown recipe" pretrain "${data[@]}" --preset stl10-wmse2 --out "$tmp/x10"
for x in x1 x2 x3 x4 x5 x6 x7 x8 x9 x10; do [ ! -e "$tmp/$x" ] && ok || bad "a run folder $x was made before the error"; done

echo "cli_pretrain_ssl: $pass passed, $fails failed"
[ $fails -eq 0 ]
