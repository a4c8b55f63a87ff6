#!/usr/bin/python3
"""Writes tests/fixtures/model_*.bin: PyTorch (float64) reference values for the model parity tests.

The models are the reference's: the small-data `Model` (torchvision resnet, f = children without fc
[and maxpool for 32 px], g = projector) and the ImageNet Barlow Twins model (backbone = torchvision
resnet with fc = Identity, projector Linear/BN/ReLU ... Linear). Weights, inputs and upstream
gradients are set on both sides by the deterministic formula `pattern` (tests/test_model_parity.c
has the same), so no weights need to be stored. Each case runs two training forwards (two BN
batches, as the Mixed BT step does), one backward of sum(dout_s * out_s), and one eval forward,
and stores outputs, sampled and summed gradients, and running statistics.

Run: /usr/bin/python3 tools/make_model_fixtures.py   (Debian python3-torch, python3-torchvision)
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
SAMPLES = 6
CANDIDATES = 40
PERTURBATIONS = 2


def pattern(tag, n):
    """Pseudo-random values in [-1, 1): the splitmix64 finaliser of i * G + tag * H (wrapping uint64),
    top 53 bits scaled; tests/test_model_parity.c computes the same."""
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(tag) * np.uint64(0xD1B54A32D192ED03)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / 2.0 ** 53 * 2.0 - 1.0


def set_params(model, last_bn):
    """Parameter t of the state_dict (in order) gets pattern(t, numel), scaled per kind."""
    for t, (name, tensor) in enumerate(model.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            tensor.zero_()
            continue
        p = pattern(t, tensor.numel())
        if name.endswith("running_var"):
            val = 1.0 + 0.5 * (p + 1.0) / 2.0
        elif name.endswith("running_mean") or (tensor.dim() == 1 and name.endswith("bias")):
            val = 0.1 * p
        elif tensor.dim() == 1 and name.endswith(last_bn + ".weight"):
            # the last BN of each residual block starts small (as zero_init_residual makes it zero):
            # at gamma ~ 1 a deep BN ResNet's gradients are chaotic in its inputs (they grow
            # exponentially with depth), and no float32 comparison would mean anything
            val = 0.2 + 0.02 * p
        elif tensor.dim() == 1:  # BN weight
            val = 1.0 + 0.1 * p
        else:  # conv or linear weight: uniform with He-like scale
            fan_in = tensor[0].numel()
            val = p * np.sqrt(6.0 / fan_in)
        with torch.no_grad():
            tensor.copy_(torch.from_numpy(val.reshape(tensor.shape)))


class SmallModel(nn.Module):
    def __init__(self, arch, image_size, feature_dim):
        super().__init__()
        net = getattr(torchvision.models, arch)()
        net.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.f = nn.Sequential(*[m for n, m in net.named_children()
                                 if n != "fc" and not (image_size <= 32 and n == "maxpool")])
        emb = 512 if arch == "resnet18" else 2048
        self.g = nn.Sequential(nn.Linear(emb, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
                               nn.Linear(512, feature_dim, bias=True))

    def forward(self, x):
        feature = torch.flatten(self.f(x), 1)
        return feature, F.normalize(self.g(feature), dim=-1)


class ImageNetModel(nn.Module):
    def __init__(self, arch, sizes):
        super().__init__()
        self.backbone = getattr(torchvision.models, arch)(zero_init_residual=True)
        self.backbone.fc = nn.Identity()
        layers = []
        for i in range(len(sizes) - 2):
            layers += [nn.Linear(sizes[i], sizes[i + 1], bias=False), nn.BatchNorm1d(sizes[i + 1]), nn.ReLU(True)]
        layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
        self.projector = nn.Sequential(*layers)

    def forward(self, x):
        feature = self.backbone(x)
        return feature, self.projector(feature)


def forward_backward(model, xs, douts):
    dtype = next(model.parameters()).dtype
    feats, outs = zip(*[model(x.to(dtype)) for x in xs])
    loss = sum((d.to(dtype) * o).sum() for d, o in zip(douts, outs))
    loss.backward()
    return feats, outs


def rel_norm_err(a, b):
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).norm() / max(float(b.norm()), 1e-300))


def run_case(name, model, batch, image_size, feature_dim, last_bn):
    """Float64 reference values, plus how far PyTorch's own float32 run is from them (`f32err:`,
    relative norm error per tensor): some gradients of deep batch-normalised nets are sensitive to
    rounding, and the test allows mixbt (float32) the larger of 1e-4 and a few times PyTorch's error."""
    model = model.double()
    set_params(model, last_bn)
    model32 = copy.deepcopy(model).float()
    model.train()
    model32.train()
    # A ReLU input within rounding distance of zero can flip between float32 and float64 and change the
    # gradients discontinuously (a different function, not a rounding error). Among candidate inputs,
    # take the one whose ReLU inputs keep the largest margin from zero (relative to each call's std),
    # measured in float64. The test reads the chosen tag.
    margins = []

    def record(mod, inp):
        x = inp[0].detach()
        margins.append(float(x.abs().min() / x.std()))

    # the ReLUs of the last residual stage and of the projector: the gradient reaching them is dense and
    # large, so a flip there moves every gradient below by far more than rounding does
    backbone = model.f if hasattr(model, "f") else model.backbone
    last_stage = [m for m in backbone.children() if isinstance(m, nn.Sequential)][-1]  # layer4
    head = model.g if hasattr(model, "g") else model.projector
    watched = [m for m in list(last_stage.modules()) + list(head.modules()) if isinstance(m, nn.ReLU)]
    hooks = [m.register_forward_pre_hook(record) for m in watched]
    best = (-1.0, None)
    for input_tag in range(1000, 1000 + 2 * CANDIDATES, 2):
        xs = [torch.from_numpy(2.0 * pattern(input_tag + s, batch * 3 * image_size ** 2)
                               .reshape(batch, 3, image_size, image_size)) for s in range(2)]
        margins.clear()
        with torch.no_grad():
            for x in xs:
                model(x)
        if min(margins) > best[0]:
            best = (min(margins), input_tag)
    for h in hooks:
        h.remove()
    margin, input_tag = best
    print("%s: input tag %d, smallest ReLU input margin %.2e std" % (name, input_tag, margin))
    xs = [torch.from_numpy(2.0 * pattern(input_tag + s, batch * 3 * image_size ** 2)
                           .reshape(batch, 3, image_size, image_size)) for s in range(2)]
    set_params(model, last_bn)  # undo the running-statistics updates of the probe
    reference_state = copy.deepcopy(model.state_dict())
    model32 = copy.deepcopy(model).float()
    model32.train()
    douts = [torch.from_numpy(pattern(2000 + s, batch * feature_dim).reshape(batch, feature_dim)) for s in range(2)]
    # Sensitivity: PyTorch's own float32 run, and float64 runs on inputs perturbed at float32 rounding
    # level (1e-6 relative), which also exposes ReLUs flipping near zero. f32err is the largest
    # relative change of each tensor among these runs.
    feats, outs = forward_backward(model, xs, douts)
    runs = []
    feats32, outs32 = forward_backward(model32, xs, douts)
    runs.append((model32, feats32, outs32))
    for k in range(PERTURBATIONS):
        other = copy.deepcopy(model)
        other.load_state_dict(reference_state)
        other.zero_grad()
        noisy = [x * (1.0 + 1e-6 * torch.from_numpy(pattern(5000 + 10 * k + s, x.numel()).reshape(x.shape)))
                 for s, x in enumerate(xs)]
        f, o = forward_backward(other, noisy, douts)
        runs.append((other, f, o))

    def sensitivity(get):
        return max(rel_norm_err(get(*r), get(model, feats, outs)) for r in runs)
    with FixtureWriter(os.path.join(OUT, "model_%s.bin" % name)) as w:
        w.add("input_tag", [input_tag])
        for s in range(2):
            w.add("out%d" % s, outs[s].detach().numpy())
            w.add("feature%d" % s, feats[s].detach().numpy())
            w.add("f32err:out%d" % s, [sensitivity(lambda m, f, o: o[s])])
            w.add("f32err:feature%d" % s, [sensitivity(lambda m, f, o: f[s])])
        params = dict(model.named_parameters())
        for t, (pname, tensor) in enumerate(model.state_dict().items()):
            if pname.endswith("num_batches_tracked"):
                w.add(pname, [float(tensor)])
                continue
            if pname in params:
                g = params[pname].grad.detach().reshape(-1).numpy()
                idx = (np.arange(SAMPLES, dtype=np.int64) * 7919 + t) % g.size
                w.add("grad_sum:" + pname, [g.sum()])
                w.add("grad_norm:" + pname, [np.sqrt((g * g).sum())])
                w.add("grad_idx:" + pname, idx)
                w.add("grad_val:" + pname, g[idx])
                w.add("f32err:" + pname, [sensitivity(lambda m, f, o: dict(m.named_parameters())[pname].grad)])
            else:  # running statistics after the two training forwards
                v = tensor.reshape(-1).numpy()
                idx = (np.arange(SAMPLES, dtype=np.int64) * 7919 + t) % v.size
                w.add("buf_sum:" + pname, [v.sum()])
                w.add("buf_idx:" + pname, idx)
                w.add("buf_val:" + pname, v[idx])
                w.add("f32err:" + pname, [sensitivity(lambda m, f, o: m.state_dict()[pname])])
        model.eval()
        model32.eval()
        with torch.no_grad():
            feature, out = model(xs[0])
            feature32, out32 = model32(xs[0].float())
        w.add("eval_feature", F.normalize(feature, dim=-1).numpy())
        w.add("eval_out", out.numpy())
        w.add("f32err:eval_feature", [rel_norm_err(F.normalize(feature32, dim=-1), F.normalize(feature, dim=-1))])
        w.add("f32err:eval_out", [rel_norm_err(out32, out)])
    print("wrote model_%s.bin" % name)


def main():
    torch.manual_seed(0)
    run_case("r18_32", SmallModel("resnet18", 32, 64), batch=4, image_size=32, feature_dim=64, last_bn="bn2")
    run_case("r18_64", SmallModel("resnet18", 64, 64), batch=3, image_size=64, feature_dim=64, last_bn="bn2")
    run_case("r50_224stem", ImageNetModel("resnet50", [2048, 256, 256, 128]), batch=4, image_size=128, feature_dim=128, last_bn="bn3")


if __name__ == "__main__":
    main()
