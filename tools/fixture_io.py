"""Writer of test fixture files (named float64 arrays) read by tests/fixture.c.

Format: magic b"MBTFIX1\\0", then records [u32 name length, name, u32 ndim, i64 dims, f64 data],
little-endian. Usage:
    from fixture_io import FixtureWriter
    with FixtureWriter("tests/fixtures/x.bin") as w:
        w.add("name", array_like)
"""
import struct

import numpy as np


class FixtureWriter:
    def __init__(self, path):
        self.path = path
        self.fh = None

    def __enter__(self):
        self.fh = open(self.path, "wb")
        self.fh.write(b"MBTFIX1\0")
        return self

    def add(self, name, value):
        a = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
        nb = name.encode()
        self.fh.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", a.ndim))
        self.fh.write(struct.pack("<%dq" % a.ndim, *a.shape))
        self.fh.write(a.astype("<f8").tobytes())

    def __exit__(self, *exc):
        self.fh.close()
