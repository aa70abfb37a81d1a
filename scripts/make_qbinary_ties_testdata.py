"""Writes kernels/testdata/qbinary_ort_ties.json: ONNX Runtime's int8 codes of
DequantizeLinear -> Mul|Add -> QuantizeLinear (opset 13, CPU, optimisation levels
"disabled" and "all" give the same codes) on every pair of int8 codes, for a few
scale sets, kept where combined scales (the int8 Mul and Add before the fifteenth
session: float32((a-za)(b-zb)) * float32(sa*sb/sy), and float32(sa/sy)*float32(a-za) +
float32(sb/sy)*float32(b-zb)) give another code, plus 64 other pairs.
TestQBinaryMatchesONNXRuntime checks kernels.NewQMul and NewQAdd against them.

    /usr/bin/python3 scripts/make_qbinary_ties_testdata.py   (needs onnx, numpy, tools/ort)
"""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402

SETS = [("Mul", 0.1, 0, 0.1, 0, 0.02, 0), ("Mul", 0.0123, 3, 0.0071, -5, 0.0123 * 0.0071 * 2, 7),
        ("Mul", 0.05, 1, 0.3, 0, 0.03, 0), ("Mul", 0.017, 0, 0.5, 0, 0.017, 0), ("Mul", 0.2, -3, 0.7, 2, 0.28, -1),
        ("Add", 0.2, -3, 0.7, 2, 0.28, -1), ("Add", 0.05, 1, 0.03, 0, 0.1, 2), ("Add", 0.0123, 3, 0.0071, -5, 0.02, 7)]
f32 = np.float32


def model(op, sa, za, sb, zb, sy, zy, path):
    inits = [numpy_helper.from_array(np.array(v, dtype=t), n) for n, v, t in
             [("sa", sa, f32), ("za", za, np.int8), ("sb", sb, f32), ("zb", zb, np.int8), ("sy", sy, f32), ("zy", zy, np.int8)]]
    nodes = [helper.make_node("QuantizeLinear", ["A", "sa", "za"], ["qa"]),
             helper.make_node("DequantizeLinear", ["qa", "sa", "za"], ["da"]),
             helper.make_node("QuantizeLinear", ["B", "sb", "zb"], ["qb"]),
             helper.make_node("DequantizeLinear", ["qb", "sb", "zb"], ["db"]),
             helper.make_node(op, ["da", "db"], ["m"]),
             helper.make_node("QuantizeLinear", ["m", "sy", "zy"], ["Y"])]
    g = helper.make_graph(nodes, "qbinary", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [65536]),
                                          helper.make_tensor_value_info("B", TensorProto.FLOAT, [65536])],
                          [helper.make_tensor_value_info("Y", TensorProto.INT8, [65536])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)


def main():
    a = np.repeat(np.arange(-128, 128), 256).astype(np.int32)
    b = np.tile(np.arange(-128, 128), 256).astype(np.int32)
    rng = np.random.default_rng(15)
    out = []
    with tempfile.TemporaryDirectory() as td:
        for op, sa, za, sb, zb, sy, zy in SETS:
            sa, sb, sy = f32(sa), f32(sb), f32(sy)
            path = os.path.join(td, "mul.onnx")
            model(op, sa, za, sb, zb, sy, zy, path)
            feeds = {"A": (a - za).astype(f32) * sa, "B": (b - zb).astype(f32) * sb}
            codes = [exportlib.ort_run(path, feeds, 1, lvl)["Y"] for lvl in ("disabled", "all")]
            assert np.array_equal(codes[0], codes[1]), "ORT's levels disagree"
            y = codes[0]
            if op == "Mul":
                v = ((a - za) * (b - zb)).astype(f32) * f32(f32(sa * sb) / sy)
            else:
                v = f32(sa / sy) * (a - za).astype(f32) + f32(sb / sy) * (b - zb).astype(f32)
            combined = np.clip(np.rint(v) + zy, -128, 127)
            keep = np.flatnonzero(combined != y)
            keep = np.union1d(keep, rng.choice(65536, 64, replace=False))
            out.append({"op": op, "a_scale": float(sa), "a_zp": za, "b_scale": float(sb), "b_zp": zb, "y_scale": float(sy), "y_zp": zy,
                        "combined_differs": int(np.sum(combined != y)),
                        "pairs": [[int(a[i]), int(b[i]), int(y[i])] for i in keep]})
            print(f"{op} scales {float(sa)} {float(sb)} {float(sy)}: {out[-1]['combined_differs']} pairs differ from the combined scale")
    dst = os.path.join(exportlib.ROOT, "kernels", "testdata", "qbinary_ort_ties.json")
    with open(dst, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
