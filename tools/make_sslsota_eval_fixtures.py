#!/usr/bin/python3
"""Writes tests/fixtures/sslsota_knn.bin and sslsota_linear.bin, the fixtures of tests/test_sslsota_eval.c:
ssl-sota's evaluation (wgcban/mix-bt ssl-sota/eval/knn.py and eval/sgd.py, SPEC section 7) computed by torch.

k-NN (eval_knn): torch.cdist(x_test, x_train), topk(k, largest=False), labels.unique(return_counts=True)
and argmax per row (ties of the vote to the smallest label), for k = 1, 5, 20, on
  * "clustered": non-negative clustered rows like pooled ReLU features (bank 200, test 60, 5 classes);
  * "ties": each query has a private group of 24 bank rows at chosen distances (groups far apart), with
    labels that make vote ties at k = 5 and 20 and near-ties of distance (relative gap 3e-3) at the k-th
    place that decide the vote when swapped; plus exact duplicates of bank rows (equal distances) with
    different labels at the k-th place, where the lower bank index must win.
Stored: features (float32 values), labels, and per k the predictions with exact (float64) distances in
a stable order (distance, then bank index), torch's predictions and a mask of the queries with an exact
distance tie at the k-th place. The script asserts that torch's predictions equal the stable ones on
every other query (at an exact tie torch's CPU topk keeps a higher bank index: unspecified behaviour;
the original ran on CUDA, whose selection keeps the lower index); and it asserts that every k-th/(k+1)-th gap that is not an exact tie is
far (>= 10x) above float32's rounding of the distance expansion, so that any correct float32
implementation must give the same neighbours.

Linear (eval_sgd): nn.Linear(d, classes) from fixed initial weights, CrossEntropyLoss, Adam(lr 1e-2,
weight_decay 5e-6), ExponentialLR(gamma = (1e-6/1e-2)^(1/epochs)) stepped per epoch; each epoch a fixed
permutation (stored, from numpy) cut into full batches (the rest unused: the original's
randperm(n).view(-1, 1000) over a drop_last feature set); then top-1 / top-5 by topk(5) on a test set.
torch in float64 (stored) and float32 (checked within the C test's tolerance).

Run: /usr/bin/python3 tools/make_sslsota_eval_fixtures.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
KS = (1, 5, 20)
RTOL, ATOL = 2e-4, 2e-5  # the C test's tolerance on the linear classifier's losses and parameters


def eval_knn_preds(x_train, y_train, x_test, k):
    """eval/knn.py's computation, returning the per-query predictions."""
    d = torch.cdist(x_test, x_train)
    topk = torch.topk(d, k=k, dim=1, largest=False)
    labels = y_train[topk.indices]
    pred = torch.empty(len(x_test), dtype=torch.long)
    for i in range(len(labels)):
        x = labels[i].unique(return_counts=True)
        pred[i] = x[0][x[1].argmax()]
    return pred.numpy()


def stable_preds(xtr, ytr, xte, k, classes):
    """Exact distances (float64), order (distance, bank index), vote ties to the smallest label; also the
    smallest k-th/(k+1)-th squared-distance gap relative to float32's rounding of the expansion."""
    a, b = xte.astype(np.float64), xtr.astype(np.float64)
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    preds, worst, exact_ties = [], np.inf, np.zeros(len(a), dtype=bool)
    for i in range(len(a)):
        order = np.lexsort((np.arange(len(b)), d2[i]))
        votes = np.bincount(ytr[order[:k]], minlength=classes)
        preds.append(int(np.argmax(votes)))
        if k < len(b):
            gap = d2[i, order[k]] - d2[i, order[k - 1]]
            if gap == 0:
                exact_ties[i] = True
            else:  # float32 error of ||q||^2 + ||b||^2 - 2 q.b: a few ulps of the norms
                scale = np.finfo(np.float32).eps * (a[i] @ a[i] + b[order[k]] @ b[order[k]])
                worst = min(worst, gap / scale)
    return np.array(preds), worst, exact_ties


