#!/usr/bin/python3
"""Write the small test models of the sixteenth session's unseen11 triage
(docs/models.md, "Unseen families, set 11 (sixteenth session)") and their data:

    /usr/bin/python3 scripts/make_unseen11_testdata.py [OUTDIR]     (default testdata/exported)

- composite_ops_op12.onnx: an onnx.helper graph of the composite operators the
  graph package expands at load (graph/expand.go): LpNormalization (p 1 and 2),
  LpPool (p 2, padded), GlobalLpPool (p 1 and 3), MeanVarianceNormalization,
  ReverseSequence (time-major and batch-major), SoftmaxCrossEntropyLoss (class
  weights, ignore_index, mean; the log_prob output) and NegativeLogLikelihoodLoss
  (sum) over [N, C, D] scores; opset 12 (attribute axes, LogSoftmax before its
  per-axis form); symbolic N. npz_composite/s{0,1}.npz inputs,
  npz_composite_ort/ ONNX Runtime's outputs. Test: TestCompositeOpsAsORT.
- ort_contrib_op13.onnx: the com.microsoft operators ONNX Runtime's optimizer
  writes: FusedConv (Relu with a sum input, LeakyRelu, Clip, HardSigmoid),
  FusedGemm (LeakyRelu), FusedMatMul (transB and alpha; transA of a value of
  undeclared rank), Gelu, BiasGelu, FastGelu with a bias, QuickGelu,
  SkipLayerNormalization with a bias and its sum output, LayerNormalization in
  an opset-13 file. npz_ortcontrib/, npz_ortcontrib_ort/. Test:
  TestORTContribOpsAsORT.
- qop_contrib_op13.onnx: ort_qop_squeeze_op13 of scripts/unseen11_models.py (the
  QOperator format's QLinearConcat, QLinearAveragePool, QGemm, QLinearSoftmax
  beside QLinearConv, uint8 MaxPool, QLinearGlobalAveragePool). npz_qopcontrib/,
  npz_qopcontrib_ort/. Test: TestQOpContribOpsAsORT.
- optional_script_op15.onnx: a torch.jit.script Optional[Tensor] argument
  (an optional-typed input, OptionalHasElement, an If reading
  OptionalGetElement). npz_optional/, npz_optional_ort/. Test: TestOptionalInputAsORT.
Committed so that the tests need neither Python nor node.
"""
import os
import sys

import numpy as np
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen11_models  # noqa: E402


def _model(nodes, name, ins, outs, inits, opset, domains=()):
    g = helper.make_graph(nodes, name, ins, outs, [numpy_helper.from_array(np.asarray(v), k) for k, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] +
                          [helper.make_opsetid(d, 1) for d in domains], producer_name="onnx.helper")
    m.ir_version = 7
    return m


def composite_ops():
    n = helper.make_node
    nodes = [
        n("LpNormalization", ["x"], ["l2n"], axis=1, p=2),
        n("LpNormalization", ["x"], ["l1n"], axis=-1, p=1),
        n("LpPool", ["x"], ["lppool"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1], p=2),
        n("GlobalLpPool", ["x"], ["glp1"], p=1),
        n("GlobalLpPool", ["x"], ["glp3"], p=3),
        n("MeanVarianceNormalization", ["x"], ["mvn"], axes=[0, 2, 3]),
        n("ReverseSequence", ["seq", "lens"], ["rev_bm"], batch_axis=0, time_axis=1),
        n("Transpose", ["seq"], ["seq_tm"], perm=[1, 0, 2]),
        n("ReverseSequence", ["seq_tm", "lens"], ["rev_tm"], batch_axis=1, time_axis=0),
        n("SoftmaxCrossEntropyLoss", ["scores", "labels", "cw"], ["sce", "logp"], ignore_index=-1, reduction="mean"),
        n("LogSoftmax", ["scores2d"], ["logp2d"], axis=1),
        n("NegativeLogLikelihoodLoss", ["logp2d", "labels2d"], ["nll"], reduction="sum"),
        n("NegativeLogLikelihoodLoss", ["logp2d", "labels2d"], ["nll_each"], reduction="none"),
    ]
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("x", f, ["N", 3, 7, 6]),
           helper.make_tensor_value_info("seq", f, ["N", 5, 4]),
           helper.make_tensor_value_info("lens", TensorProto.INT64, ["N"]),
           helper.make_tensor_value_info("scores", f, ["N", 4, 3]),
           helper.make_tensor_value_info("labels", TensorProto.INT64, ["N", 3]),
           helper.make_tensor_value_info("scores2d", f, ["N", 4]),
           helper.make_tensor_value_info("labels2d", TensorProto.INT64, ["N"])]
    outs = [helper.make_tensor_value_info(o, f, None) for o in
            ("l2n", "l1n", "lppool", "glp1", "glp3", "mvn", "rev_bm", "rev_tm", "sce", "logp", "nll", "nll_each")]
    return _model(nodes, "composite", ins, outs, [("cw", np.array([0.5, 1, 1.5, 2], np.float32))], 12)


