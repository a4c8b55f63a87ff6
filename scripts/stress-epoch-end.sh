#!/usr/bin/env bash
# The reported heap corruption's setting, as a repeatable stress run: SIGTERM near the end of epoch 1 of
# the reporter's pretraining (CIFAR-10, 1024 images, batch 64, 2 threads, k-NN every 2 epochs), with
# OpenBLAS choosing its own kernels (OPENBLAS_CORETYPE unset: SkylakeX on an AVX-512 host). It reproduced
# the abort on 578de3a (glibc "corrupted size vs. prev_size while consolidating", 1 of 11 tries) and on
# 1650d86 (2 of 21 tries, with no last.safetensors left): the bug is not fixed.
#
# usage: scripts/stress-epoch-end.sh MIXBT CIFAR10_DIR [N]   (N tries, default 20; about 90 s each on 2 cores)
#
# Each try waits for the progress line of step 14, 15 or 16 of 16 (chosen at random), waits 0 to 2 s more,
# sends SIGTERM, and records the exit status (130, or 0 if it finished) and whether last.safetensors
# exists; any other status counts as a crash, and its log is kept as STRESS_KEEP/crash-TRY.log (default:
# the current folder) with its last lines printed. Prints one line per try and a summary; exit 1 on a crash.
set -u
mixbt=${1:?usage: scripts/stress-epoch-end.sh MIXBT CIFAR10_DIR [N]}
data=${2:?usage: scripts/stress-epoch-end.sh MIXBT CIFAR10_DIR [N]}
tries=${3:-20}
unset OPENBLAS_CORETYPE
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
crashes=0
for t in $(seq 1 "$tries"); do
  run=$out/run$t
  "$mixbt" pretrain --dataset cifar10 --data "$data" --arch resnet18 --subset 1024 --batch-size 64 --epochs 2 \
    --knn-every 2 --knn-subset 2000 --knn-test-subset 500 --seed 7 --threads 2 --print-every 1 --out "$run" \
    >"$out/log" 2>&1 &
  pid=$!
  line=$((14 + RANDOM % 3))
  while kill -0 $pid 2>/dev/null && ! grep -q "step $line/16" "$out/log"; do sleep 0.05; done
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
  [ $((RANDOM % 2)) = 1 ] && sleep 1
  kill -TERM $pid 2>/dev/null
  wait $pid
  rc=$?
  saved=no
  [ -s "$run/last.safetensors" ] && saved=yes
  verdict=ok
  if [ $rc -ne 130 ] && [ $rc -ne 0 ]; then
    verdict="CRASH: $(grep -m1 -E 'corrupted|double free|malloc|Sanitizer' "$out/log")"
    crashes=$((crashes + 1))
    keep=${STRESS_KEEP:-.}/crash-$t.log
    cp "$out/log" "$keep" && verdict="$verdict (log: $keep)"
    tail -n 4 "$out/log" | sed 's/^/    /'
  fi
  echo "try $t: SIGTERM after step $line/16, exit $rc, last.safetensors $saved: $verdict"
  rm -rf "$run"
done
echo "stress-epoch-end: $tries tries, $crashes crashes"
[ $crashes -eq 0 ]
