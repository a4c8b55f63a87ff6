#!/usr/bin/env bash
# mixbt convert and mixbt inspect: .pth -> safetensors -> .pth round trip of a fixture written by
# PyTorch (tensors listed identically), inspect --model's cost table (its total is the sum of its parts),
# and one-line errors for unsafe or missing inputs and misused flags.
set -u
mixbt=$1
fx=$(cd "$(dirname "$0")/fixtures" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fails=0
check() { if eval "$2"; then pass=$((pass + 1)); else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

"$mixbt" convert "$fx/io_ddp.pth" "$tmp/a.safetensors"
check "convert .pth -> safetensors" "[ $? -eq 0 ] && [ -s $tmp/a.safetensors ]"
"$mixbt" convert "$tmp/a.safetensors" "$tmp/b.pth"
check "convert safetensors -> .pth" "[ $? -eq 0 ] && [ -s $tmp/b.pth ]"
"$mixbt" inspect "$fx/io_ddp.pth" | grep -v 'checkpoint$' | grep -v '^metadata' | grep -v '^cost' > "$tmp/i1"
"$mixbt" inspect "$tmp/b.pth" | grep -v 'checkpoint$' | grep -v '^metadata' | grep -v '^cost' > "$tmp/i2"
check "inspect lists the tensors" "grep -q 'module.conv.weight .*f32 .*\[4,3,3,3\]' $tmp/i1"
check "round trip keeps every tensor, dtype and shape" "cmp -s $tmp/i1 $tmp/i2"
"$mixbt" convert "$fx/io_bad_global.pth" "$tmp/c.safetensors" 2> "$tmp/err"
check "unsafe pickle global refused" "[ $? -ne 0 ] && grep -q 'posix.system' $tmp/err && [ ! -e $tmp/c.safetensors ]"
"$mixbt" inspect "$tmp/missing.pth" 2> "$tmp/err"
check "missing file named" "[ $? -ne 0 ] && grep -q 'missing.pth' $tmp/err"
"$mixbt" convert "$fx/io_ddp.pth" 2> "$tmp/err"
check "usage error" "[ $? -eq 2 ] && grep -q 'expected IN and OUT' $tmp/err"
"$mixbt" inspect --model --arch resnet50 --image-size 224 > "$tmp/cost"
check "inspect --model: ResNet-50 with the ImageNet stem and projector" "grep -q '^model: resnet50, 224 px (7x7 conv stride 2, max pool), projector 2048-8192-8192-8192' $tmp/cost"
check "inspect --model: total = backbone + projector" "awk '/^  (backbone|projector)/ {gsub(\",\", \"\", \$2); p += \$2; m += \$3} /^  total/ {gsub(\",\", \"\", \$2); t = \$2; tm = \$3} END {exit !(p == t && m - tm < 1e-3 && tm - m < 1e-3)}' $tmp/cost"
"$mixbt" inspect --arch resnet50 "$fx/io_ddp.pth" 2> "$tmp/err"
check "model flags need --model" "[ $? -eq 2 ] && grep -q -- '--arch needs --model' $tmp/err"
"$mixbt" inspect --model --projector 512-x 2> "$tmp/err"
check "bad --projector named" "[ $? -eq 2 ] && grep -q -- '--projector' $tmp/err"
echo "cli_convert: $pass passed, $fails failed"
[ $fails -eq 0 ]
