#!/usr/bin/python3
"""Makes testdata/models/fmnist_qat_torch.onnx: a small CNN trained on Fashion-MNIST,
fine-tuned with PyTorch 1.13 eager-mode QAT (onednn qconfig with the plain
FakeQuantize modules, which torch.onnx exports) and exported at opset 13 as
torch.onnx writes fake quantization: QuantizeLinear -> DequantizeLinear around the
float weights (per channel) and around activations (per tensor). Also writes
testdata/models/fmnist_qat_torch.json with PyTorch's own accuracy of the exported
fake-quant model on all 10,000 test images (what the int8 runtime must match).

  /usr/bin/python3 scripts/make_qat_testdata.py --data ../shared/data/fashion-mnist
"""
import argparse
import json
import os
import sys

import torch
import torch.ao.quantization as tq
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from qat_reference import evaluate, load_split  # noqa: E402


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, groups=2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.fc1(self.flat(x)))
        return self.dequant(self.fc2(x))


def train(net, x, y, epochs, lr, seed):
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    lossf = nn.CrossEntropyLoss()
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(x), generator=g)
        for s in range(0, len(x), 64):
            idx = perm[s:s + 64]
            loss = lossf(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/fashion-mnist")
    ap.add_argument("--out", default="testdata/models/fmnist_qat_torch.onnx")
    ap.add_argument("--train-n", type=int, default=10000)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.backends.quantized.engine = "onednn"
    xtr, ytr = load_split(args.data, "train")
    xtr, ytr = xtr[:args.train_n], ytr[:args.train_n]
    xte, yte = load_split(args.data, "t10k")
    net = Small()
    train(net, xtr, ytr, 2, 0.02, 0)
    fp32 = evaluate(net, xte, yte)
    net.train()
    tq.fuse_modules_qat(net, [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"]], inplace=True)
    # The plain FakeQuantize modules (not the fused observer+fake-quant op) export to ONNX.
    net.qconfig = tq.QConfig(
        activation=tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255),
        weight=tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-128,
                                         quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    tq.prepare_qat(net, inplace=True)
    train(net, xtr, ytr, 1, 0.005, 1)
    net.eval()
    net.apply(tq.disable_observer)  # frozen ranges: the observers' in-place updates do not export
    fake = evaluate(net, xte, yte)
    torch.onnx.export(net, xte[:1], args.out, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    int8 = evaluate(tq.convert(net.eval(), inplace=False), xte, yte)
    # Per-image predictions of the exported model, for an exact comparison.
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(xte[s:s + 500]).argmax(1) for s in range(0, len(xte), 500)]).tolist()
    info = {"fp32_accuracy": fp32, "fake_quant_accuracy": fake, "pytorch_int8_accuracy": int8,
            "test_images": len(xte), "torch": torch.__version__, "predictions": pred}
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(info, f)
    print({k: v for k, v in info.items() if k != "predictions"})


if __name__ == "__main__":
    main()