def composite_feeds(rng, n):
    labels = rng.integers(0, 4, (n, 3)).astype(np.int64)
    labels[0, 1] = -1
    return dict(x=rng.standard_normal((n, 3, 7, 6)).astype(np.float32),
                seq=rng.standard_normal((n, 5, 4)).astype(np.float32),
                lens=rng.integers(1, 6, n).astype(np.int64),
                scores=rng.standard_normal((n, 4, 3)).astype(np.float32), labels=labels,
                scores2d=rng.standard_normal((n, 4)).astype(np.float32),
                labels2d=rng.integers(0, 4, n).astype(np.int64))


def ort_contrib():
    rng = np.random.default_rng(4)
    n = helper.make_node
    ms = "com.microsoft"
    r = lambda *s: (rng.standard_normal(s) * 0.4).astype(np.float32)  # noqa: E731
    nodes = [
        n("FusedConv", ["img", "w1", "b1"], ["c1"], domain=ms, activation="LeakyRelu", activation_params=[0.2],
          kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("FusedConv", ["c1", "w2", "b2", "c1"], ["c2"], domain=ms, activation="Relu", kernel_shape=[3, 3],
          pads=[1, 1, 1, 1]),
        n("FusedConv", ["c2", "w2", "b2"], ["c3"], domain=ms, activation="Clip", activation_params=[0.0, 1.0],
          kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("FusedConv", ["c3", "w2"], ["c4"], domain=ms, activation="HardSigmoid", activation_params=[0.25, 0.4],
          kernel_shape=[1, 1], strides=[2, 2]),
        n("GlobalAveragePool", ["c4"], ["gap"]),
        n("Flatten", ["gap"], ["flat"]),
        n("FusedGemm", ["flat", "wg", "bg"], ["fg"], domain=ms, transB=1, alpha=0.7, beta=1.0,
          activation="LeakyRelu", activation_alpha=0.05),
        n("FusedMatMul", ["tok", "wq"], ["q"], domain=ms, transB=1, alpha=0.5),
        n("Transpose", ["tok"], ["tokT"], perm=[0, 2, 1]),
        n("FusedMatMul", ["tokT", "wk"], ["k"], domain=ms, transA=1),
        n("Gelu", ["q"], ["g1"], domain=ms),
        n("BiasGelu", ["k", "bias"], ["g2"], domain=ms),
        n("FastGelu", ["q", "bias"], ["g3"], domain=ms),
        n("QuickGelu", ["k"], ["g4"], domain=ms, alpha=1.5),
        n("SkipLayerNormalization", ["g1", "g2", "gamma", "beta", "bias"], ["sln", "", "", "skipsum"], domain=ms,
          epsilon=1e-5),
        n("LayerNormalization", ["g3", "gamma", "beta"], ["ln"], axis=-1, epsilon=1e-5),
    ]
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("img", f, ["N", 3, 8, 8]), helper.make_tensor_value_info("tok", f, ["N", 5, 6])]
    outs = [helper.make_tensor_value_info(o, f, None) for o in ("fg", "sln", "skipsum", "ln", "g4")]
    inits = [("w1", r(4, 3, 3, 3)), ("b1", r(4)), ("w2", r(4, 4, 3, 3)[:, :, :3, :3].copy()), ("b2", r(4)),
             ("wg", r(7, 4)), ("bg", r(7)), ("wq", r(8, 6)), ("wk", r(6, 8)), ("bias", r(8)),
             ("gamma", (1 + r(8)).astype(np.float32)), ("beta", r(8))]
    m = _model(nodes, "ortcontrib", ins, outs, inits, 13, domains=(ms,))
    # FusedConv c4 reuses w2 as a 1x1 kernel: give it its own 1x1 weight.
    for node in m.graph.node:
        if node.output[0] == "c4":
            node.input[1] = "w4"
    m.graph.initializer.append(numpy_helper.from_array(r(4, 4, 1, 1), "w4"))
    return m


def optional_script(path):
    import torch
    torch.manual_seed(0)
    m = unseen11_models.optional_script()
    torch.onnx.export(m, (torch.randn(1, 3, 16, 16), torch.randn(6)), path, opset_version=15,
                      input_names=["x", "bias"], output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})


def main(out):
    import onnx
    rng = np.random.default_rng(11)

    def write(model, data, samples):
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, feeds in enumerate(samples):
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(model, feeds))

    p = os.path.join(out, "composite_ops_op12.onnx")
    onnx.save(composite_ops(), p)
    write(p, "npz_composite", [composite_feeds(rng, 2), composite_feeds(rng, 3)])
    p = os.path.join(out, "ort_contrib_op13.onnx")
    onnx.save(ort_contrib(), p)
    write(p, "npz_ortcontrib", [dict(img=rng.standard_normal((k, 3, 8, 8)).astype(np.float32),
                                     tok=rng.standard_normal((k, 5, 6)).astype(np.float32)) for k in (1, 2)])
    p = os.path.join(out, "qop_contrib_op13.onnx")
    onnx.save(unseen11_models.ort_qop_squeeze(), p)
    write(p, "npz_qopcontrib", [dict(input=rng.random((1, 3, 32, 32)).astype(np.float32)) for _ in range(2)])
    p = os.path.join(out, "optional_script_op15.onnx")
    optional_script(p)
    write(p, "npz_optional", [dict(x=rng.random((k, 3, 16, 16)).astype(np.float32),
                                   bias=rng.standard_normal(6).astype(np.float32)) for k in (1, 2)])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
