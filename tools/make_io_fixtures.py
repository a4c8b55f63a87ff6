#!/usr/bin/python3
"""Fixtures for mixbt's checkpoint readers and writers (src/io), written by PyTorch / numpy / pickle.

Run with Debian's Python (python3-torch 1.13, python3-torchvision 0.14):
    /usr/bin/python3 tools/make_io_fixtures.py            # writes tests/fixtures/io_*
    /usr/bin/python3 tools/make_io_fixtures.py check-pth MIXBT_FILE REFERENCE_FILE [KEY]
        torch.load()s a .pth written by mixbt and checks it against a reference checkpoint
        (same names, dtypes, shapes, bit-identical values); with KEY also load_state_dict()s it
        strictly into the network of the io_nested fixture. Prints OK or raises.

Expectation files (*.expect) hold, for each tensor, the bytes torch/numpy produce for it (contiguous,
little-endian), so that tests compare bit for bit. Format ("MBTRAW1\\0" magic, little-endian):
    records of [u32 name length, name, u32 dtype length, dtype ("f32" "f16" "bf16" "f64" "i64" "i32"
    "u8"), u32 ndim, i64 dims[ndim], u64 nbytes, bytes].
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")

DTYPE_NAMES = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
    torch.int64: "i64", torch.int32: "i32", torch.uint8: "u8",
}
NP_NAMES = {np.dtype("float32"): "f32", np.dtype("float16"): "f16", np.dtype("float64"): "f64",
            np.dtype("int64"): "i64", np.dtype("int32"): "i32", np.dtype("uint8"): "u8"}


def tensor_bytes(t):
    """The bytes of a tensor laid out contiguously (bfloat16 through an int16 view)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().tobytes()


def write_expect(path, items):
    """items: (name, dtype name, shape, bytes)."""
    with open(path, "wb") as f:
        f.write(b"MBTRAW1\0")
        for name, dt, shape, data in items:
            nb, db = name.encode(), dt.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", len(db)) + db)
            f.write(struct.pack("<I", len(shape)) + struct.pack("<%dq" % len(shape), *shape))
            f.write(struct.pack("<Q", len(data)) + data)


def expect_from_state_dict(path, sd, rename=lambda k: k):
    write_expect(path, [(rename(k), DTYPE_NAMES[v.dtype], tuple(v.shape), tensor_bytes(v)) for k, v in sd.items()])


def out(name):
    return os.path.join(OUT, name)


# ---------------------------------------------------------------------------------------------
# .pth fixtures written by torch.save

def dtypes_state_dict():
    g = torch.Generator().manual_seed(1234)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    special = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 65504.0, 6e-8, -5.96e-8,
                            1e-5, 3.14159, -2.71828])
    sd["f16"] = torch.cat([torch.randn(5, generator=g), special]).half()
    sd["bf16"] = torch.cat([torch.randn(6, generator=g), special, torch.tensor([1e38, 1e-40, -1e-39, 7.0])]).bfloat16().reshape(3, 7)
    sd["f64"] = torch.randn(2, 2, generator=g, dtype=torch.float64)
    sd["i64"] = torch.tensor([-(2 ** 40), -1, 0, 1, 2 ** 62, -(2 ** 63)], dtype=torch.int64)
    sd["i32"] = torch.tensor([-(2 ** 31), -7, 0, 123456, 2 ** 31 - 1], dtype=torch.int32)
    sd["u8"] = torch.arange(0, 256, 17, dtype=torch.uint8)
    sd["scalar"] = torch.tensor(3.5)
    sd["count"] = torch.tensor(42, dtype=torch.int64)  # like num_batches_tracked
    sd["empty"] = torch.zeros(0, 3)
    base = torch.randn(3, 5, generator=g)
    sd["transposed"] = base.t()  # non-contiguous view
    sd["permuted"] = torch.randn(2, 3, 4, 5, generator=g).permute(0, 2, 3, 1)
    big = torch.arange(12, dtype=torch.float32) * 0.5
    sd["shared_a"] = big[2:5]  # two views of one storage with offsets
    sd["shared_b"] = big[4:10].view(2, 3)
    sd["strided"] = big[1::3]
    sd["expanded"] = torch.tensor([1.25, -2.5]).expand(3, 2)  # stride 0
    sd["param"] = nn.Parameter(torch.randn(2, 2, generator=g))  # _rebuild_parameter
    sd["half_t"] = torch.randn(3, 2, generator=g).half().t()
    return sd


