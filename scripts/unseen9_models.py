#!/usr/bin/python3
"""The --unseen9 export set (fourteenth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen8, --detection, --audio,
--darknet) has, for triage of the whole workflow (scripts/triage_unseen9.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen9 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen9_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics randomised), nothing downloaded. Every
model NAME is written as DIR/NAME.onnx (default DIR out/bench-models-unseen9) with
four samples DIR/data/NAME/s{0..3}.npz (one array per input name), DIR/data/NAME.in.npz
(sample 0) and, for models with symbolic sizes, DIR/data/NAME.alt.npz (an input at
other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- hifigan_dynT: a HiFi-GAN generator (vocoder) on a mel spectrogram [N, 80, T]:
  weight-normed Conv1d, ConvTranspose1d upsampling x8 and x4 (k 16 and 8),
  multi-receptive-field ResBlocks (dilations 1, 3, 5; kernels 3 and 7) averaged,
  LeakyReLU 0.1, Tanh; symbolic N and T.
- whisper_stft_op17: an onnx.helper graph as torch >= 2.1 writes a Whisper-style
  log-mel front end at opset 17: the STFT operator (Hann window, onesided, the
  complex output as a last axis of 2), |.|^2, the last frame dropped, a mel
  MatMul, log10 of Clip(min), max(x, max(x) - 8), (x + 4) / 4; then Conv1d +
  GELU (Erf) encoder, a positional table sliced to the symbolic length,
  LayerNormalization-17, mean over time, Gemm; symbolic N and length.
- yolov8_dfl_op12: a YOLOv8-style detector: C2f blocks (chunk into two, chained
  bottlenecks, Concat), SPPF, an anchor-free decoupled head with Distribution
  Focal Loss decoding (Softmax over 16 bins, a fixed arange 1x1 Conv),
  dist2bbox, anchors and strides; one [1, 4 + 8, A] output.
- poolformer_gn1: a PoolFormer: GroupNorm(1, C), AvgPool2d(3, 1, 1,
  count_include_pad=False) - x as the token mixer, layer scale, 1x1-conv MLP with
  GELU, patch-embedding convs (7x7 s4, 3x3 s2).
- unet_pad_dynhw_op11: the common PyTorch UNet (milesial): bilinear
  align_corners Upsample, F.pad by the size difference computed from Shape at
  run time (Pad with tensor pads), skip Concats; symbolic N, H and W (odd sizes
  in the .alt.npz, so the pads are not zero).
- mha_kdim_op14: nn.MultiheadAttention(batch_first=True, kdim, vdim): separate
  q/k/v projection weights, a bool key_padding_mask input, averaged attention
  weights as an output; then self-attention with a causal -inf mask built from
  the symbolic length (Trilu); symbolic N, Lq and Lk.
- tf2onnx_bert_int32: an onnx.helper graph as tf2onnx writes a TF BERT layer:
  int32 input_ids, input_mask and segment_ids, Gather by int32 ids, token types
  by OneHot + MatMul, positions sliced by Shape, TF LayerNorm (Sub/Mul
  SquaredDifference, Sqrt + Reciprocal, x * scale + (beta - mean * scale)),
  attention reshapes from Shape, Erf GELU, start/end logits by
  Transpose + Split + Squeeze, an int32 ArgMax output; symbolic N and S.
- dynamo_op18: an onnx.helper graph with the opset-18 spellings of the newer
  exporters: Reduce* with axes as an input, Split with num_outputs, Pad with an
  axes input (reflect), Mish, Col2Im (F.fold, overlapping 3x3 blocks),
  LayerNormalization; weights saved as external data, one file per tensor.
- newer_op21: an onnx.helper graph of opset 19-21 operators: GroupNormalization-21
  (scale and bias per channel), Gelu-20 (erf and tanh), AffineGrid-20 feeding
  GridSample with opset 20's mode name "linear" and border padding; symbolic N.
- constants_op15: an onnx.helper graph of Constant-node spellings: value_float,
  value_floats, value_int, value_ints, a tensor value; Shape with start/end
  (opset 15), CastLike, BatchNormalization-15, Clip with only a max input,
  ConstantOfShape without a value, weights through Identity; symbolic N.
- hardtanh_op9, hardtanh_op12: one quantization-friendly net at two opsets
  (Clip by attributes, Clip by inputs with an empty max): ReLU6, Hardtanh(-1, 1),
  Hardtanh(-2.5, 2.5), clamp(min=0) alone, clamp(max=4) alone, per-channel
  tensor bounds (Min/Max), depthwise separable convs.
- scatter_add_op16: scatter_add (ScatterElements reduction="add"), index_put
  with accumulate=True (ScatterND reduction="add"), gather, segment means;
  int64 segment and index inputs; symbolic N.
- seq2seq_lstmcell: an LSTM encoder and a Luong-attention LSTMCell decoder
  unrolled for 5 greedy steps (ArgMax -> Embedding), masked by padding tokens;
  int64 tokens [N, S]; logits and int64 tokens out; symbolic N and S.
- vit_interp_pos_dynhw_op13: a ViT whose position embeddings are resized to the
  patch grid by bicubic F.interpolate to a size from Shape (DINO/timm
  dynamic_img_size); symbolic N, H, W.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

MODELS = ["hifigan_dynT", "whisper_stft_op17", "yolov8_dfl_op12", "poolformer_gn1", "unet_pad_dynhw_op11",
          "mha_kdim_op14", "tf2onnx_bert_int32", "dynamo_op18", "newer_op21", "constants_op15", "hardtanh_op9",
          "hardtanh_op12", "scatter_add_op16", "seq2seq_lstmcell", "vit_interp_pos_dynhw_op13"]


def _torch():
    import torch
    return torch


def randomise_norms(model):
    """Random BatchNorm statistics and affines, random LayerNorm/GroupNorm affines."""
    torch = _torch()
    nn = torch.nn
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)) and \
                    getattr(m, "weight", None) is not None:
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
    return model


# ------------------------------------------------------------------ HiFi-GAN

def hifigan():
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    wn = nn.utils.weight_norm

    class ResBlock(nn.Module):
        def __init__(self, ch, k, ds):
            super().__init__()
            self.c1 = nn.ModuleList(wn(nn.Conv1d(ch, ch, k, 1, dilation=d, padding=(k * d - d) // 2)) for d in ds)
            self.c2 = nn.ModuleList(wn(nn.Conv1d(ch, ch, k, 1, padding=(k - 1) // 2)) for _ in ds)

        def forward(self, x):
            for c1, c2 in zip(self.c1, self.c2):
                xt = c2(F.leaky_relu(c1(F.leaky_relu(x, 0.1)), 0.1))
                x = xt + x
            return x

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = wn(nn.Conv1d(80, 64, 7, 1, padding=3))
            self.ups = nn.ModuleList([wn(nn.ConvTranspose1d(64, 32, 16, 8, padding=4)),
                                      wn(nn.ConvTranspose1d(32, 16, 8, 4, padding=2))])
            self.rbs = nn.ModuleList()
            for ch in (32, 16):
                for k in (3, 7):
                    self.rbs.append(ResBlock(ch, k, (1, 3, 5)))
            self.post = wn(nn.Conv1d(16, 1, 7, 1, padding=3))

        def forward(self, mel):
            x = self.pre(mel)
            for i, up in enumerate(self.ups):
                x = up(F.leaky_relu(x, 0.1))
                x = (self.rbs[2 * i](x) + self.rbs[2 * i + 1](x)) / 2
            return torch.tanh(self.post(F.leaky_relu(x)))

    return Generator()


def hifigan_inputs(rng, alt):
    n, t = (2, 21) if alt else (1, 32)
    return {"mel": (rng.standard_normal((n, 80, t)) - 2).astype(np.float32)}


# ------------------------------------------------------------------ Whisper STFT front end (helper)

def whisper_stft_op17():
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(17)
    nfft, hop, nmel, d = 64, 16, 20, 32
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nfft) / nfft)).astype(np.float32)  # periodic Hann
    nb = nfft // 2 + 1
    mel = np.maximum(0, 1 - np.abs(np.linspace(0, nmel - 1, nb)[:, None] - np.arange(nmel)[None, :])).astype(
        np.float32)  # triangular filters [bins, mels]
    sig = node("Unsqueeze", ["audio", const("ax_last", np.array([-1], np.int64))], ["sig"])   # [N, L, 1]
    st = node("STFT", [sig, const("hop", np.array(hop, np.int64)), const("window", win)], ["stft"], onesided=1)
    p = node("Pow", [st, const("two", np.array(2, np.float32))], ["pow"])
    mag = node("ReduceSum", [p, const("ax_m1", np.array([-1], np.int64))], ["mag"], keepdims=0)   # [N, F, bins]
    mag = node("Slice", [mag, const("s0", np.array([0], np.int64)), const("sm1", np.array([-1], np.int64)),
                         const("s1", np.array([1], np.int64))], ["mag_cut"])
    m = node("MatMul", [mag, const("mel_fb", mel)], ["melspec"])
    m = node("Clip", [m, const("eps", np.array(1e-10, np.float32)), ""], ["mel_clip"])
    lg = node("Div", [node("Log", [m], ["ln"]), const("ln10", np.array(math.log(10), np.float32))], ["log10"])
    mx = node("Sub", [node("ReduceMax", [lg], ["gmax"], keepdims=0), const("eight", np.array(8, np.float32))],
              ["floor8"])
    lg = node("Max", [lg, mx], ["logc"])
    lg = node("Div", [node("Add", [lg, const("four", np.array(4, np.float32))], ["l4"]), "four"], ["logmel_t"])
    x = node("Transpose", [lg], ["logmel"], perm=[0, 2, 1])                                # [N, mels, F]

    def gelu(x, tag):
        e = node("Erf", [node("Div", [x, const("sqrt2_" + tag, np.array(math.sqrt(2), np.float32))],
                              [tag + "_d"])], [tag + "_erf"])
        h = node("Add", [e, const("one_" + tag, np.array(1, np.float32))], [tag + "_a"])
        return node("Mul", [node("Mul", [x, h], [tag + "_m"]), const("half_" + tag, np.array(0.5, np.float32))],
                    [tag + "_gelu"])

    def conv(x, tag, ci, co, s):
        w = const(tag + "_w", (rng.standard_normal((co, ci, 3)) / math.sqrt(3 * ci)).astype(np.float32))
        b = const(tag + "_b", (rng.standard_normal(co) * 0.05).astype(np.float32))
        return node("Conv", [x, w, b], [tag], kernel_shape=[3], pads=[1, 1], strides=[s])

    x = gelu(conv(x, "conv1", nmel, d, 1), "g1")
    x = gelu(conv(x, "conv2", d, d, 2), "g2")
    x = node("Transpose", [x], ["frames"], perm=[0, 2, 1])                                   # [N, F', d]
    flen = node("Gather", [node("Shape", [x], ["fshape"]), const("i1", np.array([1], np.int64))], ["flen"], axis=0)
    pos = node("Slice", [const("pos_table", (rng.standard_normal((256, d)) * 0.1).astype(np.float32)), "s0", flen,
                         const("a0", np.array([0], np.int64))], ["pos"])
    x = node("Add", [x, pos], ["x_pos"])
    x = node("LayerNormalization", [x, const("ln_g", (1 + 0.1 * rng.standard_normal(d)).astype(np.float32)),
                                    const("ln_b", (0.1 * rng.standard_normal(d)).astype(np.float32))], ["x_ln"],
             axis=-1, epsilon=1e-5)
    x = node("ReduceMean", [x], ["pooled"], axes=[1], keepdims=0)
    node("Gemm", [x, const("head_w", (rng.standard_normal((10, d)) * 0.2).astype(np.float32)),
                  const("head_b", np.zeros(10, np.float32))], ["logits"], transB=1)
    graph = helper.make_graph(
        nodes, "whisper_stft", [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["N", "L"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
         helper.make_tensor_value_info("logmel", TensorProto.FLOAT, ["N", nmel, "F"])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def whisper_inputs(rng, alt):
    n, length = (2, 1200) if alt else (1, 1600)
    t = np.arange(length) / 8000.0
    a = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 1500, (n, 1)) * t) + 0.05 * rng.standard_normal((n, length))
    return {"audio": a.astype(np.float32)}


# ------------------------------------------------------------------ YOLOv8 with DFL

def yolov8_dfl():
    torch = _torch()
    nn = torch.nn

    class Conv(nn.Module):
        def __init__(self, i, o, k=1, s=1):
            super().__init__()
            self.conv = nn.Conv2d(i, o, k, s, k // 2, bias=False)
            self.bn = nn.BatchNorm2d(o)
            self.act = nn.SiLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class Bottleneck(nn.Module):
        def __init__(self, c, shortcut=True):
            super().__init__()
            self.cv1, self.cv2 = Conv(c, c, 3), Conv(c, c, 3)
            self.add = shortcut

        def forward(self, x):
            return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))

    class C2f(nn.Module):
        def __init__(self, c1, c2, n=1, shortcut=True):
            super().__init__()
            self.c = c2 // 2
            self.cv1 = Conv(c1, 2 * self.c, 1)
            self.cv2 = Conv((2 + n) * self.c, c2, 1)
            self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

        def forward(self, x):
            y = list(self.cv1(x).chunk(2, 1))
            y.extend(m(y[-1]) for m in self.m)
            return self.cv2(torch.cat(y, 1))

    class SPPF(nn.Module):
        def __init__(self, c1, c2, k=5):
            super().__init__()
            c_ = c1 // 2
            self.cv1, self.cv2 = Conv(c1, c_, 1), Conv(c_ * 4, c2, 1)
            self.m = nn.MaxPool2d(k, 1, k // 2)

        def forward(self, x):
            x = self.cv1(x)
            y1 = self.m(x)
            y2 = self.m(y1)
            return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))

    class DFL(nn.Module):
        def __init__(self, c1=16):
            super().__init__()
            self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
            self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
            self.c1 = c1

        def forward(self, x):
            b, c, a = x.shape
            return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)

    NC, RM = 8, 16

    class Detect(nn.Module):
        def __init__(self, ch, strides):
            super().__init__()
            c2, c3 = max(16, ch[0] // 4, RM * 4), max(ch[0], NC)
            self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * RM, 1))
                                     for x in ch)
            self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, NC, 1))
                                     for x in ch)
            self.dfl = DFL(RM)
            self.strides = strides

        def forward(self, xs):
            xs = [torch.cat((self.cv2[i](x), self.cv3[i](x)), 1) for i, x in enumerate(xs)]
            anchors, strides = [], []
            for x, s in zip(xs, self.strides):
                _, _, h, w = x.shape
                sx = torch.arange(end=w, dtype=torch.float32) + 0.5
                sy = torch.arange(end=h, dtype=torch.float32) + 0.5
                yy, xx = torch.meshgrid(sy, sx, indexing="ij")
                anchors.append(torch.stack((xx, yy), -1).view(-1, 2))
                strides.append(torch.full((h * w, 1), float(s)))
            anchors, strides = torch.cat(anchors).transpose(0, 1), torch.cat(strides).transpose(0, 1)
            b = xs[0].shape[0]
            x = torch.cat([xi.view(b, 4 * RM + NC, -1) for xi in xs], 2)
            box, cls = x.split((4 * RM, NC), 1)
            dist = self.dfl(box)
            lt, rb = dist.chunk(2, 1)
            a = anchors.unsqueeze(0)
            x1y1, x2y2 = a - lt, a + rb
            dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
            return torch.cat((dbox, cls.sigmoid()), 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.b0 = nn.Sequential(Conv(3, 16, 3, 2), Conv(16, 32, 3, 2), C2f(32, 32, 1))
            self.b1 = nn.Sequential(Conv(32, 64, 3, 2), C2f(64, 64, 2))
            self.b2 = nn.Sequential(Conv(64, 96, 3, 2), C2f(96, 96, 2))
            self.b3 = nn.Sequential(Conv(96, 128, 3, 2), C2f(128, 128, 1), SPPF(128, 128))
            self.up = nn.Upsample(None, 2, "nearest")
            self.h1 = C2f(128 + 96, 96, 1, False)
            self.h2 = C2f(96 + 64, 64, 1, False)
            self.d2 = Conv(64, 64, 3, 2)
            self.h3 = C2f(64 + 96, 96, 1, False)
            self.d3 = Conv(96, 96, 3, 2)
            self.h4 = C2f(96 + 128, 128, 1, False)
            self.det = Detect((64, 96, 128), (8, 16, 32))

        def forward(self, x):
            p3 = self.b1(self.b0(x))
            p4 = self.b2(p3)
            p5 = self.b3(p4)
            t4 = self.h1(torch.cat((self.up(p5), p4), 1))
            o3 = self.h2(torch.cat((self.up(t4), p3), 1))
            o4 = self.h3(torch.cat((self.d2(o3), t4), 1))
            o5 = self.h4(torch.cat((self.d3(o4), p5), 1))
            return self.det([o3, o4, o5])

    return Net()


# ------------------------------------------------------------------ PoolFormer

def poolformer():
    torch = _torch()
    nn = torch.nn

    class Pooling(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

        def forward(self, x):
            return self.pool(x) - x

    class Block(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.norm1, self.norm2 = nn.GroupNorm(1, d), nn.GroupNorm(1, d)
            self.mixer = Pooling()
            self.mlp = nn.Sequential(nn.Conv2d(d, 4 * d, 1), nn.GELU(), nn.Conv2d(4 * d, d, 1))
            self.ls1 = nn.Parameter(0.5 + 0.1 * torch.randn(d))
            self.ls2 = nn.Parameter(0.5 + 0.1 * torch.randn(d))

        def forward(self, x):
            x = x + self.ls1.unsqueeze(-1).unsqueeze(-1) * self.mixer(self.norm1(x))
            return x + self.ls2.unsqueeze(-1).unsqueeze(-1) * self.mlp(self.norm2(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            dims, depth = (32, 64, 128, 160), (1, 1, 2, 1)
            layers = [nn.Conv2d(3, dims[0], 7, 4, 2)]
            for i, (d, n) in enumerate(zip(dims, depth)):
                if i:
                    layers.append(nn.Conv2d(dims[i - 1], d, 3, 2, 1))
                layers += [Block(d) for _ in range(n)]
            self.body = nn.Sequential(*layers)
            self.norm = nn.GroupNorm(1, dims[-1])
            self.head = nn.Linear(dims[-1], 10)

        def forward(self, x):
            return self.head(self.norm(self.body(x)).mean([-2, -1]))

    return Net()


# ------------------------------------------------------------------ UNet with run-time pads

def unet_pad():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    def dconv(i, o, mid=None):
        mid = mid or o
        return nn.Sequential(nn.Conv2d(i, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                             nn.Conv2d(mid, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    class Up(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = dconv(i, o, i // 2)

        def forward(self, x1, x2):
            x1 = self.up(x1)
            dy = x2.size()[2] - x1.size()[2]
            dx = x2.size()[3] - x1.size()[3]
            x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
            return self.conv(torch.cat([x2, x1], dim=1))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inc = dconv(3, 8)
            self.d1 = nn.Sequential(nn.MaxPool2d(2), dconv(8, 16))
            self.d2 = nn.Sequential(nn.MaxPool2d(2), dconv(16, 32))
            self.d3 = nn.Sequential(nn.MaxPool2d(2), dconv(32, 32))
            self.u1, self.u2, self.u3 = Up(64, 16), Up(32, 8), Up(16, 8)
            self.outc = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.d1(x1)
            x3 = self.d2(x2)
            x4 = self.d3(x3)
            return self.outc(self.u3(self.u2(self.u1(x4, x3), x2), x1))

    return UNet()


# ------------------------------------------------------------------ MultiheadAttention kdim/vdim

def mha_kdim():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cross = nn.MultiheadAttention(32, 4, batch_first=True, kdim=24, vdim=20)
            self.self_attn = nn.MultiheadAttention(32, 4, batch_first=True)
            self.ln = nn.LayerNorm(32)

        def forward(self, query, key, value, key_padding_mask):
            a, w = self.cross(query, key, value, key_padding_mask=key_padding_mask)
            x = self.ln(query + a)
            n = x.size(1)
            causal = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
            s, _ = self.self_attn(x, x, x, attn_mask=causal)
            return x + s, w

    return Net()


def mha_inputs(rng, alt):
    n, lq, lk = (3, 4, 9) if alt else (2, 5, 7)
    keep = rng.integers(2, lk + 1, n)
    keep[0] = lk
    return {"query": rng.standard_normal((n, lq, 32)).astype(np.float32),
            "key": rng.standard_normal((n, lk, 24)).astype(np.float32),
            "value": rng.standard_normal((n, lk, 20)).astype(np.float32),
            "key_padding_mask": np.arange(lk)[None, :] >= keep[:, None]}


# ------------------------------------------------------------------ tf2onnx BERT (helper)

BERT_V, BERT_D, BERT_H = 200, 48, 4


def tf2onnx_bert_int32():
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(13)
    D, H = BERT_D, BERT_H
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def w(name, *shape, scale=None):
        s = scale if scale is not None else 1 / math.sqrt(shape[0])
        return const(name, (rng.standard_normal(shape) * s).astype(np.float32))

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    def ln(x, tag):
        mean = node("ReduceMean", [x], [tag + "/mean"], axes=[-1], keepdims=1)
        d = node("Sub", [x, mean], [tag + "/sd_sub"])
        var = node("ReduceMean", [node("Mul", [d, d], [tag + "/sd"])], [tag + "/var"], axes=[-1], keepdims=1)
        rstd = node("Reciprocal", [node("Sqrt", [node("Add", [var, const(tag + "/eps", np.array(1e-12, np.float32))],
                                                      [tag + "/ve"])], [tag + "/sqrt"])], [tag + "/rsqrt"])
        scale = node("Mul", [rstd, w(tag + "/gamma", D, scale=0.1)], [tag + "/scale"])
        shift = node("Sub", [w(tag + "/beta", D, scale=0.1), node("Mul", [mean, scale], [tag + "/ms"])],
                     [tag + "/shift"])
        return node("Add", [node("Mul", [x, scale], [tag + "/xs"]), shift], [tag + "/out"])

    def dense(x2d, tag, i, o):
        return node("Add", [node("MatMul", [x2d, w(tag + "/kernel", i, o)], [tag + "/mm"]),
                            w(tag + "/bias", o, scale=0.05)], [tag + "/BiasAdd"])

    ids = "input_ids"
    shp = node("Shape", [ids], ["ids_shape"])
    nb = node("Slice", [shp, const("c0", np.array([0], np.int64)), const("c1", np.array([1], np.int64)), "c0"],
              ["n_dim"])
    sq = node("Slice", [shp, "c1", const("c2", np.array([2], np.int64)), "c0"], ["s_dim"])
    # ONNX Runtime (and the int32 tensors the converter emits) take Gather indices in int32.
    x = node("Gather", [w("bert/embeddings/word_embeddings", BERT_V, D, scale=0.5), ids], ["word"], axis=0)
    oh = node("OneHot", ["segment_ids", const("depth", np.array([2], np.int32)),
                         const("oh_values", np.array([0, 1], np.float32))], ["tt_onehot"], axis=-1)
    x = node("Add", [x, node("MatMul", [oh, w("bert/embeddings/token_type_embeddings", 2, D, scale=0.5)],
                             ["tt_emb"])], ["emb_wt"])
    pos = node("Slice", [w("bert/embeddings/position_embeddings", 64, D, scale=0.3), "c0", sq, "c0"], ["pos"])
    x = ln(node("Add", [x, pos], ["emb"]), "bert/embeddings/LayerNorm")
    mask = node("Cast", ["input_mask"], ["mask_f"], to=TensorProto.FLOAT)
    mask = node("Unsqueeze", [mask, const("ax12", np.array([1, 2], np.int64))], ["mask_u"])                              # [N, 1, 1, S]
    mask = node("Mul", [node("Sub", [const("one", np.array(1, np.float32)), mask], ["mask_inv"]),
                        const("neg", np.array(-10000.0, np.float32))], ["mask_add"])
    x2 = node("Reshape", [x, const("flat", np.array([-1, D], np.int64))], ["x2d"])
    heads = node("Concat", [nb, sq, const("hd", np.array([H, D // H], np.int64))], ["heads_shape"], axis=0)

    def proj(tag, perm):
        t = node("Reshape", [dense(x2, "bert/encoder/layer_0/attention/self/" + tag, D, D), heads], [tag + "_4d"])
        return node("Transpose", [t], [tag + "_t"], perm=perm)

    q, k, v = proj("query", [0, 2, 1, 3]), proj("key", [0, 2, 3, 1]), proj("value", [0, 2, 1, 3])
    s = node("Mul", [node("MatMul", [q, k], ["qk"]), const("scale", np.array(1 / math.sqrt(D // H), np.float32))],
             ["qk_s"])
    p = node("Softmax", [node("Add", [s, mask], ["qk_m"])], ["probs"], axis=-1)
    ctx = node("Transpose", [node("MatMul", [p, v], ["ctx4"])], ["ctx_t"], perm=[0, 2, 1, 3])
    ctx = node("Reshape", [ctx, "flat"], ["ctx2d"])
    a = dense(ctx, "bert/encoder/layer_0/attention/output/dense", D, D)
    x2 = ln(node("Add", [a, x2], ["att_res"]), "bert/encoder/layer_0/attention/output/LayerNorm")
    hmid = dense(x2, "bert/encoder/layer_0/intermediate/dense", D, 4 * D)
    e = node("Erf", [node("Mul", [hmid, const("rsqrt2", np.array(1 / math.sqrt(2), np.float32))], ["gx"])], ["gerf"])
    g = node("Mul", [node("Mul", [hmid, const("half", np.array(0.5, np.float32))], ["gh"]),
                     node("Add", [e, "one"], ["g1"])], ["gelu"])
    o = dense(g, "bert/encoder/layer_0/output/dense", 4 * D, D)
    x2 = ln(node("Add", [o, x2], ["ffn_res"]), "bert/encoder/layer_0/output/LayerNorm")
    lg = dense(x2, "cls/squad/output", D, 2)
    lg = node("Reshape", [lg, node("Concat", [nb, sq, const("two", np.array([2], np.int64))], ["lg_shape"], axis=0)],
              ["logits3"])
    lg = node("Transpose", [lg], ["logits_t"], perm=[2, 0, 1])
    node("Split", [lg], ["st", "en"], axis=0)
    node("Squeeze", ["st", "c0"], ["start_logits"])
    node("Squeeze", ["en", "c0"], ["end_logits"])
    node("Cast", [node("ArgMax", ["start_logits"], ["start_i64"], axis=1, keepdims=0)], ["start_pos"],
         to=TensorProto.INT32)
    ins = [helper.make_tensor_value_info(n, TensorProto.INT32, ["unk__0", "unk__1"])
           for n in ("input_ids", "input_mask", "segment_ids")]
    outs = [helper.make_tensor_value_info("start_logits", TensorProto.FLOAT, ["unk__0", "unk__1"]),
            helper.make_tensor_value_info("end_logits", TensorProto.FLOAT, ["unk__0", "unk__1"]),
            helper.make_tensor_value_info("start_pos", TensorProto.INT32, ["unk__0"])]
    m = helper.make_model(helper.make_graph(nodes, "tf2onnx", ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def bert_inputs(rng, alt):
    n, s = (3, 11) if alt else (1, 24)
    keep = rng.integers(max(2, s // 2), s + 1, n)
    keep[0] = s
    seg = (np.arange(s)[None, :] >= (keep[:, None] // 2)).astype(np.int32)
    return {"input_ids": rng.integers(0, BERT_V, (n, s)).astype(np.int32),
            "input_mask": (np.arange(s)[None, :] < keep[:, None]).astype(np.int32),
            "segment_ids": seg}


# ------------------------------------------------------------------ opset 18 (helper, external data)

def dynamo_op18():
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(18)
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    def conv(x, tag, ci, co, k=3, s=1):
        w = const(tag + ".weight", (rng.standard_normal((co, ci, k, k)) / math.sqrt(k * k * ci)).astype(np.float32))
        b = const(tag + ".bias", (rng.standard_normal(co) * 0.05).astype(np.float32))
        return node("Conv", [x, w, b], [tag], kernel_shape=[k, k], pads=[k // 2] * 4, strides=[s, s])

    x = node("Mish", [conv("x", "conv1", 3, 16, 3, 2)], ["mish1"])                       # [N, 16, 16, 16]
    mean = node("ReduceMean", [x, const("ax23", np.array([2, 3], np.int64))], ["mean23"], keepdims=1)
    x = node("Sub", [x, mean], ["centered"])
    a, b = "half_a", "half_b"
    node("Split", [x], [a, b], axis=1, num_outputs=2)
    a = node("Pad", [a, const("pads", np.array([1, 2, 1, 0], np.int64)), "", const("pax", np.array([2, 3], np.int64))],
             ["pad_a"], mode="reflect")                                                   # [N, 8, 18, 18]
    a = conv(a, "conv_a", 8, 8, 3)
    a = node("Slice", [a, const("sl_s", np.array([1, 1], np.int64)), const("sl_e", np.array([17, 17], np.int64)),
                       "ax23"], ["crop_a"])
    # F.fold: overlapping 3x3 blocks summed back into a 16x16 image (Col2Im)
    cols = conv(b, "conv_cols", 8, 8 * 9, 3)                                             # [N, 72, 16, 16]
    cols = node("Reshape", [cols, const("cols_shape", np.array([0, 72, 256], np.int64))], ["cols"])
    b = node("Col2Im", [cols, const("img", np.array([16, 16], np.int64)), const("blk", np.array([3, 3], np.int64))],
             ["fold"], pads=[1, 1, 1, 1])
    x = node("Concat", [a, b], ["cat"], axis=1)
    x = node("LayerNormalization", [x, const("ln.weight", (1 + 0.1 * rng.standard_normal(16)).astype(np.float32)),
                                    const("ln.bias", (0.1 * rng.standard_normal(16)).astype(np.float32))],
             ["ln"], axis=-1)
    x = node("Mish", [conv(node("Transpose", [x], ["ln_t"], perm=[0, 3, 2, 1]), "conv2", 16, 32, 3, 2)], ["mish2"])
    mx = node("ReduceMax", [x, const("ax3", np.array([3], np.int64))], ["rmax"], keepdims=0)      # [N, 32, 8]
    sm = node("ReduceSum", [mx, const("ax2", np.array([2], np.int64))], ["rsum"], keepdims=0)     # [N, 32]
    l2 = node("ReduceL2", [x, "ax23"], ["rl2"], keepdims=0)
    x = node("Concat", [sm, l2], ["feat"], axis=1)
    node("Gemm", [x, const("fc.weight", (rng.standard_normal((10, 64)) * 0.1).astype(np.float32)),
                  const("fc.bias", np.zeros(10, np.float32))], ["logits"], transB=1)
    graph = helper.make_graph(
        nodes, "main_graph", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="pytorch")
    m.ir_version = 8
    return m  # onnx 1.12 knows opsets up to 17: no checker; ONNX Runtime is the oracle


# ------------------------------------------------------------------ opset 21 (helper)

def newer_op21():
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(21)
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    def conv(x, tag, ci, co, k=3, s=1):
        w = const(tag + ".weight", (rng.standard_normal((co, ci, k, k)) / math.sqrt(k * k * ci)).astype(np.float32))
        b = const(tag + ".bias", (rng.standard_normal(co) * 0.05).astype(np.float32))
        return node("Conv", [x, w, b], [tag], kernel_shape=[k, k], pads=[k // 2] * 4, strides=[s, s])

    x = conv("x", "conv1", 3, 16)
    x = node("GroupNormalization", [x, const("gn.weight", (1 + 0.2 * rng.standard_normal(16)).astype(np.float32)),
                                    const("gn.bias", (0.1 * rng.standard_normal(16)).astype(np.float32))],
             ["gn"], num_groups=4, epsilon=1e-5)
    x = node("Gelu", [x], ["gelu_erf"])
    x = node("Gelu", [conv(x, "conv2", 16, 16)], ["gelu_tanh"], approximate="tanh")
    # a spatial transformer: theta from the pooled features, AffineGrid-20, GridSample-20 names
    pooled = node("ReduceMean", [x, const("ax23", np.array([2, 3], np.int64))], ["pooled"], keepdims=0)
    theta = node("Gemm", [pooled, const("loc.weight", (rng.standard_normal((6, 16)) * 0.02).astype(np.float32)),
                          const("loc.bias", np.array([1, 0, 0, 0, 1, 0], np.float32))], ["theta6"], transB=1)
    theta = node("Reshape", [theta, const("th_shape", np.array([-1, 2, 3], np.int64))], ["theta"])
    grid = node("AffineGrid", [theta, node("Shape", [x], ["xshape"])], ["grid"], align_corners=0)
    x = node("GridSample", [x, grid], ["warped"], mode="linear", padding_mode="border", align_corners=0)
    # (Resize-18 with antialias=1, F.interpolate(antialias=True), is refused naming the
    # node: not implemented; the plain linear downscale here)
    x = node("Resize", [x, "", const("scales", np.array([1, 1, 0.5, 0.5], np.float32))], ["down"], mode="linear")
    x = node("ReduceMean", [x, "ax23"], ["feat"], keepdims=0)
    node("Gemm", [x, const("fc.weight", (rng.standard_normal((10, 16)) * 0.3).astype(np.float32)),
                  const("fc.bias", np.zeros(10, np.float32))], ["logits"], transB=1)
    graph = helper.make_graph(
        nodes, "main_graph", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 24, 24])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], producer_name="pytorch")
    m.ir_version = 10
    return m  # onnx 1.12 knows opsets up to 17: no checker; ONNX Runtime is the oracle


# ------------------------------------------------------------------ Constant spellings (helper)

def constants_op15():
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(15)
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    def ident(name, a):  # a weight fed through Identity
        return node("Identity", [const(name + "_raw", a)], [name])

    C = 4
    w1 = ident("w1", (rng.standard_normal((16, C, 3, 3)) / 6).astype(np.float32))
    x = node("Conv", ["x", w1], ["conv1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    bias = node("Constant", [], ["bias16"], value_floats=list((rng.standard_normal(16) * 0.1).astype(float)))
    x = node("Add", [x, node("Unsqueeze", [bias, node("Constant", [], ["ax12"], value_ints=[1, 2])], ["bias_u"])],
             ["conv1b"])
    bn = [(1 + 0.2 * rng.standard_normal(16)).astype(np.float32), (0.1 * rng.standard_normal(16)).astype(np.float32),
          (0.1 * rng.standard_normal(16)).astype(np.float32), rng.uniform(0.5, 2, 16).astype(np.float32)]
    x = node("BatchNormalization", [x] + [const(f"bn{i}", a) for i, a in enumerate(bn)], ["bn"], epsilon=1e-3,
             training_mode=0)
    six = node("Constant", [], ["six"], value_float=6.0)
    x = node("Clip", [x, "", six], ["clip_max"])                                          # min(x, 6) only
    x = node("Mul", [x, node("Constant", [], ["half"], value_float=0.5)], ["scaled"])
    hw = node("Shape", [x], ["hw"], start=2, end=4)                                        # [H, W]
    nc = node("Shape", [x], ["nc"], end=2)                                                 # [N, C]
    flat = node("Reshape", [x, node("Concat", [nc, node("Constant", [], ["m1"], value_ints=[-1])], ["flat_shape"],
                                    axis=0)], ["flat"])                                     # [N, 16, H*W]
    area = node("ReduceProd", [hw], ["area"], keepdims=1)
    mean = node("Div", [node("ReduceSum", [flat, node("Constant", [], ["ax_last"], value_ints=[-1])], ["fsum"],
                             keepdims=0),
                        node("CastLike", [area, flat], ["area_f"])], ["gmean"])             # [N, 16]
    zeros = node("ConstantOfShape", [node("Shape", [mean], ["mshape"])], ["zeros"])        # float 0 by default
    mean = node("Max", [mean, zeros], ["gmean_relu"])
    pick = node("Gather", [flat, node("Constant", [], ["idx"], value_int=5)], ["pix5"], axis=2)   # [N, 16]
    tval = helper.make_tensor("fc_w", TensorProto.FLOAT, [32, 10],
                              (rng.standard_normal((32, 10)) * 0.2).astype(np.float32).ravel().tolist())
    fw = node("Constant", [], ["fc_w_c"], value=tval)
    node("MatMul", [node("Concat", [mean, pick], ["feat"], axis=1), fw], ["logits"])
    graph = helper.make_graph(
        nodes, "constants", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", C, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], producer_name="onnx-example")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


# ------------------------------------------------------------------ Hardtanh / Clip spellings

def hardtanh_net():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    def cb(i, o, k=3, s=1, g=1):
        return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(o))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = cb(3, 16, 3, 2)
            self.dw1, self.pw1 = cb(16, 16, 3, 1, 16), cb(16, 32, 1)
            self.dw2, self.pw2 = cb(32, 32, 3, 2, 32), cb(32, 48, 1)
            self.dw3, self.pw3 = cb(48, 48, 3, 1, 48), cb(48, 48, 1)
            self.dw4, self.pw4 = cb(48, 48, 3, 2, 48), cb(48, 64, 1)
            self.ht = nn.Hardtanh()
            self.lo = nn.Parameter(-0.5 - torch.rand(48, 1, 1))
            self.hi = nn.Parameter(0.5 + torch.rand(48, 1, 1))
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = F.relu6(self.c1(x))
            x = self.ht(self.dw1(x))                        # Hardtanh(-1, 1)
            x = F.hardtanh(self.pw1(x), -2.5, 2.5)
            x = torch.clamp(self.dw2(x), min=0)             # min only
            x = torch.clamp(self.pw2(x), max=4)             # max only
            x = torch.max(torch.min(self.dw3(x), self.hi), self.lo)   # per-channel tensor bounds
            x = F.relu6(self.pw3(x)) + x
            x = F.relu6(self.pw4(F.relu6(self.dw4(x))))
            return self.fc(x.mean([2, 3]))

    return Net()


# ------------------------------------------------------------------ scatter_add / index_put accumulate

def scatter_add():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(16, 16)

        def forward(self, feats, seg, idx):
            f = torch.tanh(self.proj(feats))                                     # [N, 12, 16]
            n = f.size(0)
            sums = torch.zeros(n, 6, 16).scatter_add(1, seg.unsqueeze(-1).expand(-1, -1, 16), f)
            cnt = torch.zeros(n, 6).scatter_add(1, seg, torch.ones_like(seg, dtype=torch.float32))
            means = sums / cnt.clamp(min=1).unsqueeze(-1)
            totals = torch.zeros(6, 16).index_put((seg.reshape(-1),), f.reshape(-1, 16), accumulate=True)
            picked = torch.gather(f, 1, idx.unsqueeze(-1).expand(-1, -1, 16))
            return means, totals, picked

    return Net()


def scatter_inputs(rng, alt):
    n = 3 if alt else 2
    return {"feats": rng.standard_normal((n, 12, 16)).astype(np.float32),
            "seg": rng.integers(0, 6, (n, 12)).astype(np.int64),
            "idx": rng.integers(0, 12, (n, 4)).astype(np.int64)}


# ------------------------------------------------------------------ seq2seq with an LSTMCell decoder

S2S_V, S2S_STEPS = 50, 5


def seq2seq():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(S2S_V, 32, padding_idx=0)
            self.enc = nn.LSTM(32, 48, batch_first=True)
            self.cell = nn.LSTMCell(32 + 48, 48)
            self.attn = nn.Linear(48, 48, bias=False)
            self.out = nn.Linear(96, S2S_V)

        def forward(self, src):
            mem, (h, c) = self.enc(self.emb(src))                 # [N, S, 48]
            h, c = h[0], c[0]
            pad = src == 0
            tok = torch.ones_like(src[:, 0])                      # BOS = 1
            ctx = torch.zeros_like(h)
            logits, toks = [], []
            for _ in range(S2S_STEPS):
                h, c = self.cell(torch.cat((self.emb(tok), ctx), 1), (h, c))
                sc = torch.bmm(mem, self.attn(h).unsqueeze(2)).squeeze(2)
                sc = sc.masked_fill(pad, float("-inf"))
                a = torch.softmax(sc, 1)
                ctx = torch.bmm(a.unsqueeze(1), mem).squeeze(1)
                lg = self.out(torch.cat((h, ctx), 1))
                tok = lg.argmax(1)
                logits.append(lg)
                toks.append(tok)
            return torch.stack(logits, 1), torch.stack(toks, 1)

    return Net()


def s2s_inputs(rng, alt):
    n, s = (3, 6) if alt else (2, 9)
    src = rng.integers(2, S2S_V, (n, s)).astype(np.int64)
    keep = rng.integers(2, s + 1, n)
    keep[0] = s
    src[np.arange(s)[None, :] >= keep[:, None]] = 0
    return {"src": src}


# ------------------------------------------------------------------ ViT with interpolated positions

def vit_interp():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, 64, 8, 8)
            self.cls = nn.Parameter(torch.randn(1, 1, 64) * 0.1)
            self.pos = nn.Parameter(torch.randn(1, 17, 64) * 0.1)          # a 4x4 grid + cls
            layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(64)
            self.head = nn.Linear(64, 10)

        def forward(self, image):
            x = self.patch(image)
            n, c, h, w = x.shape
            x = x.flatten(2).transpose(1, 2)
            pe = self.pos[:, 1:].reshape(1, 4, 4, 64).permute(0, 3, 1, 2)
            pe = F.interpolate(pe, size=(h, w), mode="bicubic", align_corners=False)
            pe = pe.flatten(2).transpose(1, 2)
            x = torch.cat((self.cls.expand(n, -1, -1), x), 1) + torch.cat((self.pos[:, :1], pe), 1)
            x = self.norm(self.enc(x))
            return self.head(x[:, 0])

    return Net()


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: a.astype(np.float32)}
    return gen


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz)
SPECS = {
    "hifigan_dynT": (hifigan, 13, hifigan_inputs, ["audio"],
                     {"mel": {0: "batch", 2: "frames"}, "audio": {0: "batch", 2: "samples"}}, True),
    "whisper_stft_op17": ("helper", 17, whisper_inputs, ["logits", "logmel"], None, True),
    "yolov8_dfl_op12": (yolov8_dfl, 12, _img("images", (1, 3, 160, 160)), ["output0"], None, False),
    "poolformer_gn1": (poolformer, 13, _img("input", (1, 3, 128, 128), uniform=False), ["logits"], None, False),
    "unet_pad_dynhw_op11": (unet_pad, 11, _img("input", (1, 3, 64, 96), (2, 3, 75, 93)), ["masks"],
                            {"input": {0: "batch", 2: "height", 3: "width"},
                             "masks": {0: "batch", 2: "height", 3: "width"}}, True),
    "mha_kdim_op14": (mha_kdim, 14, mha_inputs, ["out", "attn_weights"],
                      {"query": {0: "batch", 1: "lq"}, "key": {0: "batch", 1: "lk"}, "value": {0: "batch", 1: "lk"},
                       "key_padding_mask": {0: "batch", 1: "lk"}, "out": {0: "batch", 1: "lq"},
                       "attn_weights": {0: "batch", 1: "lq", 2: "lk"}}, True),
    "tf2onnx_bert_int32": ("helper", 13, bert_inputs, ["start_logits", "end_logits", "start_pos"], None, True),
    "dynamo_op18": ("helper", 18, _img("x", (1, 3, 32, 32), (3, 3, 32, 32), uniform=False), ["logits"], None, True),
    "newer_op21": ("helper", 21, _img("x", (1, 3, 24, 24), (2, 3, 24, 24), uniform=False), ["logits"], None, True),
    "constants_op15": ("helper", 15, _img("x", (1, 4, 16, 16), (2, 4, 16, 16), uniform=False), ["logits"], None,
                       True),
    "hardtanh_op9": (hardtanh_net, 9, _img("input", (1, 3, 96, 96), uniform=False), ["logits"], None, False),
    "hardtanh_op12": (hardtanh_net, 12, _img("input", (1, 3, 96, 96), uniform=False), ["logits"], None, False),
    "scatter_add_op16": (scatter_add, 16, scatter_inputs, ["means", "totals", "picked"],
                         {"feats": {0: "batch"}, "seg": {0: "batch"}, "idx": {0: "batch"}, "means": {0: "batch"},
                          "picked": {0: "batch"}}, True),
    "seq2seq_lstmcell": (seq2seq, 13, s2s_inputs, ["logits", "tokens"],
                         {"src": {0: "batch", 1: "src_len"}, "logits": {0: "batch"}, "tokens": {0: "batch"}}, True),
    "vit_interp_pos_dynhw_op13": (vit_interp, 13, _img("image", (1, 3, 48, 64), (2, 3, 40, 40)), ["logits"],
                                  {"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}}, True),
}

HELPER = {"whisper_stft_op17": whisper_stft_op17, "tf2onnx_bert_int32": tf2onnx_bert_int32,
          "dynamo_op18": dynamo_op18, "newer_op21": newer_op21, "constants_op15": constants_op15}

# Saved with every initializer in a file of its own beside the model (onnx.save
# with all_tensors_to_one_file=False): DIR/NAME.data/<tensor name>, the float
# weights only (the int64 axes/pads/shapes stay inline, as exporters' size
# thresholds keep small tensors).
EXTERNAL = {"dynamo_op18"}


def vary(a, rng, name, base):
    """Samples 1..3: float inputs with noise, integer and bool inputs as drawn (fresh draws)."""
    if a.dtype.kind == "f":
        return (a + rng.standard_normal(a.shape).astype(np.float32) * 0.05 * (float(np.abs(a).max()) or 1)).astype(
            a.dtype)
    return base[name]


def save_helper(name, model, path):
    import onnx
    if name in EXTERNAL:
        d = os.path.join(os.path.dirname(path), name + ".data")
        os.makedirs(d, exist_ok=True)
        for t in model.graph.initializer:  # locations relative to the model file, in a subdirectory
            if t.data_type != onnx.TensorProto.FLOAT:
                continue  # shape-like int64 tensors stay inline (ONNX Runtime reads them at load)
            onnx.external_data_helper.set_external_data(t, location=f"{name}.data/{t.name}")
        model = onnx.external_data_helper.write_external_data_tensors(model, os.path.dirname(path))
        onnx.save(model, path + ".tmp")
    else:
        onnx.save(model, path + ".tmp")
    os.replace(path + ".tmp", path)


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt = SPECS[name]
    rng = np.random.default_rng(31)
    first = gen(rng, False)
    samples = [first]
    for _ in range(3):
        fresh = gen(rng, False)
        samples.append({k: vary(v, rng, k, fresh) for k, v in first.items()})
    path = os.path.join(out, name + ".onnx")
    if builder == "helper":
        save_helper(name, HELPER[name](), path)
    else:
        torch = _torch()
        torch.manual_seed(0)
        model = randomise_norms(builder()).eval()
        xs = [torch.from_numpy(v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    if has_alt:
        np.savez(os.path.join(out, "data", name + ".alt.npz"), **gen(rng, True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen9); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen9")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        sys.exit(exportlib.ortcheck_main(a[1:]))
    print(__doc__)
    sys.exit(2)
