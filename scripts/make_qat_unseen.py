#!/usr/bin/env python3
"""Small Fashion-MNIST networks of architectures `warboy qat` was not built on, exported the
way torch.onnx writes real models (testdata/qat_unseen/, committed; tests read them without
Python). docs/quantizer.md, "QAT on architectures outside the bundled set (eighth session)".

  mbv3      MobileNetV3-style: HardSwish, depthwise conv, squeeze-excite (GlobalAveragePool,
            1x1 convs, HardSigmoid, Mul), inverted residual; opset 14 (HardSwish node).
  inception Inception/ResNeXt-like: grouped 3x3 conv, four parallel branches joined by
            Concat, AveragePool, MaxPool with padding; opset 13.
  effnet    EfficientNet-like: SiLU (Sigmoid*x), BatchNormalization and Dropout kept
            (TrainingMode.PRESERVE), opset 10, x.view(x.size(0), -1) flatten
            (Shape->Gather->Unsqueeze->Concat->Reshape), conv weights fed through Identity
            nodes and the classifier's weight/bias as Constant nodes (as some exporters and
            onnx-simplifier-free pipelines write them).
  vit       tiny transformer: 7x7 patch conv, LayerNorm (decomposed at opset 13), two-head
            MatMul attention with Softmax, GELU (Erf), Transpose/Reshape, token mean;
            also written at opset 17 as vit_op17 (LayerNormalization node).
  mha       nn.MultiheadAttention (4 heads, in_proj as one MatMul, batched MatMuls),
            tanh-approximated GELU, max over tokens (ReduceMax); opset 13.
  prep      mean/std preprocessing in the graph (Sub/Div by constants at the input),
            LeakyRelu, Tanh and Clip (ReLU6) activations; opset 13.

Each is trained in float briefly (Adam lr 2e-3, batch 64, seed 0, EPOCHS epochs on the first
N training images) and evaluated on the 10,000 test images. With RECIPE=onecycle in the
environment the training is the bundled models' recipe instead (AdamW, one-cycle schedule
peaking at 3e-3, batch 64, seed 0), which ends annealed, as a converged model does: the
regime where the learning rate of a fine-tune matters (docs/quantizer.md, "QAT, the
learning-rate rule on unseen architectures"). Debian's python3-torch 1.13:

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/make_qat_unseen.py OUTDIR [N] [EPOCHS] [NAMES...]
"""
import os
import sys
import time

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper

import fmnist


def cbn(cin, cout, k, s=1, g=1):
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout)]


class SE(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class MBV3(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*cbn(1, 16, 3, 2), nn.Hardswish())  # 14x14
        self.expand = nn.Sequential(*cbn(16, 48, 1), nn.Hardswish())
        self.dw = nn.Sequential(*cbn(48, 48, 3, 1, 48), nn.Hardswish())
        self.se = SE(48, 12)
        self.project = nn.Sequential(*cbn(48, 16, 1))
        self.down = nn.Sequential(*cbn(16, 16, 3, 2, 16), nn.Hardswish(), *cbn(16, 32, 1), nn.Hardswish())  # 7x7
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.project(self.se(self.dw(self.expand(x))))
        x = self.down(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*cbn(1, 16, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1))  # 14x14
        self.b1 = nn.Sequential(*cbn(16, 8, 1), nn.ReLU())
        self.b2 = nn.Sequential(*cbn(16, 16, 1), nn.ReLU(), *cbn(16, 16, 3, 1, 4), nn.ReLU())  # ResNeXt grouped
        self.b3 = nn.Sequential(*cbn(16, 8, 1), nn.ReLU(), *cbn(8, 8, 5), nn.ReLU())
        self.b4 = nn.Sequential(nn.AvgPool2d(3, 1, 1), *cbn(16, 8, 1), nn.ReLU())
        self.post = nn.Sequential(nn.MaxPool2d(3, 2, 1), *cbn(40, 32, 3, 1, 4), nn.ReLU(), nn.AvgPool2d(2))  # 3x3
        self.fc = nn.Linear(32 * 3 * 3, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
        return self.fc(torch.flatten(self.post(x), 1))


class MBConv(nn.Module):
    def __init__(self, cin, cout, s, e):
        super().__init__()
        m = cin * e
        self.body = nn.Sequential(*cbn(cin, m, 1), nn.SiLU(), *cbn(m, m, 3, s, m), nn.SiLU(), *cbn(m, cout, 1))
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


class EffNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*cbn(1, 16, 3, 2), nn.SiLU())  # 14x14
        self.blocks = nn.Sequential(MBConv(16, 16, 1, 2), MBConv(16, 24, 2, 2), MBConv(24, 24, 1, 2))  # 7x7
        self.head = nn.Sequential(*cbn(24, 48, 1), nn.SiLU())
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.head(self.blocks(self.stem(x))), 1)
        return self.fc(self.drop(x.view(x.size(0), -1)))


