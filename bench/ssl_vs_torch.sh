#!/usr/bin/env bash
# CPU training-step throughput of the baselines (SimCLR, BYOL, W-MSE) in mixbt against PyTorch on the
# same machine, in one invocation: each method's step (ResNet-18, 32 px, 2 views, emb 64, head 1024,
# Adam; W-MSE w_size = min(128, batch)) on synthetic views, REPEATS times alternating mixbt
# (build/bench_method) and PyTorch (../shared/reference/torch_sslsota.py --mode train --synthetic),
# then medians of the per-run median step rates and their ratio.
# Usage: bench/ssl_vs_torch.sh [BATCHES=64,256] [REPEATS=3] [THREADS=2] [METHODS=simclr,byol,wmse]
set -euo pipefail
cd "$(dirname "$0")/.."
batches=${1:-64,256}
repeats=${2:-3}
threads=${3:-2}
methods=${4:-simclr,byol,wmse}
peer=${MIXBT_SSLSOTA_PEER:-../shared/reference/torch_sslsota.py}
[ -f "$peer" ] || { echo "ssl_vs_torch: PyTorch peer $peer not found (set MIXBT_SSLSOTA_PEER)" >&2; exit 2; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "ssl_vs_torch: needs Debian python3-torch" >&2; exit 2; }
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j"$(nproc)" --target bench_method >/dev/null
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
log=$(mktemp)
for b in ${batches//,/ }; do
  for m in ${methods//,/ }; do
    case $m in simclr) tm=contrastive ;; byol) tm=byol ;; wmse) tm=w_mse ;; *) echo "unknown method $m" >&2; exit 2 ;; esac
    for r in $(seq "$repeats"); do
      ./build/bench_method --method "$m" --batch "$b" --steps 3 --warmup 1 --threads "$threads" | tee -a "$log"
      /usr/bin/python3 "$peer" --mode train --synthetic --method "$tm" --batch-size "$b" --steps 3 --warmup 1 \
        --threads "$threads" --workers 0 2>/dev/null | grep '^RESULT' | sed "s/^RESULT {/RESULT {\"peer_method\": \"$m\", /" | tee -a "$log"
    done
  done
done
/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("RESULT")]
print("\nmethod  batch  mixbt img/s (runs)  torch img/s (runs)  ratio   (medians of the runs' median steps)")
for m in dict.fromkeys(r.get("method") for r in rows if r.get("impl") == "mixbt"):
    for b in sorted({r["batch"] for r in rows if r.get("impl") == "mixbt" and r["method"] == m}):
        ours = [r["orig_per_s_median"] for r in rows if r.get("impl") == "mixbt" and r["method"] == m and r["batch"] == b]
        torch = [r["orig_per_s_median"] for r in rows if r.get("peer_method") == m and r["batch"] == b]
        mo, mt = statistics.median(ours), statistics.median(torch)
        runs = lambda v: "(" + ", ".join("%.2f" % x for x in v) + ")"
        print("%-6s  %5d  %.2f %s  %.2f %s  %5.2f" % (m, b, mo, runs(ours), mt, runs(torch), mo / mt))
PY
rm -f "$log"
