#!/usr/bin/python3
"""Writes tests/fixtures/step_r18.bin: three Mixed Barlow Twins training steps of the reference recipe
in PyTorch (float64), for tests/test_step_parity.c.

The step is the reference's (wgcban/mix-bt main.py, re-implemented in ../shared/reference/torch_mixbt.py):
two views and the mixed batch a*x1 + (1-a)*x2[perm] through the small-data Model (three BN batches),
the loss on the L2-normalised projector outputs standardised with the unbiased std, nothing detached,
Adam(weight_decay=1e-6) with the lr set every step by the cosine schedule on the reference's step counter
epoch * steps_per_epoch + i (epochs from 1). Weights and inputs come from the deterministic pattern of
make_model_fixtures.py; perm and a are stored.

Each step starts from a state both sides know exactly: the pattern weights and BN buffers, and (steps 1
and 2) Adam moments from the pattern, scaled by the rms of that step's float64 gradient per tensor, with
torch's step counter at the step's index. Chaining the steps instead would carry Adam's first step into
the next ones: with zero moments it moves every parameter by about +-lr whatever its gradient's size, so a
gradient within rounding of zero moves its parameter by lr of either sign, and the next step's weights,
gradients and changes then depend on how each machine rounded (a fresh machine's OpenBLAS kernels failed
such a check). Moments of the size of (1 - beta) g and (1 - beta2) g^2 make the update a smooth function of
the gradient: m = 0.1 s p1, v = 0.001 s^2 (0.25 + p2^2), s = |g| / sqrt(numel), p1, p2 from the pattern.

Per step the fixture holds the losses; per parameter tensor the gradient before the update (norm, sum,
sampled entries and K sign projections, from which the test estimates the relative error of each tensor
and of the flat gradient vector without storing 11M values) and the change of the parameters (sum, norm,
sampled entries); and the sensitivity of each of these: the largest relative error, against this float64
run, of (a) float64 runs on inputs perturbed at float32 rounding level (1e-6 relative) and (b) PyTorch's
own float32 run, with this machine's instruction set, with oneDNN, ATen and OpenBLAS held to AVX2, and
with OpenBLAS's own kernel choice (in subprocesses, as the variables must be set before they load). The
test allows mixbt the larger of 1e-4 and 4x that sensitivity. Each step's inputs are chosen, among
candidates, for the largest margin of the layer4 and projector ReLU inputs from zero: a ReLU whose input
is within rounding distance of zero flips between float32 and float64 (or between instruction sets) and
moves the gradients discontinuously.

Run: /usr/bin/python3 tools/make_step_fixtures.py   (Debian python3-torch, python3-torchvision)
"""
import copy
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402
from make_model_fixtures import SmallModel, pattern, rel_norm_err, set_params  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "step_r18.bin")
B, SIZE, DIM = 8, 32, 64
STEPS, EPOCHS, STEPS_PER_EPOCH, LR = 3, 20, 5, 0.01
LAMBDA_BT, LAMBDA_REG = 0.0078125, 4.0
SAMPLES = 6
CANDIDATES = 16  # step-0 input tags tried for the ReLU margin
PROJ = 128  # sign projections per gradient tensor (the test's PROJ)
AVX2_ENV = {"DNNL_MAX_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
            "OPENBLAS_CORETYPE": "Haswell"}


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


def candidate_tag(c):
    return 3000 + 10 * c


def inputs(step, tag, dtype, noise_tag=None):
    """Views 1 and 2 of a step: 2 * pattern(tag + v); the noise pattern is keyed by the step."""
    xs = []
    for v in range(2):
        x = 2.0 * pattern(tag + v, B * 3 * SIZE * SIZE)
        if noise_tag is not None:
            x = x * (1.0 + 1e-6 * pattern(noise_tag + 10 * step + v, x.size))
        xs.append(torch.from_numpy(x.reshape(B, 3, SIZE, SIZE)).to(dtype))
    return xs


def mixes():
    rng = np.random.RandomState(0)
    return [(rng.permutation(B).astype(np.int64), float(rng.beta(1.0, 1.0))) for _ in range(STEPS)]


