#!/usr/bin/env bash
# Issue 6's GPU proof: a short CIFAR-10 Mixed BT pretraining with `mixbt pretrain --device cuda` and its PyTorch peer, two seeds each (k-NN accuracy and end-to-end epoch time).
#
# What runs, for each seed in SEEDS (mixbt then the peer, seed by seed, so that a cut-short run still
# leaves one complete pair):
#   mixbt:  BUILD_DIR/mixbt pretrain --device DEVICE: ResNet-18, feature dim 1024, batch 256, lr 0.01,
#           cosine with WARMUP_EPOCHS of warm-up and SPEC quirk 1 (the step counter starts one epoch in),
#           Adam wd 1e-6, lambda_bt 1/128, lambda_reg 4 (the cifar10-resnet18 preset) for EPOCHS epochs;
#           k-NN monitor (k=200, T=0.5) before training and every KNN_EVERY epochs.
#   peer:   tools/torch_short_pretrain.py --device DEVICE: the model, loss, transforms and k-NN of
#           torch_reference.py with the SAME recipe and schedule (quirk 1 and WARMUP_EPOCHS included) and
#           the SAME data (the first SUBSET images of the binary files mixbt reads), fed by the reference
#           pipeline of torch_reference.py part 3 (train_short): torchvision PIL transforms in a DataLoader
#           with WORKERS processes (14 on 16 CPUs, the reference's), pinned memory, persistent workers,
#           non-blocking copies, cudnn.benchmark, PyTorch's default precision (cuDNN TF32, fp32 matmuls).
# Why this peer: train_short itself has no quirk-1 offset (its warm-up starts at step 0), so its accuracy
# after a few epochs would differ by schedule alone; the peer keeps train_short's data pipeline and step
# (so its epoch time IS the reference pipeline's) and mixbt's schedule (so the accuracies are comparable).
# Epoch time = training wall time of an epoch (loader + steps, k-NN excluded), as both programs report it.
#
# Verdict: accuracy = mean k-NN top-1 after the last epoch over the seeds, mixbt vs peer; it passes when
# |difference| <= the spread (max - min) of the PEER's seeds, the reference's own seed-to-seed variation.
# (The max - min over all four runs is printed too but is no test: it can never be below the difference
# of the two means.) Speed = peer mean epoch time / mixbt mean epoch time, target >= 2.
#
# Usage: scripts/gpu_pretrain_compare.sh [BUILD_DIR]          (or BUILD_DIR=..., default build-gpu)
#   On the GPU machine, with the data and the reference carried in the ignored folder .gpu-carry/
#   (made here by: mkdir -p .gpu-carry && cp -r ../shared/data/cifar10 ../shared/reference/torch_reference.py
#   .gpu-carry/ ; then carry [".gpu-carry"] in the device call, after scripts/gpu_check.sh built build-gpu):
#     OUT=$OUT scripts/gpu_pretrain_compare.sh
#   Smoke test on a CPU (minutes):
#     DEVICE=cpu BUILD_DIR=build EPOCHS=1 SUBSET=512 KNN_SUBSET=512 KNN_TEST_SUBSET=256 BATCH=64 \
#       scripts/gpu_pretrain_compare.sh
# Environment (defaults in brackets):
#   DEVICE [cuda]            cuda, cuda:N or cpu, for both programs
#   PRECISION [fp32]         mixbt's --precision (bf16: cuda only); the peer always runs in its default
#   CIFAR_SRC                folder holding a copy of ../shared/data/cifar10 (cifar10-jpg.tar.xz, prepare.sh,
#                            to_cifar_bin.py) [.gpu-carry/cifar10, else ../shared/data/cifar10]
#   CIFAR_DEST [/tmp/cifar10] where prepare.sh writes; skipped when DEST/cifar-10-batches-bin/.complete exists
#   MIXBT_TORCH_PEER         torch_reference.py [.gpu-carry/torch_reference.py, else ../shared/reference/...]
#   PYTHON                   python with torch + torchvision [first of python3, /usr/bin/python3 that has them,
#                            with CUDA when DEVICE is cuda]
#   EPOCHS [2]  WARMUP_EPOCHS [10]  BATCH [256]  FEATURE_DIM [1024]  SEEDS ["0 1"]
#   SUBSET [0 = all 50000]  KNN_SUBSET [0 = all 50000]  KNN_TEST_SUBSET [0 = all 10000]  KNN_EVERY [1]
#   WORKERS [nproc-2, at least 1]  KNN_WORKERS [min(8, nproc)]  THREADS [nproc]
#   BUDGET_S [540 on cuda, 3600 on cpu]: the whole script's wall-clock limit; every stage's timeout is cut
#            to what is left of it (15 s kept for the summary), so partial results are still reported
#   RUN_CAP_S: one run's limit [on cuda: 2x the run's conservative estimate + 30 s; on cpu: BUDGET_S]
#   RUN_DIR [a new /tmp/gpu_pretrain.XXXXXX]: run folders and logs
#   OUT: everything printed also goes to $OUT/gpu_pretrain.log, the RESULT lines to
#        $OUT/gpu_pretrain_results.txt, each run's metrics/config/log to $OUT/gpu_pretrain_runs/
# Time on an H200 with 16 CPUs (conservative: mixbt 3000 img/s, the peer 1500 img/s, a full k-NN 5-6 s):
#   prepare ~30 s + per seed (mixbt ~60 s + peer ~100 s) = about 5.5 minutes with the defaults;
#   EPOCHS=1: about 3.5 minutes. The build, when BUILD_DIR/mixbt is missing, comes on top (cut by BUDGET_S).
set -u
cd "$(dirname "$0")/.." || exit 1

