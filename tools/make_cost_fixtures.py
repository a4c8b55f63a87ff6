#!/usr/bin/python3
"""Writes tests/fixtures/model_cost.bin: parameters and multiply-adds per image of the backbone and the
projector of the models mixbt builds, counted on the PyTorch modules with forward hooks that apply thop's
rules for convolutions and linear layers (thop/vision/basic_hooks.py count_convNd: y.numel() *
(in_channels // groups * kh * kw + bias); count_linear: y.numel() * in_features), for tests/test_model_cost.c.

Head case k (the baselines' heads, ssl-sota's make_head: (Linear + BN + ReLU) x (layers - 1), Linear, SimCLR's
bn_last): "h<k>_in", "h<k>_size", "h<k>_layers", "h<k>_emb", "h<k>_bn_last", then "h<k>_params", "h<k>_macs".

Case k: "c<k>_arch" (18 or 50), "c<k>_size", "c<k>_imagenet" (1: the ImageNet model), "c<k>_proj"
(projector sizes), then "c<k>_backbone_params", "c<k>_backbone_macs", "c<k>_proj_params", "c<k>_proj_macs".

Run: /usr/bin/python3 tools/make_cost_fixtures.py
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "model_cost.bin")


def backbone(arch, size, imagenet):
    """The reference's small-data trunk (3x3 conv1, max pool only from 64 px on), or torchvision's."""
    net = getattr(torchvision.models, arch)(weights=None)
    if not imagenet:
        net.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        if size <= 32:
            net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    return net


def projector(emb, sizes, small):
    """Small-data Model: Linear(no bias)+BN+ReLU, last Linear with a bias; ImageNet: no bias anywhere."""
    layers, d = [], emb
    for i, s in enumerate(sizes):
        last = i == len(sizes) - 1
        layers.append(nn.Linear(d, s, bias=small and last))
        if not last:
            layers += [nn.BatchNorm1d(s), nn.ReLU()]
        d = s
    return nn.Sequential(*layers)


def head(in_dim, size, layers, emb, bn_last):
    mods, d = [], in_dim
    for _ in range(layers - 1):
        mods += [nn.Linear(d, size), nn.BatchNorm1d(size), nn.ReLU()]
        d = size
    mods.append(nn.Linear(d, emb))
    if bn_last:
        mods.append(nn.BatchNorm1d(emb))
    return nn.Sequential(*mods)


def count(module, x):
    macs = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            kernel = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            macs[0] += out.numel() * (kernel + (1 if m.bias is not None else 0))
        elif isinstance(m, nn.Linear):
            macs[0] += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        y = module(x)
    for h in handles:
        h.remove()
    params = sum(p.numel() for p in module.parameters())
    return params, macs[0] // x.shape[0], y


CASES = [("resnet18", 32, 0, [512, 1024]), ("resnet50", 32, 0, [512, 128]), ("resnet18", 64, 0, [512, 1024]),
         ("resnet50", 96, 0, [512, 1024]), ("resnet18", 224, 1, [8192, 8192, 8192]),
         ("resnet50", 224, 1, [8192, 8192, 8192])]


HEADS = [(512, 1024, 2, 64, 1), (2048, 1024, 2, 64, 0), (512, 4096, 3, 128, 0), (64, 1024, 2, 64, 0), (2048, 512, 1, 32, 0)]


def main():
    with FixtureWriter(OUT) as w:
        w.add("nheads", len(HEADS))
        for k, (in_dim, size, layers, emb, bn_last) in enumerate(HEADS):
            hp, hm, _ = count(head(in_dim, size, layers, emb, bn_last).eval(), torch.zeros(2, in_dim))
            for name, v in [("in", in_dim), ("size", size), ("layers", layers), ("emb", emb), ("bn_last", bn_last),
                            ("params", hp), ("macs", hm)]:
                w.add("h%d_%s" % (k, name), v)
            print("head %d-%d x%d -> %d (bn_last %d): %d params %d MACs" % (in_dim, size, layers, emb, bn_last, hp, hm))
        w.add("ncases", len(CASES))
        for k, (arch, size, imagenet, sizes) in enumerate(CASES):
            f = backbone(arch, size, imagenet).eval()
            g = projector(2048 if arch == "resnet50" else 512, sizes, not imagenet).eval()
            bp, bm, h = count(f, torch.zeros(2, 3, size, size))
            pp, pm, _ = count(g, h)
            for name, v in [("arch", int(arch[6:])), ("size", size), ("imagenet", imagenet), ("proj", sizes),
                            ("backbone_params", bp), ("backbone_macs", bm), ("proj_params", pp), ("proj_macs", pm)]:
                w.add("c%d_%s" % (k, name), v)
            print("%s %d px: backbone %d params %.4g MACs; projector %s %d params %d MACs" % (arch, size, bp, bm, sizes, pp, pm))


if __name__ == "__main__":
    main()
