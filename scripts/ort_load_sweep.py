"""Helpers of scripts/ort_load_sweep.sh (ONNX Runtime loads every file we write).

  ort_load_sweep.py synth MODEL DIR      write DIR/s0..s3.npz (calibration) and DIR/in.npz
                                         (the checked input): uniform [-1, 1) for float
                                         inputs, zeros for integer ones, seeded by the
                                         model's name; a symbolic dimension is refused
                                         (the model needs real data, never a guessed size)
  ort_load_sweep.py check MODEL IN OURS  load MODEL in ONNX Runtime at its default
                                         optimisation level (tools/ort/run.js: "all"),
                                         run it on IN and compare with OURS (.npz from
                                         `warboy run`): prints one line
                                         "load ok|FAIL <reason>; sqnr S; top1 A/B"

SQNR is the worst over float outputs (integer and bool outputs must be equal, else 0
dB); top-1 counts the rows (all axes but the last, for float outputs whose last axis
has more than one element) where ONNX Runtime's and our arg-max agree.
"""
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402

NP = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def synth(model, out):
    import onnx
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(zlib.crc32(os.path.basename(model).encode()))
    os.makedirs(out, exist_ok=True)
    specs = []
    for i in m.graph.input:
        if i.name in inits:
            continue
        t = i.type.tensor_type
        dims = []
        for d in t.shape.dim:
            if not d.HasField("dim_value"):
                print(f"{model}: input {i.name} has a symbolic dimension {d.dim_param!r}: needs data", file=sys.stderr)
                return 1
            dims.append(d.dim_value)
        specs.append((i.name, NP.get(t.elem_type, np.float32), dims))
    for k in range(5):
        feeds = {}
        for name, dt, dims in specs:
            if np.issubdtype(dt, np.floating):
                feeds[name] = rng.uniform(-1, 1, dims).astype(dt)
            else:
                feeds[name] = np.zeros(dims, dt)
        np.savez(os.path.join(out, "in.npz" if k == 4 else f"s{k}.npz"), **feeds)
    return 0


def check(model, inp, ours):
    try:
        ref = exportlib.ort_run(model, exportlib.fit_ranks(model, exportlib.load_feeds(inp)))
    except Exception as e:  # noqa: BLE001 - the message is the result
        msg = str(e).replace("\n", " ")
        i = msg.find("Error:")
        print("load FAIL " + (msg[i:] if i >= 0 else msg)[:160])
        return 0
    got = np.load(ours)
    got = {k: got[k] for k in got.files} if hasattr(got, "files") else {list(ref)[0]: got}
    worst, agree, rows = float("inf"), 0, 0
    for k, r in ref.items():
        if k not in got or got[k].size != r.size:
            print(f"load ok; output {k} missing or of another size in ours")
            return 0
        g = got[k].reshape(r.shape)
        if r.dtype.kind in "iub":
            worst = min(worst, float("inf") if np.array_equal(r, g) else 0.0)
            continue
        r64, g64 = r.astype(np.float64), g.astype(np.float64)
        noise, sig = np.sum((r64 - g64) ** 2), np.sum(r64 ** 2)
        worst = min(worst, float("inf") if noise == 0 else 10 * np.log10(max(sig, 1e-30) / noise))
        if r.ndim >= 1 and r.shape[-1] > 1:
            a, b = r.reshape(-1, r.shape[-1]).argmax(-1), g.reshape(-1, r.shape[-1]).argmax(-1)
            agree += int(np.sum(a == b))
            rows += a.size
    print(f"load ok; sqnr {worst:.1f}; top1 {agree}/{rows}")
    return 0


def main(argv):
    if len(argv) == 3 and argv[0] == "synth":
        return synth(argv[1], argv[2])
    if len(argv) == 4 and argv[0] == "check":
        return check(argv[1], argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