device=${DEVICE:-cuda}
precision=${PRECISION:-fp32}
build=${1:-${BUILD_DIR:-build-gpu}}
epochs=${EPOCHS:-2}
warmup=${WARMUP_EPOCHS:-10}
batch=${BATCH:-256}
fdim=${FEATURE_DIM:-1024}
seeds=${SEEDS:-0 1}
subset=${SUBSET:-0}
knn_subset=${KNN_SUBSET:-0}
knn_test=${KNN_TEST_SUBSET:-0}
knn_every=${KNN_EVERY:-1}
ncpu=$(nproc)
workers=${WORKERS:-$((ncpu > 2 ? ncpu - 2 : 1))}
knn_workers=${KNN_WORKERS:-$((ncpu < 8 ? ncpu : 8))}
threads=${THREADS:-$ncpu}
on_gpu=0
case "$device" in cuda*) on_gpu=1 ;; esac
budget=${BUDGET_S:-$([ $on_gpu = 1 ] && echo 540 || echo 3600)}
first_dir() { for d in "$@"; do [ -e "$d" ] && { echo "$d"; return; }; done; echo "$1"; }
cifar_src=${CIFAR_SRC:-$(first_dir .gpu-carry/cifar10 ../shared/data/cifar10)}
cifar_dest=${CIFAR_DEST:-/tmp/cifar10}
data=$cifar_dest/cifar-10-batches-bin
peer=${MIXBT_TORCH_PEER:-$(first_dir .gpu-carry/torch_reference.py ../shared/reference/torch_reference.py)}
run_dir=${RUN_DIR:-$(mktemp -d /tmp/gpu_pretrain.XXXXXX)}
mkdir -p "$run_dir"

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  exec > >(tee -a "$OUT/gpu_pretrain.log") 2>&1
  tee_pid=$!
  trap 'exec 1>&- 2>&-; wait "$tee_pid" 2> /dev/null' EXIT # the log is complete when the script returns
fi
results=$run_dir/results.txt
: > "$results"
t_start=$(date +%s)
deadline=$((t_start + budget))
status=0
stage() { echo; echo "== $* ($(($(date +%s) - t_start)) s)"; }
# left [CAP]: seconds a stage may run: what is left of BUDGET_S less 15 s for the summary, at most CAP
left() {
  local l=$((deadline - $(date +%s) - 15))
  [ -n "${1:-}" ] && [ "$1" -lt "$l" ] && l=$1
  echo $((l > 0 ? l : 0))
}

# The number of k-NN passes of one run (before training, every KNN_EVERY epochs and after the last).
knn_passes() {
  [ "$knn_every" -le 0 ] && { echo 0; return; }
  local n=$((1 + epochs / knn_every))
  [ $((epochs % knn_every)) -ne 0 ] && n=$((n + 1))
  echo $n
}
# estimate IMG_PER_S KNN_S STARTUP_S: a conservative run time in seconds (cuda figures)
estimate() {
  local imgs=$((subset > 0 ? subset : 50000))
  echo $(($3 + epochs * imgs / $1 + $(knn_passes) * $2))
}
run_cap() { # run_cap IMG_PER_S KNN_S STARTUP_S
  if [ -n "${RUN_CAP_S:-}" ]; then echo "$RUN_CAP_S"
  elif [ $on_gpu = 1 ]; then echo $((2 * $(estimate "$@") + 30))
  else echo "$budget"; fi
}

