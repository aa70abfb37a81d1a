#!/usr/bin/python3
"""Write the small test models of the twentieth session's unseen15 triage
(docs/models.md, "Unseen families, set 15 (twentieth session)") and their data:

    /usr/bin/python3 scripts/make_unseen15_testdata.py [OUTDIR]     (default testdata/exported)

Each as NAME.onnx with two input samples npz_u15_NAME/s{0,1}.npz (two sizes of
its symbolic dimensions) and ONNX Runtime's outputs npz_u15_NAME_ort/s{0,1}.npz.
Tests: TestUnseen15AsORT (cmd/warboy).
- dcnv2_deformconv_op19 (scripts/unseen15_models.py): DeformConv (opset 19) with a
  modulation mask, a bias and 2 offset groups, and strided, dilated, without mask.
  Before: `DeformConv "dcn1": unsupported operator DeformConv (domain ai.onnx)`.
- ortgenai_int4_llama: the set's onnxruntime-genai 4-bit Llama layer with every
  MatMulNBits' accuracy_level set to 0 (ONNX Runtime then computes in float32;
  at the builder's level 4 it quantizes A to int8 per block, 40 dB from float32).
  Before: `SimplifiedLayerNormalization "x1": unsupported operator`.
- genai_ops: the spellings the Llama layer does not use: RotaryEmbedding
  interleaved on a 4-D [B, heads, S, head] input with a [1] position offset and
  a rotary_embedding_dim smaller than the head; MatMulNBits with 8-bit and
  2-bit weights, K not a multiple of the block (a padded last block) and a
  bias; SimplifiedLayerNormalization over the last two axes;
  SkipSimplifiedLayerNormalization with a bias.
- skl2onnx_coltrans_mlp_ml (scripts/unseen15_models.py): ai.onnx.ml
  ArrayFeatureExtractor, Binarizer, OneHotEncoder (an unseen category all zeros)
  feeding MatMuls. Before: `ArrayFeatureExtractor "num_sel": unsupported operator`.
Committed so that the tests need neither Python nor node.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen15_models as u  # noqa: E402
from unseen11_models import graph_builder  # noqa: E402


def llama_acc0():
    m = u.ortgenai_int4_llama()
    for n in m.graph.node:
        for a in n.attribute:
            if a.name == "accuracy_level":
                a.i = 0
    return m


def _pack(q, bits):
    """Fields of BITS bits along the last axis, lowest first, into uint8."""
    per = 8 // bits
    q = q.reshape(q.shape[:-1] + (q.shape[-1] // per, per)).astype(np.uint8)
    out = np.zeros(q.shape[:-1], np.uint8)
    for i in range(per):
        out |= q[..., i] << (i * bits)
    return out


def _nbits(const, rng, name, k, n, bits, block):
    nb = (k + block - 1) // block
    q = rng.integers(0, 1 << bits, (n, nb, block))
    z = rng.integers(0, 1 << bits, (n, nb))
    zp_row = (nb * bits + 7) // 8 * (8 // bits)
    zpad = np.zeros((n, zp_row), np.int64)
    zpad[:, :nb] = z
    return [const(name + ".B", _pack(q, bits)), const(name + ".scales", (rng.random(n * nb) * 0.05 + 0.01).astype(np.float32)),
            const(name + ".zp", _pack(zpad, bits).reshape(-1))]


def genai_ops():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(153)
    ms = "com.microsoft"
    b8 = _nbits(const, rng, "w8", 40, 24, 8, 32)
    node("MatMulNBits", ["x"] + b8 + ["", const("bias8", (rng.standard_normal(24) * 0.1).astype(np.float32))],
         ["y8"], domain=ms, K=40, N=24, bits=8, block_size=32)
    b2 = _nbits(const, rng, "w2", 24, 16, 2, 16)
    node("MatMulNBits", ["y8"] + b2, ["y2"], domain=ms, K=24, N=16, bits=2, block_size=16)
    node("Tanh", ["y2"], ["skip"])
    node("SkipSimplifiedLayerNormalization", ["y2", "skip",
                                              const("g", (1 + rng.standard_normal(16) * 0.1).astype(np.float32)),
                                              const("sb", (rng.standard_normal(16) * 0.1).astype(np.float32))],
         ["normed", "", "", "summed"], domain=ms, epsilon=1e-6)
    # [N, S, 16] -> [N, 2 heads, S, 8]; rotary over 6 of the 8 values, interleaved, offset positions.
    node("Reshape", ["normed", const("shp", np.array([0, 0, 2, 8], np.int64))], ["n4"])
    node("Transpose", ["n4"], ["heads"], perm=[0, 2, 1, 3])
    ang = np.arange(32, dtype=np.float32)[:, None] * (0.3 ** np.arange(3, dtype=np.float32))[None]
    node("RotaryEmbedding", ["heads", "offset", const("cos", np.cos(ang)), const("sin", np.sin(ang))], ["rot"],
         domain=ms, interleaved=1, num_heads=2, rotary_embedding_dim=6)
    node("SimplifiedLayerNormalization", ["rot", const("s2", (1 + rng.standard_normal((1, 8)) * 0.1)
                                                       .astype(np.float32))], ["y"], axis=-2, epsilon=1e-5)
    return u._model(nodes, inits, "genai_ops",
                    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "S", 40]),
                     helper.make_tensor_value_info("offset", TensorProto.INT64, [1])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, "S", 8]),
                     helper.make_tensor_value_info("summed", TensorProto.FLOAT, ["N", "S", 16])],
                    [("", 17), (ms, 1)])


def _genai_feeds(rng, alt):
    n, s = (1, 3) if alt else (2, 5)
    return {"x": rng.standard_normal((n, s, 40)).astype(np.float32),
            "offset": np.array([7 if alt else 2], np.int64)}


def main(out):
    rng = np.random.default_rng(15)
    models = {"dcnv2_deformconv_op19": (u.dcnv2_deformconv_op19, u.SPECS["dcnv2_deformconv_op19"][2]),
              "ortgenai_int4_llama": (llama_acc0, u.SPECS["ortgenai_int4_llama"][2]),
              "genai_ops": (genai_ops, _genai_feeds),
              "skl2onnx_coltrans_mlp_ml": (u.skl2onnx_coltrans_mlp_ml, u.SPECS["skl2onnx_coltrans_mlp_ml"][2])}
    import onnx
    for name, (builder, gen) in models.items():
        p = os.path.join(out, name + ".onnx")
        onnx.save(builder(), p)
        data = "npz_u15_" + name
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, alt in enumerate((False, True)):
            feeds = gen(rng, alt)
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(p, feeds))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
