#!/usr/bin/python3
"""Writes the reference outputs of the ImageNet recipe's two PIL filters, ImageFilter.GaussianBlur(sigma)
(as facebookresearch/barlowtwins and mix-bt's main_imagenet.py call it) and ImageOps.solarize, and of
the whole ImageNet training pipeline with fixed random choices (torchvision 0.14 + those filters),
computed with PIL 9, into tests/fixtures/augment_filter.u8 (the format of tools/make_augment_fixtures.py, read by
tests/test_augment_u8.h). Run with Debian's python: /usr/bin/python3 tools/make_data_filter_fixtures.py"""
import os
import struct

import numpy as np
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image, ImageFilter, ImageOps

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "augment_filter.u8")


def add(fh, name, value):
    a = np.ascontiguousarray(value)
    kind = 0 if a.dtype == np.uint8 else 1
    if kind:
        a = a.astype("<f8")
    nb = name.encode()
    fh.write(struct.pack("<I", len(nb)) + nb + struct.pack("<BI", kind, a.ndim))
    fh.write(struct.pack("<%dq" % a.ndim, *a.shape))
    fh.write(a.tobytes())


def sources():
    rs = np.random.RandomState(4321)
    y, x = np.mgrid[0:23, 0:29]
    smooth = np.stack([x * 255.0 / 28, y * 255.0 / 22, (x + y) * 255.0 / 50], axis=-1)
    smooth = np.clip(smooth + rs.randint(-40, 41, size=smooth.shape), 0, 255).astype(np.uint8)
    noise = rs.randint(0, 256, size=(19, 16, 3)).astype(np.uint8)
    edges = np.zeros((12, 14, 3), np.uint8)  # hard edges and a single bright pixel
    edges[:, 7:] = 255
    edges[3, 3] = [255, 0, 128]
    row = rs.randint(0, 256, size=(1, 17, 3)).astype(np.uint8)
    col = rs.randint(0, 256, size=(9, 1, 3)).astype(np.uint8)
    return [smooth, noise, edges, row, col]


def main():
    # sigmas in float32 (as the C side holds them): the reference range U[0.1, 2] (box radius below 2),
    # and larger ones whose box radius exceeds the small images' sides
    sigmas = [float(np.float32(s)) for s in (0.1, 0.5, 0.9999, 1.0, 1.37, 2.0, 4.5, 9.0)]
    with open(OUT, "wb") as fh:
        fh.write(b"MBTU8\0\0\0")
        add(fh, "blur_sigmas", np.array(sigmas))
        srcs = sources()
        for i, a in enumerate(srcs):
            add(fh, "src_%d" % i, a)
            im = Image.fromarray(a)
            for k, s in enumerate(sigmas):
                add(fh, "blur_%d_%d" % (i, k), np.asarray(im.filter(ImageFilter.GaussianBlur(s)), dtype=np.uint8))
        thresholds = [128, 0, 1, 200, 255, 256]
        add(fh, "solarize_thresholds", np.array(thresholds))
        for k, t in enumerate(thresholds):
            add(fh, "solarize_%d" % k, np.asarray(ImageOps.solarize(Image.fromarray(srcs[1]), t), dtype=np.uint8))
        # the ImageNet training pipeline of main_imagenet.py's Transform, scaled down to 24 px, with fixed
        # choices: (top, left, height, width), flip, jitter order, factors (b, c, s, h), gray, sigma, solarize
        cases = [((2, 3, 18, 20), 1, [1, 3, 0, 2], (1.2, 0.7, 1.1, 0.05), 0, 1.3, 1),
                 ((0, 5, 23, 17), 0, [2, 0, 3, 1], (0.8, 1.3, 0.9, -0.07), 1, 0.45, 0)]
        fns = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
        norm = T.Compose([T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
        for k, (box, flip, order, fac, gray, sigma, sol) in enumerate(cases):
            sigma = float(np.float32(sigma))
            img = F.resized_crop(Image.fromarray(srcs[0]), *box, [24, 24], interpolation=T.InterpolationMode.BICUBIC)
            if flip:
                img = F.hflip(img)
            for j in order:
                img = fns[j](img, fac[j])
            if gray:
                img = F.rgb_to_grayscale(img, num_output_channels=3)
            img = img.filter(ImageFilter.GaussianBlur(sigma))
            if sol:
                img = ImageOps.solarize(img)
            add(fh, "pipe_imagenet_%d_params" % k, np.array(list(box) + [flip] + order + list(fac) + [gray, sigma, sol]))
            add(fh, "pipe_imagenet_%d" % k, norm(img).numpy().astype(np.float64))


if __name__ == "__main__":
    main()