class ViT(nn.Module):
    def __init__(self, d=32, heads=2):
        super().__init__()
        self.d, self.h = d, heads
        self.patch = nn.Conv2d(1, d, 7, 7)  # 4x4 tokens
        self.pos = nn.Parameter(torch.zeros(1, 16, d))
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp1 = nn.Linear(d, 2 * d)
        self.mlp2 = nn.Linear(2 * d, d)
        self.lnf = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2) + self.pos  # [N, 16, d]
        n, t, d = x.shape
        hd = d // self.h
        q, k, v = self.qkv(self.ln1(x)).reshape(n, t, 3, self.h, hd).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) * (hd ** -0.5), -1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(n, t, d))
        x = x + self.mlp2(F.gelu(self.mlp1(self.ln2(x))))
        return self.fc(self.lnf(x).mean(1))


class MHA(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        self.patch = nn.Conv2d(1, d, 7, 7)  # 4x4 tokens
        self.att = nn.MultiheadAttention(d, 4, batch_first=True)
        self.fc = nn.Linear(d, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        a, _ = self.att(x, x, x, need_weights=False)
        return self.fc(F.gelu(x + a, approximate="tanh").amax(1))


class Prep(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, 1, 1)
        self.c2 = nn.Conv2d(16, 32, 3, 2, 1)  # 14x14
        self.c3 = nn.Conv2d(32, 32, 3, 2, 1)  # 7x7
        self.c4 = nn.Conv2d(32, 32, 3, 2, 1)  # 4x4
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = (x - 0.2860) / 0.3530
        x = F.leaky_relu(self.c1(x), 0.1)
        x = torch.tanh(self.c2(x))
        x = F.relu6(self.c3(x))
        x = torch.clamp(self.c4(x), -1.0, 4.0)
        return self.fc(torch.flatten(x, 1))


MODELS = {"mbv3": (MBV3, 14), "inception": (Inception, 13), "effnet": (EffNet, 10), "vit": (ViT, 13), "mha": (MHA, 13), "prep": (Prep, 13)}
# the same trained weights written again at another opset
EXTRA_OPSETS = {"vit": [17]}


def identity_weights_and_constants(path):
    """Route every Conv weight through an Identity node and turn the Gemm's initializers
    into Constant nodes, as some exporters write them; keep a Dropout before the classifier."""
    m = onnx.load(path)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    new_nodes = []
    for node in g.node:
        if node.op_type == "Conv" and node.input[1] in inits:
            w = node.input[1]
            src = w + "_src"
            inits[w].name = src
            new_nodes.append(helper.make_node("Identity", [src], [w], name="Identity_" + w))
        if node.op_type == "Gemm":
            # torch drops Dropout from an eval-mode export; exporters of training graphs keep it.
            x = node.input[0]
            node.input[0] = x + "_dropout"
            new_nodes.append(helper.make_node("Dropout", [x], [x + "_dropout"], name="Dropout_" + x, ratio=0.2))
            for name in node.input[1:]:
                if name in inits:
                    t = inits.pop(name)
                    g.initializer.remove(t)
                    new_nodes.append(helper.make_node("Constant", [], [name], name="Constant_" + name, value=t))
        new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    names = sys.argv[4:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    root = fmnist.DEFAULT_DIR
    xtr, ytr = (torch.from_numpy(a[:n]) for a in fmnist.load_split(root, "train"))
    xte, yte = (torch.from_numpy(a) for a in fmnist.load_split(root, "t10k"))
    for name in names:
        cls, opset = MODELS[name]
        torch.manual_seed(0)
        model = cls()
        steps = epochs * ((len(xtr) + 63) // 64)
        if os.environ.get("RECIPE") == "onecycle":
            opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=2e-3)
            sched = None
        t0 = time.time()
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(len(xtr))
            for i in range(0, len(xtr), 64):
                b = perm[i:i + 64]
                opt.zero_grad()
                loss = F.cross_entropy(model(xtr[b]), ytr[b])
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item() for i in range(0, len(xte), 500))
        path = os.path.join(out, name + ".onnx")
        kw = {}
        if name == "effnet":
            kw["training"] = torch.onnx.TrainingMode.PRESERVE
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=opset, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, **kw)
        if name == "effnet":
            identity_weights_and_constants(path)
        paths = [path]
        for op in EXTRA_OPSETS.get(name, []):
            paths.append(os.path.join(out, "%s_op%d.onnx" % (name, op)))
            torch.onnx.export(model, torch.zeros(1, 1, 28, 28), paths[-1], opset_version=op, input_names=["input"],
                              output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, **kw)
        for p in paths:
            ops = sorted({nd.op_type for nd in onnx.load(p).graph.node})
            print("%s: float test accuracy %.2f %% (%d train images, %d epochs, %.0f s), %d bytes, ops %s" % (
                os.path.basename(p), acc / 100, len(xtr), epochs, time.time() - t0, os.path.getsize(p), " ".join(ops)), flush=True)


if __name__ == "__main__":
    main()
