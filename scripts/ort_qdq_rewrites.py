#!/usr/bin/env python3
"""Which side is right when ONNX Runtime and warboy disagree on the same QDQ file.

ONNX Runtime rewrites a QDQ graph before it runs it; two of its rewrites change the
numbers the file describes:

- DoubleQDQPairsRemover (level "basic"): Q(s1,z1) -> DQ -> Q(s2,z2) -> DQ becomes one
  Q -> DQ at a new scale, (the intersection of the two ranges) / 255, so a value
  rounded twice in the file is rounded once, on another grid;
- QLinearSoftmax (level "extended"): DQ -> Softmax -> Q becomes one operator whose
  output codes come from an approximate exp/sum (docs/quantizer.md, twenty-second
  session, item 2).

usage: ort_qdq_rewrites.py MODEL.int8.onnx INPUT.npz [--warboy BIN] [--float MODEL.onnx]
       ort_qdq_rewrites.py --qlinearsoftmax

Prints, for each double pair and each Softmax between Q/DQ, how many output codes
warboy and ONNX Runtime (levels disabled / basic / all) share with the file's
semantics evaluated in float64 (round half to even, saturation), given the same
float input tensor; then the model outputs of ONNX Runtime with only the
double-pair rewrite applied by this script (run at level "disabled") against ORT at
level "basic", and each side's outputs against the float32 model (--float).
--qlinearsoftmax runs com.microsoft QLinearSoftmax alone (ORT, level "disabled") on
random int8/uint8 rows for a grid of output scales, row lengths and input scales, and
prints the share of output codes equal to the float64 softmax of the same input.
Needs /usr/bin/python3 (numpy, onnx) and tools/ort (make ort).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exportlib import ROOT, fit_ranks, load_feeds, ort_run  # noqa: E402


def init_map(m):
    return {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}


def q_f64(x, s, z, lo=-128, hi=127):
    """QuantizeLinear in float64: round half to even, saturate."""
    return np.clip(np.rint(x.astype(np.float64) / np.float64(s)) + int(z), lo, hi)


def dq_f64(q, s, z):
    return (q - int(z)) * np.float64(s)


def double_pairs(m):
    """(Q1, DQ1, Q2, DQ2) chains: a DequantizeLinear read only by a QuantizeLinear."""
    prod = {o: n for n in m.graph.node for o in n.output}
    cons = {}
    for n in m.graph.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    out = []
    for q2 in m.graph.node:
        if q2.op_type != "QuantizeLinear":
            continue
        dq1 = prod.get(q2.input[0])
        if dq1 is None or dq1.op_type != "DequantizeLinear" or len(cons.get(dq1.output[0], [])) != 1:
            continue
        q1 = prod.get(dq1.input[0])
        if q1 is None or q1.op_type != "QuantizeLinear":
            continue
        dq2 = [c for c in cons.get(q2.output[0], []) if c.op_type == "DequantizeLinear"]
        if len(dq2) != 1:
            continue
        out.append((q1, dq1, q2, dq2[0]))
    return out


def qdq_softmaxes(m):
    """(DQ, Softmax, Q) chains."""
    prod = {o: n for n in m.graph.node for o in n.output}
    cons = {}
    for n in m.graph.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    out = []
    for sm in m.graph.node:
        if sm.op_type != "Softmax":
            continue
        dq = prod.get(sm.input[0])
        qs = [c for c in cons.get(sm.output[0], []) if c.op_type == "QuantizeLinear"]
        if dq is not None and dq.op_type == "DequantizeLinear" and len(qs) == 1:
            out.append((dq, sm, qs[0]))
    return out


def ort_merge_pair(m, ini, q1, dq1, q2, dq2):
    """Apply ORT's DoubleQDQPairsRemover to one chain (its formula: the intersection
    of the two ranges over 255, the zero point rounded)."""
    s1, z1 = float(ini[q1.input[1]]), int(ini[q1.input[2]])
    s2, z2 = float(ini[q2.input[1]]), int(ini[q2.input[2]])
    lo = max((-128 - z1) * s1, (-128 - z2) * s2)
    hi = min((127 - z1) * s1, (127 - z2) * s2)
    s = np.float32((hi - lo) / 255.0)
    z = int(np.round(-128 - lo / s))
    sn, zn = q1.name + "_merged_scale", q1.name + "_merged_zp"
    m.graph.initializer.extend([numpy_helper.from_array(np.array(s, np.float32), sn),
                                numpy_helper.from_array(np.array(z, np.int8), zn)])
    q1.input[1], q1.input[2] = sn, zn
    dq2.input[0], dq2.input[1], dq2.input[2] = q1.output[0], sn, zn
    keep = [n for n in m.graph.node if n.name not in (dq1.name, q2.name)]
    del m.graph.node[:]
    m.graph.node.extend(keep)
    return s, z


def with_outputs(m, names):
    m = onnx.ModelProto.FromString(m.SerializeToString())
    have = {o.name for o in m.graph.output}
    for nm in names:
        if nm not in have:
            m.graph.output.append(helper.make_tensor_value_info(nm, onnx.TensorProto.FLOAT, None))
    return m


def run_warboy(binary, model, inp, td):
    out = os.path.join(td, "warboy_out.npz")
    r = subprocess.run([binary, "run", model, "--input", inp, "--threads", "1", "--output", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("warboy: " + r.stderr.strip()[:400])
    z = np.load(out)
    return {k: z[k] for k in z.files}


def sqnr(ref, got):
    r, g = ref.astype(np.float64), got.astype(np.float64)
    noise = np.sum((r - g) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(max(np.sum(r ** 2), 1e-30) / noise)


def qlinear_softmax_sweep():
    """QLinearSoftmax alone against the float64 softmax, 200 rows per case."""
    rng = np.random.default_rng(23)
    print("type  y_scale   1/y_scale  x_scale  row  rows: flat|random  codes equal (%)  off by more than 1 (%)")
    with tempfile.TemporaryDirectory() as td:
        path = os.path.join(td, "qsm.onnx")
        for signed in (False, True):
            dt, tp, lo, hi = (np.int8, onnx.TensorProto.INT8, -128, 127) if signed else (np.uint8, onnx.TensorProto.UINT8, 0, 255)
            yz = -128 if signed else 0
            xz = -3 if signed else 125
            for ys in (1 / 256, 1 / 400, 1 / 600, 1 / 900, 1 / 1000, 1 / 1464):
                for xs, n in ((0.000495, 6), (0.05, 2), (0.05, 6), (0.05, 64)):
                    for flat in (True, False):
                        node = helper.make_node("QLinearSoftmax", ["x", "xs", "xz", "ys", "yz"], ["y"],
                                                domain="com.microsoft", axis=-1, opset=13)
                        inits = [numpy_helper.from_array(np.array(xs, np.float32), "xs"),
                                 numpy_helper.from_array(np.array(xz, dt), "xz"),
                                 numpy_helper.from_array(np.array(ys, np.float32), "ys"),
                                 numpy_helper.from_array(np.array(yz, dt), "yz")]
                        g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", tp, [200, n])],
                                              [helper.make_tensor_value_info("y", tp, [200, n])], inits)
                        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                                helper.make_opsetid("com.microsoft", 1)])
                        m.ir_version = 8
                        onnx.save(m, path)
                        if flat:  # codes within +-10 of a row's centre
                            base = rng.integers(lo + 10, hi - 10, size=(200, 1))
                            x = (base + rng.integers(-10, 11, size=(200, n))).astype(dt)
                        else:
                            x = rng.integers(lo, hi + 1, size=(200, n)).astype(dt)
                        y = ort_run(path, {"x": x}, 1, "disabled")["y"].astype(np.float64)
                        xf = (x.astype(np.float64) - xz) * xs
                        e = np.exp(xf - xf.max(-1, keepdims=True))
                        ref = np.clip(np.rint(e / e.sum(-1, keepdims=True) / ys) + yz, lo, hi)
                        d = np.abs(y - ref)
                        print(f"{'int8 ' if signed else 'uint8'} {ys:.6f} {1 / ys:8.0f}  {xs:.6f} {n:4d}  "
                              f"{'flat  ' if flat else 'random'}  {100 * np.mean(d == 0):6.1f}  {100 * np.mean(d > 1):6.1f}")
    return 0


def main(argv):
    if argv and argv[0] == "--qlinearsoftmax":
        return qlinear_softmax_sweep()
    a = list(argv)
    binary, fmodel = "bin/warboy", None
    for flag in ("--warboy", "--float"):
        if flag in a:
            i = a.index(flag)
            if flag == "--warboy":
                binary = a[i + 1]
            else:
                fmodel = a[i + 1]
            del a[i:i + 2]
    model, inp = a[0], a[1]
    m = onnx.load(model)
    ini = init_map(m)
    pairs = double_pairs(m)
    sms = qdq_softmaxes(m)
    feeds = fit_ranks(model, load_feeds(inp))
    taps = []
    for q1, dq1, q2, dq2 in pairs:
        taps += [q1.input[0], dq2.output[0]]
    cons = {}
    for n in m.graph.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    # a Softmax's codes are read after the DequantizeLinear that follows its Q (a tap on
    # the Softmax itself or its input would stop ORT's QLinearSoftmax fusion)
    smout = {sm.name: [c for c in cons.get(q.output[0], []) if c.op_type == "DequantizeLinear"][0].output[0]
             for dq, sm, q in sms}
    taps += list(smout.values())
    with tempfile.TemporaryDirectory() as td:
        tapped = os.path.join(td, "tapped.onnx")
        onnx.save(with_outputs(m, taps), tapped)
        ours = run_warboy(binary, tapped, inp, td)
        ort = {lvl: ort_run(tapped, feeds, 1, lvl) for lvl in ("disabled", "basic", "all")}
        smin = {}
        if sms:
            tapped2 = os.path.join(td, "tapped2.onnx")
            onnx.save(with_outputs(m, [dq.output[0] for dq, sm, q in sms]), tapped2)
            smin = {lvl: ort_run(tapped2, feeds, 1, lvl) for lvl in ("disabled", "basic")}
        print(f"{os.path.basename(model)}: {len(pairs)} double Q/DQ pairs, {len(sms)} Softmax between Q/DQ")
        for q1, dq1, q2, dq2 in pairs:
            s1, z1 = ini[q1.input[1]], ini[q1.input[2]]
            s2, z2 = ini[q2.input[1]], ini[q2.input[2]]
            # the float input from ORT without rewrites (warboy's agrees: checked below)
            x = ort["disabled"][q1.input[0]]
            ref = dq_f64(q_f64(dq_f64(q_f64(x, s1, z1), s1, z1), s2, z2), s2, z2)
            line = [f"  pair {q1.input[0]} (s1 {float(s1):.6g} z1 {int(z1)}, s2 {float(s2):.6g} z2 {int(z2)}):"]
            for side, vals in [("warboy", ours)] + [("ORT " + k, v) for k, v in ort.items()]:
                y = vals[dq2.output[0]].astype(np.float64)
                codes_ok = np.mean(np.abs(y - ref) <= 0.5 * float(s2) * 1e-3)
                line.append(f"{side} {100 * codes_ok:.1f} % equal to float64")
            line.append(f"(input equal: {np.array_equal(ours[q1.input[0]], x)})")
            print(" ".join(line[:1]) + " " + ", ".join(line[1:]))
        for dq, sm, q in sms:
            s, z = ini[q.input[1]], ini[q.input[2]]
            axis = [helper.get_attribute_value(t) for t in sm.attribute if t.name == "axis"]
            ax = axis[0] if axis else -1

            def ref_codes(lvl):
                x = smin[lvl][dq.output[0]].astype(np.float64)
                e = np.exp(x - x.max(axis=ax, keepdims=True))
                return q_f64(e / e.sum(axis=ax, keepdims=True), s, z)
            line = [f"  softmax {sm.name} (y scale {float(s):.6g}, zp {int(z)}; each side against the float64 "
                    "softmax of its own input; a tap stops ORT's fusion, so level 'all' is below):"]
            for side, vals in [("warboy", ours)] + [("ORT " + k, v) for k, v in ort.items() if k != "all"]:
                ref = ref_codes("disabled" if side == "warboy" else side[4:])
                got = q_f64(vals[smout[sm.name]], s, z)
                line.append(f"{side} {100 * np.mean(got == ref):.1f} % codes equal to float64")
            print(" ".join(line[:1]) + " " + ", ".join(line[1:]))
        # ORT's QLinearSoftmax at level "all": its own optimized graph, the fused nodes'
        # int8 input and output tapped, run without further optimization
        opt = os.path.join(td, "opt_all.onnx")
        rp = os.path.join(td, "req.json")
        with open(rp, "w") as f:
            json.dump(dict(model=os.path.abspath(model), threads=1, save_optimized=opt), f)
        subprocess.run(["node", os.path.join(ROOT, "tools", "ort", "run.js"), rp], check=True, capture_output=True)
        mo = onnx.load(opt)
        inio = init_map(mo)
        qsm = [n for n in mo.graph.node if n.op_type == "QLinearSoftmax"]
        if qsm:
            for n in qsm:
                et = onnx.TensorProto.INT8 if inio[n.input[2]].dtype == np.int8 else onnx.TensorProto.UINT8
                for nm in (n.input[0], n.output[0]):
                    mo.graph.output.append(helper.make_tensor_value_info(nm, et, None))
            tapped3 = os.path.join(td, "opt_all_tapped.onnx")
            onnx.save(mo, tapped3)
            t3 = ort_run(tapped3, feeds, 1, "disabled")
            for n in qsm:
                xs, xz, ys, yz = (inio[n.input[i]] for i in (1, 2, 3, 4))
                axis = [helper.get_attribute_value(t) for t in n.attribute if t.name == "axis"]
                ax = axis[0] if axis else -1
                x = dq_f64(t3[n.input[0]].astype(np.float64), xs, xz)
                e = np.exp(x - x.max(axis=ax, keepdims=True))
                lo, hi = (-128, 127) if et == onnx.TensorProto.INT8 else (0, 255)
                ref = q_f64(e / e.sum(axis=ax, keepdims=True), ys, yz, lo, hi)
                got = t3[n.output[0]].astype(np.float64)
                d = got - ref
                vals, cnt = np.unique(d, return_counts=True)
                print(f"  ORT 'all' QLinearSoftmax {n.name}: codes ORT minus float64 (count): "
                      + ", ".join(f"{int(v)} ({c})" for v, c in zip(vals, cnt)))
                print(f"  ORT 'all' QLinearSoftmax {n.name}: {100 * np.mean(d == 0):.1f} % of {d.size} codes equal to "
                      f"the float64 softmax of its own int8 input; {np.sum(d < 0)} one or more low, {np.sum(d > 0)} high")
        # the double-pair rewrite alone, by this script, run without ORT's optimizations
        outs = [o.name for o in m.graph.output]
        plain = {lvl: ort_run(model, feeds, 1, lvl) for lvl in ("disabled", "basic", "all")}
        mm = onnx.load(model)
        ini2 = init_map(mm)
        while True:  # one at a time: the node list is rebuilt by each merge
            ps = double_pairs(mm)
            if not ps:
                break
            ort_merge_pair(mm, ini2, *ps[0])
        merged = os.path.join(td, "merged.onnx")
        onnx.save(mm, merged)
        om = ort_run(merged, feeds, 1, "disabled")
        print("  ORT at 'disabled' on the file with only the double pairs merged (this script), against ORT at 'basic': "
              + ", ".join(f"{k} {sqnr(plain['basic'][k], om[k]):.1f} dB" for k in outs))
        print("  warboy against ORT (untapped file): " + "; ".join(
            f"{lvl}: " + ", ".join(f"{k} {sqnr(plain[lvl][k], ours[k]):.1f} dB" for k in outs) for lvl in plain))
        if fmodel:
            ref = ort_run(fmodel, fit_ranks(fmodel, load_feeds(inp)), 1, "disabled")
            print("  against the float32 model (ORT): " + "; ".join(
                f"{side}: " + ", ".join(f"{k} {sqnr(ref[k], v[k]):.1f} dB" for k in outs)
                for side, v in [("warboy", ours), ("ORT disabled", plain["disabled"]), ("ORT basic", plain["basic"]),
                                ("ORT all", plain["all"]), ("ORT pairs merged only", om)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
