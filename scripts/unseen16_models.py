#!/usr/bin/python3
"""The --unseen16 export set (twenty-first session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen15, --detection, --audio,
--darknet, --extra) has, for triage of the whole workflow (scripts/triage_unseen16.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen16 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen16_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen16_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics and affines randomised), nothing
downloaded. Every model NAME is written as DIR/NAME.onnx (default DIR
out/bench-models-unseen16) with four samples DIR/data/NAME/s{0..3}.npz (one array
per input name), DIR/data/NAME.in.npz (sample 0) and DIR/data/NAME.alt.npz (an
input at other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- vits_piper_op15: a VITS text-to-speech model as Piper exports it (input,
  input_lengths, scales = [noise_scale, length_scale, noise_w]): text encoder
  with a length mask, a duration predictor, durations Ceil(Exp)·length_scale,
  the monotonic alignment path by CumSum, sequence masks of a data-dependent
  length and a shifted Pad, the prior sampled by **torch.randn_like
  (RandomNormalLike)** times noise_scale, reversed residual coupling flows (WaveNet
  layers with gated tanh·sigmoid, torch.flip), a HiFi-GAN decoder
  (ConvTranspose1d, dilated residual blocks); the samples use noise_scale 0 (the
  oracle comparison needs a deterministic output), so the RandomNormalLike
  result is multiplied by zero; symbolic T and the audio length.
- swinv2_cpb_op13: Swin Transformer V2 blocks: **cosine attention** (F.normalize
  of q and k, a clamped exp logit scale), the **log-spaced continuous position
  bias** MLP (16·sigmoid), q/v biases concatenated around a zero k bias
  (F.linear), shifted windows by torch.roll with the attention mask,
  res-post-norm, V2 patch merging; symbolic N.
- superglue_sinkhorn_op13: a SuperGlue matcher: keypoint encoder (Conv1d MLP),
  attentional GNN (self and cross layers, einsum multi-head attention), the
  **log-space Sinkhorn** optimal transport with a dustbin (ReduceLogSumExp
  iterations, log of the symbolic counts), mutual nearest neighbours (max
  indices both ways, gather, arange equality), match threshold, -1 for
  unmatched; symbolic keypoint counts M and N.
- nafnet_dynhw_op13: NAFNet image restoration: LayerNorm2d by hand,
  **SimpleGate** (chunk, multiply), simplified channel attention, beta/gamma
  residual scales, PixelShuffle decoders, padding to a multiple of 4 from the
  runtime size and the crop back; symbolic N, H, W.
- perceiver_io_op13: a Perceiver IO: a learned latent array cross-attending to a
  symbolic-length input (nn.MultiheadAttention with kdim/vdim), latent
  self-attention, and the output queries built from **Fourier features of the
  output positions computed from the runtime length** (Range, Sin, Cos);
  symbolic N, M.
- lenreg_repeat_op13: a TTS length regulator by **torch.repeat_interleave with
  a tensor of repeats** (what ESPnet's LengthRegulator and many FastSpeech
  exports write for batch 1): torch writes SplitToSequence, a Loop of
  SequenceAt/Expand/SequenceInsert over chunks of unequal sizes and
  ConcatFromSequence; symbolic T and the output length.
- ort_bert_attention_op13: an onnx.helper graph as **onnxruntime.transformers'
  optimizer** writes a BERT (model_type bert): int32 inputs, com.microsoft
  **EmbedLayerNormalization** (word, position and segment embeddings, the mask
  index), **Attention** (packed QKV weights, a 1-D mask index), SkipLayer-
  Normalization with a bias, BiasGelu, a pooler; symbolic N, S.
- ort_dynq_fused_op13: an onnx.helper graph as ONNX Runtime saves a
  **dynamically quantized** transformer FFN after its graph optimizations:
  com.microsoft **DynamicQuantizeMatMul** (per-column int8 weight scales, a
  bias) and **MatMulIntegerToFloat** after a DynamicQuantizeLinear (uint8
  activations, zero points), LayerNormalization; symbolic N, S.
- opset23_llama: an onnx.helper Llama layer in the **opset-23 operators** the
  torch dynamo exporter writes at opset 23: **RMSNormalization**,
  **RotaryEmbedding** (ai.onnx, [B, heads, S, head] with position_ids) and
  **Attention** (grouped-query: 4 query heads, 2 key/value heads, is_causal,
  the present key/value outputs); symbolic N, S.
- int4_blockwise_qdq_op21: an onnx.helper graph as ONNX Runtime's 4-bit weight
  quantizer writes in QDQ form (and AMD Quark / Olive): **int4 and uint4
  initializers** (packed two per byte) read by **DequantizeLinear-21 with
  block_size** 32 along K (per-block scales and zero points), then MatMul;
  symbolic N.
- skl2onnx_knn_cdist_ml: an onnx.helper graph as skl2onnx writes a
  KNeighborsClassifier with options {'optim': 'cdist'}: com.microsoft **CDist**
  (euclidean) to the training set, TopK(largest=0), ArrayFeatureExtractor of the
  training labels, per-class vote counts, ArgMax and the label;
  symbolic N.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)
from unseen11_models import graph_builder, vary  # noqa: E402  (the same helpers)
from unseen12_models import randomise_norms  # noqa: E402

MODELS = ["vits_piper_op15", "swinv2_cpb_op13", "superglue_sinkhorn_op13", "nafnet_dynhw_op13",
          "perceiver_io_op13", "lenreg_repeat_op13", "ort_bert_attention_op13", "ort_dynq_fused_op13",
          "opset23_llama", "int4_blockwise_qdq_op21", "skl2onnx_knn_cdist_ml"]


def _torch():
    import torch
    return torch


def _model(nodes, inits, name, ins, outs, opsets, producer="onnx.helper", ir=None):
    from onnx import helper
    g = helper.make_graph(nodes, name, ins, outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                          producer_name=producer)
    if ir:
        m.ir_version = ir
    return m


# ------------------------------------------------------------------ torch.onnx families

def vits_piper():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def seq_mask(length, max_length):
        x = torch.arange(max_length, dtype=length.dtype, device=length.device)
        return x.unsqueeze(0) < length.unsqueeze(1)

    def generate_path(duration, mask):  # duration [b, 1, t_x], mask [b, 1, t_y, t_x]
        b, _, t_y, t_x = mask.shape
        cum = torch.cumsum(duration, -1).view(b * t_x)
        path = seq_mask(cum, t_y).to(mask.dtype).view(b, t_x, t_y)
        path = path - F.pad(path, [0, 0, 1, 0])[:, :-1]
        return path.unsqueeze(1).transpose(2, 3) * mask

    class WN(nn.Module):
        def __init__(self, c, k=5, layers=2):
            super().__init__()
            self.ins = nn.ModuleList([nn.Conv1d(c, 2 * c, k, dilation=2 ** i, padding=(k * 2 ** i - 2 ** i) // 2)
                                      for i in range(layers)])
            self.rs = nn.ModuleList([nn.Conv1d(c, 2 * c if i < layers - 1 else c, 1) for i in range(layers)])
            self.c = c

        def forward(self, x, mask):
            out = torch.zeros_like(x)
            for i, (a, r) in enumerate(zip(self.ins, self.rs)):
                h = a(x)
                acts = torch.tanh(h[:, :self.c]) * torch.sigmoid(h[:, self.c:])
                rs = r(acts)
                if i < len(self.ins) - 1:
                    x = (x + rs[:, :self.c]) * mask
                    out = out + rs[:, self.c:]
                else:
                    out = out + rs
            return out * mask

    class Coupling(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.half = c // 2
            self.pre = nn.Conv1d(self.half, 16, 1)
            self.enc = WN(16)
            self.post = nn.Conv1d(16, self.half, 1)
            with torch.no_grad():
                self.post.weight.mul_(0.3)

        def forward(self, x, mask):  # reverse, mean only
            x0, x1 = x[:, :self.half], x[:, self.half:]
            h = self.enc(self.pre(x0) * mask, mask)
            m = self.post(h) * mask
            return torch.cat([x0, (x1 - m) * mask], 1)

    class ResBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.cs = nn.ModuleList([nn.Conv1d(c, c, 3, dilation=d, padding=d) for d in (1, 3)])

        def forward(self, x):
            for conv in self.cs:
                x = x + conv(F.leaky_relu(x, 0.1))
            return x

    class VITS(nn.Module):
        def __init__(self, vocab=50, d=32, inter=8):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.enc = nn.ModuleList([nn.Conv1d(d, d, 5, padding=2) for _ in range(2)])
            self.ln = nn.ModuleList([nn.LayerNorm(d) for _ in range(2)])
            self.proj = nn.Conv1d(d, 2 * inter, 1)
            self.dp = nn.Sequential(nn.Conv1d(d, 32, 3, padding=1), nn.ReLU())
            self.dp_ln = nn.LayerNorm(32)
            self.dp_out = nn.Conv1d(32, 1, 1)
            self.flows = nn.ModuleList([Coupling(inter) for _ in range(2)])
            self.pre = nn.Conv1d(inter, 32, 7, padding=3)
            self.up = nn.ConvTranspose1d(32, 16, 8, 4, padding=2)
            self.rb = ResBlock(16)
            self.post = nn.Conv1d(16, 1, 7, padding=3, bias=False)
            self.inter = inter

        def forward(self, input, input_lengths, scales):
            noise_scale, length_scale = scales[0], scales[1]
            x_mask = seq_mask(input_lengths, input.size(1)).unsqueeze(1).to(torch.float32)  # [b, 1, t]
            x = self.emb(input).transpose(1, 2) * math.sqrt(32)
            for conv, ln in zip(self.enc, self.ln):
                x = ln((x + torch.relu(conv(x * x_mask))).transpose(1, 2)).transpose(1, 2) * x_mask
            stats = self.proj(x) * x_mask
            m_p, logs_p = stats[:, :self.inter], stats[:, self.inter:]
            h = self.dp_ln(self.dp(x * x_mask).transpose(1, 2)).transpose(1, 2)
            logw = self.dp_out(h) * x_mask
            w = torch.exp(logw) * x_mask * length_scale
            w_ceil = torch.ceil(w)
            y_lengths = torch.clamp_min(torch.sum(w_ceil, [1, 2]), 1).long()
            y_mask = seq_mask(y_lengths, y_lengths.max()).unsqueeze(1).to(torch.float32)
            attn_mask = x_mask.unsqueeze(2) * y_mask.unsqueeze(-1)
            attn = generate_path(w_ceil, attn_mask)
            m_p = torch.matmul(attn.squeeze(1), m_p.transpose(1, 2)).transpose(1, 2)
            logs_p = torch.matmul(attn.squeeze(1), logs_p.transpose(1, 2)).transpose(1, 2)
            z = m_p + torch.randn_like(m_p) * torch.exp(logs_p) * noise_scale
            for f in reversed(self.flows):
                z = torch.flip(z, [1])
                z = f(z, y_mask)
            o = F.leaky_relu(self.pre(z * y_mask), 0.1)
            o = self.rb(self.up(o))
            return torch.tanh(self.post(F.leaky_relu(o)))
    return VITS()


def swinv2():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def part(x, ws):
        b, h, w, c = x.shape
        x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, ws * ws, c)

    def unpart(x, ws, b, h, w):
        c = x.shape[-1]
        x = x.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(b, h, w, c)

    class WinAttn(nn.Module):
        def __init__(self, dim, ws, heads):
            super().__init__()
            self.h, self.ws = heads, ws
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1)) + torch.randn(heads, 1, 1) * 0.3)
            self.cpb = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, heads, bias=False))
            r = torch.arange(-(ws - 1), ws, dtype=torch.float32)
            t = torch.stack(torch.meshgrid(r, r, indexing="ij")).permute(1, 2, 0).unsqueeze(0)
            t = t / (ws - 1) * 8
            t = torch.sign(t) * torch.log2(torch.abs(t) + 1.0) / math.log2(8)
            self.register_buffer("table", t)
            c = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
            rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0) + (ws - 1)
            self.register_buffer("index", rel[..., 0] * (2 * ws - 1) + rel[..., 1])
            self.qkv = nn.Linear(dim, 3 * dim, bias=False)
            self.q_bias, self.v_bias = nn.Parameter(torch.randn(dim) * 0.1), nn.Parameter(torch.randn(dim) * 0.1)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x, mask):
            b_, n, c = x.shape
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
            qkv = F.linear(x, self.qkv.weight, bias).reshape(b_, n, 3, self.h, -1).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
            tbl = self.cpb(self.table).view(-1, self.h)
            rb = 16 * torch.sigmoid(tbl[self.index.view(-1)].view(n, n, -1).permute(2, 0, 1))
            attn = attn + rb.unsqueeze(0)
            if mask is not None:
                nw = mask.shape[0]
                attn = attn.view(-1, nw, self.h, n, n) + mask.unsqueeze(1).unsqueeze(0)
                attn = attn.view(-1, self.h, n, n)
            x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b_, n, c)
            return self.proj(x)

    class Block(nn.Module):
        def __init__(self, dim, res, ws, heads, shift):
            super().__init__()
            self.ws, self.shift, self.res = ws, shift, res
            self.attn = WinAttn(dim, ws, heads)
            self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
            if shift:
                img = torch.zeros(1, res, res, 1)
                cnt = 0
                for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                        img[:, hs, wsl, :] = cnt
                        cnt += 1
                mw = part(img, ws).squeeze(-1)
                am = mw.unsqueeze(1) - mw.unsqueeze(2)
                self.register_buffer("mask", am.masked_fill(am != 0, -100.0).masked_fill(am == 0, 0.0))
            else:
                self.mask = None

        def forward(self, x):
            b, L, c = x.shape
            h = w = self.res
            s = x.view(b, h, w, c)
            if self.shift:
                s = torch.roll(s, shifts=(-self.shift, -self.shift), dims=(1, 2))
            a = unpart(self.attn(part(s, self.ws), self.mask), self.ws, b, h, w)
            if self.shift:
                a = torch.roll(a, shifts=(self.shift, self.shift), dims=(1, 2))
            x = x + self.n1(a.reshape(b, L, c))
            return x + self.n2(self.mlp(x))

    class Merge(nn.Module):
        def __init__(self, dim, res):
            super().__init__()
            self.res = res
            self.red = nn.Linear(4 * dim, 2 * dim, bias=False)
            self.norm = nn.LayerNorm(2 * dim)

        def forward(self, x):
            b, L, c = x.shape
            x = x.view(b, self.res, self.res, c)
            x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
            return self.norm(self.red(x.view(b, -1, 4 * c)))

    class SwinV2(nn.Module):
        def __init__(self, dim=24, ncls=10):
            super().__init__()
            self.embed = nn.Conv2d(3, dim, 4, 4)
            self.en = nn.LayerNorm(dim)
            self.b1, self.b2 = Block(dim, 16, 4, 2, 0), Block(dim, 16, 4, 2, 2)
            self.merge = Merge(dim, 16)
            self.b3, self.b4 = Block(2 * dim, 8, 4, 4, 0), Block(2 * dim, 8, 4, 4, 2)
            self.norm = nn.LayerNorm(2 * dim)
            self.head = nn.Linear(2 * dim, ncls)

        def forward(self, x):
            x = self.en(self.embed(x).flatten(2).transpose(1, 2))
            x = self.b4(self.b3(self.merge(self.b2(self.b1(x)))))
            return self.head(self.norm(x).mean(1))
    return SwinV2()


def superglue():
    torch = _torch()
    nn = torch.nn

    def mlp(ch):
        layers = []
        for i in range(1, len(ch)):
            layers.append(nn.Conv1d(ch[i - 1], ch[i], 1))
            if i < len(ch) - 1:
                layers += [nn.BatchNorm1d(ch[i]), nn.ReLU()]
        return nn.Sequential(*layers)

    class MHA(nn.Module):
        def __init__(self, h, d):
            super().__init__()
            self.h, self.dim = h, d // h
            self.merge = nn.Conv1d(d, d, 1)
            self.proj = nn.ModuleList([nn.Conv1d(d, d, 1) for _ in range(3)])

        def forward(self, q, k, v):
            b = q.size(0)
            q, k, v = [p(x).view(b, self.dim, self.h, -1) for p, x in zip(self.proj, (q, k, v))]
            s = torch.einsum("bdhn,bdhm->bhnm", q, k) / self.dim ** 0.5
            x = torch.einsum("bhnm,bdhm->bdhn", torch.softmax(s, -1), v)
            return self.merge(x.contiguous().view(b, self.dim * self.h, -1))

    class Prop(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.attn = MHA(2, d)
            self.mlp = mlp([2 * d, 2 * d, d])

        def forward(self, x, src):
            return self.mlp(torch.cat([x, self.attn(x, src, src)], 1))

    def log_ot(scores, alpha, iters):
        b, m, n = scores.shape
        one = scores.new_tensor(1)
        ms, ns = (m * one).to(scores), (n * one).to(scores)
        bins0, bins1, a = alpha.expand(b, m, 1), alpha.expand(b, 1, n), alpha.expand(b, 1, 1)
        z = torch.cat([torch.cat([scores, bins0], -1), torch.cat([bins1, a], -1)], 1)
        norm = -(ms + ns).log()
        log_mu = torch.cat([norm.expand(m), ns.log()[None] + norm]).expand(b, -1)
        log_nu = torch.cat([norm.expand(n), ms.log()[None] + norm]).expand(b, -1)
        u, v = torch.zeros_like(log_mu), torch.zeros_like(log_nu)
        for _ in range(iters):
            u = log_mu - torch.logsumexp(z + v.unsqueeze(1), dim=2)
            v = log_nu - torch.logsumexp(z + u.unsqueeze(2), dim=1)
        return z + u.unsqueeze(2) + v.unsqueeze(1) - norm

    class SuperGlue(nn.Module):
        def __init__(self, d=32, iters=5, thr=0.05):
            super().__init__()
            self.kenc = mlp([3, 16, d])
            self.gnn = nn.ModuleList([Prop(d) for _ in range(4)])
            self.names = ["self", "cross"] * 2
            self.final = nn.Conv1d(d, d, 1)
            self.bin_score = nn.Parameter(torch.tensor(1.0))
            self.iters, self.thr, self.d = iters, thr, d

        def forward(self, kpts0, scores0, desc0, kpts1, scores1, desc1):
            d0 = desc0 + self.kenc(torch.cat([kpts0.transpose(1, 2), scores0.unsqueeze(1)], 1))
            d1 = desc1 + self.kenc(torch.cat([kpts1.transpose(1, 2), scores1.unsqueeze(1)], 1))
            for layer, name in zip(self.gnn, self.names):
                s0, s1 = (d1, d0) if name == "cross" else (d0, d1)
                d0, d1 = d0 + layer(d0, s0), d1 + layer(d1, s1)
            m0, m1 = self.final(d0), self.final(d1)
            sc = torch.einsum("bdn,bdm->bnm", m0, m1) / self.d ** 0.5
            sc = log_ot(sc, self.bin_score, self.iters)
            max0, max1 = sc[:, :-1, :-1].max(2), sc[:, :-1, :-1].max(1)
            i0, i1 = max0.indices, max1.indices
            mutual0 = torch.arange(i0.shape[1])[None] == i1.gather(1, i0)
            mutual1 = torch.arange(i1.shape[1])[None] == i0.gather(1, i1)
            zero = sc.new_tensor(0)
            ms0 = torch.where(mutual0, max0.values.exp(), zero)
            ms1 = torch.where(mutual1, ms0.gather(1, i1), zero)
            valid0 = mutual0 & (ms0 > self.thr)
            valid1 = mutual1 & valid0.gather(1, i1)
            return (torch.where(valid0, i0, i0.new_tensor(-1)), torch.where(valid1, i1, i1.new_tensor(-1)),
                    ms0, ms1)
    return SuperGlue()


def nafnet():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class LN2d(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.w, self.b = nn.Parameter(1 + torch.randn(c) * 0.1), nn.Parameter(torch.randn(c) * 0.1)

        def forward(self, x):
            mu = x.mean(1, keepdim=True)
            var = (x - mu).pow(2).mean(1, keepdim=True)
            return self.w.view(1, -1, 1, 1) * ((x - mu) / (var + 1e-6).sqrt()) + self.b.view(1, -1, 1, 1)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(c, 2 * c, 1), nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
            self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
            self.c3, self.c4, self.c5 = nn.Conv2d(c, c, 1), nn.Conv2d(c, 2 * c, 1), nn.Conv2d(c, c, 1)
            self.n1, self.n2 = LN2d(c), LN2d(c)
            self.beta = nn.Parameter(torch.randn(1, c, 1, 1) * 0.3)
            self.gamma = nn.Parameter(torch.randn(1, c, 1, 1) * 0.3)

        def forward(self, inp):
            x = self.c2(self.c1(self.n1(inp)))
            a, b = x.chunk(2, dim=1)
            x = a * b
            x = self.c3(x * self.sca(x))
            y = inp + x * self.beta
            a, b = self.c4(self.n2(y)).chunk(2, dim=1)
            return y + self.c5(a * b) * self.gamma

    class NAFNet(nn.Module):
        def __init__(self, w=8):
            super().__init__()
            self.intro = nn.Conv2d(3, w, 3, padding=1)
            self.e1, self.d1 = Block(w), nn.Conv2d(w, 2 * w, 2, 2)
            self.e2, self.d2 = Block(2 * w), nn.Conv2d(2 * w, 4 * w, 2, 2)
            self.mid = Block(4 * w)
            self.u2 = nn.Sequential(nn.Conv2d(4 * w, 8 * w, 1, bias=False), nn.PixelShuffle(2))
            self.x2 = Block(2 * w)
            self.u1 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 1, bias=False), nn.PixelShuffle(2))
            self.x1 = Block(w)
            self.end = nn.Conv2d(w, 3, 3, padding=1)

        def forward(self, inp):
            h, w = inp.shape[2], inp.shape[3]
            ph, pw = (4 - h % 4) % 4, (4 - w % 4) % 4
            x0 = F.pad(inp, (0, pw, 0, ph))
            s1 = self.e1(self.intro(x0))
            s2 = self.e2(self.d1(s1))
            x = self.mid(self.d2(s2))
            x = self.x2(self.u2(x) + s2)
            x = self.x1(self.u1(x) + s1)
            return (self.end(x) + x0)[:, :, :h, :w]
    return NAFNet()


def perceiver():
    torch = _torch()
    nn = torch.nn

    class Perceiver(nn.Module):
        def __init__(self, cin=12, d=32, latents=16, bands=6, cout=5):
            super().__init__()
            self.lat = nn.Parameter(torch.randn(latents, d) * 0.5)
            self.cross = nn.MultiheadAttention(d, 2, kdim=cin, vdim=cin, batch_first=True)
            self.ln_in, self.ln_lat = nn.LayerNorm(cin), nn.LayerNorm(d)
            self.selfs = nn.ModuleList([nn.TransformerEncoderLayer(d, 2, 64, 0.0, batch_first=True) for _ in range(2)])
            self.qproj = nn.Linear(2 * bands + 1, d)
            self.dec = nn.MultiheadAttention(d, 2, batch_first=True)
            self.out = nn.Linear(d, cout)
            self.register_buffer("freqs", (2.0 ** torch.arange(bands, dtype=torch.float32)) * math.pi)

        def forward(self, x):
            b, m = x.shape[0], x.shape[1]
            lat = self.lat.unsqueeze(0).expand(b, -1, -1)
            xi = self.ln_in(x)
            lat = lat + self.cross(self.ln_lat(lat), xi, xi, need_weights=False)[0]
            for s in self.selfs:
                lat = s(lat)
            pos = torch.arange(m, dtype=torch.float32) / m * 2 - 1  # output positions from the runtime length
            ang = pos[:, None] * self.freqs[None]
            q = self.qproj(torch.cat([pos[:, None], torch.sin(ang), torch.cos(ang)], -1))
            q = q.unsqueeze(0).expand(b, -1, -1)
            return self.out(self.dec(q, lat, lat, need_weights=False)[0])
    return Perceiver()


def lenreg_repeat():
    torch = _torch()
    nn = torch.nn

    class LenReg(nn.Module):
        def __init__(self, vocab=40, d=16, mels=20):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.conv = nn.Conv1d(d, d, 3, padding=1)
            self.dur = nn.Linear(d, 1)
            self.mel = nn.Conv1d(d, mels, 3, padding=1)

        def forward(self, tokens):
            h = torch.relu(self.conv(self.emb(tokens).transpose(1, 2))).transpose(1, 2)  # [1, T, d]
            d = torch.clamp(torch.round(torch.exp(self.dur(h).squeeze(-1)) * 2), 1, 4).long()[0]  # [T]
            up = torch.repeat_interleave(h, d, dim=1)  # [1, L, d]
            return self.mel(up.transpose(1, 2)), d
    return LenReg()


# ------------------------------------------------------------------ onnx.helper spellings

def ort_bert_attention_op13():
    """A 2-layer BERT as onnxruntime.transformers.optimizer (model_type bert) writes it."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(161)
    ms = "com.microsoft"
    vocab, d, heads, ffn, maxpos = 200, 32, 4, 64, 64

    def w(*s, scale=None):
        return (rng.standard_normal(s) * (scale if scale is not None else 1 / np.sqrt(s[0]))).astype(np.float32)
    const("word", w(vocab, d, scale=0.5))
    const("pos", w(maxpos, d, scale=0.2))
    const("seg", w(2, d, scale=0.2))
    const("emb_g", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    const("emb_b", (rng.standard_normal(d) * 0.1).astype(np.float32))
    node("EmbedLayerNormalization", ["input_ids", "token_type_ids", "word", "pos", "seg", "emb_g", "emb_b",
                                     "attention_mask"], ["emb", "mask_index"], domain=ms, epsilon=1e-12)
    x = "emb"
    for i in range(2):
        p = f"l{i}."
        const(p + "qkv_w", w(d, 3 * d))
        const(p + "qkv_b", (rng.standard_normal(3 * d) * 0.1).astype(np.float32))
        node("Attention", [x, p + "qkv_w", p + "qkv_b", "mask_index"], [p + "att"], domain=ms, num_heads=heads)
        const(p + "o_w", w(d, d))
        node("MatMul", [p + "att", p + "o_w"], [p + "o"])
        const(p + "o_b", (rng.standard_normal(d) * 0.1).astype(np.float32))
        const(p + "ln1_g", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
        const(p + "ln1_b", (rng.standard_normal(d) * 0.1).astype(np.float32))
        node("SkipLayerNormalization", [p + "o", x, p + "ln1_g", p + "ln1_b", p + "o_b"], [p + "h1"], domain=ms,
             epsilon=1e-12)
        const(p + "f1_w", w(d, ffn))
        const(p + "f1_b", (rng.standard_normal(ffn) * 0.1).astype(np.float32))
        node("MatMul", [p + "h1", p + "f1_w"], [p + "f1"])
        node("BiasGelu", [p + "f1", p + "f1_b"], [p + "g"], domain=ms)
        const(p + "f2_w", w(ffn, d))
        node("MatMul", [p + "g", p + "f2_w"], [p + "f2"])
        const(p + "f2_b", (rng.standard_normal(d) * 0.1).astype(np.float32))
        const(p + "ln2_g", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
        const(p + "ln2_b", (rng.standard_normal(d) * 0.1).astype(np.float32))
        x = node("SkipLayerNormalization", [p + "f2", p + "h1", p + "ln2_g", p + "ln2_b", p + "f2_b"], [p + "out"],
                 domain=ms, epsilon=1e-12)
    node("Identity", [x], ["last_hidden_state"])
    node("Gather", [x, const("zero", np.array(0, np.int64))], ["cls"], axis=1)
    const("pool_w", w(d, d))
    const("pool_b", (rng.standard_normal(d) * 0.1).astype(np.float32))
    node("Gemm", ["cls", "pool_w", "pool_b"], ["pool_lin"])
    node("Tanh", ["pool_lin"], ["pooler_output"])
    ids = ["N", "S"]
    return _model(nodes, inits, "bert_ort_optimized",
                  [helper.make_tensor_value_info(n, TensorProto.INT32, ids) for n in
                   ("input_ids", "token_type_ids", "attention_mask")],
                  [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["N", "S", d]),
                   helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["N", d])],
                  [("", 13), (ms, 1)], producer="onnxruntime.transformers")


def ort_dynq_fused_op13():
    """A transformer FFN quantized by quantize_dynamic and saved by ONNX Runtime's optimizer."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(162)
    ms = "com.microsoft"
    d, ffn = 32, 64
    const("ln_g", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    const("ln_b", (rng.standard_normal(d) * 0.1).astype(np.float32))
    node("LayerNormalization", ["x", "ln_g", "ln_b"], ["xn"], axis=-1, epsilon=1e-5)
    w1 = rng.standard_normal((d, ffn)) / np.sqrt(d)
    s1 = (np.abs(w1).max(0) / 127).astype(np.float32)
    const("w1_q", np.clip(np.round(w1 / s1), -127, 127).astype(np.int8))
    const("w1_s", s1)
    const("w1_zp", np.zeros(ffn, np.int8))
    const("b1", (rng.standard_normal(ffn) * 0.1).astype(np.float32))
    node("DynamicQuantizeMatMul", ["xn", "w1_q", "w1_s", "w1_zp", "b1"], ["h"], domain=ms)
    node("Relu", ["h"], ["hr"])
    node("DynamicQuantizeLinear", ["hr"], ["hq", "h_s", "h_zp"])
    w2 = rng.standard_normal((ffn, d)) / np.sqrt(ffn)
    s2 = np.float32(np.abs(w2).max() / 127)
    const("w2_q", np.clip(np.round(w2 / s2), -127, 127).astype(np.int8))
    const("w2_s", np.array(s2, np.float32))
    const("w2_zp", np.array(0, np.int8))
    const("b2", (rng.standard_normal(d) * 0.1).astype(np.float32))
    node("MatMulIntegerToFloat", ["hq", "w2_q", "h_s", "w2_s", "h_zp", "w2_zp", "b2"], ["f"], domain=ms)
    node("Add", ["f", "x"], ["y0"])
    w3 = rng.standard_normal((d, 6)) / np.sqrt(d)
    s3 = (np.abs(w3).max(0) / 127).astype(np.float32)
    const("w3_q", np.clip(np.round(w3 / s3), -127, 127).astype(np.int8))
    const("w3_s", s3)
    node("DynamicQuantizeMatMul", ["y0", "w3_q", "w3_s"], ["logits"], domain=ms)
    node("Identity", ["y0"], ["hidden"])
    return _model(nodes, inits, "ffn_dynq_ort_optimized",
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "S", d])],
                  [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["N", "S", d]),
                   helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "S", 6])],
                  [("", 13), (ms, 1)], producer="onnxruntime.quantization")


def opset23_llama():
    """A Llama layer in the opset-23 operators (RMSNormalization, RotaryEmbedding, Attention)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(163)
    vocab, d, qh, kvh, ffn = 96, 32, 4, 2, 64
    dh = d // qh

    def w(k, n):
        return (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    const("embed", (rng.standard_normal((vocab, d)) * 0.5).astype(np.float32))
    node("Gather", ["embed", "input_ids"], ["h0"])
    const("ln1_w", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("RMSNormalization", ["h0", "ln1_w"], ["x1"], axis=-1, epsilon=1e-5)
    pos = np.arange(64, dtype=np.float32)[:, None] / (10000 ** (np.arange(0, dh, 2, dtype=np.float32) / dh))[None]
    const("cos", np.cos(pos).astype(np.float32))
    const("sin", np.sin(pos).astype(np.float32))
    for t, heads in (("q", qh), ("k", kvh), ("v", kvh)):
        const(t + "_w", w(d, heads * dh))
        node("MatMul", ["x1", t + "_w"], [t + "_p"])
        node("Reshape", [t + "_p", const(t + "_shape", np.array([0, 0, heads, dh], np.int64))], [t + "_4"])
        node("Transpose", [t + "_4"], [t + "_h"], perm=[0, 2, 1, 3])  # [B, heads, S, dh]
    for t in ("q", "k"):
        node("RotaryEmbedding", [t + "_h", "cos", "sin", "position_ids"], [t + "_r"], interleaved=0)
    node("Attention", ["q_r", "k_r", "v_h"], ["ctx", "present_key", "present_value"], is_causal=1)
    node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3])
    node("Reshape", ["ctx_t", const("bsd", np.array([0, 0, d], np.int64))], ["ctx2"])
    const("o_w", w(d, d))
    node("MatMul", ["ctx2", "o_w"], ["o"])
    node("Add", ["o", "h0"], ["h1"])
    const("ln2_w", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("RMSNormalization", ["h1", "ln2_w"], ["x2"], axis=-1, epsilon=1e-5)
    const("g_w", w(d, ffn))
    const("u_w", w(d, ffn))
    const("dn_w", w(ffn, d))
    node("MatMul", ["x2", "g_w"], ["g"])
    node("Sigmoid", ["g"], ["gs"])
    node("Mul", ["g", "gs"], ["silu"])
    node("MatMul", ["x2", "u_w"], ["u"])
    node("Mul", ["silu", "u"], ["gu"])
    node("MatMul", ["gu", "dn_w"], ["dn"])
    node("Add", ["dn", "h1"], ["h2"])
    const("lnf_w", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("RMSNormalization", ["h2", "lnf_w"], ["xf"], axis=-1, epsilon=1e-5)
    const("lm_w", w(d, vocab))
    node("MatMul", ["xf", "lm_w"], ["logits"])
    return _model(nodes, inits, "llama_opset23",
                  [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", "S"]),
                   helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["N", "S"])],
                  [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "S", vocab]),
                   helper.make_tensor_value_info("present_key", TensorProto.FLOAT, ["N", kvh, "S", dh]),
                   helper.make_tensor_value_info("present_value", TensorProto.FLOAT, ["N", kvh, "S", dh])],
                  [("", 23)], producer="pytorch", ir=10)


