#!/usr/bin/python3
"""Write the small test models of the fourteenth session's --unseen9 triage
(docs/models.md, "Unseen families, set 9 (fourteenth session)") and their data:

    /usr/bin/python3 scripts/make_unseen9_testdata.py [OUTDIR]     (default testdata/exported)

- stft_op17.onnx: the STFT operator as torch >= 2.1 writes torch.stft at opset 17
  (whisper_stft_op17 of --unseen9): a real signal [N, L] unsqueezed to [N, L, 1],
  a periodic Hann window of 64, hop 16, onesided -> "spec" [N, F, 33, 2]; and a
  complex signal "csig" [N, L2, 2] with frame_length 24 and no window, hop 8,
  onesided=0 -> "cspec" [N, F2, 24, 2]; symbolic N, L and L2. npz_stft/s{0,1}.npz
  two inputs at different lengths, npz_stft_ort/ ONNX Runtime's outputs. Test:
  TestSTFTAsORT (cmd/warboy).
- opset18_spellings.onnx: the opset-18 spellings of dynamo_op18: Mish, Split
  with num_outputs on an axis that does not divide (5 channels -> 3 + 2), Pad
  with an axes input (reflect over axes [-1, 2]), Col2Im (F.fold: overlapping
  3x3 blocks with pads, and 2x2 blocks with stride 2 and dilation 1), Reduce
  with axes inputs; symbolic N. npz_op18/s{0..3}.npz inputs, npz_op18_ort/ ONNX
  Runtime's outputs for s0 and s1. Tests: TestOpset18Spellings (float32 against
  ONNX Runtime) and TestQuantizeOpset18Spellings (quantize, int8 against float32).
- opset21_ops.onnx: GroupNormalization-21 (per-channel scale and bias), Gelu-20
  (approximate none and tanh), AffineGrid-20 (align_corners 0 and 1) feeding
  GridSample, on x [N, 6, 7, 9] and theta [N, 2, 3] (newer_op21 of --unseen9);
  groupnorm18.onnx: GroupNormalization at opset 18, scale and bias per group.
  npz_op21/s{0,1}.npz inputs, npz_op21_ort/ ONNX Runtime's outputs (both models'
  outputs in one file). Test: TestOpset20And21Operators (cmd/warboy).
Committed so that the tests need neither Python nor node.
"""
import math
import os
import sys

import numpy as np
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402


def graph_builder():
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    return inits, nodes, const, node


def stft_model():
    inits, nodes, const, node = graph_builder()
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(64) / 64)).astype(np.float32)
    sig = node("Unsqueeze", ["audio", const("ax", np.array([-1], np.int64))], ["sig"])
    node("STFT", [sig, const("hop", np.array(16, np.int64)), const("window", win)], ["spec"], onesided=1)
    node("STFT", ["csig", const("hop2", np.array(8, np.int64)), "", const("flen", np.array(24, np.int64))], ["cspec"],
         onesided=0)
    g = helper.make_graph(
        nodes, "stft", [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["N", "L"]),
                        helper.make_tensor_value_info("csig", TensorProto.FLOAT, ["N", "L2", 2])],
        [helper.make_tensor_value_info("spec", TensorProto.FLOAT, ["N", "F", 33, 2]),
         helper.make_tensor_value_info("cspec", TensorProto.FLOAT, ["N", "F2", 24, 2])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch")
    m.ir_version = 8
    return m


def op18_model():
    rng = np.random.default_rng(18)
    inits, nodes, const, node = graph_builder()

    def conv(x, tag, ci, co, k=3):
        w = const(tag + ".weight", (rng.standard_normal((co, ci, k, k)) / math.sqrt(k * k * ci)).astype(np.float32))
        b = const(tag + ".bias", (rng.standard_normal(co) * 0.05).astype(np.float32))
        return node("Conv", [x, w, b], [tag], kernel_shape=[k, k], pads=[k // 2] * 4)

    x = node("Mish", [conv("x", "conv1", 3, 5)], ["mish"])                                 # [N, 5, 12, 12]
    x = node("Sub", [x, node("ReduceMean", [x, const("ax23", np.array([2, 3], np.int64))], ["mean"], keepdims=1)],
             ["centered"])
    node("Split", [x], ["a", "b"], axis=1, num_outputs=2)                                   # 3 + 2 channels
    a = node("Pad", ["a", const("pads", np.array([2, 1, 0, 1], np.int64)), "", const("pax", np.array([-1, 2], np.int64))],
             ["pad_a"], mode="reflect")                                                     # W: 2 + 12 + 0, H: 1 + 12 + 1
    a = conv(a, "conv_a", 3, 4)                                                            # [N, 4, 14, 14]
    cols = conv("b", "conv_cols", 2, 2 * 9)                                                # [N, 18, 12, 12]
    cols = node("Reshape", [cols, const("cshape", np.array([0, 18, 144], np.int64))], ["cols"])
    f1 = node("Col2Im", [cols, const("img", np.array([12, 12], np.int64)), const("blk", np.array([3, 3], np.int64))],
              ["fold_overlap"], pads=[1, 1, 1, 1])                                         # [N, 2, 12, 12]
    c2 = conv("b", "conv_cols2", 2, 4 * 4)                                                 # [N, 16, 12, 12]
    c2 = node("Reshape", [c2, const("c2shape", np.array([0, 16, 144], np.int64))], ["cols2"])
    c2 = node("Slice", [c2, const("s0", np.array([0], np.int64)), const("s49", np.array([49], np.int64)),
                        const("s2", np.array([2], np.int64))], ["cols2_49"])               # 7 x 7 blocks
    f2 = node("Col2Im", [c2, const("img2", np.array([14, 14], np.int64)), const("blk2", np.array([2, 2], np.int64))],
              ["fold_stride"], strides=[2, 2])                                             # [N, 4, 14, 14]
    y = node("Concat", [a, f2], ["cat"], axis=1)                                           # [N, 8, 14, 14]
    node("ReduceMax", [y, const("ax3", np.array([3], np.int64))], ["rmax"], keepdims=0)    # [N, 8, 14]
    node("ReduceSum", [f1, const("ax1", np.array([1], np.int64))], ["rsum"], keepdims=1)   # [N, 1, 12, 12]
    g = helper.make_graph(
        nodes, "op18", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 12, 12])],
        [helper.make_tensor_value_info("rmax", TensorProto.FLOAT, ["N", 8, 14]),
         helper.make_tensor_value_info("rsum", TensorProto.FLOAT, ["N", 1, 12, 12])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], producer_name="pytorch")
    m.ir_version = 8
    return m  # onnx 1.12 knows opsets up to 17: ONNX Runtime checks it


