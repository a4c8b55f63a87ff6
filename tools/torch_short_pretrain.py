"""PyTorch peer of a short `mixbt pretrain` run on CIFAR-10 (binary layout), for accuracy comparisons.

Runs the reference recipe of ../shared/reference/torch_reference.py (its Model, Mixed BT loss, training
and test transforms and weighted k-NN) with mixbt's run options: the first --subset training images,
--batch-size, --epochs, the reference main.py's cosine schedule with --warmup-epochs and its one-epoch
step offset (SPEC quirk 1, as `mixbt pretrain` runs it), Adam with weight decay 1e-6, --lr multiplier,
and the k-NN monitor on the first --knn-subset / --knn-test-subset images before training and after
every epoch. Prints one 'RESULT {json}' line per k-NN.

  /usr/bin/python3 tools/torch_short_pretrain.py --reference ../shared/reference/torch_reference.py \
      --data /tmp/cifar10/cifar-10-batches-bin --subset 2048 --batch-size 64 --epochs 3 --warmup-epochs 1
"""
import argparse, importlib.util, json, math, os, time
import numpy as np
import torch


def load_reference(path):
    spec = importlib.util.spec_from_file_location("torch_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read_cifar_bin(folder, names):
    raw = b"".join(open(os.path.join(folder, n), "rb").read() for n in names)
    rec = np.frombuffer(raw, np.uint8).reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), rec[:, 0].astype(np.int64)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reference", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--subset", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--warmup-epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--feature-dim", type=int, default=512)
    p.add_argument("--knn-subset", type=int, default=5000)
    p.add_argument("--knn-test-subset", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    ref = load_reference(a.reference)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    xtr, ytr = read_cifar_bin(a.data, ["data_batch_%d.bin" % i for i in range(1, 6)])
    xte, yte = read_cifar_bin(a.data, ["test_batch.bin"])
    knn_data = {"train": (xtr[:a.knn_subset], ytr[:a.knn_subset]), "test": (xte[:a.knn_test_subset], yte[:a.knn_test_subset])}
    dl = torch.utils.data.DataLoader(ref.ArrayDS(xtr[:a.subset], ytr[:a.subset], ref.train_tf(), True),
                                     batch_size=a.batch_size, shuffle=True, num_workers=0, drop_last=True)
    net = ref.Model("resnet18", a.feature_dim)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-6)
    spe = len(dl)
    warm, max_steps, base = a.warmup_epochs * spe, a.epochs * spe, a.batch_size / 256

    def report(epoch, loss, t0):
        log = dict(epoch=epoch, loss=loss, knn_top1=round(ref.knn(net, knn_data), 2), elapsed_s=round(time.time() - t0, 1))
        print("RESULT " + json.dumps(log), flush=True)

    t0 = time.time()
    report(0, None, t0)
    for epoch in range(1, a.epochs + 1):
        total = 0.0
        for i, ((x1, x2), _) in enumerate(dl):
            step = epoch * spe + i  # the reference main.py's counter (SPEC quirk 1)
            if step < warm:
                lr = base * step / warm
            else:
                q = 0.5 * (1 + math.cos(math.pi * (step - warm) / (max_steps - warm)))
                lr = base * q + base * 0.001 * (1 - q)
            opt.param_groups[0]["lr"] = lr * a.lr
            lb, lm = ref.mixbt_loss(net, x1, x2, 0.0078125, 4.0, True)
            opt.zero_grad()
            (lb + lm).backward()
            opt.step()
            total += (lb + lm).item()
        report(epoch, round(total / spe, 3), t0)


if __name__ == "__main__":
    main()
