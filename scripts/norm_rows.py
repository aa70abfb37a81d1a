#!/usr/bin/python3
"""Row spread of the layer normalizations' inputs of exported models
(docs/quantizer.md, "int8 accuracy on exports, third round (twenty-second session)").

    /usr/bin/python3 scripts/norm_rows.py SET:MODEL ...     (e.g. unseen15:deberta_disentangled_op13)

For each model of out/bench-models-SET (or OUT=dir), every layer
normalization's input (a LayerNormalization, or ReduceMean -> Sub written out) is
added as an output of the float32 model, which `warboy run` (WARBOY, default
bin/warboy) runs on the set's 4 samples (data/MODEL/*.npz). Per input: the SQNR the
normalized output would have from the per-tensor int8 rounding of the input alone
(step = range / 255, each row's error scaled by 1/sqrt(var_row + EPS)), the row
spread 10 log10(mean(var + EPS) * mean(1 / (var + EPS))) (0 dB when all rows have
the same scale; the quantizer's rule reads an input of 3 dB or more in float32),
the smallest row's standard deviation over the median, and the largest channel
maximum over the median channel maximum (outlier channels). EPS defaults to 1e-5.
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

EPS = float(os.environ.get("EPS", "1e-5"))
W = os.environ.get("WARBOY", "bin/warboy")
OUT = os.environ.get("OUT", "out")


def ln_inputs(g):
    """(input, read from a residual Add of two activations) of every normalization."""
    prod = {o: n for n in g.node for o in n.output}
    cons = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    out = []
    for n in g.node:
        x = None
        if n.op_type == "LayerNormalization":
            x = n.input[0]
        elif n.op_type == "ReduceMean":
            xx = n.input[0]
            if any(c.op_type == "Sub" and c.input[0] == xx and c.input[1] == n.output[0] for c in cons.get(xx, [])):
                x = xx
        if x is None:
            continue
        p = prod.get(x)
        out.append((x, p is not None and p.op_type == "Add" and all(i in prod for i in p.input)))
    return out


def main(args):
    for sm in args:
        s, m = sm.split(":")
        d = f"{OUT}/bench-models-{s}" if s != "named" else f"{OUT}/bench-models"
        mod = onnx.load(f"{d}/{m}.onnx")
        lns = ln_inputs(mod.graph)
        have = {o.name for o in mod.graph.output}
        for x, _ in lns:
            if x not in have:
                mod.graph.output.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, None))
                have.add(x)
        rows = {x: [] for x, _ in lns}
        with tempfile.TemporaryDirectory() as td:
            p = os.path.join(td, "m.onnx")
            onnx.save(mod, p)
            for f in sorted(glob.glob(f"{d}/data/{m}/*.npz")):
                o = os.path.join(td, "out.npz")
                r = subprocess.run([W, "run", p, "--input", f, "--output", o, "--threads", "1"], capture_output=True, text=True)
                if r.returncode:
                    print(m, "run failed:", r.stderr[:300])
                    break
                z = np.load(o)
                for x, _ in lns:
                    if x in z:
                        rows[x].append(z[x].reshape(-1, z[x].shape[-1]))
        print(f"== {m}: {len(lns)} normalization inputs, {sum(r for _, r in lns)} from a residual Add")
        for x, res in lns:
            if not rows[x]:
                continue
            a = np.concatenate(rows[x]).astype(np.float64)
            v = a.var(axis=1) + EPS
            lo, hi = min(a.min(), 0), max(a.max(), 0)
            step = (hi - lo) / 255
            spread = 10 * np.log10(np.mean(v) * np.mean(1 / v))
            pred = 10 * np.log10(12 / step ** 2 / np.mean(1 / v))
            sd = np.sqrt(v)
            ch = np.abs(a).max(axis=0)
            print(f"  normalized {pred:6.1f} dB  spread {spread:5.2f} dB  min row/median {sd.min() / np.median(sd):6.3f}"
                  f"  outlier channels {ch.max() / np.median(ch):5.1f}  residual={res}  {x}")


if __name__ == "__main__":
    main(sys.argv[1:])