class Net(nn.Module):
    """The small network of the nested checkpoint (conv, batch norm, linear)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


def trained_net():
    torch.manual_seed(7)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for _ in range(2):
        loss = net(torch.randn(4, 3, 8, 8)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, opt


def make_pth():
    sd = dtypes_state_dict()
    torch.save(sd, out("io_dtypes.pth"))
    expect_from_state_dict(out("io_dtypes.expect"), sd)

    net, opt = trained_net()
    ckpt = {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 7, "best_acc": 91.25,
            "arch": "tiny", "history": [1.5, 2.5, None], "big_int": 2 ** 40, "neg": -5,
            "flags": (True, False, None), "note": b"bytes value"}
    torch.save(ckpt, out("io_nested.pth"))
    expect_from_state_dict(out("io_nested.expect"), net.state_dict())

    dp = nn.DataParallel(net)
    torch.save(dp.state_dict(), out("io_ddp.pth"))
    expect_from_state_dict(out("io_ddp.expect"), net.state_dict())  # the names without "module."

    # the same archive with deflated entries (torch writes stored ones; zip tools may not)
    with zipfile.ZipFile(out("io_dtypes.pth")) as src, \
            zipfile.ZipFile(out("io_deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0)), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    # a TorchScript archive: refused with a hint
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), out("io_torchscript.pt"))
    # (its storage keys are object ids: this one file differs between runs)
    torch.save(sd, out("io_legacy.pth"), _use_new_zipfile_serialization=False)


def make_conversions():
    """f16/bf16 -> f32 (exact) and f32 -> f16/bf16 (round to nearest even) as torch computes them."""
    sd = dtypes_state_dict()
    g = torch.Generator().manual_seed(99)
    src = torch.cat([
        torch.randn(200, generator=g) * 10.0 ** torch.randint(-9, 6, (200,), generator=g),
        torch.tensor([0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65520.0, 1e6, -1e6, 6.1e-5, 6.0e-8, 2.98e-8, 2.99e-8,
                      1e-10, 3.0e38, 1.0009765625, 1.00048828125, 1.00146484375, 1.00390625, 1.001953125,
                      1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -9, float("inf"), float("-inf")]),
        # f16 halfway cases between subnormals and around 2^-14
        (torch.arange(0, 40, dtype=torch.float64) * 2.0 ** -25 + 2.0 ** -14 * 0.5).float(),
    ]).float()
    write_expect(out("io_convert.expect"), [
        ("f16_as_f32", "f32", tuple(sd["f16"].shape), tensor_bytes(sd["f16"].float())),
        ("bf16_as_f32", "f32", tuple(sd["bf16"].shape), tensor_bytes(sd["bf16"].float())),
        ("f64_as_f32", "f32", tuple(sd["f64"].shape), tensor_bytes(sd["f64"].float())),
        ("src", "f32", tuple(src.shape), tensor_bytes(src)),
        ("src_f16", "f16", tuple(src.shape), tensor_bytes(src.half())),
        ("src_bf16", "bf16", tuple(src.shape), tensor_bytes(src.bfloat16())),
    ])


# ---------------------------------------------------------------------------------------------
# hand-made torch zips: the pickle is written by pickle.Pickler with torch's persistent ids, so that
# views, storages and globals can be wrong on purpose (nothing is unpickled here)

class Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class FakeStorage:
    def __init__(self, cls, key, numel):
        self.pid = ("storage", cls, key, "cpu", numel)


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, FakeStorage) else None


def tensor_rebuild(storage, offset, size, stride):
    return Reduce(torch._utils._rebuild_tensor_v2, (storage, offset, size, stride, False, collections.OrderedDict()))


def write_torch_zip(path, obj, storages, prefix="archive"):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    def entry(name):  # a fixed time stamp keeps the fixtures byte-identical between runs
        return zipfile.ZipInfo(prefix + "/" + name, date_time=(2000, 1, 1, 0, 0, 0))

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(entry("data.pkl"), buf.getvalue())
        for key, data in storages.items():
            z.writestr(entry("data/" + key), data)
        z.writestr(entry("version"), "3\n")


def make_bad_pth():
    st = FakeStorage(torch.FloatStorage, "0", 4)
    data = {"0": np.arange(4, dtype="<f4").tobytes()}
    # a view reaching past its storage (offset 2 + 3 elements > 4)
    write_torch_zip(out("io_bad_view.pth"), collections.OrderedDict(w=tensor_rebuild(st, 2, (3,), (1,))), data)
    # a storage entry shorter than the pickle says (4 floats declared, 3 stored)
    write_torch_zip(out("io_bad_short.pth"), collections.OrderedDict(w=tensor_rebuild(st, 0, (4,), (1,))),
                    {"0": data["0"][:12]})
    # a storage entry missing from the archive
    write_torch_zip(out("io_bad_missing.pth"), collections.OrderedDict(w=tensor_rebuild(st, 0, (4,), (1,))), {})
    # a global outside the whitelist (never called: mixbt must name it and stop)
    write_torch_zip(out("io_bad_global.pth"),
                    collections.OrderedDict(w=Reduce(os.system, ("echo this must never run",))), data)
    # a storage type outside the whitelist
    bst = FakeStorage(torch.BoolStorage, "0", 4)
    write_torch_zip(out("io_bad_storage_type.pth"), collections.OrderedDict(w=tensor_rebuild(bst, 0, (4,), (1,))),
                    {"0": bytes(4)})
    # two tensors of different sizes declared on one storage key
    st8 = FakeStorage(torch.FloatStorage, "0", 8)
    write_torch_zip(out("io_bad_storage_size.pth"),
                    collections.OrderedDict(a=tensor_rebuild(st, 0, (4,), (1,)), b=tensor_rebuild(st8, 0, (8,), (1,))),
                    {"0": data["0"]})
    # several dicts of tensors and no usual name: auto-detection must ask for a key
    ok = tensor_rebuild(st, 0, (4,), (1,))
    write_torch_zip(out("io_two_dicts.pth"), {"student": collections.OrderedDict(w=ok),
                                              "teacher": collections.OrderedDict(w=ok), "epoch": 3}, data)
    # two dicts of tensors, one of them under a usual name: auto-detection takes "model"
    st2 = FakeStorage(torch.FloatStorage, "1", 2)
    write_torch_zip(out("io_model_and_ema.pth"), {"ema": collections.OrderedDict(e=ok),
                                                  "model": collections.OrderedDict(m=tensor_rebuild(st2, 0, (2,), (1,)))},
                    {"0": data["0"], "1": np.array([5, 6], dtype="<f4").tobytes()})


# ---------------------------------------------------------------------------------------------
# CIFAR-style pickles

def cifar_dict():
    rng = np.random.RandomState(5)
    return collections.OrderedDict([
        (b"batch_label", b"training batch 1 of 5"),
        (b"labels", [6, 9, 9, 4]),
        (b"data", rng.randint(0, 256, size=(4, 3072)).astype(np.uint8)),
        (b"filenames", [b"leptodactylus_pentadactylus_s_000004.png", b"camion_s_000148.png",
                        b"tipper_truck_s_001250.png", b"american_elk_s_001521.png"]),
    ])


class Py2Pickle:
    """Writes a protocol-2 pickle the way Python 2's cPickle wrote the CIFAR-10 batches: str as
    SHORT_BINSTRING / BINSTRING, numpy arrays through _reconstruct + BUILD, BINPUT after each object."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")
        self.memo = 1

    def put(self):
        self.b += b"q" + bytes([self.memo & 0xFF]) if self.memo < 256 else b"r" + struct.pack("<I", self.memo)
        self.memo += 1

    def string(self, s):
        self.b += (b"U" + bytes([len(s)]) if len(s) < 256 else b"T" + struct.pack("<i", len(s))) + s
        self.put()

    def int(self, v):
        if 0 <= v < 256:
            self.b += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.b += b"M" + struct.pack("<H", v)
        else:
            self.b += b"J" + struct.pack("<i", v)

    def array(self, a):
        self.b += b"cnumpy.core.multiarray\n_reconstruct\n"
        self.put()
        self.b += b"cnumpy\nndarray\n"
        self.put()
        self.int(0)
        self.b += b"\x85"
        self.put()
        self.string(b"b")
        self.b += b"\x87R"
        self.put()
        self.b += b"("
        self.int(1)
        for d in a.shape:
            self.int(d)
        self.b += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[a.ndim]
        self.put()
        self.b += b"cnumpy\ndtype\n"
        self.put()
        self.string(a.dtype.str[1:].encode())
        self.int(0)
        self.int(1)
        self.b += b"\x87R"
        self.put()
        self.b += b"("
        self.int(3)
        self.string(a.dtype.str[:1].encode())
        self.b += b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
        self.int(0)
        self.b += b"tb\x89"
        self.string(a.tobytes())
        self.b += b"tb"

    def value(self, v):
        if isinstance(v, bytes):
            self.string(v)
        elif isinstance(v, int):
            self.int(v)
        elif isinstance(v, np.ndarray):
            self.array(v)
        elif isinstance(v, list):
            self.b += b"]"
            self.put()
            self.b += b"("
            for x in v:
                self.value(x)
            self.b += b"e"
        else:
            raise TypeError(v)

    def dump(self, d):
        self.b += b"}"
        self.put()
        self.b += b"("
        for k, v in d.items():
            self.string(k)
            self.value(v)
        self.b += b"u."
        return bytes(self.b)


