#!/usr/bin/python3
"""Writes tests/fixtures/transfer_data.bin, the numpy and torchvision reference of tests/test_transfer_data.c.

The reference's transfer sets Flowers-102 (transfer_datasets/vgg_flower.py) and GTSRB (traffic_sign.py)
split each class 80/20 with np.random.RandomState(42): indexer = np.arange(num); rs.shuffle(indexer);
the first int(0.8 * num) shuffled items train, the rest test; ONE RandomState for all classes, so each
class's shuffle continues the stream where the previous class left it. Flowers visits the classes in the
order their label first appears in imagelabels.mat (a dict filled in image order); GTSRB visits classes
0..42 with the files of each folder as glob() lists them (mixbt sorts them by name).

Stored (float64 arrays, tools/fixture_io.py):
  seeded_key      [624]  RandomState(42)'s MT19937 key right after seeding (get_state()[1]), pos 624
  u32             [1300] its first 1300 32-bit outputs (randint(2**32, dtype=uint32); crosses two
                         regenerations of the 624-word state)
  shuffle_<n>     [n]    RandomState(42).shuffle(np.arange(n)) for a few n (masks of 1..13 bits and the
                         rejection path), each from a fresh RandomState(42)
  after_shuffles  [4]    the next 4 outputs after shuffling n = 1, 2, 3, ..., 40 in turn (draw counts)
  flowers_labels  [N]    an imagelabels.mat 'labels' row (1-based classes, mixed order, classes of 1, 2,
                         5 and 13 images)
  flowers_train / flowers_test  image numbers (1-based, image_%05d.jpg) of each part in dataset order;
  flowers_train_labels / flowers_test_labels  their labels (0-based, label - 1)
  gtsrb_sizes     [43]   images per class folder (file names 00000.ppm, 00001.ppm, ...)
  gtsrb_train / gtsrb_test  [k, 2] (class, file number) of each part in dataset order
  resize_gray     [3, 32, 32] the reference's transfer transform of a 28x28 gray image (MNIST's size):
                  Image.fromarray(img, 'L').convert('RGB'), Resize((32, 32)), ToTensor,
                  Normalize(mnist's 0.170 / 0.320)
  resize_rgb      [3, 32, 32] the same transform with DTD's constants of a 45x23 RGB image (both
                  sides scaled, by different factors: downscaling with antialiasing and upscaling)
  The images are the formula `pixel` below, which the C test computes too.
  sgd.*           the transfer classifier in torch (evaluate_transfer.py: nn.Linear(d, classes) with bias,
                  CrossEntropyLoss, SGD(lr, momentum=0.9), MultiStepLR(milestones, 0.1) stepped after each
                  epoch) trained on fixed float32 features in batches taken in order (the last one
                  partial): the features (x, y, xt, yt), initial weight and bias, the loss of every step,
                  each epoch's learning rate and (loss sum, top-1, top-5 hits), the parameters after the
                  first step and at the end, and the test pass (loss sum, top-1, top-5). Reference in
                  float64; float32 torch is checked to stay within the C test's tolerance.

Run: /usr/bin/python3 tools/make_transfer_fixtures.py
"""
import os
import sys
from collections import defaultdict

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "transfer_data.bin")


def flowers_split(labels, train):
    """The reference's VGGFlower.load_images over image numbers instead of paths."""
    rs = np.random.RandomState(42)
    by_label = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i + 1)
    images, out_labels = [], []
    for label, numbers in by_label.items():
        num = len(numbers)
        numbers = np.array(numbers)
        indexer = np.arange(num)
        rs.shuffle(indexer)
        numbers = numbers[indexer].tolist()
        part = numbers[:int(0.8 * num)] if train else numbers[int(0.8 * num):]
        images += part
        out_labels += [int(label) - 1] * len(part)
    return images, out_labels


def gtsrb_split(sizes, train):
    """The reference's TrafficSign.load_images with each folder's files sorted by name."""
    rs = np.random.RandomState(42)
    out = []
    for class_i, size in enumerate(sizes):
        files = np.array(["%05d.ppm" % k for k in range(size)])
        num = len(files)
        indexer = np.arange(num)
        rs.shuffle(indexer)
        files = files[indexer].tolist()
        part = files[:int(0.8 * num)] if train else files[int(0.8 * num):]
        out += [(class_i, int(f[:5])) for f in part]
    return out


