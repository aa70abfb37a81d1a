#!/usr/bin/env python3
"""A weight "soup" of two QDQ models with the same graph, e.g. the int8 models `warboy qat`
writes at two learning rates from the same start (docs/quantizer.md, "QAT, the learning-rate
rule on unseen architectures": measured as a third candidate and rejected; the tool does not
do this). Weights and biases are averaged in float (dequantized), the weights requantized per
output channel, symmetric int8 (scale max|w|/127), the int32 biases at input scale x weight
scale; the activation ranges [lo, hi] of every QuantizeLinear with a scalar scale are
averaged. W (default 0.5) is the weight of A. Debian's python3-onnx:

    /usr/bin/python3 scripts/qat_soup.py OUT.onnx A.onnx B.onnx [W]
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper as nh

if len(sys.argv) < 4:
    sys.exit(__doc__)
out, pa, pb = sys.argv[1:4]
wa = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
A, B = onnx.load(pa), onnx.load(pb)
ia = {i.name: nh.to_array(i) for i in A.graph.initializer}
ib = {i.name: nh.to_array(i) for i in B.graph.initializer}
prod = {o: n for n in A.graph.node for o in n.output}
cons = {}
for n in A.graph.node:
    for i in n.input: cons.setdefault(i, []).append(n)
new = {}
def deq(I, q, s, z, axis):
    q = I[q].astype(np.float64); s = I[s].astype(np.float64); z = I[z].astype(np.float64)
    if s.ndim == 1 and q.ndim > 1:
        sh = [1] * q.ndim; sh[axis] = -1; s = s.reshape(sh); z = z.reshape(sh)
    return (q - z) * s
# activation ranges: scalar scale used by a QuantizeLinear
act = {}
for n in A.graph.node:
    if n.op_type == "QuantizeLinear" and n.input[1] in ia and ia[n.input[1]].ndim == 0:
        act[n.input[1]] = n.input[2]
for s, z in act.items():
    dt = ia[z].dtype; qmin, qmax = (-128, 127) if dt == np.int8 else (0, 255)
    lo = wa * (qmin - float(ia[z])) * float(ia[s]) + (1 - wa) * (qmin - float(ib[z])) * float(ib[s])
    hi = wa * (qmax - float(ia[z])) * float(ia[s]) + (1 - wa) * (qmax - float(ib[z])) * float(ib[s])
    sc = (hi - lo) / (qmax - qmin)
    zp = int(np.clip(np.round(qmin - lo / sc), qmin, qmax))
    new[s] = np.array(sc, dtype=np.float32); new[z] = np.array(zp, dtype=dt)
# weights (int8 constants behind a DQ), then biases (int32)
bias = []
for n in A.graph.node:
    if n.op_type != "DequantizeLinear" or n.input[0] not in ia: continue
    if n.input[0] in act.values() or n.input[1] in act: continue
    axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
    if ia[n.input[0]].dtype == np.int32: bias.append((n, axis)); continue
    w = wa * deq(ia, *n.input, axis) + (1 - wa) * deq(ib, *n.input, axis)
    red = tuple(i for i in range(w.ndim) if i != axis) if ia[n.input[1]].ndim == 1 else None
    m = np.abs(w).max(axis=red) if red is not None else np.abs(w).max()
    sc = np.maximum(m / 127.0, 1e-12)
    shp = [1] * w.ndim
    if red is not None: shp[axis] = -1
    q = np.clip(np.round(w / sc.reshape(shp) if red is not None else w / sc), -127, 127).astype(np.int8)
    new[n.input[0]] = q; new[n.input[1]] = np.asarray(sc, dtype=np.float32)
for n, axis in bias:
    b = wa * deq(ia, *n.input, 0) + (1 - wa) * deq(ib, *n.input, 0)
    op = cons[n.output[0]][0]
    xin = prod[op.input[0]]; win = prod[op.input[1]]
    assert xin.op_type == "DequantizeLinear" and win.op_type == "DequantizeLinear", op.name
    sin = new.get(xin.input[1], ia[xin.input[1]]); sw = new[win.input[1]]
    sc = (sin.astype(np.float64) * sw.astype(np.float64))
    q = np.clip(np.round(b / sc), -2**31, 2**31 - 1).astype(np.int32)
    new[n.input[0]] = q; new[n.input[1]] = sc.astype(np.float32)
for i in A.graph.initializer:
    if i.name in new:
        i.CopyFrom(nh.from_array(new[i.name].astype(ia[i.name].dtype), i.name))
    elif not np.array_equal(ia[i.name], ib[i.name]):
        print("warning: differing initializer left as A's:", i.name, file=sys.stderr)
onnx.save(A, out)
