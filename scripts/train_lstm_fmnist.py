#!/usr/bin/env python3
"""Train a small LSTM classifier on Fashion-MNIST (each image read as a sequence of 28
rows of 28 pixels; LSTM hidden 128, then Linear on the last hidden state), export it to
ONNX (opset 13, symbolic batch, input [N, 1, 28, 28] = pixel/255 like the other bundled
models), and measure float accuracy and PyTorch's dynamic quantization
(torch.quantization.quantize_dynamic(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8))
on the 10,000 test images. testdata/models/fmnist_lstm.onnx is this script's output.

Debian's python3-torch 1.13:

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/train_lstm_fmnist.py OUT.onnx [EPOCHS]
"""
import sys
import time

import numpy as np
import torch
import torch.nn as nn

import fmnist

ROOT = fmnist.DEFAULT_DIR


class RowLSTM(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.lstm = nn.LSTM(28, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x.reshape(-1, 28, 28))
        return self.fc(h[-1])


def accuracy(model, x, y):
    with torch.no_grad():
        ok = sum((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item() for i in range(0, len(x), 500))
    return 100.0 * ok / len(x)


def main():
    out = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.manual_seed(0)
    torch.set_num_threads(2)
    xtr, ytr = (torch.from_numpy(a) for a in fmnist.load_split(ROOT, "train"))
    xte, yte = (torch.from_numpy(a) for a in fmnist.load_split(ROOT, "t10k"))
    model = RowLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
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
            if i // 128 % 100 == 0:
                print("  step %d loss %.3f (%.0f s)" % (i // 128, loss.item(), time.time() - t0), flush=True)
        model.eval()
        print("epoch %d: test accuracy %.2f %%" % (ep + 1, accuracy(model, xte, yte)), flush=True)
    model.eval()
    facc = accuracy(model, xte, yte)
    qmodel = torch.quantization.quantize_dynamic(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    qacc = accuracy(qmodel, xte, yte)
    print("float32 accuracy: %.2f %% (10000 test images)" % facc)
    print("PyTorch quantize_dynamic {LSTM, Linear} qint8 accuracy: %.2f %% (10000 test images)" % qacc)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    print("wrote", out)


if __name__ == "__main__":
    main()