pick_python() {
  local want="import torch, torchvision, sys"
  [ $on_gpu = 1 ] && want="$want; sys.exit(0 if torch.cuda.is_available() else 1)"
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for c in python3 /usr/bin/python3; do
    if command -v "$c" > /dev/null && "$c" -c "$want" 2> /dev/null; then echo "$c"; return; fi
  done
}

# prepare_data: DEST/cifar-10-batches-bin from the carried copy, with its prepare.sh when /usr/bin/python3
# has PIL and xz is there (prepare.sh would otherwise try apt-get, and the GPU machine has no internet);
# else the same two steps (unpack, to_cifar_bin.py) with the peer's python, which has PIL via torchvision.
prepare_data() {
  if [ -f "$data/.complete" ]; then echo "already prepared: $data"; return 0; fi
  if [ ! -f "$cifar_src/cifar10-jpg.tar.xz" ]; then
    echo "no CIFAR-10 copy at $cifar_src (set CIFAR_SRC to a copy of ../shared/data/cifar10)"
    return 1
  fi
  if command -v xz > /dev/null && /usr/bin/python3 -c 'import PIL' 2> /dev/null; then
    echo "bash $cifar_src/prepare.sh $cifar_dest"
    timeout -k 5 "$(left 150)" bash "$cifar_src/prepare.sh" "$cifar_dest" || return 1
  elif [ -n "$py" ] && "$py" -c 'import PIL' 2> /dev/null; then
    echo "/usr/bin/python3 without PIL or no xz: prepare.sh's two steps with $py"
    mkdir -p "$cifar_dest/jpg" "$data"
    if [ ! -f "$cifar_dest/jpg/.complete" ]; then
      timeout -k 5 "$(left 100)" "$py" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
        "$cifar_src/cifar10-jpg.tar.xz" "$cifar_dest/jpg" || return 1
      touch "$cifar_dest/jpg/.complete"
    fi
    timeout -k 5 "$(left 150)" "$py" "$cifar_src/to_cifar_bin.py" "$cifar_dest/jpg" "$data" || return 1
    touch "$data/.complete"
  else
    echo "no python with PIL to decode the JPEGs (set PYTHON)"
    return 1
  fi
  [ -f "$data/.complete" ] && echo "prepared: $data"
}

# ensure_mixbt: BUILD_DIR/mixbt as it is; configured (-DMIXBT_CUDA=ON on a GPU) and built only when missing.
ensure_mixbt() {
  if [ -x "$build/mixbt" ]; then echo "using $build/mixbt"; return 0; fi
  local cuda=OFF
  [ $on_gpu = 1 ] && cuda=ON
  mkdir -p "$build"
  if [ ! -f "$build/CMakeCache.txt" ]; then
    timeout 120 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXBT_CUDA=$cuda > "$build/compare.configure.log" 2>&1 ||
      { tail -20 "$build/compare.configure.log"; return 1; }
  fi
  echo "building $build/mixbt (-DMIXBT_CUDA=$cuda; log $build/compare.build.log)"
  timeout "$(left 400)" cmake --build "$build" -j"$ncpu" --target mixbt > "$build/compare.build.log" 2>&1 ||
    { grep -E "error|Error" "$build/compare.build.log" | head -20; return 1; }
}

# run_limited NAME CAP CMD...: runs CMD under the time left (at most CAP), output to NAME.log and the screen;
# writes NAME.status (ok, timeout after N s, failed rc N, skipped) and NAME.wall.
run_limited() {
  local name=$1 cap=$2 t rc t0
  shift 2
  t=$(left "$cap")
  if [ "$t" -lt 20 ]; then
    echo "skipped: ${t} s left of BUDGET_S=$budget"
    echo skipped > "$run_dir/$name.status"; echo 0 > "$run_dir/$name.wall"; status=1
    return
  fi
  echo "limit ${t} s: $*"
  t0=$(date +%s)
  timeout -k 10 "$t" "$@" 2>&1 | tee "$run_dir/$name.log"
  rc=${PIPESTATUS[0]}
  echo $(($(date +%s) - t0)) > "$run_dir/$name.wall"
  case $rc in
    0) echo ok ;;
    124 | 137) echo "timeout after $t s"; status=1 ;;
    *) echo "failed rc $rc"; status=1 ;;
  esac > "$run_dir/$name.status"
  echo "-- $name: $(cat "$run_dir/$name.status"), $(cat "$run_dir/$name.wall") s wall"
}

