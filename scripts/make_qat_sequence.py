#!/usr/bin/python3
"""A sequence model for the label-free check of `warboy qat --loss outputs`
(docs/quantizer.md, "QAT without labels"): a small transformer encoder whose output is a
sequence ([batch, 28, 10]: one row of class scores per token), written by torch.onnx at
opset 13 (LayerNorm, GELU and attention as their primitive operators).

Each Fashion-MNIST image is read as a sequence of its 28 rows (28 pixels each): a linear
embedding with learned positions, two pre-norm encoder blocks (2 heads of 16, GELU MLP of
64), and a per-token linear head. Every token is trained on the image's class; the
sequence's prediction is the mean of its tokens' scores.

  OUT/float.onnx  input [batch,1,28,28] (pixel/255), output token_scores [batch,28,10],
                  trained --epochs on the 60,000 training images (AdamW one-cycle 3e-3,
                  batch 128)

--score MODEL.onnx runs MODEL on the 10,000 test images with `warboy run` (--warboy BIN;
int8 for a quantized model) and prints one JSON line: the accuracy of the sequence
prediction, and of the tokens taken one by one. Debian's python3-torch 1.13:

  /usr/bin/python3 scripts/make_qat_sequence.py OUT
  /usr/bin/python3 scripts/make_qat_sequence.py OUT --score OUT/float.onnx --warboy ./warboy

testdata/exported/seq_tagger_opset13.onnx (the qat tests' sequence model) is OUT/float.onnx
of `make_qat_sequence.py OUT --epochs 1` (83.25 % sequence accuracy).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

D, HEADS, FF, CLASSES, T = 32, 2, 64, 10, 28


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc1, self.fc2 = nn.Linear(D, FF), nn.Linear(FF, D)

    def forward(self, x):
        n = x.shape[0]
        q, k, v = self.qkv(self.ln1(x)).reshape(n, T, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // HEADS), dim=-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(n, T, D))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(28, D)
        self.pos = nn.Parameter(torch.randn(1, T, D) * 0.02)
        self.blocks = nn.Sequential(Block(), Block())
        self.ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, CLASSES)

    def forward(self, x):
        x = self.embed(x.reshape(x.shape[0], T, 28)) + self.pos
        return self.head(self.ln(self.blocks(x)))


def accuracies(scores, y):
    seq = (scores.mean(axis=1).argmax(axis=1) == y).mean()
    tok = (scores.argmax(axis=2) == y[:, None]).mean()
    return float(seq), float(tok)


def build(a):
    torch.manual_seed(a.seed)
    xtr, ytr = fmnist.load_split(a.fmnist, "train")
    xte, yte = fmnist.load_split(a.fmnist, "t10k")
    x, y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    net = Tagger()
    steps = a.epochs * ((len(x) + 127) // 128)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(a.seed)
    for ep in range(a.epochs):
        net.train()
        perm = torch.randperm(len(x), generator=gen)
        t0, tot = time.time(), 0.0
        for s in range(0, len(x), 128):
            idx = perm[s:s + 128]
            out = net(x[idx])
            loss = F.cross_entropy(out.reshape(-1, CLASSES), y[idx].repeat_interleave(T))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        print(f"epoch {ep + 1}/{a.epochs}: loss {tot / len(x):.4f} ({time.time() - t0:.0f} s)", file=sys.stderr)
    net.eval()
    with torch.no_grad():
        seq, tok = accuracies(net(torch.from_numpy(xte)).numpy(), yte)
    print(json.dumps({"model": "float (PyTorch)", "sequence_accuracy": round(seq, 4), "token_accuracy": round(tok, 4)}))
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), os.path.join(a.out, "float.onnx"), opset_version=13,
                      input_names=["input"], output_names=["token_scores"],
                      dynamic_axes={"input": {0: "batch"}, "token_scores": {0: "batch"}})


def score(a):
    xte, yte = fmnist.load_split(a.fmnist, "t10k")
    with tempfile.TemporaryDirectory() as d:
        inp, res = os.path.join(d, "in.npy"), os.path.join(d, "out.npy")
        np.save(inp, xte)
        subprocess.run([a.warboy, "run", a.score, "--input", inp, "--output", res], check=True, stdout=subprocess.DEVNULL)
        seq, tok = accuracies(np.load(res), yte)
    print(json.dumps({"model": a.score, "sequence_accuracy": round(seq, 4), "token_accuracy": round(tok, 4)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--fmnist", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score", help="score this model on the test images")
    ap.add_argument("--warboy", default="warboy")
    a = ap.parse_args()
    if a.score:
        score(a)
    else:
        os.makedirs(a.out, exist_ok=True)
        build(a)


if __name__ == "__main__":
    main()
