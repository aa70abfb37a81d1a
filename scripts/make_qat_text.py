#!/usr/bin/python3
"""A text classifier on token ids for `warboy qat` (docs/quantizer.md, "QAT of text
models on token ids"): nn.Embedding as torch.onnx writes it (Gather of the table by the
int64 input), learned positions, one pre-norm self-attention block (2 heads of 16, a GELU
MLP of 64) written as primitive operators at opset 13, mean over tokens, a linear head.

The task: 16 tokens from a vocabulary of 200; class c (of 4) has the keywords
20c+10 ... 20c+19; a sequence of class c holds 2-4 of its keywords, at most one keyword of
another class, and filler tokens 100-199 elsewhere.

  OUT/text_cls.onnx      input ids int64 [batch,16], output logits [batch,4], trained
                         --epochs (AdamW 3e-3, batch 64) on the TRAIN samples
  OUT/train/ids.npy      [TRAIN,16] int64 and labels.txt ("ids.npy LABEL...")
  OUT/test/ids.npy       [TEST,16] and labels.txt (other samples of the same task)

With --mask, as BERT exports are: sequences of 6-16 tokens padded with id 0 to 16, a
second int64 input "mask" (1 on tokens, 0 on padding) added to the attention scores as
(1 - mask) * -10000 and weighting the mean over tokens; the splits are OUT/*/batch.npz
(arrays ids and mask) with their labels.txt. With --causal, each token attends to itself
and the tokens before it (torch.where(future, -1e4, scores): a Where node) and the mean is
taken of torch.maximum(x, 0) (a Max node). With --cnn the model is a TextCNN instead
(embedding, Conv1d + BatchNorm1d + ReLU, a strided depthwise Conv1d, max over time).
With --rnn lstm, gru or rnn it is a recurrent classifier (embedding, a bidirectional
nn.LSTM, nn.GRU or nn.RNN (tanh) of hidden 48 with batch_first=True, the two directions' last states
concatenated, a linear head): torch.onnx writes a sequence-first LSTM/GRU/RNN between
Transposes, its initial state a zero tensor of the batch's size.

Debian's python3-torch 1.13:

  /usr/bin/python3 scripts/make_qat_text.py OUT [--train 8000] [--test 2000] [--epochs 2]

testdata/exported/text_cls_opset13.onnx is OUT/text_cls.onnx of
`make_qat_text.py OUT --train 512 --test 256 --epochs 8 --seed 0` (84.38 % on its test split), and
testdata/exported/npy_text and npy_text_test are its OUT/train and OUT/test (the qat tests' text model and data);
testdata/exported/textmask_cls_opset13.onnx, npz_textmask and npz_textmask_test are the same with --mask
(90.23 % on its test split); textlstm_cls_opset13.onnx and textgru_cls_opset13.onnx are OUT/text_cls.onnx
of the same command with --rnn lstm (82.03 %) and --rnn gru (86.33 %), on the same data as npy_text.
"""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, T, CLASSES = 200, 16, 4


def make_data(n, rng):
    ids = rng.integers(100, VOCAB, size=(n, T))
    labels = rng.integers(0, CLASSES, size=n)
    for i in range(n):
        c = labels[i]
        k = rng.integers(2, 5)
        pos = rng.choice(T, size=k + 1, replace=False)
        ids[i, pos[:k]] = 20 * c + 10 + rng.integers(0, 10, size=k)
        if rng.random() < 0.5:
            other = (c + rng.integers(1, CLASSES)) % CLASSES
            ids[i, pos[k]] = 20 * other + 10 + rng.integers(0, 10)
    return ids.astype(np.int64), labels.astype(np.int64)


def pad(ids, rng):
    """Cuts each sequence to a random length of 6-16 tokens, pads it with id 0 and
    returns the ids and the attention mask (1 on tokens, 0 on padding); a keyword
    cut off is put back at a kept position, so that the label still holds."""
    ids = ids.copy()
    mask = np.ones_like(ids)
    for i in range(len(ids)):
        n = int(rng.integers(6, T + 1))
        keys = [t for t in ids[i] if t < 100]
        ids[i, n:] = 0
        mask[i, n:] = 0
        kept = [t for t in ids[i, :n] if t < 100]
        lost = keys[len(kept):] if len(kept) < len(keys) else []
        free = [j for j in range(n) if ids[i, j] >= 100]
        for t, j in zip(lost, free):
            ids[i, j] = t
    return ids, mask


