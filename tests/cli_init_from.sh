#!/usr/bin/env bash
# mixbt pretrain --init-from on a tiny CIFAR-10-format dataset: a new run started from a mixbt checkpoint
# has the source's weights (its k-NN before training is the source's last k-NN; with --lr 0 its trainable
# tensors after one step are the source's bit for bit) and a fresh optimizer, records the source in
# config.json and resumes; a checkpoint.pth shaped like the original project's (written by PyTorch:
# {'epoch', 'model' with DataParallel's 'module.', 'optimizer'}) loads bit for bit; strict (the default)
# refuses a file with a missing and an unexpected key in PyTorch's words before any run folder is made,
# --no-strict loads the rest with that report as a warning; a shape mismatch is refused in both modes;
# --init-from with --resume and --no-strict without --init-from are one-line errors. (Also: the source run
# prints its cost report as inspect --model does and records it in config.json.)
mixbt=$1
source "$(dirname "$0")/lib_cli.sh"
make_tiny_cifar "$tmp/c10" 11

# "name md5" of each tensor of a safetensors file (its model entries: mixbt.* left out), without torch
st_md5() {
  python3 - "$1" <<'PY'
import hashlib, json, struct, sys
with open(sys.argv[1], "rb") as f:
    data = f.read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
for name, e in header.items():
    if name == "__metadata__" or name.startswith("mixbt."):
        continue
    a, b = e["data_offsets"]
    print(name, hashlib.md5(data[8 + n + a:8 + n + b]).hexdigest())
PY
}
# the trainable tensors only (what --lr 0 leaves as they were): no BN running statistics or counters
trainable() { grep -v -e running_mean -e running_var -e num_batches_tracked "$1" | sort; }

common=(--data "$tmp/c10" --batch-size 8 --subset 16 --feature-dim 32 --knn-k 5 --knn-subset 16 --knn-test-subset 8
        --threads 2 --workers 1 --seed 3)
if "$mixbt" pretrain "${common[@]}" --epochs 1 --knn-every 1 --out "$tmp/a" > "$tmp/a.log" 2>&1; then ok
else bad "source run failed: $(tail -2 "$tmp/a.log")"; fi

# (the source run's cost report: printed at start as inspect --model prints it, and recorded in config.json)
cmp -s <(sed -n '/^model: /,/^included/p' "$tmp/a.log") <("$mixbt" inspect --model --projector 512-32 --batch-size 8) && ok ||
  bad "pretrain's cost table is not inspect --model's: $(grep -A1 '^model' "$tmp/a.log")"
python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["cost"]
assert c["method"] == "mixbt" and c["step_views"] == 3 and c["projector_params"] == 512 * 512 + 2 * 512 + 512 * 32 + 32, c
assert c["step_macs_forward"] == 3 * 8 * c["total_macs_per_image"], c' "$tmp/a/config.json" && ok || bad "config.json: no cost record"

# (a) from a mixbt checkpoint: the k-NN before training is the source's after its last epoch
if "$mixbt" pretrain "${common[@]}" --epochs 1 --knn-every 1 --seed 9 --init-from "$tmp/a/last.safetensors" \
     --out "$tmp/b" > "$tmp/b.log" 2>&1; then ok
else bad "--init-from a mixbt checkpoint failed: $(tail -2 "$tmp/b.log")"; fi
src_knn=$(sed -n 3p "$tmp/a/metrics.csv" | cut -d, -f7,8); init_knn=$(sed -n 2p "$tmp/b/metrics.csv" | cut -d, -f7,8)
[ -n "$src_knn" ] && [ "$src_knn" = "$init_knn" ] && ok || bad "k-NN before training '$init_knn', the source's last '$src_knn'"
grep -q "initialised from $tmp/a/last.safetensors (128 entries; the optimizer starts fresh)" "$tmp/b.log" && ok ||
  bad "no 'initialised from' line: $(grep -i init "$tmp/b.log")"
python3 - "$tmp/b/config.json" "$tmp/a/last.safetensors" <<'PY' && ok || bad "config.json's init_from record is wrong"
import json, os, sys, hashlib
c = json.load(open(sys.argv[1]))["init_from"]
src = sys.argv[2]
assert c["path"] == os.path.realpath(src), c
assert c["bytes"] == os.path.getsize(src) and c["md5"] == hashlib.md5(open(src, "rb").read()).hexdigest(), c
assert c["strict"] is True and c["missing"] == 0 and c["unexpected"] == 0 and c["loaded"] == 128, c
PY
# with --lr 0 the trainable tensors after a step are the source's; the optimizer state is fresh (step 1)
"$mixbt" pretrain "${common[@]}" --epochs 1 --knn-every 0 --lr 0 --max-steps 1 --init-from "$tmp/a/last.safetensors" \
  --out "$tmp/b0" > "$tmp/b0.log" 2>&1
rc=$?
[ $rc -eq 130 ] && ok || bad "--lr 0 --max-steps 1 run: rc $rc, $(tail -1 "$tmp/b0.log")"
st_md5 "$tmp/a/last.safetensors" > "$tmp/a.md5"; st_md5 "$tmp/b0/last.safetensors" > "$tmp/b0.md5"
[ "$(trainable "$tmp/a.md5" | wc -l)" -eq 65 ] && ok || bad "expected 65 trainable tensors, got $(trainable "$tmp/a.md5" | wc -l)"
cmp -s <(trainable "$tmp/a.md5") <(trainable "$tmp/b0.md5") && ok ||
  bad "weights after --init-from differ from the source's: $(diff <(trainable "$tmp/a.md5") <(trainable "$tmp/b0.md5") | head -2)"
