#!/usr/bin/python3
"""Writes tests/fixtures/ref_ops.bin: PyTorch float64 forward values and autograd gradients of each
operation the plain-C reference ops implement (src/ops/ref.h), read by tests/test_ops_ref_torch.c.

Each case <c> stores its configuration "<c>_cfg", its inputs, its outputs and, for a fixed random
upstream gradient "<c>_dy", the gradients of sum(dy * output):
  conv7  conv2d 7x7 stride 2 pad 3, no bias (x [2,3,16,14], w [4,3,7,7]): cfg n,c_in,h,w,c_out,k,stride,pad
  conv3  conv2d 3x3 stride 2 pad 1 on an odd size (x [2,4,9,7], w [5,4,3,3])
  bn2d   batch_norm training over [3,4,2,3] (momentum 0.1, eps 1e-5 as float32, as the C shape holds
         them): y, save_mean, save_var (biased), running_mean/var after the update, dx, dgamma, dbeta;
         cfg n,c,hw,eps,momentum
  bn1d   the same over [6,5]
  bneval batch_norm evaluation over [3,4,2,3] with given running statistics: y
  maxpool  max_pool2d 3x3 stride 2 pad 1 over [2,3,9,8] (distinct values, no ties): y, dx; cfg n,c,h,w,k,stride,pad
  maxpool_ties  the same over [1,2,8,7] of negative integers -1..-3: many ties (the gradient goes to the
         first maximum in window order) and windows where zero padding would win
  avgpool  adaptive_avg_pool2d(1) over [2,3,4,5]: y [2,3], dx; cfg n,c,hw
  linear   linear with bias, x [5,7], w [4,7], b [4]: y, dx, dw, db; cfg n,in,out
  l2norm   F.normalize(dim=1, eps=1e-12) over [4,6], row 3 with norm below eps: y, dx; cfg n,d
  relu     relu over [50] (away from 0): y, dx
  add      a + b over [20]: y

Run: /usr/bin/python3 tools/make_ref_op_fixtures.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ref_ops.bin")
EPS = float(np.float32(1e-5))       # mbt_batchnorm_shape stores eps and momentum as float
MOMENTUM = float(np.float32(0.1))

torch.manual_seed(0)


def rand(*shape, scale=1.0):
    return ((torch.rand(*shape, dtype=torch.float64) * 2 - 1) * scale).requires_grad_(True)


def grads(out, inputs, dy):
    return torch.autograd.grad(out, inputs, dy)


def conv_case(w, name, n, cin, h, wd, cout, k, stride, pad):
    x, wt = rand(n, cin, h, wd), rand(cout, cin, k, k, scale=0.5)
    y = F.conv2d(x, wt, None, stride=stride, padding=pad)
    dy = torch.randn_like(y)
    dx, dw = grads(y, (x, wt), dy)
    w.add(name + "_cfg", [n, cin, h, wd, cout, k, stride, pad])
    for key, v in dict(x=x, w=wt, y=y, dy=dy, dx=dx, dw=dw).items():
        w.add(f"{name}_{key}", v.detach())


def bn_case(w, name, shape):
    n, c = shape[0], shape[1]
    hw = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    x = (rand(*shape, scale=2.0) + 0.5).detach().requires_grad_(True)
    gamma, beta = rand(c, scale=1.5), rand(c)
    rm0, rv0 = torch.rand(c, dtype=torch.float64) - 0.5, torch.rand(c, dtype=torch.float64) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=MOMENTUM, eps=EPS)
    dims = [0] + list(range(2, len(shape)))
    mean, var = x.detach().mean(dim=dims), x.detach().var(dim=dims, unbiased=False)
    dy = torch.randn_like(y)
    dx, dg, db = grads(y, (x, gamma, beta), dy)
    w.add(name + "_cfg", [n, c, hw, EPS, MOMENTUM])
    for key, v in dict(x=x, gamma=gamma, beta=beta, running_mean_in=rm0, running_var_in=rv0, y=y,
                       save_mean=mean, save_var=var, running_mean=rm, running_var=rv, dy=dy, dx=dx,
                       dgamma=dg, dbeta=db).items():
        w.add(f"{name}_{key}", v.detach())


def main():
    with FixtureWriter(OUT) as w:
        conv_case(w, "conv7", 2, 3, 16, 14, 4, 7, 2, 3)
        conv_case(w, "conv3", 2, 4, 9, 7, 5, 3, 2, 1)
        bn_case(w, "bn2d", (3, 4, 2, 3))
        bn_case(w, "bn1d", (6, 5))

        x, gamma, beta = rand(3, 4, 2, 3), rand(4, scale=1.5), rand(4)
        rm, rv = torch.rand(4, dtype=torch.float64) - 0.5, torch.rand(4, dtype=torch.float64) + 0.5
        y = F.batch_norm(x, rm, rv, gamma, beta, training=False, eps=EPS)
        w.add("bneval_cfg", [3, 4, 6, EPS, MOMENTUM])
        for key, v in dict(x=x, gamma=gamma, beta=beta, running_mean=rm, running_var=rv, y=y).items():
            w.add(f"bneval_{key}", v.detach())

        n, c, h, wd = 2, 3, 9, 8
        x = (torch.randperm(n * c * h * wd, dtype=torch.float64).reshape(n, c, h, wd) * 0.01 - 2.0)
        x.requires_grad_(True)
        y = F.max_pool2d(x, 3, 2, 1)
        dy = torch.randn_like(y)
        (dx,) = grads(y, (x,), dy)
        w.add("maxpool_cfg", [n, c, h, wd, 3, 2, 1])
        for key, v in dict(x=x, y=y, dy=dy, dx=dx).items():
            w.add(f"maxpool_{key}", v.detach())

        n, c, h, wd = 1, 2, 8, 7
        x = -torch.randint(1, 4, (n, c, h, wd)).to(torch.float64)
        x.requires_grad_(True)
        y = F.max_pool2d(x, 3, 2, 1)
        dy = torch.randn_like(y)
        (dx,) = grads(y, (x,), dy)
        w.add("maxpool_ties_cfg", [n, c, h, wd, 3, 2, 1])
        for key, v in dict(x=x, y=y, dy=dy, dx=dx).items():
            w.add(f"maxpool_ties_{key}", v.detach())

        x = rand(2, 3, 4, 5)
        y = F.adaptive_avg_pool2d(x, 1).flatten(1)
        dy = torch.randn_like(y)
        (dx,) = grads(y, (x,), dy)
        w.add("avgpool_cfg", [2, 3, 20])
        for key, v in dict(x=x, y=y, dy=dy, dx=dx).items():
            w.add(f"avgpool_{key}", v.detach())

        x, wt, b = rand(5, 7), rand(4, 7, scale=0.5), rand(4)
        y = F.linear(x, wt, b)
        dy = torch.randn_like(y)
        dx, dw, db = grads(y, (x, wt, b), dy)
        w.add("linear_cfg", [5, 7, 4])
        for key, v in dict(x=x, w=wt, b=b, y=y, dy=dy, dx=dx, dw=dw, db=db).items():
            w.add(f"linear_{key}", v.detach())

        x = rand(4, 6).detach()
        x[3] *= 1e-14  # norm ~1e-14 < eps: the clamped branch
        x.requires_grad_(True)
        y = F.normalize(x, dim=1, eps=1e-12)
        dy = torch.randn_like(y)
        (dx,) = grads(y, (x,), dy)
        w.add("l2norm_cfg", [4, 6])
        for key, v in dict(x=x, y=y, dy=dy, dx=dx).items():
            w.add(f"l2norm_{key}", v.detach())

        x = rand(50).detach()
        x += torch.where(x > 0, 0.01, -0.01)
        x.requires_grad_(True)
        y = F.relu(x)
        dy = torch.randn_like(y)
        (dx,) = grads(y, (x,), dy)
        for key, v in dict(x=x, y=y, dy=dy, dx=dx).items():
            w.add(f"relu_{key}", v.detach())

        a, b = rand(20), rand(20)
        for key, v in dict(a=a, b=b, y=a + b).items():
            w.add(f"add_{key}", v.detach())


if __name__ == "__main__":
    main()
