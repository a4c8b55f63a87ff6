#!/usr/bin/python3
"""Writes tests/fixtures/ssl_step.bin: one training step of each ssl-sota baseline (SimCLR, BYOL, W-MSE with
2 and 4 views) run by SSLMethod.forward of /work/shared/reference/torch_sslsota.py (bit-identical to the
official ssl-sota modules) in float64, for tests/test_ssl_step.c.

Per case (prefix "<case>/"): every entry of the SSLMethod state_dict (model.module.*, head.*, bn_last.* |
pred.*, model_t.module.*, head_t.*) is set from the deterministic pattern of make_model_fixtures.py with
its index t in that state_dict (tests/model_pattern.c computes the same), the views from pattern(1000 + v),
one forward and backward. Stored: the loss; per trainable tensor "g:<name>" = [norm, sum, SAMPLES entries
(at pattern-chosen indices), sens] of its gradient; per BN buffer "b:<name>" = [norm, samples, sens] of its
value after the step's forwards (the running statistics of the online network and, for BYOL, of the
target, which runs in training mode); for BYOL "t:<name>" = [norm, samples, sens] of the target after
net.step(progress) (the EMA, with no optimizer step in between, so the online parameters are the
pattern's). The C side finds every entry of its own by name, which checks the state_dict names. W-MSE's torch.randperm is replaced by permutations stored in the file
("<case>/perms" [w_iter, batch]), which the C side hands to the step.

Sensitivity (sens), per tensor: the largest error against this float64 run, of its norm (relative), sum
(relative to the norm times sqrt(numel)) and samples (relative to the rms), among PyTorch's own float32 run
of the step and two float64 runs on views perturbed by 1e-6 relative (float32 rounding level: a deep
ResNet's gradients amplify input rounding, and mixbt's float32 rounds elsewhere than PyTorch's). The test allows max(1e-4, 8 sens) (see tests/test_ssl_step.c).

Run: /usr/bin/python3 tools/make_ssl_step_fixtures.py   (Debian python3-torch, python3-torchvision)
"""
import copy
import importlib.util
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402
from make_model_fixtures import pattern  # noqa: E402

REF = "/work/shared/reference/torch_sslsota.py"
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ssl_step.bin")
SAMPLES = 6
SIZE = 32
# name, ssl-sota method, batch, views, emb, head, extra args
CASES = [
    ("simclr", "contrastive", 8, 2, 16, 32, []),
    ("byol", "byol", 8, 2, 16, 32, []),
    ("wmse", "w_mse", 16, 2, 4, 32, ["--w-size", "8", "--w-iter", "2", "--w-eps", "1e-2"]),
    ("wmse4", "w_mse", 16, 4, 4, 32, ["--w-size", "8", "--w-iter", "1", "--w-eps", "1e-2"]),
]
EPOCH, EPOCHS = 3, 10  # BYOL: the step belongs to epoch 3 (from 1) of 10: progress (3 - 1) / 10


