"""Shared parts of the export and triage scripts (export_benchmodels.py,
audio_models.py, unseen4/5/6_models.py, sweep_models.py).

- write_sweep_data / write_samples: the sample files the triage scripts and
  `warboy quantize --calib-data` read. Each script keeps its own noise rule
  (how samples 1..3 differ from the example input), passed as `vary`; the
  rules below are the ones the scripts used before they shared this module,
  so the .npy/.npz bytes did not change.
- torch_export: torch.onnx.export through a temporary file (nothing
  half-written under the final name), after one forward pass so that a model
  error comes with torch's message rather than the exporter's.
- export_all: the loop over model names that reports a failure and goes on.
- ort_run / ortcheck: ONNX Runtime (tools/ort/run.js through node) on the same
  input, and the SQNR of every output against ours (integer outputs equal).

Needs numpy; torch only for torch_export.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ noise rules
# vary(a, rng, name) -> the array of samples 1..3 for input NAME whose example is a.

def noise_abs(std):
    """float inputs plus N(0, std) noise drawn in the input's dtype."""
    def vary(a, rng, name):
        return (a + rng.standard_normal(a.shape).astype(a.dtype) * std).astype(a.dtype)
    return vary


def noise_rel32(frac):
    """float inputs plus noise of frac * max|a|, drawn in the input's dtype."""
    def vary(a, rng, name):
        return (a + rng.standard_normal(a.shape).astype(a.dtype) * frac * float(np.abs(a).max())).astype(a.dtype)
    return vary


def noise_rel64(frac, bounds):
    """float inputs plus float64 noise of frac * max|a| (frac if a is all zero);
    integer inputs (token ids) redrawn in [0, bounds[name])."""
    def vary(a, rng, name):
        if a.dtype.kind == "f":
            scale = frac * (float(np.abs(a).max()) or 1.0)
            return (a + rng.standard_normal(a.shape) * scale).astype(a.dtype)
        return rng.integers(0, bounds[name], a.shape).astype(a.dtype)
    return vary


def noise_abs_or_ids(std, high):
    """float inputs plus N(0, std) in their dtype; integer inputs redrawn in [0, high)."""
    def vary(a, rng, name):
        if a.dtype.kind == "f":
            return (a + rng.standard_normal(a.shape).astype(a.dtype) * std).astype(a.dtype)
        return rng.integers(0, high, a.shape).astype(a.dtype)
    return vary


# ------------------------------------------------------------------ sample files

def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def write_sweep_data(out, name, x, dyn, vary):
    """DIR/data/NAME/s{0..3}.npy (sample 0 is x, the others vary(x)),
    DIR/data/NAME.in.npy and the line "NAME|cls|input|SHAPE|dyn" of
    DIR/manifest.txt: the layout scripts/sweep_exports.sh reads."""
    d = os.path.join(out, "data", name)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(11)
    a = _np(x)
    np.save(os.path.join(out, "data", name + ".in.npy"), a)
    for i in range(4):
        np.save(os.path.join(d, f"s{i}.npy"), a if i == 0 else vary(a, rng, "input"))
    man = os.path.join(out, "manifest.txt")
    lines = [ln for ln in (open(man).read().splitlines() if os.path.exists(man) else [])
             if not ln.startswith(name + "|")]
    lines.append(f"{name}|cls|input|{','.join(str(s) for s in a.shape)}|{'dyn' if dyn else ''}")
    with open(man, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_samples(d, names, xs, vary):
    """Four .npz samples in D (one array per input name): the example inputs
    and three variations of them (vary, input by input, one generator)."""
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(11)
    for i in range(4):
        feeds = {}
        for n, x in zip(names, xs):
            a = _np(x)
            feeds[n] = a if i == 0 else vary(a, rng, n)
        np.savez(os.path.join(d, f"s{i}.npz"), **feeds)


# ------------------------------------------------------------------ exporting

def torch_export(model, xs, path, opset, ins, outs, axes, **kw):
    """torch.onnx.export of model(*xs) to PATH through PATH.tmp; KW are more
    torch.onnx.export arguments (keep_initializers_as_inputs, do_constant_folding)."""
    import torch
    tmp = path + ".tmp"
    with torch.no_grad():
        model(*xs)  # fail here, with torch's message, before the exporter's
    try:
        args = dict(opset_version=opset, input_names=ins, output_names=outs, do_constant_folding=True,
                    dynamic_axes=axes)
        args.update(kw)
        torch.onnx.export(model, tuple(xs), tmp, **args)
    except Exception:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)
    return path


