#!/bin/sh
# Side-by-side timings of the --unseen6 set (eleventh session; docs/models.md):
# `warboy bench cpu INT8 --float FLOAT --ort` at 1 and 2 threads, JSON per model in
# DIR/bench/M.tT.json. Symbolic sizes bound to the sample sizes.
#   scripts/bench_unseen6.sh [DIR] [ITERATIONS] [ROUNDS]   (DIR: out/bench-models-unseen6; 10 runs in 2 rounds)
set -u
D=${1:-out/bench-models-unseen6}
IT=${2:-10}
R=${3:-2}
W=${WARBOY:-bin/warboy}
mkdir -p "$D/bench"
for t in 1 2; do
	for spec in "slicenet_op9|" "slicenet_op10_dynhw|--input-shape input=1,3,64,64" "resize_modes_op11|--input-shape input=1,3,96,96" \
		"googlenet_tin|" "uint8_nhwc|--input-shape image=1,96,96,3" "yolox_head|" "einsum_where|--input-shape input=1,20,48" \
		"mixer_gelu_tanh|" "kv_cache_step|--input-shape x=1,1,64 --input-shape past_key=1,4,12,16 --input-shape past_value=1,4,12,16" \
		"crnn_ctc|--input-shape input=1,1,32,128" "siamese|" "deconv_outpad|" "grouped_dilated|" \
		"rnn_tanh_op14|--input-shape input=1,15,24" "stn_gridsample_op16|" "acts_op17|" "scatter_cumsum|--input $D/data/scatter_cumsum.in.npz" \
		"tconv1d|--input-shape input=1,1,1024" "tf2onnx_op13|--input-shape input=1,48,48,3" \
		"flip_unfold|" "embbag_op13|--input $D/data/embbag_op13.in.npz" "lrn_acts|" "dw_deconv|" "fp16_keepio|"; do
		m=${spec%%|*} extra=${spec#*|}
		# shellcheck disable=SC2086 # extra holds several flags
		if "$W" bench cpu "$D/q/$m.int8.onnx" --float "$D/$m.onnx" --ort --threads "$t" --iterations "$IT" --rounds "$R" --warmup 1 $extra --json \
			>"$D/bench/$m.t$t.json" 2>"$D/bench/$m.t$t.err"; then
			echo "$m t$t ok $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
		else
			echo "$m t$t FAIL: $(tail -n 1 "$D/bench/$m.t$t.err")"
		fi
	done
done