def knn_case(w, name, xtr, ytr, xte, yte, classes):
    xtr, xte = xtr.astype(np.float32), xte.astype(np.float32)
    w.add(name + ".bank", xtr)
    w.add(name + ".bank_labels", ytr)
    w.add(name + ".test", xte)
    w.add(name + ".test_labels", yte)
    w.add(name + ".classes", [classes])
    for k in KS:
        got = eval_knn_preds(torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte), k)
        want, margin, ties = stable_preds(xtr, ytr, xte, k, classes)
        # torch's CPU topk keeps a higher index among exact ties at the k-th place (unspecified; CUDA's
        # selection keeps the lower), so only those queries may differ from the stable order
        assert np.array_equal(got[~ties], want[~ties]), (name, k, np.nonzero(got != want))
        assert margin >= 10, (name, k, margin)
        votes_tied = 0
        for i in range(len(xte)):  # queries whose vote has a tie at the top
            d = torch.cdist(torch.from_numpy(xte[i:i + 1]), torch.from_numpy(xtr))[0]
            c = np.bincount(ytr[torch.topk(d, k, largest=False).indices.numpy()], minlength=classes)
            votes_tied += int((c == c.max()).sum() > 1)
        acc = float((want == yte).mean())
        w.add("%s.k%d.pred" % (name, k), want)
        w.add("%s.k%d.torch_pred" % (name, k), got)
        w.add("%s.k%d.exact_tie" % (name, k), ties)
        w.add("%s.k%d.acc" % (name, k), [acc])
        print("%s k=%d: top-1 %.4f, vote ties %d, exact distance ties at k %d (torch CPU differs on %d), "
              "smallest gap / rounding %.0f" % (name, k, acc, votes_tied, ties.sum(), (got != want).sum(), margin))


def pattern(rng, *shape):
    return rng.uniform(-1, 1, size=shape)


def clustered(w):
    rng = np.random.default_rng(7)
    classes, d = 5, 16
    cent = pattern(rng, classes, d)
    ytr = (np.arange(200) * 3 + 1) % classes
    yte = (np.arange(60) * 7 + 2) % classes
    xtr = np.abs(cent[ytr] + 0.8 * pattern(rng, 200, d)) * 1.5
    xte = np.abs(cent[yte] + 0.8 * pattern(rng, 60, d)) * 1.5
    knn_case(w, "clustered", xtr, ytr, xte, yte, classes)


def ties(w):
    """24 queries at distinct corners 4 * s (s in {-1, 1}^8): cross-group distances >= 8 - 2 * 2."""
    rng = np.random.default_rng(11)
    d, classes, per = 8, 4, 24
    corners = [np.array([1 if (g >> j) & 1 else -1 for j in range(d)], dtype=np.float64) * 4 for g in range(24)]
    bank, blab, test, tlab = [], [], [], []
    for g, q in enumerate(corners):
        r = 0.5 + 0.06 * np.arange(per) + rng.uniform(0, 0.02, size=per)  # well separated but for the below
        # near-ties: the 5th/6th and the 20th/21st place 3e-3 apart (relative), in random order of labels
        r[5] = r[4] * (1 + 3e-3)
        r[20] = r[19] * (1 + 3e-3)
        lab = rng.integers(0, classes, size=per)
        if g % 3 == 0:  # a 2-2-1 vote at k = 5 that the 5th/6th near-tie would change
            lab[:6] = [3, 1, 3, 1, 2, 3]
        if g % 3 == 1:  # a 5-5-5-5 vote at k = 20
            lab[:20] = rng.permutation(np.repeat(np.arange(4), 5))
            lab[20] = 0
        dirs = rng.normal(size=(per, d))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        pts = q + r[:, None] * dirs
        if g % 4 == 2:  # an exact duplicate of the 5th row at the 6th place, other label: lower index wins
            pts[5] = pts[4]
            lab[5] = (lab[4] + 1) % classes
        order = rng.permutation(per)  # the bank is not sorted by distance
        if g % 4 == 2:  # keep the duplicate after its twin in the bank
            i4, i5 = np.where(order == 4)[0][0], np.where(order == 5)[0][0]
            if i5 < i4:
                order[i4], order[i5] = 5, 4
        bank.append(pts[order])
        blab.append(lab[order])
        test.append(q)
        tlab.append(g % classes)
    knn_case(w, "ties", np.concatenate(bank), np.concatenate(blab), np.array(test), np.array(tlab), classes)


