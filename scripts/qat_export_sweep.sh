#!/bin/sh
# qat_export_sweep.sh WARBOY OUT SETDIR...: runs `warboy qat` without labels on every
# model of the export sets SETDIR (scripts/export_benchmodels.py --unseenK writes
# out/bench-models-unseenK: NAME.onnx with its samples in data/NAME) and writes one
# line per model to OUT: "SET/NAME rc=STATUS: the last line warboy printed"
# (docs/quantizer.md, "QAT on the export sets (twenty-ninth session)").
#
#   for k in 5 6 7 8 9 10 11 12 13 14 15 16 17 18; do
#     /usr/bin/python3 scripts/export_benchmodels.py --unseen$k; done
#   scripts/qat_export_sweep.sh ./warboy sweep.txt out/bench-models-unseen*
set -u
BIN=$1; OUT=$2; shift 2
: > "$OUT"
for D in "$@"; do
  set_name=$(basename "$D")
  for f in "$D"/*.onnx; do
    M=$(basename "$f" .onnx)
    [ -d "$D/data/$M" ] || continue
    tmp=$(mktemp -d)
    out=$(timeout 300 "$BIN" qat "$f" -o "$tmp/q.onnx" --data "$D/data/$M" --loss outputs --batch 2 --calib-n 2 --threads 1 2>&1)
    rc=$?
    last=$(echo "$out" | grep -v '^lr \|checkpoint\|^warning' | tail -1 | cut -c1-200)
    echo "$set_name/$M rc=$rc: $last" >> "$OUT"
    rm -rf "$tmp"
  done
done
