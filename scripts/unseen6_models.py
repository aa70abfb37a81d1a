#!/usr/bin/python3
"""The --unseen6 export set (eleventh session): families and exporter spellings
none of the earlier sets has, for triage of the whole workflow (inspect, run
against ONNX Runtime, quantize, int8 against ONNX Runtime and against float32,
sim, bench).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen6 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen6_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]
    /usr/bin/python3 scripts/unseen6_models.py testdata [OUTDIR]     (cmd/warboy's EmbeddingBag test model)

Random weights (normalisation statistics randomised), nothing downloaded. Every
model NAME is written as DIR/NAME.onnx (default DIR out/bench-models-unseen6) with
four samples DIR/data/NAME/s{0..3}.npz (one array per input name), DIR/data/NAME.in.npz
(sample 0) and, for models with symbolic sizes, DIR/data/NAME.alt.npz (an input at
other sizes: the float and the int8 file must run there too).

The models (MODELS below; a suffix _opN is the export opset):
- slicenet_op9: opset 9, where Slice takes starts/ends/axes as attributes and
  Upsample its scales as an input: crops by slicing (x[..., 1:-1, 2:], a
  negative-end slice, a stepped slice), torch.chunk (Split by attribute),
  nn.Upsample nearest, Flatten + Gemm.
- slicenet_op10_dynhw: the same model at opset 10 (Slice with inputs and a step of 2;
  Resize-10 with scales only) with symbolic height and width.
- resize_modes_op11: F.interpolate with a `size` (Resize with a sizes input and
  an empty scales), bilinear align_corners=True and False, bicubic, nearest by
  size (asymmetric, floor), symbolic batch.
- googlenet_tin: torchvision GoogLeNet with transform_input=True (ImageNet
  mean/std re-normalisation baked in: per-channel Slice -> Mul -> Add -> Concat).
- uint8_nhwc: a uint8 [N, H, W, 3] image input (as a deployment graph takes a
  decoded image): Cast, Transpose to NCHW, /255, (x - mean) / std, a CNN; symbolic
  batch.
- yolox_head: a YOLOX-style decoupled head on a small backbone: Split/Concat
  heavy (per-level cls/reg/obj branches concatenated, flattened, permuted,
  split into xy/wh/obj/cls, decoded with a grid and Exp), one [1, A, 5+C] output.
- einsum_where: attention and projections written with torch.einsum
  ("bnc,dc->bnd", "bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd", "bhnd->bnhd"), a
  relative-position bias broadcast with Expand, a band mask applied with Where.
- mixer_gelu_tanh: an MLP-Mixer (token mixing through Transpose) with GELU in
  its tanh approximation, LayerNorm decomposed at opset 13 and a hand-written
  RMSNorm (Pow -> ReduceMean -> Add -> Sqrt -> Reciprocal -> Mul).
- kv_cache_step: one decoder step with a KV cache: inputs x [B, 1, 64] and
  past_key/past_value [B, H, P, D] with symbolic past length P, outputs the
  step's logits and present_key/present_value [B, H, P+1, D].
- crnn_ctc: a CRNN text recogniser: Conv/BN/ReLU/MaxPool (2x1 pools), height
  collapsed, a 2-layer bidirectional LSTM over the width, log_softmax over
  classes, output [T, N, C] as CTC takes it; symbolic width.
- siamese: two image inputs through one shared encoder (the same initializers
  used twice), L2-normalised embeddings, cosine similarity and |a - b| head.
- deconv_outpad: a decoder of ConvTranspose with output_padding (stride 2 and
  3), a grouped and a dilated ConvTranspose, PixelUnshuffle (space-to-depth
  as Reshape/Transpose) and PixelShuffle.
- grouped_dilated: grouped convolutions whose groups do not divide 16 (3, 5,
  6, 7 groups), depthwise with channel multiplier 2 (groups = C_in, C_out =
  2 C_in), dilations 2 and 3, a 5x5 kernel, an ASPP-like Concat.
- rnn_tanh_op14: plain (Elman) RNN cells, tanh bidirectional 2-layer and ReLU,
  symbolic batch and length (the ONNX RNN operator).
- stn_gridsample_op16: a spatial transformer: a localization net regresses an
  affine matrix, the grid is built by hand (torch.onnx cannot export
  F.affine_grid) and F.grid_sample resamples the image (GridSample, opset 16).
- acts_op17: HardSwish, Mish (Softplus/Tanh/Mul), Elu, Selu, Celu, GroupNorm and
  LayerNorm as opset 17 writes it (the LayerNormalization operator), HardSigmoid.
- scatter_cumsum: int64 tokens and an int64 0/1 mask: HF-style position ids by
  CumSum, two Embeddings, TopK, GatherElements, ScatterElements, an int64 output.
  (bench cpu needs --input for it: the mask indexes no table.)
- tconv1d: a 1-D encoder/decoder: grouped Conv1d, ConvTranspose1d with
  output_padding and groups, symbolic length.
- tf2onnx_op13: a graph built with onnx.helper as tf2onnx writes a Keras model
  (see tf2onnx_style()).
- flip_unfold: torch.flip (Slice with step -1), torch.roll, F.unfold (im2col by
  Gather/Pad/Reshape), argsort (TopK) and index_select.
- embbag_op13: nn.EmbeddingBag(mode="mean") with int64 tokens and offsets (a Loop
  over the bags); its samples hold each input whole behind a leading axis of 1.
- lrn_acts: LocalResponseNorm, Softsign, Hardtanh, LogSigmoid, Tanhshrink,
  Conv1d + InstanceNorm1d.
- dw_deconv: depthwise ConvTranspose (groups = channels, stride 2, with
  output_padding) + pointwise Conv, as light segmentation decoders write them.
- fp16_keepio: grouped_dilated in float16 as onnxconverter-common writes it with
  keep_io_types (see fp16_keepio()).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

MODELS = ["slicenet_op9", "slicenet_op10_dynhw", "resize_modes_op11", "googlenet_tin", "uint8_nhwc",
          "yolox_head", "einsum_where", "mixer_gelu_tanh", "kv_cache_step", "crnn_ctc", "siamese",
          "deconv_outpad", "grouped_dilated", "rnn_tanh_op14", "stn_gridsample_op16",
          "acts_op17", "scatter_cumsum", "tconv1d", "tf2onnx_op13", "flip_unfold", "embbag_op13", "lrn_acts",
          "dw_deconv", "fp16_keepio"]


def _torch():
    import torch
    return torch


def randomise_norms(model):
    """Random BatchNorm statistics and affines, random LayerNorm affines."""
    torch = _torch()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
            elif isinstance(m, torch.nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
    return model


def cbr(i, o, k=3, s=1, p=None, g=1, d=1):
    nn = _torch().nn
    return nn.Sequential(nn.Conv2d(i, o, k, s, (k // 2) * d if p is None else p, groups=g, dilation=d, bias=False),
                         nn.BatchNorm2d(o), nn.ReLU())


def slicenet(step=1):
    """step 2 adds a stepped slice (opset >= 10: torch.onnx cannot write one at 9)."""
    torch = _torch()
    nn = torch.nn

    class SliceNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = cbr(3, 16, s=2)
            self.c2 = cbr(16, 32, s=2)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.c3 = cbr(32, 16)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            a = self.c1(x)
            b = self.c2(a)
            u = self.up(b)[:, :, 1:-1, 1:-1]              # crop: negative end
            lo, hi = torch.chunk(u, 2, dim=1)              # Split by attribute at opset 9
            a2 = a[:, :, 1:-1, 1:-1]
            y = self.c3(torch.cat([lo * torch.sigmoid(hi), a2], 1))
            y = y[:, :, ::step, 1:]                        # an open end (and a step at opset 10)
            return self.fc(torch.cat([y.mean((2, 3)), torch.amax(y, (2, 3))], 1))

    return SliceNet()


def resize_modes():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class ResizeModes(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = cbr(3, 16, s=2)
            self.c2 = cbr(16, 16, s=2)
            self.head = nn.Conv2d(64, 4, 1)

        def forward(self, x):
            a = self.c1(x)                 # 48x48 at 96
            b = self.c2(a)                 # 24x24
            s = (40, 40)                   # sizes given, not scales
            r1 = F.interpolate(b, size=s, mode="bilinear", align_corners=True)
            r2 = F.interpolate(b, size=s, mode="bilinear", align_corners=False)
            r3 = F.interpolate(a, size=s, mode="bicubic", align_corners=False)
            r4 = F.interpolate(a, size=s, mode="nearest")
            return self.head(torch.cat([r1, r2, r3, r4], 1))

    return ResizeModes()


def uint8_nhwc():
    torch = _torch()
    nn = torch.nn

    class U8NHWC(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
            self.body = nn.Sequential(cbr(3, 24, s=2), cbr(24, 24, g=24), cbr(24, 48, k=1), cbr(48, 48, s=2),
                                      nn.AdaptiveAvgPool2d(1))
            self.fc = nn.Linear(48, 10)

        def forward(self, img):
            x = img.permute(0, 3, 1, 2).float() / 255.0
            x = (x - self.mean) / self.std
            return torch.softmax(self.fc(torch.flatten(self.body(x), 1)), dim=1)

    return U8NHWC()


def yolox_head():
    torch = _torch()
    nn = torch.nn

    class Head(nn.Module):
        def __init__(self, c, nc):
            super().__init__()
            self.stem = cbr(c, 32, k=1)
            self.cls = nn.Sequential(cbr(32, 32), nn.Conv2d(32, nc, 1))
            self.reg = cbr(32, 32)
            self.box = nn.Conv2d(32, 4, 1)
            self.obj = nn.Conv2d(32, 1, 1)

        def forward(self, x):
            s = self.stem(x)
            r = self.reg(s)
            return torch.cat([self.box(r), self.obj(r).sigmoid(), self.cls(s).sigmoid()], 1)

    class YOLOXHead(nn.Module):
        def __init__(self, nc=7):
            super().__init__()
            self.b1 = nn.Sequential(cbr(3, 16, s=2), cbr(16, 32, s=2), cbr(32, 32, s=2))   # /8
            self.b2 = cbr(32, 48, s=2)                                                   # /16
            self.b3 = cbr(48, 64, s=2)                                                   # /32
            self.heads = nn.ModuleList([Head(32, nc), Head(48, nc), Head(64, nc)])
            self.strides = [8, 16, 32]

        def forward(self, x):
            f1 = self.b1(x)
            f2 = self.b2(f1)
            f3 = self.b3(f2)
            outs, grids, strides = [], [], []
            for f, h, st in zip((f1, f2, f3), self.heads, self.strides):
                o = h(f)
                n, c, hh, ww = o.shape
                outs.append(o.flatten(2))
                yv, xv = torch.meshgrid(torch.arange(hh), torch.arange(ww), indexing="ij")
                grids.append(torch.stack((xv, yv), 2).view(1, -1, 2).float())
                strides.append(torch.full((1, hh * ww, 1), float(st)))
            o = torch.cat(outs, 2).permute(0, 2, 1)
            xy, wh, rest = torch.split(o, [2, 2, o.shape[2] - 4], dim=2)
            xy = (xy + torch.cat(grids, 1)) * torch.cat(strides, 1)
            wh = torch.exp(wh.clamp(max=4.0)) * torch.cat(strides, 1)
            return torch.cat([xy, wh, rest], 2)

    return YOLOXHead()


def einsum_where():
    torch = _torch()
    nn = torch.nn

    class EinsumWhere(nn.Module):
        def __init__(self, d=48, h=4, n=20):
            super().__init__()
            self.h, self.dh = h, d // h
            self.wqkv = nn.Parameter(torch.randn(3 * d, d) * d ** -0.5)
            self.wo = nn.Parameter(torch.randn(d, d) * d ** -0.5)
            self.rel = nn.Parameter(torch.randn(h, 1, n) * 0.5)
            self.norm = nn.LayerNorm(d)
            self.fc = nn.Linear(d, 6)
            band = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).abs() <= 4
            self.register_buffer("band", band)

        def forward(self, x):                                    # [B, N, d]
            b, n, d = x.shape
            qkv = torch.einsum("bnc,dc->bnd", self.norm(x), self.wqkv)
            q, k, v = qkv.view(b, n, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
            s = torch.einsum("bhqd,bhkd->bhqk", q, k) * self.dh ** -0.5
            s = s + self.rel.unsqueeze(0).expand(b, self.h, n, n)   # bias broadcast over queries
            s = torch.where(self.band, s, torch.full_like(s, -1e4))
            o = torch.einsum("bhqk,bhkd->bhqd", s.softmax(-1), v)
            o = torch.einsum("bhnd->bnhd", o).reshape(b, n, d)
            y = x + torch.einsum("bnc,dc->bnd", o, self.wo)
            return self.fc(y.mean(1))

    return EinsumWhere()


def mixer_gelu_tanh():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class RMSNorm(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.w = nn.Parameter(1 + 0.2 * torch.randn(d))

        def forward(self, x):
            return x * torch.reciprocal(torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)) * self.w

    class MLP(nn.Module):
        def __init__(self, d, hdim):
            super().__init__()
            self.a, self.b = nn.Linear(d, hdim), nn.Linear(hdim, d)

        def forward(self, x):
            return self.b(F.gelu(self.a(x), approximate="tanh"))

    class Block(nn.Module):
        def __init__(self, tokens, d):
            super().__init__()
            self.n1, self.tok = nn.LayerNorm(d), MLP(tokens, 2 * tokens)
            self.n2, self.ch = RMSNorm(d), MLP(d, 2 * d)

        def forward(self, x):                      # [B, T, d]
            x = x + self.tok(self.n1(x).transpose(1, 2)).transpose(1, 2)
            return x + self.ch(self.n2(x))

    class Mixer(nn.Module):
        def __init__(self, d=64, patch=8, side=64):
            super().__init__()
            t = (side // patch) ** 2
            self.patch = nn.Conv2d(3, d, patch, patch)
            self.blocks = nn.Sequential(Block(t, d), Block(t, d))
            self.norm = nn.LayerNorm(d)
            self.fc = nn.Linear(d, 10)

        def forward(self, x):
            y = self.patch(x).flatten(2).transpose(1, 2)
            return self.fc(self.norm(self.blocks(y)).mean(1))

    return Mixer()


def kv_cache_step():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Step(nn.Module):
        def __init__(self, d=64, h=4, vocab=100):
            super().__init__()
            self.h, self.dh = h, d // h
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.o = nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.out = nn.Linear(d, vocab)

        def forward(self, x, past_key, past_value):      # x [B, 1, d]; past [B, H, P, dh]
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q = q.view(b, t, self.h, self.dh).transpose(1, 2)
            k = torch.cat([past_key, k.view(b, t, self.h, self.dh).transpose(1, 2)], 2)
            v = torch.cat([past_value, v.view(b, t, self.h, self.dh).transpose(1, 2)], 2)
            a = F.softmax(q @ k.transpose(2, 3) / self.dh ** 0.5, -1) @ v
            x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
            x = x + self.mlp(self.ln2(x))
            return self.out(x), k, v

    return Step()


def crnn_ctc():
    torch = _torch()
    nn = torch.nn

    class CRNN(nn.Module):
        def __init__(self, classes=37):
            super().__init__()
            self.cnn = nn.Sequential(cbr(1, 16), nn.MaxPool2d(2), cbr(16, 32), nn.MaxPool2d(2),
                                     cbr(32, 48), nn.MaxPool2d((2, 1)), cbr(48, 64), nn.MaxPool2d((2, 1)),
                                     nn.Conv2d(64, 64, (2, 1)), nn.ReLU())
            self.rnn = nn.LSTM(64, 48, num_layers=2, bidirectional=True)
            self.fc = nn.Linear(96, classes)

        def forward(self, x):                 # [N, 1, 32, W]
            f = self.cnn(x).squeeze(2)        # [N, 64, W/4]
            f = f.permute(2, 0, 1)            # [T, N, 64]
            y, _ = self.rnn(f)
            return self.fc(y).log_softmax(2)  # [T, N, classes]

    return CRNN()


def siamese():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Siamese(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(cbr(3, 16, s=2), cbr(16, 32, s=2), cbr(32, 32), nn.AdaptiveAvgPool2d(1),
                                     nn.Flatten(), nn.Linear(32, 24))
            self.head = nn.Linear(24, 1)

        def forward(self, a, b):
            ea, eb = F.normalize(self.enc(a), dim=1), F.normalize(self.enc(b), dim=1)
            return (ea * eb).sum(1, keepdim=True), torch.sigmoid(self.head((ea - eb).abs()))

    return Siamese()


def deconv_outpad():
    torch = _torch()
    nn = torch.nn

    class Deconv(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(cbr(3, 16, s=2), nn.PixelUnshuffle(2), cbr(64, 32))   # /4
            self.up1 = nn.ConvTranspose2d(32, 24, 3, stride=2, padding=1, output_padding=1)
            self.up2 = nn.ConvTranspose2d(24, 24, 3, stride=3, padding=1, output_padding=2, groups=3)
            self.up3 = nn.ConvTranspose2d(24, 16, 3, stride=1, padding=2, dilation=2)
            self.ps = nn.PixelShuffle(2)
            self.head = nn.Conv2d(4, 2, 3, padding=1)

        def forward(self, x):
            y = torch.relu(self.up1(self.down(x)))
            y = torch.relu(self.up2(y))
            y = torch.relu(self.up3(y))
            return self.head(self.ps(y))

    return Deconv()


def grouped_dilated():
    torch = _torch()
    nn = torch.nn

    class GD(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = cbr(3, 30, s=2)
            self.g3 = cbr(30, 30, g=3)
            self.g5 = cbr(30, 45, g=5, d=2)
            self.g6 = cbr(30, 42, k=5, g=6)
            self.dwm = cbr(30, 60, g=30, d=3)                      # depthwise, multiplier 2
            self.g7 = cbr(147, 21, k=1, g=7)
            self.fc = nn.Linear(21, 10)

        def forward(self, x):
            s = self.g3(self.stem(x))
            y = torch.cat([self.g5(s), self.g6(s), self.dwm(s)], 1)
            y = self.g7(y)
            return self.fc(y.mean((2, 3)))

    return GD()


def rnn_tanh():
    torch = _torch()
    nn = torch.nn

    class RNNCls(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(24, 32, num_layers=2, nonlinearity="tanh", batch_first=True, bidirectional=True)
            self.relu_rnn = nn.RNN(64, 16, nonlinearity="relu", batch_first=True)
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            y, _ = self.rnn(x)
            _, h = self.relu_rnn(y)
            return self.fc(h[-1])

    return RNNCls()


def stn_gridsample():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class STN(nn.Module):
        def __init__(self):
            super().__init__()
            self.loc = nn.Sequential(cbr(1, 8, s=2), cbr(8, 16, s=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                     nn.Linear(16, 6))
            with torch.no_grad():
                self.loc[-1].weight.mul_(0.1)
                self.loc[-1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1.0, 0]))
            self.cls = nn.Sequential(cbr(1, 16, s=2), cbr(16, 32, s=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                     nn.Linear(32, 10))

        def forward(self, x):
            theta = self.loc(x).view(-1, 2, 3)
            # affine_grid by hand (torch.onnx cannot export aten::affine_grid_generator):
            # the pixel centres in [-1, 1] times theta.
            n, _, hh, ww = x.shape
            ys = (torch.arange(hh, dtype=torch.float32) * 2 + 1) / hh - 1
            xs = (torch.arange(ww, dtype=torch.float32) * 2 + 1) / ww - 1
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            base = torch.stack([gx, gy, torch.ones_like(gx)], -1).view(1, hh * ww, 3)
            grid = (base @ theta.transpose(1, 2)).view(n, hh, ww, 2)
            return self.cls(F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False))

    return STN()


def acts_op17():
    torch = _torch()
    nn = torch.nn

    class Acts17(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 24, 3, 2, 1)
            self.c2 = nn.Conv2d(24, 24, 3, 1, 1, groups=24)
            self.c3 = nn.Conv2d(24, 32, 1)
            self.gn = nn.GroupNorm(4, 32)
            self.ln = nn.LayerNorm(32)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            y = nn.functional.hardswish(self.c1(x))
            y = nn.functional.mish(self.c2(y))
            y = nn.functional.elu(self.c3(y))
            y = nn.functional.selu(self.gn(y)) + nn.functional.celu(y, alpha=0.5)
            t = self.ln(y.flatten(2).transpose(1, 2))                  # LayerNormalization at opset 17
            return self.fc(nn.functional.hardsigmoid(t).mean(1))

    return Acts17()


def scatter_cumsum():
    torch = _torch()
    nn = torch.nn

    class ScatterCumsum(nn.Module):
        def __init__(self, vocab=300, d=32, maxlen=64):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(maxlen, d)
            self.proj = nn.Linear(d, d)
            self.fc = nn.Linear(d, 8)

        def forward(self, tokens, mask):                       # int64 [B, T], int64 0/1 [B, T]
            pos = (torch.cumsum(mask, dim=1) * mask).clamp(max=63)   # HF-style position ids
            h = self.tok(tokens) + self.pos(pos)
            h = torch.relu(self.proj(h)) * mask.unsqueeze(-1).float()
            score = h.sum(-1)                                    # [B, T]
            top, idx = torch.topk(score, 4, dim=1)
            picked = torch.gather(h, 1, idx.unsqueeze(-1).expand(-1, -1, h.shape[2]))
            buf = torch.zeros_like(h)
            buf = buf.scatter(1, idx.unsqueeze(-1).expand(-1, -1, h.shape[2]), picked)   # ScatterElements
            return self.fc(buf.sum(1) / 4.0 + picked.mean(1)), idx

    return ScatterCumsum()


def tconv1d():
    torch = _torch()
    nn = torch.nn

    class TConv1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv1d(1, 16, 8, 4, 2), nn.ReLU(), nn.Conv1d(16, 32, 8, 4, 2, groups=4), nn.ReLU())
            self.dec1 = nn.ConvTranspose1d(32, 16, 8, 4, 2)
            self.dec2 = nn.ConvTranspose1d(16, 8, 7, 4, 2, output_padding=1, groups=2)
            self.out = nn.Conv1d(8, 1, 5, padding=2)

        def forward(self, x):
            y = torch.relu(self.dec1(self.enc(x)))
            return torch.tanh(self.out(torch.relu(self.dec2(y))))

    return TConv1d()


def tf2onnx_style(opset=13):
    """An image classifier as tf2onnx writes a Keras model: NHWC input, a
    Transpose to NCHW before each convolution and back after it, weights
    through Identity, Relu6 as Clip(0, 6) with constant inputs, an explicit Pad
    then a VALID Conv, a ConvTranspose with an output_shape attribute and
    auto_pad SAME_UPPER, a depthwise Conv with auto_pad SAME_UPPER, BatchNormalization
    in NHWC by Mul/Add of [C] constants, ReduceMean over axes 1, 2 (the NHWC global
    pool), Squeeze, MatMul + Add, Softmax."""
    import onnx
    from onnx import helper as h, numpy_helper as nh, TensorProto as T
    rng = np.random.default_rng(9)
    inits, nodes = [], []

    def w(name, *shape, scale=0.2):
        inits.append(nh.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def c(name, arr):
        inits.append(nh.from_array(np.asarray(arr), name))
        return name

    c("zero", np.array(0, np.float32))
    c("six", np.array(6, np.float32))

    def to_nchw(x):
        nodes.append(h.make_node("Transpose", [x], [x + "_nchw"], perm=[0, 3, 1, 2]))
        return x + "_nchw"

    def to_nhwc(x):
        nodes.append(h.make_node("Transpose", [x], [x + "_nhwc"], perm=[0, 2, 3, 1]))
        return x + "_nhwc"

    def relu6(x):
        nodes.append(h.make_node("Clip", [x, "zero", "six"], [x + "_r6"]))
        return x + "_r6"

    def bn_nhwc(x, ch):
        w(x + "_bn_s", ch, scale=0.1)
        inits[-1] = nh.from_array((np.abs(nh.to_array(inits[-1])) + 0.8).astype(np.float32), x + "_bn_s")
        w(x + "_bn_b", ch, scale=0.1)
        nodes.append(h.make_node("Mul", [x, x + "_bn_s"], [x + "_bm"]))
        nodes.append(h.make_node("Add", [x + "_bm", x + "_bn_b"], [x + "_ba"]))
        return x + "_ba"

    # stem: explicit Pad (NCHW after the Transpose), VALID 3x3 stride 2
    x = to_nchw("input")
    c("stem_pads", np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))
    nodes.append(h.make_node("Pad", [x, "stem_pads"], ["stem_p"], mode="constant"))
    w("stem_w_raw", 16, 3, 3, 3)
    nodes.append(h.make_node("Identity", ["stem_w_raw"], ["stem_w"]))
    nodes.append(h.make_node("Conv", ["stem_p", "stem_w"], ["stem"], kernel_shape=[3, 3], strides=[2, 2],
                             auto_pad="VALID"))
    y = relu6(bn_nhwc(to_nhwc("stem"), 16))
    # depthwise 3x3 SAME_UPPER, then pointwise
    w("dw_w", 16, 1, 3, 3, scale=0.3)
    nodes.append(h.make_node("Conv", [to_nchw(y), "dw_w"], ["dw"], kernel_shape=[3, 3], group=16,
                             auto_pad="SAME_UPPER"))
    y = relu6(bn_nhwc(to_nhwc("dw"), 16))
    w("pw_w", 32, 16, 1, 1)
    w("pw_b", 32, scale=0.1)
    nodes.append(h.make_node("Conv", [to_nchw(y), "pw_w", "pw_b"], ["pw"], kernel_shape=[1, 1], strides=[2, 2]))
    y = relu6(to_nhwc("pw"))
    # ConvTranspose with output_shape and SAME_UPPER (back to the stem's size), 3x3 stride 2
    w("up_w", 32, 16, 3, 3, scale=0.1)
    nodes.append(h.make_node("ConvTranspose", [to_nchw(y), "up_w"], ["up"], kernel_shape=[3, 3], strides=[2, 2],
                             auto_pad="SAME_UPPER", output_shape=[24, 24]))
    y = relu6(to_nhwc("up"))
    # NHWC global pool, Squeeze, MatMul + Add, Softmax
    nodes.append(h.make_node("ReduceMean", [y], ["gap"], axes=[1, 2], keepdims=1))
    c("sq_axes", np.array([1, 2], np.int64))
    nodes.append(h.make_node("Squeeze", ["gap", "sq_axes"], ["feat"]))
    w("fc_w", 16, 10, scale=0.5)
    w("fc_b", 10, scale=0.1)
    nodes.append(h.make_node("MatMul", ["feat", "fc_w"], ["mm"]))
    nodes.append(h.make_node("Add", ["mm", "fc_b"], ["logits"]))
    nodes.append(h.make_node("Softmax", ["logits"], ["prob"], axis=-1))
    graph = h.make_graph(nodes, "tf2onnx_style", [h.make_tensor_value_info("input", T.FLOAT, ["N", 48, 48, 3])],
                         [h.make_tensor_value_info("prob", T.FLOAT, ["N", 10])], inits)
    m = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], producer_name="tf2onnx-style")
    m.ir_version = 7
    onnx.checker.check_model(m, full_check=True)
    return m


def flip_unfold():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class FlipUnfold(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = cbr(3, 8, s=2)
            self.proj = nn.Linear(8 * 9, 16)
            self.fc = nn.Linear(16, 6)

        def forward(self, x):
            y = self.c1(x)                                         # [1, 8, 16, 16]
            y = y + torch.flip(y, dims=[3])                        # Slice with step -1
            y = torch.roll(y, shifts=(2, -3), dims=(2, 3))
            p = F.unfold(y, kernel_size=3, stride=2, padding=1)    # [1, 72, 64] (im2col)
            h = torch.relu(self.proj(p.transpose(1, 2)))           # [1, 64, 16]
            order = torch.argsort(h.sum(-1), dim=1, descending=True)
            h = torch.index_select(h, 1, order[0, :8])             # the 8 strongest positions
            return self.fc(h.mean(1))

    return FlipUnfold()


def embbag():
    torch = _torch()
    nn = torch.nn

    class EmbBag(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(500, 24, mode="mean")
            self.fc = nn.Linear(24, 4)

        def forward(self, tokens, offsets):
            return self.fc(self.bag(tokens, offsets))

    return EmbBag()


def lrn_acts():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class LRNActs(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 16, 5, 2, 2)
            self.lrn = nn.LocalResponseNorm(5, alpha=1e-3, beta=0.75, k=2.0)
            self.c2 = nn.Conv1d(16, 16, 3, padding=1)
            self.inorm = nn.InstanceNorm1d(16, affine=True)
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            y = self.lrn(F.softsign(self.c1(x)))
            y = F.hardtanh(y, -0.5, 0.5) + F.logsigmoid(y) + F.tanhshrink(y)
            z = self.inorm(self.c2(y.flatten(2)))                  # [1, 16, H*W]
            return self.fc(z.mean(2))

    return LRNActs()


def dw_deconv():
    torch = _torch()
    nn = torch.nn

    class DWDeconv(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(cbr(3, 16, s=2), cbr(16, 32, s=2))
            self.up1 = nn.Sequential(nn.ConvTranspose2d(32, 32, 4, 2, 1, groups=32, bias=False), nn.BatchNorm2d(32),
                                     nn.ReLU(), nn.Conv2d(32, 16, 1))
            self.up2 = nn.Sequential(nn.ConvTranspose2d(16, 16, 3, 2, 1, output_padding=1, groups=16), nn.ReLU6(),
                                     nn.Conv2d(16, 3, 1))

        def forward(self, x):
            return self.up2(self.up1(self.down(x)))

    return DWDeconv()


def fp16_keepio():
    """grouped_dilated() converted to float16 as onnxconverter-common's
    convert_float_to_float16(keep_io_types=True) writes it: float16 initializers
    and activations, a Cast to float16 after the float32 input and a Cast to
    float32 before the output."""
    import io
    import onnx
    from onnx import helper as h, numpy_helper as nh, TensorProto as T
    torch = _torch()
    torch.manual_seed(0)
    model = randomise_norms(grouped_dilated()).eval()
    buf = io.BytesIO()
    torch.onnx.export(model, (torch.randn(1, 3, 64, 64),), buf, opset_version=13, input_names=["input"],
                      output_names=["output"], do_constant_folding=True)
    m = onnx.load_from_string(buf.getvalue())
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == T.FLOAT:
            g.initializer[i].CopyFrom(nh.from_array(nh.to_array(t).astype(np.float16), t.name))
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == T.FLOAT:
                a.t.CopyFrom(nh.from_array(nh.to_array(a.t).astype(np.float16), a.t.name))
    for n in g.node:
        n.input[:] = ["input_fp16" if x == "input" else x for x in n.input]
        n.output[:] = ["output_fp16" if x == "output" else x for x in n.output]
    g.node.insert(0, h.make_node("Cast", ["input"], ["input_fp16"], to=T.FLOAT16, name="graph_input_cast0"))
    g.node.append(h.make_node("Cast", ["output_fp16"], ["output"], to=T.FLOAT, name="graph_output_cast0"))
    del g.value_info[:]
    onnx.checker.check_model(m, full_check=True)
    return m


def googlenet_tin():
    import torchvision
    torch = _torch()
    torch.manual_seed(0)
    return torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True, transform_input=True)


# name -> (builder, opset, inputs {name: (shape, kind)}, outputs, dynamic axes)
# kind: "f" N(0,1) floats, "u" uniform [0,1) floats, "img" uint8 image,
# "kv" N(0,1)/2 floats (cache entries).
SPECS = {
    "slicenet_op9": (slicenet, 9, {"input": ((1, 3, 64, 64), "f")}, ["output"], None),
    "slicenet_op10_dynhw": (lambda: slicenet(2), 10, {"input": ((1, 3, 64, 64), "f")}, ["output"],
                            {"input": {2: "height", 3: "width"}}),
    "resize_modes_op11": (resize_modes, 11, {"input": ((1, 3, 96, 96), "f")}, ["output"],
                          {"input": {0: "batch"}, "output": {0: "batch"}}),
    "googlenet_tin": (googlenet_tin, 13, {"input": ((1, 3, 224, 224), "u")}, ["output"], None),
    "uint8_nhwc": (uint8_nhwc, 13, {"image": ((1, 96, 96, 3), "img")}, ["prob"],
                   {"image": {0: "batch"}, "prob": {0: "batch"}}),
    "yolox_head": (yolox_head, 13, {"input": ((1, 3, 128, 160), "u")}, ["output"], None),
    "einsum_where": (einsum_where, 13, {"input": ((1, 20, 48), "f")}, ["output"],
                     {"input": {0: "batch"}, "output": {0: "batch"}}),
    "mixer_gelu_tanh": (mixer_gelu_tanh, 13, {"input": ((1, 3, 64, 64), "f")}, ["output"], None),
    "kv_cache_step": (kv_cache_step, 13, {"x": ((1, 1, 64), "f"), "past_key": ((1, 4, 12, 16), "kv"),
                                          "past_value": ((1, 4, 12, 16), "kv")},
                      ["logits", "present_key", "present_value"],
                      {"x": {0: "batch"}, "past_key": {0: "batch", 2: "past"}, "past_value": {0: "batch", 2: "past"},
                       "logits": {0: "batch"}, "present_key": {0: "batch", 2: "total"},
                       "present_value": {0: "batch", 2: "total"}}),
    "crnn_ctc": (crnn_ctc, 12, {"input": ((1, 1, 32, 128), "u")}, ["logprobs"],
                 {"input": {3: "width"}, "logprobs": {0: "steps"}}),
    "siamese": (siamese, 13, {"a": ((1, 3, 64, 64), "f"), "b": ((1, 3, 64, 64), "f")}, ["cosine", "same"], None),
    "deconv_outpad": (deconv_outpad, 13, {"input": ((1, 3, 64, 64), "f")}, ["output"], None),
    "grouped_dilated": (grouped_dilated, 13, {"input": ((1, 3, 64, 64), "f")}, ["output"], None),
    "rnn_tanh_op14": (rnn_tanh, 14, {"input": ((1, 15, 24), "f")}, ["output"],
                      {"input": {0: "batch", 1: "seq"}, "output": {0: "batch"}}),
    "stn_gridsample_op16": (stn_gridsample, 16, {"input": ((1, 1, 48, 48), "u")}, ["output"], None),
    "acts_op17": (acts_op17, 17, {"input": ((1, 3, 48, 48), "f")}, ["output"], None),
    "scatter_cumsum": (scatter_cumsum, 13, {"tokens": ((2, 24), "tok"), "mask": ((2, 24), "mask")},
                       ["output", "top"], None),
    "tconv1d": (tconv1d, 13, {"input": ((1, 1, 1024), "f")}, ["output"], {"input": {2: "length"},
                                                                            "output": {2: "length_out"}}),
    "tf2onnx_op13": ("tf2onnx", 13, {"input": ((1, 48, 48, 3), "u")}, ["prob"], None),
    "flip_unfold": (flip_unfold, 13, {"input": ((1, 3, 32, 32), "f")}, ["output"], None),
    "embbag_op13": (embbag, 13, {"tokens": ((20,), "tok"), "offsets": ((4,), "offsets")}, ["output"],
                    {"tokens": {0: "ntok"}, "offsets": {0: "nbags"}, "output": {0: "nbags"}}),
    "lrn_acts": (lrn_acts, 13, {"input": ((1, 3, 32, 32), "f")}, ["output"], None),
    "dw_deconv": (dw_deconv, 13, {"input": ((1, 3, 64, 64), "f")}, ["output"], None),
    "fp16_keepio": ("fp16", 13, {"input": ((1, 3, 64, 64), "f")}, ["output"], None),
}

# Models whose inputs differ in leading size (EmbeddingBag's tokens and offsets).
WHOLE = {"embbag_op13"}

# Other sizes for the symbolic-shape models.
ALT = {"slicenet_op10_dynhw": {"input": (1, 3, 48, 80)}, "resize_modes_op11": {"input": (3, 3, 96, 96)},
       "uint8_nhwc": {"image": (2, 96, 96, 3)}, "einsum_where": {"input": (2, 20, 48)},
       "kv_cache_step": {"x": (2, 1, 64), "past_key": (2, 4, 5, 16), "past_value": (2, 4, 5, 16)},
       "crnn_ctc": {"input": (1, 1, 32, 200)}, "rnn_tanh_op14": {"input": (3, 9, 24)},
       "tconv1d": {"input": (1, 1, 1600)}, "tf2onnx_op13": {"input": (2, 48, 48, 3)},
       "embbag_op13": {"tokens": (31,), "offsets": (6,)}}


def make_input(shape, kind, rng):
    if kind == "img":
        return rng.integers(0, 256, shape).astype(np.uint8)
    if kind == "u":
        return rng.random(shape).astype(np.float32)
    if kind == "tok":
        return rng.integers(0, 300, shape).astype(np.int64)  # below both tables (300, 500 rows)
    if kind == "mask":
        # each row keeps a prefix of real tokens (at least 6) and pads the rest
        keep = rng.integers(6, shape[1] + 1, shape[0])
        return (np.arange(shape[1])[None, :] < keep[:, None]).astype(np.int64)
    if kind == "offsets":
        # bag starts: 0 first, increasing, every bag at least one token (20 tokens; 31 for ALT)
        n = shape[0]
        total = 20 if n == 4 else 31
        cuts = np.sort(rng.choice(np.arange(1, total), n - 1, replace=False))
        return np.concatenate([[0], cuts]).astype(np.int64)
    if kind == "kv":
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    torch = _torch()
    builder, opset, ins, outs, axes = SPECS[name]
    rng = np.random.default_rng(23)
    samples = [{k: make_input(s, kind, rng) for k, (s, kind) in ins.items()} for _ in range(4)]
    if builder in ("tf2onnx", "fp16"):
        import onnx
        path = os.path.join(out, name + ".onnx")
        onnx.save(tf2onnx_style(opset) if builder == "tf2onnx" else fp16_keepio(), path + ".tmp")
        os.replace(path + ".tmp", path)
    else:
        torch.manual_seed(0)
        model = randomise_norms(builder()).eval()
        xs = [torch.from_numpy(samples[0][k]) for k in ins]
        path = exportlib.torch_export(model, xs, os.path.join(out, name + ".onnx"), opset, list(ins), outs, axes)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    if name in WHOLE:
        # Inputs of different leading sizes: each file holds one whole input per
        # array, behind a leading axis of 1 (the rule of warboy's data reader).
        samples = [{k: v[None] for k, v in s.items()} for s in samples]
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    if name in ALT:
        alt = {k: make_input(ALT[name][k], ins[k][1], rng) for k in ins}
        if name in WHOLE:
            alt = {k: v[None] for k, v in alt.items()}
        np.savez(os.path.join(out, "data", name + ".alt.npz"), **alt)
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen6); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen6")


def cmd_testdata(out):
    """The small EmbeddingBag model of cmd/warboy's TestEmbeddingBagWorkflow:
    OUT/embbag_opset13.onnx (50 rows of 8, mean bags, a Linear to 3) and
    OUT/npz_embbag/s{0..3}.npz (tokens and offsets whole, behind a leading axis of 1)."""
    torch = _torch()
    nn = torch.nn

    class SmallBag(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(50, 8, mode="mean")
            self.fc = nn.Linear(8, 3)

        def forward(self, tokens, offsets):
            return self.fc(self.bag(tokens, offsets))

    torch.manual_seed(0)
    rng = np.random.default_rng(29)
    samples = []
    for i in range(4):
        nt, nb = 12 + 3 * i, 3 + i
        cuts = np.sort(rng.choice(np.arange(1, nt), nb - 1, replace=False))
        samples.append({"tokens": rng.integers(0, 50, nt).astype(np.int64),
                        "offsets": np.concatenate([[0], cuts]).astype(np.int64)})
    xs = [torch.from_numpy(samples[0]["tokens"]), torch.from_numpy(samples[0]["offsets"])]
    path = exportlib.torch_export(SmallBag().eval(), xs, os.path.join(out, "embbag_opset13.onnx"), 13,
                                  ["tokens", "offsets"], ["output"],
                                  {"tokens": {0: "ntok"}, "offsets": {0: "nbags"}, "output": {0: "nbags"}})
    d = os.path.join(out, "npz_embbag")
    os.makedirs(d, exist_ok=True)
    for i, smp in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **{k: v[None] for k, v in smp.items()})
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        sys.exit(exportlib.ortcheck_main(a[1:]))
    if a and a[0] == "testdata":
        cmd_testdata(a[1] if len(a) > 1 else os.path.join(exportlib.ROOT, "testdata", "exported"))
        sys.exit(0)
    print(__doc__)
    sys.exit(2)
