#!/bin/sh
# Wall-clock ratios of our float32 to ONNX Runtime's float32 from the JSON
# files of one or more scripts/cpu_ratio_sweep.sh runs (seventeenth session:
# the 2-thread sweep, where CPU time counts a spinning thread pool as busy and
# only the wall clock says what a user waits for). One row per model, one
# column per sweep directory: "p50 ratio (min ratio)", then the load average
# at that model's start in the last directory; sorted by the p50 ratio of the
# last directory, worst first. The p50 moves with the machine's load (state
# it); a ratio taken on a loaded machine is a lead, not a result.
#
#   scripts/wall_ratio_table.sh DIR...
set -u
[ $# -gt 0 ] || { echo "usage: wall_ratio_table.sh DIR..." >&2; exit 2; }
/usr/bin/python3 - "$@" <<'PY'
import glob, json, os, sys
dirs = sys.argv[1:]
rows = {}
for k, d in enumerate(dirs):
    for j in glob.glob(os.path.join(d, "json", "*.json")):
        m = os.path.basename(j)[:-5]
        try:
            r = json.load(open(j))
            f, o = r["float32"], r["ort_float32"]
            cell = (f["p50_ms"] / o["p50_ms"], f["min_ms"] / o["min_ms"], f["p50_ms"], o["p50_ms"])
        except (KeyError, TypeError, ZeroDivisionError, ValueError):
            continue
        load = "-"
        try:
            load = open(os.path.join(d, "logs", m + ".load")).read().split()[1]
        except OSError:
            pass
        rows.setdefault(m, [None] * len(dirs))[k] = (cell, load)
def key(m):
    c = rows[m][-1]
    return -(c[0][0] if c else 0)
print("model | " + " | ".join(f"{os.path.basename(os.path.normpath(d))} p50 (min)" for d in dirs) + " | ms ours / ORT p50 (last) | load (last)")
print("|".join(["---"] * (len(dirs) + 3)))
for m in sorted(rows, key=key):
    cells = []
    for c in rows[m]:
        cells.append("-" if c is None else f"{c[0][0]:.2f} ({c[0][1]:.2f})")
    last = rows[m][-1]
    ms = "-" if last is None else f"{last[0][2]:.2f} / {last[0][3]:.2f}"
    print(f"{m} | " + " | ".join(cells) + f" | {ms} | {'-' if last is None else last[1]}")
PY
