#!/usr/bin/python3
"""A real-model check of `warboy qat` (docs/quantizer.md, "QAT on a model as torch.onnx
writes it, from an image folder"): an image folder with labels.txt, a model exported
with symbolic height and width, ImageNet mean/std normalisation, and PyTorch's own
eager QAT of the same network on the same images as the reference.

  OUT/train/   the first --train Fashion-MNIST training images as SIZExSIZE RGB PNGs
               (bilinear upscale by PIL, grey copied to R, G and B) + labels.txt
  OUT/val/     the 10,000 test images, the same way + labels.txt
  OUT/float.onnx  torchvision's quantizable MobileNetV2 (width 0.5, 10 classes) trained
               --epochs on OUT/train (AdamW one-cycle 3e-3, batch 128, flips), exported
               by torch.onnx at opset 13 with input [batch,3,height,width]
  OUT/float.pt the same weights, for --qat

The images the network trains on are read back from the PNG files, and normalised
as `--preprocess mean=0.485,0.456,0.406,std=0.229,0.224,0.225` does (x/255, then per
channel (x - mean) / std), so both tools see the same pixels.

--qat SEEDS (after the above): PyTorch 1.13's eager QAT of float.pt, the recipe of
scripts/qat_reference.py (fuse_model(is_qat=True), the onednn default QAT qconfig,
SGD momentum 0.9, lr 0.01 cosine, batch 64, one epoch, shuffle seeded), converted to
int8 and scored on OUT/val; one JSON line per seed. Debian's python3-torch 1.13,
python3-torchvision, python3-pil:

  /usr/bin/python3 scripts/make_qat_images.py OUT                 # data + float model
  /usr/bin/python3 scripts/make_qat_images.py OUT --qat 0,1,2     # PyTorch QAT reference
  /usr/bin/python3 scripts/make_qat_images.py OUT --qat 0 --fold-bn  # ... of the BN-folded network
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.ao.quantization as tq
import torch.nn as nn
import torchvision.models.quantization as qm
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def write_folder(d, x, y, size):
    os.makedirs(d, exist_ok=True)
    lines = ["# FILE LABEL (Fashion-MNIST, upscaled bilinear, grey as RGB)"]
    for i in range(len(x)):
        name = f"{i:05d}.png"
        img = Image.fromarray(x[i]).resize((size, size), Image.BILINEAR).convert("RGB")
        img.save(os.path.join(d, name))
        lines.append(f"{name} {int(y[i])}")
    with open(os.path.join(d, "labels.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def read_folder(d):
    xs, ys = [], []
    with open(os.path.join(d, "labels.txt")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, label = line.split()
            a = np.asarray(Image.open(os.path.join(d, name)).convert("RGB"), np.float32) / 255.0
            xs.append(((a - MEAN) / STD).transpose(2, 0, 1))
            ys.append(int(label))
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys)


def make_net():
    return qm.mobilenet_v2(num_classes=10, width_mult=0.5)


def accuracy(net, x, y, batch=500):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train_float(out, epochs):
    x, y = read_folder(os.path.join(out, "train"))
    xv, yv = read_folder(os.path.join(out, "val"))
    torch.manual_seed(0)
    net = make_net()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.01)
    steps = epochs * math.ceil(len(x) / 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    g = torch.Generator().manual_seed(0)
    for ep in range(epochs):
        net.train()
        t0 = time.time()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = nn.functional.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {ep + 1}/{epochs}: loss {loss.item():.4f}, {time.time() - t0:.0f} s", file=sys.stderr)
    net.eval()
    print(f"float32 on val: {100 * accuracy(net, xv, yv):.2f} %", file=sys.stderr)
    torch.save(net.state_dict(), os.path.join(out, "float.pt"))
    torch.onnx.export(net, torch.zeros(1, 3, x.shape[2], x.shape[3]), os.path.join(out, "float.onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}})


def qat(out, seed, threads, fold=False):
    torch.set_num_threads(threads)
    torch.backends.quantized.engine = "onednn"
    x, y = read_folder(os.path.join(out, "train"))
    xv, yv = read_folder(os.path.join(out, "val"))
    net = make_net()
    net.load_state_dict(torch.load(os.path.join(out, "float.pt")))
    net.eval()
    fp32 = accuracy(net, xv, yv)
    # fold=True: BatchNorm folded into the convolutions first (eval-mode fusion), as
    # torch.onnx's export has it, so that PyTorch fine-tunes the network warboy sees.
    net.fuse_model(is_qat=not fold)
    net.qconfig = tq.get_default_qat_qconfig("onednn")
    net.train()
    tq.prepare_qat(net, inplace=True)
    batch, lr = 64, 0.01
    steps = math.ceil(len(x) / batch)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=g)
    t0 = time.time()
    for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    sec = time.time() - t0
    net.eval()
    q = tq.convert(net.cpu(), inplace=False)
    int8 = accuracy(q, xv, yv)
    print(json.dumps({"seed": seed, "fold_bn": fold, "fp32": fp32, "qat_int8": int8, "epoch_seconds": sec, "threads": threads}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--qat", default="", help="comma-separated seeds: run PyTorch's QAT reference instead")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fold-bn", action="store_true", help="--qat on the network with BatchNorm folded into the convolutions")
    args = ap.parse_args()
    if args.qat:
        for s in args.qat.split(","):
            qat(args.out, int(s), args.threads, args.fold_bn)
        return
    torch.set_num_threads(2)
    x, y = fmnist.read_idx(os.path.join(fmnist.DEFAULT_DIR, "train-images-idx3-ubyte.gz")), \
        fmnist.read_idx(os.path.join(fmnist.DEFAULT_DIR, "train-labels-idx1-ubyte.gz"))
    write_folder(os.path.join(args.out, "train"), x[:args.train], y[:args.train], args.size)
    xt, yt = fmnist.read_idx(os.path.join(fmnist.DEFAULT_DIR, "t10k-images-idx3-ubyte.gz")), \
        fmnist.read_idx(os.path.join(fmnist.DEFAULT_DIR, "t10k-labels-idx1-ubyte.gz"))
    write_folder(os.path.join(args.out, "val"), xt, yt, args.size)
    train_float(args.out, args.epochs)


if __name__ == "__main__":
    main()
