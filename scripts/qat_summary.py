#!/usr/bin/env python3
"""Summarises QAT runs (the --json of `warboy qat` and of scripts/qat_reference.py, as
scripts/qat_sweep.sh names them: <tool>-<model>-e<epochs>-s<seed>.json) for
docs/quantizer.md, "QAT measurements": per tool, model and epochs, the int8 test
accuracies by seed, mean ± sample sd, the minimum, and, given the best post-training
figure of a model (--ptq MODEL=ACC, in %), how many seeds fall below it. For warboy
runs it also prints the start (the post-training model it trained from) and the
accuracies of the start and of the written model on the checkpoint images.
Standard library only.

    python3 scripts/qat_summary.py OUTDIR --ptq fmnist_mlp=88.64 --ptq fmnist_cnn=92.16
"""
import argparse
import collections
import glob
import json
import os
import re
import statistics

NAME = re.compile(r"^(warboy|torch|pt|base)-(.+)-e(\d+)-s(\d+)\.json$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--ptq", action="append", default=[], help="MODEL=ACC: best post-training top-1 (%%)")
    a = ap.parse_args()
    ptq = {k: float(v) for k, v in (p.split("=", 1) for p in a.ptq)}
    runs = collections.defaultdict(dict)
    extra = collections.defaultdict(dict)
    for d in a.dirs:
        for f in glob.glob(os.path.join(d, "*.json")):
            m = NAME.match(os.path.basename(f))
            if not m:
                continue
            tool, model, ep, seed = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
            tool = "torch" if tool in ("torch", "pt") else "warboy"
            try:
                j = json.load(open(f))
            except (OSError, ValueError):
                continue
            acc = j.get("qat_int8_accuracy", j.get("int8_accuracy"))
            if acc is None:
                continue
            runs[(model, ep, tool)][seed] = 100 * acc
            if tool == "warboy":
                ck = {c["epochs"]: c["val_accuracy"] for c in j.get("checkpoints", [])}
                extra[(model, ep, tool)][seed] = (100 * j.get("ptq_int8_accuracy", 0), ck)
    for key in sorted(runs):
        model, ep, tool = key
        by = runs[key]
        seeds = sorted(by)
        accs = [by[s] for s in seeds]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        line = f"{model:16s} e{ep} {tool:6s} n={len(accs)} {statistics.mean(accs):.2f} ± {sd:.2f} min {min(accs):.2f}"
        if model in ptq:
            below = [s for s in seeds if by[s] < ptq[model] - 1e-9]
            line += f" | below best PTQ {ptq[model]:.2f}: {len(below)} of {len(accs)}" + (f" (seeds {below})" if below else "")
        print(line)
        print("    " + ", ".join(f"s{s} {by[s]:.2f}" for s in seeds))
        if key in extra:
            for s in seeds:
                start, ck = extra[key].get(s, (0, {}))
                cks = " ".join(f"{e:g}:{100 * v:.1f}" for e, v in sorted(ck.items()))
                print(f"    s{s}: start {start:.2f} on the test set; checkpoint images {cks}")


if __name__ == "__main__":
    main()
