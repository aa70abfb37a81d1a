#!/usr/bin/python3
"""The --unseen7 export set (twelfth session): families and exporter spellings
none of the earlier sets (--unseen .. --unseen6, --detection, --audio) has, for
triage of the whole workflow (scripts/triage_unseen7.sh: inspect, run against
ONNX Runtime, quantize, int8 against ONNX Runtime, sim, bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen7 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen7_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics randomised), nothing downloaded. Every
model NAME is written as DIR/NAME.onnx (default DIR out/bench-models-unseen7) with
four samples DIR/data/NAME/s{0..3}.npz (one array per input name), DIR/data/NAME.in.npz
(sample 0) and, for models with symbolic sizes, DIR/data/NAME.alt.npz (an input at
other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- style_in_op11: a fast-neural-style transfer net: ReflectionPad2d, InstanceNorm2d
  (affine), residual blocks, F.interpolate(scale_factor=2) (Resize with scales at
  opset 11), symbolic batch, height and width.
- pixshuf_op9_dynhw: super-resolution with PixelShuffle and PixelUnshuffle at opset 9
  (6-D Reshape/Transpose, shapes computed from Shape at run time), symbolic H/W.
- d2s_dcr: an onnx.helper graph with DepthToSpace in DCR mode (tf2onnx's spelling)
  and SpaceToDepth, around Convs.
- adaptive_odd_op12: AdaptiveAvgPool2d to (5, 7) and AdaptiveMaxPool2d to (3, 3) on a
  60x84 map, AdaptiveAvgPool1d to 7, a dilation-4 conv.
- conformer_dynT: a Conformer block over [N, T, 80] features: Conv2d subsampling,
  macaron SiLU FFNs, nn.MultiheadAttention with a key padding mask from lengths,
  GLU, depthwise Conv1d k=15 + BatchNorm1d; symbolic batch and time.
- reductions_op12: logsumexp, L1/L2 norms, amin, prod, var/std, argmin, argmax,
  topk(largest=False); float and int64 outputs.
- centernet_decode: a CenterNet head and decoder: 3x3 MaxPool peak test (Equal,
  Cast), TopK over the flattened heatmap, int64 Div/Mod into class/y/x,
  GatherElements of sizes and offsets; boxes, scores, int64 classes.
- nonzero_mask_op13: boolean-mask indexing (NonZero/GatherND, a data-dependent
  output length), index_put (ScatterND), torch.where(cond) coordinates.
- albert_shared: an ALBERT-style encoder: int64 input_ids, token_type_ids and
  attention_mask [N, T] (symbolic), factorised embeddings, one layer applied three
  times (every weight used three times), the mask by torch.finfo(float32).min,
  outputs sequence and pooled.
- bigru_h0: a 2-layer bidirectional GRU, time-major, with the initial state h0 as an
  input; outputs the sequence and h_n; symbolic batch and time.
- ln_chw_op17: LayerNorm over (C, H, W) (LayerNormalization axis -3), ConvNeXt's
  hand-written channels-first LayerNorm, layer scale, F.normalize over channels.
- einsum3_op12: Einsum with three operands (bilinear), ellipsis batch matmul, outer
  product, a diagonal.
- script_if_loop: a torch.jit.script module: an If on a data-dependent condition
  and a Loop with a data-dependent trip count.
- padmodes_op13: Conv padding_mode circular, replicate and reflect; F.pad with a
  negative pad (a crop) and a constant 0.5; nearest upsampling by 1.5.
- keepinit_op9: an opset-9 CNN exported as old exporters did:
  keep_initializers_as_inputs=True (every weight also a graph input) and
  do_constant_folding=False (the view(x.size(0), -1) shape subgraph kept).
- mnasnet0_75_extdata: torchvision mnasnet0_75 saved with its weights in an external
  data file (onnx.save(save_as_external_data=True)).
- tinyyolo_op8: a tiny-YOLOv3-style darknet net at opset 8: LeakyRelu 0.1, a
  stride-1 MaxPool after a ZeroPad, Upsample with scales as an attribute, two
  heads.
- qmobilenet_torchq: torchvision's quantizable MobileNetV2, quantized by PyTorch
  (qnnpack, calibrated on random data) and exported at opset 13: a model that is
  already int8 (QuantizeLinear/DequantizeLinear around float operators).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

MODELS = ["style_in_op11", "pixshuf_op9_dynhw", "d2s_dcr", "adaptive_odd_op12", "conformer_dynT",
          "reductions_op12", "centernet_decode", "nonzero_mask_op13", "albert_shared", "bigru_h0",
          "ln_chw_op17", "einsum3_op12", "script_if_loop", "padmodes_op13", "keepinit_op9",
          "mnasnet0_75_extdata", "tinyyolo_op8", "qmobilenet_torchq"]


def _torch():
    import torch
    return torch


def randomise_norms(model):
    """Random BatchNorm statistics and affines, random LayerNorm/InstanceNorm affines."""
    torch = _torch()
    nn = torch.nn
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.InstanceNorm2d)) and \
                    getattr(m, "weight", None) is not None:
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
    return model


def cbr(i, o, k=3, s=1, p=None, g=1, d=1):
    nn = _torch().nn
    return nn.Sequential(nn.Conv2d(i, o, k, s, (k // 2) * d if p is None else p, groups=g, dilation=d, bias=False),
                         nn.BatchNorm2d(o), nn.ReLU())


def style_in():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def conv(i, o, k, s=1):
        return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(i, o, k, s))

    class Res(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.a, self.na = conv(c, c, 3), nn.InstanceNorm2d(c, affine=True)
            self.b, self.nb = conv(c, c, 3), nn.InstanceNorm2d(c, affine=True)

        def forward(self, x):
            return x + self.nb(self.b(torch.relu(self.na(self.a(x)))))

    class Style(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.n1 = conv(3, 16, 9), nn.InstanceNorm2d(16, affine=True)
            self.c2, self.n2 = conv(16, 32, 3, 2), nn.InstanceNorm2d(32, affine=True)
            self.c3, self.n3 = conv(32, 48, 3, 2), nn.InstanceNorm2d(48, affine=True)
            self.res = nn.Sequential(Res(48), Res(48))
            self.u1, self.m1 = conv(48, 32, 3), nn.InstanceNorm2d(32, affine=True)
            self.u2, self.m2 = conv(32, 16, 3), nn.InstanceNorm2d(16, affine=True)
            self.out = conv(16, 3, 9)

        def forward(self, x):
            y = torch.relu(self.n1(self.c1(x)))
            y = torch.relu(self.n2(self.c2(y)))
            y = torch.relu(self.n3(self.c3(y)))
            y = self.res(y)
            y = torch.relu(self.m1(self.u1(F.interpolate(y, scale_factor=2.0, mode="nearest"))))
            y = torch.relu(self.m2(self.u2(F.interpolate(y, scale_factor=2.0, mode="nearest"))))
            return torch.sigmoid(self.out(y)) * 255.0

    return Style()


def pixshuf():
    torch = _torch()
    nn = torch.nn

    class SR(nn.Module):
        def __init__(self):
            super().__init__()
            self.un = nn.PixelUnshuffle(2)
            self.body = nn.Sequential(cbr(12, 32), cbr(32, 32), nn.Conv2d(32, 3 * 16, 3, padding=1))
            self.ps = nn.PixelShuffle(4)
            self.ps2 = nn.PixelShuffle(2)
            self.tail = nn.Conv2d(12, 12, 3, padding=1)

        def forward(self, x):                       # [1, 3, H, W] -> [1, 3, 2H, 2W]
            y = self.ps(self.body(self.un(x)))      # 2x of the input
            y2 = self.ps2(self.tail(self.un(y)))    # unshuffle back, shuffle again
            return y + y2 + nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")

    return SR()


def adaptive_odd():
    torch = _torch()
    nn = torch.nn

    class Ada(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = cbr(3, 16)                        # 60x84
            self.dil = cbr(16, 16, d=4)
            self.avg = nn.AdaptiveAvgPool2d((5, 7))      # 12x12 windows
            self.mx = nn.AdaptiveMaxPool2d((3, 3))       # 20x28 windows
            self.p1 = nn.AdaptiveAvgPool1d(7)
            self.fc = nn.Linear(16 * 35 + 16 * 9 + 16 * 7, 10)

        def forward(self, x):
            y = self.dil(self.stem(x))
            a = self.avg(y).flatten(1)
            m = self.mx(y).flatten(1)
            r = self.p1(y.mean(2)[:, :, :77].contiguous()).flatten(1)   # [1, 16, 77] -> 7
            return self.fc(torch.cat([a, m, r], 1))

    return Ada()


def conformer():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class FFN(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.ln, self.a, self.b = nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.Linear(2 * d, d)

        def forward(self, x):
            return self.b(F.silu(self.a(self.ln(x))))

    class ConvMod(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.ln = nn.LayerNorm(d)
            self.pw1 = nn.Conv1d(d, 2 * d, 1)
            self.dw = nn.Conv1d(d, d, 15, padding=7, groups=d)
            self.bn = nn.BatchNorm1d(d)
            self.pw2 = nn.Conv1d(d, d, 1)

        def forward(self, x):                      # [N, T, d]
            y = self.ln(x).transpose(1, 2)
            y = F.glu(self.pw1(y), dim=1)
            y = self.pw2(F.silu(self.bn(self.dw(y))))
            return y.transpose(1, 2)

    class Conformer(nn.Module):
        def __init__(self, d=64):
            super().__init__()
            self.sub = nn.Sequential(nn.Conv2d(1, 16, 3, 2), nn.ReLU(), nn.Conv2d(16, 16, 3, 2), nn.ReLU())
            self.proj = nn.Linear(16 * 19, d)
            self.ff1, self.ff2 = FFN(d), FFN(d)
            self.ln_att = nn.LayerNorm(d)
            self.att = nn.MultiheadAttention(d, 4, batch_first=True)
            self.conv = ConvMod(d)
            self.ln = nn.LayerNorm(d)
            self.out = nn.Linear(d, 30)

        def forward(self, feats, lengths):        # [N, T, 80], int64 [N]
            y = self.sub(feats.unsqueeze(1))       # [N, 16, T', 19]
            n, c, t, f = y.shape
            y = self.proj(y.permute(0, 2, 1, 3).reshape(n, t, c * f))
            sub_len = torch.div(torch.div(lengths - 3, 2, rounding_mode="floor") - 1, 2, rounding_mode="floor")
            pad = torch.arange(t).unsqueeze(0) >= sub_len.unsqueeze(1)   # [N, T'] bool
            y = y + 0.5 * self.ff1(y)
            a = self.ln_att(y)
            y = y + self.att(a, a, a, key_padding_mask=pad, need_weights=False)[0]
            y = y + self.conv(y)
            y = self.ln(y + 0.5 * self.ff2(y))
            return self.out(y).log_softmax(-1)

    return Conformer()


def reductions():
    torch = _torch()
    nn = torch.nn

    class Red(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(cbr(3, 16, s=2), cbr(16, 24, s=2))
            self.fc = nn.Linear(24 * 7, 10)

        def forward(self, x):
            y = self.body(x)                                   # [N, 24, 16, 16]
            f = [torch.logsumexp(y, (2, 3)), torch.norm(y, p=2, dim=(2, 3)), y.abs().sum((2, 3)) / 256.0,
                 torch.amin(y, (2, 3)), torch.prod(torch.sigmoid(y[:, :, :4, :4]).flatten(2), 2),
                 torch.var(y, (2, 3)), torch.std(y, (2, 3), unbiased=False)]
            z = self.fc(torch.cat(f, 1))
            vals, idx = torch.topk(z, 3, dim=1, largest=False)
            return z, vals, idx, torch.argmin(z, 1), torch.argmax(y.flatten(2), 2, keepdim=True)

    return Red()


def centernet_decode():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class CenterNet(nn.Module):
        def __init__(self, nc=5, k=20):
            super().__init__()
            self.k, self.nc = k, nc
            self.body = nn.Sequential(cbr(3, 16, s=2), cbr(16, 32, s=2), cbr(32, 32))
            self.hm = nn.Sequential(cbr(32, 32), nn.Conv2d(32, nc, 1))
            self.wh = nn.Conv2d(32, 2, 3, padding=1)
            self.off = nn.Conv2d(32, 2, 3, padding=1)
            with torch.no_grad():
                self.hm[1].bias.fill_(-2.19)

        def forward(self, x):
            f = self.body(x)
            hm = torch.sigmoid(self.hm(f))                          # [1, C, H, W]
            n, c, h, w = hm.shape
            keep = (F.max_pool2d(hm, 3, 1, 1) == hm).float()
            scores, inds = torch.topk((hm * keep).view(n, -1), self.k)   # over C*H*W
            cls = torch.div(inds, h * w, rounding_mode="floor")
            pix = inds % (h * w)
            ys = torch.div(pix, w, rounding_mode="floor").float()
            xs = (pix % w).float()
            wh = self.wh(f).view(n, 2, -1).gather(2, pix.unsqueeze(1).expand(n, 2, self.k))
            off = self.off(f).view(n, 2, -1).gather(2, pix.unsqueeze(1).expand(n, 2, self.k))
            cx, cy = xs + off[:, 0], ys + off[:, 1]
            boxes = torch.stack([cx - wh[:, 0] / 2, cy - wh[:, 1] / 2, cx + wh[:, 0] / 2, cy + wh[:, 1] / 2], 2) * 4
            return boxes, scores, cls

    return CenterNet()


def nonzero_mask():
    torch = _torch()
    nn = torch.nn

    class NZ(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(cbr(3, 8, s=2), nn.Conv2d(8, 4, 3, padding=1))

        def forward(self, x):
            y = self.body(x)                          # [1, 4, 16, 16]
            s = torch.sigmoid(y)
            picked = s[s > 0.6]                       # NonZero + GatherND: data-dependent length
            coords = torch.nonzero(s[0, 0] > 0.6)     # [K, 2] int64
            z = y.clone()
            idx = torch.tensor([0, 2, 5, 7])
            z[:, :, idx] = 0.0                        # index_put: ScatterND
            return z, picked, coords, picked.sum().unsqueeze(0)

    return NZ()


def albert_shared():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Layer(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h, self.dh = h, d // h
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.a, self.b = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x, bias):
            b, t, d = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
            s = q @ k.transpose(-1, -2) / self.dh ** 0.5 + bias
            a = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
            x = self.ln1(x + self.o(a))
            return self.ln2(x + self.b(F.gelu(self.a(x))))

    class Albert(nn.Module):
        def __init__(self, vocab=300, e=32, d=64, h=4, layers=3):
            super().__init__()
            self.tok, self.typ, self.pos = nn.Embedding(vocab, e), nn.Embedding(2, e), nn.Embedding(64, e)
            self.eln = nn.LayerNorm(e)
            self.proj = nn.Linear(e, d)
            self.layer = Layer(d, h)                 # shared by every step
            self.layers = layers
            self.pool = nn.Linear(d, d)

        def forward(self, input_ids, token_type_ids, attention_mask):
            t = input_ids.shape[1]
            pos = torch.arange(t).unsqueeze(0)
            x = self.proj(self.eln(self.tok(input_ids) + self.typ(token_type_ids) + self.pos(pos)))
            bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for _ in range(self.layers):
                x = self.layer(x, bias)
            return x, torch.tanh(self.pool(x[:, 0]))

    return Albert()


def bigru_h0():
    torch = _torch()
    nn = torch.nn

    class BiGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(20, 32, num_layers=2, bidirectional=True)
            self.fc = nn.Linear(64, 8)

        def forward(self, x, h0):                   # [T, N, 20], [4, N, 32]
            y, h = self.gru(x, h0)
            return self.fc(y), h

    return BiGRU()


def ln_chw():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class LN2d(nn.Module):                           # ConvNeXt's channels_first LayerNorm
        def __init__(self, c):
            super().__init__()
            self.w, self.b = nn.Parameter(1 + 0.2 * torch.randn(c)), nn.Parameter(0.1 * torch.randn(c))

        def forward(self, x):
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + 1e-6)
            return self.w[:, None, None] * x + self.b[:, None, None]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 32, 4, 4)
            self.ln0 = nn.LayerNorm([32, 12, 12])     # over C, H, W
            self.dw = nn.Conv2d(32, 32, 7, padding=3, groups=32)
            self.ln1 = LN2d(32)
            self.pw1, self.pw2 = nn.Conv2d(32, 96, 1), nn.Conv2d(96, 32, 1)
            self.gamma = nn.Parameter(0.5 * torch.ones(32, 1, 1))
            self.fc = nn.Linear(32, 10)

        def forward(self, x):                          # [1, 3, 48, 48]
            y = self.ln0(self.stem(x))
            y = y + self.gamma * self.pw2(F.gelu(self.pw1(self.ln1(self.dw(y)))))
            y = F.normalize(y, dim=1)
            return self.fc(y.mean((2, 3)))

    return Net()


def einsum3():
    torch = _torch()
    nn = torch.nn

    class E3(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(16, 12), nn.Linear(16, 10)
            self.w = nn.Parameter(torch.randn(6, 12, 10) * 0.3)
            # [1, 3, ...]: ONNX Runtime refuses ellipses of different ranks
            self.m = nn.Parameter(torch.randn(1, 3, 12, 12) * 0.3)

        def forward(self, x):                          # [N, 16]
            a, b = torch.tanh(self.a(x)), torch.tanh(self.b(x))
            bil = torch.einsum("bi,oij,bj->bo", a, self.w, b)          # three operands
            outer = torch.einsum("bi,bj->bij", a, a)                    # [N, 12, 12]
            mm = torch.einsum("...ij,...jk->...ik", outer.unsqueeze(1), self.m)   # ellipsis, broadcast
            diag = torch.einsum("bnii->bni", mm)                        # a diagonal
            return torch.cat([bil, diag.flatten(1)], 1)

    return E3()


def script_if_loop():
    torch = _torch()
    nn = torch.nn

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(8, 8, 3, padding=1)
            self.b = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            y = torch.relu(self.a(x))
            if bool(y.mean() > 0.25):
                y = self.b(y)
            else:
                y = -self.b(y)
            # .long(): without it torch.onnx writes a float trip count (an invalid
            # model ONNX Runtime refuses; runtime's TestLoopFloatTripCount)
            n = int((x.abs().max() * 2).clamp(1.0, 4.0).long())
            for _ in range(n):
                y = 0.5 * y + torch.tanh(y)
            return y

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = cbr(3, 8, s=2)
            self.inner = Inner()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(self.inner(self.stem(x)).mean((2, 3)))

    return torch.jit.script(randomise_norms(Net()).eval())


def padmodes():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class Pads(nn.Module):
        def __init__(self):
            super().__init__()
            self.circ = nn.Conv2d(3, 12, 3, padding=1, padding_mode="circular")
            self.rep = nn.Conv2d(12, 12, 5, padding=2, padding_mode="replicate")
            self.refl = nn.Conv2d(12, 12, 3, padding=1, padding_mode="reflect")
            self.head = nn.Conv2d(12, 4, 3)

        def forward(self, x):                          # [1, 3, 40, 40]
            y = torch.relu(self.circ(x))
            y = torch.relu(self.rep(y))
            y = F.pad(y, (-2, -3, -1, 0))              # a crop written as a negative pad
            y = torch.relu(self.refl(y))
            y = F.pad(y, (1, 2, 0, 1), value=0.5)
            y = F.interpolate(y, scale_factor=1.5, mode="nearest")
            return self.head(y)

    return Pads()


def keepinit():
    torch = _torch()
    nn = torch.nn

    class Old(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(cbr(3, 16, s=2), nn.MaxPool2d(2), cbr(16, 32), cbr(32, 32, s=2),
                                   nn.AvgPool2d(2))
            self.fc1, self.fc2 = nn.Linear(32 * 4 * 4, 64), nn.Linear(64, 10)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):                          # [N, 3, 64, 64]
            y = self.f(x)
            y = y.view(y.size(0), -1)
            return torch.softmax(self.fc2(self.drop(torch.relu(self.fc1(y)))), 1)

    return Old()


def tinyyolo():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def cbl(i, o, k=3):
        return nn.Sequential(nn.Conv2d(i, o, k, 1, k // 2, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.1))

    class TinyYolo(nn.Module):
        def __init__(self, na=3, nc=4):
            super().__init__()
            no = na * (5 + nc)
            self.b1 = nn.Sequential(cbl(3, 8), nn.MaxPool2d(2, 2), cbl(8, 16), nn.MaxPool2d(2, 2), cbl(16, 32),
                                    nn.MaxPool2d(2, 2), cbl(32, 48))                   # /8
            self.b2 = nn.Sequential(nn.MaxPool2d(2, 2), cbl(48, 64), nn.ZeroPad2d((0, 1, 0, 1)),
                                    nn.MaxPool2d(2, 1), cbl(64, 64))                   # /16, stride-1 pool
            self.h1 = nn.Sequential(cbl(64, 32, 1), cbl(32, 64), nn.Conv2d(64, no, 1))
            self.lat = cbl(64, 24, 1)
            self.h2 = nn.Sequential(cbl(72, 48), nn.Conv2d(48, no, 1))

        def forward(self, x):
            a = self.b1(x)
            b = self.b2(a)
            # sizes given (torch.onnx writes opset 8's Upsample only for static sizes)
            up = F.interpolate(self.lat(b), size=(int(a.shape[2]), int(a.shape[3])), mode="nearest")
            return self.h1(b), self.h2(torch.cat([up, a], 1))

    return TinyYolo()


def qmobilenet():
    """torchvision's quantizable MobileNetV2 quantized by PyTorch (eager mode)."""
    import torchvision
    torch = _torch()
    torch.backends.quantized.engine = "qnnpack"   # Debian's torch has no fbgemm
    m = torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False)
    randomise_norms(m).eval()
    m.fuse_model()
    m.qconfig = torch.ao.quantization.get_default_qconfig("qnnpack")
    torch.ao.quantization.prepare(m, inplace=True)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for _ in range(4):
            m(torch.rand(2, 3, 160, 160, generator=g) * 2 - 1)
    torch.ao.quantization.convert(m, inplace=True)
    return m


