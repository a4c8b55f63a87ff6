#!/usr/bin/python3
"""Estimates, on the CPU, how far the GPU's results can land from the CPU's fp32 ones in the cases of
tests/test_model_cuda.c (the same models, weights, inputs and upstream gradients: the `pattern` of
tools/make_model_fixtures.py), for exact fp32 (MIXBT_NO_TF32=1), TF32 products (the default) and
--precision bf16, to set that test's tolerances before a GPU measures them. Prints the worst relative error ||emulated - fp32|| /
||fp32|| per kind of tensor (features, outputs, running statistics, per-parameter gradients).
Then the Barlow Twins loss (lambda 1/128) of one batch of 16 image pairs at 32 px, d = 32, through
ResNet-18 at torchvision's initialisation (tests/cli_pretrain_cuda.sh's bf16 bound), for three seeds.
Run: /usr/bin/python3 tools/bf16_error_estimate.py  (Debian python3-torch, python3-torchvision; ~30 s)

Emulation (the rest is fp32 as PyTorch computes it on the CPU):
  fp32: each convolution's output and the gradient of its output times (1 + u), u uniform in
        [-1e-5, 1e-5]: a stand-in for cuDNN and the CPU (oneDNN, Winograd) summing in different orders;
  tf32: every convolution and linear layer multiplies operands rounded to TF32 (10 mantissa bits,
        nearest even), in forward and in both backward products, accumulating in fp32;
  bf16: the tf32 linear layers (the projector stays fp32 storage with TF32 cuBLAS), and bf16 rounding
        (nearest even) exactly where mixbt's CUDA backend stores bf16 (src/models/model_run.c): the
        network input, each convolution's weights and output, each BN(+ReLU) output, each block's
        relu(main + shortcut), the max-pool output; in backward the gradient of each of those
        activations and each convolution's weight gradient (cuDNN writes it in bf16).
This is an estimate: cuDNN accumulates in its own order, and TF32 conversion on the GPU may not
round to nearest.
"""
import copy
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from make_model_fixtures import SmallModel, pattern, set_params  # noqa: E402


def to_tf32(x):
    bits = x.contiguous().view(torch.int32)
    bits = (bits + 0x0FFF + ((bits >> 13) & 1)) & ~0x1FFF
    return bits.view(torch.float32)


class RoundBF16(torch.autograd.Function):
    """bf16 storage: rounds the value forward and its gradient backward."""

    @staticmethod
    def forward(ctx, x):
        return x.to(torch.bfloat16).to(torch.float32)

    @staticmethod
    def backward(ctx, g):
        return g.to(torch.bfloat16).to(torch.float32)


