#!/usr/bin/env python3
"""Write a copy of an ONNX classifier exported for one sample, as torch.onnx
writes `x.view(x.size(0), -1)` traced at batch 1 without dynamic_axes: every
input and output declares batch 1 and each Flatten becomes a Reshape to the
constant [1, -1], so the graph runs one sample and no more. With --batch B the
copy is fixed at B samples instead (traced at batch B: [B, -1]).

    /usr/bin/python3 scripts/make_batch1_model.py testdata/models/fmnist_mlp.onnx OUT.onnx [--batch B]

Used by docs/quantizer.md ("Models exported at batch 1: micro-batches", and
"Models exported at a fixed batch above one") to measure `warboy qat` on such a
model against the same weights with a batch axis.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main():
    args = sys.argv[1:]
    batch = 1
    if len(args) == 4 and args[2] == "--batch":
        batch = int(args[3])
        args = args[:2]
    if len(args) != 2 or batch < 1:
        sys.exit(__doc__)
    m = onnx.load(args[0])
    g = m.graph
    for v in list(g.input) + list(g.output):
        dims = v.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_param")
            dims[0].dim_value = batch
    k = 0
    for n in g.node:
        if n.op_type != "Flatten":
            continue
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        if axis != 1:
            sys.exit(f"Flatten {n.name!r} has axis {axis}; only axis 1 is rewritten")
        name = f"batch1_shape_{k}"
        k += 1
        g.initializer.append(numpy_helper.from_array(np.array([batch, -1], dtype=np.int64), name))
        n.op_type = "Reshape"
        del n.attribute[:]
        n.input.append(name)
    if k == 0:
        sys.exit("no Flatten to rewrite")
    onnx.checker.check_model(m)
    onnx.save(m, args[1])


if __name__ == "__main__":
    main()