def _int4_tensor(name, q, signed, shape):
    """A TensorProto of data type INT4 (22) or UINT4 (21): two values per byte,
    the first in the low nibble (the ONNX packing)."""
    from onnx import TensorProto
    flat = (q.reshape(-1).astype(np.int16) & 0xF).astype(np.uint8)
    if flat.size % 2:
        flat = np.concatenate([flat, np.zeros(1, np.uint8)])
    t = TensorProto()
    t.name = name
    t.data_type = 22 if signed else 21
    t.dims.extend(shape)
    t.raw_data = (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()
    return t


def int4_blockwise_qdq_op21():
    """MatMuls on blockwise 4-bit weights in QDQ form (DequantizeLinear-21, block_size)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(164)
    block = 32
    x = "x"
    dims = [(64, 48, True), (48, 32, False), (32, 10, True)]  # K 48 is not a multiple of the block
    for i, (k, n, signed) in enumerate(dims):
        wt = rng.standard_normal((k, n)).astype(np.float32) / np.sqrt(k)
        nb = -(-k // block)
        pad = np.zeros((nb * block, n), np.float32)
        pad[:k] = wt
        blocks = pad.reshape(nb, block, n)
        if signed:  # symmetric int4, no zero point (ORT's default)
            sc = (np.abs(blocks).max(1) / 7).astype(np.float32)
            sc[sc == 0] = 1
            q = np.clip(np.round(blocks / sc[:, None]), -8, 7).astype(np.int8).reshape(nb * block, n)[:k]
            zp = None
        else:  # asymmetric uint4 with a zero point per block
            lo, hi = np.minimum(blocks.min(1), 0), np.maximum(blocks.max(1), 0)
            sc = ((hi - lo) / 15).astype(np.float32)
            sc[sc == 0] = 1
            zp = np.clip(np.round(-lo / sc), 0, 15).astype(np.uint8)
            q = np.clip(np.round(blocks / sc[:, None]) + zp[:, None], 0, 15).astype(np.uint8).reshape(nb * block, n)[:k]
        inits.append(_int4_tensor(f"w{i}_q", q, signed, [k, n]))
        const(f"w{i}_s", sc)
        ins = [f"w{i}_q", f"w{i}_s"]
        if zp is not None:
            inits.append(_int4_tensor(f"w{i}_zp", zp, False, list(zp.shape)))
            ins.append(f"w{i}_zp")
        node("DequantizeLinear", ins, [f"w{i}"], axis=0, block_size=block)
        node("MatMul", [x, f"w{i}"], [f"mm{i}"])
        const(f"b{i}", (rng.standard_normal(n) * 0.1).astype(np.float32))
        x = node("Add", [f"mm{i}", f"b{i}"], [f"lin{i}"])
        if i < len(dims) - 1:
            x = node("Relu", [x], [f"relu{i}"])
    node("Identity", [x], ["logits"])
    return _model(nodes, inits, "mlp_int4_qdq",
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
                  [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
                  [("", 21)], producer="onnxruntime.quantization", ir=10)


def skl2onnx_knn_cdist_ml():
    """KNeighborsClassifier(n_neighbors=3) with options {'optim': 'cdist'}, zipmap=False."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(165)
    ml, ms = "ai.onnx.ml", "com.microsoft"
    m, f, k, classes = 60, 6, 3, np.array([0, 1, 2, 5], np.int64)
    centers = rng.standard_normal((len(classes), f)) * 2
    ytrain = rng.integers(0, len(classes), m)
    xtrain = (centers[ytrain] + rng.standard_normal((m, f)) * 0.7).astype(np.float32)
    const("train", xtrain)
    const("train_labels", classes[ytrain].astype(np.int64))
    node("CDist", ["X", "train"], ["dist"], domain=ms, metric="euclidean")
    node("TopK", ["dist", const("k", np.array([k], np.int64))], ["knn_d", "knn_i"], axis=1, largest=0, sorted=1)
    node("ArrayFeatureExtractor", ["train_labels", "knn_i"], ["knn_l"], domain=ml)
    node("Reshape", ["knn_l", const("nk", np.array([-1, k], np.int64))], ["knn_lab"])
    votes = []
    for j, c in enumerate(classes):
        node("Equal", ["knn_lab", const(f"c{j}", np.array(c, np.int64))], [f"eq{j}"])
        node("Cast", [f"eq{j}"], [f"eqf{j}"], to=TensorProto.FLOAT)
        votes.append(node("ReduceSum", [f"eqf{j}", const(f"ax1_{j}", np.array([1], np.int64))], [f"v{j}"],
                          keepdims=1))
    node("Concat", votes, ["counts"], axis=1)
    node("Div", ["counts", const("kf", np.array(float(k), np.float32))], ["probabilities"])
    node("ArgMax", ["probabilities"], ["amax"], axis=1, keepdims=0)
    node("ArrayFeatureExtractor", [const("classes", classes), "amax"], ["label_raw"], domain=ml)
    node("Reshape", ["label_raw", const("flat", np.array([-1], np.int64))], ["label"])
    return _model(nodes, inits, "knn_cdist",
                  [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", f])],
                  [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                   helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(classes)])],
                  [("", 13), (ml, 1), (ms, 1)], producer="skl2onnx")


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True, dtype=np.float32, scale=1.0):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: (a * scale).astype(dtype)}
    return gen