def reference():
    spec = importlib.util.spec_from_file_location("torch_sslsota", REF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def set_pattern(net):
    """Entry t of the state_dict gets pattern(t) scaled per kind (make_model_fixtures.set_params's rule)."""
    for t, (name, tensor) in enumerate(net.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            tensor.zero_()
            continue
        p = pattern(t, tensor.numel())
        if name.endswith("running_var"):
            val = 1.0 + 0.5 * (p + 1.0) / 2.0
        elif name.endswith("running_mean") or (tensor.dim() == 1 and name.endswith("bias")):
            val = 0.1 * p
        elif tensor.dim() == 1 and name.endswith(".bn2.weight"):
            val = 0.2 + 0.02 * p
        elif tensor.dim() == 1:
            val = 1.0 + 0.1 * p
        else:
            val = p * np.sqrt(6.0 / tensor[0].numel())
        with torch.no_grad():
            tensor.copy_(torch.from_numpy(val.reshape(tensor.shape)))


def sample_index(t, numel):
    """SAMPLES indices of entry t (pattern tag 70000 + t), the test's sample_index."""
    return [int((pattern(70000 + t, SAMPLES)[k] + 1.0) / 2.0 * numel) % numel for k in range(SAMPLES)]


def run(mod, case, dtype, perturb=0):
    name, method, batch, views, emb, head, extra = case
    args = mod.parse_args(["--method", method, "--batch-size", str(batch), "--num-samples", str(views), "--emb",
                           str(emb), "--head-size", str(head)] + extra)
    torch.manual_seed(0)
    net = mod.SSLMethod(args).to(dtype)
    set_pattern(net)
    net.train()
    n = batch * 3 * SIZE * SIZE
    xs = [torch.from_numpy((pattern(1000 + v, n) * (1 + 1e-6 * pattern(3000 + 10 * perturb + v, n) if perturb else 1))
                           .reshape(batch, 3, SIZE, SIZE)).to(dtype) for v in range(views)]
    perms = [torch.from_numpy(np.argsort(pattern(2000 + k, batch), kind="stable")) for k in range(args.w_iter)]
    queue = list(perms)
    saved = torch.randperm
    torch.randperm = lambda n, *a, **k: queue.pop(0).clone()
    try:
        loss = net(xs)
    finally:
        torch.randperm = saved
    loss.backward()
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}  # buffers after the forwards
    grads = {k: p.grad.detach().clone() for k, p in net.named_parameters() if p.grad is not None}
    target = None
    if method == "byol":
        net.step((EPOCH - 1) / EPOCHS)
        target = {k: v.detach().clone() for k, v in net.state_dict().items()
                  if k.startswith("model_t.") or k.startswith("head_t.")}
    return float(loss), state, grads, target, [p.numpy() for p in perms], list(net.state_dict().keys())


def stats(v, idx):
    v = v.double().flatten()
    return float(v.norm()), float(v.sum()), [float(v[i]) for i in idx]


def err(a, b, numel):
    """Largest error of float32 stats a against float64 stats b: norm relative, sum relative to norm sqrt(n),
    samples relative to the rms."""
    norm = max(b[0], 1e-300)
    rms = norm / np.sqrt(numel)
    e = abs(a[0] - b[0]) / norm
    e = max(e, abs(a[1] - b[1]) / (norm * np.sqrt(numel)))
    return max([e] + [abs(x - y) / max(rms, 1e-300) for x, y in zip(a[2], b[2])])


def main():
    mod = reference()
    torch.set_num_threads(2)
    with FixtureWriter(OUT) as w:
        for case in CASES:
            name = case[0]
            loss64, state64, grads64, target64, perms, keys = run(mod, case, torch.float64)
            runs = [run(mod, case, torch.float32)] + [run(mod, case, torch.float64, k) for k in (1, 2)]
            loss32 = max((r[0] for r in runs), key=lambda v: abs(v - loss64))

            def sens(which, k, idx, numel):  # the largest error among the float32 and perturbed runs
                s64 = stats({"g": grads64, "b": state64, "t": target64}[which][k], idx)
                return max(err(stats({"g": r[2], "b": r[1], "t": r[3]}[which][k], idx), s64, numel) for r in runs)
            p = name + "/"
            w.add(p + "loss", loss64)
            w.add(p + "loss_sens", abs(loss32 - loss64) / abs(loss64))
            w.add(p + "perms", np.stack(perms).astype(np.float64))
            w.add(p + "entries", len(keys))
            worst = 0
            for t, k in enumerate(keys):
                idx = sample_index(t, state64[k].numel())
                numel = state64[k].numel()
                if k in grads64:  # [norm, sum, samples..., sens]
                    s64, e = stats(grads64[k], idx), sens("g", k, idx, numel)
                    w.add(p + "g:" + k, [s64[0], s64[1]] + s64[2] + [e])
                    if s64[0] > 1e-12:  # not a bias followed by BN or whitening (its exact gradient is 0)
                        worst = max(worst, e)
                elif not k.endswith("num_batches_tracked"):  # [norm, samples..., sens]
                    w.add(p + "b:" + k, [stats(state64[k], idx)[0]] + stats(state64[k], idx)[2] + [sens("b", k, idx, numel)])
                if target64 is not None and k in target64 and not k.endswith("num_batches_tracked"):
                    w.add(p + "t:" + k, [stats(target64[k], idx)[0]] + stats(target64[k], idx)[2] + [sens("t", k, idx, numel)])
            print("%s: loss %.9f (float32 %.9f), %d entries, worst float32 gradient error %.2e"
                  % (name, loss64, loss32, len(keys), worst))


if __name__ == "__main__":
    main()
