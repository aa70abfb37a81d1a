#!/usr/bin/env python3
"""Compares rules for `warboy qat`'s check against the post-training start on training
images only (docs/quantizer.md, "QAT, the start guard on training images (twenty-third
session)").

    scripts/qat_guard_rule.py START.onnx RUNDIR [RUNDIR ...] --seeds 0-9 [--name fmnist_resnet]
        [--work DIR] [--warboy W] [--data DIR] [--judge j|test]

START.onnx is the post-training start (a run whose guard wrote the start, or any run's
epoch-0 model); each RUNDIR holds `warboy qat --json` runs made by scripts/qat_sweep.sh
with `-- --start-margin 100`, so every .onnx is the trained end of its seed (a run with
a lower margin is used only when its json says the trained end was written).

Three slices of the IDX training split are written to WORK (no test image is used for a
choice): k = images 1000-1999 (the check images of today's guard, --val-n 0), k10 =
images 2000-11999 (a candidate 10,000-image check set), j = images 12000-59999 (the
judge: scored by no rule). Each model is scored on each with `warboy eval --mode int8
--threads 1` (cached in WORK/scores.json).

A rule R(X, M) writes the trained end E iff acc_X(E) >= acc_X(START) - M points, else
the start. The table gives, for each rule, the mean over the seeds of the chosen
model's accuracy on j (--judge j, stage 1) or on the test set as the runs' json report
it (--judge test, stage 2: qat_int8_accuracy of the end, ptq_int8_accuracy for the
start).
"""
import argparse
import glob
import gzip
import json
import os
import struct
import subprocess
import sys

SLICES = {"k": (1000, 2000), "k10": (2000, 12000), "j": (12000, 60000)}
MARGINS = [0, 0.25, 0.5, 0.75, 1, float("inf")]


def seeds_arg(s):
    out = []
    for part in s.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def write_slices(data, work):
    img_path = os.path.join(data, "train-images-idx3-ubyte.gz")
    lab_path = os.path.join(data, "train-labels-idx1-ubyte.gz")
    if all(os.path.exists(os.path.join(work, f"{k}-labels-idx1-ubyte.gz")) for k in SLICES):
        return
    img = gzip.open(img_path).read()
    lab = gzip.open(lab_path).read()
    n, rows, cols = struct.unpack(">III", img[4:16])
    size = rows * cols
    for name, (a, b) in SLICES.items():
        if b > n:
            sys.exit(f"{img_path} has {n} images, slice {name} needs {b}")
        with gzip.open(os.path.join(work, f"{name}-images-idx3-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">IIII", 2051, b - a, rows, cols))
            f.write(img[16 + a * size:16 + b * size])
        with gzip.open(os.path.join(work, f"{name}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">II", 2049, b - a))
            f.write(lab[8 + a:8 + b])


def score(warboy, work, cache, model):
    key = os.path.abspath(model)
    got = cache.setdefault(key, {})
    for sp in SLICES:
        if sp in got:
            continue
        out = subprocess.run([warboy, "eval", model, "--data", work, "--split", sp, "--mode", "int8",
                              "--threads", "1", "--json"], check=True, capture_output=True, text=True).stdout
        got[sp] = json.loads(out)["accuracy"]
        with open(os.path.join(work, "scores.json"), "w") as f:
            json.dump(cache, f, indent=1)
    return got


def find_end(dirs, name, seed):
    for d in dirs:
        for js in sorted(glob.glob(os.path.join(d, f"warboy-{name}-e*-s{seed}.json"))):
            rep = json.load(open(js))
            onnx = js[:-5] + ".onnx"
            chosen = rep.get("chosen_checkpoint")
            if os.path.exists(onnx) and chosen is not None and chosen > 0:
                return onnx, rep
    return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("start")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--seeds", required=True, type=seeds_arg)
    ap.add_argument("--name", default="fmnist_resnet", help="model name in the run files (warboy-NAME-eE-sS.json)")
    ap.add_argument("--work", default="qat-guard")
    ap.add_argument("--warboy", default="warboy")
    ap.add_argument("--data", default="../shared/data/fashion-mnist")
    ap.add_argument("--judge", choices=["j", "test"], default="j")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    write_slices(a.data, a.work)
    cpath = os.path.join(a.work, "scores.json")
    cache = json.load(open(cpath)) if os.path.exists(cpath) else {}
    s = score(a.warboy, a.work, cache, a.start)
    start_test = None
    rows = []
    for seed in a.seeds:
        onnx, rep = find_end(a.runs, a.name, seed)
        if onnx is None:
            print(f"seed {seed}: no trained end written in {a.runs}", file=sys.stderr)
            continue
        e = score(a.warboy, a.work, cache, onnx)
        start_test = rep.get("ptq_int8_accuracy", start_test)
        rows.append((seed, e, rep.get("qat_int8_accuracy")))
    if not rows:
        sys.exit("no seeds")
    pct = lambda x: f"{100 * x:.2f}"
    print(f"start: k {pct(s['k'])}  k10 {pct(s['k10'])}  j {pct(s['j'])}  test {pct(start_test) if start_test else '-'}")
    print("| seed | k: end − start | k10: end − start | j: end − start | test: end |")
    print("| --- | --- | --- | --- | --- |")
    for seed, e, t in rows:
        d = lambda sp: f"{100 * (e[sp] - s[sp]):+.2f}"
        print(f"| {seed} | {d('k')} | {d('k10')} | {d('j')} | {pct(t) if t is not None else '-'} |")
    print()
    def chosen(x, m):
        out, starts = [], 0
        for seed, e, t in rows:
            keep_end = 100 * (e[x] - s[x]) >= -m - 1e-9
            if a.judge == "j":
                out.append(e["j"] if keep_end else s["j"])
            else:
                out.append(t if keep_end else start_test)
            starts += not keep_end
        return out, starts

    today, _ = chosen("k", 1)
    print(f"| check set | margin (points) | seeds writing the start | mean on {a.judge} | − today's rule (k, 1) |")
    print("| --- | --- | --- | --- | --- |")
    for x in ("k", "k10"):
        for m in MARGINS:
            vals, starts = chosen(x, m)
            diff = 100 * (sum(vals) - sum(today)) / len(vals)
            print(f"| {x} | {m:g} | {starts} of {len(rows)} | {100 * sum(vals) / len(vals):.3f} | {diff:+.3f} |")

if __name__ == "__main__":
    main()
