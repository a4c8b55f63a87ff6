#!/usr/bin/env bash
# Stopping mixbt with a signal: SIGTERM during pretraining's training steps and during its k-NN pass
# exits 130 promptly with the one-line message, and --resume then ends exactly as an uninterrupted
# run (metrics.csv equal but for the timing columns); `mixbt knn` stops the same way; a NaN loss
# stops with exit 1 and keeps the last good checkpoint. The k-NN pass is made long enough for the
# signal to land inside it by the data: the monitor's memory bank is the whole training split (400
# generated images), while training uses --subset 32.
mixbt=$1
source "$(dirname "$0")/lib_cli.sh"
mkdir -p "$tmp/c10"
python3 - "$tmp/c10" <<'PY'
import os, sys, random
d, r = sys.argv[1], random.Random(3)
def batch(name, n):
    with open(os.path.join(d, name), "wb") as f:
        for i in range(n):
            f.write(bytes([i % 10]) + r.randbytes(3072))
for k in range(1, 6):
    batch("data_batch_%d.bin" % k, 80)
batch("test_batch.bin", 32)
PY

cfg=(--data "$tmp/c10" --epochs 2 --batch-size 8 --subset 32 --feature-dim 32 --image-size 16 --knn-every 1
     --threads 1 --workers 2 --seed 9 --print-every 1)
metrics() { cut -d, -f1-8 "$1/metrics.csv"; }

