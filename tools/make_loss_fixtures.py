#!/usr/bin/python3
"""Writes tests/fixtures/loss_bt_*.bin: PyTorch (float64 autograd) values and gradients of the Barlow
Twins loss and the Mixed Barlow Twins regulariser, for tests/test_losses.c.

The loss is the reference's mixbt_loss (wgcban/mix-bt main.py; /work/shared/reference/torch_mixbt.py)
applied to given projector outputs z1, z2, zm: each standardised over the batch with the unbiased std,
C = z1n^T z2n / B, L_BT = sum (C_ii - 1)^2 + lambda * offdiag(C)^2, and with S = z2n[index]
    L_reg = scale * lambda * (||zmn^T z1n/B - (a z1n^T z1n/B + (1-a) S^T z1n/B)||^2
                              + ||zmn^T z2n/B - (a y^T z2n/B + (1-a) S^T z2n/B)||^2)
where y = z1n (paper, small-data code) or z2n (gt_uses_z2: the ImageNet script). Nothing is detached;
the gradients are d(L_BT + L_reg)/d(z1, z2, zm).

Inputs are L2-normalised rows (as the small-data model outputs), rounded to float32 so that the C test
feeds exactly the same numbers. Case k of a file is stored as arrays "c<k>_<name>", with "ncases".

Run: /usr/bin/python3 tools/make_loss_fixtures.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")


def standardize(z):
    return (z - z.mean(dim=0)) / z.std(dim=0)


def off_diag(m):
    n = m.shape[0]
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def loss(z1, z2, zm, index, alpha, lmbda, scale, gt_uses_z2):
    """The reference's loss on projector outputs (torch_mixbt.mixbt_loss after the forwards)."""
    B = z1.shape[0]
    z1n, z2n = standardize(z1), standardize(z2)
    c = z1n.T @ z2n / B
    loss_bt = (torch.diagonal(c) - 1).pow(2).sum() + lmbda * off_diag(c).pow(2).sum()
    if scale == 0:
        return loss_bt, torch.zeros((), dtype=z1.dtype)
    zmn = standardize(zm)
    cm1 = zmn.T @ z1n / B
    cm1_gt = alpha * (z1n.T @ z1n) / B + (1 - alpha) * (z2n[index, :].T @ z1n) / B
    cm2 = zmn.T @ z2n / B
    y = z2n if gt_uses_z2 else z1n
    cm2_gt = alpha * (y.T @ z2n) / B + (1 - alpha) * (z2n[index, :].T @ z2n) / B
    loss_mix = scale * lmbda * ((cm1 - cm1_gt).pow(2).sum() + (cm2 - cm2_gt).pow(2).sum())
    return loss_bt, loss_mix


def unit_rows(x):
    x = x / x.norm(dim=1, keepdim=True)
    return x.float().double()  # exactly representable in float32


def make_case(g, B, d, lmbda, scale, gt_uses_z2=False, near_optimum=False, repeats=False):
    z1 = torch.randn(B, d, generator=g, dtype=torch.float64)
    if near_optimum:  # C close to the identity: the off-diagonal sum is a small difference of large terms
        z2 = z1 + 0.01 * torch.randn(B, d, generator=g, dtype=torch.float64)
    else:
        z2 = torch.randn(B, d, generator=g, dtype=torch.float64)
    zm = torch.randn(B, d, generator=g, dtype=torch.float64)
    z1, z2, zm = unit_rows(z1), unit_rows(z2), unit_rows(zm)
    if repeats:  # not a permutation: z2n[index] is then a gather with repeated rows
        index = torch.randint(0, B, (B,), generator=g)
    else:
        index = torch.randperm(B, generator=g)
    alpha = float(np.float32(torch.rand((), generator=g, dtype=torch.float64).item()))
    lmbda, scale = float(np.float32(lmbda)), float(np.float32(scale))
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    zm.requires_grad_(True)
    lbt, lreg = loss(z1, z2, zm, index, alpha, lmbda, scale, gt_uses_z2)
    (lbt + lreg).backward()
    dzm = zm.grad if zm.grad is not None else torch.zeros_like(zm)
    return dict(B=B, d=d, z1=z1.detach(), z2=z2.detach(), zm=zm.detach(), perm=index, alpha=alpha,
                lambda_bt=lmbda, lambda_reg=scale, gt_uses_z2=int(gt_uses_z2), loss_bt=lbt.item(),
                loss_reg=lreg.item(), dz1=z1.grad, dz2=z2.grad, dzm=dzm)


def write(name, cases):
    path = os.path.join(OUT, name)
    with FixtureWriter(path) as w:
        w.add("ncases", len(cases))
        for k, c in enumerate(cases):
            for key, v in c.items():
                w.add("c%d_%s" % (k, key), v.numpy() if torch.is_tensor(v) else v)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def main():
    g = torch.Generator().manual_seed(20231204)
    cifar, tiny, imnet = 1.0 / 128, 1.0 / 1024, 0.0051
    small = [
        make_case(g, 8, 16, cifar, 0.0),                       # plain Barlow Twins, B < d
        make_case(g, 8, 16, cifar, 4.0),                       # CIFAR recipe lambdas
        make_case(g, 24, 10, imnet, 0.5, gt_uses_z2=True),     # B > d, ImageNet 0.5 * lambda_reg 1.0
        make_case(g, 20, 20, tiny, 4.0),                       # B == d, Tiny-ImageNet lambdas
        make_case(g, 16, 40, cifar, 2.0, near_optimum=True),   # STL-10 lambdas, C close to I
        make_case(g, 12, 24, 0.005, 1.0, gt_uses_z2=True),     # quirk 2 with B < d
        make_case(g, 10, 6, 0.02, 3.0, repeats=True),          # index with repeated rows
        make_case(g, 30, 7, cifar, 0.0),                       # plain Barlow Twins, B > d
    ]
    write("loss_bt_cases.bin", small)
    write("loss_bt_cifar.bin", [make_case(g, 32, 96, cifar, 4.0)])


if __name__ == "__main__":
    main()