def pixel(w, h, channels):
    """uint8 [h, w, channels]: (x * 37 + y * 11 + c * 101 + (x * y) % 13) % 256."""
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(channels), indexing="ij")
    return ((x * 37 + y * 11 + c * 101 + (x * y) % 13) % 256).astype(np.uint8)


def transfer_transform(img, mean, std):
    """evaluate_transfer.py's load_transform(dataset, 32) applied to a PIL image."""
    t = T.Compose([T.Resize((32, 32)), T.ToTensor(), T.Normalize(mean=mean, std=std)])
    return t(img).numpy().astype(np.float64)


SGD_RTOL, SGD_ATOL = 2e-4, 2e-5  # the C test's tolerance on losses and parameters
SGD = dict(d=16, classes=5, n=60, nt=20, batch=16, epochs=5, lr=0.2, momentum=0.9, milestones=[2, 4])


def sgd_data():
    """Clustered non-negative float32 features (like pooled ReLU outputs) and labels."""
    rng = np.random.RandomState(3)
    d, c = SGD["d"], SGD["classes"]
    cent = rng.uniform(-1, 1, size=(c, d))
    y = (np.arange(SGD["n"]) * 7 + 3) % c
    yt = (np.arange(SGD["nt"]) * 3 + 1) % c
    x = np.abs(cent[y] + 0.6 * rng.uniform(-1, 1, size=(len(y), d))) * 1.5
    xt = np.abs(cent[yt] + 0.6 * rng.uniform(-1, 1, size=(len(yt), d))) * 1.5
    bound = 1 / np.sqrt(d)
    w0 = rng.uniform(-bound, bound, size=(c, d))
    b0 = rng.uniform(-bound, bound, size=c)
    f32 = lambda a: a.astype(np.float32)
    return f32(x), y, f32(xt), yt, f32(w0), f32(b0)


def hits(out, y):
    pred = torch.argsort(out, dim=-1, descending=True)
    return ((pred[:, 0:1] == y.unsqueeze(-1)).any(-1).sum().item(), (pred[:, 0:5] == y.unsqueeze(-1)).any(-1).sum().item())


