#!/usr/bin/env bash
# `mixbt download` with the built-in catalogue, offline: --list, --help, usage errors (exit 2), and
# --from copies that fail the published MD5 (exit 1, one line naming the file and both sums).
# Usage: tests/cli_download.sh PATH/TO/mixbt
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: counts a failure when the command fails
  local what=$1
  shift
  if ! "$@"; then echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
unset MIXBT_DOWNLOAD_CATALOG

"$bin" download --list >"$tmp/list" 2>&1
check "--list exits 0" test $? -eq 0
for d in cifar10 cifar100 stl10 mnist fashion_mnist; do check "--list shows $d" grep -q "^$d: " "$tmp/list"; done
check "--list shows CIFAR-10's URL" grep -q "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" "$tmp/list"
"$bin" download --help >"$tmp/help" 2>&1
check "--help exits 0" test $? -eq 0
check "--help shows --from" grep -q -- "--from PATH" "$tmp/help"
"$bin" --help | grep -q "^  download " ; check "mixbt --help lists download" test $? -eq 0

"$bin" download >/dev/null 2>"$tmp/err"; rc=$?
check "no dataset: exit 2" test $rc -eq 2
check "no dataset: names the choices" grep -q "one of: cifar10, cifar100, stl10, mnist, fashion_mnist" "$tmp/err"
"$bin" download imagenet --data "$tmp/d" >/dev/null 2>"$tmp/err"; rc=$?
check "unknown dataset: exit 2" test $rc -eq 2
check "unknown dataset: named" grep -q "unknown dataset 'imagenet'" "$tmp/err"
"$bin" download cifar10 >/dev/null 2>"$tmp/err"; rc=$?
check "no --data: exit 2" test $rc -eq 2
"$bin" download cifar10 --data "$tmp/d" --bogus >/dev/null 2>"$tmp/err"; rc=$?
check "unknown flag: exit 2" test $rc -eq 2

# A copy that is not the published archive: refused, named, with both MD5s; the copy is left alone.
head -c 100000 /dev/urandom >"$tmp/cifar-10-binary.tar.gz"
sum=$(md5sum "$tmp/cifar-10-binary.tar.gz" | cut -d' ' -f1)
"$bin" download cifar10 --data "$tmp/d" --from "$tmp/cifar-10-binary.tar.gz" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "wrong --from: exit 1" test $rc -eq 1
check "wrong --from: one line" test "$(wc -l <"$tmp/err")" -eq 1
check "wrong --from: names the file" grep -q "checksum mismatch: $tmp/cifar-10-binary.tar.gz" "$tmp/err"
check "wrong --from: its MD5" grep -q "$sum" "$tmp/err"
check "wrong --from: the published MD5" grep -q "expected c32a1d4ab5d03f1284b67883e8d87530" "$tmp/err"
check "wrong --from: copy kept" test -f "$tmp/cifar-10-binary.tar.gz"
check "wrong --from: nothing installed" test ! -e "$tmp/d/cifar-10-batches-bin"
check "wrong --from: no manifest" test ! -e "$tmp/d/.mixbt-cifar10.manifest"
# A folder as --from: the published names are looked up in it (STL-10's is absent there).
"$bin" download stl10 --data "$tmp/d" --from "$tmp" >/dev/null 2>"$tmp/err"; rc=$?
check "--from folder without the file: exit 1" test $rc -eq 1
check "--from folder: names the missing file" grep -q "$tmp/stl10_binary.tar.gz not found" "$tmp/err"
# MNIST's four files: a wrong one is named.
printf 'not gzip' >"$tmp/train-images-idx3-ubyte.gz"
"$bin" download mnist --data "$tmp/d" --from "$tmp" >/dev/null 2>"$tmp/err"; rc=$?
check "wrong MNIST file: exit 1" test $rc -eq 1
check "wrong MNIST file: published MD5" grep -q "expected f68b3c2dcbeaaa9fbdd348bbdeb94873" "$tmp/err"
# The data folder cannot be created.
"$bin" download cifar10 --data "$tmp/cifar-10-binary.tar.gz/sub" --from "$tmp/cifar-10-binary.tar.gz" >/dev/null 2>"$tmp/err"; rc=$?
check "data folder under a file: exit 1" test $rc -eq 1
check "data folder under a file: named" grep -q "cifar-10-binary.tar.gz/sub" "$tmp/err"

if [ $fails -ne 0 ]; then echo "cli_download: $fails failed" >&2; exit 1; fi
echo "cli_download: all passed"