def check_same(a, b):
    assert list(a.keys()) == list(b.keys()), (list(a.keys()), list(b.keys()))
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), k
        else:
            assert x == y, k


def make_pickles():
    d = cifar_dict()
    py2 = Py2Pickle().dump(d)
    check_same(pickle.loads(py2, encoding="bytes"), d)  # the reference unpickler agrees with the writer
    with open(out("io_cifar_py2.pkl"), "wb") as f:
        f.write(py2)
    for proto in (2, 4, 5):
        with open(out("io_cifar_p%d.pkl" % proto), "wb") as f:
            pickle.dump(d, f, protocol=proto)
    write_expect(out("io_cifar.expect"), [
        ("data", "u8", d[b"data"].shape, d[b"data"].tobytes()),
        ("labels", "i64", (4,), np.array(d[b"labels"], dtype="<i8").tobytes())])

    rng = np.random.RandomState(6)
    arrays = collections.OrderedDict([
        ("i64", np.array([[-(2 ** 40), 3], [0, 2 ** 62]], dtype=np.int64)),
        ("f32", rng.randn(2, 3, 2).astype(np.float32)),
        ("u8_1d", np.arange(7, dtype=np.uint8)),
        ("f64_scalar", np.array(2.5)),
        ("i32", np.array([1, -2, 3], dtype=np.int32)),
    ])
    with open(out("io_numpy_arrays.pkl"), "wb") as f:
        pickle.dump(dict(arrays), f, protocol=2)
    write_expect(out("io_numpy_arrays.expect"),
                 [(k, NP_NAMES[a.dtype], a.shape, a.astype(a.dtype.newbyteorder("<")).tobytes())
                  for k, a in arrays.items()])


