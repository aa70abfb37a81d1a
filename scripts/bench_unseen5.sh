#!/bin/sh
# Side-by-side timings of the --unseen5 set (tenth session; docs/models.md):
# `warboy bench cpu INT8 --float FLOAT --ort` at 1 and 2 threads, JSON per model in
# DIR/bench/M.tT.json. Sequence models at seq 20 (16 for the encoder), batch 1.
#   scripts/bench_unseen5.sh [DIR]       (DIR: out/bench-models-unseen5)
set -u
D=${1:-out/bench-models-unseen5}
W=${WARBOY:-bin/warboy}
mkdir -p "$D/bench"
for t in 1 2; do
	for spec in "c3d_pool|30|3|" "gru_cls|100|5|--input-shape input=1,20,40" "bilstm_cls|100|5|--input-shape input=1,20,40" \
		"encoder_mask|100|5|--input-shape input=1,16,32 --input-shape pad=1,16" "two_io|100|5|" "upsample_op9|100|5|" \
		"paddle_op10|100|5|--input-shape input=1,3,63,63" "vgg16_bn|10|3|" "deeplabv3_resnet50|10|3|" "mc3_18|3|1|" "r2plus1d_18|3|1|"; do
		m=${spec%%|*} rest=${spec#*|}
		it=${rest%%|*} rest=${rest#*|}
		r=${rest%%|*} extra=${rest#*|}
		# shellcheck disable=SC2086 # extra holds several flags
		if "$W" bench cpu "$D/q/$m.int8.onnx" --float "$D/$m.onnx" --ort --threads "$t" --iterations "$it" --rounds "$r" --warmup 1 $extra --json \
			>"$D/bench/$m.t$t.json" 2>"$D/bench/$m.t$t.err"; then
			echo "$m t$t ok $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
		else
			echo "$m t$t FAIL: $(tail -n 1 "$D/bench/$m.t$t.err")"
		fi
	done
done
