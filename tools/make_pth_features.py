#!/usr/bin/python3
"""Writes, into OUTDIR, what tests/test_pth_features.c compares at test time (nothing is committed):
a PyTorch-saved state dict of the reference's small-data Model (torch.save(model.state_dict())) with
random PyTorch-initialised weights and running statistics moved off their defaults, an input batch,
and the L2-normalised backbone features PyTorch computes in evaluation mode (float32).
Usage: /usr/bin/python3 tools/make_pth_features.py OUTDIR ARCH IMAGE_SIZE"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_model_fixtures import SmallModel  # noqa: E402


def main():
    out, arch, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.manual_seed(0)
    model = SmallModel(arch, size, 128)
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
