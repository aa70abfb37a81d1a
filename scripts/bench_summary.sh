#!/bin/sh
# One line per model and thread count from the output folder of
# scripts/bench_exports.sh: our float32 and ORT float32 min/p50 (ms), their
# ratio, our int8 and ORT int8 min/p50, their ratio and the int8 speed-up over our
# float32 (the bench's mean ratio).
#
#   scripts/bench_summary.sh OUT_DIR
for f in "${1:?usage: bench_summary.sh OUT_DIR}"/*-t*.txt; do
  n=$(basename $f .txt)
  fl=$(awk -F'|' '$2 ~ /^ float32 +$/ {gsub(/ /,"",$4);gsub(/ /,"",$6); print $4"/"$6}' $f)
  of=$(awk -F'|' '$2 ~ /onnxruntime float32/ {gsub(/ /,"",$4);gsub(/ /,"",$6); print $4"/"$6}' $f)
  i8=$(awk -F'|' '$2 ~ /^ int8 +$/ {gsub(/ /,"",$4);gsub(/ /,"",$6); print $4"/"$6}' $f)
  oi=$(awk -F'|' '$2 ~ /onnxruntime int8/ {gsub(/ /,"",$4);gsub(/ /,"",$6); print $4"/"$6}' $f)
  r=$(grep "float32 / onnxruntime float32" $f | sed 's/.*: //')
  ri=$(grep "int8 / onnxruntime int8" $f | sed 's/.*: //')
  sp=$(grep "int8 speedup" $f | sed 's/.*mean): //; s/ (.*//')
  echo "$n | f32 $fl | ort $of | r $r | i8 $i8 | orti8 $oi | ri8 $ri | sp $sp"
done
