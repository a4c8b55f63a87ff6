#!/usr/bin/env bash
# CPU training-step throughput of mixbt against PyTorch on the same machine, in one invocation.
# Runs the Mixed BT step (ResNet-18, 32 px, 3 forward + 3 backward passes + update) at each batch
# size, REPEATS times alternating mixbt and PyTorch, and prints medians and their ratio.
# PyTorch runs the reference step of ../shared/reference/torch_mixbt.py (synthetic inputs).
# Usage: bench/cpu_vs_torch.sh [BATCHES=64,256] [REPEATS=3] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
batches=${1:-64,256}
repeats=${2:-3}
threads=${3:-2}
peer=${MIXBT_TORCH_PEER:-../shared/reference/torch_mixbt.py}
[ -f "$peer" ] || { echo "cpu_vs_torch: PyTorch peer $peer not found (set MIXBT_TORCH_PEER)" >&2; exit 2; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "cpu_vs_torch: needs Debian python3-torch" >&2; exit 2; }
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j"$(nproc)" --target bench_step sgemm_peak >/dev/null
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
log=$(mktemp)
./build/sgemm_peak --threads "$threads" | tee -a "$log"
for b in ${batches//,/ }; do
  for r in $(seq "$repeats"); do
    ./build/bench_step --batches "$b" --steps 3 --warmup 1 --threads "$threads" | tee -a "$log"
    /usr/bin/python3 "$peer" --mode train --synthetic --batch-size "$b" --steps 3 --warmup 1 \
      --threads "$threads" --workers 0 2>/dev/null | grep '^RESULT' | tee -a "$log"
  done
done
/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("RESULT")]
peak = next(r["gflops_median"] for r in rows if r.get("impl") == "openblas_sgemm")
print("\nbatch  mixbt img/s  torch img/s  ratio  mixbt GFLOP/s  of SGEMM peak (%.0f GFLOP/s)" % peak)
for b in sorted({r["batch"] for r in rows if "batch" in r}):
    ours = [r["orig_per_s_median"] for r in rows if r.get("impl") == "mixbt" and r["batch"] == b]
    torch = [r["orig_per_s_median"] for r in rows if r.get("mode") == "train" and r["batch"] == b]
    gf = [r["gflops_median"] for r in rows if r.get("impl") == "mixbt" and r["batch"] == b]
    mo, mt = statistics.median(ours), statistics.median(torch)
    print("%5d  %11.2f  %11.2f  %5.2f  %13.1f  %5.0f%%" % (b, mo, mt, mo / mt, statistics.median(gf),
                                                           100 * statistics.median(gf) / peak))
PY
rm -f "$log"
