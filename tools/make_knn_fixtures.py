#!/usr/bin/python3
"""Writes tests/fixtures/knn_cases.bin for tests/test_knn.c: the predictions and top-1/top-5 counts of the
reference's weighted k-NN monitor (wgcban/mix-bt main.py test(); torch_mixbt.py mode_knn), run in torch
on synthetic features.

Features are not stored: bank and query features are clustered points built from the deterministic
`pattern` below (tests/test_knn.c computes the same), L2-normalised in float64 and rounded to float32:
    x_i = normalize(centroid[label_i] + sigma * noise_i),  label_i = (i * 7 + 3) % C (bank), (j * 5 + 1) % C
(queries). torch then does exactly what the reference does in float32: sim = feature @ bank[D, N],
topk, gather labels, (w / T).exp(), one-hot scatter, weighted sum, argsort descending, hits in [:1], [:5].
Stored per case: the parameters, the counts, the first 5 ranked classes and their 6 best scores (so the
test can tell tied ranks apart).

Run: /usr/bin/python3 tools/make_knn_fixtures.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")


def pattern(tag, n):
    """Values in [-1, 1): splitmix64 finaliser of i * G + tag * H (uint64 wrap-around), top 53 bits."""
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(tag) * np.uint64(0xD1B54A32D192ED03)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / 2.0 ** 53 * 2.0 - 1.0


def features(tag, n, d, labels, centroids, sigma):
    x = centroids[labels] + sigma * pattern(tag, n * d).reshape(n, d)
    x = x / np.sqrt((x * x).sum(axis=1, keepdims=True))
    return torch.from_numpy(x.astype(np.float32))


def reference_knn(feature, feature_bank, feature_labels, c, k, temperature):
    """The reference test() body for one batch of query features (feature_bank is [D, N])."""
    n = feature.size(0)
    sim_matrix = torch.mm(feature, feature_bank)
    sim_weight, sim_indices = sim_matrix.topk(k=k, dim=-1)
    sim_labels = torch.gather(feature_labels.expand(n, -1), dim=-1, index=sim_indices)
    sim_weight = (sim_weight / temperature).exp()
    one_hot_label = torch.zeros(n * k, c)
    one_hot_label = one_hot_label.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
    pred_scores = torch.sum(one_hot_label.view(n, -1, c) * sim_weight.unsqueeze(dim=-1), dim=1)
    pred_labels = pred_scores.argsort(dim=-1, descending=True)
    return pred_scores, pred_labels


def case(w, idx, N, M, D, C, k, T, sigma, batch=128):
    cent = pattern(1000 + idx, C * D).reshape(C, D)
    bank_labels = (np.arange(N) * 7 + 3) % C
    query_labels = (np.arange(M) * 5 + 1) % C
    bank = features(2000 + idx, N, D, bank_labels, cent, sigma)
    queries = features(3000 + idx, M, D, query_labels, cent, sigma)
    fb = bank.t().contiguous()
    fl = torch.from_numpy(bank_labels)
    top1 = top5 = 0
    preds, scores = [], []
    for s in range(0, M, batch):  # the reference iterates over test batches
        f = queries[s:s + batch]
        y = torch.from_numpy(query_labels[s:s + batch])
        sc, pl = reference_knn(f, fb, fl, C, k, T)
        top1 += torch.sum((pl[:, :1] == y.unsqueeze(dim=-1)).any(dim=-1).float()).item()
        top5 += torch.sum((pl[:, :5] == y.unsqueeze(dim=-1)).any(dim=-1).float()).item()
        r = min(5, C)
        p = torch.full((len(f), 5), -1, dtype=torch.int64)
        p[:, :r] = pl[:, :r]
        preds.append(p)
        ss = torch.full((len(f), 6), -1.0, dtype=torch.float64)
        sorted_scores = sc.gather(1, pl).double()
        ss[:, :min(6, C)] = sorted_scores[:, :min(6, C)]
        scores.append(ss)
    pre = "c%d_" % idx
    w.add(pre + "params", [N, M, D, C, k, T, sigma])
    w.add(pre + "top1", top1)
    w.add(pre + "top5", top5)
    w.add(pre + "pred", torch.cat(preds).numpy())
    w.add(pre + "scores", torch.cat(scores).numpy())
    print("case %d: N=%d M=%d D=%d C=%d k=%d T=%g: top1 %d top5 %d of %d" % (idx, N, M, D, C, k, T, top1, top5, M))


def main():
    path = os.path.join(OUT, "knn_cases.bin")
    cases = [
        # N, M, D, C, k, T, sigma
        (2000, 400, 64, 10, 200, 0.5, 3.5),    # CIFAR-10 monitor settings
        (3000, 300, 32, 100, 200, 0.5, 2.0),   # 100 classes (more than torch's stable sort covers)
        (500, 150, 16, 10, 20, 0.1, 2.0),      # HSIC default temperature, small k
        (300, 50, 8, 3, 7, 0.5, 1.5),          # fewer classes than 5: top-5 always hits
    ]
    with FixtureWriter(path) as w:
        w.add("ncases", len(cases))
        for i, c in enumerate(cases):
            case(w, i, *c)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
