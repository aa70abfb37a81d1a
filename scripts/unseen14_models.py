#!/usr/bin/python3
"""The --unseen14 export set (nineteenth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen13, --detection, --audio,
--darknet, --extra) has, for triage of the whole workflow (scripts/triage_unseen14.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen14 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen14_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen14_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics and affines randomised), nothing
downloaded. Every model NAME is written as DIR/NAME.onnx (default DIR
out/bench-models-unseen14) with four samples DIR/data/NAME/s{0..3}.npz (one array
per input name), DIR/data/NAME.in.npz (sample 0) and, for models with symbolic
sizes, DIR/data/NAME.alt.npz (an input at other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- logmel_dft_op17: an onnx.helper keyword-spotting front end at opset 17 in the ONNX
  signal operators' own spelling (as onnxruntime-extensions and the ONNX function
  library write a log-mel spectrogram): framing by a Gather of a constant index
  matrix, HannWindow (periodic), DFT (onesided, dft_length input larger than the
  frame: zero padding), power by ReduceSumSquare over the complex axis,
  MelWeightMatrix, Log, then a CNN classifier; symbolic N.
- spectral_mask_idft_op17: an onnx.helper spectral-masking denoiser at opset 17:
  HammingWindow (symmetric, periodic=0) analysis, complex DFT over axis 2 with a
  dft_length, magnitude, a small mask network, the mask applied to the complex
  spectrum, inverse DFT and a BlackmanWindow synthesis window; symbolic N.
- skl2onnx_logreg_ml: an onnx.helper graph as skl2onnx writes a StandardScaler +
  LogisticRegression (multinomial) pipeline with zipmap=False: ai.onnx.ml Scaler,
  LinearClassifier (classlabels_ints, post_transform SOFTMAX), Normalizer L1 of the
  probabilities; int64 label and float probabilities; symbolic N.
- skl2onnx_forest_reg_ml: an onnx.helper RandomForestRegressor as skl2onnx writes
  it: ai.onnx.ml TreeEnsembleRegressor (8 trees, BRANCH_LEQ, AVERAGE, two targets);
  symbolic N.
- skl2onnx_gbdt_cls_ml: an onnx.helper GradientBoostingClassifier (3 classes) as
  skl2onnx writes it: an Imputer of NaNs, TreeEnsembleClassifier (BRANCH_LEQ and
  BRANCH_LT, base_values, post_transform SOFTMAX), int64 labels; symbolic N.
- voxelmorph_grid5d_op20: an onnx.helper VoxelMorph-style 3-D registration net:
  moving and fixed volumes concatenated, 3-D conv encoder/decoder predicting a flow
  field, an identity grid plus the flow, and the spatial transformer as a 5-D
  GridSample (opset 20, linear, align_corners 1, border padding) warping the moving
  volume; static shapes.
- pointpillars_scatter_op18: an onnx.helper PointPillars-style pillar encoder: a
  point MLP, per-pillar max pooling by ScatterElements with reduction "max" (opset
  18) into a [P, C] buffer, the pseudo-image by ScatterND with reduction "add" into
  a zero BEV canvas, then a 2-D CNN head; symbolic number of points.
- int4_unpack_bitwise_op18: an onnx.helper graph as GPTQ/AWQ-style exporters write
  4-bit weights packed two per uint8: BitShift RIGHT and BitwiseAnd 0x0F (opset 18)
  unpack the nibbles, Concat, Cast, Sub of the zero point, Mul of per-group scales,
  Reshape, MatMul; BitwiseOr/BitwiseXor/BitwiseNot on an int32 hash of the token id
  feed an embedding Gather; symbolic N.
- lraspp_dyn_nhw_op13: torchvision's LR-ASPP MobileNetV3-Large segmenter exported
  with batch, height and width all symbolic (Hardswish, squeeze-excite, the
  bilinear Resize to the input size).
- textcnn_dynT_op13: a Kim-style text CNN on int64 token ids (Embedding Gather),
  Conv1d widths 3/4/5, max over time (ReduceMax), Dropout at eval, symbolic N, T.
- patchcore_cdist_op13: a PatchCore-style anomaly scorer: CNN features of two
  stages, average pooling, bilinear up-sampling and concatenation, torch.cdist to a
  memory bank (as torch.onnx writes it), min over the bank, max-score and a map.
- capsnet_routing_op13: a capsule network: primary capsules, the squash
  non-linearity (norm, division), prediction vectors by a 5-D MatMul and three
  unrolled dynamic-routing iterations (Softmax over output capsules, weighted sums,
  agreement updates); class lengths; symbolic N.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)
from unseen11_models import graph_builder, vary  # noqa: E402  (the same helpers)
from unseen12_models import randomise_norms  # noqa: E402

MODELS = ["logmel_dft_op17", "spectral_mask_idft_op17", "skl2onnx_logreg_ml", "skl2onnx_forest_reg_ml",
          "skl2onnx_gbdt_cls_ml", "voxelmorph_grid5d_op20", "pointpillars_scatter_op18",
          "int4_unpack_bitwise_op18", "lraspp_dyn_nhw_op13", "textcnn_dynT_op13", "patchcore_cdist_op13",
          "capsnet_routing_op13"]


def _torch():
    import torch
    return torch


def _model(nodes, inits, name, ins, outs, opset, ml=0, producer="onnx.helper"):
    from onnx import helper
    g = helper.make_graph(nodes, name, ins, outs, inits)
    ops = [helper.make_opsetid("", opset)]
    if ml:
        ops.append(helper.make_opsetid("ai.onnx.ml", ml))
    return helper.make_model(g, opset_imports=ops, producer_name=producer)


def _conv2d(const, node, rng, x, cin, cout, k, name, stride=1, act="Relu"):
    w = const(name + ".weight", (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k)))
              .astype(np.float32))
    b = const(name + ".bias", (rng.standard_normal(cout) * 0.05).astype(np.float32))
    y = node("Conv", [x, w, b], [name + ".out"], kernel_shape=[k, k], pads=[k // 2] * 4, strides=[stride] * 2)
    return node(act, [y], [name + ".act"]) if act else y


# ------------------------------------------------------------------ signal (opset 17)

def logmel_dft_op17():
    """Log-mel front end with HannWindow, DFT and MelWeightMatrix, then a CNN."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(141)
    t, frame, hop, nfft, mels = 4000, 200, 100, 256, 32
    frames = (t - frame) // hop + 1
    const("frame_idx", (np.arange(frames)[:, None] * hop + np.arange(frame)[None, :]).astype(np.int64))
    node("Gather", ["audio", "frame_idx"], ["frames"], axis=1)  # [N, F, L]
    const("win_len", np.array(frame, np.int64))
    node("HannWindow", ["win_len"], ["hann"], periodic=1)
    node("Mul", ["frames", "hann"], ["windowed"])
    const("ax_last", np.array([-1], np.int64))
    node("Unsqueeze", ["windowed", "ax_last"], ["windowed_c"])  # [N, F, L, 1]
    const("dft_len", np.array(nfft, np.int64))
    node("DFT", ["windowed_c", "dft_len"], ["spec"], axis=2, onesided=1)  # [N, F, nfft/2+1, 2]
    node("ReduceSumSquare", ["spec"], ["power"], axes=[-1], keepdims=0)
    const("n_mels", np.array(mels, np.int64))
    const("n_fft", np.array(nfft, np.int64))
    const("sr", np.array(8000, np.int64))
    const("f_lo", np.array(20.0, np.float32))
    const("f_hi", np.array(4000.0, np.float32))
    node("MelWeightMatrix", ["n_mels", "n_fft", "sr", "f_lo", "f_hi"], ["melw"])
    node("MatMul", ["power", "melw"], ["mel"])
    const("eps", np.array(1e-6, np.float32))
    node("Add", ["mel", "eps"], ["mel_eps"])
    node("Log", ["mel_eps"], ["logmel"])
    const("ax1", np.array([1], np.int64))
    node("Unsqueeze", ["logmel", "ax1"], ["img"])  # [N, 1, F, mels]
    const("bn_scale", np.array([0.1], np.float32))
    node("Mul", ["img", "bn_scale"], ["img_s"])
    x = _conv2d(const, node, rng, "img_s", 1, 16, 3, "c1", 2)
    x = _conv2d(const, node, rng, x, 16, 32, 3, "c2", 2)
    x = _conv2d(const, node, rng, x, 32, 32, 3, "c3", 1)
    node("GlobalAveragePool", [x], ["gap"])
    node("Flatten", ["gap"], ["feat"], axis=1)
    const("fc.weight", (rng.standard_normal((12, 32)) * 0.3).astype(np.float32))
    const("fc.bias", np.zeros(12, np.float32))
    node("Gemm", ["feat", "fc.weight", "fc.bias"], ["logits"], transB=1)
    return _model(nodes, inits, "kws_logmel",
                  [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["N", t])],
                  [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 12]),
                   helper.make_tensor_value_info("logmel", TensorProto.FLOAT, ["N", frames, mels])], 17)