def sgd_run(dtype, x, y, xt, yt, w0, b0):
    fc = torch.nn.Linear(SGD["d"], SGD["classes"], bias=True).to(dtype)
    with torch.no_grad():
        fc.weight.copy_(torch.from_numpy(w0.astype(np.float64)))
        fc.bias.copy_(torch.from_numpy(b0.astype(np.float64)))
    opt = torch.optim.SGD(fc.parameters(), lr=SGD["lr"], momentum=SGD["momentum"])
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, SGD["milestones"], gamma=0.1)
    crit = torch.nn.CrossEntropyLoss()
    X, Y = torch.from_numpy(x.astype(np.float64)).to(dtype), torch.from_numpy(y.astype(np.int64))
    losses, lrs, stats, first = [], [], [], None
    for _ in range(SGD["epochs"]):
        lrs.append(opt.param_groups[0]["lr"])
        tot, c1, c5 = 0.0, 0, 0
        for s in range(0, len(x), SGD["batch"]):
            xb, yb = X[s:s + SGD["batch"]], Y[s:s + SGD["batch"]]
            out = fc(xb)
            loss = crit(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            tot += loss.item() * len(xb)
            h1, h5 = hits(out, yb)
            c1, c5 = c1 + h1, c5 + h5
            if first is None:
                first = torch.cat([fc.weight.detach().flatten(), fc.bias.detach()]).double().numpy().copy()
        sched.step()
        stats.append([tot, c1, c5])
    with torch.no_grad():
        out = fc(torch.from_numpy(xt.astype(np.float64)).to(dtype))
        yt_t = torch.from_numpy(yt.astype(np.int64))
        test = [torch.nn.functional.cross_entropy(out, yt_t, reduction="sum").item(), *hits(out, yt_t)]
    final = torch.cat([fc.weight.detach().flatten(), fc.bias.detach()]).double().numpy()
    return dict(losses=np.array(losses), lrs=np.array(lrs), epochs=np.array(stats, dtype=np.float64), after_first=first,
                final=final, test=np.array(test, dtype=np.float64))


def sgd_case(w):
    x, y, xt, yt, w0, b0 = sgd_data()
    ref = sgd_run(torch.float64, x, y, xt, yt, w0, b0)
    f32 = sgd_run(torch.float32, x, y, xt, yt, w0, b0)
    for k in ("losses", "after_first", "final"):
        assert np.all(np.abs(f32[k] - ref[k]) <= SGD_ATOL + SGD_RTOL * np.abs(ref[k])), k
    assert np.array_equal(f32["epochs"][:, 1:], ref["epochs"][:, 1:]) and np.array_equal(f32["test"][1:], ref["test"][1:])
    w.add("sgd.params", [SGD["d"], SGD["classes"], SGD["n"], SGD["nt"], SGD["batch"], SGD["epochs"], SGD["lr"],
                         SGD["momentum"]] + SGD["milestones"])
    for k, v in (("x", x), ("y", y), ("xt", xt), ("yt", yt), ("w0", w0), ("b0", b0)):
        w.add("sgd." + k, v)
    for k, v in ref.items():
        w.add("sgd." + k, v)
    print("sgd: final train loss %.4f, test top-1 %d/%d" % (ref["losses"][-1], ref["test"][1], SGD["nt"]))


def main():
    with FixtureWriter(OUT) as w:
        rs = np.random.RandomState(42)
        state = rs.get_state()
        assert state[0] == "MT19937" and state[2] == 624
        w.add("seeded_key", state[1].astype(np.float64))
        w.add("u32", rs.randint(2**32, size=1300, dtype=np.uint32).astype(np.float64))
        for n in (2, 3, 5, 17, 100, 1000, 5000):
            x = np.arange(n)
            np.random.RandomState(42).shuffle(x)
            w.add("shuffle_%d" % n, x)
        rs = np.random.RandomState(42)
        for n in range(1, 41):
            rs.shuffle(np.arange(n))
        w.add("after_shuffles", rs.randint(2**32, size=4, dtype=np.uint32).astype(np.float64))

        # Flowers: 6 classes of 13, 5, 1, 2, 7, 4 images, labels 1..6 interleaved so that the first
        # appearances come in the order 3, 1, 6, 2, 5, 4
        rng = np.random.RandomState(7)
        labels = np.concatenate([np.full(n, c) for c, n in ((1, 13), (2, 5), (3, 1), (4, 2), (5, 7), (6, 4))])
        rng.shuffle(labels)
        labels = list(labels)
        for c in (4, 5, 2, 6, 1, 3):  # move each class's first image to the front, last moved first
            labels.remove(c)
            labels.insert(0, c)
        assert [l for i, l in enumerate(labels) if l not in labels[:i]] == [3, 1, 6, 2, 5, 4]
        w.add("flowers_labels", labels)
        for part, train in (("train", True), ("test", False)):
            images, lab = flowers_split(labels, train)
            w.add("flowers_%s" % part, images)
            w.add("flowers_%s_labels" % part, lab)

        sizes = [(7 * c + 3) % 11 for c in range(43)]  # 0 to 10 images per class, some empty
        w.add("gtsrb_sizes", sizes)
        for part, train in (("train", True), ("test", False)):
            w.add("gtsrb_%s" % part, np.array(gtsrb_split(sizes, train), dtype=np.float64).reshape(-1, 2))
        gray = Image.fromarray(pixel(28, 28, 1)[:, :, 0], mode="L").convert("RGB")
        w.add("resize_gray", transfer_transform(gray, [0.170] * 3, [0.320] * 3))
        rgb = Image.fromarray(pixel(45, 23, 3), mode="RGB")
        w.add("resize_rgb", transfer_transform(rgb, [0.533, 0.474, 0.426], [0.261, 0.250, 0.259]))
        sgd_case(w)
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
