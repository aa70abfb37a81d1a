#!/usr/bin/python3
"""Write the small test models of the twenty-second session's ONNX Runtime contrib
attention ops (docs/models.md, "ONNX Runtime contrib attention ops (twenty-second
session)") and their data:

    /usr/bin/python3 scripts/make_ortc12_testdata.py [OUTDIR]     (default testdata/exported)

Each as NAME.onnx with two input samples npz_NAME/s{0,1}.npz and ONNX
Runtime's outputs npz_NAME_ort/s{0,1}.npz (tools/ort, `make ort`). Tests:
TestORTContribAttentionAsORT (cmd/warboy). Committed so that the tests need
neither Python nor node.
- ortc12_genai_gqa: a decoder layer as onnxruntime-genai's model builder writes
  it: SimplifiedLayerNormalization, q/k/v MatMuls, GroupQueryAttention (4 query
  heads over 2 key/value heads, do_rotary, seqlens_k and total_sequence_length
  from the attention mask), o_proj, residual, SkipSimplifiedLayerNormalization,
  lm_head; present key/value outputs. Sample 0 is a prompt (an empty past),
  sample 1 a decode step (one token, a past of 6, batch 2).
  Before: `GroupQueryAttention "attn": unsupported operator`.
- ortc12_gqa_ops: the GroupQueryAttention spellings the layer does not use, on
  one query: a packed QKV with a partial interleaved rotary (rotary dim 16 of 32),
  local_window_size, softcap with an attention_bias, head_sink; smooth_softmax
  with a scale; position_ids; kv_num_heads = num_heads. Sample 0 is a
  right-padded prompt (rows of 5 and 3 tokens), sample 1 a decode step whose
  rows have pasts of unequal lengths in a longer buffer (only the outputs are
  compared: ONNX Runtime leaves the present beyond each row's length unwritten).
- ortc12_mha_ops: MultiHeadAttention as onnxruntime.transformers writes it:
  3-D q/k/v with a bias and a 2-D key_padding_mask (mask_filter_value);
  cross-attention to 4-D [B, N, L, H] key/value with a bias (added to q only);
  self-attention with a past, unidirectional and the present outputs; a 1-D
  key-length mask with a scale; a 3-D mask with an attention_bias; and a
  com.microsoft Attention, unidirectional at mask_filter_value -3 (ONNX Runtime
  hides the future keys whatever the value; the unseen16 expansion filled -3).
  Before: `MultiHeadAttention "mha_self": unsupported operator`.
- ortc12_ms_quant_ops: com.microsoft QuantizeLinear/DequantizeLinear (uint16 and
  int16 per tensor, int8 per axis), QAttention after DynamicQuantizeLinear (a
  per-column and a per-tensor weight scale, a 1-D mask, unidirectional),
  GatherBlockQuantized (4-bit packed with zero points, 8-bit without). Before:
  `QuantizeLinear "xq16": unsupported operator`.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen16_models as u  # noqa: E402
from unseen11_models import graph_builder  # noqa: E402

MS = "com.microsoft"


def _vi(name, dt, shape):
    from onnx import helper
    return helper.make_tensor_value_info(name, dt, shape)


def _caches(rows, half, base=10000.0):
    inv = 1.0 / base ** (np.arange(half, dtype=np.float64) / half)
    ang = np.arange(rows, dtype=np.float64)[:, None] * inv[None]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def genai_gqa():
    from onnx import TensorProto as T
    inits, nodes, const, node, rng = graph_builder(221)
    d, nh, kvh, hd, vocab = 64, 4, 2, 16, 40
    const("embed", (rng.standard_normal((vocab, d)) * 0.5).astype(np.float32))
    node("Gather", ["embed", "input_ids"], ["x"], axis=0)
    const("ln1", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("SimplifiedLayerNormalization", ["x", "ln1"], ["xn"], axis=-1, epsilon=1e-5)
    for nm, cols in (("q", nh * hd), ("k", kvh * hd), ("v", kvh * hd)):
        const(nm + "_w", (rng.standard_normal((d, cols)) / np.sqrt(d)).astype(np.float32))
        node("MatMul", ["xn", nm + "_w"], [nm])
    # seqlens_k and total_sequence_length from the attention mask, as the builder writes them.
    const("one", np.array([1], np.int64))
    node("ReduceSum", ["attention_mask", "one"], ["msum"], keepdims=0)
    node("Sub", ["msum", "one"], ["msum1"])
    node("Cast", ["msum1"], ["seqlens_k"], to=T.INT32)
    node("Shape", ["attention_mask"], ["mshape"])
    node("Gather", ["mshape", const("ax1", np.array(1, np.int64))], ["tot64"], axis=0)
    node("Cast", ["tot64"], ["total_seq"], to=T.INT32)
    cos, sin = _caches(64, hd // 2)
    const("cos_cache", cos)
    const("sin_cache", sin)
    node("GroupQueryAttention", ["q", "k", "v", "past_key_values.0.key", "past_key_values.0.value", "seqlens_k",
                                 "total_seq", "cos_cache", "sin_cache"], ["attn", "present.0.key", "present.0.value"],
         domain=MS, name="attn", num_heads=nh, kv_num_heads=kvh, do_rotary=1, rotary_interleaved=0)
    const("o_w", (rng.standard_normal((nh * hd, d)) / np.sqrt(nh * hd)).astype(np.float32))
    node("MatMul", ["attn", "o_w"], ["o"])
    const("ln2", (1 + rng.standard_normal(d) * 0.1).astype(np.float32))
    node("SkipSimplifiedLayerNormalization", ["o", "x", "ln2"], ["h2", "", "", "res"], domain=MS, epsilon=1e-5)
    const("lm_w", (rng.standard_normal((d, vocab)) / np.sqrt(d)).astype(np.float32))
    node("MatMul", ["h2", "lm_w"], ["logits"])
    return u._model(nodes, inits, "genai_gqa_layer",
                    [_vi("input_ids", T.INT64, ["B", "S"]), _vi("attention_mask", T.INT64, ["B", "T"]),
                     _vi("past_key_values.0.key", T.FLOAT, ["B", kvh, "P", hd]),
                     _vi("past_key_values.0.value", T.FLOAT, ["B", kvh, "P", hd])],
                    [_vi("logits", T.FLOAT, ["B", "S", vocab]), _vi("present.0.key", T.FLOAT, ["B", kvh, "T", hd]),
                     _vi("present.0.value", T.FLOAT, ["B", kvh, "T", hd])],
                    [("", 14), (MS, 1)], producer="onnxruntime-genai")


def _genai_feeds(rng, alt):
    b, s, p = (2, 1, 6) if alt else (1, 5, 0)
    return {"input_ids": rng.integers(0, 40, (b, s)).astype(np.int64),
            "attention_mask": np.ones((b, p + s), np.int64),
            "past_key_values.0.key": rng.standard_normal((b, 2, p, 16)).astype(np.float32),
            "past_key_values.0.value": rng.standard_normal((b, 2, p, 16)).astype(np.float32)}


def gqa_ops():
    from onnx import TensorProto as T
    inits, nodes, const, node, rng = graph_builder(222)
    nh, kvh, hd = 4, 2, 32
    cos, sin = _caches(64, 8)  # rotary dim 16 of the head's 32
    const("cos8", cos)
    const("sin8", sin)
    # Packed QKV, partial interleaved rotary, a local window.
    node("GroupQueryAttention", ["qkv", "", "", "pk", "pv", "seqlens_k", "total", "cos8", "sin8"], ["y_packed", "pk1", "pv1"],
         domain=MS, num_heads=nh, kv_num_heads=kvh, do_rotary=1, rotary_interleaved=1, local_window_size=3)
    # softcap with an attention_bias; head_sink.
    node("GroupQueryAttention", ["q", "k", "v", "pk", "pv", "seqlens_k", "total", "", "", "", "abias", "sink"],
         ["y_softcap", "pk2", "pv2"], domain=MS, num_heads=nh, kv_num_heads=kvh, softcap=1.5)
    # smooth_softmax with a scale; rotary from position_ids.
    cos16, sin16 = _caches(64, 16)
    const("cos16", cos16)
    const("sin16", sin16)
    node("GroupQueryAttention", ["q", "k", "v", "pk", "pv", "seqlens_k", "total", "cos16", "sin16", "position_ids"],
         ["y_smooth", "pk3", "pv3"], domain=MS, num_heads=nh, kv_num_heads=kvh, smooth_softmax=1, scale=0.25, do_rotary=1)
    # kv_num_heads = num_heads (MHA through GQA), on the q heads' share of the cache.
    node("GroupQueryAttention", ["q", "qk", "qv", "pkq", "pvq", "seqlens_k", "total"], ["y_mha", "pk4", "pv4"], domain=MS,
         num_heads=nh, kv_num_heads=nh)
    const("sink_v", (rng.standard_normal(nh)).astype(np.float32))
    node("Identity", ["sink_v"], ["sink"])
    return u._model(nodes, inits, "gqa_ops",
                    [_vi("qkv", T.FLOAT, ["B", "S", (nh + 2 * kvh) * hd]), _vi("q", T.FLOAT, ["B", "S", nh * hd]),
                     _vi("k", T.FLOAT, ["B", "S", kvh * hd]), _vi("v", T.FLOAT, ["B", "S", kvh * hd]),
                     _vi("qk", T.FLOAT, ["B", "S", nh * hd]), _vi("qv", T.FLOAT, ["B", "S", nh * hd]),
                     _vi("pk", T.FLOAT, ["B", kvh, "L", hd]), _vi("pv", T.FLOAT, ["B", kvh, "L", hd]),
                     _vi("pkq", T.FLOAT, ["B", nh, "L", hd]), _vi("pvq", T.FLOAT, ["B", nh, "L", hd]),
                     _vi("seqlens_k", T.INT32, ["B"]), _vi("total", T.INT32, []),
                     _vi("position_ids", T.INT64, ["B", "S"]), _vi("abias", T.FLOAT, ["B", 1, "S", "T"])],
                    [_vi(y, T.FLOAT, ["B", "S", nh * hd]) for y in ("y_packed", "y_softcap", "y_smooth", "y_mha")],
                    [("", 14), (MS, 1)])


def _gqa_ops_feeds(rng, alt):
    nh, kvh, hd = 4, 2, 32
    if alt:  # decode: pasts of 7 and 4 tokens in a buffer of 9, total_sequence_length 8
        b, s, lbuf, seqlens, total, p = 2, 1, 9, [7, 4], 8, 9
        pos = np.array([[7], [4]], np.int64)
    else:  # right-padded prompt: rows of 5 and 3 tokens, an empty past
        b, s, lbuf, seqlens, total, p = 2, 5, 0, [4, 2], 5, 5
        pos = np.tile(np.arange(s, dtype=np.int64) + 3, (b, 1))
    f = lambda *sh: rng.standard_normal(sh).astype(np.float32)  # noqa: E731
    return {"qkv": f(b, s, (nh + 2 * kvh) * hd), "q": f(b, s, nh * hd), "k": f(b, s, kvh * hd), "v": f(b, s, kvh * hd),
            "qk": f(b, s, nh * hd), "qv": f(b, s, nh * hd), "pk": f(b, kvh, lbuf, hd), "pv": f(b, kvh, lbuf, hd),
            "pkq": f(b, nh, lbuf, hd), "pvq": f(b, nh, lbuf, hd), "seqlens_k": np.array(seqlens, np.int32), "total": np.array(total, np.int32),
            "position_ids": pos, "abias": f(b, 1, s, total)}


def mha_ops():
    from onnx import TensorProto as T
    inits, nodes, const, node, rng = graph_builder(223)
    nh, d = 2, 16
    const("bias", (rng.standard_normal(3 * d) * 0.3).astype(np.float32))
    node("MultiHeadAttention", ["x", "xk", "xv", "bias", "mask2"], ["y_bias_mask"], domain=MS, name="mha_bias_mask",
         num_heads=nh, mask_filter_value=-50.0)
    node("MultiHeadAttention", ["x", "ck", "cv", "bias"], ["y_cross"], domain=MS, name="mha_cross", num_heads=nh)
    node("MultiHeadAttention", ["x", "xk", "xv", "", "", "", "past_k", "past_v"], ["y_self", "present_k", "present_v"],
         domain=MS, name="mha_self", num_heads=nh, unidirectional=1)
    node("MultiHeadAttention", ["x", "xk", "xv", "", "lens"], ["y_lens"], domain=MS, name="mha_lens", num_heads=nh,
         scale=0.3)
    node("MultiHeadAttention", ["x", "xk", "xv", "", "mask3", "abias"], ["y_mask3"], domain=MS, name="mha_mask3",
         num_heads=nh)
    # com.microsoft Attention's unidirectional at a mask_filter_value of -3: ONNX
    # Runtime still hides the future keys (the unseen16 expansion filled -3).
    const("aw", (rng.standard_normal((d, 3 * d)) * 0.4).astype(np.float32))
    const("ab", np.zeros(3 * d, np.float32))
    node("Attention", ["x", "aw", "ab"], ["y_attn_causal"], domain=MS, name="attn_causal", num_heads=nh,
         unidirectional=1, mask_filter_value=-3.0)
    return u._model(nodes, inits, "mha_ops",
                    [_vi("x", T.FLOAT, ["B", "S", d]), _vi("xk", T.FLOAT, ["B", "S", d]), _vi("xv", T.FLOAT, ["B", "S", d]),
                     _vi("mask2", T.INT32, ["B", "S"]), _vi("ck", T.FLOAT, ["B", nh, "L", d // nh]),
                     _vi("cv", T.FLOAT, ["B", nh, "L", d // nh]), _vi("past_k", T.FLOAT, ["B", nh, "P", d // nh]),
                     _vi("past_v", T.FLOAT, ["B", nh, "P", d // nh]), _vi("lens", T.INT32, ["B"]),
                     _vi("mask3", T.INT32, ["B", "S", "S"]), _vi("abias", T.FLOAT, [1, nh, "S", "S"])],
                    [_vi("y_bias_mask", T.FLOAT, ["B", "S", d]), _vi("y_cross", T.FLOAT, ["B", "S", d]),
                     _vi("y_self", T.FLOAT, ["B", "S", d]), _vi("present_k", T.FLOAT, ["B", nh, "T", d // nh]),
                     _vi("present_v", T.FLOAT, ["B", nh, "T", d // nh]), _vi("y_lens", T.FLOAT, ["B", "S", d]),
                     _vi("y_mask3", T.FLOAT, ["B", "S", d]), _vi("y_attn_causal", T.FLOAT, ["B", "S", d])],
                    [("", 14), (MS, 1)])


def _mha_feeds(rng, alt):
    nh, d = 2, 16
    b, s, l, p = (1, 1, 3, 4) if alt else (2, 4, 6, 3)
    f = lambda *sh: rng.standard_normal(sh).astype(np.float32)  # noqa: E731
    mask2 = np.ones((b, s), np.int32)
    mask2[-1, -1] = 0
    if s > 2:
        mask2[0, 1] = 0
    mask3 = (rng.random((b, s, s)) > 0.3).astype(np.int32)
    mask3[..., 0] = 1
    return {"x": f(b, s, d), "xk": f(b, s, d), "xv": f(b, s, d), "mask2": mask2, "ck": f(b, nh, l, d // nh),
            "cv": f(b, nh, l, d // nh), "past_k": f(b, nh, p, d // nh), "past_v": f(b, nh, p, d // nh),
            "lens": np.array([max(1, s - i) for i in range(b)], np.int32), "mask3": mask3, "abias": f(1, nh, s, s)}


def ms_quant_ops():
    from onnx import TensorProto as T
    inits, nodes, const, node, rng = graph_builder(224)
    d, nh = 16, 2
    # 16-bit com.microsoft Q/DQ (the QNN flows' activations), per tensor.
    const("s16", np.array(0.0005, np.float32))
    const("z16", np.array(30000, np.uint16))
    node("QuantizeLinear", ["x", "s16", "z16"], ["xq16"], domain=MS)
    node("DequantizeLinear", ["xq16", "s16", "z16"], ["y16"], domain=MS)
    const("s16i", np.array(0.0002, np.float32))
    const("z16i", np.array(-100, np.int16))
    node("QuantizeLinear", ["x", "s16i", "z16i"], ["xq16i"], domain=MS)
    node("DequantizeLinear", ["xq16i", "s16i", "z16i"], ["y16i"], domain=MS)
    # 8-bit com.microsoft Q/DQ per axis (UseQDQContribOps).
    const("s8", (0.01 + rng.random(d) * 0.02).astype(np.float32))
    const("z8", rng.integers(-5, 5, d).astype(np.int8))
    node("QuantizeLinear", ["x", "s8", "z8"], ["xq8"], domain=MS, axis=2)
    node("DequantizeLinear", ["xq8", "s8", "z8"], ["y8"], domain=MS, axis=2)
    # QAttention as quantize_dynamic writes it for the optimizer's Attention.
    node("DynamicQuantizeLinear", ["x"], ["xq", "x_s", "x_zp"])
    w = rng.standard_normal((d, 3 * d)) * 0.4
    ws = (np.abs(w).max(0) / 127).astype(np.float32)
    const("wq", np.clip(np.round(w / ws), -127, 127).astype(np.int8))
    const("ws", ws)
    const("wzp", np.zeros(3 * d, np.int8))
    const("qb", (rng.standard_normal(3 * d) * 0.1).astype(np.float32))
    node("QAttention", ["xq", "wq", "qb", "x_s", "ws", "lens", "x_zp", "wzp"], ["y_qattn"], domain=MS, name="qattn",
         num_heads=nh)
    wt = np.float32(np.abs(w).max() / 127)
    const("wq1", np.clip(np.round(w / wt), -127, 127).astype(np.int8))
    const("ws1", np.array(wt, np.float32))
    node("QAttention", ["xq", "wq1", "qb", "x_s", "ws1", "", "x_zp"], ["y_qattn_causal"], domain=MS,
         name="qattn_causal", num_heads=nh, unidirectional=1)
    # GatherBlockQuantized as onnxruntime-genai writes int4 / int8 embeddings.
    vocab, k, bs = 12, 64, 32
    q4 = rng.integers(0, 16, (vocab, k))
    const("emb4", (q4[:, 0::2] | (q4[:, 1::2] << 4)).astype(np.uint8))
    const("emb4_s", (rng.random((vocab, k // bs)) * 0.1 + 0.01).astype(np.float32))
    z4 = rng.integers(0, 16, (vocab, k // bs))
    const("emb4_z", (z4[:, 0::2] | (z4[:, 1::2] << 4)).astype(np.uint8))
    node("GatherBlockQuantized", ["emb4", "ids", "emb4_s", "emb4_z"], ["e4"], domain=MS, block_size=bs, bits=4,
         gather_axis=0, quantize_axis=1)
    const("emb8", rng.integers(0, 256, (vocab, k)).astype(np.uint8))
    const("emb8_s", (rng.random((vocab, k // bs)) * 0.01 + 0.001).astype(np.float32))
    node("GatherBlockQuantized", ["emb8", "ids", "emb8_s"], ["e8"], domain=MS, block_size=bs, bits=8)
    return u._model(nodes, inits, "ms_quant_ops",
                    [_vi("x", T.FLOAT, ["B", "S", d]), _vi("lens", T.INT32, ["B"]), _vi("ids", T.INT64, ["B", "S"])],
                    [_vi(y, T.FLOAT, ["B", "S", d]) for y in ("y16", "y16i", "y8", "y_qattn", "y_qattn_causal")] +
                    [_vi(y, T.FLOAT, ["B", "S", k]) for y in ("e4", "e8")],
                    [("", 14), (MS, 1)], producer="onnxruntime.quantization")


def _ms_quant_feeds(rng, alt):
    b, s = (1, 3) if alt else (2, 5)
    return {"x": (rng.standard_normal((b, s, 16)) * 2).astype(np.float32),
            "lens": np.array([s - i for i in range(b)], np.int32), "ids": rng.integers(0, 12, (b, s)).astype(np.int64)}


MODELS = {"ortc12_genai_gqa": (genai_gqa, _genai_feeds),
          "ortc12_gqa_ops": (gqa_ops, _gqa_ops_feeds),
          "ortc12_mha_ops": (mha_ops, _mha_feeds),
          "ortc12_ms_quant_ops": (ms_quant_ops, _ms_quant_feeds)}


def main(out):
    import onnx
    rng = np.random.default_rng(22)
    for name, (builder, gen) in MODELS.items():
        p = os.path.join(out, name + ".onnx")
        onnx.save(builder(), p)
        data = "npz_" + name
        for dd in (data, data + "_ort"):
            os.makedirs(os.path.join(out, dd), exist_ok=True)
        for i, alt in enumerate((False, True)):
            feeds = gen(rng, alt)
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(p, feeds, 1))
        print(p, os.path.getsize(p))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