# ---------------------------------------------------------------------------------------------
# safetensors written by hand (the safetensors package is not installed): header JSON + data

def write_safetensors(path, tensors, metadata, pad):
    header, data, pos = {}, b"", 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dt, shape, raw) in tensors.items():
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [pos, pos + len(raw)]}
        data += raw
        pos += len(raw)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def make_safetensors():
    sd = dtypes_state_dict()
    names = ["f32", "f16", "bf16", "f64", "i64", "i32", "u8", "scalar", "count", "empty", "transposed"]
    tensors = collections.OrderedDict()
    items = []
    for n in names:
        t = sd[n]
        dt = DTYPE_NAMES[t.dtype]
        tensors["model." + n] = (dt.upper(), tuple(t.shape), tensor_bytes(t))
        items.append(("model." + n, dt, tuple(t.shape), tensor_bytes(t)))
    meta = {"format": "pt", "note": 'quoted "text", tab\t and \u00e9'}
    write_safetensors(out("io_py.safetensors"), tensors, meta, pad=True)
    # an odd header length: data are not aligned in memory, so the reader must copy
    odd = collections.OrderedDict((k, v) for k, v in tensors.items() if k in ("model.f32", "model.u8", "model.f64"))
    write_safetensors(out("io_py_unaligned.safetensors"), odd, {"x": "yz"}, pad=False)
    write_expect(out("io_py_safetensors.expect"), items)


# ---------------------------------------------------------------------------------------------
# key mapping: torchvision resnet18 names vs the reference small-data Model and the ImageNet model