def spectral_mask_idft_op17():
    """Hamming analysis, complex DFT, a mask net, inverse DFT, Blackman synthesis."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(142)
    nfr, flen, nfft, hid = 16, 48, 64, 32
    const("len", np.array(flen, np.int64))
    node("HammingWindow", ["len"], ["hamming"], periodic=0)
    const("win_shape", np.array([1, 1, flen, 1], np.int64))
    node("Reshape", ["hamming", "win_shape"], ["hamming4"])
    node("Mul", ["frames", "hamming4"], ["xw"])  # [N, F, L, 1]
    const("nfft", np.array(nfft, np.int64))
    node("DFT", ["xw", "nfft"], ["X"], axis=2)  # [N, F, nfft, 2]
    node("ReduceSumSquare", ["X"], ["mag2"], axes=[-1], keepdims=0)
    const("eps", np.array(1e-8, np.float32))
    node("Add", ["mag2", "eps"], ["mag2e"])
    node("Sqrt", ["mag2e"], ["mag"])
    node("Log", ["mag2e"], ["logmag"])  # [N, F, nfft]
    const("w1", (rng.standard_normal((nfft, hid)) * 0.15).astype(np.float32))
    const("b1", (rng.standard_normal(hid) * 0.05).astype(np.float32))
    node("MatMul", ["logmag", "w1"], ["h1"])
    node("Add", ["h1", "b1"], ["h1b"])
    node("Tanh", ["h1b"], ["h1t"])
    const("w2", (rng.standard_normal((hid, nfft)) * 0.3).astype(np.float32))
    const("b2", (rng.standard_normal(nfft) * 0.1).astype(np.float32))
    node("MatMul", ["h1t", "w2"], ["h2"])
    node("Add", ["h2", "b2"], ["h2b"])
    node("Sigmoid", ["h2b"], ["mask"])
    const("ax_m1b", np.array([-1], np.int64))
    node("Unsqueeze", ["mask", "ax_m1b"], ["mask4"])
    node("Mul", ["X", "mask4"], ["Y"])
    node("DFT", ["Y", "nfft"], ["y"], axis=2, inverse=1)  # [N, F, nfft, 2]
    const("s0", np.array([0, 0], np.int64))
    const("s1", np.array([flen, 1], np.int64))
    const("sax", np.array([2, 3], np.int64))
    node("Slice", ["y", "s0", "s1", "sax"], ["yre"])  # real part of the first flen samples
    node("BlackmanWindow", ["len"], ["blackman"], periodic=1)
    node("Reshape", ["blackman", "win_shape"], ["blackman4"])
    node("Mul", ["yre", "blackman4"], ["denoised"])
    return _model(nodes, inits, "spectral_mask",
                  [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["N", nfr, flen, 1])],
                  [helper.make_tensor_value_info("denoised", TensorProto.FLOAT, ["N", nfr, flen, 1]),
                   helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", nfr, nfft])], 17)


# ------------------------------------------------------------------ skl2onnx (ai.onnx.ml)

def skl2onnx_logreg_ml():
    """StandardScaler + multinomial LogisticRegression, zipmap=False."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(143)
    nf, nc = 10, 4
    nodes.append(helper.make_node("Scaler", ["float_input"], ["variable"], domain="ai.onnx.ml", name="Scaler",
                                  offset=list(rng.standard_normal(nf) * 0.3), scale=list(rng.uniform(0.5, 2, nf))))
    coef = rng.standard_normal((nc, nf)) * 0.8
    nodes.append(helper.make_node("LinearClassifier", ["variable"], ["label", "probability_tensor"],
                                  domain="ai.onnx.ml", name="LinearClassifier", classlabels_ints=[0, 1, 2, 3],
                                  coefficients=list(coef.ravel()), intercepts=list(rng.standard_normal(nc) * 0.2),
                                  multi_class=1, post_transform="SOFTMAX"))
    nodes.append(helper.make_node("Normalizer", ["probability_tensor"], ["probabilities"], domain="ai.onnx.ml",
                                  name="Normalizer", norm="L1"))
    # skl2onnx's extra output for decision_function-like use: raw scores by a second,
    # untransformed LinearClassifier, and a LinearRegressor on the scaled input.
    nodes.append(helper.make_node("LinearRegressor", ["variable"], ["score"], domain="ai.onnx.ml",
                                  name="LinearRegressor", coefficients=list(rng.standard_normal(2 * nf) * 0.5),
                                  intercepts=[0.5, -0.25], targets=2))
    return _model(nodes, inits, "pipeline_logreg",
                  [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, ["N", nf])],
                  [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                   helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", nc]),
                   helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 2])], 13, ml=1,
                  producer="skl2onnx")