def export_all(names, export_one, out):
    """export_one(name, out) for every name; a failure is reported and the
    others go on. Returns the process exit code."""
    os.makedirs(out, exist_ok=True)
    failed = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        try:
            export_one(name, out)
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            print(f"{name}: cannot export: {e}", file=sys.stderr, flush=True)
            failed.append(name)
    if failed:
        print("not exported: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


def model_names(arg, default):
    """--models a,b (or the default list) as a list of names."""
    return [n.strip() for n in (arg.split(",") if arg else default) if n.strip()]


# ------------------------------------------------------------------ ONNX Runtime

DTYPES = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "int8": np.int8, "uint8": np.uint8,
          "bool": np.bool_, "float64": np.float64, "float16": np.float16}


def ort_run(model, feeds, threads=1, optimization=None):
    """Outputs of MODEL on ONNX Runtime (tools/ort) for feeds {name: array};
    optimization is ONNX Runtime's graph optimization level ("disabled",
    "basic", "extended"; default "all")."""
    with tempfile.TemporaryDirectory() as td:
        inputs = []
        for i, (k, v) in enumerate(feeds.items()):
            p = os.path.join(td, f"in{i}.bin")
            np.ascontiguousarray(v).tofile(p)
            inputs.append(dict(name=k, dtype=str(v.dtype), shape=list(v.shape), file=p))
        req = dict(model=os.path.abspath(model), threads=threads, mode="run", inputs=inputs, outdir=td)
        if optimization:
            req["optimization"] = optimization
        rp = os.path.join(td, "req.json")
        with open(rp, "w") as f:
            json.dump(req, f)
        r = subprocess.run(["node", os.path.join(ROOT, "tools", "ort", "run.js"), rp], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ORT: " + r.stderr.strip()[:400])
        return {o["name"]: np.fromfile(o["file"], dtype=DTYPES[o["dtype"]]).reshape(o["shape"])
                for o in json.loads(r.stdout)["outputs"]}


def load_feeds(path):
    """An input file: .npz (one array per input name) or .npy (the input "input")."""
    x = np.load(path)
    return {k: x[k] for k in x.files} if hasattr(x, "files") else {"input": x}


def fit_ranks(model, feeds):
    """Drop the leading axis of 1 from arrays one rank above the model's input
    (a whole input in warboy's data layout) before ONNX Runtime reads them."""
    import onnx
    def tensor_type(t):  # an optional's tensor (torch.jit.script Optional[Tensor] inputs)
        return t.tensor_type if t.HasField("tensor_type") else t.optional_type.elem_type.tensor_type
    ranks = {i.name: len(tensor_type(i.type).shape.dim) for i in onnx.load(model, load_external_data=False).graph.input}
    return {k: (v[0] if k in ranks and v.ndim == ranks[k] + 1 and v.shape[0] == 1 else v) for k, v in feeds.items()}


def ortcheck(model, inp, ours, min_sqnr, threads=1, optimization=None):
    """Run MODEL on ONNX Runtime with INP and compare every output with OURS
    (.npz of named outputs, or .npy for a single output): SQNR for float
    outputs, equality for integer and bool ones. Prints a line per output and
    the worst; returns 0 when the worst is at least MIN_SQNR dB."""
    ref = ort_run(model, fit_ranks(model, load_feeds(inp)), threads, optimization)
    got = np.load(ours)
    got = {k: got[k] for k in got.files} if hasattr(got, "files") else {list(ref)[0]: got}
    worst, report = float("inf"), []
    for k, r in ref.items():
        if k not in got:
            print(f"output {k}: missing from ours")
            return 1
        g = got[k]
        if g.shape != r.shape:
            print(f"output {k}: shape {list(g.shape)} vs ORT {list(r.shape)}")
            return 1
        if r.dtype.kind in "iub":
            ok = np.array_equal(r, g)
            s = float("inf") if ok else 0.0
            report.append(f"{k}: {'equal' if ok else 'DIFFERENT'} ({r.dtype})")
        else:
            r64, g64 = r.astype(np.float64), g.astype(np.float64)
            noise, sig = np.sum((r64 - g64) ** 2), np.sum(r64 ** 2)
            s = float("inf") if noise == 0 else 10 * np.log10(max(sig, 1e-30) / noise)
            err = np.max(np.abs(r64 - g64)) if r.size else 0.0
            top = np.max(np.abs(r64)) if r.size else 0.0
            report.append(f"{k}: sqnr {s:.1f} dB maxabs {err:.3g} (max |ORT| {top:.3g})")
        worst = min(worst, s)
    print("; ".join(report))
    print(f"worst: sqnr {worst:.1f} dB (pass at {min_sqnr:g} dB)")
    if worst >= min_sqnr:
        return 0
    if optimization is None:
        return ort_side_softmax(model, inp, got, min_sqnr, threads)
    return 1


def _worst_sqnr(ref, got):
    worst = float("inf")
    for k, r in ref.items():
        g = got.get(k)
        if g is None or g.shape != r.shape:
            return float("-inf")
        if r.dtype.kind in "iub":
            s = float("inf") if np.array_equal(r, g) else 0.0
        else:
            r64, g64 = r.astype(np.float64), g.astype(np.float64)
            noise = np.sum((r64 - g64) ** 2)
            s = float("inf") if noise == 0 else 10 * np.log10(max(np.sum(r64 ** 2), 1e-30) / noise)
        worst = min(worst, s)
    return worst


def ort_side_softmax(model, inp, got, min_sqnr, threads=1):
    """A QDQ model that fails the check: ONNX Runtime's graph optimizer (level
    extended) fuses DequantizeLinear -> Softmax -> QuantizeLinear into
    com.microsoft QLinearSoftmax, whose output codes are not the rounded softmax
    of the dequantized input (1 code low in 3 % of a perceiver cross-attention's
    probabilities; docs/quantizer.md, "int8 accuracy on exports, third round
    (twenty-second session)"; at a y_scale well below 1/256 codes wrap past the top
    code or come out 0: canine_bytes_op13's 288 attention probabilities, all 0,
    twenty-third session). Runs ORT's own optimized graph once more with each
    QLinearSoftmax written back as DequantizeLinear/Softmax/QuantizeLinear (every
    other fusion kept): when that passes, the difference is ORT's QLinearSoftmax,
    said on the last line ("ORT-side: ..."), and the check passes."""
    import onnx
    from onnx import helper
    with tempfile.TemporaryDirectory() as td:
        opt = os.path.join(td, "opt.onnx")
        rp = os.path.join(td, "req.json")
        with open(rp, "w") as f:
            json.dump(dict(model=os.path.abspath(model), threads=threads, save_optimized=opt), f)
        r = subprocess.run(["node", os.path.join(ROOT, "tools", "ort", "run.js"), rp], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(opt):
            return 1
        m = onnx.load(opt)
        nodes, k = [], 0
        for n in m.graph.node:
            if n.op_type != "QLinearSoftmax" or n.domain != "com.microsoft" or len(n.input) != 5:
                nodes.append(n)
                continue
            axis = [helper.get_attribute_value(a) for a in n.attribute if a.name == "axis"]
            x, xs, xz, ys, yz = n.input
            d, sm = f"{n.name}_ortside_dq", f"{n.name}_ortside_softmax"
            nodes += [helper.make_node("DequantizeLinear", [x, xs, xz], [d]),
                      helper.make_node("Softmax", [d], [sm], axis=axis[0] if axis else -1),
                      helper.make_node("QuantizeLinear", [sm, ys, yz], list(n.output))]
            k += 1
        if k == 0:
            return 1
        del m.graph.node[:]
        m.graph.node.extend(nodes)
        fixed = os.path.join(td, "fixed.onnx")
        onnx.save(m, fixed)
        ref = ort_run(fixed, fit_ranks(model, load_feeds(inp)), threads, "disabled")
    w = _worst_sqnr(ref, got)
    print(f"against ORT's optimized graph with its {k} QLinearSoftmax as DequantizeLinear/Softmax/QuantizeLinear: worst: sqnr {w:.1f} dB")
    if w < min_sqnr:
        return 1
    print(f"ORT-side: ORT's QLinearSoftmax fusion does not compute the file's DequantizeLinear/Softmax/QuantizeLinear "
          f"({k} fused; its codes are exact only near y_scale 1/256: off by one, wrapped past the top code or 0 at "
          f"smaller scales, scripts/ort_qdq_rewrites.py); without it {w:.1f} dB")
    return 0


def ortcheck_main(argv):
    """The `ortcheck MODEL INPUT OURS [MIN_SQNR] [--sqnr DB] [--threads T] [--ort-opt LEVEL]`
    command (--ort-opt disabled: ONNX Runtime without its graph optimizations)."""
    a = list(argv)
    threads, min_sqnr, opt = 1, 60.0, None
    for flag in ("--threads", "--sqnr", "--ort-opt"):
        if flag in a:
            i = a.index(flag)
            v = a[i + 1]
            del a[i:i + 2]
            if flag == "--threads":
                threads = int(v)
            elif flag == "--ort-opt":
                opt = v
            else:
                min_sqnr = float(v)
    if len(a) > 3:
        min_sqnr = float(a[3])
    return ortcheck(a[0], a[1], a[2], min_sqnr, threads, opt)
