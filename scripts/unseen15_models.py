#!/usr/bin/python3
"""The --unseen15 export set (twentieth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen14, --detection, --audio,
--darknet, --extra) has, for triage of the whole workflow (scripts/triage_unseen15.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen15 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen15_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen15_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics and affines randomised), nothing
downloaded. Every model NAME is written as DIR/NAME.onnx (default DIR
out/bench-models-unseen15) with four samples DIR/data/NAME/s{0..3}.npz (one array
per input name), DIR/data/NAME.in.npz (sample 0) and, for models with symbolic
sizes, DIR/data/NAME.alt.npz (an input at other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- segformer_dynhw_op13: a SegFormer (MiT) encoder and all-MLP decoder: overlapping
  patch embeddings (strided Conv, flatten, LayerNorm), efficient self-attention
  whose keys and values come from a spatial-reduction Conv (kernel = stride = R)
  on the token map reshaped back to [N, C, H, W], Mix-FFN (Linear, depthwise 3x3
  Conv on the re-shaped tokens, GELU, Linear), per-stage Linear projections
  upsampled bilinearly to the 1/4 map and fused; symbolic N, H, W.
- deberta_disentangled_op13: a DeBERTa-v2 encoder layer: log-bucketed relative
  positions (Sign, Abs, Log, Ceil, Where on a Range difference of the symbolic
  length), content-to-position and position-to-content scores by torch.gather
  (GatherElements) of Q·K_rel and K·Q_rel at clamped bucket indices, XSoftmax
  with an int64 attention mask (masked_fill finfo.min); int64 input_ids and
  attention_mask, symbolic N, S.
- fastspeech2_lenreg_op13: a FastSpeech 2 acoustic model: phoneme Embedding, an
  FFT block (self-attention, Conv1d FFN), a duration predictor (Conv1d, ReLU,
  LayerNorm, Linear), durations Round(Exp) clamped and Cast to int64, the length
  regulator by CumSum, Range to the data-dependent total length and a
  comparison count (frame -> phoneme index), GatherElements of the expanded
  hidden states, a frame mask, a decoder block and the mel Linear; the mel
  output has a data-dependent length; symbolic N, T.
- beam_search_script_op13: torch.jit.script beam search (beam 3, vocabulary 40):
  a Loop over at most 8 steps with a data-dependent stop (every beam at EOS),
  a recurrent cell, LogSoftmax, beam scores added, TopK over beam x vocabulary,
  integer Div/Mod into beam and token, index_select of the histories and states
  (Gather), the history grown by Concat each step; symbolic N.
- informer_probsparse_op13: an Informer encoder: Conv1d token embedding,
  ProbSparse self-attention (keys sampled by a fixed index, the sparsity measure
  max - mean, TopK with k = 5·ceil(ln L) computed from the symbolic length,
  the selected queries gathered by advanced indexing, the mean-of-V context
  updated by index_put (ScatterND)), the distilling layer (Conv1d, BatchNorm,
  ELU, MaxPool1d stride 2), a forecasting head; symbolic N, L.
- retnet_retention_op14: a RetNet layer: multi-scale retention with the decay
  mask gamma^(n-m) (Pow of a Range difference, Where for n < m, row
  normalisation by Sqrt of ReduceSum), xPos-style rotation of q and k (Sin/Cos
  of Range positions, rotate-every-two by stacking and flattening), |QK·D|
  normalisation clamped at 1, a per-head LayerNorm (torchscale's group norm), swish gate; symbolic N, S.
- convnextv2_grn_dynhw_op17: ConvNeXt V2 blocks: depthwise 7x7, channels-last
  LayerNormalization (opset 17) after a Transpose, Linear expansion, GELU,
  Global Response Normalisation (ReduceL2 over H and W, divided by its channel
  mean), Linear, layer-free residual; channels-first LayerNorm by hand at the
  downsampling; symbolic N, H, W.
- superpoint_nms_dynhw_op16: a SuperPoint keypoint detector and descriptor:
  65-way Softmax, dustbin dropped, pixel_shuffle by 8 (DepthToSpace), simple_nms
  by MaxPool(9, stride 1) equality iterated twice, a border mask, NonZero of the
  score threshold (data-dependent keypoint count), TopK with k = min(K, 48),
  descriptors L2-normalised and sampled at the keypoints by GridSample;
  symbolic H, W.
- dcnv2_deformconv_op19: an onnx.helper graph of a DCNv2 detection head as the
  ONNX DeformConv operator (opset 19) writes it: offsets and a Sigmoid
  modulation mask predicted by Convs, DeformConv with a bias and 2 offset groups,
  a second DeformConv with stride 2 and no mask; symbolic N.
- ortgenai_int4_llama: an onnx.helper graph as onnxruntime-genai's model builder
  writes a 4-bit Llama decoder layer: SimplifiedLayerNormalization (RMSNorm, in
  ONNX Runtime's ai.onnx-domain contrib spelling), com.microsoft MatMulNBits
  (4-bit weights packed two per byte, block 32, with and without packed zero
  points), com.microsoft RotaryEmbedding on q and k from a position_ids input,
  causal attention spelled with standard operators,
  SkipSimplifiedLayerNormalization (residual sum as its fourth output), a SiLU
  gated MLP and an int4 lm_head; int64 input_ids and position_ids, symbolic N, S.
- skl2onnx_coltrans_mlp_ml: an onnx.helper graph as skl2onnx writes a
  ColumnTransformer over a float and an int64 input feeding an MLPRegressor:
  ai.onnx.ml ArrayFeatureExtractor (column picks), Scaler on the numeric
  columns, Binarizer on two others, OneHotEncoder per categorical column
  (cats_int64s, zeros=1: a category the encoder did not see is all zeros) with
  skl2onnx's Reshape to [N, K], Concat, then MatMul/Add/Relu layers; symbolic N.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)
from unseen11_models import graph_builder, vary  # noqa: E402  (the same helpers)
from unseen12_models import randomise_norms  # noqa: E402

MODELS = ["segformer_dynhw_op13", "deberta_disentangled_op13", "fastspeech2_lenreg_op13",
          "beam_search_script_op13", "informer_probsparse_op13", "retnet_retention_op14",
          "convnextv2_grn_dynhw_op17", "superpoint_nms_dynhw_op16", "dcnv2_deformconv_op19",
          "ortgenai_int4_llama", "skl2onnx_coltrans_mlp_ml"]


def _torch():
    import torch
    return torch


def _model(nodes, inits, name, ins, outs, opsets, producer="onnx.helper"):
    from onnx import helper
    g = helper.make_graph(nodes, name, ins, outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                             producer_name=producer)


# ------------------------------------------------------------------ torch.onnx families

def segformer():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class PatchEmbed(nn.Module):
        def __init__(self, cin, c, k, s):
            super().__init__()
            self.proj = nn.Conv2d(cin, c, k, s, k // 2)
            self.norm = nn.LayerNorm(c)

        def forward(self, x):
            x = self.proj(x)
            h, w = x.shape[2], x.shape[3]
            return self.norm(x.flatten(2).transpose(1, 2)), h, w

    class EffAttn(nn.Module):
        def __init__(self, c, heads, sr):
            super().__init__()
            self.h, self.sr_ratio = heads, sr
            self.q = nn.Linear(c, c)
            self.kv = nn.Linear(c, 2 * c)
            self.proj = nn.Linear(c, c)
            self.scale = (c // heads) ** -0.5
            if sr > 1:
                self.sr = nn.Conv2d(c, c, sr, sr)
                self.norm = nn.LayerNorm(c)

        def forward(self, x, h, w):
            b, n, c = x.shape
            q = self.q(x).reshape(b, n, self.h, c // self.h).permute(0, 2, 1, 3)
            if self.sr_ratio > 1:
                x_ = x.permute(0, 2, 1).reshape(b, c, h, w)
                x_ = self.norm(self.sr(x_).reshape(b, c, -1).permute(0, 2, 1))
            else:
                x_ = x
            kv = self.kv(x_).reshape(b, -1, 2, self.h, c // self.h).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
            attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)
            return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))

    class MixFFN(nn.Module):
        def __init__(self, c, hid):
            super().__init__()
            self.fc1 = nn.Linear(c, hid)
            self.dw = nn.Conv2d(hid, hid, 3, 1, 1, groups=hid)
            self.fc2 = nn.Linear(hid, c)

        def forward(self, x, h, w):
            x = self.fc1(x)
            b, n, c = x.shape
            x = self.dw(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            return self.fc2(F.gelu(x))

    class Block(nn.Module):
        def __init__(self, c, heads, sr):
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(c), nn.LayerNorm(c)
            self.attn = EffAttn(c, heads, sr)
            self.ffn = MixFFN(c, 4 * c)

        def forward(self, x, h, w):
            x = x + self.attn(self.n1(x), h, w)
            return x + self.ffn(self.n2(x), h, w)

    class SegFormer(nn.Module):
        def __init__(self, dims=(16, 32, 48), heads=(1, 2, 2), srs=(4, 2, 1), ncls=6):
            super().__init__()
            cin = 3
            self.embeds, self.blocks, self.norms, self.lins = (nn.ModuleList() for _ in range(4))
            for i, (c, hd, sr) in enumerate(zip(dims, heads, srs)):
                self.embeds.append(PatchEmbed(cin, c, 7 if i == 0 else 3, 4 if i == 0 else 2))
                self.blocks.append(Block(c, hd, sr))
                self.norms.append(nn.LayerNorm(c))
                self.lins.append(nn.Linear(c, 32))
                cin = c
            self.fuse = nn.Sequential(nn.Conv2d(32 * len(dims), 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
            self.cls = nn.Conv2d(32, ncls, 1)

        def forward(self, x):
            b = x.shape[0]
            feats = []
            for emb, blk, nrm in zip(self.embeds, self.blocks, self.norms):
                t, h, w = emb(x)
                t = nrm(blk(t, h, w))
                x = t.transpose(1, 2).reshape(b, -1, h, w)
                feats.append(x)
            size = feats[0].shape[2:]
            ups = []
            for f, lin in zip(feats, self.lins):
                m = lin(f.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, -1, f.shape[2], f.shape[3])
                ups.append(F.interpolate(m, size=size, mode="bilinear", align_corners=False))
            return self.cls(self.fuse(torch.cat(ups[::-1], 1)))
    return SegFormer()


def deberta():
    torch = _torch()
    nn = torch.nn

    def log_bucket(rel, bucket, maxpos):
        sign = torch.sign(rel)
        mid = bucket // 2
        abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
        log_pos = torch.ceil(torch.log(abs_pos / mid) / math.log((maxpos - 1) / mid) * (mid - 1)) + mid
        return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign)

    class Layer(nn.Module):
        def __init__(self, d=48, heads=4, buckets=16, maxpos=64):
            super().__init__()
            self.h, self.dh, self.span, self.maxpos = heads, d // heads, buckets, maxpos
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.rel = nn.Embedding(2 * buckets, d)
            self.rel_ln = nn.LayerNorm(d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def split(self, x):
            b, s, _ = x.shape
            return x.reshape(b, s, self.h, self.dh).permute(0, 2, 1, 3).reshape(b * self.h, s, self.dh)

        def forward(self, x, mask):
            b, s, d = x.shape
            q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
            scale = math.sqrt(self.dh * 3)
            score = q @ k.transpose(-1, -2) / scale
            ids = torch.arange(s, device=x.device)
            rel = log_bucket(ids[:, None] - ids[None, :], self.span, self.maxpos).long()
            rel_emb = self.rel_ln(self.rel.weight)  # [2 span, d]
            pk = self.k(rel_emb).reshape(1, 2 * self.span, self.h, self.dh).permute(0, 2, 1, 3)
            pk = pk.repeat(b, 1, 1, 1).reshape(b * self.h, 2 * self.span, self.dh)
            pq = self.q(rel_emb).reshape(1, 2 * self.span, self.h, self.dh).permute(0, 2, 1, 3)
            pq = pq.repeat(b, 1, 1, 1).reshape(b * self.h, 2 * self.span, self.dh)
            c2p_pos = torch.clamp(rel + self.span, 0, 2 * self.span - 1)
            c2p = torch.gather(q @ pk.transpose(-1, -2), -1, c2p_pos.unsqueeze(0).expand(b * self.h, s, s))
            p2c_pos = torch.clamp(-rel + self.span, 0, 2 * self.span - 1)
            p2c = torch.gather(k @ pq.transpose(-1, -2), -1,
                               p2c_pos.unsqueeze(0).expand(b * self.h, s, s)).transpose(-1, -2)
            score = (score + c2p / scale + p2c / scale).reshape(b, self.h, s, s)
            m = mask[:, None, :, None] * mask[:, None, None, :]
            rmask = (m == 0)
            p = torch.softmax(score.masked_fill(rmask, torch.finfo(torch.float32).min), -1).masked_fill(rmask, 0.0)
            ctx = (p.reshape(b * self.h, s, s) @ v).reshape(b, self.h, s, self.dh).permute(0, 2, 1, 3)
            x = self.ln1(x + self.o(ctx.reshape(b, s, d)))
            return self.ln2(x + self.ff(x))

    class DeBERTa(nn.Module):
        def __init__(self, vocab=400, d=48):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.ln = nn.LayerNorm(d)
            self.layers = nn.ModuleList([Layer(d), Layer(d)])
            self.head = nn.Linear(d, 3)

        def forward(self, input_ids, attention_mask):
            x = self.ln(self.emb(input_ids)) * attention_mask.unsqueeze(-1).float()
            for lyr in self.layers:
                x = lyr(x, attention_mask)
            return x, self.head(x[:, 0])
    return DeBERTa()


def fastspeech2():
    torch = _torch()
    nn = torch.nn

    class FFT(nn.Module):
        def __init__(self, d=32, heads=2):
            super().__init__()
            self.att = nn.MultiheadAttention(d, heads, batch_first=True)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.c1 = nn.Conv1d(d, 64, 9, padding=4)
            self.c2 = nn.Conv1d(64, d, 1)

        def forward(self, x, pad):
            a, _ = self.att(x, x, x, key_padding_mask=pad, need_weights=False)
            x = self.ln1(x + a)
            f = self.c2(torch.relu(self.c1(x.transpose(1, 2)))).transpose(1, 2)
            return self.ln2(x + f).masked_fill(pad.unsqueeze(-1), 0.0)

    class DurPred(nn.Module):
        def __init__(self, d=32):
            super().__init__()
            self.c1, self.c2 = nn.Conv1d(d, 32, 3, padding=1), nn.Conv1d(32, 32, 3, padding=1)
            self.l1, self.l2 = nn.LayerNorm(32), nn.LayerNorm(32)
            self.out = nn.Linear(32, 1)

        def forward(self, x):
            h = self.l1(torch.relu(self.c1(x.transpose(1, 2))).transpose(1, 2))
            h = self.l2(torch.relu(self.c2(h.transpose(1, 2))).transpose(1, 2))
            return self.out(h).squeeze(-1)

    class FastSpeech2(nn.Module):
        def __init__(self, vocab=60, d=32, mels=40):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.enc = FFT(d)
            self.dur = DurPred(d)
            self.dec = FFT(d)
            self.mel = nn.Linear(d, mels)

        def forward(self, phonemes):
            pad = phonemes == 0
            h = self.enc(self.emb(phonemes), pad)
            logd = self.dur(h)
            dur = torch.clamp(torch.round(torch.exp(logd) * 2.0), 1, 5).long().masked_fill(pad, 0)
            cum = torch.cumsum(dur, 1)  # [N, T]
            total = cum[:, -1]
            frames = torch.arange(total.max(), device=phonemes.device)  # data-dependent length
            idx = (frames[None, :, None] >= cum[:, None, :]).sum(-1)  # [N, L] phoneme of each frame
            idx = torch.clamp(idx, max=phonemes.shape[1] - 1)
            up = torch.gather(h, 1, idx.unsqueeze(-1).expand(-1, -1, h.shape[2]))
            fpad = frames[None, :] >= total[:, None]
            y = self.dec(up, fpad)
            return self.mel(y), dur
    return FastSpeech2()


def beam_search():
    torch = _torch()
    nn = torch.nn

    class Beam(nn.Module):
        def __init__(self, vocab=40, d=32, beam=3, steps=8, bos=1, eos=2):
            super().__init__()
            self.V, self.K, self.T, self.bos, self.eos = vocab, beam, steps, bos, eos
            self.emb = nn.Embedding(vocab, d)
            self.lh = nn.Linear(d, d)
            self.le = nn.Linear(d, d)
            self.out = nn.Linear(d, vocab)

        def forward(self, enc):
            b = enc.size(0)
            h = enc.unsqueeze(1).expand(b, self.K, enc.size(1)).reshape(b * self.K, enc.size(1))
            first = torch.zeros(b, 1, dtype=enc.dtype)
            rest = torch.full([b, self.K - 1], -1.0e9, dtype=enc.dtype)
            scores = torch.cat([first, rest], 1)
            tokens = torch.full([b * self.K, 1], self.bos, dtype=torch.long)
            base = (torch.arange(b) * self.K).unsqueeze(1)
            for _ in range(self.T):
                tok = tokens[:, -1]
                h = torch.tanh(self.lh(h) + self.le(self.emb(tok)))
                logp = torch.log_softmax(self.out(h), -1)
                cand = (scores.reshape(b * self.K, 1) + logp).reshape(b, self.K * self.V)
                top, idx = cand.topk(self.K, 1)
                beam = torch.div(idx, self.V, rounding_mode="floor")
                word = idx % self.V
                sel = (base + beam).reshape(-1)
                tokens = torch.cat([tokens.index_select(0, sel), word.reshape(-1, 1)], 1)
                h = h.index_select(0, sel)
                scores = top
                if bool((word == self.eos).all()):
                    break
            return tokens.reshape(b, self.K, -1), scores
    return torch.jit.script(Beam())


def informer():
    torch = _torch()
    nn = torch.nn

    class ProbAttn(nn.Module):
        def __init__(self, d=32, heads=2, factor=5):
            super().__init__()
            self.h, self.dh, self.factor = heads, d // heads, factor
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

        def forward(self, x):
            b, L, d = x.shape
            Q = self.q(x).reshape(b, L, self.h, self.dh).transpose(1, 2)  # [B, H, L, D]
            K = self.k(x).reshape(b, L, self.h, self.dh).transpose(1, 2)
            V = self.v(x).reshape(b, L, self.h, self.dh).transpose(1, 2)
            lf = torch.tensor(L, dtype=torch.float32) if not torch.jit.is_tracing() else \
                torch.ones(1, dtype=torch.float32).sum() * x.shape[1]
            u = torch.clamp(self.factor * torch.ceil(torch.log(lf)), max=L).long()
            # Informer samples u keys per query at random; a fixed spread here (deterministic).
            samp = (torch.arange(L)[:, None] * 7 + torch.arange(12)[None, :] * 5) % L  # [L, 12]
            ks = K[:, :, samp, :]  # [B, H, L, 12, D]
            qk = (Q.unsqueeze(-2) @ ks.transpose(-2, -1)).squeeze(-2)  # [B, H, L, 12]
            M = qk.max(-1)[0] - qk.sum(-1) / L
            top = M.topk(u, sorted=False)[1]  # [B, H, u]
            bi = torch.arange(b)[:, None, None]
            hi = torch.arange(self.h)[None, :, None]
            qr = Q[bi, hi, top]  # [B, H, u, D]
            attn = torch.softmax(qr @ K.transpose(-2, -1) / math.sqrt(self.dh), -1)
            ctx = V.mean(-2, keepdim=True).expand(b, self.h, L, self.dh).clone()
            ctx[bi, hi, top] = attn @ V
            return self.o(ctx.transpose(1, 2).reshape(b, L, d))

    class Informer(nn.Module):
        def __init__(self, cin=7, d=32, horizon=12):
            super().__init__()
            self.tok = nn.Conv1d(cin, d, 3, padding=1, padding_mode="circular")
            self.att = ProbAttn(d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, 64), nn.GELU(), nn.Linear(64, d))
            self.distil = nn.Sequential(nn.Conv1d(d, d, 3, padding=1), nn.BatchNorm1d(d), nn.ELU(),
                                        nn.MaxPool1d(3, 2, 1))
            self.head = nn.Linear(d, horizon)

        def forward(self, series):
            x = self.tok(series.transpose(1, 2)).transpose(1, 2)
            x = self.ln1(x + self.att(x))
            x = self.ln2(x + self.ff(x))
            x = self.distil(x.transpose(1, 2))  # [B, d, L/2]
            return self.head(x.mean(-1))
    return Informer()


def retnet():
    torch = _torch()
    nn = torch.nn

    def rot2(x):
        x1, x2 = x[..., ::2], x[..., 1::2]
        return torch.stack((-x2, x1), -1).reshape(x.shape)

    class Retention(nn.Module):
        def __init__(self, d=32, heads=4):
            super().__init__()
            self.h, self.dh = heads, d // heads
            self.q, self.k, self.v, self.g, self.o = (nn.Linear(d, d, bias=False) for _ in range(5))
            self.gn = nn.LayerNorm(self.dh, elementwise_affine=False)  # torchscale's per-head group norm
            self.register_buffer("gamma", 1 - 2 ** (-5 - torch.arange(heads, dtype=torch.float32)))
            self.register_buffer("angle", (1.0 / (10000 ** torch.linspace(0, 1, self.dh // 2))).repeat_interleave(2))

        def forward(self, x):
            b, s, d = x.shape
            pos = torch.arange(s, dtype=torch.float32)
            ang = pos[:, None] * self.angle[None, :]  # [S, dh]
            sin, cos = torch.sin(ang), torch.cos(ang)
            q = self.q(x).reshape(b, s, self.h, self.dh).transpose(1, 2)
            k = self.k(x).reshape(b, s, self.h, self.dh).transpose(1, 2) * self.dh ** -0.5
            v = self.v(x).reshape(b, s, self.h, self.dh).transpose(1, 2)
            q = q * cos + rot2(q) * sin
            k = k * cos + rot2(k) * sin
            diff = pos[:, None] - pos[None, :]
            dec = torch.where(diff >= 0, self.gamma[:, None, None] ** diff, torch.zeros_like(diff))  # [H, S, S]
            dec = dec / dec.sum(-1, keepdim=True).sqrt()
            qk = (q @ k.transpose(-1, -2)) * dec
            qk = qk / qk.abs().sum(-1, keepdim=True).clamp(min=1)
            r = self.gn((qk @ v).transpose(1, 2)).reshape(b, s, d)
            return self.o(torch.nn.functional.silu(self.g(x)) * r)

    class RetNet(nn.Module):
        def __init__(self, vocab=300, d=32):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ret = Retention(d)
            self.ff = nn.Sequential(nn.Linear(d, 64), nn.GELU(), nn.Linear(64, d))
            self.head = nn.Linear(d, vocab)

        def forward(self, tokens):
            x = self.emb(tokens)
            x = x + self.ret(self.ln1(x))
            x = x + self.ff(self.ln2(x))
            return self.head(x)
    return RetNet()


def convnextv2():
    torch = _torch()
    nn = torch.nn

    class LNcf(nn.Module):  # ConvNeXt's channels-first LayerNorm by hand
        def __init__(self, c):
            super().__init__()
            self.w, self.b = nn.Parameter(torch.randn(c) * 0.1 + 1), nn.Parameter(torch.randn(c) * 0.1)

        def forward(self, x):
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            return self.w[:, None, None] * (x - u) / torch.sqrt(s + 1e-6) + self.b[:, None, None]

    class GRN(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.gamma = nn.Parameter(torch.randn(1, 1, 1, c) * 0.3)
            self.beta = nn.Parameter(torch.randn(1, 1, 1, c) * 0.1)

        def forward(self, x):
            gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
            nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
            return self.gamma * (x * nx) + self.beta + x

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.ln = nn.LayerNorm(c, eps=1e-6)
            self.pw1, self.pw2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
            self.grn = GRN(4 * c)

        def forward(self, x):
            y = self.ln(self.dw(x).permute(0, 2, 3, 1))
            y = self.pw2(self.grn(torch.nn.functional.gelu(self.pw1(y))))
            return x + y.permute(0, 3, 1, 2)

    class ConvNeXtV2(nn.Module):
        def __init__(self, dims=(16, 32, 64), ncls=10):
            super().__init__()
            layers = [nn.Conv2d(3, dims[0], 4, 4), LNcf(dims[0]), Block(dims[0])]
            for a, c in zip(dims, dims[1:]):
                layers += [LNcf(a), nn.Conv2d(a, c, 2, 2), Block(c), Block(c)]
            self.body = nn.Sequential(*layers)
            self.norm = nn.LayerNorm(dims[-1])
            self.head = nn.Linear(dims[-1], ncls)

        def forward(self, x):
            return self.head(self.norm(self.body(x).mean((2, 3))))
    return ConvNeXtV2()


def superpoint():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def simple_nms(scores, r: int):
        zeros = torch.zeros_like(scores)

        def mp(x):
            return F.max_pool2d(x, kernel_size=2 * r + 1, stride=1, padding=r)
        max_mask = scores == mp(scores)
        for _ in range(2):
            supp = mp(max_mask.float()) > 0
            supp_scores = torch.where(supp, zeros, scores)
            new_max = supp_scores == mp(supp_scores)
            max_mask = max_mask | (new_max & (~supp))
        return torch.where(max_mask, scores, zeros)

    class SuperPoint(nn.Module):
        def __init__(self, c=(16, 16, 32, 32), dd=32, thr=0.016, maxk=48):
            super().__init__()
            self.thr, self.maxk = thr, maxk
            chans = [1, c[0], c[0], c[1], c[1], c[2], c[2], c[3], c[3]]
            self.convs = nn.ModuleList([nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans, chans[1:])])
            self.convPa, self.convPb = nn.Conv2d(c[3], 64, 3, padding=1), nn.Conv2d(64, 65, 1)
            self.convDa, self.convDb = nn.Conv2d(c[3], 64, 3, padding=1), nn.Conv2d(64, dd, 1)

        def forward(self, image):
            x = image
            for i, cv in enumerate(self.convs):
                x = torch.relu(cv(x))
                if i in (1, 3, 5):
                    x = F.max_pool2d(x, 2, 2)
            scores = torch.softmax(self.convPb(torch.relu(self.convPa(x))), 1)[:, :-1]
            scores = F.pixel_shuffle(scores, 8)  # [1, 1, H, W]
            scores = simple_nms(scores, 4)[0, 0]
            h, w = scores.shape[0], scores.shape[1]
            ys = torch.arange(h)[:, None].expand(h, w)
            xs = torch.arange(w)[None, :].expand(h, w)
            border = (ys >= 4) & (ys < h - 4) & (xs >= 4) & (xs < w - 4)
            scores = torch.where(border, scores, torch.zeros_like(scores))
            kp = torch.nonzero(scores > self.thr)  # [K, 2] (y, x)
            ks = scores[kp[:, 0], kp[:, 1]]
            k = torch.clamp(torch.ones(1, dtype=torch.long).sum() * ks.shape[0], max=self.maxk)
            ks, order = ks.topk(k)
            kp = kp[order]
            desc = F.normalize(self.convDb(torch.relu(self.convDa(x))), p=2, dim=1)
            pts = kp.flip(1).float()  # (x, y)
            size = torch.stack([torch.ones(1).sum() * w, torch.ones(1).sum() * h]) - 1
            grid = (pts / size * 2 - 1).reshape(1, 1, -1, 2)
            d = F.grid_sample(desc, grid, mode="bilinear", align_corners=True)  # [1, dd, 1, K]
            d = F.normalize(d.reshape(desc.shape[1], -1), p=2, dim=0)
            return kp, ks, d
    return SuperPoint()


# ------------------------------------------------------------------ onnx.helper families

def _conv(const, node, rng, x, cin, cout, k, name, stride=1, act="Relu", pad=None):
    w = const(name + ".weight", (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k)))
              .astype(np.float32))
    b = const(name + ".bias", (rng.standard_normal(cout) * 0.05).astype(np.float32))
    p = k // 2 if pad is None else pad
    y = node("Conv", [x, w, b], [name + ".out"], kernel_shape=[k, k], pads=[p] * 4, strides=[stride] * 2)
    return node(act, [y], [name + ".act"]) if act else y


def dcnv2_deformconv_op19():
    """A DCNv2 head with the opset-19 DeformConv operator."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(151)
    x = _conv(const, node, rng, "x", 3, 16, 3, "stem", 2)
    x = _conv(const, node, rng, x, 16, 16, 3, "c1", 1)
    # DCNv2: offsets (2 groups x 2 x 3 x 3) and a Sigmoid mask (2 x 3 x 3) from a Conv.
    off = _conv(const, node, rng, x, 16, 36, 3, "offset", 1, act=None)
    node("Mul", [off, const("offset_scale", np.array(2.0, np.float32))], ["offset_s"])
    m = _conv(const, node, rng, x, 16, 18, 3, "mask", 1, act="Sigmoid")
    w = const("dcn1.weight", (rng.standard_normal((24, 16, 3, 3)) * 0.12).astype(np.float32))
    b = const("dcn1.bias", (rng.standard_normal(24) * 0.05).astype(np.float32))
    node("DeformConv", [x, w, "offset_s", b, m], ["dcn1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
         offset_group=2)
    node("Relu", ["dcn1"], ["dcn1_r"])
    # Stride 2, no mask, no bias, dilation 2 (offsets from a 1x1 Conv on a strided input).
    off2 = _conv(const, node, rng, "dcn1_r", 24, 18, 3, "offset2", 2, act=None)
    w2 = const("dcn2.weight", (rng.standard_normal((32, 24, 3, 3)) * 0.1).astype(np.float32))
    node("DeformConv", ["dcn1_r", w2, off2], ["dcn2"], kernel_shape=[3, 3], pads=[2, 2, 2, 2], strides=[2, 2],
         dilations=[2, 2])
    node("Relu", ["dcn2"], ["dcn2_r"])
    heat = _conv(const, node, rng, "dcn2_r", 32, 4, 1, "heat", 1, act="Sigmoid")
    node("GlobalAveragePool", ["dcn2_r"], ["gap"])
    node("Flatten", ["gap"], ["feat"], axis=1)
    const("fc.weight", (rng.standard_normal((10, 32)) * 0.3).astype(np.float32))
    const("fc.bias", np.zeros(10, np.float32))
    node("Gemm", ["feat", "fc.weight", "fc.bias"], ["logits"], transB=1)
    node("Identity", [heat], ["heatmap"])
    return _model(nodes, inits, "dcnv2_head",
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 48, 48])],
                  [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
                   helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, ["N", 4, 12, 12])], [("", 19)])