def make_keymap():
    import torchvision

    tv = torchvision.models.resnet18()
    rows = []

    def small(pool):
        f = []
        for name, module in torchvision.models.resnet18().named_children():
            if name == "conv1":
                module = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            if isinstance(module, nn.Linear) or (not pool and isinstance(module, nn.MaxPool2d)):
                continue
            f.append(module)
        return nn.Sequential(*f)

    cifar, pooled = small(False).state_dict(), small(True).state_dict()
    tv_sd = tv.state_dict()
    tv_names = [k for k in tv_sd if not k.startswith("fc.")]
    assert len(tv_names) == len(cifar) == len(pooled)
    for t, c, p in zip(tv_names, cifar.keys(), pooled.keys()):
        rows.append("%s f.%s f.%s backbone.%s %s %s" % (t, c, p, t, ",".join(map(str, tv_sd[t].shape)) or "-",
                                                      ",".join(map(str, cifar[c].shape)) or "-"))
    for k in ("fc.weight", "fc.bias"):
        rows.append("%s - - - %s -" % (k, ",".join(map(str, tv_sd[k].shape))))
    with open(out("io_keymap_resnet18.txt"), "w") as f:
        f.write("# torchvision_name small_cifar_name small_pool_name imagenet_name tv_shape small_shape\n")
        f.write("\n".join(rows) + "\n")


# ---------------------------------------------------------------------------------------------
# fuzzing seeds: small valid inputs of each reader (fuzz/corpus/<harness>/)

def make_fuzz_seeds():
    root = os.path.join(HERE, "..", "fuzz", "corpus")
    for h in ("pickle", "pth", "safetensors"):
        os.makedirs(os.path.join(root, h), exist_ok=True)

    def seed(h, name, data):
        with open(os.path.join(root, h, name), "wb") as f:
            f.write(data)

    g = torch.Generator().manual_seed(3)
    base = torch.randn(3, 4, generator=g)
    small = collections.OrderedDict([("w", base), ("t", base.t()), ("h", base[1].half()), ("i", torch.tensor(5)),
                                     ("b", base[:, 1:3].bfloat16()), ("v", base.view(-1)[2:7])])
    net, opt = trained_net()
    for name, obj in (("small", small), ("nested", {"model": net.state_dict(), "optimizer": opt.state_dict(),
                                                    "epoch": 3})):
        buf = io.BytesIO()
        torch.save(obj, buf)
        seed("pth", name + ".pth", buf.getvalue())
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
            seed("pickle", "torch_" + name + ".pkl", z.read([n for n in z.namelist() if n.endswith("data.pkl")][0]))
    d = collections.OrderedDict([(b"labels", [1, 2]), (b"data", np.arange(12, dtype=np.uint8).reshape(2, 6)),
                                 (b"filenames", [b"a.png", b"b.png"])])
    seed("pickle", "cifar_py2.pkl", Py2Pickle().dump(d))
    for proto in (2, 4, 5):
        seed("pickle", "cifar_p%d.pkl" % proto, pickle.dumps(d, protocol=proto))
    seed("pickle", "arrays.pkl", pickle.dumps({"f": np.ones((2, 2), np.float32), "i": np.arange(3), "s": np.float64(2)},
                                              protocol=2))
    tensors = collections.OrderedDict([("a", ("F32", (2, 2), np.arange(4, dtype="<f4").tobytes())),
                                       ("b", ("U8", (3,), b"xyz")), ("c", ("BF16", (), b"\x80\x3f"))])
    for name, pad in (("padded", True), ("unpadded", False)):
        path = os.path.join(root, "safetensors", name + ".safetensors")
        write_safetensors(path, tensors, {"k": "v"} if pad else None, pad)


# ---------------------------------------------------------------------------------------------

def check_pth(mixbt_file, reference_file, key=None):
    got = torch.load(mixbt_file)
    ref = torch.load(reference_file)
    if key:
        ref = ref[key]
    assert isinstance(got, collections.OrderedDict), type(got)
    assert list(got.keys()) == list(ref.keys()), (list(got.keys()), list(ref.keys()))
    for k in ref:
        a, b = got[k], ref[k]
        assert a.dtype == b.dtype and a.shape == b.shape, (k, a.dtype, b.dtype, a.shape, b.shape)
        assert tensor_bytes(a) == tensor_bytes(b), k
    if key:
        net = Net()
        net.load_state_dict(got, strict=True)
        for k, v in net.state_dict().items():
            assert tensor_bytes(v) == tensor_bytes(ref[k]), k
    print("OK: %d tensors bit-identical%s" % (len(ref), ", load_state_dict accepted" if key else ""))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "check-pth":
        check_pth(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
        return
    os.makedirs(OUT, exist_ok=True)
    make_pth()
    make_conversions()
    make_bad_pth()
    make_pickles()
    make_safetensors()
    make_keymap()
    make_fuzz_seeds()
    for n in sorted(os.listdir(OUT)):
        if n.startswith("io_"):
            print("%-32s %7d bytes" % (n, os.path.getsize(os.path.join(OUT, n))))


if __name__ == "__main__":
    main()
