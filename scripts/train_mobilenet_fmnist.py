#!/usr/bin/env python3
"""Train a small MobileNetV2-style network (inverted residuals, depthwise convolutions,
ReLU6, batch norm) on Fashion-MNIST and export it to ONNX (opset 13, symbolic batch).

Used to check the ENTROPY calibration on ReLU6 tensors (docs/quantizer.md); the model
is not committed (benchmarks only). Debian's python3-torch 1.13:

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/train_mobilenet_fmnist.py OUT.onnx [EPOCHS]
"""
import sys
import time

import numpy as np
import torch
import torch.nn as nn

import fmnist

ROOT = fmnist.DEFAULT_DIR


def conv_bn(cin, cout, k, s, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.res = stride == 1 and cin == cout
        self.body = nn.Sequential(*conv_bn(cin, hid, 1, 1), *conv_bn(hid, hid, 3, stride, groups=hid),
                                  *conv_bn(hid, cout, 1, 1, act=False))

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


class MobileNetV2Small(nn.Module):
    def __init__(self):
        super().__init__()
        cfg = [(16, 16, 1, 1), (16, 24, 2, 4), (24, 24, 1, 4), (24, 32, 2, 4), (32, 32, 1, 4), (32, 48, 1, 4)]
        self.features = nn.Sequential(*conv_bn(1, 16, 3, 2), *[InvertedResidual(*c) for c in cfg],
                                      *conv_bn(48, 96, 1, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(96, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def main():
    out = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    max_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 30
    torch.manual_seed(0)
    torch.set_num_threads(2)
    xtr, ytr = (torch.from_numpy(a) for a in fmnist.load_split(ROOT, "train"))
    xte, yte = (torch.from_numpy(a) for a in fmnist.load_split(ROOT, "t10k"))
    model = MobileNetV2Small()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, min(len(xtr), max_steps * 128), 128):
            b = perm[i:i + 128]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xtr[b]), ytr[b])
            loss.backward()
            if i // 128 % 50 == 0:
                print("  step %d loss %.3f (%.0f s)" % (i // 128, loss.item(), time.time() - t0), flush=True)
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item() for i in range(0, len(xte), 500))
        print("epoch %d: loss %.3f, test accuracy %.2f %%" % (ep + 1, loss.item(), acc / 100), flush=True)
        if acc / 100 < 50:
            sys.exit("training diverged (batch-norm statistics?): test accuracy %.2f %%" % (acc / 100))
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    print("wrote", out)


if __name__ == "__main__":
    main()