class TextClassifier(nn.Module):
    def __init__(self, d=32, heads=2, causal=False):
        super().__init__()
        self.causal = causal
        self.emb = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.zeros(1, T, d))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 64), nn.Linear(64, d)
        self.head = nn.Linear(d, CLASSES)
        self.h, self.dh = heads, d // heads

    def forward(self, ids, mask=None):
        x = self.emb(ids) + self.pos
        b = x.shape[0]
        q, k, v = self.qkv(self.ln1(x)).reshape(b, T, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        s = q @ k.transpose(-1, -2) / self.dh ** 0.5
        if mask is not None:
            # as BERT exports write it: (1 - mask) * -10000 added to the scores
            s = s + (1.0 - mask[:, None, None, :].to(s.dtype)) * -10000.0
        if self.causal:
            # as GPT-2 style attention writes it: a Where on the scores
            future = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
            s = torch.where(future, torch.tensor(-1e4), s)
        a = torch.softmax(s, dim=-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(b, T, -1))
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        if self.causal:
            x = torch.maximum(x, torch.zeros(()))
        if mask is None:
            return self.head(x.mean(1))
        m = mask[:, :, None].to(x.dtype)
        return self.head((x * m).sum(1) / m.sum(1))


class TextCNN(nn.Module):
    """Kim's TextCNN: embedding, a 1-D convolution of width 3 with BatchNorm1d and
    ReLU, a strided depthwise 1-D convolution, the max over time, a linear head."""

    def __init__(self, d=32):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.conv1, self.bn1 = nn.Conv1d(d, 64, 3, padding=1), nn.BatchNorm1d(64)
        self.conv2 = nn.Conv1d(64, 64, 3, stride=2, padding=1, groups=64)
        self.head = nn.Linear(64, CLASSES)

    def forward(self, ids):
        x = self.emb(ids).transpose(1, 2)
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        return self.head(F.adaptive_max_pool1d(x, 1).flatten(1))


class RNNClassifier(nn.Module):
    """Embedding, a bidirectional LSTM, GRU or RNN over the tokens, both
    directions' final hidden states, a linear head."""

    def __init__(self, kind, d=32, hidden=48):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
        self.rnn = cell(d, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, CLASSES)

    def forward(self, ids):
        _, h = self.rnn(self.emb(ids))
        if isinstance(h, tuple):
            h = h[0]
        return self.head(torch.cat([h[0], h[1]], dim=1))


def write_split(d, ids, labels, mask=None):
    os.makedirs(d, exist_ok=True)
    name = "ids.npy"
    if mask is None:
        np.save(os.path.join(d, name), ids)
    else:
        name = "batch.npz"
        np.savez(os.path.join(d, name), ids=ids, mask=mask)
    with open(os.path.join(d, "labels.txt"), "w") as f:
        f.write(name + " " + " ".join(str(int(v)) for v in labels) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--train", type=int, default=8000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mask", action="store_true", help="sequences of 6-16 tokens padded to 16, a second input 'mask'")
    ap.add_argument("--causal", action="store_true", help="a causal mask on the scores (Where) and torch.maximum(x, 0) before the mean")
    ap.add_argument("--cnn", action="store_true", help="a TextCNN (1-D convolutions, max over time) instead of attention")
    ap.add_argument("--rnn", choices=["lstm", "gru", "rnn"], help="a bidirectional LSTM, GRU or Elman RNN classifier instead of attention")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    torch.manual_seed(a.seed)
    xtr, ytr = make_data(a.train, rng)
    xte, yte = make_data(a.test, rng)
    mtr = mte = None
    if a.mask:
        xtr, mtr = pad(xtr, rng)
        xte, mte = pad(xte, rng)
    m = TextCNN() if a.cnn else RNNClassifier(a.rnn) if a.rnn else TextClassifier(causal=a.causal)

    def run(x, msk):
        return m(torch.from_numpy(x)) if msk is None else m(torch.from_numpy(x), torch.from_numpy(msk))
    opt = torch.optim.AdamW(m.parameters(), 3e-3)
    for ep in range(a.epochs):
        m.train()
        perm = torch.randperm(a.train)
        for i in range(0, a.train, 64):
            j = perm[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(run(xtr[j], None if mtr is None else mtr[j]), torch.from_numpy(ytr[j]))
            loss.backward()
            opt.step()
        m.eval()
        with torch.no_grad():
            acc = (run(xte, mte).argmax(1).numpy() == yte).mean()
        print(f"epoch {ep + 1}: loss {loss.item():.3f}, test {100 * acc:.2f} %")
    os.makedirs(a.outdir, exist_ok=True)
    if a.mask:
        torch.onnx.export(m, (torch.from_numpy(xte[:2]), torch.from_numpy(mte[:2])), os.path.join(a.outdir, "text_cls.onnx"),
                          opset_version=13, input_names=["ids", "mask"], output_names=["logits"],
                          dynamic_axes={"ids": {0: "batch"}, "mask": {0: "batch"}, "logits": {0: "batch"}})
    else:
        torch.onnx.export(m, torch.from_numpy(xte[:2]), os.path.join(a.outdir, "text_cls.onnx"), opset_version=13,
                          input_names=["ids"], output_names=["logits"],
                          dynamic_axes={"ids": {0: "batch"}, "logits": {0: "batch"}})
    write_split(os.path.join(a.outdir, "train"), xtr, ytr, mtr)
    write_split(os.path.join(a.outdir, "test"), xte, yte, mte)


if __name__ == "__main__":
    main()
