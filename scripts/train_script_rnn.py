#!/usr/bin/python3
"""Trains and exports a recurrent classifier scripted with torch.jit.script, for the
QAT measurements of docs/quantizer.md ("QAT through control flow", thirty-first
session): Fashion-MNIST read as 28 time steps of 28 pixels, a tanh cell (Linear on
the step and the state) whose every state is appended to a list, stacked and
averaged, then a Linear head. torch.onnx writes the recurrence as an ONNX Loop
(opset 13) with the list as a sequence; Adam, lr 2e-3, batch 64, seed 0, one
thread (about 7 s an epoch).

  /usr/bin/python3 scripts/train_script_rnn.py DATA OUT.onnx EPOCHS
"""
import gzip, sys, numpy as np, torch, torch.nn as nn
torch.manual_seed(0); torch.set_num_threads(1)
D = sys.argv[1]
def load(kind):
    with gzip.open(f"{D}/{kind}-images-idx3-ubyte.gz") as f: x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{D}/{kind}-labels-idx1-ubyte.gz") as f: y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.tensor(x, dtype=torch.float32) / 255, torch.tensor(y, dtype=torch.long)
xtr, ytr = load("train"); xte, yte = load("t10k")
class RowRNN(nn.Module):
    def __init__(s):
        super().__init__()
        s.lin = nn.Linear(28 + 48, 48)
        s.head = nn.Linear(48, 10)
    def forward(s, x):
        x = x[:, 0]
        h = torch.zeros(x.size(0), 48)
        outs = []
        for t in range(x.size(1)):
            h = torch.tanh(s.lin(torch.cat([x[:, t], h], 1)))
            outs.append(h)
        y = torch.stack(outs, 1).mean(1)
        return s.head(y)
m = RowRNN()
opt = torch.optim.Adam(m.parameters(), 2e-3)
for ep in range(int(sys.argv[3])):
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), 64):
        idx = perm[i:i+64]
        loss = nn.functional.cross_entropy(m(xtr[idx]), ytr[idx])
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        acc = (m(xte).argmax(1) == yte).float().mean().item()
    print(f"epoch {ep+1}: float test top-1 {100*acc:.2f}", flush=True)
s = torch.jit.script(m)
torch.onnx.export(s, torch.zeros(2, 1, 28, 28), sys.argv[2], opset_version=13, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
