#!/usr/bin/python3
"""Writes, for tests/cli_init_from.sh (nothing is committed), a training checkpoint shaped like the original
project's checkpoint.pth: torch.save({'epoch': 7, 'model': model.state_dict(), 'optimizer':
optimizer.state_dict()}) with the model wrapped in DataParallel ('module.' on every name, as its
DistributedDataParallel runs save it). The model is the reference's small-data Model (f.*, g.*: ResNet-18,
32-px stem, projector 512-512-FEATURE_DIM) with PyTorch's initialisation from seed 5, BN running statistics
moved by three training-mode batches, and one Adam step taken (so the optimizer holds state).
Also writes OUT.expect: a line "name md5" per tensor (without 'module.'; the MD5 of its little-endian bytes) for
the test to compare with what mixbt loaded.
Usage: /usr/bin/python3 tools/make_init_checkpoint.py OUT.pth FEATURE_DIM"""
import hashlib
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_model_fixtures import SmallModel  # noqa: E402


def main():
    out, dim = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(5)
    model = SmallModel("resnet18", 32, dim)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(3):
        feature, z = model(torch.randn(8, 3, 32, 32))
        loss = z.square().sum() + feature.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    wrapped = torch.nn.DataParallel(model)
    torch.save({"epoch": 7, "model": wrapped.state_dict(), "optimizer": opt.state_dict()}, out)
    with open(out + ".expect", "w") as f:
        for name, t in model.state_dict().items():
            f.write("%s %s\n" % (name, hashlib.md5(t.contiguous().numpy().tobytes()).hexdigest()))


if __name__ == "__main__":
    main()