def start_model(dtype):
    model = SmallModel("resnet18", SIZE, DIM).double()
    set_params(model, "bn2")
    model = model.to(dtype)
    model.train()
    return model


def relu_margin(model, tag, mix):
    """Smallest |input| / std over the calls of the layer4 and projector ReLUs in a step's three passes."""
    probe = copy.deepcopy(model)
    margins = []
    watched = [m for m in list(probe.f[-2].modules()) + list(probe.g.modules()) if isinstance(m, nn.ReLU)]
    for m in watched:
        m.register_forward_pre_hook(lambda mod, inp: margins.append(float(inp[0].abs().min() / inp[0].std())))
    x1, x2 = inputs(0, tag, torch.float64)
    with torch.no_grad():
        mixbt_loss(probe, x1, x2, torch.from_numpy(mix[0]), mix[1])
    return min(margins)


def choose_tags(model, mix):
    """Per step, the candidate input tag (not taken by an earlier step) with the largest ReLU margin."""
    tags = []
    for i in range(STEPS):
        best = max((relu_margin(model, candidate_tag(c), mix[i]), candidate_tag(c))
                   for c in range(CANDIDATES) if candidate_tag(c) not in tags)
        print("step %d: input tag %d, smallest layer4/projector ReLU input margin %.2e std" % (i, best[1], best[0]))
        tags.append(best[1])
    return tags


def moment_tags(i, t):
    """Pattern tags of Adam's exp_avg and exp_avg_sq for trainable tensor t at step i."""
    return 50000 + 1000 * i + t, 60000 + 1000 * i + t


def set_adam_state(opt, model, i, scales):
    """Steps i >= 1 start from known moments (the module docstring); torch's counter says i steps taken."""
    for t, (name, p) in enumerate(model.named_parameters()):
        tm, tv = moment_tags(i, t)
        s = scales[name]
        m = 0.1 * s * pattern(tm, p.numel())
        v = 0.001 * s * s * (0.25 + pattern(tv, p.numel()) ** 2)
        state = opt.state[p]
        state["step"] = torch.tensor(float(i))
        state["exp_avg"] = torch.from_numpy(m.reshape(p.shape)).to(p.dtype)
        state["exp_avg_sq"] = torch.from_numpy(v.reshape(p.shape)).to(p.dtype)


