#!/usr/bin/python3
"""The --unseen5 export set (tenth session): architecture families none of the
earlier sets has, for triage of the whole workflow (inspect, quantize, compare,
sim, bench, ONNX Runtime agreement).

Used by scripts/export_benchmodels.py --unseen5 (which writes the files); also a
command of its own for the ONNX Runtime check:

    /usr/bin/python3 scripts/export_benchmodels.py --unseen5 [--models a,b]
    /usr/bin/python3 scripts/unseen5_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]
    /usr/bin/python3 scripts/unseen5_models.py qatmodel OUT.onnx

qatmodel writes the paddle2onnx-style graph of paddle_style() at Fashion-MNIST's
size ([N, 1, 28, 28] -> 10 logits, one output) for `warboy qat`.

Random weights (BatchNorm statistics randomised), nothing downloaded. Every
model NAME is written as DIR/NAME.onnx with four samples DIR/data/NAME/s{0..3}.npz
(one array per input name: calibration and comparison data) and
DIR/data/NAME.in.npz (sample 0). Models with symbolic sizes also get
DIR/data/NAME.alt.npz, an input at other sizes (the int8 file must run there).

The models (MODELS below):
- r2plus1d_18, mc3_18: torchvision video nets on a [1, 3, 8, 112, 112] clip
  (Conv3d with (1,3,3)/(3,1,1) factorised kernels, BatchNorm3d, AdaptiveAvgPool3d).
- c3d_pool: a small C3D-style net: Conv3d, MaxPool3d (kernel (1,2,2) and 2x2x2,
  ceil mode), AvgPool3d, ConvTranspose3d, a global 3-D average, Linear.
- x3d_dw (eighteenth session): X3D-style bottlenecks on a [1, 3, 8, 56, 56]
  clip: a (1,3,3) stem, pointwise expand, a depthwise 3x3x3 Conv3d
  (groups = channels; one with stride (1,2,2)), BatchNorm3d, ReLU, pointwise
  project with a residual, a global 3-D average, Linear.
- vgg16_bn (224x224), deeplabv3_resnet50 (160x160, "out" map only: dilated
  ResNet-50, ASPP with a pooled branch upsampled to the feature size).
- gru_cls (opset 11), bilstm_cls (opset 12): sequence classifiers over
  float features [batch, seq, 40] with symbolic batch and seq; the GRU reads
  its last hidden state (Y_h), the BiLSTM mean-pools Y over time and
  concatenates both directions' final states.
- encoder_mask: nn.TransformerEncoder (2 layers, post-norm, ReLU) with a
  key padding mask given as a second, bool input [batch, seq] (opset 13).
- two_io: two inputs of different ranks (an image [1, 3, 64, 64] and a
  vector [1, 16]) and two outputs (class scores [1, 10] and a mask [1, 1, 64, 64]).
- upsample_op9: an FPN-style net at opset 9: nn.Upsample nearest (x2) and
  bilinear (x2), strided convolutions, Concat, a sigmoid head.
- paddle_op10: a graph built with onnx.helper as paddle2onnx and other
  converters spell it (see paddle_style()).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script: the ONNX Runtime check)

MODELS = ["r2plus1d_18", "mc3_18", "c3d_pool", "x3d_dw", "vgg16_bn", "deeplabv3_resnet50", "gru_cls", "bilstm_cls",
          "encoder_mask", "two_io", "upsample_op9", "paddle_op10"]


def _torch():
    import torch
    return torch


def randomise_bn(model):
    torch = _torch()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model


def c3d_pool():
    torch = _torch()
    nn = torch.nn

    class C3DPool(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Sequential(nn.Conv3d(3, 16, 3, padding=1), nn.BatchNorm3d(16), nn.ReLU())
            self.p1 = nn.MaxPool3d((1, 2, 2))
            self.c2 = nn.Sequential(nn.Conv3d(16, 32, 3, padding=1), nn.BatchNorm3d(32), nn.ReLU())
            self.p2 = nn.MaxPool3d(2, ceil_mode=True)
            self.c3 = nn.Sequential(nn.Conv3d(32, 32, (3, 1, 1), padding=(1, 0, 0), groups=4), nn.ReLU())
            self.p3 = nn.AvgPool3d((1, 2, 2), stride=(1, 2, 2))
            self.up = nn.ConvTranspose3d(32, 16, (1, 2, 2), stride=(1, 2, 2))
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            y = self.p3(self.c3(self.p2(self.c2(self.p1(self.c1(x))))))
            y = torch.relu(self.up(y))
            return self.fc(y.mean(dim=(2, 3, 4)))

    return C3DPool()


def x3d_dw():
    torch = _torch()
    nn = torch.nn

    def bn_relu(c):
        return [nn.BatchNorm3d(c), nn.ReLU()]

    class Block(nn.Module):
        def __init__(self, c, e, stride):
            super().__init__()
            self.f = nn.Sequential(nn.Conv3d(c, e, 1, bias=False), *bn_relu(e),
                                   nn.Conv3d(e, e, 3, stride=(1, stride, stride), padding=1, groups=e, bias=False), *bn_relu(e),
                                   nn.Conv3d(e, c, 1, bias=False), nn.BatchNorm3d(c))
            self.res = stride == 1

        def forward(self, x):
            y = self.f(x)
            return torch.relu(x + y) if self.res else torch.relu(y)

    class X3DDW(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv3d(3, 24, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False), *bn_relu(24))
            self.blocks = nn.Sequential(Block(24, 54, 1), Block(24, 54, 2), Block(24, 54, 1))
            self.fc = nn.Linear(24, 10)

        def forward(self, x):
            return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3, 4)))

    return X3DDW()


def gru_cls():
    torch = _torch()

    class GRUCls(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(40, 64, num_layers=2, batch_first=True)
            self.fc = torch.nn.Linear(64, 6)

        def forward(self, x):
            _, h = self.gru(x)
            return self.fc(h[-1])

    return GRUCls()


def bilstm_cls():
    torch = _torch()

    class BiLSTMCls(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(40, 48, batch_first=True, bidirectional=True)
            self.fc = torch.nn.Linear(96 + 96, 6)

        def forward(self, x):
            y, (h, _) = self.lstm(x)
            last = torch.cat([h[0], h[1]], dim=1)
            return self.fc(torch.cat([y.mean(dim=1), last], dim=1))

    return BiLSTMCls()


def encoder_mask():
    torch = _torch()

    class EncMask(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
            self.enc = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.fc = torch.nn.Linear(32, 5)

        def forward(self, x, pad):
            y = self.enc(x, src_key_padding_mask=pad)
            keep = (~pad).unsqueeze(-1).to(y.dtype)
            return self.fc((y * keep).sum(1) / keep.sum(1).clamp(min=1.0))

    return EncMask()


def two_io():
    torch = _torch()
    nn = torch.nn

    class TwoIO(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
            self.meta = nn.Sequential(nn.Linear(16, 32), nn.ReLU())
            self.cls = nn.Linear(64, 10)
            self.mask = nn.Sequential(nn.ConvTranspose2d(32, 8, 2, stride=2), nn.ReLU(), nn.Conv2d(8, 1, 1))

        def forward(self, image, meta):
            f = self.body(image)
            m = self.meta(meta)
            scores = self.cls(torch.cat([f.mean(dim=(2, 3)), m], dim=1))
            gate = m[:, :32].unsqueeze(-1).unsqueeze(-1)
            return scores, torch.sigmoid(self.mask(f * torch.sigmoid(gate)))

    return TwoIO()


def upsample_op9():
    torch = _torch()
    nn = torch.nn

    class FPN9(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU())
            self.c2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU())
            self.c3 = nn.Sequential(nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU())
            self.up_n = nn.Upsample(scale_factor=2, mode="nearest")
            self.up_b = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.l2 = nn.Conv2d(32, 32, 1)
            self.l1 = nn.Conv2d(16, 32, 1)
            self.head = nn.Conv2d(64, 2, 3, padding=1)

        def forward(self, x):
            a = self.c1(x)
            b = self.c2(a)
            c = self.c3(b)
            p2 = self.l2(b) + self.up_n(c)
            p1 = self.l1(a) + self.up_b(p2)
            return torch.sigmoid(self.head(torch.cat([p1, self.up_n(p2)], 1)))

    return FPN9()


def paddle_style(opset=10, in_ch=3, side=63, logits_only=False):
    """A classifier written as converters from other frameworks write graphs:
    weights fed through Identity and Constant nodes; a Conv with
    auto_pad=SAME_UPPER and stride 2 (asymmetric padding); a weight stored as
    float16 and Cast to float32; BatchNormalization with 1 output; PRelu with a
    [C,1,1] slope; HardSigmoid with paddle's alpha 0.2 gating a branch; Pad with
    pads attribute (reflect); AveragePool with count_include_pad=0 and ceil mode;
    a channel shuffle by Reshape -> Transpose -> Reshape with shapes built by
    Shape -> Gather -> Unsqueeze -> Concat; Split by attribute; Sum of three
    inputs; ReduceMean over H and W instead of a global pool; Reshape with a 0
    (copy) dimension; MatMul + Add instead of Gemm; Softmax at opset < 13 on a
    2-D tensor; a second output from ArgMax (int64)."""
    import onnx
    from onnx import helper as h, numpy_helper as nh, TensorProto as T
    rng = np.random.default_rng(5)
    inits, nodes = [], []

    def w(name, *shape, scale=0.2, dtype=np.float32):
        inits.append(nh.from_array((rng.standard_normal(shape) * scale).astype(dtype), name))
        return name

    def const(name, arr):
        nodes.append(h.make_node("Constant", [], [name], value=nh.from_array(np.asarray(arr), name + "_v")))
        return name

    # stem: Identity-fed weight, SAME_UPPER stride 2 on an odd size (asymmetric pads)
    w("stem_w_raw", 16, in_ch, 3, 3)
    nodes.append(h.make_node("Identity", ["stem_w_raw"], ["stem_w"]))
    const("stem_b", (rng.standard_normal(16) * 0.1).astype(np.float32))
    nodes.append(h.make_node("Conv", ["input", "stem_w", "stem_b"], ["stem"], auto_pad="SAME_UPPER",
                             strides=[2, 2], kernel_shape=[3, 3]))
    w("bn_s", 16, scale=0.1)
    inits[-1] = nh.from_array((np.abs(nh.to_array(inits[-1])) + 0.8).astype(np.float32), "bn_s")
    w("bn_b", 16, scale=0.1)
    w("bn_m", 16, scale=0.1)
    inits.append(nh.from_array(rng.uniform(0.5, 2.0, 16).astype(np.float32), "bn_v"))
    nodes.append(h.make_node("BatchNormalization", ["stem", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], epsilon=1e-5))
    inits.append(nh.from_array(rng.uniform(0.05, 0.3, (16, 1, 1)).astype(np.float32), "slope"))
    nodes.append(h.make_node("PRelu", ["bn", "slope"], ["act"]))
    # reflect Pad by attribute, then a float16 weight Cast to float32
    nodes.append(h.make_node("Pad", ["act"], ["padded"], mode="reflect", pads=[0, 0, 1, 1, 0, 0, 1, 1]))
    w("c2_w16", 32, 16, 3, 3, scale=0.1, dtype=np.float16)
    nodes.append(h.make_node("Cast", ["c2_w16"], ["c2_w"], to=T.FLOAT))
    nodes.append(h.make_node("Conv", ["padded", "c2_w"], ["c2"], kernel_shape=[3, 3]))
    nodes.append(h.make_node("Relu", ["c2"], ["r2"]))
    # squeeze-excite-like gate with HardSigmoid (paddle's alpha 0.2, beta 0.5)
    nodes.append(h.make_node("ReduceMean", ["r2"], ["se_pool"], axes=[2, 3], keepdims=1))
    w("se_w", 32, 32, 1, 1, scale=0.3)
    nodes.append(h.make_node("Conv", ["se_pool", "se_w"], ["se_c"]))
    nodes.append(h.make_node("HardSigmoid", ["se_c"], ["se_g"], alpha=0.2, beta=0.5))
    nodes.append(h.make_node("Mul", ["r2", "se_g"], ["gated"]))
    # AveragePool, count_include_pad=0, ceil mode, on an odd size
    nodes.append(h.make_node("AveragePool", ["gated"], ["ap"], kernel_shape=[3, 3], strides=[2, 2],
                             pads=[1, 1, 1, 1], count_include_pad=0, ceil_mode=1))
    # channel shuffle with shapes from Shape -> Gather -> Unsqueeze -> Concat
    nodes.append(h.make_node("Shape", ["ap"], ["ap_shape"]))
    const("i0", np.array(0, np.int64))
    const("i2", np.array(2, np.int64))
    const("i3", np.array(3, np.int64))
    for nm, idx in (("n", "i0"), ("hh", "i2"), ("ww", "i3")):
        nodes.append(h.make_node("Gather", ["ap_shape", idx], [nm], axis=0))
        nodes.append(h.make_node("Unsqueeze", [nm], [nm + "_u"], axes=[0]))
    const("g_c", np.array([4, 8], np.int64))
    nodes.append(h.make_node("Concat", ["n_u", "g_c", "hh_u", "ww_u"], ["shp5"], axis=0))
    nodes.append(h.make_node("Reshape", ["ap", "shp5"], ["r5"]))
    nodes.append(h.make_node("Transpose", ["r5"], ["t5"], perm=[0, 2, 1, 3, 4]))
    const("c32", np.array([32], np.int64))
    nodes.append(h.make_node("Concat", ["n_u", "c32", "hh_u", "ww_u"], ["shp4"], axis=0))
    nodes.append(h.make_node("Reshape", ["t5", "shp4"], ["shuf"]))
    # Split by attribute into three branches, Sum of three
    nodes.append(h.make_node("Split", ["shuf"], ["s_a", "s_b", "s_c"], axis=1, split=[8, 8, 16]))
    w("ba_w", 16, 8, 1, 1)
    w("bb_w", 16, 8, 3, 3, scale=0.1)
    w("bc_w", 16, 16, 1, 1)
    nodes.append(h.make_node("Conv", ["s_a", "ba_w"], ["b_a"]))
    nodes.append(h.make_node("Conv", ["s_b", "bb_w"], ["b_b"], pads=[1, 1, 1, 1]))
    nodes.append(h.make_node("Conv", ["s_c", "bc_w"], ["b_c"]))
    nodes.append(h.make_node("Sum", ["b_a", "b_b", "b_c"], ["summed"]))
    nodes.append(h.make_node("LeakyRelu", ["summed"], ["lr"], alpha=0.1))
    # head: ReduceMean (keepdims=0), Reshape with a 0 dimension, MatMul + Add, Softmax at opset < 13
    nodes.append(h.make_node("ReduceMean", ["lr"], ["feat"], axes=[2, 3], keepdims=0))
    const("shp2", np.array([0, -1], np.int64))
    nodes.append(h.make_node("Reshape", ["feat", "shp2"], ["flat"]))
    w("fc_w", 16, 10, scale=0.5)
    nodes.append(h.make_node("Identity", ["fc_w"], ["fc_w_id"]))
    w("fc_b", 10, scale=0.1)
    nodes.append(h.make_node("MatMul", ["flat", "fc_w_id"], ["mm"]))
    nodes.append(h.make_node("Add", ["mm", "fc_b"], ["logits"]))
    outs = [h.make_tensor_value_info("logits", T.FLOAT, ["N", 10])]
    if not logits_only:
        nodes.append(h.make_node("Softmax", ["logits"], ["prob"], axis=1))
        nodes.append(h.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0))
        outs = [h.make_tensor_value_info("prob", T.FLOAT, ["N", 10]),
                h.make_tensor_value_info("label", T.INT64, ["N"])]
    graph = h.make_graph(nodes, "paddle_style", [h.make_tensor_value_info("input", T.FLOAT, ["N", in_ch, side, side])],
                         outs, inits)
    m = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], producer_name="paddle2onnx-style")
    m.ir_version = 6
    onnx.checker.check_model(m, full_check=True)
    return m


# name -> (builder, opset, inputs {name: (shape, kind)}, outputs, dynamic axes)
# kind: "f" float normal, "u" float uniform [0,1), "pad" bool key padding mask.
SPECS = {
    "r2plus1d_18": ("video", 13, {"input": ((1, 3, 8, 112, 112), "f")}, ["output"], None),
    "mc3_18": ("video", 13, {"input": ((1, 3, 8, 112, 112), "f")}, ["output"], None),
    "c3d_pool": (c3d_pool, 13, {"input": ((1, 3, 8, 64, 64), "f")}, ["output"], None),
    "x3d_dw": (x3d_dw, 13, {"input": ((1, 3, 8, 56, 56), "f")}, ["output"], None),
    "vgg16_bn": ("cls", 13, {"input": ((1, 3, 224, 224), "f")}, ["output"], None),
    "deeplabv3_resnet50": ("seg", 13, {"input": ((1, 3, 160, 160), "f")}, ["output"], None),
    "gru_cls": (gru_cls, 11, {"input": ((2, 20, 40), "f")}, ["output"],
                {"input": {0: "batch", 1: "seq"}, "output": {0: "batch"}}),
    "bilstm_cls": (bilstm_cls, 12, {"input": ((2, 20, 40), "f")}, ["output"],
                   {"input": {0: "batch", 1: "seq"}, "output": {0: "batch"}}),
    "encoder_mask": (encoder_mask, 13, {"input": ((2, 16, 32), "f"), "pad": ((2, 16), "pad")}, ["output"],
                     {"input": {0: "batch", 1: "seq"}, "pad": {0: "batch", 1: "seq"}, "output": {0: "batch"}}),
    "two_io": (two_io, 13, {"image": ((1, 3, 64, 64), "f"), "meta": ((1, 16), "f")}, ["scores", "mask"], None),
    "upsample_op9": (upsample_op9, 9, {"input": ((1, 3, 96, 96), "f")}, ["output"], None),
    "paddle_op10": ("paddle", 10, {"input": ((1, 3, 63, 63), "u")}, ["prob", "label"], None),
}

# Other sizes for the symbolic-shape models (the int8 file must run there too).
ALT = {"gru_cls": {"input": (3, 33, 40)}, "bilstm_cls": {"input": (1, 7, 40)},
       "encoder_mask": {"input": (3, 9, 32), "pad": (3, 9)}, "paddle_op10": {"input": (2, 3, 63, 63)}}


def make_input(shape, kind, rng):
    if kind == "pad":
        # Each row keeps a prefix of real tokens (at least one) and pads the rest.
        b, t = shape
        keep = rng.integers(1, t + 1, b)
        return np.arange(t)[None, :] >= keep[:, None]
    if kind == "u":
        return rng.random(shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def build_torch(name, kind):
    torch = _torch()
    import torchvision
    torch.manual_seed(0)
    if kind == "video":
        model = getattr(torchvision.models.video, name)(weights=None)
    elif kind == "cls":
        model = getattr(torchvision.models, name)(weights=None)
    elif kind == "seg":
        inner = getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None, aux_loss=False)

        class OutOnly(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return self.m(x)["out"]
        model = OutOnly(inner)
    else:
        model = kind()
    return randomise_bn(model).eval()


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, ins, outs, axes = SPECS[name]
    rng = np.random.default_rng(17)
    samples = [{k: make_input(s, kind, rng) for k, (s, kind) in ins.items()} for _ in range(4)]
    path = os.path.join(out, name + ".onnx")
    tmp = path + ".tmp"
    if builder == "paddle":
        import onnx
        onnx.save(paddle_style(opset), tmp)
    else:
        torch = _torch()
        model = build_torch(name, builder)
        xs = tuple(torch.from_numpy(samples[0][k]) for k in ins)
        with torch.no_grad():
            model(*xs)
        torch.onnx.export(model, xs, tmp, opset_version=opset, input_names=list(ins), output_names=outs,
                          do_constant_folding=True, dynamic_axes=axes)
    os.replace(tmp, path)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        np.savez(os.path.join(d, f"s{i}.npz"), **s)
    np.savez(os.path.join(out, "data", name + ".in.npz"), **samples[0])
    if name in ALT:
        alt = {k: make_input(ALT[name][k], ins[k][1], rng) for k in ins}
        np.savez(os.path.join(out, "data", name + ".alt.npz"), **alt)
    return path


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        return exportlib.ortcheck_main(a[1:])
    if len(a) == 2 and a[0] == "qatmodel":
        import onnx
        onnx.save(paddle_style(10, in_ch=1, side=28, logits_only=True), a[1])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
