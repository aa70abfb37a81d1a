#!/usr/bin/python3
"""Fashion-MNIST networks for the fifteenth session's QAT generality audit
(docs/quantizer.md, "QAT on unseen architectures (fifteenth session)"), committed in
testdata/qat_unseen15/ so that the tests need no Python.

Float models, for `warboy qat` (trained briefly in float: Adam lr 2e-3, batch 64, seed 0,
EPOCHS epochs on the first N training images):

  mbv2_op11  MobileNetV2-style: depthwise 3x3 + pointwise 1x1, ReLU6 (Clip with constant
             min/max inputs), inverted residual Add, BatchNormalization NOT fused (exported
             with TrainingMode.PRESERVE), every Conv weight fed through an Identity node;
             opset 11.
  gconv_op13 grouped 3x3 convs (groups 4), HardSwish (x * HardSigmoid at opset 13), SiLU
             (Sigmoid * x), a Sigmoid spatial gate, AvgPool2d(3, 1, 1) with padding counted,
             two branches joined by Concat, a MatMul head (x @ W + b) then BatchNorm1d
             (kept as BatchNormalization by the exporter; its BatchNorm2d is folded into the
             Conv, the default export) and a Gemm; opset 13.
  se_op11    squeeze-excite (GlobalAveragePool -> 1x1 Conv -> Relu -> 1x1 Conv -> Sigmoid ->
             Mul), AvgPool2d(2) downsampling, a Conv with unfused BatchNormalization, a
             ReduceMean head (x.mean((2, 3))), Linear; opset 11.

PyTorch eager-mode QAT models (torch.ao.quantization: fuse_modules_qat of Conv-BN-ReLU,
Conv-BN; prepare_qat; 1 QAT epoch; convert), exported by torch.onnx at
opset 13 as the converted int8 model (QuantizeLinear/DequantizeLinear around float
operators, int8 weights, int32 biases):

  tq_mbnet_onednn   Conv-BN-ReLU stem, depthwise Conv-BN-ReLU, pointwise Conv-BN, a
                    FloatFunctional residual add, Hardswish, AvgPool2d, a Conv-BN-ReLU /
                    Conv-BN-ReLU pair joined by FloatFunctional.cat, Linear-ReLU, Linear;
                    qconfig get_default_qat_qconfig("onednn") (per-channel symmetric
                    weights, activations 0..255).
  tq_mbnet_fbgemm   the same network with get_default_qat_qconfig("fbgemm")
                    (per-channel weights, activations reduce_range 0..127), converted
                    and run by PyTorch on the onednn engine (Debian's torch has no fbgemm).
  tq_mbnet_fq       the onednn recipe, exported before convert (plain FakeQuantize
                    modules: QuantizeLinear -> DequantizeLinear around float weights).

Each NAME.onnx comes with NAME.json: PyTorch's accuracy on the 10,000 test images
(float before QAT, the exported model's, and that of the model PyTorch's convert makes,
run by PyTorch's int8 kernels on the onednn engine) and their per-image predictions.

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/make_qat_unseen15.py OUTDIR [N] [EPOCHS] [NAMES...]
"""
import json
import os
import sys

import onnx
import torch
import torch.ao.quantization as tq
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402


def cbn(cin, cout, k, s=1, g=1):
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout)]


class InvRes(nn.Module):
    def __init__(self, cin, cout, s, e):
        super().__init__()
        h = cin * e
        self.body = nn.Sequential(*cbn(cin, h, 1), nn.ReLU6(), *cbn(h, h, 3, s, h), nn.ReLU6(), *cbn(h, cout, 1))
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


class MBV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(*cbn(1, 16, 3, 2), nn.ReLU6(),           # 14x14
                               InvRes(16, 16, 1, 2), InvRes(16, 24, 2, 3),  # 7x7
                               InvRes(24, 24, 1, 3), *cbn(24, 64, 1), nn.ReLU6())
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.f(x), 1), 1))


class GConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*cbn(1, 16, 3), nn.Hardswish())                          # 28x28
        self.a = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1, groups=4), nn.SiLU())            # 14x14
        self.b = nn.Sequential(nn.AvgPool2d(3, 1, 1), nn.Conv2d(16, 16, 1, 2), nn.Hardswish())
        self.gate = nn.Conv2d(48, 1, 3, 1, 1)
        self.c = nn.Sequential(nn.Conv2d(48, 48, 3, 2, 1, groups=4), nn.BatchNorm2d(48), nn.ReLU())  # 7x7
        self.w = nn.Parameter(torch.randn(48 * 4 * 4, 64) * (48 * 16) ** -0.5)
        self.b1 = nn.Parameter(torch.zeros(64))
        self.bn1 = nn.BatchNorm1d(64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem(x)
        y = torch.cat([self.a(x), self.b(x)], 1)
        y = y * torch.sigmoid(self.gate(y))
        y = F.avg_pool2d(self.c(y), 2, 2, 1)                               # 4x4, padding counted
        y = torch.flatten(y, 1) @ self.w + self.b1
        return self.fc(F.relu(self.bn1(y)))


class SE(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Sequential(nn.Conv2d(1, 24, 3, 1, 1), nn.ReLU(), nn.AvgPool2d(2))   # 14x14
        self.s1 = nn.Conv2d(24, 6, 1)
        self.s2 = nn.Conv2d(6, 24, 1)
        self.c2 = nn.Sequential(nn.Conv2d(24, 48, 3, 1, 1), nn.BatchNorm2d(48), nn.ReLU(), nn.AvgPool2d(2))  # 7x7
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.c1(x)
        s = torch.sigmoid(self.s2(F.relu(self.s1(F.adaptive_avg_pool2d(x, 1)))))
        return self.fc(self.c2(x * s).mean((2, 3)))


# ------------------------------------------------------------------ eager QAT

class TQMBNet(nn.Module):
    """A quantizable MobileNet-like net for eager-mode QAT."""

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())  # 14x14
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.pw = nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.add = nn.quantized.FloatFunctional()
        self.hs = nn.Hardswish()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.se1 = nn.Sequential(nn.Conv2d(16, 8, 1), nn.ReLU())
        self.se2 = nn.Conv2d(8, 16, 1)
        self.gate = nn.Hardsigmoid()
        self.mul = nn.quantized.FloatFunctional()
        self.pool = nn.AvgPool2d(2)                                                                    # 7x7
        self.br1 = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, groups=4, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.br2 = nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.cat = nn.quantized.FloatFunctional()
        self.flat = nn.Flatten()
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.stem(self.quant(x))
        x = self.hs(self.add.add(x, self.pw(self.dw(x))))
        x = self.pool(self.mul.mul(x, self.gate(self.se2(self.se1(self.gap(x))))))
        x = self.cat.cat([self.br1(x), self.br2(x)], 1)
        return self.dequant(self.fc2(self.relu(self.fc1(self.flat(x)))))

    def fuse(self):
        tq.fuse_modules_qat(self, [["stem.0", "stem.1", "stem.2"], ["dw.0", "dw.1", "dw.2"], ["pw.0", "pw.1"], ["se1.0", "se1.1"],
                                   ["br1.0", "br1.1", "br1.2"], ["br2.0", "br2.1", "br2.2"]],
                            inplace=True)


def plain_fake_quant(qconfig):
    """The qconfig's observers with the plain FakeQuantize module, which torch.onnx exports
    (the default QAT qconfigs use the fused observer+fake-quant op, which it does not)."""
    a, w = qconfig.activation(), qconfig.weight()
    act = tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=a.quant_min,
                                    quant_max=a.quant_max, dtype=a.dtype, qscheme=a.qscheme,
                                    reduce_range=False)
    wt = tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=w.quant_min,
                                   quant_max=w.quant_max, dtype=w.dtype, qscheme=w.qscheme, ch_axis=w.ch_axis)
    return tq.QConfig(activation=act, weight=wt)


def train(net, x, y, epochs, opt, seed, sched=None):
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(x), generator=g)
        for s in range(0, len(x), 64):
            idx = perm[s:s + 64]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()