meta() { python3 -c 'import json, struct, sys; d = open(sys.argv[1], "rb").read(8 << 20); n = struct.unpack("<Q", d[:8])[0]
print(json.loads(d[8:8 + n])["__metadata__"].get(sys.argv[2]))' "$@"; }
[ "$(meta "$tmp/a/last.safetensors" mixbt.optimizer.step)" = 2 ] && [ "$(meta "$tmp/b0/last.safetensors" mixbt.optimizer.step)" = 1 ] &&
  ok || bad "the optimizer of an --init-from run does not start fresh: step $(meta "$tmp/b0/last.safetensors" mixbt.optimizer.step)"
# the init run resumes (its record unchanged: resume neither checks nor rewrites it)
cp "$tmp/b0/config.json" "$tmp/b0.config"
if "$mixbt" pretrain --resume "$tmp/b0" --threads 2 --workers 1 > "$tmp/b0r.log" 2>&1; then ok
else bad "resume of an --init-from run failed: $(tail -2 "$tmp/b0r.log")"; fi
cmp -s "$tmp/b0/config.json" "$tmp/b0.config" && ok || bad "resume changed config.json"
meta "$tmp/b0/last.safetensors" mixbt.config | grep -q '"init_from"' && ok || bad "the resumed run's checkpoint lost the init_from record"

# (b) from a PyTorch checkpoint.pth as the original saves it (needs Debian's python3-torch)
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$(dirname "$0")/../tools/make_init_checkpoint.py" "$tmp/checkpoint.pth" 32 > "$tmp/py.log" 2>&1 &&
    ok || bad "make_init_checkpoint.py failed: $(tail -2 "$tmp/py.log")"
  "$mixbt" pretrain "${common[@]}" --epochs 1 --knn-every 0 --lr 0 --max-steps 1 --init-from "$tmp/checkpoint.pth" \
    --out "$tmp/c" > "$tmp/c.log" 2>&1
  rc=$?
  [ $rc -eq 130 ] && ok || bad "--init-from checkpoint.pth: rc $rc, $(tail -1 "$tmp/c.log")"
  st_md5 "$tmp/c/last.safetensors" > "$tmp/c.md5"
  cmp -s <(trainable "$tmp/checkpoint.pth.expect") <(trainable "$tmp/c.md5") && ok ||
    bad "weights from checkpoint.pth differ from PyTorch's: $(diff <(trainable "$tmp/checkpoint.pth.expect") <(trainable "$tmp/c.md5") | head -2)"
else
  echo "cli_init_from: no python3-torch: the checkpoint.pth case is skipped"
fi

# (c) strict: a missing key (g.3.bias) and an unexpected one (g.3.bias_extra), refused before any folder
python3 - "$tmp/a/last.safetensors" "$tmp/renamed.safetensors" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
h = json.loads(data[8:8 + n])
h["g.3.bias_extra"] = h.pop("g.3.bias")
text = json.dumps(h).encode()
text += b" " * (-(8 + len(text)) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
PY
expect_error 'Missing key(s) in state_dict: "g.3.bias". Unexpected key(s) in state_dict: "g.3.bias_extra".' \
  pretrain "${common[@]}" --epochs 1 --knn-every 0 --init-from "$tmp/renamed.safetensors" --out "$tmp/d"
[ ! -e "$tmp/d" ] && ok || bad "a refused --init-from left a run folder"
# (d) --no-strict: loads the rest and warns with the same report
"$mixbt" pretrain "${common[@]}" --epochs 1 --knn-every 0 --max-steps 1 --no-strict --init-from "$tmp/renamed.safetensors" \
  --out "$tmp/e" > "$tmp/e.log" 2>&1
rc=$?
[ $rc -eq 130 ] && ok || bad "--no-strict: rc $rc, $(tail -1 "$tmp/e.log")"
grep -q 'warning: --init-from .*(--no-strict): 127 of the model.s 128 entries loaded; Missing key(s) in state_dict: "g.3.bias". Unexpected key(s) in state_dict: "g.3.bias_extra".' \
  "$tmp/e.log" && ok || bad "--no-strict warning: $(grep warning "$tmp/e.log")"
grep -Eq '"strict":[[:space:]]*false' "$tmp/e/config.json" && grep -Eq '"missing":[[:space:]]*1' "$tmp/e/config.json" && ok ||
  bad "--no-strict: config.json does not record it"
# a shape mismatch is an error in both modes, naming the key and both shapes
for mode in --strict --no-strict; do
  expect_error "size mismatch for g.3.weight: checkpoint f32 \[32,512\], model float \[64,512\]" \
    pretrain "${common[@]}" --feature-dim 64 --epochs 1 --knn-every 0 $mode --init-from "$tmp/a/last.safetensors" --out "$tmp/f"
done
[ ! -e "$tmp/f" ] && ok || bad "a refused --init-from left a run folder"
# flag combinations
expect_error "--init-from starts a new run; --resume $tmp/b0 continues its own" \
  pretrain --resume "$tmp/b0" --init-from "$tmp/a/last.safetensors"
expect_error "--no-strict applies to --init-from FILE" pretrain "${common[@]}" --no-strict --out "$tmp/g"
expect_error "--init-from $tmp/none.pth: cannot read it" pretrain "${common[@]}" --init-from "$tmp/none.pth" --out "$tmp/g"
echo "cli_init_from: $pass passed, $fails failed"
[ $fails -eq 0 ]
