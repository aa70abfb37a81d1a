"""The --audio export set of scripts/export_benchmodels.py (tenth session).

1-D convolution networks as audio and sequence code writes them, random
weights, batch 1, written to out/bench-models-audio/ unless --out is given:

- tcn: a temporal convolutional network (Bai et al. 2018): TemporalBlocks of
  two weight-normed dilated causal Conv1d (padding (k-1)*d on both sides, then
  Chomp1d: a Slice dropping the right padding), ReLU, a 1x1 downsample on the
  residual where the width changes; dilations 1..32; mean over time and a
  Linear head. Input [1, 40, 400] (40 filterbank features, 4 s at 10 ms),
  opset 13.
- tcn_dynlen: the same with a symbolic length (dynamic axis 2 "length").
- wav2vec_fe: a wav2vec 2.0-style feature encoder on a raw 1 s waveform
  [1, 1, 16000]: seven Conv1d (kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2,
  no bias), GroupNorm with one group per channel after the first (torch.onnx:
  Reshape -> InstanceNormalization -> Reshape -> Mul -> Add), GELU (Erf)
  after each; then the feature projection (Transpose, LayerNorm, Linear).
  256 channels (wav2vec 2.0 base has 512); opset 13, and wav2vec_fe_op11.

Each model gets DIR/NAME.onnx (symbolic ones in DIR/dynamic/), DIR/data/NAME/
s{0..3}.npy, DIR/data/NAME.in.npy and a line of DIR/manifest.txt, the layout
scripts/sweep_exports.sh reads (as --unseen3 writes it).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

nn = torch.nn

AUDIO_MODELS = ["tcn", "tcn_dynlen", "wav2vec_fe", "wav2vec_fe_op11"]


class Chomp1d(nn.Module):
    """Drops the right padding of a causal convolution (the TCN reference code)."""

    def __init__(self, chomp):
        super().__init__()
        self.chomp = chomp

    def forward(self, x):
        return x[:, :, :-self.chomp].contiguous()


class TemporalBlock(nn.Module):
    def __init__(self, i, o, k, d):
        super().__init__()
        pad = (k - 1) * d
        wn = nn.utils.weight_norm
        self.net = nn.Sequential(
            wn(nn.Conv1d(i, o, k, padding=pad, dilation=d)), Chomp1d(pad), nn.ReLU(), nn.Dropout(0.1),
            wn(nn.Conv1d(o, o, k, padding=pad, dilation=d)), Chomp1d(pad), nn.ReLU(), nn.Dropout(0.1))
        self.down = nn.Conv1d(i, o, 1) if i != o else None
        self.relu = nn.ReLU()

    def forward(self, x):
        res = x if self.down is None else self.down(x)
        return self.relu(self.net(x) + res)


class TCN(nn.Module):
    def __init__(self, cin=40, widths=(64, 64, 96, 96, 128, 128), k=3, classes=12):
        super().__init__()
        blocks, i = [], cin
        for level, o in enumerate(widths):
            blocks.append(TemporalBlock(i, o, k, 2 ** level))
            i = o
        self.tcn = nn.Sequential(*blocks)
        self.fc = nn.Linear(i, classes)

    def forward(self, x):
        return self.fc(self.tcn(x).mean(2))


class Wav2VecFeatureEncoder(nn.Module):
    """wav2vec 2.0's conv feature extractor ("group_norm" mode) and feature projection."""

    def __init__(self, dim=256, proj=384):
        super().__init__()
        spec = [(10, 5)] + [(3, 2)] * 4 + [(2, 2)] * 2
        layers, i = [], 1
        for j, (k, s) in enumerate(spec):
            layers.append(nn.Conv1d(i, dim, k, stride=s, bias=False))
            if j == 0:
                layers.append(nn.GroupNorm(dim, dim, affine=True))
            layers.append(nn.GELU())
            i = dim
        self.conv = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, proj)

    def forward(self, x):
        h = self.conv(x).transpose(1, 2)
        return self.proj(self.norm(h))


def randomize(model):
    """Random affine GroupNorm/LayerNorm parameters (the defaults are 1 and 0)."""
    g = torch.Generator().manual_seed(5)
    for m in model.modules():
        if isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            with torch.no_grad():
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
    return model.eval()


def build(arch):
    """arch -> (model, example input)."""
    torch.manual_seed(0)
    if arch == "tcn":
        return randomize(TCN()), torch.randn(1, 40, 400)
    if arch == "wav2vec_fe":
        t = torch.arange(16000, dtype=torch.float32) / 16000
        wave = 0.3 * torch.sin(2 * torch.pi * 220 * t) + 0.05 * torch.randn(16000)
        return randomize(Wav2VecFeatureEncoder()), wave.reshape(1, 1, 16000)
    raise ValueError(f"unknown --audio model {arch}")


def parse(name):
    """NAME -> (architecture, opset, symbolic length)."""
    dyn = name.endswith("_dynlen")
    base = name[:-len("_dynlen")] if dyn else name
    arch, sep, tail = base.rpartition("_op")
    if sep and tail.isdigit():
        return arch, int(tail), dyn
    return base, 13, dyn


def export_one(name, out):
    arch, opset, dyn = parse(name)
    model, x = build(arch)
    outdir = os.path.join(out, "dynamic") if dyn else out
    os.makedirs(outdir, exist_ok=True)
    path = exportlib.torch_export(model, (x,), os.path.join(outdir, name + ".onnx"), opset, ["input"], ["output"],
                                  {"input": {2: "length"}} if dyn else None)
    # Samples 1..3: plus noise of a tenth of the input's largest magnitude.
    exportlib.write_sweep_data(out, name, x, dyn, exportlib.noise_rel32(0.1))
    print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB, opset {opset}", flush=True)


def main(args):
    """Export args.models (default AUDIO_MODELS) to args.out (default
    out/bench-models-audio); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, AUDIO_MODELS), export_one,
                                args.out or "out/bench-models-audio")
