#!/usr/bin/python3
"""Where an int8 model first loses the signal (docs/quantizer.md, "int8 accuracy on
exports (nineteenth session)").

    warboy compare FLOAT.onnx INT8.onnx --data DIR --n 4 --batch 1 --top 0 --json > C.json
    /usr/bin/python3 scripts/int8_taps.py FLOAT.onnx C.json [--top 12]

`warboy compare` gives every quantized tensor's SQNR against float32, errors
accumulated. This walks the float graph and, for each tapped tensor, finds the
lowest SQNR among the nearest tapped tensors it is computed from (through
untapped nodes): the drop is what the step from those inputs to this tensor
lost. Listed largest drop first; then the tapped tensors in graph order with
their SQNR (--all).
"""
import json
import sys

import onnx


def main():
    args = sys.argv[1:]
    top, show_all = 12, False
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    if "--all" in args:
        args.remove("--all")
        show_all = True
    model_path, cmp_path = args
    m = onnx.load(model_path, load_external_data=False)
    g = m.graph
    cmp = json.load(open(cmp_path))
    sq = {l["tensor"]: l for l in cmp.get("layers") or []}
    prod = {}
    for n in g.node:
        for o in n.output:
            prod[o] = n
    inits = {t.name for t in g.initializer}
    memo = {}

    def sources(t, depth=0):
        """Nearest tapped tensors that t is computed from (t itself excluded)."""
        if t in memo:
            return memo[t]
        memo[t] = set()
        n = prod.get(t)
        out = set()
        if n is not None and depth < 200:
            for i in n.input:
                if not i or i in inits:
                    continue
                if i in sq:
                    out.add(i)
                else:
                    out |= sources(i, depth + 1)
        memo[t] = out
        return out

    rows = []
    order = []
    for n in g.node:
        for o in n.output:
            if o in sq:
                order.append(o)
    for t in order:
        src = sources(t)
        s = sq[t]["sqnr_db"]
        if s is None:
            continue
        ins = [(sq[x]["sqnr_db"], x) for x in src if sq[x]["sqnr_db"] is not None]
        base = min(ins)[0] if ins else None
        drop = (base - s) if base is not None else 0.0
        rows.append((drop, t, sq[t]["op"], s, base, min(ins)[1] if ins else ""))
    for o in cmp.get("outputs") or []:
        sq = "-" if o.get("sqnr_db") is None else f"{o['sqnr_db']:.2f}"
        agr = f", top-1 {100*o['top1_agreement']:.0f} %" if o.get("classes") else ""
        print(f"output {o['output']}: SQNR {sq} dB{agr}")
    print(f"{'drop dB':>8} {'SQNR':>7} {'input':>7}  op  tensor  (worst input)")
    for drop, t, op, s, base, src in sorted(rows, key=lambda r: -r[0])[:top]:
        b = f"{base:7.2f}" if base is not None else "      -"
        print(f"{drop:8.2f} {s:7.2f} {b}  {op}  {t}  ({src})")
    if show_all:
        print()
        for drop, t, op, s, base, src in rows:
            print(f"{s:7.2f} {drop:6.2f} {op} {t}")


if __name__ == "__main__":
    main()
