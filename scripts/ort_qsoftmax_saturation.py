#!/usr/bin/python3
"""ONNX Runtime's fused QLinearSoftmax against its own unfused DequantizeLinear ->
Softmax -> QuantizeLinear (the same file at optimization level "disabled"), for
output scales whose range [0, 255·y_scale] is above or below the largest
probability (docs/models.md, "Unseen set 18 (twenty-third session)"):

    /usr/bin/python3 scripts/ort_qsoftmax_saturation.py

One QDQ Softmax over 4 classes ([2, 64, 4], logits N(0, 0.3), input scale 0.01),
int8 (zero point -128) and uint8 (0) outputs. Prints the SQNR of the fused
output against the unfused one and the largest difference. Needs node and
tools/ort (make ort).
"""
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402


def model(shape, xs, xz, ys, yz, t):
    inits = [numpy_helper.from_array(np.array(xs, np.float32), 'xs'), numpy_helper.from_array(np.array(xz, t), 'xz'),
             numpy_helper.from_array(np.array(ys, np.float32), 'ys'), numpy_helper.from_array(np.array(yz, t), 'yz')]
    nodes = [helper.make_node('QuantizeLinear', ['x', 'xs', 'xz'], ['xq']),
             helper.make_node('DequantizeLinear', ['xq', 'xs', 'xz'], ['xd']),
             helper.make_node('Softmax', ['xd'], ['p'], axis=-1),
             helper.make_node('QuantizeLinear', ['p', 'ys', 'yz'], ['pq']),
             helper.make_node('DequantizeLinear', ['pq', 'ys', 'yz'], ['y'])]
    g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 8
    return m


def main(td):
    rng = np.random.default_rng(0)
    shape = [2, 64, 4]
    x = (rng.standard_normal(shape) * 0.3).astype(np.float32)
    for ys, yz, t in [(1/256, -128, np.int8), (1/512, -128, np.int8), (0.002, -128, np.int8), (0.0012, -128, np.int8),
                      (1/256, 0, np.uint8), (0.002, 0, np.uint8), (0.0012, 0, np.uint8)]:
        p = os.path.join(td, 'sm.onnx')
        onnx.save(model(shape, 0.01, 0, ys, yz, t), p)
        a = exportlib.ort_run(p, {'x': x})['y']
        b = exportlib.ort_run(p, {'x': x}, optimization='disabled')['y']
        e = a - b
        db = 10 * np.log10((b ** 2).sum() / max((e ** 2).sum(), 1e-30))
        print(f"{t.__name__:5s} y_scale {ys:.6f} zp {yz:4d} (range {255 * ys:.3f}, largest probability "
              f"{float(np.exp(x).max(-1, keepdims=True).__truediv__(np.exp(x).sum(-1, keepdims=True)).max()):.3f}): "
              f"fused vs unfused {db:6.1f} dB, max |diff| {np.abs(e).max():.4f}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        main(d)
