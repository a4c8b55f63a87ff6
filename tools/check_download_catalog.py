#!/usr/bin/python3
"""Compares mixbt download's built-in catalogue with torchvision's dataset classes.

Run with Debian's python3 (torchvision 0.14):  /usr/bin/python3 tools/check_download_catalog.py build/mixbt
It checks, for STL-10, MNIST and Fashion-MNIST, that every file torchvision lists is in the catalogue
with the same MD5 and that the catalogue's URLs are torchvision's mirror + file name (the order of
MNIST's mirrors may differ: mixbt tries the S3 mirror first). The CIFAR binary versions are not in
torchvision; their MD5s are printed for a check against https://www.cs.toronto.edu/~kriz/cifar.html.
Exit status 0 when everything matches.
"""
import subprocess
import sys

from torchvision import datasets


def parse_list(text):
    """{dataset: {file: (md5, [urls])}} from `mixbt download --list`."""
    cat, ds, last = {}, None, None
    for line in text.splitlines():
        if not line.startswith(" "):
            ds = line.split(":")[0]
            cat[ds] = {}
        elif line.startswith("    "):
            cat[ds][last][1].append(line.strip())
        elif "  md5 " in line:
            parts = line.split()
            last = parts[0]
            cat[ds][last] = (parts[2], [])
    return cat


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/mixbt"
    cat = parse_list(subprocess.run([binary, "download", "--list"], check=True, capture_output=True,
                                    text=True).stdout)
    bad = 0

    def expect(ds, name, md5, mirrors):
        nonlocal bad
        got = cat.get(ds, {}).get(name)
        if not got:
            print(f"MISSING {ds}: {name}")
            bad += 1
            return
        urls = sorted(m + name for m in mirrors)
        ok = got[0] == md5 and sorted(got[1]) == urls
        print(f"{'ok     ' if ok else 'DIFFERS'} {ds}: {name} md5 {got[0]} (torchvision {md5})"
              + ("" if sorted(got[1]) == urls else f" urls {got[1]} vs {urls}"))
        bad += not ok

    stl = datasets.STL10
    expect("stl10", stl.filename, stl.tgz_md5, [stl.url.rsplit("/", 1)[0] + "/"])
    for ds, cls in (("mnist", datasets.MNIST), ("fashion_mnist", datasets.FashionMNIST)):
        for name, md5 in cls.resources:
            expect(ds, name, md5, cls.mirrors)
        if len(cat.get(ds, {})) != len(cls.resources):
            print(f"DIFFERS {ds}: {len(cat.get(ds, {}))} files, torchvision {len(cls.resources)}")
            bad += 1
    for ds in ("cifar10", "cifar100"):
        for name, (md5, urls) in cat.get(ds, {}).items():
            print(f"check by hand against the CIFAR page: {ds}: {name} md5 {md5} {urls}")
    print("all match" if not bad else f"{bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
