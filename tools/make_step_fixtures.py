#!/usr/bin/python3
"""Writes tests/fixtures/step_r18.bin: three Mixed Barlow Twins training steps of the reference recipe
in PyTorch (float64), for tests/test_step_parity.c.

The step is the reference's (wgcban/mix-bt main.py, re-implemented in ../shared/reference/torch_mixbt.py):
two views and the mixed batch a*x1 + (1-a)*x2[perm] through the small-data Model (three BN batches),
the loss on the L2-normalised projector outputs standardised with the unbiased std, nothing detached,
Adam(weight_decay=1e-6) with the lr set every step by the cosine schedule on the reference's step counter
epoch * steps_per_epoch + i (epochs from 1). Weights and inputs come from the deterministic pattern of
make_model_fixtures.py; perm and a are stored. Per step the fixture holds the losses and, per parameter
tensor, the change of the parameters (sum, norm, sampled entries) and how much that change moves when
the inputs are perturbed at float32 rounding level (sens:), which sets the test's tolerance.

Run: /usr/bin/python3 tools/make_step_fixtures.py
"""
import copy
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402
from make_model_fixtures import SmallModel, pattern, rel_norm_err, set_params  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "step_r18.bin")
B, SIZE, DIM = 8, 32, 64
STEPS, EPOCHS, STEPS_PER_EPOCH, LR = 3, 20, 5, 0.01
LAMBDA_BT, LAMBDA_REG = 0.0078125, 4.0
SAMPLES = 6


def standardize(z):
    return (z - z.mean(dim=0)) / z.std(dim=0)


def off_diag(m):
    n = m.shape[0]
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def mixbt_loss(net, x1, x2, perm, alpha):
    _, z1 = net(x1)
    _, z2 = net(x2)
    z1n, z2n = standardize(z1), standardize(z2)
    c = z1n.T @ z2n / B
    loss_bt = (torch.diagonal(c) - 1).pow(2).sum() + LAMBDA_BT * off_diag(c).pow(2).sum()
    xm = alpha * x1 + (1 - alpha) * x2[perm, :]
    _, zm = net(xm)
    zmn = standardize(zm)
    cm1 = zmn.T @ z1n / B
    cm1_gt = alpha * (z1n.T @ z1n) / B + (1 - alpha) * (z2n[perm, :].T @ z1n) / B
    cm2 = zmn.T @ z2n / B
    cm2_gt = alpha * (z1n.T @ z2n) / B + (1 - alpha) * (z2n[perm, :].T @ z2n) / B
    loss_reg = LAMBDA_REG * LAMBDA_BT * ((cm1 - cm1_gt).pow(2).sum() + (cm2 - cm2_gt).pow(2).sum())
    return loss_bt, loss_reg


def cosine_lr(step):
    max_steps, warm, base = EPOCHS * STEPS_PER_EPOCH, 10 * STEPS_PER_EPOCH, B / 256
    if step < warm:
        lr = base * step / warm
    else:
        q = 0.5 * (1 + math.cos(math.pi * (step - warm) / (max_steps - warm)))
        lr = base * q + base * 0.001 * (1 - q)
    return lr * LR


def inputs(step, noise_tag=None):
    xs = []
    for v in range(2):
        x = 2.0 * pattern(3000 + 10 * step + v, B * 3 * SIZE * SIZE)
        if noise_tag is not None:
            x = x * (1.0 + 1e-6 * pattern(noise_tag + 10 * step + v, x.size))
        xs.append(torch.from_numpy(x.reshape(B, 3, SIZE, SIZE)))
    return xs


def train(model, mixes, noise_tag=None, models=None):
    """Runs the steps; returns per step (loss_bt, loss_reg, {name: parameter change})."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    out = []
    epoch = 1
    for i in range(STEPS):
        x1, x2 = inputs(i, noise_tag)
        perm, alpha = mixes[i]
        opt.param_groups[0]["lr"] = cosine_lr(epoch * STEPS_PER_EPOCH + i)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        loss_bt, loss_reg = mixbt_loss(model, x1, x2, torch.from_numpy(perm), alpha)
        opt.zero_grad()
        (loss_bt + loss_reg).backward()
        opt.step()
        delta = {n: (p.detach() - before[n]) for n, p in model.named_parameters()}
        out.append((float(loss_bt), float(loss_reg), delta))
    return out


def main():
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    mixes = [(rng.permutation(B).astype(np.int64), float(rng.beta(1.0, 1.0))) for _ in range(STEPS)]
    model = SmallModel("resnet18", SIZE, DIM).double()
    set_params(model, "bn2")
    start = copy.deepcopy(model.state_dict())
    model.train()
    ref = train(model, mixes)
    perturbed, others = [], []
    for k in range(2):
        other = SmallModel("resnet18", SIZE, DIM).double()
        other.load_state_dict(start)
        other.train()
        perturbed.append(train(other, mixes, noise_tag=7000 + 100 * k))
        others.append(other)
    with FixtureWriter(OUT) as w:
        for i, (lbt, lreg, delta) in enumerate(ref):
            perm, alpha = mixes[i]
            w.add("perm%d" % i, perm)
            w.add("alpha%d" % i, [alpha])
            w.add("lr%d" % i, [cosine_lr(STEPS_PER_EPOCH + i)])
            w.add("loss_bt%d" % i, [lbt])
            w.add("loss_reg%d" % i, [lreg])
            w.add("sens_loss%d" % i, [max(abs(p[i][0] + p[i][1] - lbt - lreg) / abs(lbt + lreg) for p in perturbed)])
            for t, (name, d) in enumerate(delta.items()):
                flat = d.reshape(-1).numpy()
                idx = (np.arange(SAMPLES, dtype=np.int64) * 7919 + t + i) % flat.size
                w.add("delta%d_norm:%s" % (i, name), [np.linalg.norm(flat)])
                w.add("delta%d_sum:%s" % (i, name), [flat.sum()])
                w.add("delta%d_idx:%s" % (i, name), idx)
                w.add("delta%d_val:%s" % (i, name), flat[idx])
                w.add("sens%d:%s" % (i, name), [max(rel_norm_err(p[i][2][name], d) for p in perturbed)])
        for name, v in model.state_dict().items():
            if name.endswith("running_mean") or name.endswith("running_var"):
                w.add("final_norm:" + name, [float(v.norm())])
                w.add("final_sens:" + name, [max(rel_norm_err(o.state_dict()[name], v) for o in others)])
    print("wrote", OUT)


if __name__ == "__main__":
    main()