run_mixbt() { # run_mixbt SEED
  local name=mixbt-s$1
  rm -rf "${run_dir:?}/$name"
  run_limited "$name" "$(run_cap 3000 5 10)" "$build/mixbt" pretrain --device "$device" --dataset cifar10 \
    --data "$data" --out "$run_dir/$name" --subset "$subset" --arch resnet18 --feature-dim "$fdim" \
    --batch-size "$batch" --epochs "$epochs" --warmup-epochs "$warmup" --lr 0.01 --lr-schedule cosine \
    --weight-decay 1e-6 --lambda-bt 0.0078125 --lambda-reg 4 --seed "$1" --threads "$threads" \
    --workers "$workers" --knn-every "$knn_every" --knn-k 200 --knn-t 0.5 --knn-subset "$knn_subset" \
    --knn-test-subset "$knn_test" --print-every 50 --precision "$precision"
  report run mixbt "$1" | tee -a "$results"
}

run_peer() { # run_peer SEED
  local name=torch-s$1
  if [ -z "$py" ] || [ ! -f "$peer" ]; then
    echo "skipped: no python with torch$([ $on_gpu = 1 ] && echo ' and CUDA') (set PYTHON) or no $peer (set MIXBT_TORCH_PEER)"
    echo skipped > "$run_dir/$name.status"; echo 0 > "$run_dir/$name.wall"; status=1
  else
    run_limited "$name" "$(run_cap 1500 6 15)" "$py" tools/torch_short_pretrain.py --reference "$peer" \
      --data "$data" --device "$device" --subset "$subset" --batch-size "$batch" --epochs "$epochs" \
      --warmup-epochs "$warmup" --lr 0.01 --feature-dim "$fdim" --knn-subset "$knn_subset" \
      --knn-test-subset "$knn_test" --knn-every "$knn_every" --knn-workers "$knn_workers" \
      --workers "$workers" --threads "$threads" --seed "$1"
    grep '^RESULT' "$run_dir/$name.log" >> "$results" 2> /dev/null
  fi
  report run torch "$1" | tee -a "$results"
}