def _nbits(const, rng, name, k, n, block=32, zp=True):
    """A [K, N] float weight quantized to 4 bits per block of BLOCK along K as
    ONNX Runtime's MatMul4BitsQuantizer writes it: B uint8 [N, K/block, block/2]
    (low nibble first), scales [N * K/block], zero points packed two per byte
    [N * ceil(K/block / 2)] (omitted: 8)."""
    w = rng.standard_normal((k, n)).astype(np.float32) * (1.0 / np.sqrt(k))
    nb = k // block
    wt = w.T.reshape(n, nb, block)
    lo, hi = wt.min(-1), wt.max(-1)
    if zp:
        lo, hi = np.minimum(lo, 0), np.maximum(hi, 0)
        sc = ((hi - lo) / 15).astype(np.float32)
        sc[sc == 0] = 1
        z = np.clip(np.round(-lo / sc), 0, 15).astype(np.uint8)
    else:
        sc = (np.abs(wt).max(-1) / 7).astype(np.float32)
        sc[sc == 0] = 1
        z = np.full((n, nb), 8, np.uint8)
    q = np.clip(np.round(wt / sc[..., None]) + z[..., None], 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    ins = [const(name + ".qweight", packed), const(name + ".scales", sc.reshape(-1))]
    if zp:
        zz = z if nb % 2 == 0 else np.concatenate([z, np.zeros((n, 1), np.uint8)], 1)
        ins.append(const(name + ".qzeros", (zz[:, 0::2] | (zz[:, 1::2] << 4)).reshape(-1).astype(np.uint8)))
    return ins


def ortgenai_int4_llama():
    """A Llama decoder layer as onnxruntime-genai's builder writes it (4-bit)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(152)
    vocab, d, heads, ffn = 128, 64, 4, 128
    dh = d // heads
    ms = "com.microsoft"

    def nbits(x, k, n, name, zp=True):
        return node("MatMulNBits", [x] + _nbits(const, rng, name, k, n, zp=zp), [name + ".out"], domain=ms,
                    K=k, N=n, bits=4, block_size=32, accuracy_level=4 if zp else 0)
    const("embed.weight", (rng.standard_normal((vocab, d)) * 0.5).astype(np.float32))
    node("Gather", ["embed.weight", "input_ids"], ["h0"])
    const("ln1.weight", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("SimplifiedLayerNormalization", ["h0", "ln1.weight"], ["x1"], axis=-1, epsilon=1e-5, stash_type=1)
    q = nbits("x1", d, d, "q_proj")
    k = nbits("x1", d, d, "k_proj")
    v = nbits("x1", d, d, "v_proj", zp=False)
    pos = np.arange(64, dtype=np.float32)[:, None] / (10000 ** (np.arange(0, dh, 2, dtype=np.float32) / dh))[None]
    const("cos_cache", np.cos(pos).astype(np.float32))
    const("sin_cache", np.sin(pos).astype(np.float32))
    node("RotaryEmbedding", [q, "position_ids", "cos_cache", "sin_cache"], ["q_rot"], domain=ms, num_heads=heads,
         interleaved=0)
    node("RotaryEmbedding", [k, "position_ids", "cos_cache", "sin_cache"], ["k_rot"], domain=ms, num_heads=heads,
         interleaved=0)
    const("bshd", np.array([0, 0, heads, dh], np.int64))
    for t, src in (("q", "q_rot"), ("k", "k_rot"), ("v", v)):
        node("Reshape", [src, "bshd"], [t + "4"])
        node("Transpose", [t + "4"], [t + "h"], perm=[0, 2, 1, 3] if t != "k" else [0, 2, 3, 1])
    node("MatMul", ["qh", "kh"], ["qk"])
    node("Mul", ["qk", const("att_scale", np.array(1 / np.sqrt(dh), np.float32))], ["qk_s"])
    # causal mask: a constant [64, 64] -inf upper triangle sliced to [S, S] by the runtime length
    node("Shape", ["input_ids"], ["ids_shape"])
    node("Gather", ["ids_shape", const("one_i", np.array([1], np.int64))], ["seq1"], axis=0)
    node("Concat", ["seq1", "seq1"], ["ss"], axis=0)
    tri = np.triu(np.full((64, 64), -np.finfo(np.float32).max, np.float32), 1)
    node("Slice", [const("causal", tri), const("zero2", np.array([0, 0], np.int64)), "ss",
                   const("ax01", np.array([0, 1], np.int64))], ["mask"])
    node("Add", ["qk_s", "mask"], ["qk_m"])
    node("Softmax", ["qk_m"], ["probs"], axis=-1)
    node("MatMul", ["probs", "vh"], ["ctx"])
    node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3])
    node("Reshape", ["ctx_t", const("bsd", np.array([0, 0, d], np.int64))], ["ctx2"])
    o = nbits("ctx2", d, d, "o_proj")
    const("ln2.weight", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("SkipSimplifiedLayerNormalization", [o, "h0", "ln2.weight"], ["x2", "", "", "h1"], domain=ms,
         epsilon=1e-5)
    g = nbits("x2", d, ffn, "gate_proj")
    u = nbits("x2", d, ffn, "up_proj")
    node("Sigmoid", [g], ["g_sig"])
    node("Mul", [g, "g_sig"], ["g_silu"])
    node("Mul", ["g_silu", u], ["gu"])
    dn = nbits("gu", ffn, d, "down_proj")
    const("lnf.weight", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("SkipSimplifiedLayerNormalization", [dn, "h1", "lnf.weight"], ["xf", "", "", "h2"], domain=ms,
         epsilon=1e-5)
    nbits("xf", d, vocab, "lm_head", zp=False)
    node("Identity", ["lm_head.out"], ["logits"])
    return _model(nodes, inits, "genai_llama_int4",
                  [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", "S"]),
                   helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["N", "S"])],
                  [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "S", vocab]),
                   helper.make_tensor_value_info("h2", TensorProto.FLOAT, ["N", "S", d])],
                  [("", 17), (ms, 1)], producer="onnxruntime-genai")


def skl2onnx_coltrans_mlp_ml():
    """ColumnTransformer (scaled, binarized and one-hot columns) + MLPRegressor."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(154)
    ml = "ai.onnx.ml"
    node("ArrayFeatureExtractor", ["num", const("num_cols", np.array([0, 1, 3], np.int64))], ["num_sel"], domain=ml)
    node("Scaler", ["num_sel"], ["scaled"], domain=ml, offset=[0.1, -0.2, 0.3], scale=[1.5, 0.8, 2.0])
    node("ArrayFeatureExtractor", ["num", const("bin_cols", np.array([2, 4], np.int64))], ["bin_sel"], domain=ml)
    node("Binarizer", ["bin_sel"], ["binned"], domain=ml, threshold=0.1)
    parts = ["scaled", "binned"]
    for j, cats in enumerate(([0, 1, 2, 3], [10, 20, 30])):
        node("ArrayFeatureExtractor", ["cat", const(f"cat_col{j}", np.array([j], np.int64))], [f"cat{j}"], domain=ml)
        node("OneHotEncoder", [f"cat{j}"], [f"onehot{j}"], domain=ml, cats_int64s=cats, zeros=1)
        node("Reshape", [f"onehot{j}", const(f"oh_shape{j}", np.array([-1, len(cats)], np.int64))], [f"oh{j}"])
        parts.append(f"oh{j}")
    node("Concat", parts, ["features"], axis=1)  # [N, 3 + 2 + 4 + 3]
    x, width = "features", 12
    for i, hid in enumerate((32, 16)):
        const(f"coef{i}", (rng.standard_normal((width, hid)) * np.sqrt(2.0 / width)).astype(np.float32))
        const(f"intercept{i}", (rng.standard_normal(hid) * 0.1).astype(np.float32))
        node("MatMul", [x, f"coef{i}"], [f"mm{i}"])
        node("Add", [f"mm{i}", f"intercept{i}"], [f"lin{i}"])
        x = node("Relu", [f"lin{i}"], [f"relu{i}"])
        width = hid
    const("coef2", (rng.standard_normal((width, 1)) * 0.3).astype(np.float32))
    const("intercept2", np.array([0.5], np.float32))
    node("MatMul", [x, "coef2"], ["mm2"])
    node("Add", ["mm2", "intercept2"], ["variable"])
    return _model(nodes, inits, "pipeline_mlp",
                  [helper.make_tensor_value_info("num", TensorProto.FLOAT, ["N", 5]),
                   helper.make_tensor_value_info("cat", TensorProto.INT64, ["N", 2])],
                  [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])],
                  [("", 13), (ml, 1)], producer="skl2onnx")


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True, dtype=np.float32, scale=1.0):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: (a * scale).astype(dtype)}
    return gen


