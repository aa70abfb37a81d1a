#!/usr/bin/python3
"""Write the small test models of the fifteenth session's --unseen10 triage
(docs/models.md, "Unseen families, set 10 (fifteenth session)") and their data:

    /usr/bin/python3 scripts/make_unseen10_testdata.py [OUTDIR]     (default testdata/exported)

- functions_op15.onnx: torch.onnx.export(export_modules_as_functions=...) of a
  small net whose residual block function calls a conv-BN-act function and a
  squeeze-excitation function (ONNX local functions, nested), as modfunc_op15 of
  --unseen10. functions_attr.onnx: an onnx.helper model of a function with an
  attribute (LeakyRelu's alpha by ref_attr_name), called with two alphas and
  without one (the default). npz_functions/s{0,1}.npz inputs, npz_functions_ort/
  ONNX Runtime's outputs of both models. Test: TestLocalFunctionsAsORT.
- pool_index_ops_op11.onnx: MaxPool with its Indices output feeding MaxUnpool
  with an output_shape from Shape (odd sizes: restored) and, on an even-sized
  Slice, without one (the default size), MaxRoiPool with a spatial_scale, Det of [N, 3, 3] matrices,
  Unique of int64 keys (sorted) and of floats (sorted=0), all four outputs;
  symbolic N, K, P and Q. npz_poolidx/s{0,1}.npz inputs, npz_poolidx_ort/ ONNX
  Runtime's outputs. Test: TestPoolIndexOpsAsORT.
- seq_split_op13.onnx: torch.jit.script loops over torch.split(x, 4, 1) (12
  channels: three chunks; a shorter last chunk is refused at run time, as the
  loop's scan output needs equal sizes) appended to a list and concatenated, and over
  x.unbind(2) stacked on axis 2 (SplitToSequence without split, keepdims=0;
  ConcatFromSequence new_axis=1); symbolic N and T. npz_seqsplit/s{0,1}.npz
  inputs, npz_seqsplit_ort/ ONNX Runtime's outputs. Test: TestSplitSequenceLoopsAsORT.
Committed so that the tests need neither Python nor node.
"""
import os
import sys

import numpy as np
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402


def functions_torch(path):
    import torch
    nn = torch.nn

    class ConvBNAct(nn.Module):
        def __init__(self, i, o, s=1):
            super().__init__()
            self.conv = nn.Conv2d(i, o, 3, s, 1, bias=False)
            self.bn = nn.BatchNorm2d(o)

        def forward(self, x):
            return nn.functional.hardswish(self.bn(self.conv(x)))

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc = nn.Conv2d(c, c, 1)

        def forward(self, x):
            return x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.a, self.se = ConvBNAct(c, c), SE(c)

        def forward(self, x):
            return x + self.se(self.a(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.b1, self.b2 = ConvBNAct(3, 8, 2), Block(8), Block(8)

        def forward(self, x):
            return self.b2(self.b1(self.stem(x))).mean((2, 3))

    torch.manual_seed(0)
    m = Net().eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2)
    torch.onnx.export(m, (torch.randn(1, 3, 12, 12),), path, opset_version=15, input_names=["x"],
                      output_names=["feat"], dynamic_axes={"x": {0: "N"}, "feat": {0: "N"}},
                      export_modules_as_functions={ConvBNAct, SE, Block})


def functions_attr():
    body = [helper.make_node("LeakyRelu", ["x"], ["t"]),
            helper.make_node("Mul", ["t", "s"], ["y"])]
    from onnx import AttributeProto
    body[0].attribute.append(AttributeProto(name="alpha", ref_attr_name="alpha", type=AttributeProto.FLOAT))
    f = helper.make_function("custom", "ScaledLeaky", ["x", "s"], ["y"], body,
                             [helper.make_opsetid("", 15)], attributes=["alpha"])
    nodes = [helper.make_node("ScaledLeaky", ["x", "s1"], ["y1"], domain="custom", alpha=0.3, name="call1"),
             helper.make_node("ScaledLeaky", ["y1", "s2"], ["y2"], domain="custom", alpha=0.05, name="call2"),
             helper.make_node("ScaledLeaky", ["x", "s2"], ["y3"], domain="custom", name="call_default")]
    inits = [numpy_helper.from_array(np.array(1.5, np.float32), "s1"),
             numpy_helper.from_array(np.array(-0.5, np.float32), "s2")]
    g = helper.make_graph(nodes, "fattr", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 5]) for n in ("y2", "y3")], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("custom", 1)],
                          functions=[f], producer_name="pytorch")
    m.ir_version = 8
    return m


