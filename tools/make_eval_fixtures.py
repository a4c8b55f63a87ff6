#!/usr/bin/python3
"""Writes the fixtures of tests/test_eval_linear.c and tests/test_eval_npy.c.

tests/fixtures/eval_linear.bin: the reference linear probe's classifier (wgcban/mix-bt linear.py:
nn.Linear(in, classes), nn.CrossEntropyLoss(), optim.Adam(lr=1e-2, weight_decay=5e-6),
ExponentialLR(gamma=(1e-6/1e-2)**(1/epochs)) stepped after each epoch; one case with a weight decay of
0.2, large enough to be seen) trained in torch on fixed
features, batches in order (the last one partial, as a DataLoader without drop_last gives it). The
features are not stored: they come from the deterministic `pattern` below (the C test computes the same)
and are rounded to float32. Stored per case: the initial weight and bias, the loss of every step, the
per-epoch sums the reference's train loop reports (loss * n, top-1 and top-5 hits), the learning rate of
each epoch, the parameters after the first step and at the end, and the test-set loss sum and hits of
the trained classifier. torch runs in float64 (the reference values) and in float32; the script checks
that float32 torch stays within the tolerance the C test uses, so that tolerance is justified.

tests/fixtures/eval_npy_*.npy: small arrays saved by numpy.save (format 1.0), which the C .npy writer
must reproduce byte for byte.

Run: /usr/bin/python3 tools/make_eval_fixtures.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
RTOL, ATOL = 2e-4, 2e-5  # the C test's tolerance on losses and parameters


def pattern(tag, n):
    """Values in [-1, 1): splitmix64 finaliser of i * G + tag * H (uint64 wrap-around), top 53 bits."""
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(tag) * np.uint64(0xD1B54A32D192ED03)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / 2.0 ** 53 * 2.0 - 1.0


def features(tag, cent_tag, n, d, labels, classes):
    """Non-negative clustered rows like pooled ReLU features: |centroid[label] + 0.6 * noise| * 1.5."""
    cent = pattern(cent_tag, classes * d).reshape(classes, d)
    x = np.abs(cent[labels] + 0.6 * pattern(tag, n * d).reshape(n, d)) * 1.5
    return x.astype(np.float32)


def run(dtype, x, y, xt, yt, w0, b0, classes, batch, epochs, wd):
    torch.manual_seed(0)
    fc = torch.nn.Linear(x.shape[1], classes).to(dtype)
    with torch.no_grad():
        fc.weight.copy_(torch.from_numpy(w0))
        fc.bias.copy_(torch.from_numpy(b0))
    opt = torch.optim.Adam(fc.parameters(), lr=1e-2, weight_decay=wd)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(1e-6 / 1e-2) ** (1 / epochs))
    crit = torch.nn.CrossEntropyLoss()
    X, Y = torch.from_numpy(x.astype(np.float64)).to(dtype), torch.from_numpy(y.astype(np.int64))
    losses, epoch_stats, lrs, after_first = [], [], [], None
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        tot, c1, c5 = 0.0, 0, 0
        for s in range(0, len(x), batch):
            xb, yb = X[s:s + batch], Y[s:s + batch]
            out = fc(xb)
            loss = crit(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            tot += loss.item() * len(xb)
            pred = torch.argsort(out, dim=-1, descending=True)
            c1 += (pred[:, 0:1] == yb.unsqueeze(-1)).any(-1).sum().item()
            c5 += (pred[:, 0:5] == yb.unsqueeze(-1)).any(-1).sum().item()
            if after_first is None:
                after_first = torch.cat([fc.weight.detach().flatten(), fc.bias.detach()]).double().numpy().copy()
        sched.step()
        epoch_stats.append([tot, c1, c5])
    with torch.no_grad():
        out = fc(torch.from_numpy(xt.astype(np.float64)).to(dtype))
        yt_t = torch.from_numpy(yt.astype(np.int64))
        tloss = torch.nn.functional.cross_entropy(out, yt_t, reduction="sum").item()
        pred = torch.argsort(out, dim=-1, descending=True)
        t1 = (pred[:, 0:1] == yt_t.unsqueeze(-1)).any(-1).sum().item()
        t5 = (pred[:, 0:5] == yt_t.unsqueeze(-1)).any(-1).sum().item()
    final = torch.cat([fc.weight.detach().flatten(), fc.bias.detach()]).double().numpy()
    return dict(losses=np.array(losses), epochs=np.array(epoch_stats, dtype=np.float64), lrs=np.array(lrs),
                after_first=after_first, final=final, test=np.array([tloss, t1, t5], dtype=np.float64))


def close(a, b):
    return np.all(np.abs(a - b) <= ATOL + RTOL * np.abs(b))


def case(w, name, tag, d, classes, n, nt, batch, epochs, wd=5e-6):
    y = (np.arange(n) * 7 + 3) % classes
    yt = (np.arange(nt) * 5 + 1) % classes
    x = features(tag, tag + 500, n, d, y, classes)
    xt = features(tag + 1, tag + 500, nt, d, yt, classes)
    bound = 1 / np.sqrt(d)
    w0 = (pattern(tag + 2, classes * d) * bound).reshape(classes, d).astype(np.float32)
    b0 = (pattern(tag + 3, classes) * bound).astype(np.float32)
    ref = run(torch.float64, x, y, xt, yt, w0.astype(np.float64), b0.astype(np.float64), classes, batch, epochs, wd)
    f32 = run(torch.float32, x, y, xt, yt, w0, b0, classes, batch, epochs, wd)
    for k in ("losses", "after_first", "final"):
        assert close(f32[k], ref[k]), (name, k, np.max(np.abs(f32[k] - ref[k])))
    # hit counts are compared exactly: no near-tie may flip them between float32 and float64
    assert np.array_equal(f32["epochs"][:, 1:], ref["epochs"][:, 1:]) and np.array_equal(f32["test"][1:], ref["test"][1:])
    w.add(name + ".params", [tag, d, classes, n, nt, batch, epochs, wd])
    w.add(name + ".w0", w0)
    w.add(name + ".b0", b0)
    for k, v in ref.items():
        w.add(name + "." + k, v)
    print(name, "final train loss %.4f" % ref["losses"][-1], "test top-1 %d/%d" % (ref["test"][1], nt))


def npy_fixtures():
    np.save(os.path.join(OUT, "eval_npy_f32.npy"), (np.arange(15, dtype=np.float32) * 0.25 - 1.0).reshape(3, 5))
    np.save(os.path.join(OUT, "eval_npy_i64.npy"), np.array([0, -1, 1 << 40, 7], dtype=np.int64))
    np.save(os.path.join(OUT, "eval_npy_scalar.npy"), np.array(2.5, dtype=np.float32))
    np.save(os.path.join(OUT, "eval_npy_empty.npy"), np.zeros((0, 7), dtype=np.float32))
    np.save(os.path.join(OUT, "eval_npy_u8.npy"), np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


def main():
    with FixtureWriter(os.path.join(OUT, "eval_linear.bin")) as w:
        # name, tag, in, classes, train rows, test rows, batch (last batch partial), epochs
        case(w, "c10", 11, 32, 10, 96, 50, 40, 6)
        case(w, "c3", 21, 8, 3, 30, 20, 16, 2)
        # a weight decay large enough to show (the protocol's 5e-6 is below the tolerance here)
        case(w, "wd", 31, 16, 5, 40, 10, 16, 2, wd=0.2)
    npy_fixtures()


if __name__ == "__main__":
    main()