def op21_model():
    rng = np.random.default_rng(21)
    inits, nodes, const, node = graph_builder()
    gn = node("GroupNormalization", ["x", const("gn_s", (1 + 0.3 * rng.standard_normal(6)).astype(np.float32)),
                                     const("gn_b", (0.2 * rng.standard_normal(6)).astype(np.float32))], ["gn"],
              num_groups=3, epsilon=1e-3)
    node("Gelu", [gn], ["gelu_erf"])
    node("Gelu", ["x"], ["gelu_tanh"], approximate="tanh")
    size = node("Shape", ["x"], ["size"])
    g0 = node("AffineGrid", ["theta", size], ["grid0"], align_corners=0)
    node("AffineGrid", ["theta", size], ["grid1"], align_corners=1)
    node("GridSample", ["x", g0], ["warped"], mode="linear", padding_mode="zeros")
    g = helper.make_graph(
        nodes, "op21", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6, 7, 9]),
                        helper.make_tensor_value_info("theta", TensorProto.FLOAT, ["N", 2, 3])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
         for n in ("gelu_erf", "gelu_tanh", "grid0", "grid1", "warped")], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)], producer_name="pytorch")
    m.ir_version = 10
    return m


def gn18_model():
    rng = np.random.default_rng(22)
    inits, nodes, const, node = graph_builder()
    node("GroupNormalization", ["x", const("gn_s", (1 + 0.3 * rng.standard_normal(2)).astype(np.float32)),
                                const("gn_b", (0.2 * rng.standard_normal(2)).astype(np.float32))], ["gn18"],
         num_groups=2)
    g = helper.make_graph(nodes, "gn18", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6, 7, 9])],
                          [helper.make_tensor_value_info("gn18", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], producer_name="pytorch")
    m.ir_version = 8
    return m


def main(out):
    import onnx
    rng = np.random.default_rng(9)
    path = os.path.join(out, "stft_op17.onnx")
    onnx.save(stft_model(), path)
    for d in ("npz_stft", "npz_stft_ort", "npz_op18", "npz_op18_ort"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for i, (n, length, l2) in enumerate([(1, 400, 80), (2, 271, 57)]):
        t = np.arange(length) / 8000.0
        audio = (0.4 * np.sin(2 * np.pi * rng.uniform(300, 2000, (n, 1)) * t) +
                 0.1 * rng.standard_normal((n, length))).astype(np.float32)
        csig = rng.standard_normal((n, l2, 2)).astype(np.float32)
        feeds = {"audio": audio, "csig": csig}
        np.savez(os.path.join(out, "npz_stft", f"s{i}.npz"), **feeds)
        np.savez(os.path.join(out, "npz_stft_ort", f"s{i}.npz"), **exportlib.ort_run(path, feeds))
    path = os.path.join(out, "opset18_spellings.onnx")
    onnx.save(op18_model(), path)
    for i in range(4):
        x = rng.standard_normal((1 if i else 2, 3, 12, 12)).astype(np.float32)
        np.savez(os.path.join(out, "npz_op18", f"s{i}.npz"), x=x)
        if i < 2:
            np.savez(os.path.join(out, "npz_op18_ort", f"s{i}.npz"), **exportlib.ort_run(path, {"x": x}))
    p21, p18 = os.path.join(out, "opset21_ops.onnx"), os.path.join(out, "groupnorm18.onnx")
    onnx.save(op21_model(), p21)
    onnx.save(gn18_model(), p18)
    for d in ("npz_op21", "npz_op21_ort"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for i, n in enumerate((1, 2)):
        x = rng.standard_normal((n, 6, 7, 9)).astype(np.float32)
        theta = (np.array([[1, 0, 0], [0, 1, 0]], np.float32) + 0.3 * rng.standard_normal((n, 2, 3))).astype(np.float32)
        np.savez(os.path.join(out, "npz_op21", f"s{i}.npz"), x=x, theta=theta)
        ref = exportlib.ort_run(p21, {"x": x, "theta": theta})
        ref.update(exportlib.ort_run(p18, {"x": x}))
        np.savez(os.path.join(out, "npz_op21_ort", f"s{i}.npz"), **ref)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