def float_optimizer(net, epochs, n):
    """The float models' optimizer: Adam at 2e-3, or with RECIPE=onecycle in the environment
    the bundled models' recipe (AdamW, one-cycle schedule peaking at 3e-3), which ends
    annealed as a converged model does (docs/quantizer.md, "QAT, the learning-rate rule on
    unseen architectures")."""
    if os.environ.get("RECIPE") == "onecycle":
        opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
        steps = epochs * ((n + 63) // 64)
        return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    return torch.optim.Adam(net.parameters(), 2e-3), None


def predictions(net, x):
    net.eval()
    with torch.no_grad():
        return torch.cat([net(x[s:s + 500]).argmax(1) for s in range(0, len(x), 500)])


def accuracy(pred, y):
    return (pred == y).float().mean().item()


def identity_weights(path):
    """Route every Conv weight through an Identity node, as some exporters write them."""
    m = onnx.load(path)
    nodes = []
    for n in m.graph.node:
        if n.op_type == "Conv":
            src = n.input[1]
            w = src + "_identity"
            nodes.append(helper.make_node("Identity", [src], [w], name="Identity_" + src))
            n.input[1] = w
        nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


# name: (class, opset, Identity-fed conv weights, BatchNormalization kept unfused)
FLOAT = {"mbv2_op11": (MBV2, 11, True, True), "gconv_op13": (GConv, 13, False, False), "se_op11": (SE, 11, False, True)}
TQ = {"tq_mbnet_onednn": ("onednn", True), "tq_mbnet_fbgemm": ("fbgemm", True), "tq_mbnet_fq": ("onednn", False)}


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 12000
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    names = sys.argv[4:] or list(FLOAT) + list(TQ)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    torch.backends.quantized.engine = "onednn"
    d = fmnist.DEFAULT_DIR
    xtr, ytr = (torch.from_numpy(a) for a in fmnist.load_split(d, "train"))
    xte, yte = (torch.from_numpy(a) for a in fmnist.load_split(d, "t10k"))
    xtr, ytr = xtr[:n], ytr[:n]
    axes = {"input": {0: "N"}, "logits": {0: "N"}}
    for name in names:
        torch.manual_seed(0)
        path = os.path.join(out, name + ".onnx")
        if name in FLOAT:
            cls, opset, identity, keep_bn = FLOAT[name]
            net = cls()
            opt, sched = float_optimizer(net, epochs, len(xtr))
            train(net, xtr, ytr, epochs, opt, 0, sched)
            net.eval()
            acc = accuracy(predictions(net, xte), yte)
            # TrainingMode.PRESERVE keeps BatchNormalization nodes (in inference form: the
            # net is in eval mode) where the default export folds them into the Conv
            mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
            torch.onnx.export(net, xte[:1], path, opset_version=opset, input_names=["input"],
                              output_names=["logits"], dynamic_axes=axes, do_constant_folding=False,
                              training=mode)
            if identity:
                identity_weights(path)
            info = {"float_accuracy": acc}
        else:
            qc, convert = TQ[name]
            net = TQMBNet()
            train(net, xtr, ytr, epochs, torch.optim.Adam(net.parameters(), 2e-3), 0)
            fp32 = accuracy(predictions(net, xte), yte)
            net.train()
            net.fuse()
            qconfig = tq.get_default_qat_qconfig(qc)
            net.qconfig = qconfig if convert else plain_fake_quant(qconfig)
            tq.prepare_qat(net, inplace=True)
            train(net, xtr, ytr, 1, torch.optim.SGD(net.parameters(), 0.005, momentum=0.9), 1)
            net.eval()
            net.apply(tq.disable_observer)
            fake = accuracy(predictions(net, xte), yte)
            converted = tq.convert(net, inplace=False)
            int8 = predictions(converted, xte)
            if convert:
                net = converted
            pred = predictions(net, xte)
            torch.onnx.export(net, xte[:1], path, opset_version=13, input_names=["input"],
                              output_names=["logits"], dynamic_axes=axes)
            info = {"qconfig": qc, "converted": convert, "float_accuracy": fp32, "fake_quant_accuracy": fake,
                    "accuracy": accuracy(pred, yte), "predictions": pred.tolist(),
                    "pytorch_int8_accuracy": accuracy(int8, yte), "pytorch_int8_predictions": int8.tolist()}
        info.update({"train_images": n, "float_epochs": epochs, "torch": torch.__version__,
                     "test_images": len(xte)})
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(info, f)
        print(name, os.path.getsize(path), "bytes", {k: v for k, v in info.items() if k != "predictions"}, flush=True)


if __name__ == "__main__":
    main()
