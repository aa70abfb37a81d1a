#!/usr/bin/python3
"""Models and helpers of the robustness sweep (scripts/sweep_exports.sh).

Run with Debian's python (python3-torch 1.13, python3-torchvision 0.14, python3-onnx):

    /usr/bin/python3 scripts/sweep_models.py export OUTDIR [--only a,b,...]
    /usr/bin/python3 scripts/sweep_models.py ortcheck MODEL INPUT.npy|INPUT.npz OURS.npz [--sqnr DB] [--qdq]
    /usr/bin/python3 scripts/sweep_models.py testdata [OUTDIR]   (default testdata/exported)
    /usr/bin/python3 scripts/sweep_models.py otherinput IN.npy OUT.npy

`export` writes, for every model of MODELS, OUTDIR/models/NAME.onnx, a calibration /
comparison set OUTDIR/data/NAME/ (four .npy samples, or .npz for several inputs), one
input OUTDIR/data/NAME.in.npy, and a line in OUTDIR/manifest.txt:

    NAME|KIND|INPUT_NAME|SHAPE|FLAGS

KIND is cls (class scores), seg, det or seq; SHAPE the shape the samples have
(bound with --input-shape when the model's dimensions are symbolic); FLAGS lists
"img" when the model takes 224x224 ImageNet-preprocessed RGB images (the sweep then
also calibrates it with --calib-data IMAGES --preprocess imagenet).

torchvision models have random weights (no download) with randomised BatchNorm
statistics, so activations have realistic spreads. The paddle2onnx-style models
(`spellings`) are built with onnx.helper: Identity-fed weights, Constant nodes,
opset-9 Upsample, Resize with empty roi/scales, attribute-form Squeeze/Unsqueeze,
Clip with min/max attributes, 5-output BatchNormalization at opset 9, shape chains,
Cast to int64, Expand, Where, Range, ConstantOfShape, NonZero.

`testdata` writes the small models the Go tests use (cmd/warboy/sweep_exported_test.go):
spellings_op{9,11,13}.onnx with npy_spellings/, and einsum_attention_opset13.onnx (a
MaxViT-style window attention written with torch.einsum, symbolic batch and window
count) with npy_windows/, and minibert_opset14.onnx (a BERT-style encoder with int64
inputs and a -inf key-padding mask) with npz_bert/, and control_flow_opset13.onnx (If and
Loop built with onnx.helper) with npy_control/ and ONNX Runtime's answers (npy_control_ort/).

`ortcheck` (scripts/exportlib.py) runs MODEL on ONNX Runtime (tools/ort) with INPUT.npy (the input "input") or
INPUT.npz (one array per input name) and compares every
output with OURS.npz (written by `warboy run --output`): it prints the worst output's
SQNR and max abs error and fails below --sqnr dB (default: 60 dB for float models; the
sweep uses 30 dB for int8 QDQ files, the bar of issue 14).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exportlib import ort_run  # noqa: E402,F401  (ONNX Runtime through node; triage_detection.py imports it from here)
import exportlib  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


# ---------------------------------------------------------------- torch models

def torch_models():
    import torch
    import torch.nn as nn
    import torchvision
    tvm = torchvision.models

    def randomise(m):
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                    mod.running_mean.uniform_(-0.2, 0.2)
                    mod.running_var.uniform_(0.5, 2.0)
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.2, 0.2)
            for p in m.parameters():
                if p.dim() >= 2 and not p.any():
                    nn.init.normal_(p, std=0.02)
        return m.eval()

    def cls(name, size=224, **kw):
        def build():
            return randomise(getattr(tvm, name)(weights=None, **kw))
        return dict(kind="cls", build=build, shape=(1, 3, size, size), img=size == 224)

    class SegOut(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)["out"]

    def seg(name, size=128):
        def build():
            return randomise(SegOut(getattr(tvm.segmentation, name)(weights=None, weights_backbone=None, aux_loss=None)))
        return dict(kind="seg", build=build, shape=(1, 3, size, size))

    class DetOut(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            d = self.m(x)[0]
            return d["boxes"], d["scores"], d["labels"]

    def det(name, size, **kw):
        def build():
            return randomise(DetOut(getattr(tvm.detection, name)(weights=None, weights_backbone=None, **kw)))
        return dict(kind="det", build=build, shape=(1, 3, size, size), batchless=True)

    class RNN(nn.Module):
        def __init__(self, cell, bidir, batch_first):
            super().__init__()
            self.batch_first = batch_first
            self.rnn = getattr(nn, cell)(32, 48, num_layers=2, bidirectional=bidir, batch_first=batch_first)
            self.fc = nn.Linear(96 if bidir else 48, 10)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y)

    def rnn(cell, bidir, batch_first):
        def build():
            torch.manual_seed(3)
            return RNN(cell, bidir, batch_first).eval()
        shape = (2, 12, 32) if batch_first else (12, 2, 32)
        axes = {0: "batch", 1: "seq"} if batch_first else {0: "seq", 1: "batch"}
        return dict(kind="seq", build=build, shape=shape, axes=axes, opset=11 if cell == "GRU" else 13)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True, activation="gelu")
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(self.enc(x))

    def encoder():
        torch.manual_seed(4)
        return Encoder().eval()

    m = {
        "alexnet": cls("alexnet"),
        "vgg11_bn": cls("vgg11_bn"),
        "squeezenet1_1": cls("squeezenet1_1"),
        "shufflenet_v2_x1_0": cls("shufflenet_v2_x1_0"),
        "densenet121": cls("densenet121"),
        "googlenet": cls("googlenet", aux_logits=False, init_weights=True),
        "inception_v3": cls("inception_v3", size=299, aux_logits=False, init_weights=True),
        "mnasnet1_0": cls("mnasnet1_0"),
        "regnet_y_400mf": cls("regnet_y_400mf"),
        "mobilenet_v3_small": cls("mobilenet_v3_small"),
        "mobilenet_v3_large": cls("mobilenet_v3_large"),
        "efficientnet_v2_s": cls("efficientnet_v2_s"),
        "resnext50_32x4d": cls("resnext50_32x4d"),
        "swin_t": cls("swin_t"),
        "maxvit_t": dict(cls("maxvit_t") if hasattr(tvm, "maxvit_t") else dict(kind="cls", build=None, shape=(1, 3, 224, 224))),
        "fcn_resnet50": seg("fcn_resnet50"),
        "deeplabv3_mobilenet_v3_large": seg("deeplabv3_mobilenet_v3_large"),
        "lraspp_mobilenet_v3_large": seg("lraspp_mobilenet_v3_large"),
        "ssdlite320_mobilenet_v3_large": det("ssdlite320_mobilenet_v3_large", 320),
        "retinanet_resnet50_fpn": det("retinanet_resnet50_fpn", 256, min_size=256, max_size=256),
        "fasterrcnn_mobilenet_v3_large_320_fpn": det("fasterrcnn_mobilenet_v3_large_320_fpn", 320),
        "lstm_bidir_bf": rnn("LSTM", True, True),
        "lstm_seqfirst": rnn("LSTM", False, False),
        "gru_bidir_bf": rnn("GRU", True, True),
        "transformer_encoder": dict(kind="seq", build=encoder, shape=(2, 16, 64), axes={0: "batch", 1: "seq"}),
    }
    # The same architectures at other opsets, with dynamic batch/height/width.
    for op in (9, 11, 13):
        m[f"mobilenet_v3_small_dyn_op{op}"] = dict(cls("mobilenet_v3_small"), opset=op, dyn=True, img=True)
        m[f"squeezenet1_1_dyn_op{op}"] = dict(cls("squeezenet1_1"), opset=op, dyn=True, img=True)
    # torch 1.13 cannot export squeezenet's ceil-mode pooling with a dynamic size at opset 9.
    m["squeezenet1_1_op9"] = dict(cls("squeezenet1_1"), opset=9, axes={0: "batch"}, img=True)
    m["lraspp_dyn_op11"] = dict(seg("lraspp_mobilenet_v3_large"), opset=11, dyn=True)
    return m


def export_torch(name, spec, out):
    import torch
    path = os.path.join(out, "models", name + ".onnx")
    if spec.get("build") is None:
        raise RuntimeError(f"{name}: not in this torchvision")
    model = spec["build"]()
    torch.manual_seed(7)
    x = torch.randn(*spec["shape"])
    opset = spec.get("opset", 13)
    axes = None
    if spec.get("dyn"):
        axes = {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch"}}
    elif "axes" in spec:
        axes = {"input": spec["axes"], "output": {k: v for k, v in spec["axes"].items()}}
    elif spec["kind"] != "det":
        axes = {"input": {0: "batch"}, "output": {0: "batch"}}
    outs = ["boxes", "scores", "labels"] if spec["kind"] == "det" else ["output"]
    tmp = path + ".tmp"
    if spec["kind"] == "det":
        x = x[0].unsqueeze(0)
    torch.onnx.export(model, x, tmp, opset_version=opset, input_names=["input"], output_names=outs,
                      dynamic_axes=axes, do_constant_folding=True)
    os.replace(tmp, path)
    return x.numpy()


# ---------------------------------------------------------- onnx.helper models

def spelling_models():
    """paddle2onnx / older-exporter spellings, one small CNN per opset."""
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper as nh

    rng = np.random.default_rng(5)

    def w(name, *shape, scale=0.2):
        return nh.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    def const(name, arr):
        return h.make_node("Constant", [], [name], value=nh.from_array(np.asarray(arr), name + "_v"))

    OUT_TYPES = {"logits": (T.FLOAT, ["batch", 10]), "masked": (T.FLOAT, ["batch", 10]),
                 "nz": (T.INT64, [1, "nonzero"]), "count": (T.INT64, [])}

    def model(opset):
        nodes, inits = [], []
        # Weights fed through Identity (paddle2onnx), and a Constant-node weight.
        inits += [w("c1_w_raw", 8, 3, 3, 3), w("c1_b", 8, scale=0.05)]
        nodes.append(h.make_node("Identity", ["c1_w_raw"], ["c1_w"]))
        nodes.append(h.make_node("Conv", ["input", "c1_w", "c1_b"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]))
        # 5-output BatchNormalization at opset 9 (training outputs unused), 1 output later.
        bn = [nh.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn_s"),
              nh.from_array(rng.uniform(-.2, .2, 8).astype(np.float32), "bn_b"),
              nh.from_array(rng.uniform(-.2, .2, 8).astype(np.float32), "bn_m"),
              nh.from_array(rng.uniform(.5, 2, 8).astype(np.float32), "bn_v")]
        inits += bn
        bn_outs = ["bn"] + (["bn_m1", "bn_v1", "bn_sm", "bn_sv"] if opset < 10 else [])
        nodes.append(h.make_node("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], bn_outs, epsilon=1e-5))
        # Clip with attributes before opset 11, with inputs from 11 (ReLU6), hard-swish as Clip/Div/Mul.
        if opset < 11:
            nodes.append(h.make_node("Clip", ["bn"], ["r6"], min=0.0, max=6.0))
        else:
            nodes += [const("zero", np.array(0, np.float32)), const("six", np.array(6, np.float32))]
            nodes.append(h.make_node("Clip", ["bn", "zero", "six"], ["r6"]))
        nodes += [const("three", np.array(3, np.float32))]
        nodes.append(h.make_node("Add", ["r6", "three"], ["hs0"]))
        if opset < 11:
            nodes.append(h.make_node("Clip", ["hs0"], ["hs1"], min=0.0, max=6.0))
        else:
            nodes.append(h.make_node("Clip", ["hs0", "zero", "six"], ["hs1"]))
        nodes.append(h.make_node("Div", ["hs1", "six_f"], ["hs2"]))
        inits.append(nh.from_array(np.array(6, np.float32), "six_f"))
        nodes.append(h.make_node("Mul", ["r6", "hs2"], ["hs"]))
        # Conv weights as a Constant node.
        nodes.append(const("c2_w", (rng.standard_normal((8, 8, 3, 3)) * 0.15).astype(np.float32)))
        nodes.append(h.make_node("Conv", ["hs", "c2_w"], ["c2"], pads=[1, 1, 1, 1]))
        nodes.append(h.make_node("Relu", ["c2"], ["r2"]))
        # Upsample x2: opset-9 Upsample, or Resize with empty roi/scales and sizes from a shape chain.
        if opset < 10:
            inits.append(nh.from_array(np.array([1, 1, 2, 2], np.float32), "up_scales"))
            nodes.append(h.make_node("Upsample", ["r2", "up_scales"], ["up"], mode="nearest"))
        else:
            nodes.append(h.make_node("Shape", ["r2"], ["r2_shape"]))
            nodes.append(const("idx23", np.array([2, 3], np.int64)))
            nodes.append(h.make_node("Gather", ["r2_shape", "idx23"], ["hw"], axis=0))
            nodes.append(h.make_node("Cast", ["hw"], ["hw_f"], to=T.FLOAT))
            nodes.append(const("two", np.array([2, 2], np.float32)))
            nodes.append(h.make_node("Mul", ["hw_f", "two"], ["hw2_f"]))
            nodes.append(h.make_node("Cast", ["hw2_f"], ["hw2"], to=T.INT64))
            nodes.append(h.make_node("Slice", ["r2_shape", "s0", "s2", "s00"], ["nc"]))
            inits += [nh.from_array(np.array([0], np.int64), "s0"), nh.from_array(np.array([2], np.int64), "s2"),
                      nh.from_array(np.array([0], np.int64), "s00")]
            nodes.append(h.make_node("Concat", ["nc", "hw2"], ["up_sizes"], axis=0))
            nodes.append(const("empty_f", np.zeros(0, np.float32)))
            nodes.append(h.make_node("Resize", ["r2", "empty_f", "empty_f", "up_sizes"], ["up"], mode="nearest",
                                     coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
        # Back down, residual with the upsampled map.
        nodes.append(h.make_node("MaxPool", ["up"], ["down"], kernel_shape=[2, 2], strides=[2, 2]))
        nodes.append(h.make_node("Add", ["down", "r2"], ["res"]))
        # Global pooling, Reshape through Shape -> Gather -> Unsqueeze -> Concat.
        nodes.append(h.make_node("GlobalAveragePool", ["res"], ["gap"]))
        nodes.append(h.make_node("Shape", ["gap"], ["gap_shape"]))
        nodes.append(const("i0", np.array(0, np.int64)))
        nodes.append(h.make_node("Gather", ["gap_shape", "i0"], ["n"], axis=0))
        if opset < 13:
            nodes.append(h.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]))
        else:
            nodes.append(const("ax0", np.array([0], np.int64)))
            nodes.append(h.make_node("Unsqueeze", ["n", "ax0"], ["n1"]))
        nodes.append(const("minus1", np.array([-1], np.int64)))
        nodes.append(h.make_node("Concat", ["n1", "minus1"], ["flat_shape"], axis=0))
        nodes.append(h.make_node("Reshape", ["gap", "flat_shape"], ["flat"]))
        inits += [w("fc_w", 8, 10), w("fc_b", 10, scale=0.05)]
        nodes.append(h.make_node("MatMul", ["flat", "fc_w"], ["mm"]))
        nodes.append(h.make_node("Add", ["mm", "fc_b"], ["logits"]))
        # A second output through the "index" spellings: Unsqueeze/Squeeze round trip,
        # Expand, Where, Range, ConstantOfShape, NonZero, Cast to int64.
        if opset < 13:
            nodes.append(h.make_node("Unsqueeze", ["logits"], ["l3"], axes=[2]))
            nodes.append(h.make_node("Squeeze", ["l3"], ["l2"], axes=[2]))
        else:
            nodes.append(const("ax2", np.array([2], np.int64)))
            nodes.append(h.make_node("Unsqueeze", ["logits", "ax2"], ["l3"]))
            nodes.append(h.make_node("Squeeze", ["l3", "ax2"], ["l2"]))
        if opset >= 11:
            nodes.append(const("r_start", np.array(0, np.int64)))
            nodes.append(const("r_delta", np.array(1, np.int64)))
            nodes.append(const("ten", np.array(10, np.int64)))
            nodes.append(h.make_node("Range", ["r_start", "ten", "r_delta"], ["ar"]))
            nodes.append(const("five", np.array(5, np.int64)))
            nodes.append(h.make_node("Less", ["ar", "five"], ["mask"]))
            nodes.append(h.make_node("Shape", ["l2"], ["l2_shape"]))
            nodes.append(h.make_node("Expand", ["mask", "l2_shape"], ["mask_e"]))
            nodes.append(h.make_node("ConstantOfShape", ["l2_shape"], ["zeros"],
                                     value=nh.from_array(np.array([0], np.float32), "cz")))
            nodes.append(h.make_node("Where", ["mask_e", "l2", "zeros"], ["masked"]))
            nodes.append(h.make_node("NonZero", ["mask"], ["nz"]))
            nodes.append(h.make_node("Cast", ["mask"], ["mask_i"], to=T.INT64))
            nodes.append(h.make_node("ReduceSum", ["mask_i"], ["count"], keepdims=0))
            outs = ["logits", "masked", "nz", "count"]
        else:
            nodes.append(h.make_node("Relu", ["l2"], ["masked"]))
            outs = ["logits", "masked"]
        g = h.make_graph(nodes, f"spellings_op{opset}",
                         [h.make_tensor_value_info("input", T.FLOAT, ["batch", 3, "height", "width"])],
                         [h.make_tensor_value_info(o, *OUT_TYPES[o]) for o in outs], inits)
        mp = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="paddle2onnx-style")
        mp.ir_version = 6
        onnx.checker.check_model(mp)
        return mp

    return {f"spellings_op{op}": (lambda op=op: model(op)) for op in (9, 11, 13)}


# ------------------------------------------------------------------ test data

def einsum_attention():
    """A MaxViT-style window attention written with torch.einsum (as MaxViT is)."""
    import torch
    import torch.nn as nn

    class Attn(nn.Module):
        def __init__(self, d=16, heads=2):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, 10)

        def forward(self, x):  # [B, G, P, D]: windows of P tokens
            b, g, p, d = x.shape
            q, k, v = self.qkv(x).reshape(b, g, p, 3, self.heads, d // self.heads).permute(3, 0, 1, 4, 2, 5)
            s = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k) * (d // self.heads) ** -0.5
            o = torch.einsum("B G H I J, B G H J D -> B G H I D", s.softmax(-1), v)
            return self.proj(o.permute(0, 1, 3, 2, 4).reshape(b, g, p, d))

    torch.manual_seed(12)
    return Attn().eval()


def mini_bert():
    """A BERT-style encoder: int64 token ids, attention mask and token types (symbolic
    batch and sequence), embeddings, a key-padding mask (Where(mask, -inf, 0) added to
    the attention scores), GELU, and a classifier on the first token."""
    import torch
    import torch.nn as nn

    class MiniBert(nn.Module):
        def __init__(self, vocab=100, d=32, heads=4, layers=2, classes=3):
            super().__init__()
            self.tok, self.pos, self.typ = nn.Embedding(vocab, d), nn.Embedding(64, d), nn.Embedding(2, d)
            self.ln = nn.LayerNorm(d)
            layer = nn.TransformerEncoderLayer(d, heads, 64, 0.0, activation="gelu", batch_first=True)
            self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.cls = nn.Linear(d, classes)

        def forward(self, input_ids, attention_mask, token_type_ids):
            pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
            h = self.ln(self.tok(input_ids) + self.pos(pos) + self.typ(token_type_ids))
            h = self.enc(h, src_key_padding_mask=attention_mask == 0)
            return self.cls(h[:, 0])

    torch.manual_seed(0)
    return MiniBert().eval()


def cmd_testdata(out):
    """The small models of testdata/exported that the Go tests run (cmd/warboy)."""
    import onnx
    import torch
    for name, build in spelling_models().items():
        onnx.save(build(), os.path.join(out, name + ".onnx"))
        print(f"{name}.onnx", flush=True)
    d = os.path.join(out, "npy_spellings")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(9)
    np.save(os.path.join(d, "batch.npy"), rng.standard_normal((3, 3, 32, 48)).astype(np.float32))
    x = torch.randn(1, 4, 9, 16)
    path = os.path.join(out, "einsum_attention_opset13.onnx")
    torch.onnx.export(einsum_attention(), x, path, opset_version=13, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch", 1: "windows"}, "y": {0: "batch", 1: "windows"}})
    print(os.path.basename(path), flush=True)
    d = os.path.join(out, "npy_windows")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "batch.npy"), rng.standard_normal((3, 4, 9, 16)).astype(np.float32))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.randint(0, 100, (2, 12))
    am = torch.ones(2, 12, dtype=torch.long)
    am[1, 8:] = 0
    path = os.path.join(out, "minibert_opset14.onnx")
    torch.onnx.export(mini_bert(), (ids, am, torch.zeros(2, 12, dtype=torch.long)), path, opset_version=14,
                      input_names=names, output_names=["logits"],
                      dynamic_axes={**{k: {0: "batch", 1: "seq"} for k in names}, "logits": {0: "batch"}})
    print(os.path.basename(path), flush=True)
    d = os.path.join(out, "npz_bert")
    os.makedirs(d, exist_ok=True)
    for i in range(3):
        ids = rng.integers(0, 100, (2, 12)).astype(np.int64)
        am = np.ones((2, 12), np.int64)
        am[1, 7 + i:] = 0
        np.savez(os.path.join(d, f"s{i}.npz"), input_ids=ids, attention_mask=am, token_type_ids=np.zeros((2, 12), np.int64))
    write_control_flow(out)


def control_flow_model():
    """If and Loop as exporters write them, built with onnx.helper (opset 13): a small
    Conv backbone (the part that runs int8), then an If on a data-dependent condition
    (sum of the features > 0) whose branches give different row counts and whose else
    branch holds a nested If reading the enclosing branch's values; an If on a shape
    check (constant once shapes are bound: inlined); a Loop with a trip count, a
    condition, a carried value and a scan output, its body reading outer weights; and
    torchvision's "no boxes left" check (If on Size(NonZero(...)) == 0, the then branch
    an empty Constant)."""
    import onnx
    from onnx import TensorProto as TP, helper as h, numpy_helper as nh
    rng = np.random.default_rng(21)

    def init(name, arr):
        return nh.from_array(np.asarray(arr), name)

    inits = [
        init("conv_w", (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)),
        init("conv_b", (rng.standard_normal(4) * 0.1).astype(np.float32)),
        init("W", (rng.standard_normal((4, 4)) * 0.5).astype(np.float32)),
        init("zero", np.float32(0)), init("half", np.float32(0.5)), init("four", np.int64(4)),
        init("one_i", np.int64(1)), init("zero_i", np.int64(0)), init("trip", np.int64(3)),
        init("limit", np.int64(10)), init("tru", np.array(True)),
        init("s0", np.array([0], np.int64)), init("e1", np.array([1], np.int64)),
    ]
    # else branch of if_pos: Neg, then a nested If (constant condition from the outer
    # scope) that slices the first row of the enclosing branch's value.
    inner_then = h.make_graph([h.make_node("Slice", ["neg", "s0", "e1", "s0"], ["inner_t"])], "inner_then", [],
                              [h.make_tensor_value_info("inner_t", TP.FLOAT, [None, 4])])
    inner_else = h.make_graph([h.make_node("Identity", ["neg"], ["inner_e"])], "inner_else", [],
                              [h.make_tensor_value_info("inner_e", TP.FLOAT, [None, 4])])
    pos_then = h.make_graph([h.make_node("MatMul", ["feat", "W"], ["mm"])], "pos_then", [],
                            [h.make_tensor_value_info("mm", TP.FLOAT, [None, 4])])
    pos_else = h.make_graph([h.make_node("Neg", ["feat"], ["neg"]),
                             h.make_node("If", ["tru"], ["sliced"], then_branch=inner_then, else_branch=inner_else)],
                            "pos_else", [], [h.make_tensor_value_info("sliced", TP.FLOAT, [None, 4])])
    shape_then = h.make_graph([h.make_node("Relu", ["branch"], ["r"])], "shape_then", [],
                              [h.make_tensor_value_info("r", TP.FLOAT, [None, 4])])
    shape_else = h.make_graph([h.make_node("Sigmoid", ["branch"], ["sg"])], "shape_else", [],
                              [h.make_tensor_value_info("sg", TP.FLOAT, [None, 4])])
    body = h.make_graph([
        h.make_node("MatMul", ["acc_in", "W"], ["acc_mm"]),
        h.make_node("Mul", ["acc_mm", "half"], ["acc_half"]),
        h.make_node("Add", ["acc_half", "acc_in"], ["acc_out"]),
        h.make_node("ReduceSum", ["acc_out"], ["acc_sum"], keepdims=0),
        h.make_node("Less", ["iter", "limit"], ["cond_out"]),
    ], "body", [h.make_tensor_value_info("iter", TP.INT64, []), h.make_tensor_value_info("cond_in", TP.BOOL, []),
                h.make_tensor_value_info("acc_in", TP.FLOAT, [None, 4])],
        [h.make_tensor_value_info("cond_out", TP.BOOL, []), h.make_tensor_value_info("acc_out", TP.FLOAT, [None, 4]),
         h.make_tensor_value_info("acc_sum", TP.FLOAT, [])])
    empty_then = h.make_graph([h.make_node("Constant", [], ["none"], value=nh.from_array(np.zeros(0, np.int64)))],
                              "empty_then", [], [h.make_tensor_value_info("none", TP.INT64, [0])])
    empty_else = h.make_graph([h.make_node("Gather", ["nz", "zero_i"], ["rows"], axis=0)], "empty_else", [],
                              [h.make_tensor_value_info("rows", TP.INT64, [None])])
    nodes = [
        h.make_node("Conv", ["x", "conv_w", "conv_b"], ["conv"], pads=[1, 1, 1, 1]),
        h.make_node("Relu", ["conv"], ["act"]),
        h.make_node("GlobalAveragePool", ["act"], ["gap"]),
        h.make_node("Flatten", ["gap"], ["feat0"]),
        h.make_node("Sub", ["feat0", "half"], ["feat"]),
        h.make_node("ReduceSum", ["feat"], ["sum"], keepdims=0),
        h.make_node("Greater", ["sum", "zero"], ["pos"]),
        h.make_node("If", ["pos"], ["branch"], name="if_pos", then_branch=pos_then, else_branch=pos_else),
        h.make_node("Shape", ["feat"], ["bshape"]),
        h.make_node("Gather", ["bshape", "one_i"], ["width"], axis=0),
        h.make_node("Equal", ["width", "four"], ["is4"]),
        h.make_node("If", ["is4"], ["shaped"], name="if_shape", then_branch=shape_then, else_branch=shape_else),
        h.make_node("Loop", ["trip", "tru", "shaped"], ["loop_out", "loop_scan"], name="loop", body=body),
        h.make_node("Greater", ["feat", "zero"], ["mask"]),
        h.make_node("NonZero", ["mask"], ["nz"]),
        h.make_node("Size", ["nz"], ["nz_size"]),
        h.make_node("Equal", ["nz_size", "zero_i"], ["empty"]),
        h.make_node("If", ["empty"], ["rows_out"], name="if_empty", then_branch=empty_then, else_branch=empty_else),
    ]
    g = h.make_graph(nodes, "control_flow", [h.make_tensor_value_info("x", TP.FLOAT, ["batch", 3, 8, 8])],
                     [h.make_tensor_value_info("loop_out", TP.FLOAT, [None, 4]),
                      h.make_tensor_value_info("loop_scan", TP.FLOAT, [None]),
                      h.make_tensor_value_info("rows_out", TP.INT64, [None])], initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="sweep_models.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def write_control_flow(out):
    """control_flow_opset13.onnx, inputs in npy_control/ (both sides of the If
    condition, one with no positive feature: the empty branch) and ONNX Runtime's
    answers in npy_control_ort/ (same names, .npz)."""
    import onnx
    path = os.path.join(out, "control_flow_opset13.onnx")
    onnx.save(control_flow_model(), path)
    print(os.path.basename(path), flush=True)
    d = os.path.join(out, "npy_control")
    a = os.path.join(out, "npy_control_ort")
    os.makedirs(d, exist_ok=True)
    os.makedirs(a, exist_ok=True)
    rng = np.random.default_rng(5)
    samples = {"pos": rng.standard_normal((2, 3, 8, 8)) + 2.0, "small": rng.standard_normal((3, 3, 8, 8)) * 0.01,
               "mixed": rng.standard_normal((1, 3, 8, 8))}
    for name, x in samples.items():
        x = x.astype(np.float32)
        np.save(os.path.join(d, name + ".npy"), x)
        np.savez(os.path.join(a, name + ".npz"), **ort_run(path, {"x": x}))


# ------------------------------------------------------------------ commands

def write_data(out, name, x, kind, multi=None):
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(11)
    for i in range(4):
        s = x if i == 0 else (x + rng.standard_normal(x.shape).astype(np.float32) * 0.5).astype(np.float32)
        np.save(os.path.join(d, f"s{i}.npy"), s)
    np.save(os.path.join(out, "data", name + ".in.npy"), x)


def cmd_export(out, only, force):
    import onnx
    os.makedirs(os.path.join(out, "models"), exist_ok=True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    manifest = os.path.join(out, "manifest.txt")
    lines = {}
    if os.path.exists(manifest):
        for ln in open(manifest):
            lines[ln.split("|")[0]] = ln.rstrip("\n")
    models = torch_models()
    for name, spec in models.items():
        if only and name not in only:
            continue
        inp = os.path.join(out, "data", name + ".in.npy")
        try:
            if os.path.exists(os.path.join(out, "models", name + ".onnx")) and os.path.exists(inp) and not force:
                x = np.load(inp)  # exported by an earlier run (--force exports again)
            else:
                x = export_torch(name, spec, out)
                write_data(out, name, x, spec["kind"])
        except Exception as e:  # noqa: BLE001 - the sweep records what does not export
            msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
            print(f"{name}: EXPORT FAILED: {msg}", flush=True)
            lines[name] = f"{name}|{spec['kind']}|input||export-failed: {msg.replace('|', '/')}"
            continue
        flags = "img" if spec.get("img") else ""
        if spec.get("dyn"):
            flags = (flags + ",dyn").strip(",")
        lines[name] = f"{name}|{spec['kind']}|input|{','.join(map(str, x.shape))}|{flags}"
        size = os.path.getsize(os.path.join(out, "models", name + ".onnx")) / 1e6
        print(f"{name}: {size:.1f} MB, opset {spec.get('opset', 13)}", flush=True)
    for name, build in spelling_models().items():
        if only and name not in only:
            continue
        onnx.save(build(), os.path.join(out, "models", name + ".onnx"))
        x = np.random.default_rng(1).standard_normal((1, 3, 32, 48)).astype(np.float32)
        write_data(out, name, x, "cls")
        lines[name] = f"{name}|cls|input|1,3,32,48|dyn"
        print(f"{name}: written", flush=True)
    with open(manifest, "w") as f:
        for k in sorted(lines):
            f.write(lines[k] + "\n")


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        return 2
    if a[0] == "export":
        only = None
        if "--only" in a:
            only = set(a[a.index("--only") + 1].split(","))
        cmd_export(a[1], only, "--force" in a)
        return 0
    if a[0] == "testdata":
        cmd_testdata(a[1] if len(a) > 1 else os.path.join(ROOT, "testdata", "exported"))
        return 0
    if a[0] == "otherinput":
        # An input of another size for a model with symbolic batch/height/width:
        # batch 2, height and width 3/4 of the sample's (multiples of 8).
        x = np.load(a[1])
        shape = list(x.shape)
        shape[0] = 2
        for d in (2, 3):
            shape[d] = max(16, (shape[d] * 3 // 4 + 7) // 8 * 8)
        np.save(a[2], np.random.default_rng(8).standard_normal(shape).astype(np.float32))
        return 0
    if a[0] == "ortcheck":
        return exportlib.ortcheck_main([x for x in a[1:] if x != "--qdq"])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
