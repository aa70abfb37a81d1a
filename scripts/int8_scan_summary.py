#!/usr/bin/env python3
"""Summary of scripts/int8_scan.sh's output directory.

usage: int8_scan_summary.py OUTDIR [--softmax]

Prints every model's worst float output SQNR (int8 against float32, `compare`), its
outputs and its three worst tensors, worst model first. --softmax prints, for every
Softmax of every model, the SQNR of its input and of its output and the output's
scale in the int8 file (1/256: the spec's; smaller: the calibrated range), largest
loss first. Needs /usr/bin/python3 (onnx) for --softmax.
"""
import glob
import json
import math
import os
import sys

OUT = os.environ.get("WARBOY_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out"))


def load(f):
    try:
        return json.load(open(f))
    except (OSError, ValueError):
        return None


def worst(d):
    rows = []
    for f in sorted(glob.glob(os.path.join(d, "*.cmp.json"))):
        m = os.path.basename(f)[:-len(".cmp.json")]
        j = load(f)
        if j is None:
            rows.append((float("nan"), m, "no compare output"))
            continue
        outs = [(o["output"], o.get("sqnr_db")) for o in j.get("outputs") or []]
        vals = [s for _, s in outs if s is not None]
        w = min(vals) if vals else float("nan")
        lay = sorted((t for t in j.get("layers") or [] if t.get("sqnr_db") is not None), key=lambda t: t["sqnr_db"])[:3]
        rows.append((w, m, " ".join(f"{n}={s}" for n, s in outs) + " | worst tensors: "
                     + "; ".join(f"{t['tensor']} ({t['op']}) {t['sqnr_db']}" for t in lay)))
    rows.sort(key=lambda r: (math.isnan(r[0]), r[0]))
    for w, m, s in rows:
        print(f"{w:7.2f} {m}: {s}")


def softmax(d):
    import onnx
    from onnx import numpy_helper
    rows = []
    for f in sorted(glob.glob(os.path.join(d, "*.cmp.json"))):
        m = os.path.basename(f)[:-len(".cmp.json")]
        j = load(f)
        src = glob.glob(os.path.join(OUT, "bench-models*", m + ".onnx"))
        if j is None or not src:
            continue
        sq = {t["tensor"]: t["sqnr_db"] for t in j.get("layers") or []}
        fm = onnx.load(src[0], load_external_data=False)
        q = onnx.load(os.path.join(d, m + ".int8.onnx"), load_external_data=False)
        ini = {i.name: i for i in q.graph.initializer}
        qs = {n.input[0]: n for n in q.graph.node if n.op_type == "QuantizeLinear"}
        for n in fm.graph.node:
            if n.op_type != "Softmax":
                continue
            i, o = n.input[0], n.output[0]
            qn = qs.get(o + "_QuantizeLinear_Input") or qs.get(o)
            sc = float(numpy_helper.to_array(ini[qn.input[1]])) if qn is not None and qn.input[1] in ini else None
            a, b = sq.get(i), sq.get(o)
            rows.append((a - b if a is not None and b is not None else -1e9, m, n.name, a, b, sc))
    rows.sort(key=lambda r: -r[0])
    for loss, m, nm, a, b, sc in rows:
        tag = " (spec 1/256)" if sc is not None and abs(sc - 1 / 256) < 1e-9 else ""
        print(f"{m} {nm}: input {a} dB, output {b} dB, scale {sc}{tag}")


if __name__ == "__main__":
    if "--softmax" in sys.argv[1:]:
        softmax([a for a in sys.argv[1:] if a != "--softmax"][0])
    else:
        worst(sys.argv[1])