# start_run NAME PATTERN DELAY ARGS...: starts `mixbt ARGS` in the background with its output in
# $tmp/NAME.log and sends SIGTERM DELAY seconds after PATTERN shows up there; sets rc and took (seconds
# from the signal to the exit).
stop_run() {
  local name=$1 pattern=$2 delay=$3; shift 3
  : > "$tmp/$name.log"
  "$mixbt" "$@" > "$tmp/$name.log" 2>&1 &
  local pid=$! waited=0
  until grep -q -- "$pattern" "$tmp/$name.log"; do
    sleep 0.02
    waited=$((waited + 1))
    kill -0 $pid 2>/dev/null && [ $waited -lt 15000 ] || break
  done
  sleep "$delay"
  local t0
  t0=$(date +%s.%N)
  kill -TERM $pid 2>/dev/null
  wait $pid
  rc=$?
  took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

# check_stop NAME PHASE: exit 130 within $limit s, last line the stop message naming PHASE
check_stop() {
  local name=$1 phase=$2 last
  last=$(tail -1 "$tmp/$name.log")
  [ "$rc" -eq 130 ] && ok || bad "$name: exit status $rc (expected 130): $(tail -3 "$tmp/$name.log")"
  awk -v t="$took" -v l="$limit" 'BEGIN { exit !(t <= l) }' && ok || bad "$name: exited $took s after the signal (limit $limit s)"
  [[ $last == "mixbt "*": stopped by SIGTERM during $phase"* ]] && ok || bad "$name: last line '$last' (expected a stop during $phase)"
}

# the uninterrupted run. It sets the exit-time limit of a stop: 10 s, or a third of this whole run (8
# steps, three k-NN passes, four checkpoint writes) where the machine is so busy that this is longer (a
# stop waits for the step in flight and then writes a checkpoint: on a 2-core machine at load 14 that
# took 12.9 s). The stop's position in the message shows separately that it did not wait for more.
t_a=$(date +%s.%N)
"$mixbt" pretrain "${cfg[@]}" --out "$tmp/a" > "$tmp/a.log" 2>&1 && ok || bad "run a failed: $(tail -2 "$tmp/a.log")"
limit=$(awk -v a="$t_a" -v b="$(date +%s.%N)" 'BEGIN { l = (b - a) / 3; printf "%.1f", (l > 10 ? l : 10) }')
grep -q "^k-NN pass after epoch 1: features of 400 bank + 32 test images" "$tmp/a.log" && ok ||
  bad "no line saying that the k-NN pass is under way in a log that is not a terminal"

# a malformed MIXBT_PROGRESS_SECONDS is refused before any work, whatever the command
for v in abc -1 nan inf 3s ""; do
  MIXBT_PROGRESS_SECONDS=$v expect_error --rc 2 "MIXBT_PROGRESS_SECONDS='$v': expected seconds between progress lines" \
    pretrain "${cfg[@]}" --out "$tmp/env"
done
[ ! -e "$tmp/env" ] && ok || bad "a refused MIXBT_PROGRESS_SECONDS left a run folder"

# SIGTERM during training: epoch 1, right after its first step's line
stop_run b "epoch 1/2  step 1/4" 0 pretrain "${cfg[@]}" --out "$tmp/b"
check_stop b "training (epoch 1)"
grep -q "last checkpoint: $tmp/b/last.safetensors (epoch 1, batch [1-3] of 4, step [1-3]); resume with --resume $tmp/b\$" \
  "$tmp/b.log" && ok || bad "b: message without the checkpoint's position: $(tail -1 "$tmp/b.log")"
"$mixbt" pretrain --resume "$tmp/b" --threads 1 --workers 2 > "$tmp/b2.log" 2>&1 && ok || bad "b: resume failed: $(tail -2 "$tmp/b2.log")"
[ "$(metrics "$tmp/b")" = "$(metrics "$tmp/a")" ] && ok || bad "b: metrics after resume differ: $(diff <(metrics "$tmp/a") <(metrics "$tmp/b") | tr '\n' ' ')"

# SIGTERM inside the k-NN pass after epoch 1 (a progress line after every batch shows where it stopped:
# before the pass's end): epoch 1's checkpoint is written, the pass runs again on resume
MIXBT_PROGRESS_SECONDS=0 stop_run k "k-NN pass after epoch 1: features" 0.2 pretrain "${cfg[@]}" --out "$tmp/k"
check_stop k "the k-NN pass after epoch 1"
done_at=$(grep -o "^k-NN pass after epoch 1: [0-9]*/432 images" "$tmp/k.log" | tail -1 | sed 's/.*: \([0-9]*\)\/.*/\1/')
[ -n "$done_at" ] && [ "$done_at" -lt 432 ] && ok || bad "k: the pass was not cut short (last progress at ${done_at:-none}/432 images)"
grep -q "last checkpoint: $tmp/k/last.safetensors (epoch 1 trained, step 4); resume with --resume $tmp/k (the k-NN pass runs again)" \
  "$tmp/k.log" && ok || bad "k: message: $(tail -1 "$tmp/k.log")"
"$mixbt" pretrain --resume "$tmp/k" --threads 1 --workers 2 > "$tmp/k2.log" 2>&1 && ok || bad "k: resume failed: $(tail -2 "$tmp/k2.log")"
[ "$(metrics "$tmp/k")" = "$(metrics "$tmp/a")" ] && ok || bad "k: metrics after resume differ: $(diff <(metrics "$tmp/a") <(metrics "$tmp/k") | tr '\n' ' ')"

# the standalone k-NN command: SIGTERM during its bank pass (progress lines every 0.2 s off a terminal)
MIXBT_PROGRESS_SECONDS=0.2 stop_run knn "bank [0-9]*/400" 0 knn --checkpoint "$tmp/a/last.safetensors" --data "$tmp/c10" \
  --batch-size 8 --threads 1 --workers 2
check_stop knn "the bank feature pass"

# a NaN loss (training diverged after a checkpoint: the resumed run's optimizer state is made
# negative, so its first update turns the weights into NaN): exit 1, one line naming the last good
# checkpoint, which stays as it was, and no metrics row for the failed epoch
nan=(--data "$tmp/c10" --epochs 2 --batch-size 8 --subset 32 --feature-dim 32 --image-size 16 --knn-every 0
     --threads 1 --workers 2 --seed 9)
"$mixbt" pretrain "${nan[@]}" --max-steps 4 --out "$tmp/n" > "$tmp/n1.log" 2>&1  # stops at the end of epoch 1
python3 - "$tmp/n/last.safetensors" <<'PY'
import json, struct, sys
with open(sys.argv[1], "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    begin, end = json.loads(f.read(n))["mixbt.optimizer.exp_avg_sq"]["data_offsets"]
    f.seek(8 + n + begin)
    f.write(struct.pack("<f", -1.0) * ((end - begin) // 4))
PY
before=$(md5sum < "$tmp/n/last.safetensors")
"$mixbt" pretrain --resume "$tmp/n" --threads 1 --workers 2 > "$tmp/n.log" 2>&1
rc=$?
[ $rc -eq 1 ] && ok || bad "NaN run: exit status $rc (expected 1): $(tail -2 "$tmp/n.log")"
grep -Eq "^mixbt pretrain: .*(nan|non-finite).* at epoch 2, step [4-7]; stopped; the last good checkpoint is kept: $tmp/n/last.safetensors \(end of epoch 1, step 4\)\$" \
  "$tmp/n.log" && ok || bad "NaN run: message: $(tail -1 "$tmp/n.log")"
[ "$(md5sum < "$tmp/n/last.safetensors")" = "$before" ] && ok || bad "NaN run: last.safetensors was overwritten"
[ "$(cut -d, -f1 "$tmp/n/metrics.csv" | tail -1)" = 1 ] && ok || bad "NaN run: a metrics row after the failure"

echo "cli_stop: $pass passed, $fails failed"
[ $fails -eq 0 ]
