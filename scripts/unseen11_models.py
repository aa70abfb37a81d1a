#!/usr/bin/python3
"""The --unseen11 export set (sixteenth session): model families and exporter
spellings none of the earlier sets (--unseen .. --unseen10, --detection, --audio,
--darknet) has, for triage of the whole workflow (scripts/triage_unseen11.sh:
inspect, run against ONNX Runtime, quantize, int8 against ONNX Runtime, sim,
bench cpu --ort).

    /usr/bin/python3 scripts/export_benchmodels.py --unseen11 [--models a,b] [--out DIR]
    /usr/bin/python3 scripts/unseen11_models.py export [--models a,b] [--out DIR]      (the same)
    /usr/bin/python3 scripts/unseen11_models.py ortcheck MODEL.onnx INPUT.npz OURS.npz [MIN_SQNR] [--threads T]

Random weights (normalisation statistics randomised), nothing downloaded. Every
model NAME is written as DIR/NAME.onnx (default DIR out/bench-models-unseen11) with
four samples DIR/data/NAME/s{0..3}.npz (one array per input name), DIR/data/NAME.in.npz
(sample 0) and, for models with symbolic sizes, DIR/data/NAME.alt.npz (an input at
other sizes).

The models (MODELS below; a suffix _opN is the export opset):
- optional_script_op15: a torch.jit.script module with an Optional[Tensor]
  argument (`if bias is not None`): an optional-typed graph input,
  OptionalHasElement, Not, an If whose then-branch reads OptionalGetElement;
  symbolic N.
- cls_loss_op13: a classifier exported with its labels, as Hugging Face models
  return (loss, logits): F.cross_entropy with ignore_index=-100 and class
  weights (SoftmaxCrossEntropyLoss), F.nll_loss(reduction="sum") of a
  log_softmax (NegativeLogLikelihoodLoss); int64 labels; symbolic N.
- qresnet18_perchan_op13: torchvision's quantizable ResNet-18 quantized by
  PyTorch with per-channel weights (qnnpack engine, HistogramObserver
  activations): QuantizeLinear/DequantizeLinear with an axis on int8 weights,
  the quantized residual Add.
- qat_fakequant_op13: a QAT-prepared (not converted) CNN exported as it trains:
  FakeQuantize modules with per-channel symmetric int8 weights
  (QuantizeLinear/DequantizeLinear with axis on float weights) and uint8
  activations, fused Conv-BN-ReLU of torch.ao.nn.intrinsic.qat.
- loop_cat_script_op13: torch.jit.script loops: a for loop over an int64
  steps input growing a tensor by torch.cat each turn (a loop-carried value
  whose shape changes), a while loop with a data-dependent stop; symbolic N.
- misc_elem_dyn_op11: Hardshrink/Softshrink, round, sign, ceil, log1p,
  floor, atan, lerp, addcmul, softmin, torch.eye of a symbolic size
  (EyeLike), bool xor and not, an int64 count; symbolic N and K.
- fp16_full_op13: a CNN converted to float16 as onnxconverter-common writes it
  without keep_io_types: float16 weights, input and output.
- double_op13: a model exported after model.double(): float64 weights, input
  and output (Linear, LayerNorm spelled out, Tanh, Sigmoid; the operators ONNX
  Runtime's CPU provider has in float64).
- ort_ext_cnn_op13: a CNN saved by ONNX Runtime's optimizer at the "extended"
  level (optimized_model_filepath), as users ship it: com.microsoft FusedConv
  with activations, FusedGemm, BN folded.
- ort_ext_bert_op13: a small BERT (int64 input_ids, token_type_ids,
  attention_mask, symbolic N and S) saved by ONNX Runtime's "extended"
  optimizer: com.microsoft SkipLayerNormalization, BiasGelu/Gelu,
  Attention/FusedMatMul, whatever its fusions write.
- ort_qop_squeeze_op13: an onnx.helper graph as onnxruntime.quantization's
  QOperator format writes a SqueezeNet (U8S8): QLinearConv, MaxPool on uint8,
  com.microsoft QLinearConcat, QLinearAveragePool, QLinearGlobalAveragePool,
  QGemm, QLinearSoftmax, DequantizeLinear.
- caffe2_lp_op11: an onnx.helper graph of the norm and pool operators older
  converters (caffe2, keras2onnx) write: LpNormalization, LpPool (p 2),
  GlobalLpPool (p 1 and 2), MeanVarianceNormalization; symbolic N.
- tf2onnx_revseq_op13: an onnx.helper graph as tf2onnx writes
  tf.reverse_sequence: ReverseSequence (time-major and batch-major) with int32
  sequence lengths, around Conv1d; symbolic N.
- passthrough_io_op13: an onnx.helper graph with inputs of four dtypes
  (float32, int32, bool, uint8) whose outputs include a graph input itself (no
  node), an initializer, an int32, a uint8 and a bool result; symbolic N.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402  (beside this script)

MODELS = ["optional_script_op15", "cls_loss_op13", "qresnet18_perchan_op13", "qat_fakequant_op13",
          "loop_cat_script_op13", "misc_elem_dyn_op11", "fp16_full_op13", "double_op13", "ort_ext_cnn_op13",
          "ort_ext_bert_op13", "ort_qop_squeeze_op13", "caffe2_lp_op11", "tf2onnx_revseq_op13",
          "passthrough_io_op13"]


def _torch():
    import torch
    return torch


def randomise_norms(model):
    """Random BatchNorm statistics and affines, random LayerNorm affines."""
    torch = _torch()
    nn = torch.nn
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)) and getattr(m, "weight", None) is not None:
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


def small_cnn(c=3, n=10):
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(c, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU())
            self.b1 = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU6(),
                                    nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16))
            self.b2 = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.SiLU(),
                                    nn.Conv2d(32, 32, 1), nn.Hardswish(), nn.Conv2d(32, 32, 3, 1, 1, groups=32),
                                    nn.LeakyReLU(0.1))
            self.fc1 = nn.Linear(32, 24)
            self.fc2 = nn.Linear(24, n)

        def forward(self, x):
            x = self.stem(x)
            x = torch.relu(x + self.b1(x))
            x = self.b2(x).mean((2, 3))
            return self.fc2(torch.relu(self.fc1(x)))
    return Net()


# ------------------------------------------------------------------ torch builders

def optional_script():
    torch = _torch()
    nn = torch.nn
    from typing import Optional

    class Opt(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, 1, 1)
            self.fc = nn.Linear(8, 6)

        def forward(self, x, bias: Optional[torch.Tensor] = None):
            y = self.fc(torch.relu(self.conv(x)).mean((2, 3)))
            if bias is not None:
                y = y + bias
            return y
    return torch.jit.script(Opt())


def cls_loss():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Cls(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 7))
            self.register_buffer("w", torch.linspace(0.5, 1.5, 7))

        def forward(self, x, labels):
            logits = self.body(x)
            loss = F.cross_entropy(logits, labels, weight=self.w, ignore_index=-100)
            nll = F.nll_loss(F.log_softmax(logits, 1), labels.clamp(min=0), reduction="sum")
            return loss, nll, logits
    return Cls()


def cls_inputs(rng, alt):
    n = 5 if alt else 8
    lab = rng.integers(0, 7, n).astype(np.int64)
    lab[1] = -100
    return {"x": rng.standard_normal((n, 32)).astype(np.float32), "labels": lab}


def qresnet18_perchan():
    torch = _torch()
    tq = torch.ao.quantization
    from torchvision.models.quantization import resnet18
    torch.backends.quantized.engine = "qnnpack"
    m = randomise_norms(resnet18(quantize=False)).eval()
    m.fuse_model()
    m.qconfig = tq.QConfig(activation=tq.HistogramObserver.with_args(reduce_range=False),
                           weight=tq.default_per_channel_weight_observer)
    tq.prepare(m, inplace=True)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for _ in range(4):
            m(torch.rand(2, 3, 64, 64, generator=g))
    tq.convert(m, inplace=True)
    return m


def qat_fakequant():
    torch = _torch()
    nn = torch.nn
    tq = torch.ao.quantization

    class Q(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
            self.c1, self.b1, self.r1 = nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU()
            self.c2, self.b2, self.r2 = nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.c3, self.b3 = nn.Conv2d(32, 32, 3, 1, 1, groups=4), nn.BatchNorm2d(32)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.quant(x)
            x = self.pool(self.r2(self.b2(self.c2(self.r1(self.b1(self.c1(x)))))))
            x = self.b3(self.c3(x))
            x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
            return self.dequant(self.fc(x))
    m = randomise_norms(Q()).train()
    m.qconfig = tq.QConfig(
        activation=tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                             reduce_range=False),
        weight=tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-128,
                                         quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    tq.fuse_modules_qat(m, [["c1", "b1", "r1"], ["c2", "b2", "r2"], ["c3", "b3"]], inplace=True)
    tq.prepare_qat(m, inplace=True)
    g = torch.Generator().manual_seed(5)
    for _ in range(4):
        m(torch.rand(2, 3, 32, 32, generator=g))
    m.apply(tq.disable_observer)
    m.eval()
    return m


def loop_cat_script():
    torch = _torch()
    nn = torch.nn

    class Grow(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x, steps):
            out = self.fc(x)
            for _ in range(int(steps)):
                out = torch.cat([out, out[:, -1:] * 0.5 + 1.0], 1)
            y = torch.tanh(x)
            i = 0
            while bool(y.abs().sum() < 40.0) and i < 12:
                y = y * 1.5 + 0.1
                i += 1
            return out, y
    return torch.jit.script(Grow())


def loop_inputs(rng, alt):
    n = 3 if alt else 2
    return {"x": rng.standard_normal((n, 3)).astype(np.float32),
            "steps": np.array(2 if alt else 4, dtype=np.int64)}


def misc_elem():
    torch = _torch()
    nn = torch.nn
    F = nn.functional

    class Misc(nn.Module):
        def forward(self, x):
            a = F.hardshrink(x, 0.3) + F.softshrink(x, 0.2) + torch.round(x * 3) + torch.sign(x) + torch.ceil(x)
            b = torch.log1p(x.abs()) + torch.atan(x) + torch.floor(x * 2)
            e = torch.eye(x.shape[-1])
            c = torch.lerp(x, x * 2, 0.3) + torch.addcmul(x, x, x, value=0.5) + \
                F.softmin(x, -1)
            d = (x > 0) ^ (x < 0.5)
            return a + b + c @ e, d, (~d).sum(-1)
    return Misc()


def fp16_base():
    return small_cnn()


def double_model():
    torch = _torch()
    nn = torch.nn

    # Operators ONNX Runtime's CPU provider implements in float64 (not Conv, Erf).
    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 16)
            self.ln = nn.LayerNorm(16)
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            h = self.inp(x.transpose(1, 2))
            return self.fc(torch.tanh(self.ln(h)) * torch.sigmoid(h)).mean(1)
    return D().double()


def bert_small():
    torch = _torch()
    nn = torch.nn
    F = nn.functional
    H, NH, V = 64, 4, 300

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
            self.ln1, self.ln2 = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
            self.i, self.out = nn.Linear(H, 4 * H), nn.Linear(4 * H, H)

        def split(self, t):
            n, s, _ = t.shape
            return t.view(n, s, NH, H // NH).permute(0, 2, 1, 3)

        def forward(self, x, ext):
            q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
            sc = torch.matmul(q, k.transpose(-1, -2)) / 4.0 + ext
            ctx = torch.matmul(sc.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
            ctx = ctx.view(ctx.size(0), ctx.size(1), H)
            x = self.ln1(self.o(ctx) + x)
            return self.ln2(self.out(F.gelu(self.i(x))) + x)

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word, self.pos, self.typ = nn.Embedding(V, H), nn.Embedding(64, H), nn.Embedding(2, H)
            self.ln = nn.LayerNorm(H, eps=1e-12)
            self.layers = nn.ModuleList([Layer(), Layer()])
            self.pool = nn.Linear(H, H)

        def forward(self, input_ids, token_type_ids, attention_mask):
            s = input_ids.size(1)
            pos = torch.arange(s, dtype=torch.long).unsqueeze(0)
            x = self.ln(self.word(input_ids) + self.pos(pos) + self.typ(token_type_ids))
            ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
            for layer in self.layers:
                x = layer(x, ext)
            return x, torch.tanh(self.pool(x[:, 0]))
    return Bert()


def bert_inputs(rng, alt):
    n, s = (1, 11) if alt else (2, 16)
    mask = np.ones((n, s), np.int64)
    mask[-1, s - 3:] = 0
    return {"input_ids": rng.integers(0, 300, (n, s)).astype(np.int64),
            "token_type_ids": (np.arange(s)[None].repeat(n, 0) >= s // 2).astype(np.int64),
            "attention_mask": mask}


# ------------------------------------------------------------------ conversions of torch exports

def to_fp16(path):
    """Rewrite a float32 ONNX file in float16 as onnxconverter-common's
    convert_float_to_float16(keep_io_types=False) does: float initializers,
    Constant values, graph inputs/outputs and value_info, Cast targets."""
    import onnx
    from onnx import numpy_helper, TensorProto
    m = onnx.load(path)
    g = m.graph
    for i, t in enumerate(list(g.initializer)):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for n in g.node:
        for a in n.attribute:
            if n.op_type == "Constant" and a.name == "value" and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16)))
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    onnx.checker.check_model(m)
    onnx.save(m, path)


def ort_optimize(path, level="extended"):
    """Replace PATH by the graph ONNX Runtime writes at LEVEL (tools/ort/run.js
    save_optimized: the session option optimized_model_filepath)."""
    import json
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as td:
        out = os.path.join(td, "opt.onnx")
        rp = os.path.join(td, "req.json")
        with open(rp, "w") as f:
            json.dump(dict(model=os.path.abspath(path), optimization=level, save_optimized=out, inputs=[]), f)
        r = subprocess.run(["node", os.path.join(exportlib.ROOT, "tools", "ort", "run.js"), rp],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ORT optimize: " + r.stderr.strip()[:400])
        os.replace(out, path)


# ------------------------------------------------------------------ onnx.helper graphs

def ort_qop_squeeze():
    """SqueezeNet-like QOperator graph in onnxruntime.quantization's U8S8 spelling."""
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(11)
    ms = "com.microsoft"
    u8 = lambda v: np.array(v, np.uint8)  # noqa: E731
    f32 = lambda v: np.array(v, np.float32)  # noqa: E731

    def qparams(name, s, zp):
        return const(name + "_scale", f32(s)), const(name + "_zero_point", u8(zp))

    def qconv(name, x, xq, cin, cout, k, stride, pad, yq, group=1):
        w = rng.standard_normal((cout, cin // group, k, k)).astype(np.float32) * np.sqrt(2.0 / (cin // group * k * k))
        ws = np.abs(w).reshape(cout, -1).max(1) / 127.0
        wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
        b = rng.standard_normal(cout).astype(np.float32) * 0.1
        xs = float(xq[2])
        bq = np.round(b / (xs * ws)).astype(np.int32)
        const(name + ".weight_quantized", wq)
        const(name + ".weight_scale", ws.astype(np.float32))
        const(name + ".weight_zero_point", np.zeros(cout, np.int8))
        const(name + ".bias_quantized", bq)
        return node("QLinearConv", [x, xq[0], xq[1], name + ".weight_quantized", name + ".weight_scale",
                                    name + ".weight_zero_point", yq[0], yq[1], name + ".bias_quantized"],
                    [name + "_output_0_quantized"], kernel_shape=[k, k], strides=[stride, stride],
                    pads=[pad] * 4, group=group, dilations=[1, 1])

    def qp(name, s, zp):
        sn, zn = qparams(name, s, zp)
        return sn, zn, s
    xin = qp("input", 1 / 255.0, 0)
    node("QuantizeLinear", ["input", xin[0], xin[1]], ["input_quantized"])
    a1 = qp("conv1", 0.05, 0)  # ReLU folded: zero point 0, range [0, 12.75]
    c1 = qconv("conv1", "input_quantized", xin, 3, 32, 3, 2, 1, a1)
    p1 = node("MaxPool", [c1], ["pool1_quantized"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    sq = qp("fire.squeeze", 0.06, 0)
    s1 = qconv("fire.squeeze", p1, a1, 32, 16, 1, 1, 0, sq)
    e1q = qp("fire.expand1", 0.08, 0)
    e3q = qp("fire.expand3", 0.07, 0)
    e1 = qconv("fire.expand1", s1, sq, 16, 32, 1, 1, 0, e1q)
    e3 = qconv("fire.expand3", s1, sq, 16, 32, 3, 1, 1, e3q)
    cat = qp("fire.cat", 0.08, 0)
    node("QLinearConcat", [cat[0], cat[1], e1, e1q[0], e1q[1], e3, e3q[0], e3q[1]], ["fire.cat_quantized"],
         axis=1, domain=ms)
    ap = qp("avgpool", 0.08, 0)
    node("QLinearAveragePool", ["fire.cat_quantized", cat[0], cat[1], ap[0], ap[1]], ["avgpool_quantized"],
         kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=0, domain=ms)
    cq = qp("conv2", 0.1, 0)
    c2 = qconv("conv2", "avgpool_quantized", ap, 64, 48, 3, 2, 1, cq)
    gq = qp("gap", 0.04, 0)
    node("QLinearGlobalAveragePool", [c2, cq[0], cq[1], gq[0], gq[1]], ["gap_quantized"], channels_last=0, domain=ms)
    node("Flatten", ["gap_quantized"], ["flat_quantized"], axis=1)
    w = rng.standard_normal((10, 48)).astype(np.float32) * 0.2
    ws = float(np.abs(w).max() / 127.0)
    const("fc.weight_quantized", np.clip(np.round(w / ws), -127, 127).astype(np.int8).T.copy())
    const("fc.weight_scale", f32(ws))
    const("fc.weight_zero_point", np.array(0, np.int8))
    const("fc.bias_quantized", np.round(rng.standard_normal(10) * 0.1 / (0.04 * ws)).astype(np.int32))
    fq = qp("fc", 0.15, 128)
    node("QGemm", ["flat_quantized", gq[0], gq[1], "fc.weight_quantized", "fc.weight_scale", "fc.weight_zero_point",
                   "fc.bias_quantized", fq[0], fq[1]], ["fc_quantized"], alpha=1.0, transB=0, domain=ms)
    smq = qp("softmax", 1 / 256.0, 0)
    node("QLinearSoftmax", ["fc_quantized", fq[0], fq[1], smq[0], smq[1]], ["prob_quantized"], axis=-1, opset=13,
         domain=ms)
    node("DequantizeLinear", ["prob_quantized", smq[0], smq[1]], ["prob"])
    node("DequantizeLinear", ["fc_quantized", fq[0], fq[1]], ["logits"])
    g = helper.make_graph(nodes, "ort_qop_squeeze", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                 [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 10]),
                           helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(ms, 1)],
                          producer_name="onnx.quantize", producer_version="0.1.0")
    m.ir_version = 7
    return m


def caffe2_lp():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(12)
    const("w1", (rng.standard_normal((16, 3, 3, 3)) * 0.3).astype(np.float32))
    const("b1", (rng.standard_normal(16) * 0.1).astype(np.float32))
    node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    node("LpNormalization", ["c1"], ["n1"], axis=1, p=2)
    node("LpPool", ["n1"], ["p1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], p=2)
    node("MeanVarianceNormalization", ["p1"], ["mvn"], axes=[0, 2, 3])
    const("w2", (rng.standard_normal((24, 16, 3, 3)) * 0.2).astype(np.float32))
    node("Conv", ["mvn", "w2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    node("LpNormalization", ["c2"], ["n2"], axis=-1, p=1)
    node("GlobalLpPool", ["n2"], ["g2"], p=2)
    node("GlobalLpPool", ["c2"], ["g1"], p=1)
    node("Concat", ["g2", "g1"], ["g"], axis=1)
    node("Flatten", ["g"], ["f"], axis=1)
    const("fw", (rng.standard_normal((48, 10)) * 0.2).astype(np.float32))
    const("fb", np.zeros(10, np.float32))
    node("Gemm", ["f", "fw", "fb"], ["logits"])
    node("MeanVarianceNormalization", ["logits"], ["logits_mvn"], axes=[1])
    g = helper.make_graph(nodes, "caffe2_lp", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                            ["N", 3, 24, 24])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
                           helper.make_tensor_value_info("logits_mvn", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], producer_name="caffe2")
    m.ir_version = 6
    return m


def tf2onnx_revseq():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(13)
    # x: [N, T, C] batch-major as Keras feeds it, lens int32 [N].
    node("Cast", ["lens"], ["lens64"], to=TensorProto.INT64)
    node("ReverseSequence", ["x", "lens64"], ["rev_b"], batch_axis=0, time_axis=1)
    node("Transpose", ["x"], ["x_tm"], perm=[1, 0, 2])
    node("ReverseSequence", ["x_tm", "lens64"], ["rev_t"], batch_axis=1, time_axis=0)
    node("Transpose", ["rev_t"], ["rev_t_bm"], perm=[1, 0, 2])
    node("Concat", ["x", "rev_b", "rev_t_bm"], ["cat"], axis=2)
    node("Transpose", ["cat"], ["cat_nct"], perm=[0, 2, 1])
    const("w", (rng.standard_normal((16, 24, 3)) * 0.2).astype(np.float32))
    const("b", (rng.standard_normal(16) * 0.1).astype(np.float32))
    node("Conv", ["cat_nct", "w", "b"], ["conv"], kernel_shape=[3], pads=[1, 1])
    node("Relu", ["conv"], ["relu"])
    node("Transpose", ["relu"], ["relu_ntc"], perm=[0, 2, 1])
    node("ReverseSequence", ["relu_ntc", "lens64"], ["y"], batch_axis=0, time_axis=1)
    node("ReduceMax", ["y"], ["pooled"], axes=[1], keepdims=0)
    g = helper.make_graph(nodes, "tf2onnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["unk__1", 12, 8]),
                                             helper.make_tensor_value_info("lens", TensorProto.INT32, ["unk__1"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["unk__1", 12, 16]),
                           helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["unk__1", 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx",
                          producer_version="1.16.1 15c810")
    m.ir_version = 7
    return m


def revseq_inputs(rng, alt):
    n = 3 if alt else 2
    return {"x": rng.standard_normal((n, 12, 8)).astype(np.float32),
            "lens": rng.integers(1, 13, n).astype(np.int32)}


def passthrough_io():
    from onnx import helper, TensorProto
    inits, nodes, const, node, rng = graph_builder(14)
    const("anchors", rng.random((4, 2)).astype(np.float32))
    const("w", (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32))
    node("Conv", ["img", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    node("Relu", ["c"], ["r"])
    node("ReduceMean", ["r"], ["feat"], axes=[2, 3], keepdims=0)
    node("Cast", ["ids"], ["ids_f"], to=TensorProto.FLOAT)
    const("fw", (rng.standard_normal((12, 5)) * 0.2).astype(np.float32))
    node("Concat", ["feat", "ids_f"], ["cat"], axis=1)
    node("MatMul", ["cat", "fw"], ["mm"])
    const("zero", np.zeros(1, np.float32))
    const("axis1", np.array([1], np.int64))
    node("Unsqueeze", ["flag", "axis1"], ["flag2"])
    node("Where", ["flag2", "mm", "zero"], ["logits"])
    const("one32", np.ones(1, np.int32))
    node("Add", ["ids", "one32"], ["ids_next"])
    node("Cast", ["pix"], ["pix_f"], to=TensorProto.FLOAT)
    const("half", np.array([0.5], np.float32))
    node("Mul", ["pix_f", "half"], ["pix_h"])
    node("Cast", ["pix_h"], ["pix_half"], to=TensorProto.UINT8)
    node("Greater", ["logits", "zero"], ["positive"])
    g = helper.make_graph(
        nodes, "passthrough",
        [helper.make_tensor_value_info("img", TensorProto.FLOAT, ["N", 3, 16, 16]),
         helper.make_tensor_value_info("ids", TensorProto.INT32, ["N", 4]),
         helper.make_tensor_value_info("flag", TensorProto.BOOL, ["N"]),
         helper.make_tensor_value_info("pix", TensorProto.UINT8, ["N", 6])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5]),
         helper.make_tensor_value_info("img", TensorProto.FLOAT, ["N", 3, 16, 16]),
         helper.make_tensor_value_info("anchors", TensorProto.FLOAT, [4, 2]),
         helper.make_tensor_value_info("ids_next", TensorProto.INT32, ["N", 4]),
         helper.make_tensor_value_info("pix_half", TensorProto.UINT8, ["N", 6]),
         helper.make_tensor_value_info("positive", TensorProto.BOOL, ["N", 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx.helper")
    m.ir_version = 7
    return m


def passthrough_inputs(rng, alt):
    n = 3 if alt else 2
    return {"img": rng.random((n, 3, 16, 16)).astype(np.float32),
            "ids": rng.integers(0, 50, (n, 4)).astype(np.int32),
            "flag": np.array([True, False, True][:n]),
            "pix": rng.integers(0, 256, (n, 6)).astype(np.uint8)}


# ------------------------------------------------------------------ the set

def _img(name, shape, alt_shape=None, uniform=True, dtype=np.float32):
    def gen(rng, alt):
        s = alt_shape if alt else shape
        a = rng.random(s) if uniform else rng.standard_normal(s)
        return {name: a.astype(dtype)}
    return gen


def _opt_inputs(rng, alt):
    n = 3 if alt else 1
    return {"x": rng.random((n, 3, 16, 16)).astype(np.float32), "bias": rng.standard_normal(6).astype(np.float32)}


# name -> (builder, opset, input generator gen(rng, alt) -> {name: array}, outputs,
#          dynamic axes, has an .alt.npz, post-processing of the exported file)
SPECS = {
    "optional_script_op15": (optional_script, 15, _opt_inputs, ["y"], {"x": {0: "batch"}, "y": {0: "batch"}}, True,
                             None),
    "cls_loss_op13": (cls_loss, 13, cls_inputs, ["loss", "nll", "logits"],
                      {"x": {0: "batch"}, "labels": {0: "batch"}, "logits": {0: "batch"}}, True, None),
    "qresnet18_perchan_op13": (qresnet18_perchan, 13, _img("x", (1, 3, 64, 64)), ["logits"], None, False, None),
    "qat_fakequant_op13": (qat_fakequant, 13, _img("x", (1, 3, 32, 32)), ["logits"], None, False, None),
    "loop_cat_script_op13": (loop_cat_script, 13, loop_inputs, ["grown", "scaled"],
                             {"x": {0: "batch"}, "grown": {0: "batch", 1: "cols"}, "scaled": {0: "batch"}}, True,
                             None),
    "misc_elem_dyn_op11": (misc_elem, 11, _img("x", (2, 5), (3, 7), uniform=False), ["y", "xor", "count"],
                           {"x": {0: "n", 1: "k"}, "y": {0: "n", 1: "k"}, "xor": {0: "n", 1: "k"}, "count": {0: "n"}},
                           True, None),
    "fp16_full_op13": (fp16_base, 13, _img("x", (1, 3, 32, 32), dtype=np.float16), ["logits"], None, False, to_fp16),
    "double_op13": (double_model, 13, _img("x", (1, 4, 20), uniform=False, dtype=np.float64), ["y"], None, False,
                    None),
    "ort_ext_cnn_op13": (small_cnn, 13, _img("x", (1, 3, 32, 32)), ["logits"], None, False, ort_optimize),
    "ort_ext_bert_op13": (bert_small, 13, bert_inputs, ["sequence", "pooled"],
                          {"input_ids": {0: "batch", 1: "seq"}, "token_type_ids": {0: "batch", 1: "seq"},
                           "attention_mask": {0: "batch", 1: "seq"}, "sequence": {0: "batch", 1: "seq"},
                           "pooled": {0: "batch"}}, True, ort_optimize),
    "ort_qop_squeeze_op13": ("helper", 13, _img("x", (1, 3, 32, 32)), None, None, False, None),
    "caffe2_lp_op11": ("helper", 11, _img("x", (1, 3, 24, 24), (2, 3, 24, 24), uniform=False), None, None, True, None),
    "tf2onnx_revseq_op13": ("helper", 13, revseq_inputs, None, None, True, None),
    "passthrough_io_op13": ("helper", 13, passthrough_inputs, None, None, True, None),
}

HELPER = {"ort_qop_squeeze_op13": ort_qop_squeeze, "caffe2_lp_op11": caffe2_lp, "tf2onnx_revseq_op13": tf2onnx_revseq,
          "passthrough_io_op13": passthrough_io}
# the input names of the helper graphs whose generator names them "x"
RENAME = {"ort_qop_squeeze_op13": {"x": "input"}}
# Inputs whose leading axis is not one sample's: saved with a leading axis of 1,
# which warboy's data layout reads as one whole input (ortcheck drops it again for
# ONNX Runtime): the optional bias [6] (and x beside it); the classifier's batch with its labels
# (a loss is over a batch: one row alone whose label is ignored has no mean).
WHOLE = {"optional_script_op15": {"x", "bias"}, "cls_loss_op13": {"x", "labels"}}


def _save(path, name, feeds):
    whole = WHOLE.get(name, set())
    np.savez(path, **{k: (v[None] if k in whole else v) for k, v in feeds.items()})


def vary(a, rng):
    """Samples 1..3: float inputs with noise, integer and bool inputs as drawn (fresh draws)."""
    if a.dtype.kind == "f":
        n = rng.standard_normal(a.shape) * 0.05 * (float(np.abs(a).max()) or 1)
        return (a + n).astype(a.dtype)
    return None


def export(name, out):
    """Export NAME to OUT/NAME.onnx with its samples; returns the path."""
    builder, opset, gen, outs, axes, has_alt, post = SPECS[name]
    rng = np.random.default_rng(31)
    ren = RENAME.get(name, {})

    def draw(alt):
        return {ren.get(k, k): v for k, v in gen(rng, alt).items()}
    first = draw(False)
    samples = [first]
    for _ in range(3):
        fresh = draw(False)
        varied = {k: vary(v, rng) for k, v in first.items()}
        samples.append({k: (fresh[k] if v is None else v) for k, v in varied.items()})
    path = os.path.join(out, name + ".onnx")
    if builder == "helper":
        import onnx
        onnx.checker.check_model(HELPER[name]())
        onnx.save(HELPER[name](), path + ".tmp")
        os.replace(path + ".tmp", path)
    else:
        torch = _torch()
        torch.manual_seed(0)
        model = builder()
        if not isinstance(model, torch.jit.ScriptModule) and name != "qresnet18_perchan_op13" and \
                name != "qat_fakequant_op13":
            model = randomise_norms(model)
        model.eval()
        xs = [torch.from_numpy(np.asarray(v, dtype=np.float32 if v.dtype == np.float16 else v.dtype))
              for v in first.values()]
        exportlib.torch_export(model, xs, path, opset, list(first), outs, axes)
        if post is not None:
            post(path)
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
    out/bench-models-unseen11); returns the process exit code."""
    return exportlib.export_all(exportlib.model_names(args.models, MODELS), export,
                                args.out or "out/bench-models-unseen11")


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
