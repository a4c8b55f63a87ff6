"""PyTorch peer of a short `mixbt pretrain` run on CIFAR-10 (binary layout), for accuracy and speed comparisons.

Runs the reference recipe of ../shared/reference/torch_reference.py (its Model, Mixed BT loss, training
and test transforms and weighted k-NN) with mixbt's run options: the first --subset training images,
--batch-size, --epochs, the reference main.py's cosine schedule with --warmup-epochs and its one-epoch
step offset (SPEC quirk 1, as `mixbt pretrain` runs it), Adam with weight decay 1e-6, --lr multiplier,
and the k-NN monitor (k=200, T=0.5; top-1 as the reference's knn(), plus top-5) on the first --knn-subset /
--knn-test-subset images before training and every --knn-every epochs (and after the last).

Data pipeline: with --workers N > 0 it is the reference's end-to-end pipeline (torch_reference.py part 3,
train_short): torchvision PIL transforms in a DataLoader with N worker processes, shuffle, drop_last,
pinned memory and persistent workers on CUDA, non-blocking copies, cudnn.benchmark. --workers 0 (the
default) loads in the main process. --device cuda runs on the GPU (PyTorch's default precision: cuDNN
convolutions with TF32, matrix products in fp32).

Prints 'RESULT {json}' lines: one 'env' line, one per epoch (training wall time epoch_s and images_per_s,
excluding the k-NN; knn_top1/knn_top5 where the k-NN ran), and a final 'done' line.

  /usr/bin/python3 tools/torch_short_pretrain.py --reference ../shared/reference/torch_reference.py \
      --data /tmp/cifar10/cifar-10-batches-bin --subset 2048 --batch-size 64 --epochs 3 --warmup-epochs 1
  python3 tools/torch_short_pretrain.py --reference ... --data ... --device cuda --workers 14 \
      --subset 0 --batch-size 256 --feature-dim 1024 --epochs 2 --knn-subset 0 --knn-test-subset 0
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


def first(n):
    """A slice of the first n items; 0 means all (as mixbt's --subset)."""
    return slice(0, n if n > 0 else None)


def log(**kw):
    print("RESULT " + json.dumps(kw), flush=True)


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@torch.no_grad()
def knn(ref, net, data, device, workers, k=200, t=0.5, classes=10):
    """The reference's knn() (same features, weights and top-1) on `device`, also returning top-5."""
    net.eval()

    def feats(split):
        x, y = data[split]
        dl = torch.utils.data.DataLoader(ref.ArrayDS(x, y, ref.test_tf(), False), batch_size=512, num_workers=workers)
        fs, ls = [], []
        for xb, yb in dl:
            f, _ = net(xb.to(device, non_blocking=True))
            fs.append(f); ls.append(yb.to(device))
        return torch.cat(fs), torch.cat(ls)

    bank, bl = feats("train")
    q, ql = feats("test")
    k = min(k, len(bank))
    top1 = top5 = 0
    for i in range(0, len(q), 1000):
        sim = q[i:i + 1000] @ bank.T
        w, ix = sim.topk(k, dim=-1)
        lab = bl[ix]
        w = (w / t).exp()
        scores = torch.zeros(len(lab), classes, device=device).scatter_add_(1, lab, w)
        truth = ql[i:i + 1000]
        top1 += (scores.argmax(1) == truth).sum().item()
        top5 += (scores.topk(min(5, classes), dim=1).indices == truth[:, None]).any(1).sum().item()
    net.train()
    return 100.0 * top1 / len(q), 100.0 * top5 / len(q)


def lr_at(step, warm, max_steps, base):
    """The reference main.py's cosine schedule with linear warm-up (before the --lr multiplier)."""
    if step < warm:
        return base * step / warm
    q = 0.5 * (1 + math.cos(math.pi * (step - warm) / (max_steps - warm)))
    return base * q + base * 0.001 * (1 - q)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reference", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--subset", type=int, default=2048, help="first N training images (0: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--warmup-epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--feature-dim", type=int, default=512)
    p.add_argument("--knn-subset", type=int, default=5000, help="k-NN bank: first N training images (0: all)")
    p.add_argument("--knn-test-subset", type=int, default=1000, help="k-NN queries: first N test images (0: all)")
    p.add_argument("--knn-every", type=int, default=1, help="k-NN before training, every E epochs and after the last (0: never)")
    p.add_argument("--knn-workers", type=int, default=8, help="DataLoader workers of the k-NN (the reference: 8)")
    p.add_argument("--workers", type=int, default=0, help="training DataLoader workers (the reference pipeline: 14)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=2, help="CPU threads of the main process (0: PyTorch's default)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    ref = load_reference(a.reference)
    dev = a.device
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("torch_short_pretrain: --device %s but torch.cuda.is_available() is False" % dev)
    ref.DEV = dev  # the reference module's helpers follow its global device
    cuda = dev.startswith("cuda")
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.backends.cudnn.benchmark = True  # as the reference's train_short
    log(part="env", torch=torch.__version__, device=dev, gpu=torch.cuda.get_device_name(dev) if cuda else "cpu",
        cpus=os.cpu_count(), threads=torch.get_num_threads(), workers=a.workers,
        cudnn_tf32=torch.backends.cudnn.allow_tf32, matmul_tf32=torch.backends.cuda.matmul.allow_tf32)
    xtr, ytr = read_cifar_bin(a.data, ["data_batch_%d.bin" % i for i in range(1, 6)])
    xte, yte = read_cifar_bin(a.data, ["test_batch.bin"])
    kb, kt = first(a.knn_subset), first(a.knn_test_subset)
    knn_data = {"train": (xtr[kb], ytr[kb]), "test": (xte[kt], yte[kt])}
    tr = first(a.subset)
    dl = torch.utils.data.DataLoader(ref.ArrayDS(xtr[tr], ytr[tr], ref.train_tf(), True), batch_size=a.batch_size,
                                     shuffle=True, num_workers=a.workers, pin_memory=cuda, drop_last=True,
                                     persistent_workers=a.workers > 0)
    net = ref.Model("resnet18", a.feature_dim).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-6)
    spe = len(dl)
    warm, max_steps, base = a.warmup_epochs * spe, a.epochs * spe, a.batch_size / 256
    common = dict(impl="torch", seed=a.seed, batch=a.batch_size, steps_per_epoch=spe)

    def monitor(epoch):
        if a.knn_every <= 0 or (epoch % a.knn_every and epoch != a.epochs):
            return {}
        t = time.time()
        top1, top5 = knn(ref, net, knn_data, dev, a.knn_workers)
        return dict(knn_top1=round(top1, 2), knn_top5=round(top5, 2), knn_s=round(time.time() - t, 2))

    t_start = time.time()
    log(part="epoch", epoch=0, **common, **monitor(0), elapsed_s=round(time.time() - t_start, 1))
    train_s = 0.0
    for epoch in range(1, a.epochs + 1):
        total, t0 = 0.0, time.time()
        for i, ((x1, x2), _) in enumerate(dl):
            step = epoch * spe + i  # the reference main.py's counter (SPEC quirk 1)
            lr = lr_at(step, warm, max_steps, base) * a.lr
            opt.param_groups[0]["lr"] = lr
            x1, x2 = x1.to(dev, non_blocking=True), x2.to(dev, non_blocking=True)
            lb, lm = ref.mixbt_loss(net, x1, x2, 0.0078125, 4.0, True)
            opt.zero_grad()
            (lb + lm).backward()
            opt.step()
            total += (lb + lm).item()
        sync(dev)
        epoch_s = time.time() - t0
        train_s += epoch_s
        log(part="epoch", epoch=epoch, **common, lr=lr, loss=round(total / spe, 3), epoch_s=round(epoch_s, 3),
            images_per_s=round(spe * a.batch_size / epoch_s, 1), **monitor(epoch),
            elapsed_s=round(time.time() - t_start, 1))
    log(part="done", **common, epochs=a.epochs, train_s=round(train_s, 2), elapsed_s=round(time.time() - t_start, 1))


if __name__ == "__main__":
    main()