# report run IMPL SEED | report summary: per-run RESULT lines and the summary table and verdict, from
# RUN_DIR (mixbt's metrics.csv, the peer's RESULT lines) and RESULTS.
report() {
  "$sumpy" - "$@" "$run_dir" "$results" "$epochs" "$batch" <<'PY'
import csv, json, os, sys
args = sys.argv[1:]
run_dir, results, epochs, batch = args[-4], args[-3], int(args[-2]), int(args[-1])

def res(**kw):
    print("RESULT " + json.dumps(kw), flush=True)

def read(path, default=""):
    return open(path).read().strip() if os.path.exists(path) else default

def mixbt_epochs(seed):
    rows, path = [], os.path.join(run_dir, "mixbt-s%s" % seed, "metrics.csv")
    if not os.path.exists(path):
        return rows
    prev_step = 0
    for r in csv.DictReader(open(path)):
        num = lambda k: float(r[k]) if r.get(k) not in (None, "", "nan") else None
        e, step, ips = int(r["epoch"]), int(r["step"]), num("images_per_s")
        row = dict(part="epoch", impl="mixbt", seed=int(seed), epoch=e, batch=batch)
        if e > 0:
            row.update(lr=num("lr"), loss=num("loss"), loss_bt=num("loss_bt"), loss_reg=num("loss_reg"),
                       steps=step - prev_step, images_per_s=ips,
                       epoch_s=round((step - prev_step) * batch / ips, 3) if ips else None)
        if num("knn_top1") is not None and num("knn_top1") >= 0:
            row.update(knn_top1=num("knn_top1"), knn_top5=num("knn_top5"))
        row["elapsed_s"] = num("elapsed_s")
        prev_step = step
        rows.append(row)
    return rows

def torch_epochs(seed):
    path = os.path.join(run_dir, "torch-s%s.log" % seed)
    out = []
    for line in (open(path) if os.path.exists(path) else []):
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            if r.get("part") == "epoch":
                out.append(r)
    return out

def run_summary(impl, seed):
    rows = mixbt_epochs(seed) if impl == "mixbt" else torch_epochs(seed)
    trained = [r for r in rows if r["epoch"] > 0 and r.get("epoch_s")]
    knn = [(r["epoch"], r.get("knn_top1"), r.get("knn_top5")) for r in rows if r.get("knn_top1") is not None]
    name = "%s-s%s" % (impl, seed)
    s = dict(part="run", impl=impl, seed=int(seed), status=read(os.path.join(run_dir, name + ".status"), "not run"),
             wall_s=int(read(os.path.join(run_dir, name + ".wall"), "0")), epochs_done=len(trained),
             epochs=epochs, knn=[dict(epoch=e, top1=t1, top5=t5) for e, t1, t5 in knn],
             final_top1=next((t1 for e, t1, _ in knn if e == epochs), None),
             final_top5=next((t5 for e, _, t5 in knn if e == epochs), None),
             epoch_s=[r["epoch_s"] for r in trained])
    if trained:
        s["epoch_s_mean"] = round(sum(s["epoch_s"]) / len(trained), 3)
        s["images_per_s_mean"] = round(batch * sum(r["steps_per_epoch" if impl == "torch" else "steps"] for r in trained)
                                       / sum(s["epoch_s"]), 1)
    return rows, s

def show_run(impl, seed):
    rows, s = run_summary(impl, seed)
    for r in rows:
        if impl == "mixbt":  # the peer printed its own epoch lines
            res(**r)
    res(**s)
    knn = "  ".join("e%d %.2f/%s" % (k["epoch"], k["top1"], "-" if k["top5"] is None else "%.2f" % k["top5"])
                    for k in s["knn"]) or "-"
    speed = ("mean epoch %.2f s, %.1f img/s" % (s["epoch_s_mean"], s["images_per_s_mean"])
             if "epoch_s_mean" in s else "no epoch finished")
    print("%s seed %s: %s; %d/%d epochs; k-NN top-1/top-5 by epoch: %s; %s; %d s wall"
          % (impl, seed, s["status"], s["epochs_done"], epochs, knn, speed, s["wall_s"]))

def mean(v):
    return sum(v) / len(v) if v else None

def fmt(v, f="%.2f"):
    return f % v if v is not None else "-"

def summary():
    lines = [json.loads(l[7:]) for l in open(results) if l.startswith("RESULT ")]
    runs = [r for r in lines if r.get("part") == "run"]
    print("%-6s %4s %-22s %7s %7s %7s %10s %10s %7s" % ("impl", "seed", "status", "epochs", "top-1", "top-5",
                                                       "epoch s", "img/s", "wall s"))
    for r in runs:
        print("%-6s %4d %-22s %3d/%-3d %7s %7s %10s %10s %7d" % (r["impl"], r["seed"], r["status"][:22], r["epochs_done"],
              r["epochs"], fmt(r["final_top1"]), fmt(r["final_top5"]), fmt(r.get("epoch_s_mean"), "%.2f"),
              fmt(r.get("images_per_s_mean"), "%.1f"), r["wall_s"]))
    final = {i: [r["final_top1"] for r in runs if r["impl"] == i and r["final_top1"] is not None] for i in ("mixbt", "torch")}
    ep = {i: [e for r in runs if r["impl"] == i for e in r["epoch_s"]] for i in ("mixbt", "torch")}
    steady = {i: [e for r in runs if r["impl"] == i for e in r["epoch_s"][1:]] for i in ("mixbt", "torch")}
    v = dict(part="verdict", epochs=epochs, seeds_mixbt=len(final["mixbt"]), seeds_torch=len(final["torch"]))
    mm, mt = mean(final["mixbt"]), mean(final["torch"])
    if len(final["mixbt"]) >= 2 and len(final["torch"]) >= 2:
        spread_t = max(final["torch"]) - min(final["torch"])
        spread_m = max(final["mixbt"]) - min(final["mixbt"])
        every = final["mixbt"] + final["torch"]
        diff = mm - mt
        v.update(mixbt_top1_mean=round(mm, 3), torch_top1_mean=round(mt, 3), diff=round(diff, 3),
                 torch_spread=round(spread_t, 3), mixbt_spread=round(spread_m, 3),
                 all_runs_spread=round(max(every) - min(every), 3), accuracy_pass=abs(diff) <= spread_t)
        acc = ("mixbt %.2f vs torch %.2f (mean k-NN top-1 after epoch %d, %d seeds each): |diff| %.2f %s %.2f = the "
               "PyTorch peer's seed spread (max-min): %s [mixbt's own spread %.2f; the 4-run max-min %.2f is >= |diff| "
               "by construction, so not a test]" % (mm, mt, epochs, len(final["torch"]), abs(diff),
               "<=" if v["accuracy_pass"] else ">", spread_t, "PASS" if v["accuracy_pass"] else "FAIL", spread_m,
               v["all_runs_spread"]))
    else:
        v["accuracy_pass"] = None
        acc = "INCOMPLETE: runs with a k-NN after epoch %d: mixbt %d, torch %d (mean top-1 mixbt %s, torch %s)" % (
            epochs, len(final["mixbt"]), len(final["torch"]), fmt(mm), fmt(mt))
    em, et = mean(ep["mixbt"]), mean(ep["torch"])
    if em and et:
        v.update(mixbt_epoch_s=round(em, 3), torch_epoch_s=round(et, 3), speedup=round(et / em, 3),
                 speed_pass=et / em >= 2.0)
        spd = "torch %.2f s / mixbt %.2f s = %.2fx (mean end-to-end epoch time over %d + %d epochs; target >= 2x): %s" % (
            et, em, et / em, len(ep["torch"]), len(ep["mixbt"]), "PASS" if v["speed_pass"] else "FAIL")
        sm, st = mean(steady["mixbt"]), mean(steady["torch"])
        if sm and st:
            v["speedup_after_epoch1"] = round(st / sm, 3)
            spd += "; epochs >= 2 only: %.2fx" % (st / sm)
    else:
        v["speed_pass"] = None
        spd = "INCOMPLETE: no finished epoch for %s" % " and ".join(i for i in ("mixbt", "torch") if not ep[i])
    res(**v)
    print("VERDICT accuracy: " + acc)
    print("VERDICT epoch time: " + spd)

if args[0] == "run":
    show_run(args[1], args[2])
else:
    summary()
PY
}

