#!/usr/bin/python3
"""Writes the fixtures of the baselines' (ssl-sota) training recipe, computed with Debian's torch 1.13 /
torchvision 0.14 / PIL:

tests/fixtures/sslsota_schedules.bin (tools/fixture_io.py format), for tests/test_sslsota_schedule.c: the
lr in the param group at every optimizer step of ssl-sota train.py's loop, with its own scheduler
construction (get_scheduler), warm-up counter and scheduler.step calls, over runs that cross the 500-step
warm-up, MultiStepLR milestones (before, at and after the warm-up's end, repeated, 0) and
CosineAnnealingWarmRestarts restarts for several T0 / Tmult / eta_min. Per case n: "sched_<n>_cfg" =
[lr, epochs, warmup, mode (0 step, 1 cos, 2 none), drop_gamma, T0 (0: unset), Tmult, eta_min, iters,
n_drop, drop...], "sched_<n>_lr" = the lr of each step.

tests/fixtures/augment_sslsota.u8 (tools/make_augment_fixtures.py format), for
tests/test_augment_sslsota.c: one view per dataset through the ssl-sota training transform (the Compose
of datasets/transforms.py aug_transform with cfg.py's defaults, sizes and Normalize of datasets/*.py),
its random choices recorded from the torchvision calls they lead to; the seeds are picked so that the
colour jitter runs with contrast (whose mean depends on the whole image, so jitter-then-crop differs
from crop-then-jitter). Per dataset d: "<d>_src", "<d>_box" (top, left, height, width), "<d>_order"
(the ColorJitter ops in the order applied, -1 padded), "<d>_factors" (brightness, contrast, saturation,
hue), "<d>_flags" (jitter, gray, flip), "<d>_norm" (mean, std), and the result: "<d>_out" (the float32
tensor, as float64) for the CIFARs, "<d>_pixels" (the uint8 image before ToTensor) for Tiny and STL;
"stl10_eval" the uint8 image of STL-10's test_transform before ToTensor. Then "override_*" (pixels): CIFAR-10's
transform with --cj0 0 --cj3 0 --cj_p 1 --gs_p 0 --crop_s0 0.5 --crop_s1 0.9 --crop_r0 0.5 --crop_r1 2
--hf_p 1 (brightness and hue None: torchvision leaves them out).

Run: /usr/bin/python3 tools/make_sslsota_fixtures.py
"""
import os
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, MultiStepLR

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import FixtureWriter  # noqa: E402
from make_augment_fixtures import U8Writer, arr  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
MODES = {"step": 0, "cos": 1, "none": 2}


# ---------------------------------------------------------------------------------------------- schedules

def make_scheduler(opt, cfg):
    """train.py get_scheduler."""
    if cfg.lr_step == "cos":
        return CosineAnnealingWarmRestarts(opt, T_0=cfg.epoch if cfg.T0 is None else cfg.T0, T_mult=cfg.Tmult,
                                           eta_min=cfg.eta_min)
    if cfg.lr_step == "step":
        return MultiStepLR(opt, milestones=[cfg.epoch - d for d in cfg.drop], gamma=cfg.drop_gamma)
    return None


