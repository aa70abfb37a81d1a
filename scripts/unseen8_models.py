#!/usr/bin/python3
"""The --unseen8 export set (thirteenth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen7, --detection, --audio)
has, for triage of the whole workflow (scripts/triage_unseen8.sh: inspect, run
against ONNX Runtime, quantize, int8 against ONNX Runtime, sim, bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen8 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen8_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics randomised), nothing downloaded. Every
model NAME is written as DIR/NAME.onnx (default DIR out/bench-models-unseen8) with
four samples DIR/data/NAME/s{0..3}.npz (one array per input name), DIR/data/NAME.in.npz
(sample 0) and, for models with symbolic sizes, DIR/data/NAME.alt.npz (an input at
other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- gpt2_past_op12: a GPT-2 decoder as Hugging Face writes it: Conv1D as addmm on a
  view, the causal mask sliced out of a uint8 `bias` buffer at [past, past+seq),
  torch.where with finfo.min, tanh GELU with pow 3, an attention mask over
  past+seq, position ids from Range(past, past+seq), past key/values as inputs and
  present key/values as outputs, tied lm_head; symbolic batch, seq and past (the
  .alt.npz has an EMPTY past: the first decoding step).
- t5_relbias: a T5 encoder: relative position buckets (Range, Sub, Abs, Log,
  float->int64 Cast, Min, Where) into an Embedding, RMSNorm (Pow/ReduceMean/Sqrt/
  Reciprocal), unscaled attention, gated-GELU FFN; symbolic batch and seq.
- clip_text: a CLIP text encoder: a constant triu(-inf) causal mask, QuickGELU
  (x * sigmoid(1.702 x)), the end-of-text row picked by ArgMax over the int64
  token ids and x[arange(N), argmax] (Range + advanced indexing), projection,
  L2 normalisation; symbolic batch.
- wav2vec2_dynlen_op12: a wav2vec 2.0-style model on a raw waveform [N, L]:
  Conv1d feature encoder with GroupNorm(C, C), feature projection, the
  weight-normed grouped positional Conv1d (k=16, groups 8) with SamePad's Slice,
  two post-norm Transformer encoder layers; symbolic batch and length.
- bilstm_packed: a BiLSTM tagger over pack_padded_sequence(enforce_sorted=False)
  (lengths sorted by TopK, the LSTM's sequence_lens, the order restored by
  Gather), 2 layers; int64 tokens and lengths; symbolic batch and time (but
  torch bakes the traced batch of 2 into the initial states: see WHOLE).
- greedy_decode_script: torch.jit.script greedy decoding: a Loop with a
  data-dependent stop (break on end-of-sequence), ArgMax inside the body, a
  list append (SequenceInsert / ConcatFromSequence), Embedding of the token.
- llama_static_cache: one Llama-style decoder step on a static KV cache: RMSNorm,
  rotary embeddings (rotate_half: Slice, Neg, Concat; cos/sin gathered by the
  position), grouped-query attention (repeat_interleave of the KV heads), the
  cache updated at the position by index_put (ScatterND), a mask from
  Range <= position, SwiGLU; int64 ids and position; caches in and out.
- detr_sine_op12: a DETR-style detector: a small backbone, the sine position
  embedding from CumSum of a not-mask, stepped Slices, Sin/Cos stacked and
  flattened, nn.Transformer (encoder and decoder) with learned queries; class
  logits and Sigmoid boxes [1, 20, 4].
- pose_deconv_op9: a SimpleBaseline pose net at opset 9: three ConvTranspose
  k4 s2 p1 + BatchNorm + ReLU, 17 heatmaps, decoding by ArgMax, ReduceMax, int64
  division/remainder (opset 9 has no Mod) into coordinates.
- effdet_same_dynhw_op11: an EfficientDet-style net with TF "SAME" padding
  computed at run time from Shape (Conv2dSame and MaxPool2dSame as timm writes
  them, the pads as tensors), depthwise separable convs, BiFPN fast-normalised
  weighted fusion (relu(w) / (sum + eps)), nearest upsampling; symbolic H, W.
- preproc_u8_op10: a model that takes a decoded uint8 NCHW image of any size,
  Cast, /255, (x - mean)/std, F.interpolate by 0.64 (Resize-10 with constant
  scales: the output size floor(H * 0.64) on a symbolic H), a MobileNetV3-style
  body (HardSwish as x * HardSigmoid, squeeze-excite with HardSigmoid).
- mobilevit_block: MobileViT blocks: unfold into 2x2 patches and fold back
  through 6-D Reshape/Transpose, a Transformer over patches, SiLU, Concat fusion.
- raft_small_op16: torchvision 0.14's raft_small (optical flow) at 128x128 with
  3 flow updates: the correlation volume pyramid (MatMul, AvgPool), GridSample
  lookups, ConvGRU, convex upsampling (Unfold, Softmax over 9 taps); two images.
- paddle_op9: an onnx.helper graph as paddle2onnx writes a fluid model at opset 9:
  a uint8 NHWC image, Cast and Transpose, Scale as Mul + Add, mean/std, weights
  through Identity, Clip by attributes, BatchNormalization-9, Dropout with its
  mask output, Upsample-9 with a scales input, variadic Mean and Max, Shape ->
  Slice (attributes) -> Concat reshapes, Flatten, Gemm transB, Softmax at
  opset 9 on a 4-D tensor (axis 1: the coerced-to-2-D semantics), ArgMax.
- keras_gru_op9: an onnx.helper graph as keras2onnx writes a Keras GRU and LSTM:
  batch-major input Transposed to time-major, GRU with linear_before_reset=0,
  LSTM with a given initial state and Squeeze of num_directions; symbolic batch.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

MODELS = ["gpt2_past_op12", "t5_relbias", "clip_text", "wav2vec2_dynlen_op12", "bilstm_packed",
          "greedy_decode_script", "llama_static_cache", "detr_sine_op12", "pose_deconv_op9",
          "effdet_same_dynhw_op11", "preproc_u8_op10", "mobilevit_block", "raft_small_op16",
          "paddle_op9", "keras_gru_op9"]


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


def cbr(i, o, k=3, s=1, g=1):
    nn = _torch().nn
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU())


# ------------------------------------------------------------------ GPT-2 with past

GPT_VOCAB, GPT_D, GPT_H, GPT_CTX = 320, 64, 4, 64


def gpt2_past():
    torch = _torch()
    nn = torch.nn

    class Conv1D(nn.Module):  # Hugging Face's transposed Linear
        def __init__(self, nf, nx):
            super().__init__()
            self.nf = nf
            self.weight = nn.Parameter(torch.randn(nx, nf) * 0.08)
            self.bias = nn.Parameter(torch.randn(nf) * 0.02)

        def forward(self, x):
            size_out = x.size()[:-1] + (self.nf,)
            x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
            return x.view(size_out)

    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("bias", torch.tril(torch.ones((GPT_CTX, GPT_CTX), dtype=torch.uint8)).view(
                1, 1, GPT_CTX, GPT_CTX))
            self.c_attn, self.c_proj = Conv1D(3 * GPT_D, GPT_D), Conv1D(GPT_D, GPT_D)

        def split(self, t):
            return t.view(t.size()[:-1] + (GPT_H, GPT_D // GPT_H)).permute(0, 2, 1, 3)

        def forward(self, x, pk, pv, amask):
            q, k, v = self.c_attn(x).split(GPT_D, dim=2)
            q, k, v = self.split(q), self.split(k), self.split(v)
            k, v = torch.cat((pk, k), dim=-2), torch.cat((pv, v), dim=-2)
            w = torch.matmul(q, k.transpose(-1, -2))
            w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
            ql, kl = q.size(-2), k.size(-2)
            causal = self.bias[:, :, kl - ql: kl, :kl].to(torch.bool)
            mv = torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype)
            w = torch.where(causal, w, mv) + amask
            w = nn.functional.softmax(w, dim=-1)
            a = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous()
            a = a.view(a.size()[:-2] + (GPT_D,))
            return self.c_proj(a), k, v

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(GPT_D), nn.LayerNorm(GPT_D)
            self.attn = Attn()
            self.fc, self.proj = Conv1D(4 * GPT_D, GPT_D), Conv1D(GPT_D, 4 * GPT_D)

        def forward(self, x, pk, pv, amask):
            a, k, v = self.attn(self.ln_1(x), pk, pv, amask)
            x = x + a
            return x + self.proj(gelu_new(self.fc(self.ln_2(x)))), k, v

    class GPT2(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(GPT_VOCAB, GPT_D), nn.Embedding(GPT_CTX, GPT_D)
            self.h = nn.ModuleList([Block(), Block()])
            self.ln_f = nn.LayerNorm(GPT_D)

        def forward(self, input_ids, attention_mask, pk0, pv0, pk1, pv1):
            past = pk0.size(-2)
            pos = torch.arange(past, input_ids.size(-1) + past, dtype=torch.long).unsqueeze(0)
            am = attention_mask.view(input_ids.size(0), -1)[:, None, None, :].to(torch.float32)
            am = (1.0 - am) * torch.finfo(torch.float32).min
            x = self.wte(input_ids) + self.wpe(pos)
            x, k0, v0 = self.h[0](x, pk0, pv0, am)
            x, k1, v1 = self.h[1](x, pk1, pv1, am)
            x = self.ln_f(x)
            return torch.matmul(x, self.wte.weight.t()), k0, v0, k1, v1

    return GPT2()


def gpt2_inputs(rng, alt):
    b, s, p = (2, 3, 0) if alt else (1, 4, 5)
    hd = GPT_D // GPT_H
    mask = np.ones((b, p + s), np.int64)
    if b > 1:
        mask[1, :1] = 0  # a left-padded second row
    d = {"input_ids": rng.integers(0, GPT_VOCAB, (b, s)).astype(np.int64), "attention_mask": mask}
    for n in ("pk0", "pv0", "pk1", "pv1"):
        d[n] = (rng.standard_normal((b, GPT_H, p, hd)) * 0.5).astype(np.float32)
    return d


# ------------------------------------------------------------------ T5 encoder

T5_VOCAB, T5_D, T5_H = 300, 64, 4


def t5_relbias():
    torch = _torch()
    nn = torch.nn

    def bucket(rel, num_buckets=32, max_distance=64):
        num_buckets //= 2
        out = (rel > 0).to(torch.long) * num_buckets
        rel = torch.abs(rel)
        max_exact = num_buckets // 2
        is_small = rel < max_exact
        large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact) *
                             (num_buckets - max_exact)).to(torch.long)
        large = torch.min(large, torch.full_like(large, num_buckets - 1))
        return out + torch.where(is_small, rel, large)

    class RMS(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(1 + 0.1 * torch.randn(T5_D))

        def forward(self, x):
            var = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
            return self.weight * (x * torch.rsqrt(var + 1e-6))

    class Layer(nn.Module):
        def __init__(self, bias):
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(T5_D, T5_D, bias=False) for _ in range(4))
            self.ln1, self.ln2 = RMS(), RMS()
            self.wi0, self.wi1 = nn.Linear(T5_D, 128, bias=False), nn.Linear(T5_D, 128, bias=False)
            self.wo = nn.Linear(128, T5_D, bias=False)
            self.rel = nn.Embedding(32, T5_H) if bias else None

        def sh(self, t):
            return t.view(t.size(0), -1, T5_H, T5_D // T5_H).transpose(1, 2)

        def forward(self, x, ext, pb):
            h = self.ln1(x)
            q, k, v = self.sh(self.q(h)), self.sh(self.k(h)), self.sh(self.v(h))
            if self.rel is not None:
                n = x.size(1)
                ctx = torch.arange(n, dtype=torch.long)[:, None]
                mem = torch.arange(n, dtype=torch.long)[None, :]
                pb = self.rel(bucket(mem - ctx)).permute([2, 0, 1]).unsqueeze(0) + ext
            s = torch.matmul(q, k.transpose(3, 2)) + pb
            a = torch.matmul(nn.functional.softmax(s.float(), dim=-1).type_as(s), v)
            x = x + self.o(a.transpose(1, 2).contiguous().view(x.size(0), -1, T5_D))
            h = self.ln2(x)
            g = nn.functional.gelu(self.wi0(h), approximate="tanh")
            return x + self.wo(g * self.wi1(h)), pb

    class T5Enc(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(T5_VOCAB, T5_D)
            self.l0, self.l1 = Layer(True), Layer(False)
            self.ln = RMS()

        def forward(self, input_ids, attention_mask):
            ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
            x = self.emb(input_ids)
            x, pb = self.l0(x, ext, None)
            x, _ = self.l1(x, ext, pb)
            return self.ln(x)

    return T5Enc()


def t5_inputs(rng, alt):
    b, s = (3, 9) if alt else (1, 20)
    keep = rng.integers(max(2, s // 2), s + 1, b)
    keep[0] = s
    return {"input_ids": rng.integers(0, T5_VOCAB, (b, s)).astype(np.int64),
            "attention_mask": (np.arange(s)[None, :] < keep[:, None]).astype(np.int64)}


# ------------------------------------------------------------------ CLIP text

CLIP_VOCAB, CLIP_CTX, CLIP_D = 400, 16, 64


def clip_text():
    torch = _torch()
    nn = torch.nn

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(CLIP_D, 4)
            self.ln_1, self.ln_2 = nn.LayerNorm(CLIP_D), nn.LayerNorm(CLIP_D)
            self.mlp = nn.Sequential(nn.Linear(CLIP_D, 4 * CLIP_D), QuickGELU(), nn.Linear(4 * CLIP_D, CLIP_D))
            self.register_buffer("mask", torch.empty(CLIP_CTX, CLIP_CTX).fill_(float("-inf")).triu_(1))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
            return x + self.mlp(self.ln_2(x))

    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = nn.Embedding(CLIP_VOCAB, CLIP_D)
            self.positional_embedding = nn.Parameter(torch.randn(CLIP_CTX, CLIP_D) * 0.05)
            self.blocks = nn.Sequential(Block(), Block())
            self.ln_final = nn.LayerNorm(CLIP_D)
            self.text_projection = nn.Parameter(torch.randn(CLIP_D, 32) * 0.1)

        def forward(self, text):
            x = self.token_embedding(text) + self.positional_embedding
            x = self.blocks(x.permute(1, 0, 2)).permute(1, 0, 2)
            x = self.ln_final(x)
            x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
            return x / x.norm(dim=-1, keepdim=True)

    return Text()


def clip_inputs(rng, alt):
    b = 3 if alt else 1
    t = np.zeros((b, CLIP_CTX), np.int64)
    for i in range(b):
        n = int(rng.integers(3, CLIP_CTX - 1))
        t[i, 0] = CLIP_VOCAB - 2                    # start of text
        t[i, 1:n] = rng.integers(1, CLIP_VOCAB - 2, n - 1)
        t[i, n] = CLIP_VOCAB - 1                    # end of text: the largest id
    return {"text": t}


# ------------------------------------------------------------------ wav2vec 2.0

def wav2vec2():
    torch = _torch()
    nn = torch.nn

    class W2V(nn.Module):
        def __init__(self):
            super().__init__()
            self.c0, self.gn = nn.Conv1d(1, 64, 10, 5, bias=False), nn.GroupNorm(64, 64)
            self.cs = nn.ModuleList([nn.Conv1d(64, 64, 3, 2, bias=False) for _ in range(3)])
            self.fln, self.proj = nn.LayerNorm(64), nn.Linear(64, 96)
            self.pos = nn.utils.weight_norm(nn.Conv1d(96, 96, 16, padding=8, groups=8), name="weight", dim=2)
            self.ln = nn.LayerNorm(96)
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(96, 4, 192, dropout=0.0, activation="gelu",
                                                                        batch_first=True), 2)

        def forward(self, wav):                          # [N, L]
            x = nn.functional.gelu(self.gn(self.c0(wav[:, None])))
            for c in self.cs:
                x = nn.functional.gelu(c(x))
            x = self.proj(self.fln(x.transpose(1, 2)))   # [N, T, 96]
            p = self.pos(x.transpose(1, 2))
            p = nn.functional.gelu(p[:, :, :-1])         # SamePad: drop the last step (even kernel)
            x = self.ln(x + p.transpose(1, 2))
            return self.enc(x)

    return W2V()


def wav_inputs(rng, alt):
    shape = (2, 3203) if alt else (1, 4000)
    return {"wav": (rng.standard_normal(shape) * 0.3).astype(np.float32)}


# ------------------------------------------------------------------ packed BiLSTM

def bilstm_packed():
    torch = _torch()
    nn = torch.nn
    rnn = nn.utils.rnn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(500, 32)
            self.lstm = nn.LSTM(32, 48, num_layers=2, bidirectional=True, batch_first=True)
            self.fc = nn.Linear(96, 9)

        def forward(self, tokens, lengths):
            x = self.emb(tokens)
            p = rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            y, _ = self.lstm(p)
            y, _ = rnn.pad_packed_sequence(y, batch_first=True)
            return nn.functional.log_softmax(self.fc(y), -1)

    return Tagger()


def lstm_inputs(rng, alt):
    b, t = (3, 11) if alt else (2, 20)
    ln = rng.integers(t // 2, t + 1, b).astype(np.int64)
    ln[0] = t  # the longest: pad_packed_sequence pads to the longest length
    return {"tokens": rng.integers(0, 500, (b, t)).astype(np.int64), "lengths": ln}


# ------------------------------------------------------------------ greedy decoding

def greedy_decode():
    torch = _torch()
    nn = torch.nn
    from typing import List

    class Dec(nn.Module):
        def __init__(self):
            super().__init__()
            self.init = nn.Linear(20, 32)
            self.emb = nn.Embedding(12, 32)
            self.wx, self.wh = nn.Linear(32, 32), nn.Linear(32, 32, bias=False)
            self.out = nn.Linear(32, 12)
            with torch.no_grad():
                self.out.bias[11] = -1.5        # token 11 would end every sequence at once

        def forward(self, feats):                         # [1, 20]
            h = torch.tanh(self.init(feats))
            tok = torch.zeros([1], dtype=torch.long)
            toks: List[torch.Tensor] = []
            for _ in range(10):
                h = torch.tanh(self.wx(self.emb(tok)) + self.wh(h))
                tok = self.out(h).argmax(-1)
                toks.append(tok)
                if bool(tok[0] == 9):                     # end of sequence (the 6th token here)
                    break
            return torch.stack(toks, 1), h

    return torch.jit.script(Dec())


# ------------------------------------------------------------------ Llama step

LL_VOCAB, LL_D, LL_H, LL_KV, LL_MAX = 256, 64, 4, 2, 32


def llama_static():
    torch = _torch()
    nn = torch.nn
    hd = LL_D // LL_H

    class RMS(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(1 + 0.1 * torch.randn(LL_D))

        def forward(self, x):
            return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))

    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    class Step(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(LL_VOCAB, LL_D)
            self.n1, self.n2, self.nf = RMS(), RMS(), RMS()
            self.q = nn.Linear(LL_D, LL_D, bias=False)
            self.k, self.v = nn.Linear(LL_D, LL_KV * hd, bias=False), nn.Linear(LL_D, LL_KV * hd, bias=False)
            self.o = nn.Linear(LL_D, LL_D, bias=False)
            self.gate, self.up = nn.Linear(LL_D, 160, bias=False), nn.Linear(LL_D, 160, bias=False)
            self.down = nn.Linear(160, LL_D, bias=False)
            self.head = nn.Linear(LL_D, LL_VOCAB, bias=False)
            inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
            f = torch.outer(torch.arange(LL_MAX).float(), inv)
            e = torch.cat((f, f), -1)
            self.register_buffer("cos", e.cos())
            self.register_buffer("sin", e.sin())

        def forward(self, input_ids, position, cache_k, cache_v):   # [1,1], [1], [1,KV,MAX,hd] x2
            x = self.emb(input_ids)
            h = self.n1(x)
            q = self.q(h).view(1, 1, LL_H, hd).transpose(1, 2)
            k = self.k(h).view(1, 1, LL_KV, hd).transpose(1, 2)
            v = self.v(h).view(1, 1, LL_KV, hd).transpose(1, 2)
            cos, sin = self.cos[position][None, None], self.sin[position][None, None]   # [1,1,1,hd]
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            ck, cv = cache_k.clone(), cache_v.clone()
            ck[:, :, position] = k
            cv[:, :, position] = v
            kk = ck.repeat_interleave(LL_H // LL_KV, dim=1)
            vv = cv.repeat_interleave(LL_H // LL_KV, dim=1)
            s = torch.matmul(q, kk.transpose(2, 3)) / math.sqrt(hd)
            valid = torch.arange(LL_MAX) <= position
            s = s.masked_fill(~valid, float("-inf"))
            a = torch.matmul(torch.softmax(s, -1), vv).transpose(1, 2).reshape(1, 1, LL_D)
            x = x + self.o(a)
            h = self.n2(x)
            x = x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))
            return self.head(self.nf(x)), ck, cv

    return Step()


def llama_inputs(rng, alt):
    hd = LL_D // LL_H
    pos = 9
    ck = np.zeros((1, LL_KV, LL_MAX, hd), np.float32)
    cv = np.zeros((1, LL_KV, LL_MAX, hd), np.float32)
    ck[:, :, :pos] = rng.standard_normal((1, LL_KV, pos, hd)) * 0.5
    cv[:, :, :pos] = rng.standard_normal((1, LL_KV, pos, hd)) * 0.5
    return {"input_ids": rng.integers(0, LL_VOCAB, (1, 1)).astype(np.int64),
            "position": np.array([pos], np.int64), "cache_k": ck, "cache_v": cv}


# ------------------------------------------------------------------ DETR

def detr_sine():
    torch = _torch()
    nn = torch.nn

    class Detr(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(cbr(3, 16, s=2), cbr(16, 32, s=2), cbr(32, 64, s=2), cbr(64, 64, s=2))
            self.proj = nn.Conv2d(64, 64, 1)
            self.tr = nn.Transformer(64, 4, 1, 1, 128, dropout=0.0)
            self.query = nn.Parameter(torch.randn(20, 64) * 0.5)
            self.cls = nn.Linear(64, 8)
            self.box = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))

        def pos(self, f):
            n, _, h, w = f.shape
            not_mask = torch.ones((n, h, w), dtype=torch.bool)
            y = not_mask.cumsum(1, dtype=torch.float32)
            x = not_mask.cumsum(2, dtype=torch.float32)
            eps, scale = 1e-6, 2 * math.pi
            y = y / (y[:, -1:, :] + eps) * scale
            x = x / (x[:, :, -1:] + eps) * scale
            dim_t = torch.arange(32, dtype=torch.float32)
            dim_t = 10000 ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / 32)
            px, py = x[:, :, :, None] / dim_t, y[:, :, :, None] / dim_t
            px = torch.stack((px[:, :, :, 0::2].sin(), px[:, :, :, 1::2].cos()), dim=4).flatten(3)
            py = torch.stack((py[:, :, :, 0::2].sin(), py[:, :, :, 1::2].cos()), dim=4).flatten(3)
            return torch.cat((py, px), dim=3).permute(0, 3, 1, 2)

        def forward(self, image):
            f = self.proj(self.body(image))
            src = (f + self.pos(f)).flatten(2).permute(2, 0, 1)        # [HW, 1, 64]
            tgt = self.query.unsqueeze(1).repeat(1, f.shape[0], 1)     # [20, 1, 64]
            hs = self.tr(src, tgt).transpose(0, 1)                      # [1, 20, 64]
            return self.cls(hs).softmax(-1), self.box(hs).sigmoid()

    return Detr()


# ------------------------------------------------------------------ pose

def pose_deconv():
    torch = _torch()
    nn = torch.nn

    class Pose(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(cbr(3, 16, s=2), cbr(16, 32, s=2), cbr(32, 64, s=2), cbr(64, 64, s=2),
                                      cbr(64, 64, s=2))
            ups = []
            c = 64
            for _ in range(3):
                ups += [nn.ConvTranspose2d(c, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
                c = 32
            self.up = nn.Sequential(*ups)
            self.head = nn.Conv2d(32, 17, 1)

        def forward(self, x):                                 # [1, 3, 256, 192]
            hm = self.head(self.up(self.body(x)))             # [1, 17, 64, 48]
            n, k, h, w = hm.shape
            flat = hm.reshape(n, k, -1)
            idx = flat.argmax(2)
            maxv = flat.max(2)[0]
            xs = (idx - torch.div(idx, w, rounding_mode="floor") * w).float()
            ys = torch.div(idx, w, rounding_mode="floor").float()
            coords = torch.stack((xs, ys), 2) * (maxv > 0).float().unsqueeze(2)
            return hm, coords, maxv

    return Pose()


# ------------------------------------------------------------------ EfficientDet, TF SAME

def effdet_same():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    def same_pads(x, k: int, s: int):
        sh = torch._shape_as_tensor(x)
        ih, iw = sh[2], sh[3]
        ph = torch.clamp((torch.div(ih + s - 1, s, rounding_mode="floor") - 1) * s + k - ih, min=0)
        pw = torch.clamp((torch.div(iw + s - 1, s, rounding_mode="floor") - 1) * s + k - iw, min=0)
        return ph, pw

    def pad_same(x, k: int, s: int, value: float = 0.0):
        ph, pw = same_pads(x, k, s)
        pads = torch.stack([torch.zeros_like(ph), torch.zeros_like(ph), torch.div(ph, 2, rounding_mode="floor"),
                            torch.div(pw, 2, rounding_mode="floor"), torch.zeros_like(ph), torch.zeros_like(ph),
                            ph - torch.div(ph, 2, rounding_mode="floor"), pw - torch.div(pw, 2, rounding_mode="floor")])
        return PadOp.apply(x, pads, value)

    class PadOp(torch.autograd.Function):
        """A Pad whose pads are a tensor (ONNX order), as timm's Conv2dSame becomes
        when the size is symbolic."""
        @staticmethod
        def forward(ctx, x, pads, value):
            p = [int(v) for v in pads.tolist()]
            return F.pad(x, [p[3], p[7], p[2], p[6]], value=value)

        @staticmethod
        def symbolic(g, x, pads, value):
            return g.op("Pad", x, pads, g.op("Constant", value_t=torch.tensor(value, dtype=torch.float32)),
                        mode_s="constant")

    class ConvSame(nn.Conv2d):
        def forward(self, x):
            return F.conv2d(pad_same(x, self.kernel_size[0], self.stride[0]), self.weight, self.bias,
                            self.stride, 0, 1, self.groups)

    class PoolSame(nn.Module):
        def forward(self, x):
            return F.max_pool2d(pad_same(x, 3, 2, float("-inf")), 3, 2)

    class SepConv(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.dw = ConvSame(c, c, 3, 1, groups=c, bias=False)
            self.pw = nn.Conv2d(c, c, 1)
            self.bn = nn.BatchNorm2d(c)

        def forward(self, x):
            return self.bn(self.pw(self.dw(x)))

    class Fuse(nn.Module):
        def __init__(self, c, n):
            super().__init__()
            self.w = nn.Parameter(torch.rand(n) + 0.5)
            self.conv = SepConv(c)

        def forward(self, xs):
            w = torch.relu(self.w)
            w = w / (w.sum() + 1e-4)
            y = xs[0] * w[0]
            for i in range(1, len(xs)):
                y = y + xs[i] * w[i]
            return self.conv(y * torch.sigmoid(y))

    class Det(nn.Module):
        def __init__(self):
            super().__init__()
            self.s1 = nn.Sequential(ConvSame(3, 16, 3, 2, bias=False), nn.BatchNorm2d(16), nn.SiLU())
            self.s2 = nn.Sequential(ConvSame(16, 32, 3, 2, bias=False), nn.BatchNorm2d(32), nn.SiLU())
            self.s3 = nn.Sequential(ConvSame(32, 32, 3, 2, bias=False), nn.BatchNorm2d(32), nn.SiLU())
            self.pool = PoolSame()
            self.td = Fuse(32, 2)
            self.out3, self.out4 = Fuse(32, 2), Fuse(32, 3)
            self.p2 = nn.Conv2d(32, 32, 1)
            self.cls, self.box = nn.Conv2d(32, 3 * 4, 3, padding=1), nn.Conv2d(32, 3 * 4, 3, padding=1)

        def forward(self, image):
            p3 = self.s3(self.s2(self.s1(image)))             # stride 8
            p4 = self.pool(p3)                                 # stride 16
            up = F.interpolate(p4, size=p3.shape[-2:], mode="nearest")
            t3 = self.td([p3, up])
            o3 = self.out3([p3, t3])
            o4 = self.out4([p4, self.pool(o3), p4])
            outs_c, outs_b = [], []
            for o in (o3, o4):
                n = o.shape[0]
                outs_c.append(self.cls(o).permute(0, 2, 3, 1).reshape(n, -1, 4))
                outs_b.append(self.box(o).permute(0, 2, 3, 1).reshape(n, -1, 4))
            return torch.cat(outs_c, 1).sigmoid(), torch.cat(outs_b, 1)

    return Det()


# ------------------------------------------------------------------ uint8 preprocessing

def preproc_u8():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.a, self.b = nn.Conv2d(c, c // 4, 1), nn.Conv2d(c // 4, c, 1)

        def forward(self, x):
            return x * F.hardsigmoid(self.b(torch.relu(self.a(F.adaptive_avg_pool2d(x, 1)))))

    class Pre(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
            self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, 2, 1, groups=16, bias=False), nn.BatchNorm2d(16),
                                    nn.Hardswish())
            self.se = SE(16)
            self.pw = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.Hardswish())
            self.fc = nn.Linear(32, 10)

        def forward(self, image):                              # uint8 [1, 3, H, W]
            x = image.float() / 255.0
            x = (x - self.mean) / self.std
            # opset 10 cannot resize a symbolic size to a fixed one (torch refuses);
            # a scale factor becomes Resize-10 with constant scales
            x = F.interpolate(x, scale_factor=0.64, mode="bilinear", align_corners=False)
            x = self.pw(self.se(self.dw(self.stem(x))))
            return self.fc(x.mean((2, 3)))

    return Pre()


def u8_inputs(rng, alt):
    shape = (1, 3, 120, 80) if alt else (1, 3, 150, 100)
    return {"image": rng.integers(0, 256, shape).astype(np.uint8)}


# ------------------------------------------------------------------ MobileViT

def mobilevit():
    torch = _torch()
    nn = torch.nn

    class MVBlock(nn.Module):
        def __init__(self, c, d):
            super().__init__()
            self.local = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.SiLU(),
                                       nn.Conv2d(c, d, 1, bias=False))
            self.tr = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 2, 2 * d, dropout=0.0, activation="gelu",
                                                                       batch_first=True, norm_first=True), 1)
            self.ln = nn.LayerNorm(d)
            self.back = nn.Sequential(nn.Conv2d(d, c, 1, bias=False), nn.BatchNorm2d(c), nn.SiLU())
            self.fuse = nn.Sequential(nn.Conv2d(2 * c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.SiLU())

        def forward(self, x):
            y = self.local(x)
            n, d, h, w = y.shape
            ph = pw = 2
            nh, nw = h // ph, w // pw
            # unfold: [N, D, nh, ph, nw, pw] -> [N*P, nh*nw, D]
            p = y.reshape(n, d, nh, ph, nw, pw).permute(0, 3, 5, 2, 4, 1).reshape(n * ph * pw, nh * nw, d)
            p = self.ln(self.tr(p))
            y = p.reshape(n, ph, pw, nh, nw, d).permute(0, 5, 3, 1, 4, 2).reshape(n, d, h, w)
            return self.fuse(torch.cat((x, self.back(y)), 1))

    class MViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU())
            self.b1 = MVBlock(16, 32)
            self.down = nn.Sequential(nn.Conv2d(16, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.SiLU())
            self.b2 = MVBlock(24, 48)
            self.fc = nn.Linear(24, 10)

        def forward(self, x):
            x = self.b2(self.down(self.b1(self.stem(x))))
            return self.fc(x.mean((2, 3)))

    return MViT()


# ------------------------------------------------------------------ RAFT

def raft_small():
    torch = _torch()
    import torchvision

    class Flow(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = torchvision.models.optical_flow.raft_small(weights=None)

        def forward(self, image1, image2):
            return self.m(image1, image2, num_flow_updates=3)[-1]

    return Flow()


def raft_inputs(rng, alt):
    base = rng.random((1, 3, 128, 128)).astype(np.float32) * 2 - 1
    shifted = np.roll(base, (2, 3), (2, 3)) + (rng.standard_normal(base.shape) * 0.02).astype(np.float32)
    return {"image1": base, "image2": shifted.astype(np.float32)}


# ------------------------------------------------------------------ onnx.helper graphs

def paddle_op9():
    """A fluid model as paddle2onnx writes it at opset 9 (see the module doc)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(5)
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    def w(name, shape, s=0.3):
        const(name + "_raw", (rng.standard_normal(shape) * s).astype(np.float32))
        return node("Identity", [name + "_raw"], [name])    # weights through Identity

    x = node("Cast", ["image"], ["x_f"], to=TensorProto.FLOAT)               # uint8 NHWC
    x = node("Transpose", [x], ["x_nchw"], perm=[0, 3, 1, 2])
    x = node("Mul", [x, const("scale_s", np.array([1 / 255.0], np.float32))], ["x_sc"])   # Scale op
    x = node("Add", [x, const("scale_b", np.array([0.0], np.float32))], ["x_sb"])
    x = node("Sub", [x, const("mean", np.array([0.5, 0.45, 0.4], np.float32).reshape(1, 3, 1, 1))], ["x_m"])
    x = node("Div", [x, const("std", np.array([0.25, 0.22, 0.23], np.float32).reshape(1, 3, 1, 1))], ["x_n"])
    x = node("Conv", [x, w("c1_w", (16, 3, 3, 3))], ["c1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    bn = [const("bn_" + k, v) for k, v in (("s", rng.uniform(0.5, 1.5, 16).astype(np.float32)),
                                           ("b", rng.uniform(-0.2, 0.2, 16).astype(np.float32)),
                                           ("m", rng.uniform(-0.2, 0.2, 16).astype(np.float32)),
                                           ("v", rng.uniform(0.5, 2, 16).astype(np.float32)))]
    x = node("BatchNormalization", [x] + bn, ["bn1"], epsilon=1e-5, momentum=0.9)
    x = node("Clip", [x], ["relu6"], min=0.0, max=6.0)                      # opset-9 Clip attributes
    d = node("Conv", [x, w("dw_w", (16, 1, 3, 3)), const("dw_b", np.zeros(16, np.float32))], ["dw"],
             kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=16)
    d = node("Relu", [d], ["dw_r"])
    p = node("MaxPool", [d], ["pool"], kernel_shape=[2, 2], strides=[2, 2])
    p, _ = node("Dropout", [p], ["drop", "drop_mask"], ratio=0.5), None     # inference: identity, mask unused
    u = node("Upsample", [p, const("up_scales", np.array([1, 1, 2, 2], np.float32))], ["up"], mode="nearest")
    c = node("Concat", [u, d], ["cat"], axis=1)
    c = node("Conv", [c, w("c2_w", (8, 32, 1, 1)), const("c2_b", np.zeros(8, np.float32))], ["c2"],
             kernel_shape=[1, 1])
    m = node("Mean", [c, node("Sigmoid", [c], ["c2_s"]), node("Tanh", [c], ["c2_t"])], ["mean3"])
    mx = node("Max", [m, c, node("Neg", [c], ["c2_n"])], ["max3"])
    seg = node("Softmax", [mx], ["seg"], axis=1)                            # opset 9: over C*H*W per image
    # NHWC head as fluid writes it; the reshape target from Shape -> Slice -> Concat
    t = node("Transpose", [mx], ["mx_nhwc"], perm=[0, 2, 3, 1])
    sh = node("Shape", [t], ["t_shape"])
    n = node("Slice", [sh], ["t_n"], axes=[0], starts=[0], ends=[1])
    tgt = node("Concat", [n, const("minus1", np.array([-1], np.int64))], ["t_tgt"], axis=0)
    r = node("Reshape", [t, tgt], ["flat0"])
    f = node("Flatten", [node("Unsqueeze", [r], ["flat_u"], axes=[2])], ["flat"], axis=1)
    g = node("Gemm", [f, w("fc_w", (10, 8 * 16 * 16), 0.05), const("fc_b", np.zeros(10, np.float32))], ["fc"],
             transB=1, alpha=1.0, beta=1.0)
    node("Softmax", [g], ["prob"], axis=1)
    node("ArgMax", [g], ["label"], axis=1, keepdims=0)
    graph = helper.make_graph(
        nodes, "paddle_op9", [helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", 32, 32, 3])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 10]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("seg", TensorProto.FLOAT, ["N", 8, 16, 16])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], producer_name="PaddlePaddle")
    m.ir_version = 4
    onnx.checker.check_model(m)
    return m


def keras_gru_op9():
    """A Keras GRU + LSTM as keras2onnx writes them (see the module doc)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(6)
    inits, nodes = [], []
    T, F_, H, H2 = 12, 10, 16, 12

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    x = node("Transpose", ["input"], ["x_tm"], perm=[1, 0, 2])               # [N, T, F] -> [T, N, F]
    gw = const("gru_W", (rng.standard_normal((1, 3 * H, F_)) * 0.3).astype(np.float32))
    gr = const("gru_R", (rng.standard_normal((1, 3 * H, H)) * 0.3).astype(np.float32))
    gb = const("gru_B", (rng.standard_normal((1, 6 * H)) * 0.1).astype(np.float32))
    node("GRU", [x, gw, gr, gb], ["gru_y", "gru_h"], hidden_size=H, linear_before_reset=0)
    y = node("Squeeze", ["gru_y"], ["gru_sq"], axes=[1])                     # [T, 1, N, H] -> [T, N, H]
    lw = const("lstm_W", (rng.standard_normal((1, 4 * H2, H)) * 0.3).astype(np.float32))
    lr = const("lstm_R", (rng.standard_normal((1, 4 * H2, H2)) * 0.3).astype(np.float32))
    lb = const("lstm_B", (rng.standard_normal((1, 8 * H2)) * 0.1).astype(np.float32))
    # the initial state from the GRU's last hidden state through a Dense
    h0 = node("MatMul", ["gru_h", const("h0_w", (rng.standard_normal((H, H2)) * 0.3).astype(np.float32))], ["h0"])
    c0 = node("Tanh", [h0], ["c0"])
    node("LSTM", [y, lw, lr, lb, "", h0, c0], ["lstm_y", "lstm_h", "lstm_c"], hidden_size=H2,
         direction="forward")
    last = node("Squeeze", ["lstm_h"], ["last"], axes=[0])                   # [N, H2]
    d = node("Gemm", [last, const("d_w", (rng.standard_normal((H2, 5)) * 0.3).astype(np.float32)),
                      const("d_b", np.zeros(5, np.float32))], ["dense"])
    node("Softmax", [d], ["prob"], axis=-1)
    seq = node("Transpose", [node("Squeeze", ["lstm_y"], ["lstm_sq"], axes=[1])], ["seq"], perm=[1, 0, 2])
    graph = helper.make_graph(
        nodes, "keras_gru", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", T, F_])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 5]),
         helper.make_tensor_value_info(seq, TensorProto.FLOAT, ["N", T, H2])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], producer_name="keras2onnx")
    m.ir_version = 4
    onnx.checker.check_model(m)
    return m


# ------------------------------------------------------------------ the set

def _std(shape, scale=1.0, uniform=False):
    def gen(rng, alt):
        s = shape[1] if alt else shape[0]
        a = rng.random(s) if uniform else rng.standard_normal(s) * scale
        return {shape[2]: a.astype(np.float32)}
    return gen


def _img(name, shape, alt_shape=None, uniform=True):
    return _std(((shape), alt_shape or shape, name), uniform=uniform)


def _u8_nhwc(rng, alt):
    return {"image": rng.integers(0, 256, (2 if alt else 1, 32, 32, 3)).astype(np.uint8)}


def _keras_in(rng, alt):
    return {"input": rng.standard_normal((3 if alt else 1, 12, 10)).astype(np.float32)}


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz)
SPECS = {
    "gpt2_past_op12": (gpt2_past, 12, gpt2_inputs,
                       ["logits", "present_k0", "present_v0", "present_k1", "present_v1"],
                       dict({"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
                             "logits": {0: "batch", 1: "seq"}},
                            **{n: {0: "batch", 2: "past"} for n in ("pk0", "pv0", "pk1", "pv1")},
                            **{n: {0: "batch", 2: "total"} for n in ("present_k0", "present_v0", "present_k1",
                                                                      "present_v1")}), True),
    "t5_relbias": (t5_relbias, 13, t5_inputs, ["hidden"],
                   {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                    "hidden": {0: "batch", 1: "seq"}}, True),
    "clip_text": (clip_text, 13, clip_inputs, ["embedding"], {"text": {0: "batch"}, "embedding": {0: "batch"}},
                  True),
    "wav2vec2_dynlen_op12": (wav2vec2, 12, wav_inputs, ["hidden"],
                             {"wav": {0: "batch", 1: "length"}, "hidden": {0: "batch", 1: "frames"}}, True),
    "bilstm_packed": (bilstm_packed, 13, lstm_inputs, ["tags"],
                      {"tokens": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "tags": {0: "batch", 1: "steps"}},
                      False),
    "greedy_decode_script": (greedy_decode, 13, _std(((1, 20), (1, 20), "feats")), ["tokens", "hidden"], None,
                             False),
    "llama_static_cache": (llama_static, 13, llama_inputs, ["logits", "new_cache_k", "new_cache_v"], None, False),
    "detr_sine_op12": (detr_sine, 12, _img("image", (1, 3, 128, 128)), ["pred_logits", "pred_boxes"], None, False),
    "pose_deconv_op9": (pose_deconv, 9, _img("input", (1, 3, 256, 192)), ["heatmaps", "coords", "maxvals"], None,
                        False),
    "effdet_same_dynhw_op11": (effdet_same, 11, _img("image", (1, 3, 128, 160), (1, 3, 101, 77)),
                               ["scores", "boxes"],
                               {"image": {2: "height", 3: "width"}, "scores": {1: "anchors"},
                                "boxes": {1: "anchors"}}, True),
    "preproc_u8_op10": (preproc_u8, 10, u8_inputs, ["logits"], {"image": {2: "height", 3: "width"}}, True),
    "mobilevit_block": (mobilevit, 13, _img("input", (1, 3, 64, 64)), ["logits"], None, False),
    "raft_small_op16": (raft_small, 16, raft_inputs, ["flow"], None, False),
    "paddle_op9": ("helper", 9, _u8_nhwc, ["prob", "label", "seg"], None, True),
    "keras_gru_op9": ("helper", 9, _keras_in, ["prob", "seq"], None, True),
}

HELPER = {"paddle_op9": paddle_op9, "keras_gru_op9": keras_gru_op9}

# torch.onnx writes pack_padded_sequence's initial states with the traced batch
# (Expand to [4, 2, 48]): the file declares a symbolic batch but runs only at 2
# (ONNX Runtime refuses other batches too). Its samples hold the two sequences
# whole behind a leading axis of 1 (as unseen7's bigru_h0), so that calibration
# and compare run them as one batch.
WHOLE = {"bilstm_packed"}


def vary(a, rng, name, base):
    """Samples 1..3: float inputs with noise, integer inputs as drawn (fresh draws)."""
    if a.dtype.kind == "f" and name not in ("cache_k", "cache_v"):
        return (a + rng.standard_normal(a.shape).astype(np.float32) * 0.05 * (float(np.abs(a).max()) or 1)).astype(
            a.dtype)
    return base[name]


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt = SPECS[name]
    rng = np.random.default_rng(29)
    first = gen(rng, False)
    samples = [first]
    for _ in range(3):
        fresh = gen(rng, False)
        samples.append({k: vary(v, rng, k, fresh) for k, v in first.items()})
    path = os.path.join(out, name + ".onnx")
    if builder == "helper":
        import onnx
        onnx.save(HELPER[name](), path + ".tmp")
        os.replace(path + ".tmp", path)
    else:
        torch = _torch()
        torch.manual_seed(0)
        model = builder()
        if not isinstance(model, torch.jit.ScriptModule):
            model = randomise_norms(model).eval()
        else:
            model = model.eval()
        xs = [torch.from_numpy(v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    if name in WHOLE:
        samples = [{k: v[None] for k, v in s.items()} for s in samples]
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    if has_alt:
        np.savez(os.path.join(out, "data", name + ".alt.npz"), **gen(rng, True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen8); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen8")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        sys.exit(exportlib.ortcheck_main(a[1:]))
    print(__doc__)
    sys.exit(2)