def _random_tree(rng, nf, depth, leaf):
    """One random binary tree: lists of (feature, threshold, true_id, false_id, mode) and
    leaves; leaf(rng) -> list of (target, weight)."""
    nodes = []

    def grow(d):
        i = len(nodes)
        nodes.append(None)
        if d == depth or (d >= 2 and rng.random() < 0.2):
            nodes[i] = ("LEAF", 0, 0.0, 0, 0, leaf(rng))
            return i
        f = int(rng.integers(0, nf))
        thr = float(rng.standard_normal() * 0.7)
        t = grow(d + 1)
        fl = grow(d + 1)
        mode = "BRANCH_LEQ" if rng.random() < 0.7 else "BRANCH_LT"
        nodes[i] = (mode, f, thr, t, fl, None)
        return i
    grow(0)
    return nodes


def _tree_attrs(trees, kind):
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                         "nodes_hitrates")}
    tw = {f"{kind}_treeids": [], f"{kind}_nodeids": [], f"{kind}_ids": [], f"{kind}_weights": []}
    for ti, nodes in enumerate(trees):
        for ni, (mode, f, thr, t, fl, leaf) in enumerate(nodes):
            a["nodes_treeids"].append(ti)
            a["nodes_nodeids"].append(ni)
            a["nodes_featureids"].append(f)
            a["nodes_values"].append(thr)
            a["nodes_modes"].append(mode)
            a["nodes_truenodeids"].append(t)
            a["nodes_falsenodeids"].append(fl)
            a["nodes_missing_value_tracks_true"].append(1 if mode != "LEAF" and ni % 3 == 0 else 0)
            a["nodes_hitrates"].append(1.0)
            if leaf:
                for target, w in leaf:
                    tw[f"{kind}_treeids"].append(ti)
                    tw[f"{kind}_nodeids"].append(ni)
                    tw[f"{kind}_ids"].append(target)
                    tw[f"{kind}_weights"].append(w)
    a.update(tw)
    return a


