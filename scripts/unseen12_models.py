#!/usr/bin/python3
"""The --unseen12 export set (seventeenth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen11, --detection, --audio,
--darknet, --extra) has, for triage of the whole workflow (scripts/triage_unseen12.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen12 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen12_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen12_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics and GroupNorm affines randomised), nothing
downloaded. Every model NAME is written as DIR/NAME.onnx (default DIR
out/bench-models-unseen12) with four samples DIR/data/NAME/s{0..3}.npz (one array per
input name), DIR/data/NAME.in.npz (sample 0) and, for models with symbolic sizes,
DIR/data/NAME.alt.npz (an input at other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- pspnet_ppm_op11: PSPNet's pyramid pooling module on a dilated backbone:
  AdaptiveAvgPool2d to 1, 2, 3 and 6 bins (GlobalAveragePool and AveragePool with
  the kernel torch derives), 1x1 conv per bin, bilinear upsampling with
  align_corners=True back to the feature size, concat, classifier, upsampling to
  the input size.
- hrnet_dynhw_op13: HRNet-style multi-resolution branches with repeated fusion
  (strided 3x3 convs down, 1x1 conv + nearest x2/x4 up, sums), the head
  upsampling every branch bilinearly to the highest resolution from the runtime
  shape and concatenating; symbolic N, H and W.
- bisenet_op11: BiSeNet v1: a spatial path (three stride-2 convs), a context path
  with attention refinement modules (global pool, 1x1, BN, Sigmoid, Mul), the
  global context broadcast-added, a feature fusion module (concat, conv,
  squeeze-excite gate, x + x*gate), bilinear upsampling to sizes read from
  tensors' shapes.
- pointnet_op13: PointNet classification + segmentation: Conv1d/BN stacks, an
  input T-net and a feature T-net (global max over points, FC to a k x k matrix
  plus the identity, bmm), the global feature repeated over the points and
  concatenated to per-point features; symbolic N and number of points.
- gcn_index_add_op16: a two-layer graph convolutional network on int64
  edge_index [2, E]: degrees by index_add_, index_select of source features,
  symmetric normalisation, message aggregation by index_add_ (ScatterElements
  with reduction add), mean readout per graph by index_add_ over an int64 batch
  vector; symbolic node and edge counts.
- sbert_meanpool_op14: a DistilBERT-like sentence encoder: masked_fill of the
  attention scores with finfo.min where attention_mask is 0, GELU FFN,
  attention-mask mean pooling (sum / clamp(count, 1e-9)), F.normalize (L2) and the
  cosine similarity matrix; int64 input_ids and attention_mask, symbolic N and S.
- sbert_fp16_op14: the same encoder converted to float16 as onnxconverter-common's
  convert_float_to_float16(keep_io_types=True) writes it: float16 weights and
  constants (clamped to +-65504), Casts to float16 retargeted, a Cast to float32
  before each float output.
- ddpm_unet_op13: a denoising UNet as diffusion models write it: a sinusoidal
  timestep embedding of an int64 timestep (exp, sin/cos, concat), Linear-SiLU-
  Linear, ResBlocks with GroupNorm + SiLU and the embedding added per channel,
  self-attention at 8x8 (GroupNorm, 1x1 qkv, bmm, softmax), nearest upsampling
  and skip concats; symbolic N.
- scripted_pad_dynhw_op13: a torch.jit.script model with dynamic batch and
  symbolic H and W: pads computed from the shape to a multiple of 16 (reflect
  F.pad with runtime pads), an encoder-decoder, the result cropped back to the
  input size (Slice with runtime ends), a scripted if on the size.
- stylegan_modconv_op13: StyleGAN2 modulated convolutions: the convolution weight
  computed per sample from a style vector (modulation, demodulation by rsqrt of
  the summed squares), batch folded into groups (Conv whose weight is not a
  constant), noise injection from an input, scaled LeakyReLU, bilinear x2, a
  modulated 1x1 toRGB without demodulation.
- moe_topk_op13: a transformer FFN as a mixture of experts: gate Linear, Softmax,
  TopK(2), renormalised weights scattered into a dense [T, E] combine matrix
  (ScatterElements), four expert FFNs stacked and combined by einsum; symbolic
  N and S.
- nerf_siren_op13: a coordinate network: NeRF positional encoding (sin/cos of
  2^k x, 8 frequencies), an 8-layer MLP with a skip concat, density (ReLU) and
  colour (Sigmoid) heads, and a SIREN branch (sin(30 Wx + b) layers); symbolic N.
- modelzoo_op8: an onnx.helper graph in the spelling of the ONNX model zoo's
  opset 7-8 files (tiny-yolov2-8, emotion-ferplus-8, arcface): ImageScaler,
  BatchNormalization with spatial=1, PRelu with [C,1,1] slopes, Upsample with a
  scales attribute, variadic Sum, Mean and Max, Dropout with ratio, Pad with a
  pads attribute, Reshape from an initializer, Gemm, Softmax on axis 1.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)
from unseen11_models import graph_builder, vary  # noqa: E402  (the same helpers)

MODELS = ["pspnet_ppm_op11", "hrnet_dynhw_op13", "bisenet_op11", "pointnet_op13", "gcn_index_add_op16",
          "sbert_meanpool_op14", "sbert_fp16_op14", "ddpm_unet_op13", "scripted_pad_dynhw_op13",
          "stylegan_modconv_op13", "moe_topk_op13", "nerf_siren_op13", "modelzoo_op8"]


def _torch():
    import torch
    return torch


def randomise_norms(model):
    """Random BatchNorm statistics and affines, random LayerNorm and GroupNorm affines."""
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


def cbr(nn, cin, cout, k=3, s=1, d=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, d * (k // 2), dilation=d, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


# ------------------------------------------------------------------ segmentation

def pspnet():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class PSP(nn.Module):
        def __init__(self, bins=(1, 2, 3, 6), ncls=5):
            super().__init__()
            self.backbone = nn.Sequential(cbr(nn, 3, 32, 3, 2), cbr(nn, 32, 64, 3, 2), cbr(nn, 64, 64, 3, 1, 2),
                                          cbr(nn, 64, 64, 3, 1, 4))
            self.bins = bins
            self.stages = nn.ModuleList([nn.Sequential(nn.AdaptiveAvgPool2d(b), cbr(nn, 64, 16, 1)) for b in bins])
            self.head = nn.Sequential(cbr(nn, 64 + 16 * len(bins), 32), nn.Dropout2d(0.1), nn.Conv2d(32, ncls, 1))

        def forward(self, x):
            f = self.backbone(x)
            h, w = f.shape[2], f.shape[3]
            feats = [f] + [F.interpolate(s(f), size=(h, w), mode="bilinear", align_corners=True)
                           for s in self.stages]
            y = self.head(torch.cat(feats, 1))
            return F.interpolate(y, size=(x.shape[2], x.shape[3]), mode="bilinear", align_corners=True)
    return PSP()


def hrnet():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Basic(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1, self.c2 = cbr(nn, c, c), nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

        def forward(self, x):
            return torch.relu(x + self.c2(self.c1(x)))

    def down(cin, cout, times):
        layers = []
        for i in range(times):
            last = i == times - 1
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout)]
            if not last:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    class Fuse(nn.Module):
        """Output branch i sums every input branch brought to its resolution."""
        def __init__(self, chans):
            super().__init__()
            self.chans = chans
            self.ops = nn.ModuleList()
            for i, ci in enumerate(chans):
                row = nn.ModuleList()
                for j, cj in enumerate(chans):
                    if j > i:
                        row.append(nn.Sequential(nn.Conv2d(cj, ci, 1, bias=False), nn.BatchNorm2d(ci),
                                                 nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                    elif j < i:
                        row.append(down(cj, ci, i - j))
                    else:
                        row.append(nn.Identity())
                self.ops.append(row)

        def forward(self, xs):
            outs = []
            for i in range(len(self.chans)):
                y = xs[0] if i == 0 else self.ops[i][0](xs[0])
                for j in range(1, len(self.chans)):
                    y = y + (xs[j] if i == j else self.ops[i][j](xs[j]))
                outs.append(torch.relu(y))
            return outs

    class HR(nn.Module):
        def __init__(self, ncls=4):
            super().__init__()
            self.stem = nn.Sequential(cbr(nn, 3, 32, 3, 2), cbr(nn, 32, 16, 3, 2))
            self.b1 = nn.ModuleList([Basic(16), nn.Sequential(cbr(nn, 16, 32, 3, 2), Basic(32))])
            self.f1 = Fuse([16, 32])
            self.t2 = cbr(nn, 32, 64, 3, 2)
            self.b2 = nn.ModuleList([Basic(16), Basic(32), Basic(64)])
            self.f2 = Fuse([16, 32, 64])
            self.head = nn.Sequential(cbr(nn, 112, 32, 1), nn.Conv2d(32, ncls, 1))

        def forward(self, x):
            x = self.stem(x)
            xs = self.f1([self.b1[0](x), self.b1[1](x)])
            xs = [xs[0], xs[1], self.t2(xs[1])]
            xs = self.f2([b(t) for b, t in zip(self.b2, xs)])
            h, w = xs[0].shape[2], xs[0].shape[3]
            ups = [xs[0]] + [F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False) for t in xs[1:]]
            return self.head(torch.cat(ups, 1))
    return HR()


def bisenet():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class ARM(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = cbr(nn, c, c)
            self.att = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c),
                                     nn.Sigmoid())

        def forward(self, x):
            x = self.conv(x)
            return x * self.att(x)

    class FFM(nn.Module):
        def __init__(self, cin, c):
            super().__init__()
            self.conv = cbr(nn, cin, c, 1)
            self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 4, 1), nn.ReLU(),
                                    nn.Conv2d(c // 4, c, 1), nn.Sigmoid())

        def forward(self, sp, cp):
            f = self.conv(torch.cat([sp, cp], 1))
            return f + f * self.se(f)

    class BiSe(nn.Module):
        def __init__(self, ncls=6):
            super().__init__()
            self.sp = nn.Sequential(cbr(nn, 3, 16, 3, 2), cbr(nn, 16, 16, 3, 2), cbr(nn, 16, 32, 3, 2))
            self.c8 = nn.Sequential(cbr(nn, 3, 16, 3, 2), cbr(nn, 16, 24, 3, 2), cbr(nn, 24, 32, 3, 2))
            self.c16 = cbr(nn, 32, 48, 3, 2)
            self.c32 = cbr(nn, 48, 64, 3, 2)
            self.gc = nn.Sequential(nn.AdaptiveAvgPool2d(1), cbr(nn, 64, 32, 1))
            self.arm16, self.arm32 = ARM(48), ARM(64)
            self.r32, self.r16 = cbr(nn, 64, 32), cbr(nn, 48, 32)
            self.ffm = FFM(64, 48)
            self.out = nn.Sequential(cbr(nn, 48, 32), nn.Conv2d(32, ncls, 1))

        def forward(self, x):
            sp = self.sp(x)
            f16 = self.c16(self.c8(x))
            f32 = self.c32(f16)
            a32 = self.r32(self.arm32(f32)) + self.gc(f32)
            up32 = F.interpolate(a32, size=f16.shape[2:], mode="bilinear", align_corners=False)
            a16 = self.r16(self.arm16(f16)) + up32
            up16 = F.interpolate(a16, size=sp.shape[2:], mode="bilinear", align_corners=False)
            y = self.out(self.ffm(sp, up16))
            return F.interpolate(y, scale_factor=8.0, mode="bilinear", align_corners=False)
    return BiSe()


# ------------------------------------------------------------------ points, graphs

def pointnet():
    torch = _torch()
    nn = torch.nn

    def cbr1(cin, cout):
        return nn.Sequential(nn.Conv1d(cin, cout, 1), nn.BatchNorm1d(cout), nn.ReLU())

    class TNet(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.k = k
            self.conv = nn.Sequential(cbr1(k, 32), cbr1(32, 64), cbr1(64, 128))
            self.fc = nn.Sequential(nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, k * k))

        def forward(self, x):
            f = torch.max(self.conv(x), 2, keepdim=True)[0].view(-1, 128)
            m = self.fc(f) * 0.1 + torch.eye(self.k).flatten().unsqueeze(0)
            return m.view(-1, self.k, self.k)

    class PointNet(nn.Module):
        def __init__(self, ncls=8, nseg=5):
            super().__init__()
            self.t3 = TNet(3)
            self.c1 = cbr1(3, 32)
            self.t32 = TNet(32)
            self.c2 = nn.Sequential(cbr1(32, 64), nn.Conv1d(64, 256, 1), nn.BatchNorm1d(256))
            self.cls = nn.Sequential(nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.3),
                                     nn.Linear(128, ncls))
            self.seg = nn.Sequential(cbr1(32 + 256, 64), nn.Conv1d(64, nseg, 1))

        def forward(self, pts):
            n = pts.size(2)
            x = torch.bmm(pts.transpose(2, 1), self.t3(pts)).transpose(2, 1)
            x = self.c1(x)
            ft = self.t32(x)
            x = torch.bmm(x.transpose(2, 1), ft).transpose(2, 1)
            g = torch.max(self.c2(x), 2, keepdim=True)[0]
            logits = self.cls(g.view(-1, 256))
            seg = self.seg(torch.cat([x, g.repeat(1, 1, n)], 1))
            return logits, seg.transpose(2, 1).log_softmax(-1)
    return PointNet()


def points_inputs(rng, alt):
    n, p = (3, 100) if alt else (2, 256)
    return {"points": rng.standard_normal((n, 3, p)).astype(np.float32)}


def gcn():
    torch = _torch()
    nn = torch.nn

    class GCNLayer(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.lin = nn.Linear(cin, cout, bias=False)
            self.bias = nn.Parameter(torch.randn(cout) * 0.1)

        def forward(self, x, src, dst):
            n = x.size(0)
            ones = torch.ones_like(src, dtype=x.dtype)
            deg = torch.zeros(n, dtype=x.dtype).index_add_(0, dst, ones) + 1.0  # with the self loop
            dinv = deg.pow(-0.5)
            h = self.lin(x)
            w = (dinv.index_select(0, src) * dinv.index_select(0, dst)).unsqueeze(1)
            msg = h.index_select(0, src) * w
            agg = torch.zeros_like(h).index_add_(0, dst, msg)
            return agg + h * (dinv * dinv).unsqueeze(1) + self.bias

    class GCN(nn.Module):
        def __init__(self, ngraphs=2):
            super().__init__()
            self.ngraphs = ngraphs
            self.l1, self.l2 = GCNLayer(8, 32), GCNLayer(32, 32)
            self.out = nn.Linear(32, 3)

        def forward(self, x, edge_index, batch):
            src, dst = edge_index[0], edge_index[1]
            h = torch.relu(self.l1(x, src, dst))
            h = torch.relu(self.l2(h, src, dst))
            pooled = torch.zeros(self.ngraphs, h.size(1)).index_add_(0, batch, h)
            cnt = torch.zeros(self.ngraphs).index_add_(0, batch, torch.ones_like(batch, dtype=h.dtype))
            return self.out(pooled / cnt.clamp(min=1.0).unsqueeze(1)), h
    return GCN()


def graph_inputs(rng, alt):
    sizes = (7, 12) if alt else (10, 9)
    xs, edges, batch, off = [], [], [], 0
    for g, n in enumerate(sizes):
        xs.append(rng.standard_normal((n, 8)))
        e = rng.integers(0, n, (2, 3 * n))
        e = e[:, e[0] != e[1]]
        edges.append(np.concatenate([e, e[::-1]], 1) + off)  # undirected
        batch += [g] * n
        off += n
    return {"x": np.concatenate(xs).astype(np.float32), "edge_index": np.concatenate(edges, 1).astype(np.int64),
            "batch": np.array(batch, np.int64)}


# ------------------------------------------------------------------ transformers

def sbert():
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    H, NH, V = 64, 4, 500

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(H, H) for _ in range(4))
            self.sa_layer_norm, self.output_layer_norm = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
            self.lin1, self.lin2 = nn.Linear(H, 4 * H), nn.Linear(4 * H, H)

        def forward(self, x, mask):
            bs, s = x.size(0), x.size(1)

            def shape(t):
                return t.view(bs, -1, NH, H // NH).transpose(1, 2)
            q = shape(self.q_lin(x)) / float(np.sqrt(H // NH))
            k, v = shape(self.k_lin(x)), shape(self.v_lin(x))
            scores = torch.matmul(q, k.transpose(2, 3))
            m = (mask == 0).view(bs, 1, 1, s).expand_as(scores)
            scores = scores.masked_fill(m, torch.tensor(torch.finfo(scores.dtype).min))
            ctx = torch.matmul(nn.functional.softmax(scores, dim=-1), v)
            ctx = ctx.transpose(1, 2).contiguous().view(bs, -1, H)
            x = self.sa_layer_norm(self.out_lin(ctx) + x)
            return self.output_layer_norm(self.lin2(F.gelu(self.lin1(x))) + x)

    class SBert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings, self.position_embeddings = nn.Embedding(V, H), nn.Embedding(64, H)
            self.LayerNorm = nn.LayerNorm(H, eps=1e-12)
            self.layer = nn.ModuleList([Block(), Block()])

        def forward(self, input_ids, attention_mask):
            pos = torch.arange(input_ids.size(1), dtype=torch.long).unsqueeze(0).expand_as(input_ids)
            x = self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(pos))
            for b in self.layer:
                x = b(x, attention_mask)
            m = attention_mask.unsqueeze(-1).expand(x.size()).float()
            emb = torch.sum(x * m, 1) / torch.clamp(m.sum(1), min=1e-9)
            emb = F.normalize(emb, p=2, dim=1)
            return emb, emb @ emb.t()
    return SBert()


def sbert_inputs(rng, alt):
    n, s = (3, 9) if alt else (2, 16)
    mask = np.ones((n, s), np.int64)
    mask[-1, s - 5:] = 0
    ids = rng.integers(1, 500, (n, s)).astype(np.int64)
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask}


def moe():
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    H, E = 48, 4

    class MoE(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln = nn.LayerNorm(H)
            self.gate = nn.Linear(H, E, bias=False)
            self.w1 = nn.Parameter(torch.randn(E, H, 2 * H) * 0.15)
            self.w2 = nn.Parameter(torch.randn(E, 2 * H, H) * 0.1)
            self.inp = nn.Linear(16, H)
            self.out = nn.Linear(H, 10)

        def forward(self, x):
            n, s = x.size(0), x.size(1)
            h = self.inp(x)
            t = self.ln(h).reshape(-1, H)
            probs = F.softmax(self.gate(t), -1)
            val, idx = torch.topk(probs, 2, dim=-1)
            val = val / val.sum(-1, keepdim=True)
            combine = torch.zeros_like(probs).scatter(1, idx, val)
            ex = torch.einsum("th,ehf->etf", t, self.w1)
            ex = torch.einsum("etf,efh->eth", F.gelu(ex), self.w2)
            y = torch.einsum("te,eth->th", combine, ex).reshape(n, s, H) + h
            return self.out(y.mean(1)), idx.reshape(n, s, 2)
    return MoE()


# ------------------------------------------------------------------ generative

def ddpm_unet():
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    TE = 64

    class Res(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.n1, self.c1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, 1, 1)
            self.t = nn.Linear(TE, cout)
            self.n2, self.c2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, 1, 1)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x, emb):
            h = self.c1(F.silu(self.n1(x)))
            h = h + self.t(F.silu(emb))[:, :, None, None]
            h = self.c2(F.dropout(F.silu(self.n2(h)), 0.1, self.training))
            return self.skip(x) + h

    class Attn(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.norm, self.qkv, self.proj = nn.GroupNorm(8, c), nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

        def forward(self, x):
            b, c, hh, ww = x.shape
            q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, hh * ww).unbind(1)
            a = torch.softmax(torch.bmm(q.transpose(1, 2), k) * (c ** -0.5), -1)
            o = torch.bmm(v, a.transpose(1, 2)).reshape(b, c, hh, ww)
            return x + self.proj(o)

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.temb = nn.Sequential(nn.Linear(32, TE), nn.SiLU(), nn.Linear(TE, TE))
            self.inc = nn.Conv2d(3, 32, 3, 1, 1)
            self.d1 = Res(32, 32)
            self.down1 = nn.Conv2d(32, 32, 3, 2, 1)
            self.d2 = Res(32, 64)
            self.down2 = nn.Conv2d(64, 64, 3, 2, 1)
            self.mid1, self.mida, self.mid2 = Res(64, 64), Attn(64), Res(64, 64)
            self.u2 = Res(128, 64)
            self.upc2 = nn.Conv2d(64, 64, 3, 1, 1)
            self.u1 = Res(96, 32)
            self.upc1 = nn.Conv2d(32, 32, 3, 1, 1)
            self.u0 = Res(64, 32)
            self.outn, self.outc = nn.GroupNorm(8, 32), nn.Conv2d(32, 3, 3, 1, 1)

        def embed(self, t):
            half = 16
            freqs = torch.exp(-np.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
            args = t[:, None].float() * freqs[None]
            return self.temb(torch.cat([torch.cos(args), torch.sin(args)], -1))

        def forward(self, x, t):
            e = self.embed(t)
            h0 = self.d1(self.inc(x), e)
            h1 = self.d2(self.down1(h0), e)
            h2 = self.mid2(self.mida(self.mid1(self.down2(h1), e)), e)
            u = self.u2(torch.cat([h2, self.down2(h1)], 1), e)
            u = self.upc2(F.interpolate(u, scale_factor=2.0, mode="nearest"))
            u = self.u1(torch.cat([u, h1[:, :32]], 1), e)
            u = self.upc1(F.interpolate(u, scale_factor=2.0, mode="nearest"))
            u = self.u0(torch.cat([u, h0], 1), e)
            return self.outc(F.silu(self.outn(u)))
    return UNet()


def ddpm_inputs(rng, alt):
    n = 3 if alt else 2
    return {"x": rng.standard_normal((n, 3, 32, 32)).astype(np.float32),
            "t": rng.integers(0, 1000, n).astype(np.int64)}


def stylegan():
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    WD = 32

    class ModConv(nn.Module):
        def __init__(self, cin, cout, k, demod=True):
            super().__init__()
            self.cin, self.cout, self.k, self.demod = cin, cout, k, demod
            self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k) / np.sqrt(cin * k * k))
            self.affine = nn.Linear(WD, cin)
            with torch.no_grad():
                self.affine.bias.fill_(1.0)

        def forward(self, x, w):
            b, _, hh, ww = x.shape
            s = self.affine(w)
            wt = self.weight * s[:, None, :, None, None]
            if self.demod:
                d = torch.rsqrt((wt ** 2).sum([2, 3, 4]) + 1e-8)
                wt = wt * d[:, :, None, None, None]
            x = x.reshape(1, b * self.cin, hh, ww)
            out = F.conv2d(x, wt.reshape(b * self.cout, self.cin, self.k, self.k), padding=self.k // 2, groups=b)
            return out.reshape(b, self.cout, hh, ww)

    class Layer(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = ModConv(cin, cout, 3)
            self.noise_strength = nn.Parameter(torch.tensor(0.1))
            self.bias = nn.Parameter(torch.randn(cout) * 0.1)

        def forward(self, x, w, noise):
            y = self.conv(x, w) + noise * self.noise_strength + self.bias[None, :, None, None]
            return F.leaky_relu(y, 0.2) * np.sqrt(2.0)

    class Synth(nn.Module):
        def __init__(self):
            super().__init__()
            self.mapping = nn.Sequential(nn.Linear(WD, WD), nn.LeakyReLU(0.2), nn.Linear(WD, WD), nn.LeakyReLU(0.2))
            self.l1, self.l2, self.l3 = Layer(16, 16), Layer(16, 16), Layer(16, 8)
            self.rgb = ModConv(8, 3, 1, demod=False)

        def forward(self, x, z, noise):
            zn = z * torch.rsqrt((z ** 2).mean(1, keepdim=True) + 1e-8)
            w = self.mapping(zn)
            x = self.l1(x, w, noise[:, :, ::2, ::2])
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = self.l3(self.l2(x, w, noise), w, noise)
            return self.rgb(x, w)
    return Synth()


def stylegan_inputs(rng, alt):
    return {"x": rng.standard_normal((2, 16, 8, 8)).astype(np.float32),
            "z": rng.standard_normal((2, 32)).astype(np.float32),
            "noise": rng.standard_normal((2, 1, 16, 16)).astype(np.float32)}


def nerf():
    torch = _torch()
    nn = torch.nn

    class Sine(nn.Module):
        def __init__(self, cin, cout, w0):
            super().__init__()
            self.lin, self.w0 = nn.Linear(cin, cout), w0
            with torch.no_grad():
                bound = 1 / cin if w0 == 30.0 else np.sqrt(6 / cin) / 30.0
                self.lin.weight.uniform_(-bound, bound)

        def forward(self, x):
            return torch.sin(self.w0 * self.lin(x))

    class NeRF(nn.Module):
        def __init__(self, L=8, W=64):
            super().__init__()
            self.L = L
            cin = 3 + 3 * 2 * L
            self.front = nn.ModuleList([nn.Linear(cin, W)] + [nn.Linear(W, W) for _ in range(3)])
            self.back = nn.ModuleList([nn.Linear(W + cin, W)] + [nn.Linear(W, W) for _ in range(3)])
            self.sigma, self.feat = nn.Linear(W, 1), nn.Linear(W, W)
            self.rgb = nn.Sequential(nn.Linear(W + 3, W // 2), nn.ReLU(), nn.Linear(W // 2, 3), nn.Sigmoid())
            self.siren = nn.Sequential(Sine(3, 32, 30.0), Sine(32, 32, 1.0), Sine(32, 32, 1.0), nn.Linear(32, 1))

        def forward(self, xyz, dirs):
            freqs = 2.0 ** torch.arange(self.L, dtype=torch.float32)
            a = xyz[:, :, None] * freqs[None, None, :]
            enc = torch.cat([xyz, torch.sin(a).flatten(1), torch.cos(a).flatten(1)], -1)
            h = enc
            for lin in self.front:
                h = torch.relu(lin(h))
            h = torch.cat([h, enc], -1)
            for lin in self.back:
                h = torch.relu(lin(h))
            sigma = torch.relu(self.sigma(h))
            rgb = self.rgb(torch.cat([self.feat(h), dirs], -1))
            return sigma, rgb, self.siren(xyz)
    return NeRF()


def nerf_inputs(rng, alt):
    n = 37 if alt else 64
    d = rng.standard_normal((n, 3))
    return {"xyz": rng.uniform(-1, 1, (n, 3)).astype(np.float32),
            "dirs": (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)}


# ------------------------------------------------------------------ scripted

def scripted_pad():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Restorer(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1 = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.ReLU())
            self.e2 = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU())
            self.e3 = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU())
            self.d2 = nn.Sequential(nn.Conv2d(64, 16, 3, 1, 1), nn.ReLU())
            self.d1 = nn.Conv2d(32, 3, 3, 1, 1)

        def forward(self, x):
            h, w = x.shape[2], x.shape[3]
            ph = (16 - h % 16) % 16
            pw = (16 - w % 16) % 16
            xp = F.pad(x, [0, pw, 0, ph], mode="reflect")
            f1 = self.e1(xp)
            f2 = self.e2(f1)
            f3 = self.e3(f2)
            u = F.interpolate(f3, scale_factor=2.0, mode="nearest")
            u = self.d2(torch.cat([u, f2], 1))
            u = F.interpolate(u, size=[f1.shape[2], f1.shape[3]], mode="bilinear", align_corners=False)
            y = self.d1(torch.cat([u, f1], 1))
            if h * w > 4096:
                y = y * 0.5
            return (xp + y)[:, :, :h, :w]
    return torch.jit.script(Restorer())


# ------------------------------------------------------------------ conversions of torch exports

def _f16(a):
    """A float array in float16 as onnxconverter-common writes it: finite values
    clamped to +-65504, magnitudes below 1e-7 flushed to +-1e-7 (its defaults)."""
    a = np.asarray(a, np.float32)
    small = (np.abs(a) < 1e-7) & (a != 0)
    a = np.where(small, np.sign(a) * 1e-7, a)
    return np.clip(a, -65504.0, 65504.0).astype(np.float16)


def to_fp16_keepio(path):
    """PATH rewritten as onnxconverter-common's convert_float_to_float16(keep_io_types=True):
    float initializers and Constant values in float16, Cast-to-float retargeted, the
    float graph outputs renamed and fed through a Cast back to float32."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    m = onnx.load(path)
    g = m.graph
    for i, t in enumerate(list(g.initializer)):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[i].CopyFrom(numpy_helper.from_array(_f16(numpy_helper.to_array(t)), t.name))
    for n in g.node:
        for a in n.attribute:
            if n.op_type == "Constant" and a.name == "value" and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(_f16(numpy_helper.to_array(a.t))))
            if n.op_type in ("Cast", "ConstantOfShape") and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
            if n.op_type == "ConstantOfShape" and a.name == "value" and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(_f16(numpy_helper.to_array(a.t))))
    for v in g.value_info:
        if v.type.tensor_type.elem_type == TensorProto.FLOAT:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    for o in g.output:
        if o.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = o.name + "_fp16"
        for n in g.node:
            for i, x in enumerate(n.output):
                if x == o.name:
                    n.output[i] = inner
            for i, x in enumerate(n.input):
                if x == o.name:
                    n.input[i] = inner
        g.node.append(helper.make_node("Cast", [inner], [o.name], to=TensorProto.FLOAT,
                                       name="graph_output_cast_" + o.name))
    onnx.checker.check_model(m)
    onnx.save(m, path)


