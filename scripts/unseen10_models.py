#!/usr/bin/python3
"""The --unseen10 export set (fifteenth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen9, --detection, --audio,
--darknet) has, for triage of the whole workflow (scripts/triage_unseen10.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen10 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen10_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics randomised), nothing downloaded. Every
model NAME is written as DIR/NAME.onnx (default DIR out/bench-models-unseen10) with
four samples DIR/data/NAME/s{0..3}.npz (one array per input name), DIR/data/NAME.in.npz
(sample 0) and, for models with symbolic sizes, DIR/data/NAME.alt.npz (an input at
other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- fastrcnn_roipool_op11: a Fast R-CNN head: a strided conv backbone,
  torchvision.ops.roi_pool (the MaxRoiPool operator) over a float rois input
  [K, 5] (batch index, x1, y1, x2, y2; symbolic K), two FC layers, class
  softmax and box deltas.
- paddle_unpool_op11: an onnx.helper graph as paddle2onnx writes a SegNet
  (paddle.nn.MaxUnPool2D): MaxPool with its Indices output, MaxUnpool with an
  output_shape input computed from Shape and MaxUnpool without one; "p2o."
  names; symbolic N.
- det_metric_op11: a metric-learning / geometry head: LPPool2d (Pow, AvgPool,
  Sign, Abs, Relu), GLU (Split, Sigmoid, Mul), F.normalize (ReduceL2, Clip,
  Expand, Div), torch.cdist to prototypes (Pow/ReduceSum), logsumexp
  (ReduceLogSumExp), torch.var_mean unbiased (ReduceProd of the Shape), and the
  determinant of predicted 3x3 matrices (the Det operator).
- voxel_unique_op16: point-cloud voxelisation: voxel keys by Floor and int64
  arithmetic, torch.unique(sorted, return_inverse, return_counts) (the Unique
  operator, data-dependent size), scatter_add of point features per voxel
  (ScatterElements reduction add) into ConstantOfShape zeros, means by counts;
  symbolic number of points.
- modfunc_op15: torch.onnx.export(export_modules_as_functions=...): the
  conv-BN-act, squeeze-excitation and residual blocks as ONNX local functions
  (FunctionProto, domain "__main__"), a block function calling the others.
- train_bn_op14: exported with training=TrainingMode.TRAINING:
  BatchNormalization with training_mode=1 (batch statistics, three outputs),
  batch of 4.
- noconstfold_op9: do_constant_folding=False at opset 9: a transformer layer
  whose Linear weights reach MatMul through Transpose nodes, LayerNorm as
  ReduceMean/Sub/Pow/Sqrt/Div, torch.arange spelled at opset 9 (no Range),
  the reshapes from unfolded Shape chains; symbolic N and S.
- paddle_dbnet_dynhw_op11: an onnx.helper graph as paddle2onnx writes a PP-OCR
  DB text detector: conv-BN with HardSwish spelled x * Clip(x + 3, 0, 6) / 6,
  HardSigmoid(0.2, 0.5) squeeze-excitation, an FPN with nearest Resize to sizes
  from Shape (empty roi and scales), ConvTranspose x2 twice, Sigmoid; symbolic
  N, H, W.
- postproc_select_op13: score-map post-processing: masked_select (NonZero,
  GatherND), argsort descending (TopK with k from Shape), bucketize (Where,
  ConstantOfShape), nan_to_num (IsNaN, IsInf), fmod and remainder (Mod
  fmod=1, Floor); outputs of data-dependent length.
- unet3d_op13: a 3-D UNet: Conv3d, InstanceNorm3d, MaxPool3d with
  return_indices (MaxPool Indices turned into per-plane indices by Slice/Sub,
  an int64 output), ConvTranspose3d with output_padding, trilinear Upsample
  (5-D Resize); symbolic N, D, H, W.
- relpos_dynhw_op13: attention over a patch grid of symbolic size with a
  relative position bias computed at run time: Range, Expand, int64
  Sub/Add/Mul, Clip on int64, Gather from a learned table, a local-window mask
  by Where; symbolic N, H, W.
- seq_split_op13: a scripted loop over torch.split chunks appended to a list
  and concatenated (SplitToSequence, SequenceLength, SequenceAt, SequenceEmpty,
  SequenceInsert, ConcatFromSequence around a Loop); symbolic N and T.
- gridsample_modes_op16: F.grid_sample with nearest/reflection/align_corners,
  bicubic/border and bilinear/zeros on a flow predicted by a small conv net;
  symbolic N.
- realesrgan_x2_dynhw_op11: Real-ESRGAN's x2 model: pixel_unshuffle of the
  input (6-D Reshape/Transpose with sizes from Shape), RRDB-style dense blocks
  (LeakyReLU 0.2, residual scale 0.2), nearest x2 upsampling twice; symbolic
  N, H, W.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

MODELS = ["fastrcnn_roipool_op11", "paddle_unpool_op11", "det_metric_op11", "voxel_unique_op16", "modfunc_op15",
          "train_bn_op14", "noconstfold_op9", "paddle_dbnet_dynhw_op11", "postproc_select_op13", "unet3d_op13",
          "relpos_dynhw_op13", "seq_split_op13", "gridsample_modes_op16", "realesrgan_x2_dynhw_op11"]


def _torch():
    import torch
    return torch


def randomise_norms(model):
    """Random BatchNorm statistics and affines, random LayerNorm/GroupNorm/InstanceNorm affines."""
    torch = _torch()
    nn = torch.nn
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
                              nn.InstanceNorm3d)) and getattr(m, "weight", None) is not None:
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
    return model


def graph_builder(seed):
    """(inits, nodes, const, node, rng) for onnx.helper graphs."""
    from onnx import helper, numpy_helper
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, name=kw.pop("name", outs[0]), **kw))
        return outs[0]

    return inits, nodes, const, node, np.random.default_rng(seed)


# ------------------------------------------------------------------ Fast R-CNN RoI pooling

def fastrcnn_roipool():
    torch = _torch()
    nn = torch.nn
    import torchvision

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
            self.fc = nn.Sequential(nn.Linear(32 * 4 * 4, 64), nn.ReLU())
            self.cls = nn.Linear(64, 5)
            self.box = nn.Linear(64, 20)

        def forward(self, image, rois):
            p = torchvision.ops.roi_pool(self.body(image), rois, (4, 4), 0.25)
            h = self.fc(p.flatten(1))
            return torch.softmax(self.cls(h), -1), self.box(h)

    return Net()


def roi_inputs(rng, alt):
    k = 11 if alt else 6
    xy = rng.uniform(0, 40, (k, 2))
    wh = rng.uniform(6, 24, (k, 2))
    rois = np.concatenate([np.zeros((k, 1)), xy, np.minimum(xy + wh, 63)], 1)
    return {"image": rng.random((1, 3, 64, 64)).astype(np.float32), "rois": rois.astype(np.float32)}


# ------------------------------------------------------------------ paddle2onnx SegNet with MaxUnpool (helper)

def paddle_unpool_op11():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(11)

    def conv_bn_relu(x, tag, ci, co):
        w = const(f"{tag}.w_0", (rng.standard_normal((co, ci, 3, 3)) / math.sqrt(9 * ci)).astype(np.float32))
        y = node("Conv", [x, w], [f"p2o.Conv.{tag}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1],
                 dilations=[1, 1], group=1)
        bn = [const(f"{tag}.bn.{k}", v.astype(np.float32)) for k, v in (
            ("w_0", rng.uniform(0.5, 1.5, co)), ("b_0", rng.uniform(-0.2, 0.2, co)),
            ("w_1", rng.uniform(-0.2, 0.2, co)), ("w_2", rng.uniform(0.5, 2.0, co)))]
        y = node("BatchNormalization", [y] + bn, [f"p2o.BatchNormalization.{tag}"], epsilon=1e-5, momentum=0.9)
        return node("Relu", [y], [f"p2o.Relu.{tag}"])

    x = conv_bn_relu("x", "0", 3, 8)                                                    # [N, 8, 32, 32]
    p1 = node("MaxPool", [x], ["p2o.MaxPool.0", "p2o.MaxPool.1"], kernel_shape=[2, 2], strides=[2, 2],
              pads=[0, 0, 0, 0])
    y = conv_bn_relu(p1, "1", 8, 16)                                                    # [N, 16, 16, 16]
    p2 = node("MaxPool", [y], ["p2o.MaxPool.2", "p2o.MaxPool.3"], kernel_shape=[2, 2], strides=[2, 2],
              pads=[0, 0, 0, 0])
    z = conv_bn_relu(p2, "2", 16, 16)                                                   # [N, 16, 8, 8]
    # paddle's unpool with output_size: MaxUnpool with the shape of the pooled input.
    shp = node("Shape", [y], ["p2o.Shape.0"])
    u2 = node("MaxUnpool", [z, "p2o.MaxPool.3", shp], ["p2o.MaxUnpool.0"], kernel_shape=[2, 2], strides=[2, 2],
              pads=[0, 0, 0, 0])
    z = conv_bn_relu(u2, "3", 16, 8)                                                    # [N, 8, 16, 16]
    u1 = node("MaxUnpool", [z, "p2o.MaxPool.1"], ["p2o.MaxUnpool.1"], kernel_shape=[2, 2], strides=[2, 2])
    w = const("4.w_0", (rng.standard_normal((3, 8, 3, 3)) / math.sqrt(72)).astype(np.float32))
    b = const("4.b_0", (rng.standard_normal(3) * 0.1).astype(np.float32))
    node("Conv", [u1, w, b], ["save_infer_model/scale_0.tmp_0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    g = helper.make_graph(nodes, "paddle-onnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                               [-1, 3, 32, 32])],
                          [helper.make_tensor_value_info("save_infer_model/scale_0.tmp_0", TensorProto.FLOAT,
                                                         [-1, 3, 32, 32])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], producer_name="PaddlePaddle")
    m.ir_version = 6
    return m


# ------------------------------------------------------------------ metric learning + Det

def det_metric():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU())
            self.lp = nn.LPPool2d(2, 2)
            self.c2 = nn.Conv2d(16, 64, 3, 1, 1)
            self.emb = nn.Linear(32, 16)
            self.protos = nn.Parameter(torch.randn(10, 16))
            self.geo = nn.Linear(16, 9)

        def forward(self, x):
            h = F.glu(self.c2(self.lp(self.c1(x))), 1)              # [N, 32, 16, 16]
            e = self.emb(h.mean((2, 3)))
            z = F.normalize(e, dim=1)
            d = torch.cdist(z.unsqueeze(1), F.normalize(self.protos, dim=1).unsqueeze(0)).squeeze(1)
            logits = -4 * d
            energy = torch.logsumexp(logits, 1)
            var, mean = torch.var_mean(e, 1, unbiased=True)
            m = self.geo(e).view(-1, 3, 3) * 0.3 + torch.eye(3)
            return logits, energy, var, mean, torch.det(m)

    return Net()


# ------------------------------------------------------------------ voxel unique

def voxel_unique():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16))

        def forward(self, points, feats):
            v = torch.floor(points / 0.5).long()
            key = v[:, 0] * 64 + v[:, 1] * 8 + v[:, 2]
            u, inv, cnt = torch.unique(key, sorted=True, return_inverse=True, return_counts=True)
            h = self.mlp(feats)
            s = torch.zeros(u.shape[0], 16).scatter_add(0, inv.unsqueeze(1).expand(-1, 16), h)
            return u, s / cnt.unsqueeze(1).float(), cnt

    return Net()


def voxel_inputs(rng, alt):
    p = 300 if alt else 200
    return {"points": rng.uniform(0, 4, (p, 3)).astype(np.float32),
            "feats": rng.standard_normal((p, 4)).astype(np.float32)}


# ------------------------------------------------------------------ modules as ONNX functions

class _Fn:
    """Module classes exported as ONNX local functions (set by modfunc)."""
    classes = set()


def modfunc():
    torch = _torch()
    nn = torch.nn

    class ConvBNAct(nn.Module):
        def __init__(self, i, o, s=1):
            super().__init__()
            self.conv = nn.Conv2d(i, o, 3, s, 1, bias=False)
            self.bn = nn.BatchNorm2d(o)
            self.act = nn.Hardswish()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc1 = nn.Conv2d(c, c // 4, 1)
            self.fc2 = nn.Conv2d(c // 4, c, 1)

        def forward(self, x):
            s = x.mean((2, 3), keepdim=True)
            return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.a = ConvBNAct(c, c)
            self.b = ConvBNAct(c, c)
            self.se = SE(c)

        def forward(self, x):
            return x + self.se(self.b(self.a(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = ConvBNAct(3, 16, 2)
            self.b1 = Block(16)
            self.down = ConvBNAct(16, 32, 2)
            self.b2 = Block(32)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            return self.fc(self.b2(self.down(self.b1(self.stem(x)))).mean((2, 3)))

    _Fn.classes = {ConvBNAct, SE, Block}
    return Net()


# ------------------------------------------------------------------ training-mode BatchNorm

def train_bn():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(),
                                   nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
            self.fc = nn.Linear(32, 6)

        def forward(self, x):
            return self.fc(self.f(x).mean((2, 3)))

    return Net()


# ------------------------------------------------------------------ no constant folding, opset 9

def noconstfold():
    torch = _torch()
    nn = torch.nn

    class Layer(nn.Module):
        def __init__(self, d=32, h=4):
            super().__init__()
            self.h = h
            self.pos = nn.Embedding(64, d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.ff1, self.ff2 = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)
            self.head = nn.Linear(d, 5)

        def forward(self, x):
            n, s, d = x.shape
            x = x + self.pos(torch.arange(s))
            y = self.ln1(x)

            def heads(t):
                return t.view(n, s, self.h, d // self.h).transpose(1, 2)
            a = torch.softmax(heads(self.q(y)) @ heads(self.k(y)).transpose(-1, -2) / math.sqrt(d // self.h), -1)
            x = x + self.o((a @ heads(self.v(y))).transpose(1, 2).reshape(n, s, d))
            x = x + self.ff2(nn.functional.gelu(self.ff1(self.ln2(x))))
            return self.head(x)

    return Layer()


# ------------------------------------------------------------------ paddle2onnx DBNet (helper)

def paddle_dbnet_op11():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(12)
    cnt = {}

    def name(op):
        i = cnt.get(op, 0)
        cnt[op] = i + 1
        return f"p2o.{op}.{i}"

    def conv(x, ci, co, k=3, s=1, g=1, bias=False):
        w = const(name("w"), (rng.standard_normal((co, ci // g, k, k)) / math.sqrt(k * k * ci / g)).astype(
            np.float32))
        ins = [x, w] + ([const(name("b"), (rng.standard_normal(co) * 0.05).astype(np.float32))] if bias else [])
        return node("Conv", ins, [name("Conv")], kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4, group=g,
                    dilations=[1, 1])

    def bn(x, c):
        ps = [const(name("bn"), v.astype(np.float32)) for v in (
            rng.uniform(0.5, 1.5, c), rng.uniform(-0.2, 0.2, c), rng.uniform(-0.2, 0.2, c), rng.uniform(0.5, 2, c))]
        return node("BatchNormalization", [x] + ps, [name("BatchNormalization")], epsilon=1e-5, momentum=0.9)

    def hswish(x):  # paddle2onnx below opset 14: x * clip(x + 3, 0, 6) / 6
        a = node("Add", [x, const(name("c"), np.array(3, np.float32))], [name("Add")])
        c = node("Clip", [a, const(name("c"), np.array(0, np.float32)), const(name("c"), np.array(6, np.float32))],
                 [name("Clip")])
        m = node("Mul", [x, c], [name("Mul")])
        return node("Div", [m, const(name("c"), np.array(6, np.float32))], [name("Div")])

    def cbh(x, ci, co, k=3, s=1, g=1):
        return hswish(bn(conv(x, ci, co, k, s, g), co))

    def se(x, c):
        p = node("GlobalAveragePool", [x], [name("GlobalAveragePool")])
        p = node("Relu", [conv(p, c, c // 4, 1, bias=True)], [name("Relu")])
        p = node("HardSigmoid", [conv(p, c // 4, c, 1, bias=True)], [name("HardSigmoid")], alpha=0.2, beta=0.5)
        return node("Mul", [x, p], [name("Mul")])

    def up_to(x, ref):  # nearest Resize to the Shape of ref (paddle's interpolate with out_shape)
        sh = node("Shape", [ref], [name("Shape")])
        hw = node("Slice", [sh, const(name("c"), np.array([2], np.int64)), const(name("c"), np.array([4], np.int64)),
                            const(name("c"), np.array([0], np.int64))], [name("Slice")])
        xs = node("Shape", [x], [name("Shape")])
        nc = node("Slice", [xs, const(name("c"), np.array([0], np.int64)), const(name("c"), np.array([2], np.int64)),
                            const(name("c"), np.array([0], np.int64))], [name("Slice")])
        sizes = node("Concat", [nc, hw], [name("Concat")], axis=0)
        return node("Resize", [x, const(name("roi"), np.array([], np.float32)),
                               const(name("scales"), np.array([], np.float32)), sizes], [name("Resize")],
                    mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    x = cbh("x", 3, 16, s=2)                                            # /2
    c2 = se(cbh(cbh(x, 16, 16, g=16), 16, 24, 1, 2), 24)               # /4
    c3 = cbh(cbh(c2, 24, 24, g=24), 24, 32, 1, 2)                      # /8
    c4 = se(cbh(cbh(c3, 32, 32, g=32), 32, 48, 1, 2), 48)              # /16
    i4 = conv(c4, 48, 32, 1)
    i3 = node("Add", [conv(c3, 32, 32, 1), up_to(i4, c3)], [name("Add")])
    i2 = node("Add", [conv(c2, 24, 32, 1), up_to(i3, c2)], [name("Add")])
    p4 = up_to(conv(i4, 32, 8), i2)
    p3 = up_to(conv(i3, 32, 8), i2)
    p2 = conv(i2, 32, 8)
    f = node("Concat", [p4, p3, p2], [name("Concat")], axis=1)          # [N, 24, H/4, W/4]
    h = node("Relu", [bn(conv(f, 24, 8), 8)], [name("Relu")])
    wt = const(name("wt"), (rng.standard_normal((8, 8, 2, 2)) * 0.3).astype(np.float32))
    h = node("ConvTranspose", [h, wt, const(name("b"), np.zeros(8, np.float32))], [name("ConvTranspose")],
             kernel_shape=[2, 2], strides=[2, 2], dilations=[1, 1], group=1)
    h = node("Relu", [bn(h, 8)], [name("Relu")])
    wt2 = const(name("wt"), (rng.standard_normal((8, 1, 2, 2)) * 0.3).astype(np.float32))
    h = node("ConvTranspose", [h, wt2, const(name("b"), np.zeros(1, np.float32))], [name("ConvTranspose")],
             kernel_shape=[2, 2], strides=[2, 2])
    node("Sigmoid", [h], ["sigmoid_0.tmp_0"])
    g = helper.make_graph(nodes, "paddle-onnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                               [-1, 3, -1, -1])],
                          [helper.make_tensor_value_info("sigmoid_0.tmp_0", TensorProto.FLOAT, [-1, 1, -1, -1])],
                          inits)
    # paddle2onnx writes -1 for unknown sizes: rewritten here to dim_param names,
    # as the tools we compare with (and ONNX Runtime) read -1 as a fixed size otherwise.
    for vi in list(g.input) + list(g.output):
        for i, d in enumerate(vi.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value < 0:
                d.dim_param = ["N", "C", "H", "W"][i]
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], producer_name="PaddlePaddle")
    m.ir_version = 6
    return m


# ------------------------------------------------------------------ post-processing selection

def postproc_select():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.score = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(), nn.Conv2d(8, 1, 3, 1, 1))
            self.register_buffer("bounds", torch.tensor([0.6, 0.7, 0.8, 0.9]))

        def forward(self, x):
            flat = torch.sigmoid(self.score(x)).flatten()
            sel = torch.masked_select(flat, flat > 0.5)
            top = sel[torch.argsort(sel, descending=True)]
            bins = torch.bucketize(top, self.bounds)
            clean = torch.nan_to_num(torch.log(top - 0.6), nan=0.0, neginf=-50.0)
            return top, bins, clean, torch.fmod(top * 10, 0.7), torch.remainder(-top * 10, 0.7)

    return Net()


# ------------------------------------------------------------------ 3-D UNet

def unet3d():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    def blk(i, o):
        return nn.Sequential(nn.Conv3d(i, o, 3, 1, 1), nn.InstanceNorm3d(o, affine=True), nn.LeakyReLU(0.01))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1, self.e2 = blk(1, 8), blk(8, 16)
            self.pool = nn.MaxPool3d(2, return_indices=True)
            self.up = nn.ConvTranspose3d(16, 8, 3, 2, 1, output_padding=1)
            self.d1 = blk(16, 8)
            self.side = nn.Conv3d(16, 8, 1)
            self.head = nn.Conv3d(8, 2, 1)

        def forward(self, x):
            a = self.e1(x)
            p, idx = self.pool(a)
            b = self.e2(p)
            y = self.d1(torch.cat([self.up(b), a], 1))
            y = y + F.interpolate(self.side(b), scale_factor=2.0, mode="trilinear", align_corners=False)
            return self.head(y), idx

    return Net()


# ------------------------------------------------------------------ relative position bias, dynamic H/W

def relpos():
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self, d=32, heads=4, m=8):
            super().__init__()
            self.m, self.h = m, heads
            self.patch = nn.Conv2d(3, d, 4, 4)
            self.table = nn.Parameter(torch.randn((2 * m - 1) ** 2, heads) * 0.5)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, 7)

        def forward(self, image):
            f = self.patch(image)
            n, c, h, w = f.shape
            t = self.ln(f.flatten(2).transpose(1, 2))                  # [N, L, C]
            gy = torch.arange(h).unsqueeze(1).expand(h, w).reshape(-1)
            gx = torch.arange(w).unsqueeze(0).expand(h, w).reshape(-1)
            dy = (gy.unsqueeze(1) - gy.unsqueeze(0)).clamp(-self.m + 1, self.m - 1) + self.m - 1
            dx = (gx.unsqueeze(1) - gx.unsqueeze(0)).clamp(-self.m + 1, self.m - 1) + self.m - 1
            bias = self.table[dy * (2 * self.m - 1) + dx].permute(2, 0, 1)   # [heads, L, L]
            far = (gy.unsqueeze(1) - gy.unsqueeze(0)).abs() + (gx.unsqueeze(1) - gx.unsqueeze(0)).abs() > 5
            bias = torch.where(far, torch.full_like(bias, -1e4), bias)
            q, k, v = self.qkv(t).view(n, h * w, 3, self.h, c // self.h).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // self.h) + bias, -1)
            o = self.proj((a @ v).transpose(1, 2).reshape(n, h * w, c))
            return self.head((t + o).mean(1))

    return Net()


# ------------------------------------------------------------------ scripted split loop (sequences)

def seq_split():
    torch = _torch()
    nn = torch.nn

    @torch.jit.script
    def chunks(x, w):
        xs = torch.split(x, 4, 1)
        out = []
        for t in xs:
            out.append(torch.tanh(t) * w)
        return torch.cat(out, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Conv1d(6, 12, 3, padding=1)
            self.w = nn.Parameter(torch.randn(1, 4, 1))
            self.post = nn.Conv1d(12, 3, 1)

        def forward(self, x):
            return self.post(chunks(self.pre(x), self.w))

    return Net()


def seq_inputs(rng, alt):
    n, t = (2, 13) if alt else (1, 20)
    return {"x": rng.standard_normal((n, 6, t)).astype(np.float32)}


# ------------------------------------------------------------------ grid_sample modes

def gridsample_modes():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.flow = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.ReLU(), nn.Conv2d(16, 2, 3, 1, 1), nn.Tanh())
            self.out = nn.Conv2d(9, 4, 3, 1, 1)

        def forward(self, x):
            n, _, h, w = x.shape
            ys = torch.linspace(-1, 1, h).view(1, h, 1, 1).expand(n, h, w, 1)
            xs = torch.linspace(-1, 1, w).view(1, 1, w, 1).expand(n, h, w, 1)
            grid = torch.cat([xs, ys], 3) * 1.2 + self.flow(x).permute(0, 2, 3, 1) * 0.3
            a = F.grid_sample(x, grid, mode="nearest", padding_mode="reflection", align_corners=True)
            b = F.grid_sample(x, grid, mode="bicubic", padding_mode="border", align_corners=False)
            c = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
            return self.out(torch.cat([a, b, c], 1))

    return Net()


# ------------------------------------------------------------------ Real-ESRGAN x2 (pixel_unshuffle)

def realesrgan_x2():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Dense(nn.Module):
        def __init__(self, c=16, g=8):
            super().__init__()
            self.cs = nn.ModuleList(nn.Conv2d(c + i * g, g if i < 3 else c, 3, 1, 1) for i in range(4))

        def forward(self, x):
            fs = [x]
            for i, cv in enumerate(self.cs):
                y = cv(torch.cat(fs, 1))
                if i < 3:
                    fs.append(F.leaky_relu(y, 0.2))
            return x + 0.2 * y

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Conv2d(12, 16, 3, 1, 1)
            self.body = nn.Sequential(Dense(), Dense())
            self.body_end = nn.Conv2d(16, 16, 3, 1, 1)
            self.up1 = nn.Conv2d(16, 16, 3, 1, 1)
            self.up2 = nn.Conv2d(16, 16, 3, 1, 1)
            self.last = nn.Conv2d(16, 3, 3, 1, 1)

        def forward(self, x):
            f = self.first(F.pixel_unshuffle(x, 2))
            f = f + self.body_end(self.body(f))
            f = F.leaky_relu(self.up1(F.interpolate(f, scale_factor=2.0, mode="nearest")), 0.2)
            f = F.leaky_relu(self.up2(F.interpolate(f, scale_factor=2.0, mode="nearest")), 0.2)
            return self.last(f)

    return Net()


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: a.astype(np.float32)}
    return gen


def _nchw(*names):
    return {n: {0: "batch", 2: "height", 3: "width"} for n in names}


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz, more torch.onnx.export arguments)
SPECS = {
    "fastrcnn_roipool_op11": (fastrcnn_roipool, 11, roi_inputs, ["scores", "deltas"],
                              {"rois": {0: "rois"}, "scores": {0: "rois"}, "deltas": {0: "rois"}}, True, {}),
    "paddle_unpool_op11": ("helper", 11, _img("x", (1, 3, 32, 32), (2, 3, 32, 32)), None, None, True, {}),
    "det_metric_op11": (det_metric, 11, _img("x", (1, 3, 32, 32), (3, 3, 32, 32), uniform=False),
                        ["logits", "energy", "var", "mean", "det"],
                        {"x": {0: "batch"}, "logits": {0: "batch"}, "energy": {0: "batch"}, "var": {0: "batch"},
                         "mean": {0: "batch"}, "det": {0: "batch"}}, True, {}),
    "voxel_unique_op16": (voxel_unique, 16, voxel_inputs, ["voxels", "means", "counts"],
                          {"points": {0: "points"}, "feats": {0: "points"}, "voxels": {0: "voxels"},
                           "means": {0: "voxels"}, "counts": {0: "voxels"}}, True, {}),
    "modfunc_op15": (modfunc, 15, _img("x", (1, 3, 32, 32), uniform=False), ["logits"], None, False,
                     {"export_modules_as_functions": "classes"}),
    "train_bn_op14": (train_bn, 14, _img("x", (4, 3, 16, 16), uniform=False), ["logits"], None, False,
                      {"training": "TRAINING"}),
    "noconstfold_op9": (noconstfold, 9, _img("x", (1, 10, 32), (2, 7, 32), uniform=False), ["logits"],
                        {"x": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}, True,
                        {"do_constant_folding": False}),
    "paddle_dbnet_dynhw_op11": ("helper", 11, _img("x", (1, 3, 64, 96), (2, 3, 80, 48)), None, None, True, {}),
    "postproc_select_op13": (postproc_select, 13, _img("x", (1, 3, 16, 16), uniform=False),
                             ["top", "bins", "logs", "fmod", "rem"], None, False, {}),
    "unet3d_op13": (unet3d, 13, _img("x", (1, 1, 8, 16, 16), (2, 1, 12, 8, 20), uniform=False), ["logits", "pool_idx"],
                    {"x": {0: "batch", 2: "depth", 3: "height", 4: "width"},
                     "logits": {0: "batch", 2: "depth", 3: "height", 4: "width"},
                     "pool_idx": {0: "batch", 2: "d2", 3: "h2", 4: "w2"}}, True, {}),
    "relpos_dynhw_op13": (relpos, 13, _img("image", (1, 3, 32, 48), (2, 3, 40, 24)), ["logits"],
                          {"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}}, True, {}),
    "seq_split_op13": (seq_split, 13, seq_inputs, ["y"], {"x": {0: "batch", 2: "time"}, "y": {0: "batch", 2: "time"}},
                       True, {}),
    "gridsample_modes_op16": (gridsample_modes, 16, _img("x", (1, 3, 24, 24), (2, 3, 24, 24)), ["out"],
                              {"x": {0: "batch"}, "out": {0: "batch"}}, True, {}),
    "realesrgan_x2_dynhw_op11": (realesrgan_x2, 11, _img("x", (1, 3, 32, 48), (2, 3, 24, 20)), ["y"],
                                 _nchw("x", "y"), True, {}),
}

HELPER = {"paddle_unpool_op11": paddle_unpool_op11, "paddle_dbnet_dynhw_op11": paddle_dbnet_op11}


def vary(a, rng, name, base):
    """Samples 1..3: float inputs with noise, integer and bool inputs as drawn (fresh draws)."""
    if name == "rois":
        return base[name]
    if a.dtype.kind == "f":
        return (a + rng.standard_normal(a.shape).astype(np.float32) * 0.05 * (float(np.abs(a).max()) or 1)).astype(
            a.dtype)
    return base[name]


# Inputs whose leading axis is not a batch (a list of boxes or points): saved with
# a leading axis of 1, which warboy's data layout reads as one whole input (the
# ortcheck command drops it again for ONNX Runtime).
WHOLE = {"rois", "points", "feats"}


def _save(path, feeds):
    np.savez(path, **{k: (v[None] if k in WHOLE else v) for k, v in feeds.items()})


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt, kw = SPECS[name]
    rng = np.random.default_rng(31)
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
        model = randomise_norms(builder())
        args = dict(kw)
        if args.get("training") == "TRAINING":
            args["training"] = torch.onnx.TrainingMode.TRAINING
            model.train()
        else:
            model.eval()
        if args.get("export_modules_as_functions") == "classes":
            args["export_modules_as_functions"] = _Fn.classes
        xs = [torch.from_numpy(v) for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes, **args)
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(samples):
        _save(os.path.join(d, f"s{i}.npz"), s)
    _save(os.path.join(out, "data", name + ".in.npz"), samples[0])
    if has_alt:
        _save(os.path.join(out, "data", name + ".alt.npz"), gen(rng, True))
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, opset {opset}", flush=True)
    return path


def main(args):
    """Export args.models (default MODELS) to args.out (default
    out/bench-models-unseen10); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen10")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "ortcheck":
        sys.exit(exportlib.ortcheck_main(a[1:]))
    print(__doc__)
    sys.exit(2)