class TF32Conv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, stride, padding):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.padding = stride, padding
        return F.conv2d(to_tf32(x), to_tf32(w), stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = torch.nn.grad.conv2d_input(x.shape, to_tf32(w), to_tf32(g), stride=ctx.stride, padding=ctx.padding)
        gw = torch.nn.grad.conv2d_weight(to_tf32(x), w.shape, to_tf32(g), stride=ctx.stride, padding=ctx.padding)
        return gx, gw, None, None


class TF32Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return to_tf32(x) @ to_tf32(w).t()

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return to_tf32(g) @ to_tf32(w), to_tf32(g).t() @ to_tf32(x)


class Jitter(torch.autograd.Function):
    """Relative noise of 1e-5 on a value and on its gradient."""

    @staticmethod
    def forward(ctx, x):
        return x * (1 + 1e-5 * (2 * torch.rand_like(x) - 1))

    @staticmethod
    def backward(ctx, g):
        return g * (1 + 1e-5 * (2 * torch.rand_like(g) - 1))


class EmuConv(nn.Module):
    def __init__(self, conv, mode):
        super().__init__()
        self.weight, self.stride, self.padding, self.mode = conv.weight, conv.stride, conv.padding, mode

    def forward(self, x):
        if self.mode == "fp32":
            return Jitter.apply(F.conv2d(x, self.weight, stride=self.stride, padding=self.padding))
        bf16 = self.mode == "bf16"
        w = RoundBF16.apply(self.weight) if bf16 else self.weight
        y = TF32Conv.apply(x, w, self.stride, self.padding)
        return RoundBF16.apply(y) if bf16 else y


class EmuLinear(nn.Module):
    def __init__(self, lin):
        super().__init__()
        self.weight, self.bias = lin.weight, lin.bias

    def forward(self, x):
        y = TF32Linear.apply(x, self.weight)
        return y + self.bias if self.bias is not None else y


def emulate(model, mode):
    """The model with its convolutions and (tf32, bf16) linear layers replaced, and (bf16) rounding hooks."""
    bf16 = mode == "bf16"
    for name, mod in list(model.named_modules()):
        for cname, child in list(mod.named_children()):
            if isinstance(child, nn.Conv2d):
                setattr(mod, cname, EmuConv(child, mode))
            elif isinstance(child, nn.Linear) and mode != "fp32":
                setattr(mod, cname, EmuLinear(child))
            elif bf16 and isinstance(child, (nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d)) and not name.startswith("g"):
                child.register_forward_hook(lambda m, i, o: RoundBF16.apply(o))
    return model


def run(model, xs, douts, bf16):
    feats, outs = [], []
    for x, d in zip(xs, douts):
        f, o = model(RoundBF16.apply(x) if bf16 else x)
        (o * d).sum().backward()
        feats.append(f.detach())
        outs.append(o.detach())
    return feats, outs


def rel(a, b):
    return float((a - b).double().norm() / b.double().norm().clamp_min(1e-30))


def run_case(name, arch, size, batch, feature_dim, last_bn):
    ref = SmallModel(arch, size, feature_dim)
    set_params(ref, last_bn)
    xs = [torch.from_numpy(2.0 * pattern(1000 + s, batch * 3 * size * size)).float().reshape(batch, 3, size, size)
          for s in range(2)]
    douts = [torch.from_numpy(pattern(2000 + s, batch * feature_dim)).float().reshape(batch, feature_dim)
             for s in range(2)]
    base = copy.deepcopy(ref)
    f32, o32 = run(base, xs, douts, False)
    for mode in ("fp32", "tf32", "bf16"):
        emu = emulate(copy.deepcopy(ref), mode)
        f, o = run(emu, xs, douts, mode == "bf16")
        e_fwd = max(max(rel(a, b) for a, b in zip(f, f32)), max(rel(a, b) for a, b in zip(o, o32)))
        bufs32, bufs = dict(base.named_buffers()), dict(emu.named_buffers())
        e_buf = max(rel(bufs[k], bufs32[k]) for k in bufs32 if "running" in k)
        g32 = {k: p.grad for k, p in base.named_parameters()}
        g = {k: p.grad for k, p in emu.named_parameters()}
        flat = rel(torch.cat([g[k].reshape(-1) for k in g32]), torch.cat([g32[k].reshape(-1) for k in g32]))
        worst = {}
        for kind, pick in (("weights", lambda k: g32[k].dim() > 1), ("BN/bias", lambda k: g32[k].dim() == 1)):
            keys = [k for k in g32 if pick(k)]
            k = max(keys, key=lambda k: rel(g[k], g32[k]))
            worst[kind] = "%.3g (%s)" % (rel(g[k], g32[k]), k)
        print("%-16s %s: features/outputs %.3g  running stats %.3g  flat gradient %.3g  worst gradient of "
              "conv/linear weights %s, of BN parameters and biases %s" %
              (name, mode, e_fwd, e_buf, flat, worst["weights"], worst["BN/bias"]))


def barlow_twins(z1, z2, lam=1.0 / 128):
    n = z1.shape[0]
    z1, z2 = (z1 - z1.mean(0)) / z1.std(0), (z2 - z2.mean(0)) / z2.std(0)
    c = z1.t() @ z2 / n
    on = ((torch.diagonal(c) - 1) ** 2).sum()
    return on + lam * ((c ** 2).sum() - (torch.diagonal(c) ** 2).sum())


def loss_case(seed):
    torch.manual_seed(seed)
    ref = SmallModel("resnet18", 32, 32)
    x1 = 2 * torch.rand(16, 3, 32, 32) - 1
    x2 = x1 + 0.3 * torch.randn_like(x1)
    losses = {}
    for mode in ("fp32", "tf32", "bf16"):
        model = copy.deepcopy(ref) if mode == "fp32" else emulate(copy.deepcopy(ref), mode)
        r = RoundBF16.apply if mode == "bf16" else (lambda t: t)
        with torch.no_grad():
            losses[mode] = float(barlow_twins(model(r(x1))[1], model(r(x2))[1]))
    print("loss, seed %d: fp32 %.4f, tf32 relative difference %.2e, bf16 %.2e" %
          (seed, losses["fp32"], abs(losses["tf32"] / losses["fp32"] - 1), abs(losses["bf16"] / losses["fp32"] - 1)))


if __name__ == "__main__":
    torch.set_num_threads(2)
    torch.manual_seed(0)  # the fp32 jitter
    run_case("resnet18 32 px", "resnet18", 32, 8, 64, "bn2")
    run_case("resnet18 64 px", "resnet18", 64, 4, 32, "bn2")
    run_case("resnet50 32 px", "resnet50", 32, 4, 64, "bn3")
    for seed in range(3):
        loss_case(seed)