# ------------------------------------------------------------------ onnx.helper graphs

def modelzoo_op8():
    """Old ONNX model zoo spellings (opset 8)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(21)

    def conv(name, x, cin, cout, k, pad):
        const(name + "_W", (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32))
        return node("Conv", [x, name + "_W"], [name], kernel_shape=[k, k], pads=[pad] * 4, strides=[1, 1])

    def bn(name, x, c):
        const(name + "_scale", rng.uniform(0.5, 1.5, c).astype(np.float32))
        const(name + "_B", rng.uniform(-0.2, 0.2, c).astype(np.float32))
        const(name + "_mean", rng.uniform(-0.2, 0.2, c).astype(np.float32))
        const(name + "_var", rng.uniform(0.5, 2.0, c).astype(np.float32))
        return node("BatchNormalization", [x, name + "_scale", name + "_B", name + "_mean", name + "_var"], [name],
                    epsilon=1e-5, momentum=0.9, spatial=1)

    node("ImageScaler", ["image"], ["scaled"], scale=1 / 255.0, bias=[-0.4, -0.45, -0.5])
    c1 = bn("bn1", conv("conv1", "scaled", 3, 16, 3, 1), 16)
    node("LeakyRelu", [c1], ["lr1"], alpha=0.1)
    node("MaxPool", ["lr1"], ["pool1"], kernel_shape=[2, 2], strides=[2, 2])
    c2 = bn("bn2", conv("conv2", "pool1", 16, 32, 3, 1), 32)
    const("prelu_slope", rng.uniform(0.05, 0.3, (32, 1, 1)).astype(np.float32))
    node("PRelu", [c2, "prelu_slope"], ["pr2"])
    c3a = conv("conv3a", "pr2", 32, 32, 3, 1)
    c3b = conv("conv3b", "pr2", 32, 32, 1, 0)
    node("Sum", [c3a, c3b, "pr2"], ["sum3"])
    node("Relu", ["sum3"], ["r3"])
    node("MaxPool", ["r3"], ["pool3"], kernel_shape=[2, 2], strides=[2, 2])
    node("Upsample", ["pool3"], ["up3"], mode="nearest", scales=[1.0, 1.0, 2.0, 2.0])
    node("Mean", ["up3", "r3"], ["mean3"])
    node("Max", ["mean3", "pr2", "r3"], ["max3"])
    node("Pad", ["max3"], ["pad3"], mode="constant", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.0)
    c4 = conv("conv4", "pad3", 32, 16, 3, 0)
    node("Relu", [c4], ["r4"])
    node("MaxPool", ["r4"], ["pool4"], kernel_shape=[2, 2], strides=[2, 2])
    node("Dropout", ["pool4"], ["drop"], ratio=0.25)
    const("shape", np.array([1, 16 * 8 * 8], np.int64))
    node("Reshape", ["drop", "shape"], ["flat"])
    const("fc_W", (rng.standard_normal((8, 1024)) * 0.05).astype(np.float32))
    const("fc_B", (rng.standard_normal(8) * 0.1).astype(np.float32))
    node("Gemm", ["flat", "fc_W", "fc_B"], ["logits"], alpha=1.0, beta=1.0, transB=1)
    node("Softmax", ["logits"], ["prob"], axis=1)
    # IR version 3: every initializer is also a graph input (as the zoo's files list them).
    ins = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])] + \
        [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    g = helper.make_graph(nodes, "modelzoo", ins, [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 8])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 8)], producer_name="CNTK",
                          producer_version="2.5.1")
    m.ir_version = 3
    return m


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True, dtype=np.float32, scale=1.0):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: (a * scale).astype(dtype)}
    return gen


def _moe_inputs(rng, alt):
    n, s = (3, 5) if alt else (2, 12)
    return {"x": rng.standard_normal((n, s, 16)).astype(np.float32)}


SEQ_AXES = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
            "embedding": {0: "batch"}, "similarity": {0: "batch", 1: "batch2"}}
IMG_AXES = {"x": {0: "N", 2: "H", 3: "W"}, "y": {0: "N", 2: "H", 3: "W"}}

# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz, post-processing of the exported file)
SPECS = {
    "pspnet_ppm_op11": (pspnet, 11, _img("x", (1, 3, 96, 96)), ["y"], None, False, None),
    "hrnet_dynhw_op13": (hrnet, 13, _img("x", (1, 3, 64, 64), (2, 3, 64, 96)), ["y"],
                         {"x": {0: "N", 2: "H", 3: "W"}, "y": {0: "N", 2: "h4", 3: "w4"}}, True, None),
    "bisenet_op11": (bisenet, 11, _img("x", (1, 3, 64, 128)), ["y"], None, False, None),
    "pointnet_op13": (pointnet, 13, points_inputs, ["logits", "seg"],
                      {"points": {0: "N", 2: "P"}, "logits": {0: "N"}, "seg": {0: "N", 1: "P"}}, True, None),
    "gcn_index_add_op16": (gcn, 16, graph_inputs, ["graph_logits", "node_feat"],
                           {"x": {0: "nodes"}, "edge_index": {1: "edges"}, "batch": {0: "nodes"},
                            "node_feat": {0: "nodes"}}, True, None),
    "sbert_meanpool_op14": (sbert, 14, sbert_inputs, ["embedding", "similarity"], SEQ_AXES, True, None),
    "sbert_fp16_op14": (sbert, 14, sbert_inputs, ["embedding", "similarity"], SEQ_AXES, True, to_fp16_keepio),
    "ddpm_unet_op13": (ddpm_unet, 13, ddpm_inputs, ["eps"], {"x": {0: "N"}, "t": {0: "N"}, "eps": {0: "N"}}, True,
                       None),
    "scripted_pad_dynhw_op13": (scripted_pad, 13, _img("x", (1, 3, 40, 52), (2, 3, 33, 47)), ["y"], IMG_AXES, True,
                                None),
    "stylegan_modconv_op13": (stylegan, 13, stylegan_inputs, ["rgb"], None, False, None),
    "moe_topk_op13": (moe, 13, _moe_inputs, ["logits", "experts"],
                      {"x": {0: "N", 1: "S"}, "logits": {0: "N"}, "experts": {0: "N", 1: "S"}}, True, None),
    "nerf_siren_op13": (nerf, 13, nerf_inputs, ["sigma", "rgb", "sdf"],
                        {"xyz": {0: "N"}, "dirs": {0: "N"}, "sigma": {0: "N"}, "rgb": {0: "N"}, "sdf": {0: "N"}},
                        True, None),
    "modelzoo_op8": ("helper", 8, _img("image", (1, 3, 32, 32), scale=255.0), None, None, False, None),
}

HELPER = {"modelzoo_op8": modelzoo_op8}
# Inputs whose leading axis is not one sample's, saved with a leading axis of 1 (warboy's
# data layout reads it as one whole input; ortcheck drops it again for ONNX Runtime):
# a graph batch (nodes of several graphs, their edges and graph ids), a batch folded
# into a grouped convolution (its size is the number of groups), a set of points.
WHOLE = {"gcn_index_add_op16": {"x", "edge_index", "batch"}, "stylegan_modconv_op13": {"x", "z", "noise"},
         "nerf_siren_op13": {"xyz", "dirs"}}


def _save(path, name, feeds):
    whole = WHOLE.get(name, set())
    np.savez(path, **{k: (v[None] if k in whole else v) for k, v in feeds.items()})


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt, post = SPECS[name]
    rng = np.random.default_rng(41)

    def draw(alt):
        return gen(rng, alt)
    first = draw(False)
    samples = [first]
    for _ in range(3):
        fresh = draw(False)
        varied = {k: vary(v, rng) for k, v in first.items()}
        samples.append({k: (fresh[k] if v is None else v) for k, v in varied.items()})
    path = os.path.join(out, name + ".onnx")
    if builder == "helper":
        import onnx
        m = HELPER[name]()
        onnx.checker.check_model(m)
        onnx.save(m, path + ".tmp")
        os.replace(path + ".tmp", path)
    else:
        torch = _torch()
        torch.manual_seed(0)
        model = builder()
        if not isinstance(model, torch.jit.ScriptModule):
            model = randomise_norms(model)
        model.eval()
        xs = [torch.from_numpy(v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes)
        if post is not None:
            post(path)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        _save(os.path.join(d, f"s{i}.npz"), name, s)
    _save(os.path.join(out, "data", name + ".in.npz"), name, samples[0])
    if has_alt:
        _save(os.path.join(out, "data", name + ".alt.npz"), name, draw(True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def export_main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen12); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen12")


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=None)
    ap.add_argument("--out", default=None)
    return export_main(ap.parse_args(argv))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        sys.exit(exportlib.ortcheck_main(a[1:]))
    if a and a[0] == "export":
        sys.exit(main(a[1:]))
    print(__doc__)
    sys.exit(2)
