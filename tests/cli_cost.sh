#!/usr/bin/env bash
# The cost report of a baseline (BYOL: backbone, head, predictor; the step with its target network's forward)
# as mixbt pretrain prints it at start and stores it in config.json, and as mixbt inspect shows it for the
# run's checkpoint, for that checkpoint converted to .pth (no stored configuration: the method from its
# tensors, the default batch) and for --model --method byol with the same flags: one table, the same numbers
# everywhere, the total the sum of the parts; SimCLR's head with its output BN; misused flags are one line.
mixbt=$1
source "$(dirname "$0")/lib_cli.sh"
make_tiny_cifar "$tmp/c10" 11

heads=(--emb 16 --head-size 32)
if "$mixbt" pretrain --data "$tmp/c10" --method byol "${heads[@]}" --epochs 1 --batch-size 8 --subset 16 --knn-every 0 \
     --threads 2 --workers 1 --out "$tmp/byol" > "$tmp/run.log" 2>&1; then ok
else bad "byol run failed: $(tail -2 "$tmp/run.log")"; fi
# the table: from its "model:" line to its "counted as" paragraph
table() { sed -n '/^model: /,/^included/p' "$1"; }
table "$tmp/run.log" > "$tmp/run.table"
grep -q '^model: resnet18, 32 px (3x3 conv, no max pool), head 512-32-16, predictor 16-32-16$' "$tmp/run.table" && ok ||
  bad "pretrain's model line: $(head -1 "$tmp/run.table")"
# head: 512*32 + 32 (bias) + 2*32 (BN) + 32*16 + 16; predictor: 16*32 + 32 + 2*32 + 32*16 + 16
grep -Eq '^  head +17,008 ' "$tmp/run.table" && grep -Eq '^  predictor +1,136 ' "$tmp/run.table" && ok ||
  bad "head / predictor parameters: $(grep -E '^  (head|predictor) ' "$tmp/run.table")"
grep -q '^training step of byol (2 views of 8 images through backbone, head and predictor, and through the$' "$tmp/run.table" &&
  ok || bad "pretrain's step line: $(grep 'training step' "$tmp/run.table")"
awk '/^  (backbone|head|predictor) / {gsub(",", "", $2); p += $2} /^  total/ {gsub(",", "", $2); t = $2} END {exit !(p == t && t > 0)}' \
  "$tmp/run.table" && ok || bad "total parameters are not the sum of the parts"
python3 - "$tmp/byol/config.json" <<'PY' && ok || bad "config.json's cost record is wrong"
import json, sys
c = json.load(open(sys.argv[1]))["cost"]
assert c["head_params"] == 17008 and c["predictor_params"] == 1136, c
assert c["total_params"] == c["backbone_params"] + c["head_params"] + c["predictor_params"], c
assert c["method"] == "byol" and c["step_views"] == 2 and c["step_batch"] == 8, c
online = 2 * 8 * c["total_macs_per_image"]
target = 2 * 8 * (c["backbone_macs_per_image"] + c["head_macs_per_image"])
assert c["step_macs_forward"] == online and c["step_macs_target_forward"] == target, c
assert c["step_macs_with_backward"] == 3 * online + target, c
PY
# inspect: the run's checkpoint, and --model with the run's flags, print the same table
"$mixbt" inspect "$tmp/byol/last.safetensors" > "$tmp/inspect.out" 2> "$tmp/inspect.err"
table "$tmp/inspect.out" > "$tmp/inspect.table"
[ -s "$tmp/inspect.table" ] && cmp -s "$tmp/run.table" "$tmp/inspect.table" && ok ||
  bad "inspect FILE's table differs from pretrain's: $(diff "$tmp/run.table" "$tmp/inspect.table" | head -3) $(cat "$tmp/inspect.err")"
"$mixbt" inspect --model --method byol "${heads[@]}" --batch-size 8 > "$tmp/model.out"
cmp -s "$tmp/run.table" <(table "$tmp/model.out") && ok ||
  bad "inspect --model's table differs from pretrain's: $(diff "$tmp/run.table" <(table "$tmp/model.out") | head -3)"
# without mixbt's configuration (a .pth): BYOL from pred.*, 2 views of 256 images
"$mixbt" convert "$tmp/byol/last.safetensors" "$tmp/byol.pth" > /dev/null 2>&1
"$mixbt" inspect "$tmp/byol.pth" > "$tmp/pth.out" 2>&1
grep -q '^model: resnet18, 32 px (3x3 conv, no max pool), head 512-32-16, predictor 16-32-16$' "$tmp/pth.out" &&
  grep -q '^training step of byol (2 views of 256 images' "$tmp/pth.out" && ok ||
  bad "inspect of the .pth: $(grep -E '^model|^training|^cost' "$tmp/pth.out")"
# SimCLR's head ends with a BN (bn_last)
"$mixbt" inspect --model --method simclr --num-samples 4 > "$tmp/simclr.out"
# (512*1024 + 1024 + 2*1024 + 1024*64 + 64 + 2*64 parameters)
grep -q '^model: resnet18, 32 px (3x3 conv, no max pool), head 512-1024-64 and BN$' "$tmp/simclr.out" &&
  grep -Eq '^  head +593,088 ' "$tmp/simclr.out" && grep -q '^training step of simclr (4 views of 256 images' "$tmp/simclr.out" &&
  ok || bad "simclr: $(grep -E '^model|^  head|^training' "$tmp/simclr.out")"
expect_error --rc 2 "--emb applies to --method simclr|byol|wmse, not mixbt" inspect --model --emb 16
expect_error --rc 2 "--projector applies to --method mixbt|bt" inspect --model --method wmse --projector 512-64
expect_error --rc 2 "ssl-sota encoder: image size 96" inspect --model --method wmse --image-size 96
echo "cli_cost: $pass passed, $fails failed"
[ $fails -eq 0 ]
