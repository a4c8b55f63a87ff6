#!/usr/bin/python3
"""Writes the reference outputs of the deterministic image operations of the data layer, computed with
PIL 9 and torchvision 0.14 (the library the reference training code uses), into
tests/fixtures/augment_ops.u8, plus small JPEG/PNG files with PIL's decoding of them
(tests/fixtures/augment_*.jpg|png, augment_decode.u8).
Run with Debian's python: /usr/bin/python3 tools/make_augment_fixtures.py

File format (read by tests/test_augment_u8.h), little-endian: magic b"MBTU8\0\0\0", then records
[u32 name length, name, u8 kind (0 = uint8 data, 1 = float64 data), u32 ndim, i64 dims[ndim], data].
Images are [H, W, 3] uint8 arrays; parameters and float tensors are float64 arrays."""
import io
import os
import struct

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image


HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")


class U8Writer:
    """Writer of the fixture format above."""

    def __init__(self, path):
        self.fh = open(path, "wb")
        self.fh.write(b"MBTU8\0\0\0")

    def add(self, name, value):
        a = np.ascontiguousarray(value)
        kind = 0 if a.dtype == np.uint8 else 1
        if kind:
            a = a.astype("<f8")
        nb = name.encode()
        self.fh.write(struct.pack("<I", len(nb)) + nb + struct.pack("<BI", kind, a.ndim))
        self.fh.write(struct.pack("<%dq" % a.ndim, *a.shape))
        self.fh.write(a.tobytes())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def arr(img):
    a = np.asarray(img, dtype=np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    return a


def make_sources():
    rs = np.random.RandomState(1234)
    # a: smooth gradients plus noise (23 rows, 29 columns)
    y, x = np.mgrid[0:23, 0:29]
    a = np.stack([x * 255.0 / 28, y * 255.0 / 22, (x + y) * 255.0 / 50], axis=-1)
    a = np.clip(a + rs.randint(-40, 41, size=a.shape), 0, 255).astype(np.uint8)
    # b: uniformly random colours with a few gray and saturated rows (16 x 32)
    b = rs.randint(0, 256, size=(16, 32, 3)).astype(np.uint8)
    g = rs.randint(0, 256, size=(32,)).astype(np.uint8)
    b[3] = np.stack([g, g, g], axis=-1)
    b[5, :, 0] = 255
    b[5, :, 1] = np.arange(32) * 8
    b[5, :, 2] = 0
    b[6] = [[0, 0, 0]] * 16 + [[255, 255, 255]] * 16
    return a, b


def main():
    a, b = make_sources()
    ia, ib = Image.fromarray(a), Image.fromarray(b)
    with U8Writer(os.path.join(OUT, "augment_ops.u8")) as w:
        w.add("src_a", a)
        w.add("src_b", b)
        # resize of the whole image: (out_w, out_h), filter 2 = bilinear, 3 = bicubic (PIL's codes)
        sizes = [(11, 7), (50, 40), (31, 17), (5, 5), (29, 23), (87, 9)]
        w.add("resize_sizes", np.array(sizes))
        for interp, code in ((T.InterpolationMode.BILINEAR, 2), (T.InterpolationMode.BICUBIC, 3)):
            for k, (ow, oh) in enumerate(sizes):
                out = F.resize(ia, [oh, ow], interpolation=interp)
                w.add("resize_%d_%d" % (code, k), arr(out))
        # crop + resize, as RandomResizedCrop applies it: boxes (top, left, height, width) -> (size)
        boxes = [(3, 5, 12, 17, 16), (0, 0, 23, 29, 32), (10, 20, 3, 3, 32), (1, 2, 20, 9, 13), (7, 0, 9, 29, 24)]
        w.add("crop_boxes", np.array(boxes))
        for interp, code in ((T.InterpolationMode.BILINEAR, 2), (T.InterpolationMode.BICUBIC, 3)):
            for k, (i, j, h, wd, s) in enumerate(boxes):
                out = F.resized_crop(ia, i, j, h, wd, [s, s], interpolation=interp)
                w.add("crop_%d_%d" % (code, k), arr(out))
        w.add("hflip_a", arr(F.hflip(ia)))
        # colour operations (PIL ImageEnhance and HSV, through torchvision's functional API)
        factors = [0.0, 0.6, 0.83, 1.0, 1.21, 1.4, 2.5]
        w.add("enh_factors", np.array(factors))
        for k, f in enumerate(factors):
            w.add("brightness_%d" % k, arr(F.adjust_brightness(ib, f)))
            w.add("contrast_%d" % k, arr(F.adjust_contrast(ib, f)))
            w.add("saturation_%d" % k, arr(F.adjust_saturation(ib, f)))
        w.add("contrast_a", arr(F.adjust_contrast(ia, 1.33)))
        hues = [-0.5, -0.1, -0.037, 0.0, 0.004, 0.05, 0.1, 0.5]
        w.add("hue_factors", np.array(hues))
        for k, h in enumerate(hues):
            w.add("hue_%d" % k, arr(F.adjust_hue(ib, h)))
        w.add("gray_b", arr(F.rgb_to_grayscale(ib, num_output_channels=3)))
        # a ColorJitter application in a given order with given factors (torchvision's loop)
        order, (bf, cf, sf, hf) = [3, 0, 2, 1], (1.31, 0.72, 1.18, -0.064)
        img = ia
        for fn in order:
            if fn == 0:
                img = F.adjust_brightness(img, bf)
            elif fn == 1:
                img = F.adjust_contrast(img, cf)
            elif fn == 2:
                img = F.adjust_saturation(img, sf)
            else:
                img = F.adjust_hue(img, hf)
        w.add("jitter_order", np.array(order))
        w.add("jitter_factors", np.array([bf, cf, sf, hf]))
        w.add("jitter_a", arr(img))
        # ToTensor + Normalize (CIFAR statistics): float32 CHW
        norm = T.Compose([T.ToTensor(), T.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))])
        w.add("normalize_a", norm(ia).numpy().astype(np.float64))  # float32 values, exact in float64
        # the STL-10 style evaluation transform, scaled down: Resize(R, bicubic) + CenterCrop(S) on the wide
        # image a and on its transpose (tall); (R, S, tall) chosen for a truncated long side (11 * 29 / 23 =
        # 13.87, 10 * 29 / 23 = 12.6) and crop offsets at .5 (rounded half to even)
        cases = [(9, 8, 0), (11, 7, 1), (10, 7, 0)]
        w.add("evalcrop_cases", np.array(cases))
        for k, (r, sz, tall) in enumerate(cases):
            ev = T.Compose([T.Resize(r, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(sz)])
            w.add("evalcrop_%d" % k, arr(ev(ia.transpose(Image.TRANSPOSE) if tall else ia)))

        # whole training pipelines with fixed random choices, in each recipe's order (Compose order of the
        # reference): CIFAR = crop, flip, jitter, gray; Tiny/STL = jitter, gray, crop, flip; then
        # ToTensor + Normalize
        def jitter(img, order, f):
            fns = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
            for k in order:
                img = fns[k](img, f[k])
            return img

        def tensor(img, mean, std):
            return T.Compose([T.ToTensor(), T.Normalize(mean, std)])(img).numpy().astype(np.float64)

        c_box, c_order, c_f = (2, 3, 18, 20), [2, 0, 3, 1], (0.77, 1.25, 0.9, 0.06)
        img = F.resized_crop(ia, *c_box, [32, 32], interpolation=T.InterpolationMode.BILINEAR)
        img = jitter(F.hflip(img), c_order, c_f)
        w.add("pipe_cifar_box", np.array(c_box))
        w.add("pipe_cifar_order", np.array(c_order))
        w.add("pipe_cifar_factors", np.array(c_f))
        w.add("pipe_cifar", tensor(img, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)))
        t_box, t_order, t_f = (1, 4, 20, 22), [1, 3, 0, 2], (1.2, 0.8, 1.3, -0.08)
        img = F.rgb_to_grayscale(jitter(ia, t_order, t_f), num_output_channels=3)
        img = F.hflip(F.resized_crop(img, *t_box, [24, 24], interpolation=T.InterpolationMode.BICUBIC))
        w.add("pipe_tiny_box", np.array(t_box))
        w.add("pipe_tiny_order", np.array(t_order))
        w.add("pipe_tiny_factors", np.array(t_f))
        w.add("pipe_tiny", tensor(img, (0.480, 0.448, 0.398), (0.277, 0.269, 0.282)))

    # decoding: small JPEG (colour, grayscale) and PNG (RGB, RGBA, gray, 16-bit, palette) files with
    # PIL's decoded RGB pixels
    dec = {}
    jpg_rgb = io.BytesIO()
    ia.save(jpg_rgb, "JPEG", quality=90)
    jpg_gray = io.BytesIO()
    ia.convert("L").save(jpg_gray, "JPEG", quality=85)
    jpg_cmyk = io.BytesIO()
    ia.convert("CMYK").save(jpg_cmyk, "JPEG", quality=95)
    files = {
        "augment_rgb.jpg": jpg_rgb.getvalue(),
        "augment_gray.jpg": jpg_gray.getvalue(),
        "augment_cmyk.jpg": jpg_cmyk.getvalue(),
    }
    rgba = Image.fromarray(np.dstack([b, (np.arange(16 * 32).reshape(16, 32) % 256).astype(np.uint8)]), "RGBA")
    lum = np.asarray(ia.convert("L"), dtype=np.uint16)
    gray16 = (lum * 256 + (lum * 37 + 11) % 256).astype(np.uint16)  # high byte = lum, low byte varied
    pngs = {
        "augment_rgb.png": ib,
        "augment_rgba.png": rgba,
        "augment_gray.png": ia.convert("L"),
        "augment_pal.png": ia.convert("P", palette=Image.ADAPTIVE, colors=16),
        "augment_gray16.png": Image.fromarray(gray16),
    }
    for name, im in pngs.items():
        bio = io.BytesIO()
        im.save(bio, "PNG")
        files[name] = bio.getvalue()
    with U8Writer(os.path.join(OUT, "augment_decode.u8")) as w:
        for name, data in sorted(files.items()):
            with open(os.path.join(OUT, name), "wb") as fh:
                fh.write(data)
            im = Image.open(io.BytesIO(data))
            if im.mode == "I;16" or im.mode == "I":
                # not PIL's answer: PIL opens 16-bit gray as mode I and convert("RGB") clips every value
                # above 255 to 255; the data layer takes the high byte (as PIL does for 16-bit RGB), so
                # the expected value is the high byte
                g = (np.asarray(im, dtype=np.uint32) >> 8).astype(np.uint8)
                rgb = np.dstack([g, g, g])
            else:
                rgb = arr(im.convert("RGB"))
            w.add(name, rgb)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
