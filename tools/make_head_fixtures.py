#!/usr/bin/python3
"""Writes the fixtures of the baselines' heads and encoder names (tests/test_mlp_head.c, tests/test_model_sslsota.c).

tests/fixtures/head_cases.bin: for each head case (float64 PyTorch, train mode, nn.Sequential as ssl-sota's
make_head / BYOL's predictor builds it, SimCLR's bn_last as a module of its own):
  parameters set by the deterministic `pattern` (tests/model_pattern.c: the same formula), two training
  forwards of 10 and 7 rows (two BN batches), the backward of sum_s sum(dout_s * out_s), an eval forward
  of the first batch; stored: <case>/out<s>, <case>/dx<s>, <case>/grad:<name>, <case>/buf:<name> (after
  both forwards), <case>/count:<name>, <case>/l1:<bias name> (sum over rows and slots of |dL/d(Linear
  output)|, the L1 norm of the terms of that bias's gradient), <case>/eval_out, <case>/names (the
  state_dict keys joined by newlines, as bytes) and <case>/numels.
  Every case also passes torch.autograd.gradcheck (float64 central differences) before it is written.
tests/fixtures/sslsota_encoder_<arch>.txt: the state_dict keys and shapes of ssl-sota's encoder
  (torchvision resnet, conv1 3x3/1/1, maxpool and fc Identity, under nn.DataParallel's "module.", as the
  attribute `model`), one "name dim dim ..." line each.

Run: /usr/bin/python3 tools/make_head_fixtures.py   (Debian python3-torch, python3-torchvision)
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402
from make_model_fixtures import pattern, set_params  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
ROWS = (10, 7)


def make_head(d_in, head_size, head_layers, emb, add_bn):
    """ssl-sota model.py get_head."""
    layers = []
    for _ in range(head_layers - 1):
        layers.append(nn.Linear(d_in, head_size))
        if add_bn:
            layers.append(nn.BatchNorm1d(head_size))
        layers.append(nn.ReLU())
        d_in = head_size
    layers.append(nn.Linear(d_in, emb))
    return nn.Sequential(*layers)


class Holder(nn.Module):
    """The head under its attribute name (the state_dict prefix), plus SimCLR's bn_last when given."""

    def __init__(self, attr, seq, bn_last=None):
        super().__init__()
        self.attr = attr
        setattr(self, attr, seq)
        if bn_last is not None:
            self.bn_last = bn_last
        self.has_bn_last = bn_last is not None

    def seq(self):
        return getattr(self, self.attr)

    def forward(self, x, linear_outputs=None):
        h = x
        for m in self.seq():
            h = m(h)
            if isinstance(m, nn.Linear) and linear_outputs is not None:
                h.retain_grad()
                linear_outputs.append(h)
        return self.bn_last(h) if self.has_bn_last else h


CASES = {
    # name: (builder); the C test builds the same configurations
    "sslsota": lambda: Holder("head", make_head(32, 20, 2, 12, True)),
    "simclr": lambda: Holder("head", make_head(32, 20, 2, 12, True), nn.BatchNorm1d(12)),
    "pred": lambda: Holder("pred", nn.Sequential(nn.Linear(12, 20), nn.BatchNorm1d(20), nn.ReLU(), nn.Linear(20, 12))),
    "linear": lambda: Holder("head", make_head(32, 20, 1, 12, True)),
    "nobn": lambda: Holder("head", make_head(32, 20, 3, 12, False)),
}


def write_case(w, name, net):
    net = net.double().train()
    set_params(net, "no-such-bn")
    in_dim = net.seq()[0].in_features
    # autograd against central differences (float64), on a copy: gradcheck's forwards move running stats
    probe = copy.deepcopy(net)
    xg = torch.from_numpy(pattern(99, 6 * in_dim).reshape(6, in_dim)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: probe(x), (xg,), eps=1e-6, atol=1e-7), name
    w.add(name + "/names", np.frombuffer("\n".join(net.state_dict().keys()).encode(), dtype=np.uint8))
    w.add(name + "/numels", [t.numel() for t in net.state_dict().values()])
    lins = {}
    outs = []
    for s, n in enumerate(ROWS):
        x = torch.from_numpy(pattern(100 + s, n * in_dim).reshape(n, in_dim)).requires_grad_(True)
        lin = []
        out = net(x, lin)
        dout = torch.from_numpy(pattern(200 + s, out.numel()).reshape(out.shape))
        outs.append((x, out, dout))
        lins[s] = lin
        w.add("%s/out%d" % (name, s), out.detach().numpy())
    loss = sum((dout * out).sum() for _, out, dout in outs)
    loss.backward()
    for s, (x, _, _) in enumerate(outs):
        w.add("%s/dx%d" % (name, s), x.grad.numpy())
    params = dict(net.named_parameters())
    for key, t in net.state_dict().items():
        if key in params:
            w.add("%s/grad:%s" % (name, key), params[key].grad.numpy())
        elif key.endswith("num_batches_tracked"):
            w.add("%s/count:%s" % (name, key), [float(t.item())])
        else:
            w.add("%s/buf:%s" % (name, key), t.numpy())
    linear_names = [n for n, m in net.named_modules() if isinstance(m, nn.Linear)]
    for i, lname in enumerate(linear_names):
        l1 = sum(lins[s][i].grad.abs().sum(dim=0) for s in range(len(ROWS)))
        w.add("%s/l1:%s.bias" % (name, lname), l1.numpy())
    net.eval()
    with torch.no_grad():
        x0 = torch.from_numpy(pattern(100, ROWS[0] * in_dim).reshape(ROWS[0], in_dim))
        w.add(name + "/eval_out", net(x0).numpy())


def write_encoder_names(arch):
    net = getattr(torchvision.models, arch)(weights=None)
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    holder = nn.Module()
    holder.model = nn.DataParallel(net)
    with open(os.path.join(OUT, "sslsota_encoder_%s.txt" % arch), "w") as f:
        for key, t in holder.state_dict().items():
            f.write(" ".join([key] + [str(d) for d in t.shape]) + "\n")


def main():
    torch.manual_seed(0)
    with FixtureWriter(os.path.join(OUT, "head_cases.bin")) as w:
        for name, build in CASES.items():
            write_case(w, name, build())
    for arch in ("resnet18", "resnet50"):
        write_encoder_names(arch)


if __name__ == "__main__":
    main()
