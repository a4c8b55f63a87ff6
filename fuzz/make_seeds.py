#!/usr/bin/env python3
"""Writes the seed inputs of the structured fuzz harnesses (fuzz/pth_archive.h, fuzz/data_targets.h)
into fuzz/corpus/<harness>/: small valid inputs in each harness's layout. Standard library only."""
import gzip
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"#REC#"


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pth_seeds():
    """Each committed .pth unpacked into flags + data.pkl + its storage records data/0, data/1 ..."""
    for src, flags in (("small.pth", 0x00), ("nested.pth", 0x14)):
        with zipfile.ZipFile(os.path.join(HERE, "corpus", "pth", src)) as z:
            names = z.namelist()
            prefix = next(n for n in names if n.endswith("/data.pkl"))[: -len("data.pkl")]
            records = sorted((n for n in names if n.startswith(prefix + "data/")), key=lambda n: int(n.rsplit("/", 1)[1]))
            assert [int(n.rsplit("/", 1)[1]) for n in records] == list(range(len(records)))
            parts = [z.read(prefix + "data.pkl")] + [z.read(n) for n in records]
        put("pth", "parts_" + src.replace(".pth", ""), bytes([flags]) + SEP.join(parts))
        put("pth", "parts_deflated_" + src.replace(".pth", ""), bytes([flags | 3]) + SEP.join(parts))


