#!/usr/bin/env python3
"""A model not bundled with the repo, to check that `warboy qat` generalises beyond the
three Fashion-MNIST models it was measured on (docs/quantizer.md, "QAT measurements").

A depthwise-separable CNN (MobileNetV1-style: conv 3x3 1->16, then depthwise 3x3 stride 2
+ pointwise 1x1 blocks 16->32->64, each Conv followed by BatchNorm and ReLU, global
average pooling, Linear 64->10), trained in float for EPOCHS epochs (Adam, lr 1e-3,
batch 128, seed 0) on Fashion-MNIST, exported at opset 13 with the BatchNormalization
nodes kept (TrainingMode.PRESERVE on the eval-mode model), so that both `warboy qat`
and scripts/qat_reference.py train them as fused Conv+BN(+ReLU) QAT modules. Only the
operators scripts/qat_reference.py rebuilds are used (no ReLU6). The model is not
committed (benchmarks only). Debian's python3-torch 1.13:

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/make_qat_dwnet.py OUT.onnx [EPOCHS]

With RECIPE=onecycle in the environment the float training is the bundled models' recipe
instead (AdamW, one-cycle schedule peaking at 3e-3, batch 128), which ends annealed as a
converged model does (docs/quantizer.md, "QAT, the learning-rate rule on unseen architectures").
"""
import os
import sys
import time

import torch
import torch.nn as nn

import fmnist


def conv_bn_relu(cin, cout, k, s, groups=1):
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class DWNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers = conv_bn_relu(1, 16, 3, 1)
        for cin, cout in [(16, 32), (32, 64)]:
            layers += conv_bn_relu(cin, cin, 3, 2, groups=cin) + conv_bn_relu(cin, cout, 1, 1)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def main():
    out = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.manual_seed(0)
    torch.set_num_threads(1)
    root = fmnist.DEFAULT_DIR
    xtr, ytr = (torch.from_numpy(a) for a in fmnist.load_split(root, "train"))
    xte, yte = (torch.from_numpy(a) for a in fmnist.load_split(root, "t10k"))
    model = DWNet()
    sched = None
    if os.environ.get("RECIPE") == "onecycle":  # the bundled models' recipe: ends annealed, as a converged model
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * ((len(xtr) + 127) // 128))
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            b = perm[i:i + 128]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xtr[b]), ytr[b])
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item() for i in range(0, len(xte), 500))
        print("epoch %d: loss %.3f, test accuracy %.2f %% (%.0f s)" % (ep + 1, loss.item(), acc / 100, time.time() - t0), flush=True)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE)
    print("wrote", out)


if __name__ == "__main__":
    main()