def train_lrs(cfg, iters):
    """The lr of every optimizer step of train.py's loop (the model replaced by one parameter)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=cfg.lr, weight_decay=1e-6)
    sched = make_scheduler(opt, cfg)
    lr_warmup = 0 if cfg.lr_warmup else 500
    lrs = []
    for ep in range(cfg.epoch):
        for n_iter in range(iters):
            if lr_warmup < 500:
                lr_scale = (lr_warmup + 1) / 500
                for pg in opt.param_groups:
                    pg["lr"] = cfg.lr * lr_scale
                lr_warmup += 1
            lrs.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            p.grad = torch.ones(1)
            opt.step()
            if cfg.lr_step == "cos" and lr_warmup >= 500:
                sched.step(ep + n_iter / iters)
        if cfg.lr_step == "step":
            sched.step()
    return lrs


def sched_cfg(lr_step, epoch, lr=1e-3, warmup=True, drop=(50, 25), gamma=0.2, T0=None, Tmult=1, eta_min=0):
    return SimpleNamespace(lr_step=lr_step, epoch=epoch, lr=lr, lr_warmup=warmup, drop=list(drop), drop_gamma=gamma,
                           T0=T0, Tmult=Tmult, eta_min=eta_min)


SCHEDULES = [
    # cfg.py's step defaults: milestone 10 at step 200 (inside the warm-up, overwritten), 35 at step 700
    (sched_cfg("step", 60), 20),
    # no warm-up; milestone 0 (drop = epochs: the constructor's step), a repeated one, one never reached
    (sched_cfg("step", 60, lr=3e-3, warmup=False, drop=(50, 25, 25, 0, 60), gamma=0.5), 10),
    # milestone 50 lands exactly after step 499 (acts), 49 just before (overwritten), 0 (overwritten)
    (sched_cfg("step", 60, drop=(60, 10, 11), gamma=0.3), 10),
    (sched_cfg("none", 30, lr=2e-3), 20),
    (sched_cfg("none", 5, warmup=False), 10),
    (sched_cfg("cos", 40, lr=3e-3), 15),                                  # T0 unset: one period of epochs
    (sched_cfg("cos", 40, lr=3e-3, T0=5, eta_min=1e-4), 15),              # restarts every 5 epochs
    (sched_cfg("cos", 50, T0=3, Tmult=2), 12),                            # restarts at 3, 9, 21, 45
    (sched_cfg("cos", 30, lr=5e-3, warmup=False, T0=2, Tmult=3, eta_min=5e-5), 8),   # at 2, 8, 26
    (sched_cfg("cos", 20, warmup=False, T0=4, Tmult=2, eta_min=1e-5), 7),
]


def schedule_fixtures():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with FixtureWriter(os.path.join(OUT, "sslsota_schedules.bin")) as w:
            w.add("sched_count", [len(SCHEDULES)])
            for n, (cfg, iters) in enumerate(SCHEDULES):
                meta = [cfg.lr, cfg.epoch, 1 if cfg.lr_warmup else 0, MODES[cfg.lr_step], cfg.drop_gamma,
                        0 if cfg.T0 is None else cfg.T0, cfg.Tmult, cfg.eta_min, iters, len(cfg.drop)] + cfg.drop
                w.add("sched_%d_cfg" % n, meta)
                w.add("sched_%d_lr" % n, train_lrs(cfg, iters))


# ------------------------------------------------------------------------------------------- augmentation

# cfg.py's augmentation flags and their defaults
FLAGS = dict(cj0=0.4, cj1=0.4, cj2=0.4, cj3=0.1, cj_p=0.8, gs_p=0.1, crop_s0=0.2, crop_s1=1.0, crop_r0=0.75,
             crop_r1=4 / 3, hf_p=0.5)
# datasets/<name>.py: crop size, source size, Normalize
DATASETS = {
    "cifar10": (32, 32, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": (32, 32, (0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
    "tiny_imagenet": (64, 64, (0.480, 0.448, 0.398), (0.277, 0.269, 0.282)),
    "stl10": (64, 96, (0.43, 0.42, 0.39), (0.27, 0.26, 0.27)),
}
JITTER = {"adjust_brightness": 0, "adjust_contrast": 1, "adjust_saturation": 2, "adjust_hue": 3}


class Recorder:
    """Wraps the torchvision functional calls that the random transforms make, logging their arguments."""

    def __init__(self):
        self.log = []
        for name in list(JITTER) + ["rgb_to_grayscale", "resized_crop", "hflip"]:
            setattr(F, name, self.wrap(name, getattr(F, name)))

    def wrap(self, name, fn):
        def call(*args, **kw):
            self.log.append((name, args[1:]))
            return fn(*args, **kw)
        return call

    def choices(self):
        order, factors, flags, box = [], [1.0, 1.0, 1.0, 0.0], [0, 0, 0], None
        for name, args in self.log:
            if name in JITTER:
                order.append(JITTER[name])
                factors[JITTER[name]] = float(args[0])
                flags[0] = 1
            elif name == "rgb_to_grayscale":
                flags[1] = 1
            elif name == "resized_crop":
                box = [int(a) for a in args[:4]]
            elif name == "hflip":
                flags[2] = 1
        return order + [-1] * (4 - len(order)), factors, flags, box


def view_transform(size, mean, std, f, keep):
    """The ssl-sota training transform (datasets/transforms.py aug_transform with the dataset's
    base_transform), with the image before ToTensor kept in keep[0]."""
    def remember(img):
        keep[0] = img
        return img
    return T.Compose([
        T.RandomApply([T.ColorJitter(f["cj0"], f["cj1"], f["cj2"], f["cj3"])], p=f["cj_p"]),
        T.RandomGrayscale(p=f["gs_p"]),
        T.RandomResizedCrop(size, scale=(f["crop_s0"], f["crop_s1"]), ratio=(f["crop_r0"], f["crop_r1"]),
                            interpolation=T.InterpolationMode.BICUBIC),  # cfg: interpolation=3
        T.RandomHorizontalFlip(p=f["hf_p"]),
        remember,
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


def source(side, seed):
    """Smooth colour gradients plus noise, side x side."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:side, 0:side]
    a = np.stack([x * 255.0 / side, y * 255.0 / side, (side - x + y) * 127.0 / side + 40], axis=-1)
    return np.clip(a + rs.randint(-30, 31, size=a.shape), 0, 255).astype(np.uint8)


