#!/usr/bin/python3
"""Markdown tables from a triage run (scripts/triagelib.sh's logs and bench JSON).

    scripts/triage_unseen7.sh > DIR/triage.txt
    /usr/bin/python3 scripts/triage_summary.py DIR [DIR/triage.txt]

Per model (in the order of the triage output): steps passed, the worst SQNR against
ONNX Runtime of the float32 run, the int8 QDQ run, the QOperator run and the
.alt.npz sizes (`inf`: bit-exact), `compare`'s int8-vs-float SQNR per output (top-1
agreement where the output is class scores), sim's latency and host fallbacks; then
the bench cpu --ort ratios (p50 over ONNX Runtime's p50 on the same file, min over
min in brackets). Only reads files; nothing is run.
"""
import json
import os
import re
import sys


def worst(path):
    """The `worst: sqnr X dB` of an ortcheck log, or '-'."""
    if not os.path.exists(path):
        return "-"
    m = re.search(r"worst: sqnr (\S+) dB", open(path).read())
    if not m:
        return "fail"
    return m.group(1).replace(".0", "") if m.group(1) == "inf" else m.group(1)


def compare(path):
    """compare --json: "SQNR dB" per output (top-1 k/n for class scores)."""
    if not os.path.exists(path):
        return "-"
    try:
        d = json.load(open(path))
    except ValueError:
        return "fail"
    parts = []
    for o in d.get("outputs", []):
        s = o.get("sqnr_db")
        txt = "exact" if s is None and o.get("max_abs_err", 1) == 0 else (f"{s:.1f}" if s is not None else "n/a")
        if o.get("classes", 0) > 0:
            txt += f", top-1 {round(o['top1_agreement'] * d['samples'])}/{d['samples']}"
        parts.append(txt)
    return " / ".join(parts) or "-"


def sim(path):
    if not os.path.exists(path):
        return "-"
    t = open(path).read()
    lat = re.search(r"latency\s+(\S+) us", t)
    fb = re.search(r"host fallbacks \((\d+)\)", t)
    if not lat:
        return "fail"
    return f"{float(lat.group(1)):.0f} µs, {fb.group(1) if fb else 0}"


def bench(path):
    """(float32/ORT, int8/ORT int8, int8/float32) as 'p50 (min)' strings."""
    if not os.path.exists(path):
        return ["-"] * 3
    try:
        d = json.load(open(path))
    except ValueError:
        return ["fail"] * 3

    def r(a, b):
        if not d.get(a) or not d.get(b):
            return "-"
        return f"{d[a]['p50_ms'] / d[b]['p50_ms']:.2f} ({d[a]['min_ms'] / d[b]['min_ms']:.2f})"
    if d.get("float32") is None:  # an already-quantized model timed alone
        return ["-", r("int8", "ort_int8") if d.get("ort_int8") else r("int8", "ort_float32"), "-"]
    return [r("float32", "ort_float32"), r("int8", "ort_int8"), r("int8", "float32")]


def main(argv):
    d = argv[1]
    tri = argv[2] if len(argv) > 2 else os.path.join(d, "triage.txt")
    steps, order = {}, []
    for line in open(tri):
        f = line.split()
        if len(f) < 3:
            continue
        m = f[0]
        if m not in steps:
            steps[m] = [0, 0]
            order.append(m)
        steps[m][1] += 1
        steps[m][0] += f[2] == "ok"
    lg = os.path.join(d, "logs")
    print("| model | steps ok | float32 vs ORT (dB) | int8 QDQ vs ORT | QOperator vs ORT | alt sizes f / q | int8 vs float (compare) | sim (latency, host fallbacks) |")
    print("|---|---|---|---|---|---|---|---|")
    for m in order:
        p = lambda s: os.path.join(lg, f"{m}.{s}.txt")  # noqa: E731
        alt = "-" if not os.path.exists(p("ort-alt-f")) else f"{worst(p('ort-alt-f'))} / {worst(p('ort-alt-q'))}"
        print(f"| {m} | {steps[m][0]}/{steps[m][1]} | {worst(p('ort-f-t1'))} | {worst(p('ort-q-t1'))} | "
              f"{worst(p('ort-qop'))} | {alt} | {compare(p('compare'))} | {sim(p('sim'))} |")
    print()
    print("| model | float32 / ORT | our int8 / ORT int8 | our int8 / our float32 |")
    print("|---|---|---|---|")
    for m in order:
        b = bench(os.path.join(d, "bench", f"{m}.t1.json"))
        if b == ["-"] * 3:
            # qmobilenet_torchq: bench is a plain step whose JSON is in its log
            b = bench(os.path.join(lg, f"{m}.bench.txt"))
        print(f"| {m} | {b[0]} | {b[1]} | {b[2]} |")


if __name__ == "__main__":
    main(sys.argv)
