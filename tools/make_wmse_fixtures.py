#!/usr/bin/python3
"""Writes tests/fixtures/wmse.bin: PyTorch (float64 autograd) values and gradients of W-MSE's whitening
and loss, for tests/test_wmse.c.

The whitening and the loss are ssl-sota's (wgcban/mix-bt ssl-sota/methods/{whitening,w_mse}.py), taken
from /work/shared/reference/torch_sslsota.py (its whiten and SSLMethod.forward's w_mse branch, checked
bit-identical to the original) when that file exists, else from the copy below. The encoder and head are
identities, so forward(views) sees the head outputs h; torch.randperm is replaced by the fixed
permutations stored in the file, so the C side whitens the same groups.

  whiten case k: "w<k>_x" [n, d], "w<k>_eps", "w<k>_gy" (a fixed cotangent), "w<k>_y" = whiten(x, eps),
                 "w<k>_gx" = d sum(y * gy) / dx.
  loss case k:   "c<k>_shape" = [views, batch, dim, w_size, w_iter, eps, normalize], "c<k>_h" [views *
                 batch, dim], "c<k>_perms" [w_iter, batch], "c<k>_loss", "c<k>_dh".
Inputs are correlated Gaussian rows (the views: a shared signal plus noise) rounded to float32, so the
C test feeds exactly the same numbers.

Run: /usr/bin/python3 tools/make_wmse_fixtures.py
"""
import importlib.util
import os
import sys
import types

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "wmse.bin")
REF = "/work/shared/reference/torch_sslsota.py"

WHITEN_CASES = [(24, 12, 1e-2), (24, 12, 1e-4), (40, 16, 1e-2)]
# views, batch, dim, w_size, w_iter, eps, normalize
LOSS_CASES = [
    (2, 32, 8, 32, 1, 1e-2, 1),
    (2, 32, 8, 16, 2, 1e-2, 1),
    (4, 32, 8, 16, 1, 1e-4, 1),
    (4, 32, 8, 32, 2, 1e-4, 0),
    (2, 32, 8, 16, 2, 1e-4, 0),
    (2, 48, 12, 24, 1, 1e-2, 1),
]


def local_whiten(x, eps):
    """ssl-sota's Whitening2d on one group (fallback when the reference file is absent)."""
    n, d = x.shape
    xc = x - x.mean(dim=0, keepdim=True)
    t = xc.t().contiguous()
    cov = t @ t.t() / (n - 1)
    eye = torch.eye(d, dtype=cov.dtype)
    w = torch.linalg.solve_triangular(torch.linalg.cholesky((1 - eps) * cov + eps * eye), eye, upper=False)
    return F.conv2d(xc[:, :, None, None], w.reshape(d, d, 1, 1))[:, :, 0, 0]


def local_loss(h, perms, views, batch, w_size, eps, norm):
    """ssl-sota's W-MSE loss on the head outputs h (fallback)."""
    def pair(a, b):
        if not norm:
            return F.mse_loss(a, b)
        return 2 - 2 * (F.normalize(a) * F.normalize(b)).sum(dim=-1).mean()
    total, pairs = 0, views * (views - 1) // 2
    for perm in perms:
        z = torch.empty_like(h)
        for idx in perm.view(-1, w_size):
            for i in range(views):
                z[idx + i * batch] = local_whiten(h[idx + i * batch], eps)
        for i in range(views - 1):
            for j in range(i + 1, views):
                total += pair(z[i * batch:(i + 1) * batch], z[j * batch:(j + 1) * batch])
    return total / (len(perms) * pairs)


def reference():
    if not os.path.exists(REF):
        return None
    spec = importlib.util.spec_from_file_location("torch_sslsota", REF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ref_loss(mod, h, perms, views, batch, w_size, eps, norm):
    """SSLMethod.forward's w_mse branch with identity encoder and head and the given permutations."""
    fake = types.SimpleNamespace(method="w_mse", w_iter=len(perms), w_size=w_size, w_eps=eps,
                                 num_pairs=views * (views - 1) // 2, norm=norm,
                                 model=lambda x: x, head=lambda x: x)
    fake.pair_loss = lambda a, b: mod.SSLMethod.pair_loss(fake, a, b)
    queue = list(perms)
    saved = torch.randperm
    torch.randperm = lambda n, *a, **k: queue.pop(0).clone()
    try:
        return mod.SSLMethod.forward(fake, list(h.split(batch)))
    finally:
        torch.randperm = saved


def rows(gen, n, d):
    """Correlated Gaussian rows, rounded to float32."""
    mix = torch.randn(d, d, generator=gen, dtype=torch.float64) / d ** 0.5 + torch.eye(d, dtype=torch.float64)
    return (torch.randn(n, d, generator=gen, dtype=torch.float64) @ mix).float().double()


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(17)
    mod = reference()
    whiten = mod.whiten if mod else local_whiten
    print("whitening and loss from", REF if mod else "the local copy")
    with FixtureWriter(OUT) as w:
        w.add("nwhiten", [len(WHITEN_CASES)])
        for k, (n, d, eps) in enumerate(WHITEN_CASES):
            x = rows(gen, n, d).requires_grad_(True)
            gy = torch.randn(n, d, generator=gen, dtype=torch.float64).float().double()
            y = whiten(x, eps)
            (gx,) = torch.autograd.grad((y * gy).sum(), x)
            for name, v in (("x", x.detach()), ("eps", [eps]), ("gy", gy), ("y", y.detach()), ("gx", gx)):
                w.add("w%d_%s" % (k, name), v)
        w.add("ncases", [len(LOSS_CASES)])
        for k, (views, batch, d, w_size, w_iter, eps, norm) in enumerate(LOSS_CASES):
            base = rows(gen, batch, d)  # the views share a signal, so the pair loss is well below 2
            h = torch.cat([base + 0.5 * rows(gen, batch, d) for _ in range(views)]).float().double()
            h.requires_grad_(True)
            perms = [torch.randperm(batch, generator=gen) for _ in range(w_iter)]
            loss = (ref_loss(mod, h, perms, views, batch, w_size, eps, norm) if mod
                    else local_loss(h, perms, views, batch, w_size, eps, norm))
            if mod:  # the local copy agrees with the reference
                other = local_loss(h, perms, views, batch, w_size, eps, norm)
                assert abs(other.item() - loss.item()) <= 1e-12 * abs(loss.item()), (other.item(), loss.item())
            (dh,) = torch.autograd.grad(loss, h)
            w.add("c%d_shape" % k, [views, batch, d, w_size, w_iter, eps, norm])
            w.add("c%d_h" % k, h.detach())
            w.add("c%d_perms" % k, torch.stack(perms).double())
            w.add("c%d_loss" % k, [loss.item()])
            w.add("c%d_dh" % k, dh)
            print("case %d: views %d batch %d dim %d w_size %d w_iter %d eps %g norm %d: loss %.12g"
                  % (k, views, batch, d, w_size, w_iter, eps, norm, loss.item()))
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