def pool_index_ops():
    nodes = [
        helper.make_node("MaxPool", ["x"], ["pooled", "idx"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        helper.make_node("Shape", ["x"], ["xshape"], name="xshape"),
        helper.make_node("MaxUnpool", ["pooled", "idx", "xshape"], ["unpooled_shape"], kernel_shape=[2, 2],
                         strides=[2, 2], name="unpool_shape"),
        helper.make_node("Slice", ["x", "s_start", "s_end", "s_axes"], ["xe"], name="even"),
        helper.make_node("MaxPool", ["xe"], ["pooled_e", "idx_e"], kernel_shape=[2, 2], strides=[2, 2], name="pool_e"),
        helper.make_node("MaxUnpool", ["pooled_e", "idx_e"], ["unpooled"], kernel_shape=[2, 2], strides=[2, 2],
                         name="unpool_default"),
        helper.make_node("MaxRoiPool", ["x", "rois"], ["roipooled"], pooled_shape=[3, 2], spatial_scale=0.5,
                         name="roipool"),
        helper.make_node("Det", ["mats"], ["det"], name="det"),
        helper.make_node("Unique", ["keys"], ["ukeys", "ufirst", "uinv", "ucount"], sorted=1, name="unique_int"),
        helper.make_node("Unique", ["vals"], ["uvals", "vfirst", "vinv", "vcount"], sorted=0, name="unique_float"),
    ]
    g = helper.make_graph(
        nodes, "poolidx",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 7, 9]),
         helper.make_tensor_value_info("rois", TensorProto.FLOAT, ["K", 5]),
         helper.make_tensor_value_info("mats", TensorProto.FLOAT, ["N", 3, 3]),
         helper.make_tensor_value_info("keys", TensorProto.INT64, ["P"]),
         helper.make_tensor_value_info("vals", TensorProto.FLOAT, ["Q"])],
        [helper.make_tensor_value_info(n, t, None) for n, t in (
            ("idx", TensorProto.INT64), ("unpooled_shape", TensorProto.FLOAT), ("unpooled", TensorProto.FLOAT),
            ("roipooled", TensorProto.FLOAT), ("det", TensorProto.FLOAT), ("ukeys", TensorProto.INT64),
            ("ufirst", TensorProto.INT64), ("uinv", TensorProto.INT64), ("ucount", TensorProto.INT64),
            ("uvals", TensorProto.FLOAT), ("vfirst", TensorProto.INT64), ("vinv", TensorProto.INT64),
            ("vcount", TensorProto.INT64))],
        [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (
            ("s_start", [0, 0]), ("s_end", [6, 8]), ("s_axes", [2, 3]))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], producer_name="pytorch")
    m.ir_version = 6
    return m


def seq_split(path):
    import torch

    @torch.jit.script
    def chunks(x, w):
        out = []
        for t in torch.split(x, 4, 1):
            out.append(torch.tanh(t) * w)
        return torch.cat(out, 1)

    @torch.jit.script
    def steps(x):
        out = []
        for t in x.unbind(2):
            out.append(t * 2 + 1)
        return torch.stack(out, 2)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor(0.7))

        def forward(self, x):
            return chunks(x, self.w), steps(x)

    torch.onnx.export(Net(), (torch.randn(1, 12, 6),), path, opset_version=13, input_names=["x"],
                      output_names=["cat", "stacked"],
                      dynamic_axes={"x": {0: "N", 2: "T"}, "cat": {0: "N", 2: "T"}, "stacked": {0: "N", 2: "T"}})


def main(out):
    import onnx
    rng = np.random.default_rng(10)
    for d in ("npz_functions", "npz_functions_ort", "npz_poolidx", "npz_poolidx_ort", "npz_seqsplit",
              "npz_seqsplit_ort"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    pf, pa = os.path.join(out, "functions_op15.onnx"), os.path.join(out, "functions_attr.onnx")
    functions_torch(pf)
    onnx.save(functions_attr(), pa)
    for i, n in enumerate((1, 3)):
        feeds = {"x": rng.standard_normal((n, 3, 12, 12)).astype(np.float32)}
        fa = {"x": rng.standard_normal((n, 5)).astype(np.float32)}
        np.savez(os.path.join(out, "npz_functions", f"s{i}.npz"), x=feeds["x"], xa=fa["x"])
        ref = exportlib.ort_run(pf, feeds)
        ref.update(exportlib.ort_run(pa, fa))
        np.savez(os.path.join(out, "npz_functions_ort", f"s{i}.npz"), **ref)
    pp = os.path.join(out, "pool_index_ops_op11.onnx")
    onnx.save(pool_index_ops(), pp)
    for i, (n, k, p, q) in enumerate(((1, 4, 30, 9), (2, 7, 41, 13))):
        x = rng.standard_normal((n, 2, 7, 9)).astype(np.float32)
        xy = rng.uniform(-2, 14, (k, 2))
        wh = rng.uniform(0, 10, (k, 2))
        rois = np.concatenate([rng.integers(0, n, (k, 1)), xy, xy + wh], 1).astype(np.float32)
        mats = rng.standard_normal((n, 3, 3)).astype(np.float32)
        keys = rng.integers(-5, 12, p).astype(np.int64)
        vals = rng.choice(np.array([0.5, -1.25, 3.0, 0.0, 2.5], np.float32), q)
        feeds = dict(x=x, rois=rois, mats=mats, keys=keys, vals=vals)
        np.savez(os.path.join(out, "npz_poolidx", f"s{i}.npz"), **feeds)
        np.savez(os.path.join(out, "npz_poolidx_ort", f"s{i}.npz"), **exportlib.ort_run(pp, feeds))
    ps = os.path.join(out, "seq_split_op13.onnx")
    seq_split(ps)
    for i, (n, t) in enumerate(((1, 6), (2, 9))):
        x = rng.standard_normal((n, 12, t)).astype(np.float32)
        np.savez(os.path.join(out, "npz_seqsplit", f"s{i}.npz"), x=x)
        np.savez(os.path.join(out, "npz_seqsplit_ort", f"s{i}.npz"), **exportlib.ort_run(ps, {"x": x}))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