def d2s_dcr(opset=13):
    """A graph as tf2onnx writes tf.nn.depth_to_space/space_to_depth (DCR mode,
    NCHW here), Convs between, a residual Add."""
    import onnx
    from onnx import helper as h, numpy_helper as nh, TensorProto as T
    rng = np.random.default_rng(7)

    def w(name, *shape, s=0.3):
        return nh.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)

    inits = [w("w1", 16, 12, 3, 3), w("b1", 16, s=0.1), w("w2", 32, 4, 3, 3), w("b2", 32, s=0.1),
             w("w3", 12, 8, 3, 3), w("b3", 12, s=0.1)]
    nodes = [
        h.make_node("SpaceToDepth", ["input"], ["s2d"], blocksize=2, name="s2d"),            # [1,12,24,24]
        h.make_node("Conv", ["s2d", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        h.make_node("DepthToSpace", ["r1"], ["d2s"], blocksize=2, mode="DCR", name="d2s_dcr"),  # [1,4,48,48]
        h.make_node("Conv", ["d2s", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv2"),
        h.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        h.make_node("DepthToSpace", ["r2"], ["d2s2"], blocksize=2, mode="CRD", name="d2s_crd"),  # [1,8,48,48]
        h.make_node("Conv", ["d2s2", "w3", "b3"], ["c3"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv3"),
        h.make_node("Add", ["c3", "s2d"], ["sum"], name="res"),
        h.make_node("DepthToSpace", ["sum"], ["output"], blocksize=2, mode="DCR", name="d2s_out"),
    ]
    g = h.make_graph(nodes, "d2s_dcr", [h.make_tensor_value_info("input", T.FLOAT, [1, 3, 48, 48])],
                     [h.make_tensor_value_info("output", T.FLOAT, [1, 3, 48, 48])], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="tf2onnx-style")
    m.ir_version = 7
    onnx.checker.check_model(m, full_check=True)
    return m


def mnasnet_ext(path, x):
    """torchvision mnasnet0_75 saved with external data (PATH.data beside PATH)."""
    import io
    import onnx
    import torchvision
    torch = _torch()
    torch.manual_seed(0)
    m = randomise_norms(torchvision.models.mnasnet0_75(weights=None)).eval()
    buf = io.BytesIO()
    torch.onnx.export(m, (x,), buf, opset_version=13, input_names=["input"], output_names=["output"],
                      do_constant_folding=True)
    mp = onnx.load_from_string(buf.getvalue())
    loc = os.path.basename(path) + ".data"
    for f in (path, os.path.join(os.path.dirname(path), loc)):
        if os.path.exists(f):
            os.remove(f)
    onnx.save_model(mp, path, save_as_external_data=True, all_tensors_to_one_file=True, location=loc,
                    size_threshold=1024)


# name -> (builder, opset, inputs {name: (shape, kind)}, outputs, dynamic axes, export kwargs)
# kind: "f" N(0,1) floats, "u" uniform [0,1) floats, "tok" token ids, "typ" 0/1
# ids, "mask" 0/1 prefix mask, "len" lengths.
SPECS = {
    "style_in_op11": (style_in, 11, {"input": ((1, 3, 64, 64), "u")}, ["output"],
                      {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "oh", 3: "ow"}}, {}),
    "pixshuf_op9_dynhw": (pixshuf, 9, {"input": ((1, 3, 48, 48), "u")}, ["output"],
                          {"input": {2: "height", 3: "width"}, "output": {2: "oh", 3: "ow"}}, {}),
    "d2s_dcr": ("d2s", 13, {"input": ((1, 3, 48, 48), "f")}, ["output"], None, {}),
    "adaptive_odd_op12": (adaptive_odd, 12, {"input": ((1, 3, 60, 84), "f")}, ["output"], None, {}),
    "conformer_dynT": (conformer, 13, {"feats": ((1, 100, 80), "f"), "lengths": ((1,), "len")}, ["logprobs"],
                       {"feats": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                        "logprobs": {0: "batch", 1: "steps"}}, {}),
    "reductions_op12": (reductions, 12, {"input": ((1, 3, 64, 64), "f")},
                        ["logits", "lowest", "lowest_idx", "argmin", "argmax_map"], None, {}),
    "centernet_decode": (centernet_decode, 13, {"input": ((1, 3, 96, 128), "u")}, ["boxes", "scores", "classes"],
                         None, {}),
    "nonzero_mask_op13": (nonzero_mask, 13, {"input": ((1, 3, 32, 32), "f")},
                          ["masked", "picked", "coords", "total"], None, {}),
    "albert_shared": (albert_shared, 13, {"input_ids": ((1, 24), "tok"), "token_type_ids": ((1, 24), "typ"),
                                          "attention_mask": ((1, 24), "mask")}, ["sequence", "pooled"],
                      {"input_ids": {0: "batch", 1: "seq"}, "token_type_ids": {0: "batch", 1: "seq"},
                       "attention_mask": {0: "batch", 1: "seq"}, "sequence": {0: "batch", 1: "seq"},
                       "pooled": {0: "batch"}}, {}),
    "bigru_h0": (bigru_h0, 13, {"x": ((16, 1, 20), "f"), "h0": ((4, 1, 32), "h")}, ["y", "h_n"],
                 {"x": {0: "time", 1: "batch"}, "h0": {1: "batch"}, "y": {0: "time", 1: "batch"},
                  "h_n": {1: "batch"}}, {}),
    "ln_chw_op17": (ln_chw, 17, {"input": ((1, 3, 48, 48), "f")}, ["output"], None, {}),
    "einsum3_op12": (einsum3, 12, {"input": ((2, 16), "f")}, ["output"], {"input": {0: "batch"},
                                                                         "output": {0: "batch"}}, {}),
    "script_if_loop": (script_if_loop, 13, {"input": ((1, 3, 32, 32), "f")}, ["output"], None, {}),
    "padmodes_op13": (padmodes, 13, {"input": ((1, 3, 40, 40), "f")}, ["output"], None, {}),
    "keepinit_op9": (keepinit, 9, {"input": ((1, 3, 64, 64), "f")}, ["prob"],
                     {"input": {0: "batch"}, "prob": {0: "batch"}},
                     {"keep_initializers_as_inputs": True, "do_constant_folding": False}),
    "mnasnet0_75_extdata": ("extdata", 13, {"input": ((1, 3, 224, 224), "f")}, ["output"], None, {}),
    "tinyyolo_op8": (tinyyolo, 8, {"input": ((1, 3, 128, 128), "u")}, ["out16", "out8"], None, {}),
    "qmobilenet_torchq": (qmobilenet, 13, {"input": ((1, 3, 160, 160), "f")}, ["output"], None, {}),
}

# Models whose inputs have no common leading batch axis (time-major x [T, N, 20]
# and h0 [4, N, 32]): each file holds every input whole behind a leading axis of 1.
WHOLE = {"bigru_h0"}

# Other sizes for the symbolic-shape models.
ALT = {"style_in_op11": {"input": (2, 3, 48, 80)}, "pixshuf_op9_dynhw": {"input": (1, 3, 40, 56)},
       "conformer_dynT": {"feats": (3, 61, 80), "lengths": (3,)},
       "albert_shared": {"input_ids": (3, 11), "token_type_ids": (3, 11), "attention_mask": (3, 11)},
       "bigru_h0": {"x": (7, 3, 20), "h0": (4, 3, 32)}, "einsum3_op12": {"input": (5, 16)},
       "keepinit_op9": {"input": (3, 3, 64, 64)}}


def make_input(shape, kind, rng, others=None):
    if kind == "u":
        return rng.random(shape).astype(np.float32)
    if kind == "tok":
        return rng.integers(0, 300, shape).astype(np.int64)
    if kind == "typ":
        return (np.arange(shape[1])[None, :] >= shape[1] // 2).repeat(shape[0], 0).astype(np.int64)
    if kind == "mask":
        keep = rng.integers(max(2, shape[1] // 3), shape[1] + 1, shape[0])
        keep[0] = shape[1]
        return (np.arange(shape[1])[None, :] < keep[:, None]).astype(np.int64)
    if kind == "len":
        t = others["feats"].shape[1]
        ln = rng.integers(t // 2, t + 1, shape).astype(np.int64)
        ln[0] = t
        return ln
    if kind == "h":
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def make_sample(ins, shapes, rng):
    s = {}
    for k, (shape, kind) in ins.items():
        s[k] = make_input(shapes.get(k, shape), kind, rng, s)
    return s


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    torch = _torch()
    builder, opset, ins, outs, axes, kw = SPECS[name]
    rng = np.random.default_rng(23)
    samples = [make_sample(ins, {}, rng) for _ in range(4)]
    path = os.path.join(out, name + ".onnx")
    if builder == "d2s":
        import onnx
        onnx.save(d2s_dcr(opset), path + ".tmp")
        os.replace(path + ".tmp", path)
    elif builder == "extdata":
        mnasnet_ext(path, torch.from_numpy(samples[0]["input"]))
    else:
        torch.manual_seed(0)
        model = builder()
        if name not in ("qmobilenet_torchq", "script_if_loop"):
            model = randomise_norms(model).eval()
        xs = [torch.from_numpy(samples[0][k]) for k in ins]
        exportlib.torch_export(model, xs, path, opset, list(ins), outs, axes, **kw)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    alt = make_sample(ins, ALT[name], rng) if name in ALT else None
    if name in WHOLE:
        samples = [{k: v[None] for k, v in s.items()} for s in samples]
        alt = {k: v[None] for k, v in alt.items()} if alt else None
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    if alt:
        np.savez(os.path.join(out, "data", name + ".alt.npz"), **alt)
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen7); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen7")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        sys.exit(exportlib.ortcheck_main(a[1:]))
    print(__doc__)
    sys.exit(2)