def _ids(rng, alt):
    n, s = (3, 9) if alt else (2, 20)
    ids = rng.integers(3, 400, (n, s)).astype(np.int64)
    mask = np.ones((n, s), np.int64)
    mask[-1, s - 4:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def _phonemes(rng, alt):
    n, t = (3, 7) if alt else (2, 16)
    p = rng.integers(1, 60, (n, t)).astype(np.int64)
    p[-1, t - 3:] = 0  # padding
    return {"phonemes": p}


def _enc(rng, alt):
    return {"enc": rng.standard_normal((3 if alt else 2, 32)).astype(np.float32)}


def _series(rng, alt):
    n, L = (3, 40) if alt else (2, 96)
    t = np.arange(L)[None, :, None]
    s = np.sin(t * rng.uniform(0.05, 0.3, (n, 1, 7)) + rng.uniform(0, 6, (n, 1, 7)))
    return {"series": (s + rng.standard_normal((n, L, 7)) * 0.1).astype(np.float32)}


def _tokens(rng, alt):
    n, s = (3, 11) if alt else (2, 24)
    return {"tokens": rng.integers(0, 300, (n, s)).astype(np.int64)}


def _llama(rng, alt):
    n, s = (1, 5) if alt else (2, 12)
    return {"input_ids": rng.integers(0, 128, (n, s)).astype(np.int64),
            "position_ids": np.tile(np.arange(s, dtype=np.int64), (n, 1))}


def _mixed(rng, alt):
    n = 7 if alt else 16
    cat = np.stack([rng.integers(0, 5, n), rng.choice([10, 20, 30, 40], n)], 1).astype(np.int64)  # 4, 40 unseen
    return {"num": rng.standard_normal((n, 5)).astype(np.float32), "cat": cat}


def _gray(rng, alt):
    h, w = (48, 80) if alt else (64, 64)
    yy, xx = np.mgrid[0:h, 0:w]
    img = 0.5 + 0.5 * np.sin(xx / 3.0 + rng.uniform(0, 6)) * np.cos(yy / 4.0 + rng.uniform(0, 6))
    return {"image": (img + rng.standard_normal((h, w)) * 0.05)[None, None].astype(np.float32)}


IMG_AXES = {0: "N", 2: "H", 3: "W"}
# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz)
SPECS = {
    "segformer_dynhw_op13": (segformer, 13, _img("x", (1, 3, 64, 64), (2, 3, 48, 80)), ["logits"],
                             {"x": IMG_AXES, "logits": IMG_AXES}, True),
    "deberta_disentangled_op13": (deberta, 13, _ids, ["hidden", "logits"],
                                  {"input_ids": {0: "N", 1: "S"}, "attention_mask": {0: "N", 1: "S"},
                                   "hidden": {0: "N", 1: "S"}, "logits": {0: "N"}}, True),
    "fastspeech2_lenreg_op13": (fastspeech2, 13, _phonemes, ["mel", "durations"],
                                {"phonemes": {0: "N", 1: "T"}, "mel": {0: "N", 1: "frames"},
                                 "durations": {0: "N", 1: "T"}}, True),
    "beam_search_script_op13": (beam_search, 13, _enc, ["tokens", "scores"],
                                {"enc": {0: "N"}, "tokens": {0: "N", 2: "steps"}, "scores": {0: "N"}}, True),
    "informer_probsparse_op13": (informer, 13, _series, ["forecast"],
                                 {"series": {0: "N", 1: "L"}, "forecast": {0: "N"}}, True),
    "retnet_retention_op14": (retnet, 14, _tokens, ["logits"],
                              {"tokens": {0: "N", 1: "S"}, "logits": {0: "N", 1: "S"}}, True),
    "convnextv2_grn_dynhw_op17": (convnextv2, 17, _img("x", (1, 3, 64, 64), (2, 3, 48, 96), uniform=False),
                                  ["logits"], {"x": IMG_AXES, "logits": {0: "N"}}, True),
    "superpoint_nms_dynhw_op16": (superpoint, 16, _gray, ["keypoints", "scores", "descriptors"],
                                  {"image": {2: "H", 3: "W"}, "keypoints": {0: "K"}, "scores": {0: "K"},
                                   "descriptors": {1: "K"}}, True),
    "dcnv2_deformconv_op19": ("helper", 19, _img("x", (1, 3, 48, 48), (2, 3, 48, 48)), None, None, True),
    "ortgenai_int4_llama": ("helper", 17, _llama, None, None, True),
    "skl2onnx_coltrans_mlp_ml": ("helper", 13, _mixed, None, None, True),
}

HELPER = {"dcnv2_deformconv_op19": dcnv2_deformconv_op19, "ortgenai_int4_llama": ortgenai_int4_llama,
          "skl2onnx_coltrans_mlp_ml": skl2onnx_coltrans_mlp_ml}
# Checked by the onnx package (1.12 knows opsets up to 17 and no com.microsoft operators)? No for these.
UNCHECKED = {"dcnv2_deformconv_op19", "ortgenai_int4_llama"}


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt = SPECS[name]
    rng = np.random.default_rng(48)

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
        if name not in UNCHECKED:
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
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    if has_alt:
        np.savez(os.path.join(out, "data", name + ".alt.npz"), **draw(True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def export_main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen15); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen15")


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
