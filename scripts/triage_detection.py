#!/usr/bin/python3
"""Triage of the --detection set (scripts/export_benchmodels.py --detection):
every warboy command on each model, and its outputs against ONNX Runtime.

    /usr/bin/python3 scripts/triage_detection.py [--dir out/bench-models-detection]
        [--warboy out/warboy] [--models a,b,...] [--json OUT.json] [--float-only] [--logs DIR]

Per model (DIR/NAME.onnx with its samples DIR/data/NAME/s*.npz):
  inspect   warboy inspect MODEL
  run       warboy run MODEL --input s0.npz --output O.npz, against ONNX Runtime
            (tools/ort) on the same input: max |ours - ORT| / max |ORT| per output,
            integer outputs equal, and for detectors the boxes matched by class and
            IoU >= 0.99 (a sample whose detection count differs is reported as such)
  quantize  warboy quantize MODEL --calib-data DIR/data/NAME --calib-n 4 --batch 1
  int8      warboy run INT8 (the int8 executor) against ONNX Runtime on the same
            QDQ file: SQNR of the first float output, detections matched as above
  sim       warboy sim INT8 (--input-shape from the sample when an input is
            symbolic): simulated latency and number of host fallbacks
with the wall time of each command (a loaded shared machine: indicative only).
Logs go to DIR/logs/ (or --logs), int8 models to DIR/q/. --float-only stops after
the float32 checks (inspect, run, post-processing): what a float32 executor change
must keep.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from sweep_models import ort_run  # noqa: E402  (tools/ort through node)


def sh(log, *cmd):
    """Run cmd with its output in log; returns (ok, seconds, stdout)."""
    t = time.time()
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    dt = time.time() - t
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + r.stdout + r.stderr + f"\nexit {r.returncode}, {dt:.1f} s\n")
    return r.returncode == 0, dt, (r.stdout if r.returncode == 0 else r.stdout + r.stderr)


def iou(a, b):
    x0, y0 = np.maximum(a[0], b[0]), np.maximum(a[1], b[1])
    x1, y1 = np.minimum(a[2], b[2]), np.minimum(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else float(np.array_equal(a, b))


def match(ref, got):
    """Detections of got matched to ref one to one (same label, IoU >= 0.99):
    'matched/total'."""
    rb, gb = ref["boxes"], got["boxes"]
    rl, gl = ref["labels"], got["labels"]
    used, n = set(), 0
    for i in range(len(rb)):
        for j in range(len(gb)):
            if j not in used and rl[i] == gl[j] and iou(rb[i], gb[j]) >= 0.99:
                used.add(j)
                n += 1
                break
    return f"{n}/{len(rb)} matched" + ("" if len(rb) == len(gb) else f" ({len(gb)} ours)")


def agree(ref, got):
    """Per-output agreement as text, and the worst relative error / lowest SQNR."""
    parts, worst_rel, worst_sqnr = [], 0.0, float("inf")
    for k, r in ref.items():
        g = got.get(k)
        if g is None:
            parts.append(f"{k}: missing")
            worst_rel = float("inf")
            continue
        if g.shape != r.shape:
            parts.append(f"{k}: shape {list(g.shape)} vs ORT {list(r.shape)}")
            worst_rel, worst_sqnr = float("inf"), 0.0
            continue
        if r.dtype.kind in "iub":
            eq = np.array_equal(r, g)
            parts.append(f"{k}: {'equal' if eq else 'DIFFERENT'}")
            if not eq:
                worst_rel, worst_sqnr = float("inf"), 0.0
            continue
        if r.size == 0:
            parts.append(f"{k}: empty")
            continue
        r64, g64 = r.astype(np.float64), g.astype(np.float64)
        d = float(np.max(np.abs(r64 - g64)))
        scale = float(np.max(np.abs(r64)))
        rel = d / scale if scale > 0 else (0.0 if d == 0 else float("inf"))
        noise, sig = float(np.sum((r64 - g64) ** 2)), float(np.sum(r64 ** 2))
        sqnr = float("inf") if noise == 0 else 10 * np.log10(max(sig, 1e-30) / noise)
        parts.append(f"{k}: rel {rel:.2g} sqnr {sqnr:.1f} dB")
        worst_rel, worst_sqnr = max(worst_rel, rel), min(worst_sqnr, sqnr)
    if "boxes" in ref and "labels" in got and "boxes" in got:
        parts.append(match(ref, got))
    return "; ".join(parts), worst_rel, worst_sqnr


DENSE = ("Conv", "Gemm", "MatMul", "ConvTranspose")


def head_tensors(m):
    """Outputs of the dense layers (Conv/Gemm/MatMul) from which a graph output
    is reached without another dense layer: the tensors the post-processing
    reads."""
    g = m.graph
    readers = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    outs = {o.name for o in g.output}
    memo = {}

    def reaches_output(t):
        """t reaches a graph output through non-dense nodes only."""
        if t in memo:
            return memo[t]
        memo[t] = False
        r = t in outs or any(n.op_type not in DENSE and any(reaches_output(o) for o in n.output)
                             for n in readers.get(t, []))
        memo[t] = r
        return r
    return [n.output[0] for n in g.node if n.op_type in DENSE and reaches_output(n.output[0])]


def selection_inputs(model):
    """The float tensors from which the post-processing selects: the inputs of
    top-level TopK and NonMaxSuppression nodes and the values If/Loop subgraphs
    read from the top level (non-float ones are dropped once their type is
    known). Fed from ONNX Runtime, they leave rounding no tie to break."""
    out = []
    for n in model.graph.node:
        if n.op_type == "TopK":
            out.append(n.input[0])
        elif n.op_type == "NonMaxSuppression":
            out += list(n.input[:2])
        elif n.op_type in ("If", "Loop"):
            out += [x for x in outer_reads(n) if x]
    return out


def outer_reads(n):
    import onnx
    r = []
    for a in n.attribute:
        for sg in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
            defined = {i.name for i in sg.input} | {t.name for t in sg.initializer}
            for sn in sg.node:
                defined |= set(sn.output)
            for sn in sg.node:
                r += [x for x in list(sn.input) + outer_reads(sn) if x not in defined]
            r += [o.name for o in sg.output if o.name not in defined]
    return r


def cut_at(model, heads, vals):
    """model with the tensors heads turned into graph inputs (typed after vals)
    and the nodes no output needs any more removed (onnx.utils.Extractor is
    too slow on graphs of thousands of nodes). Outer-scope reads of If/Loop
    subgraphs count as inputs of their node."""
    import onnx
    g = model.graph

    def reads(n):
        return list(n.input) + outer_reads(n)
    cut = set(heads)
    producer = {o: n for n in g.node for o in n.output}
    need, keep, stack = set(), set(), [o.name for o in g.output]
    while stack:
        t = stack.pop()
        if t in need or t in cut:
            continue
        need.add(t)
        n = producer.get(t)
        if n is not None and id(n) not in keep:
            keep.add(id(n))
            stack += [x for x in reads(n) if x]
    nodes = [n for n in g.node if id(n) in keep]
    del g.node[:]
    g.node.extend(nodes)
    inits = [t for t in g.initializer if t.name in need]
    del g.initializer[:]
    g.initializer.extend(inits)
    ins = [i for i in g.input if i.name in need]
    del g.input[:]
    g.input.extend(ins)
    # Each fed tensor comes in with a leading unit axis, squeezed off inside:
    # the data reader takes axis 0 of every array of an .npz as its samples,
    # and the tensors here have different leading sizes.
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    for h in heads:
        v = vals[h]
        g.input.append(onnx.helper.make_tensor_value_info(h + "__fed", onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[v.dtype],
                                                          [1] + list(v.shape)))
        if opset >= 13:
            axes = h + "__axes"
            g.initializer.append(onnx.helper.make_tensor(axes, onnx.TensorProto.INT64, [1], [0]))
            sq = onnx.helper.make_node("Squeeze", [h + "__fed", axes], [h])
        else:
            sq = onnx.helper.make_node("Squeeze", [h + "__fed"], [h], axes=[0])
        g.node.insert(0, sq)
    del g.value_info[:]
    return model


def post_check(w, m, feeds, tmp):
    """Our post-processing on ONNX Runtime's values of the head tensors: the
    model with the head tensors as extra inputs (onnx.utils.Extractor), run by
    warboy and ONNX Runtime on the same feeds. Ties among near-equal random
    scores cannot make the two differ here, only the post-processing itself."""
    import onnx
    model = onnx.load(m)
    heads = head_tensors(model) + selection_inputs(model)
    heads = list(dict.fromkeys(heads))
    for t in heads:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(t))
    probe = os.path.join(tmp, "probe.onnx")
    onnx.save(model, probe)
    vals = ort_run(probe, feeds)
    heads = [h for h in heads if vals[h].dtype.kind == "f"]
    post = os.path.join(tmp, "post.onnx")
    onnx.save(cut_at(onnx.load(m), heads, vals), post)
    pf = {k: v for k, v in feeds.items() if k in {i.name for i in onnx.load(post, load_external_data=False).graph.input}}
    pf.update({t + "__fed": vals[t][None] for t in heads})
    ref = ort_run(post, pf)
    np.savez(os.path.join(tmp, "post.in.npz"), **pf)
    ok, dt, out = sh(os.path.join(tmp, "post.txt"), w, "run", post, "--input", os.path.join(tmp, "post.in.npz"),
                     "--output", os.path.join(tmp, "post.out.npz"))
    if not ok:
        return f"FAIL: {out.strip().splitlines()[-1][:200]}"
    txt, _, _ = agree(ref, load_npz(os.path.join(tmp, "post.out.npz")))
    return f"{len(heads)} tensors fed: {txt}"


def load_npz(p):
    z = np.load(p)
    return {k: z[k] for k in z.files}


def triage(w, d, name, logs, qdir, float_only=False):
    m = os.path.join(d, name + ".onnx")
    data = os.path.join(d, "data", name)
    s0 = os.path.join(data, "s0.npz")
    feeds = load_npz(s0)
    row = dict(model=name, size_mb=round(os.path.getsize(m) / 1e6, 1))
    lg = lambda s: os.path.join(logs, f"{name}.{s}.txt")  # noqa: E731
    ok, dt, out = sh(lg("inspect"), w, "inspect", m)
    row["inspect"] = "ok" if ok else "FAIL: " + out.strip().splitlines()[-1][:200]
    ref = ort_run(m, feeds)
    o = os.path.join(logs, name + ".run.npz")
    ok, dt, out = sh(lg("run"), w, "run", m, "--input", s0, "--output", o)
    row["run_s"] = round(dt, 1)
    if ok:
        row["float_vs_ort"], row["float_rel"], _ = agree(ref, load_npz(o))
    else:
        row["float_vs_ort"] = "FAIL: " + out.strip().splitlines()[-1][:200]
    if "boxes" in ref:
        with tempfile.TemporaryDirectory() as td:
            try:
                row["post_vs_ort"] = post_check(w, m, feeds, td)
            except Exception as e:  # noqa: BLE001
                row["post_vs_ort"] = f"not checked: {str(e)[:200]}"
    if float_only:
        return row
    q = os.path.join(qdir, name + ".int8.onnx")
    if os.path.exists(q):
        os.remove(q)
    ok, dt, out = sh(lg("quantize"), w, "quantize", m, "--calib-data", data, "--calib-n", "4", "--batch", "1", "-o", q)
    row["quantize_s"] = round(dt, 1)
    row["quantize"] = "ok" if ok else "FAIL: " + out.strip().splitlines()[-1][:200]
    if not ok:
        return row
    refq = ort_run(q, feeds)
    oq = os.path.join(logs, name + ".q.npz")
    ok, dt, out = sh(lg("int8"), w, "run", q, "--input", s0, "--output", oq)
    row["int8_run_s"] = round(dt, 1)
    if ok:
        row["int8_vs_ort"], _, row["int8_sqnr"] = agree(refq, load_npz(oq))
    else:
        row["int8_vs_ort"] = "FAIL: " + out.strip().splitlines()[-1][:200]
    shp = []
    for k, v in feeds.items():
        shp += ["--input-shape", f"{k}={','.join(map(str, v.shape))}"]
    ok, dt, out = sh(lg("sim"), w, "sim", q, *shp, "--json")
    row["sim_s"] = round(dt, 1)
    if ok:
        try:
            r = json.loads(out)
            row["sim_us"] = round(r["latency_us"], 1)
            row["sim_host_us"] = round(r["time_split_us"]["host"], 1)
            row["sim_fallbacks"] = len(r.get("host_fallbacks") or [])
        except ValueError:
            row["sim"] = "ok (report not parsed)"
    else:
        row["sim"] = "FAIL: " + out.strip().splitlines()[-1][:200]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="out/bench-models-detection")
    ap.add_argument("--warboy", default="out/warboy")
    ap.add_argument("--models", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--float-only", action="store_true", help="stop after the float32 checks")
    ap.add_argument("--logs", default=None, help="log directory (default DIR/logs)")
    a = ap.parse_args()
    logs, qdir = a.logs or os.path.join(a.dir, "logs"), os.path.join(a.dir, "q")
    os.makedirs(logs, exist_ok=True)
    os.makedirs(qdir, exist_ok=True)
    names = a.models.split(",") if a.models else sorted(
        os.path.basename(p)[:-5] for p in glob.glob(os.path.join(a.dir, "*.onnx")))
    rows = []
    for n in names:
        try:
            r = triage(a.warboy, a.dir, n, logs, qdir, a.float_only)
        except Exception as e:  # noqa: BLE001 - one model's failure does not stop the others
            r = dict(model=n, error=str(e)[:300])
        print(json.dumps(r), flush=True)
        rows.append(r)
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