def sbu(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def sbb(b):
    return b"C" + bytes([len(b)]) + b


def ndarray_u8(rows, cols, data):
    """A numpy uint8 array as numpy pickles it (protocol 4 opcodes)."""
    assert len(data) == rows * cols
    return (sbu("numpy.core.multiarray") + sbu("_reconstruct") + b"\x93" + sbu("numpy") + sbu("ndarray") + b"\x93"
            + b"K\x00\x85" + sbb(b"b") + b"\x87R"
            + b"(K\x01" + b"K" + bytes([rows]) + b"M" + struct.pack("<H", cols) + b"\x86"
            + sbu("numpy") + sbu("dtype") + b"\x93" + sbu("u1") + b"\x89\x88\x87R"
            + b"(K\x03" + sbu("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
            + b"\x89" + b"B" + struct.pack("<I", len(data)) + data + b"tb")


def cifar_pickle(label_key, labels, str_keys, rows=None, cols=3072):
    key = sbu if str_keys else (lambda s: sbb(s.encode()))
    rows = len(labels) if rows is None else rows
    px = bytes((i * 13 + 5) % 256 for i in range(rows * cols))
    return (b"\x80\x04}(" + key(label_key) + b"](" + b"".join(b"K" + bytes([l]) for l in labels) + b"e"
            + key("data") + ndarray_u8(rows, cols, px) + b"u.")


def cifar_seeds():
    px = bytes((i * 7) % 256 for i in range(3072))
    put("cifar", "bin10_test", bytes([4]) + bytes([3]) + px)           # CIFAR-10 test_batch.bin, 1 record
    put("cifar", "bin100_train", bytes([1]) + bytes([2, 57]) + px)     # CIFAR-100 train.bin (coarse, fine)
    put("cifar", "py10_test", bytes([6]) + cifar_pickle("labels", [7], True))
    put("cifar", "py100_train_top", bytes([3 | 8]) + cifar_pickle("fine_labels", [99], False))
    # the pickle layout's errors: a label out of range, more labels than images, rows of 12 bytes
    put("cifar", "py10_bad_label", bytes([6]) + cifar_pickle("labels", [10], True))
    put("cifar", "py10_label_count", bytes([6]) + cifar_pickle("labels", [1, 2], True, rows=1))
    put("cifar", "py10_shape", bytes([6]) + cifar_pickle("labels", [1, 2], True, cols=12))


def stl_seeds():
    put("stl", "train", bytes([0, 1, 0, 0]) + b"\x03")
    put("stl", "test_sub", bytes([1 | 4, 2, 0, 0]) + b"\x01\x0a")
    put("stl", "unlabeled", bytes([2, 1, 0, 0]))
    put("stl", "train_unlabeled", bytes([3, 1, 2, 0]) + b"\x05")


def idx_seeds():
    n, rows, cols = 2, 3, 4
    images = struct.pack(">IIII", 0x803, n, rows, cols) + bytes(range(n * rows * cols))
    labels = struct.pack(">II", 0x801, n) + bytes([3, 9])
    for name, mode in (("plain", 0), ("fashion_test", 1 | 2), ("gzip", 4 | 8), ("torchvision", 32)):
        put("idx", name, bytes([mode]) + images + SEP + labels)
    # bit 4: the images part is the .gz file itself: really compressed, cut short, with a wrong CRC
    packed = gzip.compress(images, mtime=0)
    put("idx", "gzip_deflated", bytes([16]) + packed + SEP + labels)
    put("idx", "gzip_truncated", bytes([16]) + packed[:-12] + SEP + labels)
    put("idx", "gzip_bad_crc", bytes([16]) + packed[:-8] + bytes(4) + packed[-4:] + SEP + labels)
    put("idx", "no_images", bytes([0]) + struct.pack(">IIII", 0x803, 0, rows, cols) + SEP + struct.pack(">II", 0x801, 0))


def ppm_seeds():
    put("ppm", "p6", b"P6\n2 2\n255\n" + bytes(range(12)))
    put("ppm", "p5_comment", b"P5 # gray\n3 1 # size\n255 " + bytes([0, 128, 255]))
    put("ppm", "p6_trailing", b"P6\t1\r1\n#c\n255\n" + b"abcXYZ")


def lists_seeds():
    dtd = [b"banded/banded_0001.jpg\nbumpy/bumpy_0002.jpg\n", b"banded/banded_0003.jpg\n", b"bumpy/bumpy_0004.jpg\r\n"]
    put("lists", "dtd_train", bytes([0]) + SEP.join(dtd))
    put("lists", "dtd_test", bytes([4]) + SEP.join(dtd))
    cub = [b"1 001.Albatross/a.jpg\n2 002.Auklet/b.jpg\n3 001.Albatross/c.jpg\n", b"1 1\n2 2\n3 1\n",
           b"1 1\n2 0\n3 1\n", b"1 001.Albatross\n2 002.Auklet\n"]
    put("lists", "cub_train", bytes([1]) + SEP.join(cub))
    put("lists", "cub_test_noclasses", bytes([1 | 4]) + SEP.join(cub[:3]))
    air = [b"0001 Boeing 707-320\n0002 A320\n", b"0003 A320\n", b"0001 1 2 30 40\n0002 0 0 10 10\n0003 3 3 9 9\n"]
    put("lists", "aircraft_train", bytes([2]) + SEP.join(air))
    put("lists", "aircraft_test_top", bytes([3 | 4]) + SEP.join(air))


def mat_element(tag, data):
    pad = (-len(data)) % 8
    return struct.pack("<II", tag, len(data)) + data + b"\0" * pad


def mat_file(labels, mx_class, mi_type, fmt, compressed):
    """A MAT-file v5 holding the row vector 'labels' (the layout of Flowers-102's imagelabels.mat)."""
    header = b"MATLAB 5.0 MAT-file, written by fuzz/make_seeds.py".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"
    body = (mat_element(6, struct.pack("<II", mx_class, 0)) + mat_element(5, struct.pack("<ii", 1, len(labels)))
            + mat_element(1, b"labels") + mat_element(mi_type, struct.pack("<%d%s" % (len(labels), fmt), *labels)))
    element = mat_element(14, body)
    if compressed:
        element = mat_element(15, zlib.compress(element))
    return header + element


def mat_seeds():
    labels = [1, 2, 1, 3, 2, 1, 1]
    put("mat", "double.mat", mat_file(labels, 6, 9, "d", False))        # mxDOUBLE_CLASS, miDOUBLE
    put("mat", "uint8.mat", mat_file(labels, 9, 2, "B", False))         # mxUINT8_CLASS, miUINT8
    put("mat", "compressed.mat", mat_file(labels, 6, 9, "d", True))     # miCOMPRESSED


if __name__ == "__main__":
    pth_seeds()
    cifar_seeds()
    stl_seeds()
    idx_seeds()
    ppm_seeds()
    lists_seeds()
    mat_seeds()
