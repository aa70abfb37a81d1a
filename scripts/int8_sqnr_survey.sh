#!/bin/bash
# int8 accuracy survey over the exported sets (docs/quantizer.md, "int8 accuracy on
# exports (nineteenth session)"): for each model, one calibration pass on its 4 samples
# (batch 1) and the ten methods scored on the same samples (`quantize --method auto`:
# output SQNR against float32 over all outputs, top-1 agreement for class scores), one
# JSON per model in OUT/SET/MODEL.json, then a table worst first.
#
#   go build -o /tmp/warboy ./cmd/warboy
#   BIN=/tmp/warboy scripts/int8_sqnr_survey.sh OUT [SET ...]     # SET: named, unseen13, ... (default: every out/EXPORTED.* set)
#   ONLY="m1 m2" BIN=... scripts/int8_sqnr_survey.sh OUT SET      # a subset of a set's models
#   scripts/int8_sqnr_survey.sh --table OUT [OUT2]                 # the table (OUT2: the same survey with another binary: before/after)
#
# The named set has no samples: it is calibrated and scored on testdata/exported/images
# (--preprocess imagenet, 4 images). TIMEOUT (default 900 s) bounds one model; files
# above MAXMB (default 60) MB are left out (the machine is shared: give MAXMB=1000 to
# take them too).
set -u
table() {
	/usr/bin/python3 - "$@" <<'PY'
import json, glob, os, sys
def load(root):
    res = {}
    for f in glob.glob(os.path.join(root, "*", "*.json")):
        s, n = f.split(os.sep)[-2], os.path.basename(f)[:-5]
        try:
            j = json.load(open(f))
        except ValueError:
            res[(s, n)] = None
            continue
        a = j.get("auto") or {}
        ms = {m["method"]: m for m in a.get("methods") or [] if not m.get("error")}
        if not ms:
            res[(s, n)] = None
            continue
        d = ms.get("PERCENTILE_ASYM")
        best = max(ms.values(), key=lambda m: m["score"]["output_sqnr_db"])
        res[(s, n)] = (d, best)
    return res
a = load(sys.argv[1])
b = load(sys.argv[2]) if len(sys.argv) > 2 else None
def fmt(m):
    if m is None:
        return "-"
    sc = m["score"]
    t = f"{sc['output_sqnr_db']:.1f}"
    if sc.get("class_scores"):
        t += f" ({100*sc['top1_agreement']:.0f} %)"
    return t
rows = []
for k, v in a.items():
    if v is None:
        continue
    rows.append((v[0]["score"]["output_sqnr_db"] if v[0] else -99, k, v))
rows.sort()
head = "| set | model | default PERCENTILE_ASYM: SQNR dB (top-1 agr.) | best method | its SQNR |"
if b is not None:
    head += " after: default | after: best method | after: its SQNR |"
print(head)
print("|" + " --- |" * (head.count("|") - 1))
for _, (s, n), (d, best) in rows:
    line = f"| {s} | {n} | {fmt(d)} | {best['method']} | {fmt(best)} |"
    if b is not None:
        w = b.get((s, n))
        line += f" {fmt(w[0]) if w else '-'} | {w[1]['method'] if w else '-'} | {fmt(w[1]) if w else '-'} |"
    print(line)
fails = sorted(k for k, v in a.items() if v is None)
if fails:
    print()
    print("not scored: " + ", ".join(f"{s}/{n}" for s, n in fails))
PY
}
if [ "${1:-}" = "--table" ]; then
	shift
	table "$@"
	exit 0
fi
OUT=${1:?usage: int8_sqnr_survey.sh OUT [SET ...]}
shift
BIN=${BIN:-warboy}
here=$(cd "$(dirname "$0")/.." && pwd)
models=${MODELS:-$PWD/out} # the exported sets (run from the repository root, or MODELS=.../out)
sets=("$@")
if [ ${#sets[@]} -eq 0 ]; then
	for f in "$models"/EXPORTED.*; do
		s=${f##*EXPORTED.}
		sets+=("${s#--}")
	done
fi
for s in "${sets[@]}"; do
	if [ "$s" = named ]; then D=$models/bench-models; else D=$models/bench-models-$s; fi
	mkdir -p "$OUT/$s"
	for m in $(ls -Sr "$D"/*.onnx); do # smallest first
		n=$(basename "$m" .onnx)
		if [ "$(stat -c %s "$m")" -gt $((${MAXMB:-60} * 1000000)) ]; then
			echo "$s/$n: not surveyed (larger than MAXMB=${MAXMB:-60} MB)" >&2
			continue
		fi
		if [ -n "${ONLY:-}" ]; then
			case " $ONLY " in *" $n "*) ;; *) continue ;; esac
		fi
		[ -s "$OUT/$s/$n.json" ] && continue
		if [ "$s" = named ]; then
			data=(--calib-data "$here/testdata/exported/images" --preprocess imagenet)
			val=(--val-data "$here/testdata/exported/images")
		elif [ -d "$D/data/$n" ]; then
			data=(--calib-data "$D/data/$n")
			val=(--val-data "$D/data/$n")
		else
			continue
		fi
		uptime >"$OUT/$s/$n.load"
		timeout "${TIMEOUT:-900}" "$BIN" quantize "$m" "${data[@]}" --calib-n 4 --batch 1 --method auto "${val[@]}" --val-n 4 \
			--json -o "$OUT/$s/$n.int8.onnx" >"$OUT/$s/$n.json" 2>"$OUT/$s/$n.err"
		uptime >>"$OUT/$s/$n.load"
		rm -f "$OUT/$s/$n.int8.onnx"
	done
done
table "$OUT"
