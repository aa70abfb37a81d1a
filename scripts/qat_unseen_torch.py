#!/usr/bin/env python3
"""PyTorch eager-mode QAT on testdata/qat_unseen/prep.onnx, for comparison with `warboy qat`
(docs/quantizer.md, "QAT on architectures outside the bundled set (eighth session)").

scripts/qat_reference.py rebuilds only Conv/BN/Relu/MaxPool/Gemm/Flatten/GAP/Add networks;
this rebuilds the `prep` net of scripts/make_qat_unseen.py (its ONNX initializers keep the
module's parameter names), puts the in-graph normalisation before the QuantStub (float, as
an eager-mode user would), trains one epoch with the default QAT qconfig of the onednn
engine and warboy qat's default recipe (SGD momentum 0.9, lr 0.01 cosine, batch 64, data
shuffled with --seed), freezes the observers, converts to int8 and evaluates on the 10,000
test images. Debian's python3-torch 1.13:

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/qat_unseen_torch.py testdata/qat_unseen/prep.onnx [SEED]
"""
import math
import sys
import time

import onnx
import torch
import torch.ao.quantization as tq
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

import fmnist
from make_qat_unseen import Prep


class QPrep(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.q, self.dq = tq.QuantStub(), tq.DeQuantStub()
        self.c1, self.c2, self.c3, self.c4, self.fc = p.c1, p.c2, p.c3, p.c4, p.fc
        self.leaky, self.tanh, self.relu6 = nn.LeakyReLU(0.1), nn.Tanh(), nn.ReLU6()

    def forward(self, x):
        x = self.q((x - 0.2860) / 0.3530)
        x = self.leaky(self.c1(x))
        x = self.tanh(self.c2(x))
        x = self.relu6(self.c3(x))
        x = torch.clamp(self.c4(x), -1.0, 4.0)
        return self.dq(self.fc(torch.flatten(x, 1)))


def accuracy(net, x, y):
    with torch.no_grad():
        return sum((net(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item() for i in range(0, len(x), 500)) / len(x)


def main():
    path = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.set_num_threads(1)
    torch.backends.quantized.engine = "onednn"
    xtr, ytr = (torch.from_numpy(a) for a in fmnist.load_split(fmnist.DEFAULT_DIR, "train"))
    xte, yte = (torch.from_numpy(a) for a in fmnist.load_split(fmnist.DEFAULT_DIR, "t10k"))
    p = Prep()
    p.load_state_dict({t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer})
    p.eval()
    print("float32: %.2f %%" % (100 * accuracy(p, xte, yte)), flush=True)
    net = QPrep(p).train()
    net.qconfig = tq.get_default_qat_qconfig("onednn")
    tq.prepare_qat(net, inplace=True)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    steps = math.ceil(len(xtr) / 64)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(seed))
    t0 = time.time()
    for s in range(0, len(xtr), 64):
        idx = perm[s:s + 64]
        loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    print("epoch: %.1f s (1 thread)" % (time.time() - t0), flush=True)
    net.eval()
    net.apply(tq.disable_observer)
    print("fake-quant: %.2f %%" % (100 * accuracy(net, xte, yte)), flush=True)
    q = tq.convert(net)
    print("PyTorch eager QAT int8 (onednn, seed %d): %.2f %%" % (seed, 100 * accuracy(q, xte, yte)), flush=True)


if __name__ == "__main__":
    main()
