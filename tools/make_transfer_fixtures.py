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

Run: /usr/bin/python3 tools/make_transfer_fixtures.py
"""
import os
import sys
from collections import defaultdict

import numpy as np
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
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
