#!/usr/bin/python3
"""Write the small test models of the twenty-first session's unseen16 triage
(docs/models.md, "Unseen families, set 16 (twenty-first session)") and their data:

    /usr/bin/python3 scripts/make_unseen16_testdata.py [OUTDIR]     (default testdata/exported)

Each as NAME.onnx with two input samples npz_u16_NAME/s{0,1}.npz (two sizes of
its symbolic dimensions) and ONNX Runtime's outputs npz_u16_NAME_ort/s{0,1}.npz.
Tests: TestUnseen16AsORT (cmd/warboy).
- vits_piper_op15 (scripts/unseen16_models.py): Piper's VITS with noise_scale 0, so
  that its RandomNormalLike draw is multiplied by zero. Before:
  `RandomNormalLike "/RandomNormalLike": unsupported operator`.
- ort_bert_attention_op13: onnxruntime.transformers' BERT: EmbedLayerNormalization,
  Attention with the 1-D mask index. Before: `EmbedLayerNormalization "emb":
  unsupported operator`.
- ort_attention_ops: the com.microsoft Attention spellings the BERT does not use:
  a 2-D raw mask with unidirectional, qkv_hidden_sizes with a wider V, a scale,
  an attention_bias input; EmbedLayerNormalization with position_ids and no
  segment embedding.
- ort_dynq_fused_op13: DynamicQuantizeMatMul (per-column scales, zero points, a
  bias; and without), MatMulIntegerToFloat. Before: `DynamicQuantizeMatMul "h":
  unsupported operator`.
- opset23_llama: RMSNormalization, RotaryEmbedding, Attention (grouped-query,
  is_causal) of opset 23. Before: `RMSNormalization "x1": unsupported operator`.
- opset23_attention_ops: 3-D Attention inputs with q_num_heads/kv_num_heads, a
  past key/value (the present outputs), a bool mask, a scale; RotaryEmbedding on
  a 3-D input with num_heads, interleaved, a partial rotary dimension.
- int4_blockwise_qdq_op21: int4/uint4 initializers, DequantizeLinear-21 with
  block_size (K 48 not a multiple of the block). ONNX Runtime's outputs at
  optimization "disabled": at its default level it fuses DequantizeLinear + MatMul
  into MatMulNBits at accuracy_level 4 (A quantized to int8, 47-49 dB from the
  definition). Before: `tensor "w0_q": unsupported data type dtype(22)`.
- skl2onnx_knn_cdist_ml: com.microsoft CDist (euclidean), TopK, ArrayFeatureExtractor.
  Before: `CDist "dist": unsupported operator`.
Committed so that the tests need neither Python nor node.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen16_models as u  # noqa: E402
from unseen11_models import graph_builder  # noqa: E402


def ort_attention_ops():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(171)
    ms = "com.microsoft"
    const("word", (rng.standard_normal((30, 16)) * 0.5).astype(np.float32))
    const("pos", (rng.standard_normal((20, 16)) * 0.2).astype(np.float32))
    node("EmbedLayerNormalization", ["ids", "", "word", "pos", "", const("g", np.ones(16, np.float32)),
                                     const("b", np.zeros(16, np.float32)), "mask", "position_ids"], ["x", "mask_index"], domain=ms,
         epsilon=1e-5)
    const("w1", (rng.standard_normal((16, 28)) * 0.3).astype(np.float32))
    const("b1", (rng.standard_normal(28) * 0.1).astype(np.float32))
    node("Attention", ["x", "w1", "b1", "mask"], ["y1"], domain=ms, num_heads=2, unidirectional=1,
         qkv_hidden_sizes=[8, 8, 12])
    const("w2", (rng.standard_normal((16, 24)) * 0.3).astype(np.float32))
    const("b2", (rng.standard_normal(24) * 0.1).astype(np.float32))
    node("Attention", ["x", "w2", "b2", "", "", "abias"], ["y2"], domain=ms, num_heads=2, scale=0.3,
         mask_filter_value=-1000.0)
    return u._model(nodes, inits, "ort_attention_ops",
                    [helper.make_tensor_value_info("ids", TensorProto.INT32, ["N", "S"]),
                     helper.make_tensor_value_info("position_ids", TensorProto.INT32, ["N", "S"]),
                     helper.make_tensor_value_info("mask", TensorProto.INT32, ["N", "S"]),
                     helper.make_tensor_value_info("abias", TensorProto.FLOAT, [1, 2, "S", "S"])],
                    [helper.make_tensor_value_info("y1", TensorProto.FLOAT, ["N", "S", 12]),
                     helper.make_tensor_value_info("y2", TensorProto.FLOAT, ["N", "S", 8])],
                    [("", 13), (ms, 1)])


def _attn_feeds(rng, alt):
    n, s = (1, 4) if alt else (2, 6)
    mask = np.ones((n, s), np.int32)
    mask[0, 1] = 0  # a hole, not right padding: the raw mask keeps it
    return {"ids": rng.integers(0, 30, (n, s)).astype(np.int32),
            "position_ids": np.tile(np.arange(s, dtype=np.int32)[::-1], (n, 1)),
            "mask": mask, "abias": rng.standard_normal((1, 2, s, s)).astype(np.float32)}


def opset23_attention_ops():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(172)
    ang = np.arange(16, dtype=np.float32)[:, None] * (0.4 ** np.arange(2, dtype=np.float32))[None]
    node("RotaryEmbedding", ["q", const("cos", np.cos(ang)), const("sin", np.sin(ang)), "pos"], ["qr"],
         interleaved=1, num_heads=4, rotary_embedding_dim=4)
    node("Attention", ["qr", "k", "v", "mask", "past_k", "past_v"], ["y", "present_k", "present_v"],
         q_num_heads=4, kv_num_heads=2, scale=0.25)
    return u._model(nodes, inits, "opset23_attention_ops",
                    [helper.make_tensor_value_info("q", TensorProto.FLOAT, ["N", "S", 24]),
                     helper.make_tensor_value_info("pos", TensorProto.INT64, ["N", "S"]),
                     helper.make_tensor_value_info("k", TensorProto.FLOAT, ["N", "S", 12]),
                     helper.make_tensor_value_info("v", TensorProto.FLOAT, ["N", "S", 12]),
                     helper.make_tensor_value_info("mask", TensorProto.BOOL, ["S", "T"]),
                     helper.make_tensor_value_info("past_k", TensorProto.FLOAT, ["N", 2, "P", 6]),
                     helper.make_tensor_value_info("past_v", TensorProto.FLOAT, ["N", 2, "P", 6])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "S", 24]),
                     helper.make_tensor_value_info("present_k", TensorProto.FLOAT, ["N", 2, "T", 6]),
                     helper.make_tensor_value_info("present_v", TensorProto.FLOAT, ["N", 2, "T", 6])],
                    [("", 23)], ir=10)


def _attn23_feeds(rng, alt):
    n, s, p = (1, 2, 5) if alt else (2, 3, 4)
    mask = rng.random((s, p + s)) > 0.3
    mask[:, 0] = True
    return {"q": rng.standard_normal((n, s, 24)).astype(np.float32),
            "pos": (np.arange(s, dtype=np.int64) + p)[None].repeat(n, 0),
            "k": rng.standard_normal((n, s, 12)).astype(np.float32),
            "v": rng.standard_normal((n, s, 12)).astype(np.float32), "mask": mask,
            "past_k": rng.standard_normal((n, 2, p, 6)).astype(np.float32),
            "past_v": rng.standard_normal((n, 2, p, 6)).astype(np.float32)}


def _spec_feeds(name):
    return u.SPECS[name][2]


def vits():
    import torch
    import io
    torch.manual_seed(0)
    model = u.randomise_norms(u.vits_piper()).eval()
    first = u._piper(np.random.default_rng(49), False)
    buf = io.BytesIO()
    spec = u.SPECS["vits_piper_op15"]
    torch.onnx.export(model, tuple(torch.from_numpy(v) for v in first.values()), buf, opset_version=15,
                      input_names=list(first), output_names=spec[3], dynamic_axes=spec[4])
    import onnx
    return onnx.load_from_string(buf.getvalue())


def main(out):
    rng = np.random.default_rng(16)
    models = {"vits_piper_op15": (vits, _spec_feeds("vits_piper_op15"), None),
              "ort_bert_attention_op13": (u.ort_bert_attention_op13, _spec_feeds("ort_bert_attention_op13"), None),
              "ort_attention_ops": (ort_attention_ops, _attn_feeds, None),
              "ort_dynq_fused_op13": (u.ort_dynq_fused_op13, _spec_feeds("ort_dynq_fused_op13"), None),
              "opset23_llama": (u.opset23_llama, _spec_feeds("opset23_llama"), None),
              "opset23_attention_ops": (opset23_attention_ops, _attn23_feeds, None),
              "int4_blockwise_qdq_op21": (u.int4_blockwise_qdq_op21, _spec_feeds("int4_blockwise_qdq_op21"),
                                          "disabled"),
              "skl2onnx_knn_cdist_ml": (u.skl2onnx_knn_cdist_ml, _spec_feeds("skl2onnx_knn_cdist_ml"), None)}
    import onnx
    for name, (builder, gen, opt) in models.items():
        p = os.path.join(out, name + ".onnx")
        onnx.save(builder(), p)
        data = "npz_u16_" + name
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, alt in enumerate((False, True)):
            feeds = gen(rng, alt)
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(p, feeds, 1, opt))
        print(p, os.path.getsize(p))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
