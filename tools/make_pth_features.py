#!/usr/bin/python3
"""Writes, into OUTDIR, what tests/test_pth_features.c compares at test time (nothing is committed):
a PyTorch-saved state dict (torch.save(model.state_dict())) with random PyTorch-initialised weights
and running statistics moved off their defaults, an input batch, and the L2-normalised backbone
features PyTorch computes in evaluation mode (float32). LAYOUT: small (the reference's small-data
Model, f.*/g.*; default), imagenet (the ImageNet Barlow Twins model, backbone.*/projector.*, with a
small 256-256-128 projector), torchvision (a bare torchvision ResNet with its fc layer).
Usage: /usr/bin/python3 tools/make_pth_features.py OUTDIR ARCH IMAGE_SIZE [LAYOUT]"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import torchvision  # noqa: E402
from make_model_fixtures import ImageNetModel, SmallModel  # noqa: E402


class TorchvisionFeatures(torch.nn.Module):
    """A torchvision ResNet whose state dict is saved whole (fc included); forward gives the pooled features."""

    def __init__(self, arch):
        super().__init__()
        self.net = getattr(torchvision.models, arch)()

    def forward(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        return torch.flatten(n.avgpool(x), 1), None

    def state_dict(self, *args, **kwargs):
        return self.net.state_dict(*args, **kwargs)


def main():
    out, arch, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    layout = sys.argv[4] if len(sys.argv) > 4 else "small"
    torch.manual_seed(0)
    emb = 512 if arch == "resnet18" else 2048
    if layout == "small":
        model = SmallModel(arch, size, 128)
    elif layout == "imagenet":
        model = ImageNetModel(arch, [emb, 256, 256, 128])
    else:
        model = TorchvisionFeatures(arch)
    with torch.no_grad():  # BN affine parameters off their defaults (zero_init_residual would hide branches)
        for mod in model.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    model.train()
    with torch.no_grad():  # a few training-mode batches give non-trivial running statistics
        for _ in range(3):
            model(torch.randn(8, 3, size, size))
    model.eval()
    x = torch.randn(4, 3, size, size)
    with torch.no_grad():
        feature, _ = model(x)
        feature = torch.nn.functional.normalize(feature, dim=-1)
    torch.save(model.state_dict(), os.path.join(out, "model.pth"))
    x.numpy().astype("<f4").tofile(os.path.join(out, "input.f32"))
    feature.numpy().astype("<f4").tofile(os.path.join(out, "feature.f32"))


if __name__ == "__main__":
    main()
