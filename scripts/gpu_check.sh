#!/usr/bin/env bash
# The one check to run on a machine with an NVIDIA GPU (H100/H200; CUDA toolkit with cuDNN, the Debian
# libraries of scripts/install-deps.sh, and PyTorch for the peer; no internet needed), in one go:
#   1. configure with -DMIXBT_CUDA=ON and build the program, bench_step and the CUDA tests;
#   2. the CUDA tests (ctest -R cuda) twice: with TF32 products (the default) and exact fp32
#      (MIXBT_NO_TF32=1), each test choosing its tolerances for the precision it runs under;
#   3. bench_step --device cuda: the Mixed BT step (3 forward + 3 backward passes, loss, Adam) of
#      ResNet-18 and ResNet-50 at 32 px, batch 256, TF32 and bf16 (--precision bf16), and ResNet-18 in
#      exact fp32;
#   4. the PyTorch peer on the same GPU (part 1 of torch_reference.py: its compute-only step on
#      synthetic inputs, fp32 and bf16 autocast + channels_last);
#   5. a table of original images per second.
# Everything printed also goes to $OUT/gpu_check.log when OUT is set; the RESULT lines to
# $OUT/gpu_results.txt. Stages have time limits so that the whole run stays under about 8 minutes.
# Usage: scripts/gpu_check.sh [BUILD_DIR]     (default build-gpu)
# Environment: MIXBT_TORCH_PEER (default ../shared/reference/torch_reference.py; the peer is skipped
#   with a message when absent), PYTHON (default: the first of python3, /usr/bin/python3 with torch.cuda),
#   JOBS (build jobs, default nproc), STEPS (timed steps per benchmark, default 20).
set -u
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
jobs=${JOBS:-$(nproc)}
steps=${STEPS:-20}
peer=${MIXBT_TORCH_PEER:-../shared/reference/torch_reference.py}
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  exec > >(tee -a "$OUT/gpu_check.log") 2>&1
  tee_pid=$!
  trap 'exec 1>&- 2>&-; wait "$tee_pid" 2> /dev/null' EXIT # the log is complete when the script returns
fi
results=$(mktemp)
t_start=$(date +%s)
stage() { echo; echo "== $* ($(( $(date +%s) - t_start )) s)"; }
status=0

stage "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi failed"
command -v nvcc > /dev/null && nvcc --version | tail -2 || echo "nvcc not on PATH (CMake also looks in /usr/local/cuda/bin)"
echo "cpus: $(nproc)"

stage "configure and build ($build, -DMIXBT_CUDA=ON)"
mkdir -p "$build"
tests=$(ls tests/test_*cuda*.c 2> /dev/null | xargs -n1 basename 2> /dev/null | sed 's/\.c$//' | tr '\n' ' ')
if ! timeout 120 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXBT_CUDA=ON > "$build/gpu_check.configure.log" 2>&1; then
  tail -20 "$build/gpu_check.configure.log"
  echo "gpu_check: configure failed (log above)"
  exit 1
fi
grep "mixbt: CUDA backend" "$build/gpu_check.configure.log"
# shellcheck disable=SC2086
if ! timeout 300 cmake --build "$build" -j"$jobs" --target mixbt bench_step $tests > "$build/gpu_check.build.log" 2>&1; then
  grep -E "error|Error" "$build/gpu_check.build.log" | head -30
  echo "gpu_check: build failed"
  exit 1
fi
echo "built: mixbt bench_step $tests"

stage "CUDA tests, TF32 products (the default; MIXBT_TEST_TF32=1 makes test_ops_cuda use them too)"
(cd "$build" && MIXBT_TEST_TF32=1 timeout 240 ctest -R cuda --output-on-failure) || status=1
stage "CUDA tests, exact fp32 products (MIXBT_NO_TF32=1)"
(cd "$build" && MIXBT_NO_TF32=1 timeout 150 ctest -R cuda --output-on-failure -E "cli_|bf16") || status=1 # test_ops_bf16_cuda sets it itself

