#!/usr/bin/python3
"""Times one epoch of PyTorch training of testdata/models/fmnist_lstm.onnx's architecture
(Fashion-MNIST rows as a sequence, nn.LSTM hidden 128, Linear on the last state; float32,
SGD with momentum, no fake quantization: PyTorch 1.13's eager QAT has no LSTM) on the 60,000
training images, for the side-by-side with `warboy qat`'s epoch (docs/quantizer.md,
"Recurrent models (twenty-ninth session)"). Debian's python3-torch 1.13:

    FMNIST_DIR=../shared/data/fashion-mnist /usr/bin/python3 scripts/torch_lstm_epoch.py [BATCH] [THREADS]
"""
import sys
import time

import torch
import torch.nn as nn

import fmnist


class RowLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x.reshape(-1, 28, 28))
        return self.fc(h[-1])


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    xtr, ytr = (torch.from_numpy(a) for a in fmnist.load_split(fmnist.DEFAULT_DIR, "train"))
    m = RowLSTM()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    perm = torch.randperm(len(xtr))
    t0 = time.time()
    for i in range(0, len(xtr), batch):
        b = perm[i:i + batch]
        opt.zero_grad()
        nn.functional.cross_entropy(m(xtr[b]), ytr[b]).backward()
        opt.step()
    print("PyTorch float32 LSTM training, batch %d, %d threads: %.1f s for one epoch of %d images"
          % (batch, threads, time.time() - t0, len(xtr)))


if __name__ == "__main__":
    main()