def run_sgd(dtype, x, y, xt, yt, w0, b0, classes, batch, perms, wd):
    clf = torch.nn.Linear(x.shape[1], classes).to(dtype)
    with torch.no_grad():
        clf.weight.copy_(torch.from_numpy(w0))
        clf.bias.copy_(torch.from_numpy(b0))
    epochs = len(perms)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2, weight_decay=wd)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(1e-6 / 1e-2) ** (1 / epochs))
    crit = torch.nn.CrossEntropyLoss()
    X = torch.from_numpy(x.astype(np.float64)).to(dtype)
    Y = torch.from_numpy(y.astype(np.int64))
    losses, lrs = [], []
    for ep in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        perm = torch.from_numpy(perms[ep][: len(x) // batch * batch].astype(np.int64)).view(-1, batch)
        for idx in perm:
            opt.zero_grad()
            loss = crit(clf(X[idx]), Y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
    with torch.no_grad():
        out = clf(torch.from_numpy(xt.astype(np.float64)).to(dtype))
        ytt = torch.from_numpy(yt.astype(np.int64))
        tloss = torch.nn.functional.cross_entropy(out, ytt, reduction="sum").item()
        top = out.topk(5, 1, largest=True, sorted=True).indices
        acc = [(top[:, :t] == ytt[..., None]).float().sum(1).mean().item() for t in (1, 5)]
    final = torch.cat([clf.weight.detach().flatten(), clf.bias.detach()]).double().numpy()
    return dict(losses=np.array(losses), lrs=np.array(lrs), final=final, test=np.array([tloss] + acc))


def close(a, b):
    return np.all(np.abs(a - b) <= ATOL + RTOL * np.abs(b))


def linear_case(w, name, seed, d, classes, n, nt, batch, epochs, wd=5e-6):
    rng = np.random.default_rng(seed)
    cent = pattern(rng, classes, d)
    y = (np.arange(n) * 3 + 2) % classes
    yt = (np.arange(nt) * 5 + 1) % classes
    x = (np.abs(cent[y] + 0.7 * pattern(rng, n, d)) * 1.5).astype(np.float32)
    xt = (np.abs(cent[yt] + 0.7 * pattern(rng, nt, d)) * 1.5).astype(np.float32)
    bound = 1 / np.sqrt(d)
    w0 = (pattern(rng, classes, d) * bound).astype(np.float32)
    b0 = (pattern(rng, classes) * bound).astype(np.float32)
    perms = np.stack([rng.permutation(n) for _ in range(epochs)])
    ref = run_sgd(torch.float64, x, y, xt, yt, w0.astype(np.float64), b0.astype(np.float64), classes, batch, perms, wd)
    f32 = run_sgd(torch.float32, x, y, xt, yt, w0, b0, classes, batch, perms, wd)
    for k in ("losses", "final"):
        assert close(f32[k], ref[k]), (name, k, np.max(np.abs(f32[k] - ref[k])))
    assert np.array_equal(f32["test"][1:], ref["test"][1:]), (name, f32["test"], ref["test"])
    w.add(name + ".params", [d, classes, n, nt, batch, epochs, wd])
    for k, v in dict(x=x, y=y, xt=xt, yt=yt, w0=w0, b0=b0, perms=perms).items():
        w.add(name + "." + k, v)
    for k, v in ref.items():
        w.add(name + "." + k, v)
    print("%s: %d steps, last loss %.4f, test top-1 %.3f top-5 %.3f"
          % (name, len(ref["losses"]), ref["losses"][-1], ref["test"][1], ref["test"][2]))


def main():
    torch.set_default_dtype(torch.float32)
    with FixtureWriter(os.path.join(OUT, "sslsota_knn.bin")) as w:
        clustered(w)
        ties(w)
    with FixtureWriter(os.path.join(OUT, "sslsota_linear.bin")) as w:
        # 35 rows in batches of 10: 3 steps per epoch, 5 rows unused; 7 classes so that top-5 is not trivial
        linear_case(w, "c7", 3, 12, 7, 35, 25, 10, 4)
        linear_case(w, "wd", 5, 6, 9, 24, 30, 8, 3, wd=0.2)


if __name__ == "__main__":
    main()