stage "machine and settings"
[ $on_gpu = 1 ] && { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi failed"; }
py=$(pick_python)
sumpy=${py:-python3}
echo "cpus $ncpu; device $device; python ${py:-none found}; peer $peer; data $data (from $cifar_src)"
echo "recipe: ResNet-18, batch $batch, feature dim $fdim, lr 0.01 cosine, warm-up $warmup epochs (SPEC quirk 1), $epochs epochs"
echo "images: subset ${subset} (0: all 50000); k-NN bank ${knn_subset} / test ${knn_test} (0: all), every $knn_every epochs"
echo "seeds: $seeds; workers $workers (peer k-NN $knn_workers); threads $threads; budget $budget s; runs in $run_dir"
[ $on_gpu = 1 ] && echo "conservative estimate per seed: mixbt $(estimate 3000 5 10) s (limit $(run_cap 3000 5 10)), peer $(estimate 1500 6 15) s (limit $(run_cap 1500 6 15))"

stage "CIFAR-10 binary layout"
if ! prepare_data; then
  echo "gpu_pretrain_compare: no CIFAR-10 data; stopping"
  exit 1
fi

stage "mixbt program"
if ! ensure_mixbt; then
  echo "gpu_pretrain_compare: no mixbt program in $build; stopping"
  exit 1
fi

for seed in $seeds; do
  stage "mixbt pretrain, seed $seed"
  run_mixbt "$seed"
  stage "PyTorch peer (reference pipeline, mixbt's schedule), seed $seed"
  run_peer "$seed"
done

stage "summary"
report summary | tee -a "$results"
if [ -n "${OUT:-}" ]; then
  grep '^RESULT' "$results" > "$OUT/gpu_pretrain_results.txt"
  for d in "$run_dir"/*-s*; do
    n=$(basename "$d")
    n=${n%.*}
    mkdir -p "$OUT/gpu_pretrain_runs/$n"
    if [ -d "$d" ]; then cp "$d"/metrics.csv "$d"/config.json "$OUT/gpu_pretrain_runs/$n/" 2> /dev/null
    else cp "$d" "$OUT/gpu_pretrain_runs/$n/"; fi
  done
fi
stage "done: $([ $status -eq 0 ] && echo 'every run finished' || echo 'SOME RUNS DID NOT FINISH (see above)'); run folders in $run_dir"
exit $status
