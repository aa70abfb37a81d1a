#!/bin/bash
# int8_scan.sh WARBOY OUTDIR [SET...]: quantize (4 calibration samples at batch 1, the
# default method) and compare every model of the named export sets (default: unseen14
# to unseen17) below 60 MB that has a data directory; one int8 QDQ file and one
# `compare --json` per model in OUTDIR. Summarize with scripts/int8_scan_summary.py.
# (docs/quantizer.md, "int8 accuracy on exports, fourth round (twenty-third session)")
W=$1; O=$2; shift 2
SETS=${*:-unseen14 unseen15 unseen16 unseen17}
OUT=${WARBOY_OUT:-$(cd "$(dirname "$0")/.." && pwd)/out}
mkdir -p "$O"
for s in $SETS; do D=$OUT/bench-models-$s
	for f in "$D"/*.onnx; do M=$(basename "$f" .onnx)
		[ "$(stat -c %s "$f")" -gt 60000000 ] && continue
		[ -d "$D/data/$M" ] || continue
		if ! timeout 600 nice -n 5 "$W" quantize "$f" --calib-data "$D/data/$M" --calib-n 4 --batch 1 -o "$O/$M.int8.onnx" > "$O/$M.q.log" 2>&1; then
			echo "$s $M quantize refused: $(tail -n 1 "$O/$M.q.log")"
			continue
		fi
		timeout 600 nice -n 5 "$W" compare "$f" "$O/$M.int8.onnx" --data "$D/data/$M" --n 4 --batch 1 --json > "$O/$M.cmp.json" 2> "$O/$M.cmp.err"
		echo "$s $M $O/$M.cmp.json"
	done
done
