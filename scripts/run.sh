#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds mixbt (Release, into build/), gets
# CIFAR-10, and runs a short Mixed Barlow Twins pretraining (ResNet-18) that prints the k-NN accuracy
# before and after training. About 15 minutes on 2 cores.
# Usage: scripts/run.sh [more `mixbt pretrain` flags, which override the ones below, e.g. --epochs 5]
# Environment: MIXBT_DATA=DIR takes CIFAR-10 from DIR (skips getting it).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

echo "== 1/4 dependencies (scripts/install-deps.sh)"
scripts/install-deps.sh

echo "== 2/4 build (cmake Release into build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build build -j"$(nproc)" --target mixbt >build/run-build.log 2>&1; then
  tail -n 40 build/run-build.log >&2
  echo "run.sh: the build failed (whole log: build/run-build.log)" >&2
  exit 1
fi
echo "built build/mixbt"

echo "== 3/4 CIFAR-10"
prepare=../shared/data/cifar10/prepare.sh
if [ -n "${MIXBT_DATA:-}" ]; then
  data=$MIXBT_DATA
  echo "using MIXBT_DATA=$data"
elif [ -f "$prepare" ]; then
  # The copy kept next to the repository (JPEG re-encoded, see ../shared/data/README.md), decoded into
  # the official binary layout under /tmp/cifar10; prepare.sh installs python3-pil when it needs it.
  data=$(bash "$prepare" /tmp/cifar10 | tail -n 1)
  echo "using $data (from $prepare)"
else
  data=data
  if ! build/mixbt download cifar10 --data "$data"; then
    cat >&2 <<'EOF'
run.sh: CIFAR-10 could not be downloaded (the reason is above). Without internet on this machine:
  1. elsewhere, fetch https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (170 MB)
  2. copy it here and run:  build/mixbt download cifar10 --data data --from cifar-10-binary.tar.gz
  3. run scripts/run.sh again (an interrupted download also resumes when you run it again)
EOF
    exit 1
  fi
fi

# One epoch of 8192 images (128 steps) of the reference recipe, which is still inside its 10-epoch warm-up:
# shorter runs, or one warm-up epoch at full learning rate, end below the random network's k-NN (docs/RUNS.md).
echo "== 4/4 Mixed Barlow Twins pretraining (ResNet-18, 8192 images, 1 epoch; k-NN on 5000/1000 images)"
out=runs/quickstart-$(date +%Y%m%d-%H%M%S)
build/mixbt pretrain --dataset cifar10 --data "$data" --out "$out" --threads "$(nproc)" \
  --subset 8192 --batch-size 64 --epochs 1 --feature-dim 512 \
  --knn-subset 5000 --knn-test-subset 1000 --knn-every 1 "$@"

# The k-NN top-1 before training (epoch 0) and after the last epoch, from the run's metrics.csv.
awk -F, -v out="$out" -v secs=$(($(date +%s) - start)) '
  NR == 1 { for (i = 1; i <= NF; i++) if ($i == "knn_top1") c = i; next }
  c && $c != "" { if (first == "") first = $c; last = $c; epoch = $1 }
  END {
    if (first == "") { print "run.sh: no k-NN results in " out "/metrics.csv"; exit 1 }
    printf "\nk-NN top-1 (CIFAR-10, chance 10%%): %s%% before training, %s%% after epoch %s\n", first, last, epoch
    printf "run folder: %s   total time: %dm%02ds\n", out, secs / 60, secs % 60
  }' "$out/metrics.csv"