def train(model, mix, tags, noise_tag=None, on_step=None, scales=None):
    """Runs the steps, each from the pattern state; on_step(i, loss_bt, loss_reg, {name: gradient},
    {name: parameter change}). scales[i][name]: the moment scale of step i (default: this run's |g| / sqrt(n),
    as the float64 reference does; the other runs take the reference's)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    dtype = next(model.parameters()).dtype
    epoch = 1
    for i in range(STEPS):
        set_params(model, "bn2")
        x1, x2 = inputs(i, tags[i], dtype, noise_tag)
        perm, alpha = mix[i]
        opt.param_groups[0]["lr"] = cosine_lr(epoch * STEPS_PER_EPOCH + i)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        loss_bt, loss_reg = mixbt_loss(model, x1, x2, torch.from_numpy(perm), alpha)
        opt.zero_grad()
        (loss_bt + loss_reg).backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
        if i > 0:
            own = {n: float(g.double().norm()) / math.sqrt(g.numel()) for n, g in grads.items()}
            set_adam_state(opt, model, i, scales[i] if scales is not None else own)
        opt.step()
        delta = {n: (p.detach() - before[n]) for n, p in model.named_parameters()}
        on_step(i, float(loss_bt), float(loss_reg), grads, delta)


def moment_scales(ref):
    """Per step, the reference's moment scale |g| / sqrt(n) of each tensor (the C test's, from the fixture)."""
    return [{n: float(np.linalg.norm(g)) / math.sqrt(g.size) for n, g in r[2].items()} for r in ref]


def float32_run(path, tags, scales_path):
    """The float32 run (in this process: its instruction set is the environment's); saves to path."""
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    saved = {}

    def keep(i, lbt, lreg, grads, delta):
        saved["loss%d" % i] = np.array([lbt, lreg])
        for n in grads:
            saved["g%d:%s" % (i, n)] = grads[n].reshape(-1).numpy()
            saved["d%d:%s" % (i, n)] = delta[n].reshape(-1).numpy()
    with np.load(scales_path) as f:
        scales = [{k.split(":", 1)[1]: float(f[k]) for k in f.files if k.startswith("%d:" % i)} for i in range(STEPS)]
    train(start_model(torch.float32), mixes(), tags, on_step=keep, scales=scales)
    np.savez(path, **saved)


def mix64(tag, idx):
    """The splitmix64 word of pattern() (tests/model_pattern.c) before scaling, for indices idx."""
    with np.errstate(over="ignore"):
        z = idx.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(tag) * np.uint64(0xD1B54A32D192ED03)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def project(g, t):
    """PROJ sums of g with signs: sign k of entry i is bit k % 64 of mix64(100000 + 10 t + k / 64, i),
    set bit = -1 (tests/test_step_parity.c computes the same)."""
    out = np.zeros(PROJ)
    for start in range(0, g.size, 1 << 16):
        idx = np.arange(start, min(g.size, start + (1 << 16)), dtype=np.uint64)
        words = np.stack([mix64(100000 + 10 * t + w, idx) for w in range(PROJ // 64)], axis=1)
        bits = np.unpackbits(words.view(np.uint8).reshape(idx.size, -1), axis=1, bitorder="little")
        out += g[start:start + idx.size] @ (1.0 - 2.0 * bits)
    return out


def main():
    torch.manual_seed(0)
    mix = mixes()
    model = start_model(torch.float64)
    tags = choose_tags(model, mix)
    ref = []  # per step: (loss_bt, loss_reg, grads, delta), flat float64 numpy per parameter
    train(model, mix, tags, on_step=lambda i, a, b, g, d: ref.append(
        (a, b, {n: v.reshape(-1).numpy() for n, v in g.items()}, {n: v.reshape(-1).numpy() for n, v in d.items()})))
    names = list(ref[0][2].keys())
    scales = moment_scales(ref)
    # sensitivity per step and key: the largest relative error of a run against the reference
    sens = {}

    def note(key, err):
        sens[key] = max(sens.get(key, 0.0), err)

    def compare(label, i, lbt, lreg, grads, delta):
        rbt, rreg, rg, rd = ref[i]
        note("loss%d" % i, abs(lbt + lreg - rbt - rreg) / abs(rbt + rreg))
        num = den = 0.0
        for n in names:
            g = np.asarray(grads[n], dtype=np.float64).reshape(-1)
            d = np.asarray(delta[n], dtype=np.float64).reshape(-1)
            note("grad%d:%s" % (i, n), rel_norm_err(torch.from_numpy(g), torch.from_numpy(rg[n])))
            note("delta%d:%s" % (i, n), rel_norm_err(torch.from_numpy(d), torch.from_numpy(rd[n])))
            # the sum of the change, relative to |change| * sqrt(numel) (the test's unit)
            note("dsum%d:%s" % (i, n), abs(d.sum() - rd[n].sum()) / (np.linalg.norm(rd[n]) * math.sqrt(d.size)))
            num += float(((g - rg[n]) ** 2).sum())
            den += float((rg[n] ** 2).sum())
        flat = math.sqrt(num / den)
        note("grad%d:flat" % i, flat)
        print("%s step %d: loss %.3g, flat gradient %.3g, worst gradient tensor %.3g, worst change %.3g" % (
            label, i, abs(lbt + lreg - rbt - rreg) / abs(rbt + rreg), flat,
            max(rel_norm_err(torch.as_tensor(np.asarray(grads[n], dtype=np.float64)).reshape(-1),
                             torch.from_numpy(rg[n])) for n in names),
            max(rel_norm_err(torch.as_tensor(np.asarray(delta[n], dtype=np.float64)).reshape(-1),
                             torch.from_numpy(rd[n])) for n in names)))

    others = []
    for k in range(2):
        other = start_model(torch.float64)
        train(other, mix, tags, noise_tag=7000 + 100 * k, scales=scales,
              on_step=lambda i, a, b, g, d, k=k: compare("float64, inputs perturbed (%d)" % k, i, a, b,
                                                         {n: v.numpy() for n, v in g.items()},
                                                         {n: v.numpy() for n, v in d.items()}))
        others.append(other)
    with tempfile.TemporaryDirectory() as tmp:
        scales_path = os.path.join(tmp, "scales.npz")
        np.savez(scales_path, **{"%d:%s" % (i, n): np.array(v) for i, sc in enumerate(scales) for n, v in sc.items()})
        # OpenBLAS's own kernel choice too: a fresh machine has no OPENBLAS_CORETYPE, and on AVX-512 its
        # SkylakeX kernels round the projector's products differently from the Haswell ones
        native_blas = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        for label, env in (("float32, native ISA", dict(os.environ)), ("float32, AVX2", dict(os.environ, **AVX2_ENV)),
                           ("float32, native ISA, OpenBLAS's own kernels", native_blas)):
            path = os.path.join(tmp, "f32.npz")
            subprocess.run([sys.executable, __file__, "--float32", path, scales_path] + [str(t) for t in tags],
                           env=env, check=True)
            with np.load(path) as f:
                for i in range(STEPS):
                    compare(label, i, f["loss%d" % i][0], f["loss%d" % i][1],
                            {n: f["g%d:%s" % (i, n)] for n in names}, {n: f["d%d:%s" % (i, n)] for n in names})
    with FixtureWriter(OUT) as w:
        for i, (lbt, lreg, grads, delta) in enumerate(ref):
            perm, alpha = mix[i]
            w.add("input_tag%d" % i, [tags[i]])
            w.add("perm%d" % i, perm)
            w.add("alpha%d" % i, [alpha])
            w.add("lr%d" % i, [cosine_lr(STEPS_PER_EPOCH + i)])
            w.add("loss_bt%d" % i, [lbt])
            w.add("loss_reg%d" % i, [lreg])
            w.add("sens_loss%d" % i, [sens["loss%d" % i]])
            w.add("gsens%d:flat" % i, [sens["grad%d:flat" % i]])
            for t, name in enumerate(names):
                g, d = grads[name], delta[name]
                gidx = (np.arange(SAMPLES, dtype=np.int64) * 7919 + 3 * t + i) % g.size
                w.add("grad%d_norm:%s" % (i, name), [np.linalg.norm(g)])
                w.add("grad%d_sum:%s" % (i, name), [g.sum()])
                w.add("grad%d_idx:%s" % (i, name), gidx)
                w.add("grad%d_val:%s" % (i, name), g[gidx])
                w.add("grad%d_proj:%s" % (i, name), project(g, t))
                w.add("gsens%d:%s" % (i, name), [sens["grad%d:%s" % (i, name)]])
                idx = (np.arange(SAMPLES, dtype=np.int64) * 7919 + t + i) % d.size
                w.add("delta%d_norm:%s" % (i, name), [np.linalg.norm(d)])
                w.add("delta%d_sum:%s" % (i, name), [d.sum()])
                w.add("delta%d_idx:%s" % (i, name), idx)
                w.add("delta%d_val:%s" % (i, name), d[idx])
                w.add("sens%d:%s" % (i, name), [sens["delta%d:%s" % (i, name)]])
                w.add("sens_sum%d:%s" % (i, name), [sens["dsum%d:%s" % (i, name)]])
        for name, v in model.state_dict().items():
            if name.endswith("running_mean") or name.endswith("running_var"):
                w.add("final_norm:" + name, [float(v.norm())])
                w.add("final_sens:" + name, [max(rel_norm_err(o.state_dict()[name], v) for o in others)])
    for i in range(STEPS):
        print("step %d sensitivity: loss %.3g, flat gradient %.3g, largest per gradient tensor %.3g, "
              "per change %.3g" % (i, sens["loss%d" % i], sens["grad%d:flat" % i],
                                   max(sens["grad%d:%s" % (i, n)] for n in names),
                                   max(sens["delta%d:%s" % (i, n)] for n in names)))
    print("wrote", OUT)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--float32":
        float32_run(sys.argv[2], [int(t) for t in sys.argv[4:]], sys.argv[3])
    else:
        main()
