#!/usr/bin/env bash
# mixbt convert and mixbt inspect: .pth -> safetensors -> .pth round trip of a fixture written by
# PyTorch (tensors listed identically), and one-line errors for unsafe or missing inputs.
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
"$mixbt" inspect "$fx/io_ddp.pth" | grep -v 'checkpoint$' | grep -v '^metadata' > "$tmp/i1"
"$mixbt" inspect "$tmp/b.pth" | grep -v 'checkpoint$' | grep -v '^metadata' > "$tmp/i2"
check "inspect lists the tensors" "grep -q 'module.conv.weight .*f32 .*\[4,3,3,3\]' $tmp/i1"
check "round trip keeps every tensor, dtype and shape" "cmp -s $tmp/i1 $tmp/i2"
"$mixbt" convert "$fx/io_bad_global.pth" "$tmp/c.safetensors" 2> "$tmp/err"
check "unsafe pickle global refused" "[ $? -ne 0 ] && grep -q 'posix.system' $tmp/err && [ ! -e $tmp/c.safetensors ]"
"$mixbt" inspect "$tmp/missing.pth" 2> "$tmp/err"
check "missing file named" "[ $? -ne 0 ] && grep -q 'missing.pth' $tmp/err"
"$mixbt" convert "$fx/io_ddp.pth" 2> "$tmp/err"
check "usage error" "[ $? -eq 2 ] && grep -q 'expected IN and OUT' $tmp/err"
echo "cli_convert: $pass passed, $fails failed"
[ $fails -eq 0 ]
