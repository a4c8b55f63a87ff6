#!/usr/bin/env bash
# Stop-safety stress test of `mixbt pretrain`: SIGTERM at random moments of tiny runs, then checks.
#
# usage: scripts/stress-stop.sh MIXBT [N]     (N tries, default 50; at most STRESS_SECONDS, default 900)
#
# Each try starts a tiny run (2 epochs of 4 steps of 4 images, 16-px ResNet-18, k-NN monitor every epoch, a
# numbered checkpoint every epoch) and sends one SIGTERM, in turn: at a random time of the run, in the
# last steps of epoch 1, at its boundary (end of training, start of the k-NN pass), inside the k-NN pass,
# and during the checkpoint writes. Every try must exit 130 (or 0 if it finished first) within 10 s of
# the signal, with the one-line stop message, no crash or sanitizer report, a readable
# last.safetensors, and a --resume that ends with metrics.csv (all but the timing columns) equal to an
# uninterrupted run's. Works with any build (Release, ASan+UBSan, TSan); STRESS_THREADS (default 1:
# OpenMP off, whose runtime ThreadSanitizer cannot see; the 2 loader threads run either way);
# STRESS_EXIT_LIMIT (default 10 s; a TSan build's step alone can take longer on a busy machine).
set -u
mixbt=${1:?usage: scripts/stress-stop.sh MIXBT [N]}
tries=${2:-50}
limit=${STRESS_SECONDS:-900}
threads=${STRESS_THREADS:-1}
exit_limit=${STRESS_EXIT_LIMIT:-10}
source "$(dirname "$0")/../tests/lib_cli.sh"
make_tiny_cifar "$tmp/c10" 11
RANDOM=${STRESS_SEED:-$$}

cfg=(--data "$tmp/c10" --epochs 2 --batch-size 4 --subset 16 --feature-dim 32 --image-size 16 --knn-every 1 --knn-subset 48
     --checkpoint-every 1 --threads "$threads" --workers 2 --seed 3 --print-every 1)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# rand_delay MAX: a random delay in [0, MAX) seconds
rand_delay() { awk -v m="$1" -v r="$RANDOM" 'BEGIN { printf "%.3f", m * r / 32768 }'; }
metrics() { cut -d, -f1-8 "$1/metrics.csv"; }

t0=$(now)
if ! "$mixbt" pretrain "${cfg[@]}" --out "$tmp/ref" > "$tmp/ref.log" 2>&1; then
  echo "stress-stop: the uninterrupted run failed: $(tail -2 "$tmp/ref.log")"; exit 1
fi
run_s=$(secs "$t0" "$(now)")
echo "stress-stop: uninterrupted run: ${run_s} s; $tries tries (at most ${limit} s)"

modes=("random time" "last steps of epoch 1" "epoch boundary" "k-NN pass" "checkpoint write")
stopped=0 finished=0 slowest=0 done_tries=0
start=$(now)
for ((i = 1; i <= tries; i++)); do
  [ "$(secs "$start" "$(now)" | cut -d. -f1)" -ge "$limit" ] && { echo "stress-stop: time limit reached"; break; }
  mode=$(( (i - 1) % 5 ))
  case $mode in
    0) pattern=""; delay=$(rand_delay "$run_s") ;;
    1) pattern="epoch 1/2  step 3/4"; delay=$(rand_delay 1.5) ;;
    2) pattern="epoch 1/2  step 4/4"; delay=$(rand_delay 0.3) ;;
    3) pattern="k-NN pass after epoch"; delay=$(rand_delay 0.4) ;;
    4) pattern="k-NN top-1"; delay=$(rand_delay 0.05) ;;
  esac
  run="$tmp/r$i"
  : > "$run.log"
  "$mixbt" pretrain "${cfg[@]}" --out "$run" > "$run.log" 2>&1 &
  pid=$!
  if [ -n "$pattern" ]; then
    while kill -0 $pid 2>/dev/null && ! grep -q -- "$pattern" "$run.log" 2>/dev/null; do sleep 0.01; done
  fi
  sleep "$delay"
  sig_at=$(now)
  kill -TERM $pid 2>/dev/null
  wait $pid
  rc=$?
  took=$(secs "$sig_at" "$(now)")
  done_tries=$i
  what="try $i (${modes[$mode]}, +${delay} s)"
  slowest=$(awk -v a="$slowest" -v b="$took" 'BEGIN { print (b > a ? b : a) }')
  if grep -Eq "Sanitizer|runtime error|corrupted|double free|malloc\(\)|free\(\)" "$run.log"; then
    bad "$what: crash or sanitizer report: $(grep -Em2 "Sanitizer|runtime error|corrupted|free" "$run.log")"; continue
  fi
  if [ $rc -eq 0 ]; then
    finished=$((finished + 1))
  elif [ $rc -eq 130 ]; then
    stopped=$((stopped + 1))
    last=$(tail -1 "$run.log")
    [[ $last == "mixbt pretrain: stopped by SIGTERM during "*"; last checkpoint: "*"; resume with --resume "* ]] ||
      { bad "$what: unexpected last line: $last"; continue; }
    [ "$(awk -v t="$took" -v l="$exit_limit" 'BEGIN { print (t <= l) }')" = 1 ] ||
      bad "$what: exited ${took} s after the signal (limit ${exit_limit} s)"
    "$mixbt" inspect "$run/last.safetensors" > /dev/null 2>&1 || { bad "$what: last.safetensors unreadable"; continue; }
    if ! "$mixbt" pretrain --resume "$run" --threads "$threads" --workers 2 > "$run.resume.log" 2>&1; then
      bad "$what: resume failed: $(tail -2 "$run.resume.log")"; continue
    fi
  else
    bad "$what: exit status $rc ${took} s after the signal: $(tail -2 "$run.log")"; continue
  fi
  if [ "$(metrics "$run")" = "$(metrics "$tmp/ref")" ]; then ok
  else bad "$what (rc $rc): metrics differ from the uninterrupted run's: $(diff <(metrics "$tmp/ref") <(metrics "$run") | tr '\n' ' ')"
  fi
  rm -rf "$run" "$run".*log
done
echo "stress-stop: $done_tries tries: $stopped stopped (130), $finished finished first (0); $pass passed, $fails failed;" \
     "slowest exit ${slowest} s after the signal"
[ $fails -eq 0 ]