def pick_view(rec, t, img, src_side, want):
    """The first seed whose view has jitter with contrast and a partial crop, and the wanted gray / flip."""
    for seed in range(10000):
        torch.manual_seed(seed)
        rec.log.clear()
        out = t(img)
        order, factors, flags, box = rec.choices()
        whole = box[2] == src_side and box[3] == src_side
        if flags[0] and 1 in order and not whole and want(order, flags):
            return seed, out, (order, factors, flags, box)
    raise RuntimeError("no seed found")


def augment_fixtures():
    rec = Recorder()
    srcs = {32: source(32, 5), 64: source(64, 6), 96: source(96, 7)}
    with U8Writer(os.path.join(OUT, "augment_sslsota.u8")) as w:
        wants = {
            "cifar10": lambda o, fl: fl[2] == 1 and fl[1] == 0 and o[-1] == 1,  # contrast last: mean of all ops
            "cifar100": lambda o, fl: fl[1] == 1 and fl[2] == 0,
            "tiny_imagenet": lambda o, fl: fl[2] == 1 and 3 in o[:2],
            "stl10": lambda o, fl: fl[1] == 0 and fl[2] == 0,
        }
        for name, (size, side, mean, std) in DATASETS.items():
            keep = [None]
            t = view_transform(size, mean, std, FLAGS, keep)
            img = Image.fromarray(srcs[side])
            seed, out, (order, factors, flags, box) = pick_view(rec, t, img, side, wants[name])
            w.add(name + "_src", srcs[side])
            w.add(name + "_box", np.array(box))
            w.add(name + "_order", np.array(order))
            w.add(name + "_factors", np.array(factors))
            w.add(name + "_flags", np.array(flags))
            w.add(name + "_norm", np.array(list(mean) + list(std)))
            if size == 32:
                w.add(name + "_out", out.numpy().astype(np.float64))
            else:
                w.add(name + "_pixels", arr(keep[0]))
            print(name, "seed", seed, "box", box, "order", order, "flags", flags)
        # STL-10's test_transform: Resize(70, interpolation=3) + CenterCrop(64), then base_transform
        ev = T.Compose([T.Resize(70, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(64)])
        w.add("stl10_eval", arr(ev(Image.fromarray(srcs[96]))))
        # cfg flags overridden: brightness and hue None
        f = dict(FLAGS, cj0=0.0, cj3=0.0, cj_p=1.0, gs_p=0.0, crop_s0=0.5, crop_s1=0.9, crop_r0=0.5, crop_r1=2.0,
                 hf_p=1.0)
        keep = [None]
        size, side, mean, std = DATASETS["cifar10"]
        t = view_transform(size, mean, std, f, keep)
        seed, out, (order, factors, flags, box) = pick_view(rec, t, Image.fromarray(srcs[32]), 32,
                                                            lambda o, fl: True)
        assert 0 not in order and 3 not in order
        w.add("override_box", np.array(box))
        w.add("override_order", np.array(order))
        w.add("override_factors", np.array(factors))
        w.add("override_flags", np.array(flags))
        w.add("override_pixels", arr(keep[0]))
        print("override seed", seed, "box", box, "order", order, "flags", flags)


if __name__ == "__main__":
    schedule_fixtures()
    augment_fixtures()
