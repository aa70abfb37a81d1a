#!/usr/bin/env python3
"""A development set for choosing `warboy qat`'s training recipe without the test set and
without the bundled models' weights (docs/quantizer.md, "QAT, a recipe chosen on a
development set (twenty-fourth session)").

The bundled models were trained on all 60,000 training images, so every training image is
one they have seen, and the test set may only measure. This script retrains the three
bundled architectures (shared/models/README.md: same layers, same recipe: AdamW with a
one-cycle learning rate, batch 128, random horizontal flips for the CNN and the ResNet) on
training images 0-49,999 only, and writes images 50,000-59,999, which none of these models
has seen, as the DEV split. It writes into OUTDIR:

  dev_mlp.onnx, dev_cnn.onnx, dev_resnet.onnx   float32, opset 13, input [N,1,28,28] "input",
                                                output "logits"; the CNN keeps its
                                                BatchNormalization nodes (as fmnist_cnn.onnx),
                                                the ResNet has them folded (as fmnist_resnet.onnx)
  data/train-{images-idx3,labels-idx1}-ubyte.gz images 0-49,999 (what QAT trains on)
  data/t10k-{images-idx3,labels-idx1}-ubyte.gz  images 50,000-59,999 (DEV: what QAT is scored on)

so that `warboy qat dev_X.onnx --data OUTDIR/data` and
`scripts/qat_reference.py dev_X.onnx --data OUTDIR/data` train on the 50,000 and report DEV
accuracy as their "test" figure. Debian's python3-torch 1.13:

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/make_qat_dev.py OUTDIR [--threads 2]
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn

import fmnist

SPLIT = 50000


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(self.flat(x)))
        return self.fc3(torch.relu(self.fc2(x)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.pool = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.fc1, self.fc2 = nn.Linear(3136, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        return self.fc2(torch.relu(self.fc1(self.flat(x))))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + (x if self.proj is None else self.proj(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        blocks, cin = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            blocks += [Block(cin, cout, stride), Block(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.flat(self.pool(self.blocks(self.stem(x)))))


# name: (module, epochs, flips, keep BatchNormalization nodes in the export)
MODELS = {"mlp": (MLP, 5, False, False), "cnn": (CNN, 3, True, True), "resnet": (ResNet, 4, True, False)}


def write_idx(path, arr):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x) * 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="mlp,cnn,resnet")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = fmnist.DEFAULT_DIR
    data = os.path.join(args.outdir, "data")
    os.makedirs(data, exist_ok=True)
    img = fmnist.read_idx(os.path.join(root, "train-images-idx3-ubyte.gz"))
    lab = fmnist.read_idx(os.path.join(root, "train-labels-idx1-ubyte.gz"))
    for split, sl in (("train", slice(0, SPLIT)), ("t10k", slice(SPLIT, None))):
        write_idx(os.path.join(data, f"{split}-images-idx3-ubyte.gz"), img[sl])
        write_idx(os.path.join(data, f"{split}-labels-idx1-ubyte.gz"), lab[sl])
    x = torch.from_numpy(img.astype(np.float32)[:, None] / 255.0)
    y = torch.from_numpy(lab.astype(np.int64))
    xtr, ytr, xdev, ydev = x[:SPLIT], y[:SPLIT], x[SPLIT:], y[SPLIT:]
    for name in args.models.split(","):
        cls, epochs, flips, keep_bn = MODELS[name]
        torch.manual_seed(args.seed)
        model = cls()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        steps = epochs * ((SPLIT + 127) // 128)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        t0 = time.time()
        for ep in range(epochs):
            model.train()
            perm = torch.randperm(SPLIT)
            for i in range(0, SPLIT, 128):
                b = perm[i:i + 128]
                xb = xtr[b]
                if flips:
                    f = torch.rand(len(b)) < 0.5
                    xb = torch.where(f[:, None, None, None], xb.flip(3), xb)
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(xb), ytr[b])
                loss.backward()
                opt.step()
                sched.step()
            print("%s epoch %d: loss %.3f, dev %.2f %% (%.0f s)" % (name, ep + 1, loss.item(), accuracy(model, xdev, ydev),
                                                                    time.time() - t0), flush=True)
        model.eval()
        out = os.path.join(args.outdir, f"dev_{name}.onnx")
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL)
        print("wrote %s: train %.2f %%, dev %.2f %%" % (out, accuracy(model, xtr, ytr), accuracy(model, xdev, ydev)), flush=True)


if __name__ == "__main__":
    main()