stage "benchmark: mixbt Mixed BT step on the GPU"
for arch in resnet18 resnet50; do
  labels="tf32 fp32 bf16"
  [ "$arch" = resnet50 ] && labels="tf32 bf16" # exact fp32 once (ResNet-18) is enough: it only shows TF32's gain
  for label in $labels; do
    no_tf32=0 precision=fp32
    [ "$label" = fp32 ] && no_tf32=1
    [ "$label" = bf16 ] && precision=bf16
    line=$(MIXBT_NO_TF32=$no_tf32 timeout 90 "$build/bench_step" --device cuda --arch "$arch" --size 32 --batches 256 \
           --steps "$steps" --warmup 5 --threads "$(nproc)" --precision "$precision" 2>&1 | tail -1)
    echo "$line"
    case "$line" in RESULT*) echo "${line/\{/\{\"label\": \"$label\", }" >> "$results" ;; *) status=1 ;; esac
  done
done

stage "peer: PyTorch on the same GPU"
py=${PYTHON:-}
if [ -z "$py" ]; then
  for c in python3 /usr/bin/python3; do
    if command -v "$c" > /dev/null && "$c" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
      py=$c
      break
    fi
  done
fi
if [ ! -f "$peer" ]; then
  echo "peer skipped: $peer not found (set MIXBT_TORCH_PEER to torch_reference.py)"
elif [ -z "$py" ]; then
  echo "peer skipped: no python with PyTorch and CUDA found (set PYTHON)"
else
  echo "$py $peer --parts 1 --archs resnet18,resnet50 --batches 256 --methods mixbt --size 32"
  timeout 180 "$py" "$peer" --parts 1 --archs resnet18,resnet50 --batches 256 --methods mixbt --size 32 \
    --steps "$steps" --warmup-steps 5 2>&1 | grep '^RESULT' | tee -a "$results"
fi

stage "summary: original images per second (ResNet-x, 32 px, batch 256, Mixed BT step)"
[ -n "${OUT:-}" ] && cp "$results" "$OUT/gpu_results.txt"
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("RESULT")]
env = next((r for r in rows if r.get("part") == "env"), None)
if env:
    print("peer: torch %s on %s, cuDNN %s, conv TF32 %s, matmul TF32 %s" % (env.get("torch"), env.get("gpu"),
          env.get("cudnn"), env.get("cudnn_tf32"), env.get("matmul_tf32")))
def ours(arch, label):
    r = [x for x in rows if x.get("impl") == "mixbt" and x.get("arch") == arch and x.get("label") == label]
    return r[0]["orig_per_s_median"] if r else None
def peer(arch, bf16):
    r = [x for x in rows if x.get("part") == "compute" and x.get("arch") == arch and x.get("bf16") == bf16
         and x.get("mixup")]
    return r[0]["originals_per_s"] if r else None
fmt = lambda v: "%10.1f" % v if v else "%10s" % "-"
ratio = lambda a, b: "%12.2f" % (a / b) if a and b else "%12s" % "-"
print("%-9s %10s %10s %10s %10s %10s %12s %12s" % ("arch", "mixbt tf32", "mixbt fp32", "mixbt bf16", "torch fp32",
                                                    "torch bf16", "tf32/torch", "bf16/torch"))
for arch in ("resnet18", "resnet50"):
    a, b, c = ours(arch, "tf32"), ours(arch, "fp32"), ours(arch, "bf16")
    t, tb = peer(arch, False), peer(arch, True)
    print("%-9s %s %s %s %s %s %s %s" % (arch, fmt(a), fmt(b), fmt(c), fmt(t), fmt(tb), ratio(a, t), ratio(c, tb)))
print("\nmixbt as pretrain queues steps (next step queued before the previous one's losses are read):")
print("%-9s %-6s %12s %14s %14s" % ("arch", "prec", "pipelined/s", "step ms", "host queue ms"))
for r in rows:
    if r.get("impl") == "mixbt" and "pipelined_orig_per_s" in r:
        print("%-9s %-6s %12.1f %14.2f %14.2f" % (r["arch"], r["label"], r["pipelined_orig_per_s"],
              1e3 * r["pipelined_step_s"], 1e3 * r["host_queue_s_median"]))
print("(host queue close to the step time: the step is bound by kernel launches; a CUDA graph would help)")
print("mixbt tf32: fp32 storage with TF32 tensor-core products (the default), fp32: MIXBT_NO_TF32=1, bf16: "
      "--precision bf16 (bf16 backbone activations and convolutions, NCHW; fp32 weights, projector and loss). "
      "torch fp32 uses its defaults (cuDNN TF32 on, matmul TF32 off); torch bf16 is autocast + channels_last.")
PY
rm -f "$results"
stage "done: $([ $status -eq 0 ] && echo 'all stages passed' || echo 'SOME STAGES FAILED (see above)')"
exit $status
