#!/usr/bin/python3
"""Makes a model on which post-training quantization loses accuracy, for the QAT
recovery figure of docs/quantizer.md: the bundled MLP with a few hidden units of its
first layer scaled up by --factor and the next layer's weights reading them scaled
down by the same factor. ReLU(a*x) = a*ReLU(x) for a > 0, so the float function is
unchanged, but the per-tensor int8 range of the hidden activation is now set by the
scaled units and the other units lose most of their resolution (wide per-channel
ranges behind one per-tensor scale, as in networks without weight equalisation).

  /usr/bin/python3 scripts/make_outlier_model.py testdata/models/fmnist_mlp.onnx /tmp/mlp_outlier.onnx

--layer NAME does the same to any Conv or Gemm (transB=1) whose output goes through a
Relu to exactly one Conv or Gemm: its first --units output channels are scaled up, the
input channels of the next layer that read them scaled down (the label-free detector
check of docs/quantizer.md: --layer /c4/c4.0/c4.0.0/Conv of scripts/make_qat_detector.py's
model).
"""
import argparse

import numpy as np
import onnx
from onnx import numpy_helper

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("out")
ap.add_argument("--units", type=int, default=4, help="number of hidden units to scale")
ap.add_argument("--factor", type=float, default=40.0)
ap.add_argument("--layer", help="the Conv or Gemm to scale (default: the first Gemm, then the second)")
args = ap.parse_args()

m = onnx.load(args.model)
inits = {t.name: t for t in m.graph.initializer}


def readers(name):
    return [n for n in m.graph.node if name in n.input]


if args.layer:
    first = next(n for n in m.graph.node if n.name == args.layer)
    relu = readers(first.output[0])
    assert len(relu) == 1 and relu[0].op_type == "Relu", f"{first.name}: its output must go to one Relu"
    nxt = readers(relu[0].output[0])
    assert len(nxt) == 1 and nxt[0].op_type in ("Conv", "Gemm"), f"{relu[0].name}: its output must go to one Conv or Gemm"
    second = nxt[0]
    assert len(first.input) > 2, f"{first.name} has no bias"
else:
    gemms = [n for n in m.graph.node if n.op_type == "Gemm"]
    assert len(gemms) >= 2, "needs two Gemm layers"
    first, second = gemms[0], gemms[1]
for n in (first, second):
    if n.op_type == "Gemm":
        assert any(a.name == "transB" and a.i == 1 for a in n.attribute), "expects transB=1 weights"
w1 = numpy_helper.to_array(inits[first.input[1]]).copy()
b1 = numpy_helper.to_array(inits[first.input[2]]).copy()
w2 = numpy_helper.to_array(inits[second.input[1]]).copy()
units = np.arange(args.units)
w1[units] *= args.factor
b1[units] *= args.factor
w2[:, units] /= args.factor
for name, arr in ((first.input[1], w1), (first.input[2], b1), (second.input[1], w2)):
    inits[name].CopyFrom(numpy_helper.from_array(arr.astype(np.float32), name))
onnx.checker.check_model(m)
onnx.save(m, args.out)
print(f"wrote {args.out}: units {list(units)} of {first.name} x{args.factor}, {second.name} columns /{args.factor}")