def _piper(rng, alt):
    t = 9 if alt else 14
    return {"input": rng.integers(1, 50, (1, t)).astype(np.int64), "input_lengths": np.array([t], np.int64),
            "scales": np.array([0.0, 1.0, 0.0], np.float32)}  # noise_scale 0: deterministic


def _matches(rng, alt):
    m, n = (20, 27) if alt else (32, 24)
    out = {}
    for i, c in ((0, m), (1, n)):
        out[f"kpts{i}"] = (rng.random((1, c, 2)) * 2 - 1).astype(np.float32)
        out[f"scores{i}"] = rng.random((1, c)).astype(np.float32)
        d = rng.standard_normal((1, 32, c))
        out[f"desc{i}"] = (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)
    return out


def _seq(rng, alt):
    n, m = (3, 11) if alt else (2, 24)
    return {"x": rng.standard_normal((n, m, 12)).astype(np.float32)}


def _tok(rng, alt):
    return {"tokens": rng.integers(0, 40, (1, 7 if alt else 12)).astype(np.int64)}


def _bert(rng, alt):
    n, s = (3, 7) if alt else (2, 16)
    mask = np.ones((n, s), np.int32)
    mask[-1, s - 5:] = 0  # right padding, as the 1-D mask index assumes
    tt = np.zeros((n, s), np.int32)
    tt[:, s // 2:] = 1
    return {"input_ids": rng.integers(1, 200, (n, s)).astype(np.int32), "token_type_ids": tt, "attention_mask": mask}


def _hidden(rng, alt):
    n, s = (1, 5) if alt else (2, 10)
    return {"x": rng.standard_normal((n, s, 32)).astype(np.float32)}


def _llama(rng, alt):
    n, s = (1, 5) if alt else (2, 12)
    return {"input_ids": rng.integers(0, 96, (n, s)).astype(np.int64),
            "position_ids": np.tile(np.arange(s, dtype=np.int64), (n, 1))}


def _tab(f, name="X"):
    def gen(rng, alt):
        return {name: (rng.standard_normal((5 if alt else 16, f)) * 1.5).astype(np.float32)}
    return gen


IMG_AXES = {0: "N", 2: "H", 3: "W"}
# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, inputs kept as drawn in every sample)
SPECS = {
    "vits_piper_op15": (vits_piper, 15, _piper, ["output"],
                        {"input": {1: "T"}, "output": {2: "audio"}}, {"scales", "input_lengths"}),
    "swinv2_cpb_op13": (swinv2, 13, _img("x", (1, 3, 64, 64), (2, 3, 64, 64), uniform=False), ["logits"],
                        {"x": {0: "N"}, "logits": {0: "N"}}, set()),
    "superglue_sinkhorn_op13": (superglue, 13, _matches, ["matches0", "matches1", "matching_scores0",
                                                          "matching_scores1"],
                                {"kpts0": {1: "M"}, "scores0": {1: "M"}, "desc0": {2: "M"}, "kpts1": {1: "N"},
                                 "scores1": {1: "N"}, "desc1": {2: "N"}, "matches0": {1: "M"}, "matches1": {1: "N"},
                                 "matching_scores0": {1: "M"}, "matching_scores1": {1: "N"}}, set()),
    "nafnet_dynhw_op13": (nafnet, 13, _img("x", (1, 3, 50, 62), (2, 3, 37, 45)), ["y"],
                          {"x": IMG_AXES, "y": IMG_AXES}, set()),
    "perceiver_io_op13": (perceiver, 13, _seq, ["y"], {"x": {0: "N", 1: "M"}, "y": {0: "N", 1: "M"}}, set()),
    "lenreg_repeat_op13": (lenreg_repeat, 13, _tok, ["mel", "durations"],
                           {"tokens": {1: "T"}, "mel": {2: "frames"}, "durations": {0: "T"}}, set()),
    "ort_bert_attention_op13": ("helper", 13, _bert, None, None, set()),
    "ort_dynq_fused_op13": ("helper", 13, _hidden, None, None, set()),
    "opset23_llama": ("helper", 23, _llama, None, None, set()),
    "int4_blockwise_qdq_op21": ("helper", 21, _tab(64, "x"), None, None, set()),
    "skl2onnx_knn_cdist_ml": ("helper", 13, _tab(6), None, None, set()),
}

HELPER = {"ort_bert_attention_op13": ort_bert_attention_op13, "ort_dynq_fused_op13": ort_dynq_fused_op13,
          "opset23_llama": opset23_llama, "int4_blockwise_qdq_op21": int4_blockwise_qdq_op21,
          "skl2onnx_knn_cdist_ml": skl2onnx_knn_cdist_ml}
# The onnx package here (1.12) knows neither com.microsoft operators nor opsets above 17.


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, keep = SPECS[name]
    rng = np.random.default_rng(49)

    def draw(alt):
        return gen(rng, alt)
    first = draw(False)
    samples = [first]
    for _ in range(3):
        fresh = draw(False)
        varied = {k: (None if k in keep else vary(v, rng)) for k, v in first.items()}
        samples.append({k: (fresh[k] if v is None else v) for k, v in varied.items()})
    path = os.path.join(out, name + ".onnx")
    if builder == "helper":
        import onnx
        m = HELPER[name]()
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
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    np.savez(os.path.join(out, "data", name + ".alt.npz"), **draw(True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def export_main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen16); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen16")


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