def skl2onnx_forest_reg_ml():
    """RandomForestRegressor (2 targets) as TreeEnsembleRegressor AVERAGE."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(144)
    nf = 8
    trees = [_random_tree(rng, nf, 5, lambda r: [(0, float(r.standard_normal())), (1, float(r.uniform(0, 3)))])
             for _ in range(8)]
    attrs = _tree_attrs(trees, "target")
    nodes.append(helper.make_node("TreeEnsembleRegressor", ["X"], ["variable"], domain="ai.onnx.ml",
                                  name="TreeEnsembleRegressor", n_targets=2, aggregate_function="AVERAGE",
                                  post_transform="NONE", **attrs))
    return _model(nodes, inits, "forest",
                  [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", nf])],
                  [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 2])], 13, ml=1,
                  producer="skl2onnx")


def skl2onnx_gbdt_cls_ml():
    """Imputer + GradientBoostingClassifier (3 classes) as TreeEnsembleClassifier."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(145)
    nf, nc = 6, 3
    nodes.append(helper.make_node("Imputer", ["input"], ["imputed"], domain="ai.onnx.ml", name="Imputer",
                                  imputed_value_floats=list(rng.standard_normal(nf) * 0.1),
                                  replaced_value_float=float("nan")))
    # Gradient boosting: one tree per class per stage, each leaf votes for its own class.
    trees = []
    for stage in range(4):
        for c in range(nc):
            trees.append(_random_tree(rng, nf, 3, lambda r, c=c: [(c, float(r.standard_normal() * 0.4))]))
    attrs = _tree_attrs(trees, "class")
    nodes.append(helper.make_node("TreeEnsembleClassifier", ["imputed"], ["label", "probabilities"],
                                  domain="ai.onnx.ml", name="TreeEnsembleClassifier", classlabels_int64s=[0, 1, 2],
                                  base_values=[0.1, -0.2, 0.05], post_transform="SOFTMAX", **attrs))
    return _model(nodes, inits, "gbdt",
                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", nf])],
                  [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                   helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", nc])], 13, ml=1,
                  producer="skl2onnx")


# ------------------------------------------------------------------ newer operators

def voxelmorph_grid5d_op20():
    """3-D registration: conv net -> flow; identity grid + flow -> 5-D GridSample."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(146)
    d = h = w = 16

    def conv3(x, cin, cout, name, stride=1, act=True):
        wt = const(name + ".weight", (rng.standard_normal((cout, cin, 3, 3, 3)) * np.sqrt(2.0 / (cin * 27)))
                   .astype(np.float32))
        b = const(name + ".bias", np.zeros(cout, np.float32))
        y = node("Conv", [x, wt, b], [name + ".out"], kernel_shape=[3, 3, 3], pads=[1] * 6, strides=[stride] * 3)
        return node("LeakyRelu", [y], [name + ".act"], alpha=0.2) if act else y
    node("Concat", ["moving", "fixed"], ["pair"], axis=1)
    e1 = conv3("pair", 2, 8, "enc1", 2)  # 8^3
    e2 = conv3(e1, 8, 16, "enc2", 2)  # 4^3
    const("up_scales", np.array([1, 1, 2, 2, 2], np.float32))
    node("Resize", [e2, "", "up_scales"], ["d2up"], mode="nearest")
    node("Concat", ["d2up", e1], ["d2cat"], axis=1)
    d2 = conv3("d2cat", 24, 8, "dec2")
    node("Resize", [d2, "", "up_scales"], ["d1up"], mode="nearest")
    d1 = conv3("d1up", 8, 8, "dec1")
    fw = const("flow.weight", (rng.standard_normal((3, 8, 3, 3, 3)) * 1e-2).astype(np.float32))
    fb = const("flow.bias", np.zeros(3, np.float32))
    node("Conv", [d1, fw, fb], ["flow"], kernel_shape=[3, 3, 3], pads=[1] * 6)  # [1, 3, D, H, W]
    # Identity grid in [-1, 1] (x, y, z last) plus the flow moved to channels-last.
    zz, yy, xx = np.meshgrid(np.linspace(-1, 1, d), np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    const("ident", np.stack([xx, yy, zz], -1)[None].astype(np.float32))
    node("Transpose", ["flow"], ["flow_l"], perm=[0, 2, 3, 4, 1])
    node("Add", ["ident", "flow_l"], ["grid"])
    node("GridSample", ["moving", "grid"], ["moved"], mode="linear", padding_mode="border", align_corners=1)
    return _model(nodes, inits, "voxelmorph",
                  [helper.make_tensor_value_info("moving", TensorProto.FLOAT, [1, 1, d, h, w]),
                   helper.make_tensor_value_info("fixed", TensorProto.FLOAT, [1, 1, d, h, w])],
                  [helper.make_tensor_value_info("moved", TensorProto.FLOAT, [1, 1, d, h, w]),
                   helper.make_tensor_value_info("flow", TensorProto.FLOAT, [1, 3, d, h, w])], 20)


def pointpillars_scatter_op18():
    """Point MLP, per-pillar max by ScatterElements(max), BEV canvas by ScatterND(add)."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(147)
    npil, c, gh, gw = 24, 16, 16, 16
    const("mlp.w", (rng.standard_normal((4, c)) * 0.6).astype(np.float32))
    const("mlp.b", (rng.standard_normal(c) * 0.1).astype(np.float32))
    node("MatMul", ["points", "mlp.w"], ["pf"])  # [K, C]
    node("Add", ["pf", "mlp.b"], ["pfb"])
    node("Relu", ["pfb"], ["pfr"])
    # The pillar index of each point, broadcast over channels: [K, C].
    const("ax1", np.array([1], np.int64))
    node("Unsqueeze", ["pillar_id", "ax1"], ["pid2"])
    node("Shape", ["pfr"], ["pf_shape"])
    node("Expand", ["pid2", "pf_shape"], ["pid_kc"])
    const("pillars0", np.zeros((npil, c), np.float32))
    node("ScatterElements", ["pillars0", "pid_kc", "pfr"], ["pillars"], axis=0, reduction="max")  # [P, C]
    # Canvas [H*W, C]; pillar p sits at cell coords[p] (a flat index), several pillars
    # may share a cell (summed).
    const("canvas0", np.zeros((gh * gw, c), np.float32))
    node("Unsqueeze", ["pillar_cell", "ax1"], ["cell_idx"])  # [P, 1]
    node("ScatterND", ["canvas0", "cell_idx", "pillars"], ["canvas_flat"], reduction="add")
    node("Transpose", ["canvas_flat"], ["canvas_t"], perm=[1, 0])
    const("bev_shape", np.array([1, c, gh, gw], np.int64))
    node("Reshape", ["canvas_t", "bev_shape"], ["bev"])
    x = _conv2d(const, node, rng, "bev", c, 32, 3, "bb1", 2)
    x = _conv2d(const, node, rng, x, 32, 32, 3, "bb2", 1)
    hw = const("head.weight", (rng.standard_normal((7, 32, 1, 1)) * 0.2).astype(np.float32))
    hb = const("head.bias", np.zeros(7, np.float32))
    node("Conv", [x, hw, hb], ["boxes"], kernel_shape=[1, 1])
    return _model(nodes, inits, "pointpillars",
                  [helper.make_tensor_value_info("points", TensorProto.FLOAT, ["K", 4]),
                   helper.make_tensor_value_info("pillar_id", TensorProto.INT64, ["K"]),
                   helper.make_tensor_value_info("pillar_cell", TensorProto.INT64, [npil])],
                  [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 7, gh // 2, gw // 2]),
                   helper.make_tensor_value_info("pillars", TensorProto.FLOAT, [npil, c])], 18)


def int4_unpack_bitwise_op18():
    """GPTQ-style packed 4-bit weights unpacked by BitShift/BitwiseAnd; hashed embeddings."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(148)
    din, dout, group, vocab, emb = 32, 24, 8, 64, 32
    q = rng.integers(0, 16, (din, dout)).astype(np.uint8)
    packed = (q[0::2] | (q[1::2] << 4)).astype(np.uint8)  # [din/2, dout]: low nibble row 2i, high 2i+1
    const("qweight", packed)
    const("four", np.array(4, np.uint8))
    const("mask4", np.array(0x0F, np.uint8))
    node("BitwiseAnd", ["qweight", "mask4"], ["lo"])
    node("BitShift", ["qweight", "four"], ["hi_s"], direction="RIGHT")
    node("BitwiseAnd", ["hi_s", "mask4"], ["hi"])
    const("ax1", np.array([1], np.int64))
    node("Unsqueeze", ["lo", "ax1"], ["lo3"])
    node("Unsqueeze", ["hi", "ax1"], ["hi3"])
    node("Concat", ["lo3", "hi3"], ["lohi"], axis=1)  # [din/2, 2, dout]
    const("wshape", np.array([din, dout], np.int64))
    node("Reshape", ["lohi", "wshape"], ["qw"])
    node("Cast", ["qw"], ["qwf"], to=TensorProto.FLOAT)
    const("gshape", np.array([din // group, group, dout], np.int64))
    node("Reshape", ["qwf", "gshape"], ["qwg"])
    const("zeros", rng.integers(6, 10, (din // group, 1, dout)).astype(np.float32))
    const("scales", rng.uniform(0.01, 0.05, (din // group, 1, dout)).astype(np.float32))
    node("Sub", ["qwg", "zeros"], ["wz"])
    node("Mul", ["wz", "scales"], ["wg"])
    node("Reshape", ["wg", "wshape"], ["weight"])
    # Hashed embedding of an int32 token id: (id ^ (id << 3)) | 1, & (vocab-1), NOT for a second table.
    const("three", np.array(3, np.uint32))
    node("Cast", ["token"], ["tok_u"], to=TensorProto.UINT32)
    node("BitShift", ["tok_u", "three"], ["tok_sh"], direction="LEFT")
    node("BitwiseXor", ["tok_u", "tok_sh"], ["h1"])
    const("one_u", np.array(1, np.uint32))
    node("BitwiseOr", ["h1", "one_u"], ["h2"])
    const("vmask", np.array(vocab - 1, np.uint32))
    node("BitwiseAnd", ["h2", "vmask"], ["h3"])
    node("BitwiseNot", ["h2"], ["h2n"])
    node("BitwiseAnd", ["h2n", "vmask"], ["h4"])
    node("Cast", ["h3"], ["idx1"], to=TensorProto.INT64)
    node("Cast", ["h4"], ["idx2"], to=TensorProto.INT64)
    const("emb1", (rng.standard_normal((vocab, emb)) * 0.5).astype(np.float32))
    const("emb2", (rng.standard_normal((vocab, emb)) * 0.5).astype(np.float32))
    node("Gather", ["emb1", "idx1"], ["e1"], axis=0)
    node("Gather", ["emb2", "idx2"], ["e2"], axis=0)
    node("Add", ["e1", "e2"], ["e"])
    node("Add", ["x", "e"], ["xe"])
    node("MatMul", ["xe", "weight"], ["y0"])
    const("bias", (rng.standard_normal(dout) * 0.1).astype(np.float32))
    node("Add", ["y0", "bias"], ["y1"])
    node("Relu", ["y1"], ["y"])
    return _model(nodes, inits, "int4_linear",
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", din]),
                   helper.make_tensor_value_info("token", TensorProto.INT32, ["N"])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dout])], 18)


# ------------------------------------------------------------------ torch.onnx exports

def lraspp():
    import torchvision
    return torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                     num_classes=6)


def _seg_wrap(m):
    torch = _torch()

    class W(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)["out"]
    return W()


def textcnn(vocab=500, emb=32, nc=5):
    torch = _torch()
    nn = torch.nn

    class TextCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, emb, padding_idx=0)
            self.convs = nn.ModuleList([nn.Conv1d(emb, 24, k) for k in (3, 4, 5)])
            self.drop = nn.Dropout(0.5)
            self.fc = nn.Linear(72, nc)

        def forward(self, tokens):
            x = self.emb(tokens).transpose(1, 2)  # [N, E, T]
            hs = [torch.relu(c(x)).max(dim=2).values for c in self.convs]
            return self.fc(self.drop(torch.cat(hs, 1)))
    return TextCNN()


def patchcore():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class PatchCore(nn.Module):
        def __init__(self):
            super().__init__()
            self.s1 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                                    nn.Conv2d(16, 24, 3, 2, 1), nn.BatchNorm2d(24), nn.ReLU())
            self.s2 = nn.Sequential(nn.Conv2d(24, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
            self.register_buffer("bank", torch.randn(200, 56))

        def forward(self, x):
            f1 = self.s1(x)
            f2 = self.s2(f1)
            f1 = F.avg_pool2d(f1, 3, 1, 1)
            f2 = F.interpolate(F.avg_pool2d(f2, 3, 1, 1), size=f1.shape[-2:], mode="bilinear", align_corners=False)
            f = torch.cat([f1, f2], 1)  # [1, 56, h, w]
            n, c, h, w = f.shape
            p = f.permute(0, 2, 3, 1).reshape(-1, c)
            d = torch.cdist(p, self.bank)  # [hw, M]
            s = d.min(dim=1).values
            amap = s.reshape(n, 1, h, w)
            amap = F.interpolate(amap, size=x.shape[-2:], mode="bilinear", align_corners=False)
            return amap, s.max().reshape(1)
    return PatchCore()


def capsnet(nc=5):
    torch = _torch()
    nn = torch.nn

    def squash(s, dim=-1):
        n2 = (s * s).sum(dim, keepdim=True)
        return n2 / (1 + n2) * s / torch.sqrt(n2 + 1e-8)

    class CapsNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 32, 9)
            self.prim = nn.Conv2d(32, 8 * 8, 9, 2)  # 8 capsule maps of 8-D
            self.W = nn.Parameter(torch.randn(1, 8 * 6 * 6, nc, 16, 8) * 0.05)

        def forward(self, x):
            n = x.shape[0]
            h = torch.relu(self.conv(x))
            u = self.prim(h).view(n, 8, 8, 6 * 6).permute(0, 1, 3, 2).reshape(n, 8 * 36, 8)
            u = squash(u)
            u_hat = torch.matmul(self.W, u[:, :, None, :, None]).squeeze(-1)  # [N, 288, nc, 16]
            b = torch.zeros_like(u_hat[..., 0])
            v = None
            for _ in range(3):
                c = torch.softmax(b, dim=2)
                s = (c.unsqueeze(-1) * u_hat).sum(1)
                v = squash(s)  # [N, nc, 16]
                b = b + (u_hat * v.unsqueeze(1)).sum(-1)
            return torch.sqrt((v * v).sum(-1) + 1e-8)
    return CapsNet()


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True, dtype=np.float32, scale=1.0):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: (a * scale).astype(dtype)}
    return gen


def _audio(rng, alt):
    n = 3 if alt else 2
    t = np.arange(4000) / 8000.0
    tones = np.sin(2 * np.pi * rng.uniform(200, 1500, (n, 1)) * t[None])
    return {"audio": (tones * 0.5 + rng.standard_normal((n, 4000)) * 0.05).astype(np.float32)}


def _frames(rng, alt):
    n = 3 if alt else 1
    return {"frames": rng.standard_normal((n, 16, 48, 1)).astype(np.float32)}


def _tab(nf, nan=False):
    def gen(rng, alt):
        x = rng.standard_normal((7 if alt else 16, nf)).astype(np.float32)
        if nan:
            x[rng.random(x.shape) < 0.1] = np.nan
        return {("input" if nan else "X" if nf == 8 else "float_input"): x}
    return gen


def _vox(rng, alt):
    g = np.linspace(-1, 1, 16)
    zz, yy, xx = np.meshgrid(g, g, g, indexing="ij")
    blob = np.exp(-((xx - 0.1) ** 2 + yy ** 2 + (zz + 0.1) ** 2) * 3)
    mov = blob + rng.standard_normal(blob.shape) * 0.05
    fix = np.roll(blob, (1, 1, 0), (0, 1, 2)) + rng.standard_normal(blob.shape) * 0.05
    return {"moving": mov[None, None].astype(np.float32), "fixed": fix[None, None].astype(np.float32)}


def _points(rng, alt):
    k = 60 if alt else 200
    pts = np.concatenate([rng.uniform(-1, 1, (k, 3)), rng.uniform(0, 1, (k, 1))], 1).astype(np.float32)
    return {"points": pts, "pillar_id": rng.integers(0, 24, k).astype(np.int64),
            "pillar_cell": rng.integers(0, 256, 24).astype(np.int64)}


def _int4(rng, alt):
    n = 5 if alt else 8
    return {"x": rng.standard_normal((n, 32)).astype(np.float32),
            "token": rng.integers(0, 100000, n).astype(np.int32)}


def _tokens(rng, alt):
    n, t = (3, 11) if alt else (2, 40)
    return {"tokens": rng.integers(1, 500, (n, t)).astype(np.int64)}


def _digits(rng, alt):
    n = 3 if alt else 2
    x = np.zeros((n, 1, 28, 28), np.float32)
    x[:, :, 6:22, 10:18] = 1.0
    return {"x": (x + rng.standard_normal(x.shape) * 0.1).astype(np.float32)}


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz)
SPECS = {
    "logmel_dft_op17": ("helper", 17, _audio, None, None, True),
    "spectral_mask_idft_op17": ("helper", 17, _frames, None, None, True),
    "skl2onnx_logreg_ml": ("helper", 13, _tab(10), None, None, True),
    "skl2onnx_forest_reg_ml": ("helper", 13, _tab(8), None, None, True),
    "skl2onnx_gbdt_cls_ml": ("helper", 13, _tab(6, nan=True), None, None, True),
    "voxelmorph_grid5d_op20": ("helper", 20, _vox, None, None, False),
    "pointpillars_scatter_op18": ("helper", 18, _points, None, None, True),
    "int4_unpack_bitwise_op18": ("helper", 18, _int4, None, None, True),
    "lraspp_dyn_nhw_op13": (lambda: _seg_wrap(lraspp()), 13, _img("input", (1, 3, 128, 160), (2, 3, 96, 112)),
                            ["out"], {"input": {0: "N", 2: "H", 3: "W"}, "out": {0: "N", 2: "H", 3: "W"}}, True),
    "textcnn_dynT_op13": (textcnn, 13, _tokens, ["logits"], {"tokens": {0: "N", 1: "T"}, "logits": {0: "N"}}, True),
    "patchcore_cdist_op13": (patchcore, 13, _img("x", (1, 3, 64, 64)), ["anomaly_map", "score"], None, False),
    "capsnet_routing_op13": (capsnet, 13, _digits, ["lengths"], {"x": {0: "N"}, "lengths": {0: "N"}}, True),
}

HELPER = {"logmel_dft_op17": logmel_dft_op17, "spectral_mask_idft_op17": spectral_mask_idft_op17,
          "skl2onnx_logreg_ml": skl2onnx_logreg_ml, "skl2onnx_forest_reg_ml": skl2onnx_forest_reg_ml,
          "skl2onnx_gbdt_cls_ml": skl2onnx_gbdt_cls_ml, "voxelmorph_grid5d_op20": voxelmorph_grid5d_op20,
          "pointpillars_scatter_op18": pointpillars_scatter_op18,
          "int4_unpack_bitwise_op18": int4_unpack_bitwise_op18}
# Inputs whose leading axis is not one sample's, saved with a leading axis of 1 (warboy's
# data layout reads it as one whole input; ortcheck drops it again): a point cloud with
# its pillar indices.
WHOLE = {"pointpillars_scatter_op18": {"points", "pillar_id", "pillar_cell"}}
# The onnx package here (1.12) knows opsets up to 17: opset-18/20 graphs are not checked by it.
UNCHECKED = {"voxelmorph_grid5d_op20", "pointpillars_scatter_op18", "int4_unpack_bitwise_op18"}


def _save(path, name, feeds):
    whole = WHOLE.get(name, set())
    np.savez(path, **{k: (v[None] if k in whole else v) for k, v in feeds.items()})


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt = SPECS[name]
    rng = np.random.default_rng(47)

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
        model = randomise_norms(builder())
        model.eval()
        xs = [torch.from_numpy(v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes)
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
    out/bench-models-unseen14); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen14")


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
