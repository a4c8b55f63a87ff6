#!/usr/bin/python3
"""Writes tests/fixtures/ssl_losses.bin: float64 PyTorch autograd values and gradients of the ssl-sota
baselines' losses, for tests/test_ssl_losses.c:

  pair   (methods/pair_loss.h): nmse(a, b) = 2 - 2 mean cos (normalize on) or F.mse_loss(a, b) (off),
         gradients into both a and b;
  simclr (methods/simclr.h): sum_{i<j} nt_xent(z_i, z_j, tau, norm) / num_pairs over view-major z;
  byol   (methods/byol.h): sum_{i<j} pair(p_i, t_j) + pair(p_j, t_i) / num_pairs, gradient into p only.

nt_xent and nmse are imported from /work/shared/reference/torch_sslsota.py (the CPU peer checked
bit-identical to wgcban/mix-bt ssl-sota) when that file exists; otherwise from $SSLSOTA_REF (a folder with
torch_sslsota.py), else the script stops. The loops over view pairs repeat SSLMethod.forward's (it needs a
network to be called). Inputs are drawn in float32 and then promoted, so the C test feeds the same numbers.
Case k of a kind is stored as arrays "<kind><k>_<name>"; "n_<kind>" counts the cases.

Run: /usr/bin/python3 tools/make_ssl_loss_fixtures.py
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fixture_io import FixtureWriter  # noqa: E402

REF = "/work/shared/reference"
if not os.path.exists(os.path.join(REF, "torch_sslsota.py")):
    REF = os.environ.get("SSLSOTA_REF", "")
if not REF or not os.path.exists(os.path.join(REF, "torch_sslsota.py")):
    sys.exit("torch_sslsota.py not found: set SSLSOTA_REF to its folder")
sys.path.insert(0, REF)
from torch_sslsota import nmse, nt_xent  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "fixtures", "ssl_losses.bin")


def draw(g, shape, scale=1.0):
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * scale).double()


def pair_loss(a, b, norm):
    return nmse(a, b) if norm else F.mse_loss(a, b)


def simclr(z, views, tau, norm):
    bs = z.shape[0] // views
    total = 0
    for i in range(views - 1):
        for j in range(i + 1, views):
            total += nt_xent(z[i * bs:(i + 1) * bs], z[j * bs:(j + 1) * bs], tau, norm)
    return total / (views * (views - 1) // 2)


def byol(p, t, views, norm):
    bs = p.shape[0] // views
    z = [p[i * bs:(i + 1) * bs] for i in range(views)]
    zt = [t[i * bs:(i + 1) * bs] for i in range(views)]
    total = 0
    for i in range(views - 1):
        for j in range(i + 1, views):
            total += pair_loss(z[i], zt[j], norm) + pair_loss(z[j], zt[i], norm)
    return total / (views * (views - 1) // 2)


def main():
    g = torch.Generator().manual_seed(17)
    with FixtureWriter(OUT) as w:
        # pair: (rows, dim, normalize, scale of b's noise around a)
        pair_cases = [(6, 8, 1, 0.7), (6, 8, 0, 0.7), (9, 5, 1, 2.0), (9, 5, 0, 2.0)]
        for k, (n, d, norm, s) in enumerate(pair_cases):
            a = draw(g, (n, d)).requires_grad_()
            b = (a.detach() + draw(g, (n, d), s)).float().double().requires_grad_()
            L = pair_loss(a, b, norm)
            L.backward()
            for name, v in (("a", a), ("b", b), ("da", a.grad), ("db", b.grad)):
                w.add("p%d_%s" % (k, name), v.detach())
            w.add("p%d_norm" % k, [norm])
            w.add("p%d_loss" % k, [L.item()])
        w.add("n_p", [len(pair_cases)])

        # simclr: (views, batch, dim, tau, normalize, input scale)
        simclr_cases = [(2, 6, 8, 0.5, 1, 1.0), (2, 6, 8, 0.2, 1, 1.0), (2, 7, 5, 0.5, 0, 0.5),
                        (2, 6, 8, 0.2, 0, 0.5), (4, 5, 8, 0.5, 1, 1.0), (4, 5, 6, 0.2, 0, 0.5),
                        (4, 6, 8, 0.2, 1, 1.0)]
        for k, (v, bs, d, tau, norm, s) in enumerate(simclr_cases):
            z = draw(g, (v * bs, d), s).requires_grad_()
            L = simclr(z, v, tau, norm)
            L.backward()
            w.add("s%d_z" % k, z.detach())
            w.add("s%d_dz" % k, z.grad)
            for name, x in (("views", v), ("tau", tau), ("norm", norm), ("loss", L.item())):
                w.add("s%d_%s" % (k, name), [x])
        w.add("n_s", [len(simclr_cases)])

        # byol: (views, batch, dim, normalize)
        byol_cases = [(2, 6, 8, 1), (2, 6, 8, 0), (4, 5, 7, 1), (4, 5, 7, 0)]
        for k, (v, bs, d, norm) in enumerate(byol_cases):
            p = draw(g, (v * bs, d)).requires_grad_()
            t = draw(g, (v * bs, d))
            L = byol(p, t, v, norm)
            L.backward()
            for name, x in (("p", p.detach()), ("t", t), ("dp", p.grad)):
                w.add("b%d_%s" % (k, name), x)
            for name, x in (("views", v), ("norm", norm), ("loss", L.item())):
                w.add("b%d_%s" % (k, name), [x])
        w.add("n_b", [len(byol_cases)])
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
