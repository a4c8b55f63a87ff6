#!/usr/bin/python3
"""Writes tests/fixtures/optim_*.bin for tests/test_optim.c: parameter trajectories of torch.optim.Adam,
torch.optim.SGD and the Barlow Twins LARS over a few steps (float64), and learning-rate schedules from the
reference's formulas and torch's own schedulers.

Trajectories: a flat vector p0 split into tensors, gradients g[t] for each step, a learning rate per step
(set in param_groups before each step, as the reference loops do), and p after every step plus the final
optimizer state. All inputs are rounded to float32 so that the C side starts from the same numbers.

LARS is written here from the behaviour of facebookresearch/barlowtwins main.py (mix-bt main_imagenet.py)
with weight_decay_filter = lars_adaptation_filter = True and the two parameter groups (weights, biases).

Schedules: cosine_lr is the reference's adjust_learning_rate; the epoch-wise ones are torch's
MultiStepLR / ExponentialLR driven by the reference loops (epochs from 1, scheduler.step() after each
epoch, lr read during the epoch); the baselines' warm-up is the ssl-sota train.py loop.

Run: /usr/bin/python3 tools/make_optim_fixtures.py
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
STEPS = 5


def f32(x):
    return torch.as_tensor(x, dtype=torch.float64).float().double()


class RefLARS(torch.optim.Optimizer):
    """LARS of the Barlow Twins ImageNet script with both filters on (1-D tensors: no decay, no adaptation)."""

    def __init__(self, params, lr, weight_decay, momentum=0.9, eta=0.001):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta))

    @torch.no_grad()
    def step(self):
        for grp in self.param_groups:
            for p in grp["params"]:
                if p.grad is None:
                    continue
                upd = p.grad
                if p.ndim != 1:
                    upd = upd.add(p, alpha=grp["weight_decay"])
                    pn, un = torch.norm(p), torch.norm(upd)
                    one = torch.ones_like(pn)
                    q = torch.where(pn > 0.0, torch.where(un > 0, grp["eta"] * pn / un, one), one)
                    upd = upd.mul(q)
                st = self.state[p]
                if "mu" not in st:
                    st["mu"] = torch.zeros_like(p)
                st["mu"].mul_(grp["momentum"]).add_(upd)
                p.add_(st["mu"], alpha=-grp["lr"])


def split(flat, shapes):
    out, o = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(flat[o:o + n].view(*s).clone())
        o += n
    return out


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def trajectory(w, name, g, shapes, make_opt, set_lr, lrs, grads_scale=1.0, zero_tensor=None, zero_param=None,
               zero_grad=None, state_keys=()):
    n = sum(int(np.prod(s)) for s in shapes)
    p0 = f32(torch.randn(n, generator=g, dtype=torch.float64))
    grads = f32(grads_scale * torch.randn(STEPS, n, generator=g, dtype=torch.float64))
    if zero_tensor is not None:  # a tensor that is zero and gets zero gradients: both norms are 0
        o = sum(int(np.prod(s)) for s in shapes[:zero_tensor])
        m = int(np.prod(shapes[zero_tensor]))
        p0[o:o + m] = 0
        grads[:, o:o + m] = 0
    if zero_param is not None:  # a tensor that starts at zero (||p|| = 0) but gets gradients
        o = sum(int(np.prod(s)) for s in shapes[:zero_param])
        p0[o:o + int(np.prod(shapes[zero_param]))] = 0
    if zero_grad is not None:  # a tensor with parameters but zero gradients (||update|| = 0 without decay)
        o = sum(int(np.prod(s)) for s in shapes[:zero_grad])
        grads[:, o:o + int(np.prod(shapes[zero_grad]))] = 0
    params = [t.requires_grad_(True) for t in split(p0, shapes)]
    opt = make_opt(params)
    traj = []
    for t in range(STEPS):
        for p, gt in zip(params, split(grads[t], shapes)):
            p.grad = gt
        set_lr(opt, lrs[t])
        opt.step()
        traj.append(flat(params))
    w.add(name + "_p0", p0)
    w.add(name + "_grads", grads)
    w.add(name + "_lrs", np.asarray(lrs, dtype=np.float64))
    w.add(name + "_traj", torch.stack(traj))
    w.add(name + "_shapes_ndim", [len(s) for s in shapes])
    w.add(name + "_shapes_numel", [int(np.prod(s)) for s in shapes])
    for key in state_keys:
        w.add(name + "_" + key, flat([opt.state[p][key] for p in params]))


def set_all(opt, lr):
    for grp in opt.param_groups:
        grp["lr"] = float(np.float32(lr))


def set_lars(opt, lr_pair):
    opt.param_groups[0]["lr"] = float(np.float32(lr_pair[0]))
    opt.param_groups[1]["lr"] = float(np.float32(lr_pair[1]))


def optim_fixtures():
    g = torch.Generator().manual_seed(1234)
    path = os.path.join(OUT, "optim_trajectories.bin")
    shapes = [(4, 3), (4,), (2, 2, 3), (5,), (7,)]
    with FixtureWriter(path) as w:
        # Adam, pretraining-like: varying lr, weight decay (larger than 1e-6 so that it shows)
        trajectory(w, "adam1", g, shapes,
                   lambda ps: torch.optim.Adam(ps, lr=1e-3, weight_decay=1e-2), set_all,
                   [0.0, 2e-3, 5e-3, 1e-2, 7e-3], state_keys=("exp_avg", "exp_avg_sq"))
        # Adam with other betas and eps, tiny gradients (eps matters), no weight decay
        trajectory(w, "adam2", g, shapes,
                   lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0),
                   set_all, [1e-2] * STEPS, grads_scale=1e-6, state_keys=("exp_avg", "exp_avg_sq"))
        # Adam, linear probe settings
        trajectory(w, "adam3", g, shapes,
                   lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=5e-6), set_all,
                   [1e-2 * (1e-4 ** (1 / 5)) ** k for k in range(STEPS)], state_keys=("exp_avg", "exp_avg_sq"))
        # SGD with momentum and weight decay, lr dropping mid-way
        trajectory(w, "sgd1", g, shapes,
                   lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=5e-4), set_all,
                   [0.01, 0.01, 0.01, 0.001, 0.001], state_keys=("momentum_buffer",))
        # SGD without momentum
        trajectory(w, "sgd2", g, shapes,
                   lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.0, weight_decay=1e-3), set_all,
                   [0.1, 0.05, 0.1, 0.2, 0.1])
        # LARS: weights and biases in two groups with their own lrs; one weight tensor that stays zero (both
        # norms 0) and one that starts at zero (parameter norm 0 on the first step)
        lshapes = [(4, 3), (4,), (2, 2, 3), (5,), (3, 2), (6,), (2, 3)]

        def make_lars(ps, wd=1e-2):
            weights = [p for p in ps if p.ndim != 1]
            biases = [p for p in ps if p.ndim == 1]
            return RefLARS([{"params": weights}, {"params": biases}], lr=0, weight_decay=wd)

        lrs = [(0.2 * f, 0.0048 * f) for f in (0.1, 0.5, 1.0, 1.0, 0.8)]
        trajectory(w, "lars1", g, lshapes, make_lars, set_lars, lrs, zero_tensor=4, zero_param=6,
                   state_keys=("mu",))
        # LARS without weight decay, a weight tensor with zero gradients (update norm 0), other momentum/eta
        trajectory(w, "lars2", g, lshapes,
                   lambda ps: RefLARS([{"params": [p for p in ps if p.ndim != 1]},
                                       {"params": [p for p in ps if p.ndim == 1]}],
                                      lr=0, weight_decay=0.0, momentum=0.8, eta=0.02),
                   set_lars, lrs, zero_grad=2, state_keys=("mu",))
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


# ---- schedules -------------------------------------------------------------------------------------

def cosine_lr(step, steps_per_epoch, epochs, batch_size):
    """adjust_learning_rate of the reference (without the final * args.lr)."""
    max_steps = epochs * steps_per_epoch
    warmup_steps = 10 * steps_per_epoch
    base_lr = batch_size / 256
    if step < warmup_steps:
        lr = base_lr * step / warmup_steps
    else:
        step -= warmup_steps
        max_steps -= warmup_steps
        q = 0.5 * (1 + math.cos(math.pi * step / max_steps))
        end_lr = base_lr * 0.001
        lr = base_lr * q + end_lr * (1 - q)
    return lr


def epoch_lrs(make_sched, base_lr, epochs):
    """lr during each epoch (from 1) of a reference loop that calls scheduler.step() after the epoch."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_sched(opt)
    out = []
    for _ in range(1, epochs + 1):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def schedule_fixtures():
    path = os.path.join(OUT, "optim_schedules.bin")
    with FixtureWriter(path) as w:
        # CIFAR recipe: 50000 // 256 = 195 steps per epoch, 2000 epochs, B = 256; STL-like B = 512.
        for tag, spe, epochs, B in (("cos1", 195, 2000, 256), ("cos2", 7, 30, 512)):
            warm, last = 10 * spe, (epochs + 1) * spe + spe - 1  # quirk 1 runs past epochs*spe
            steps = sorted(set([0, 1, 2, warm - 1, warm, warm + 1, (warm + epochs * spe) // 2,
                                epochs * spe - 1, epochs * spe, last] + list(range(0, last, max(1, last // 97)))))
            w.add(tag + "_steps", steps)
            w.add(tag + "_lr", [cosine_lr(s, spe, epochs, B) for s in steps])
            w.add(tag + "_meta", [spe, epochs, B])
        for E in (2000, 60):
            w.add("pretrain_step_%d" % E, epoch_lrs(
                lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[E - 50, E - 25], gamma=0.2), 1e-3, E))
        for E in (200, 7):
            gamma = (1e-6 / 1e-2) ** (1 / E)
            w.add("linear_probe_%d" % E,
                  epoch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=gamma), 1e-2, E))
        # evaluate_imagenet.py: SGD lr 0.3, CosineAnnealingLR(epochs) stepped after each epoch
        for E in (100, 7):
            w.add("imagenet_linear_%d" % E, epoch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, E), 0.3, E))
        w.add("transfer_100", epoch_lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [60, 80], gamma=0.1), 0.01, 100))
        # ssl-sota warm-up: lr_scale = (lr_warmup + 1) / 500 for the first 500 optimizer steps
        lr_warmup, factors = 0, []
        for _ in range(700):
            f = 1.0
            if lr_warmup < 500:
                f = (lr_warmup + 1) / 500
                lr_warmup += 1
            factors.append(f)
        w.add("warmup_500", factors)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    optim_fixtures()
    schedule_fixtures()
