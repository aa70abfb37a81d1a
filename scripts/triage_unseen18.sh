#!/bin/sh
# Triage of the unseen18 export set (twenty-third session; docs/models.md, "Unseen
# set 18 (twenty-third session)"). Per model (scripts/triagelib.sh): inspect, float
# run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize (4 samples,
# the default method), the int8 QDQ file against ONNX Runtime on the same file,
# compare, the QOperator form against ONNX Runtime, sim, the .alt.npz sizes,
# `quantize --dynamic` for the models with MatMuls on symbolic sizes, and a triage
# `bench cpu --ort` (1 thread, 10 runs).
#   /usr/bin/python3 scripts/export_benchmodels.py --unseen18   (writes out/bench-models-unseen18)
#   scripts/triage_unseen18.sh [DIR] [MODEL ...]                (DIR: out/bench-models-unseen18)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen18}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen18_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen18_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	sam_decoder_op16) SHAPE="--input-shape point_coords=1,2,2 --input-shape point_labels=1,2" ;;
	ecapa_tdnn_dynT_op13) SHAPE="--input-shape feats=2,120,40 --input-shape lengths=2" ;;
	mamba2_ssd_op14) SHAPE="--input-shape x=1,40,16" ;;
	switch_moe_op13) SHAPE="--input-shape input_ids=1,24" ;;
	efficientvit_mla_dynhw_op13) SHAPE="--input-shape input=1,3,64,64" ;;
	loftr_coarse_op13) SHAPE="--input-shape image0=1,1,64,64 --input-shape image1=1,1,64,64" ;;
	glow_flow_op13) SHAPE="--input-shape x=2,3,16,16" ;;
	slot_attention_op13) SHAPE="--input-shape image=2,3,32,32 --input-shape slot_noise=2,4,32" ;;
	xlstm_mlstm_op14) SHAPE="--input-shape input_ids=1,24" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	sam_decoder_op16 | switch_moe_op13 | loftr_coarse_op13 | xlstm_mlstm_op14 | mamba2_ssd_op14) DYN=1 ;;
	*) DYN=0 ;;
	esac
	case $m in
	tflite_qdq_uint8_op13)
		# Already int8 (TFLite's uint8 QDQ by tf2onnx): quantize refuses it by design;
		# the file itself is run, checked against ONNX Runtime (its QDQ fusions round
		# one logit a step apart: 20 dB; unfused, bit-exact: 60 dB), simulated and timed.
		M=$D/$m.onnx IN=$D/data/$m.in.npz
		mkdir -p "$D/logs" "$D/o" "$D/bench"
		triage_step "$m" inspect "$W" inspect "$M"
		triage_step "$m" run-t1 "$W" run "$M" --input "$IN" --threads 1 --output "$D/o/$m.f1.npz"
		triage_step "$m" ort-f-t1 $PY "$CHECK" ortcheck "$M" "$IN" "$D/o/$m.f1.npz" 20
		triage_step "$m" ort-unfused $PY "$CHECK" ortcheck "$M" "$IN" "$D/o/$m.f1.npz" 60 --ort-opt disabled
		triage_step "$m" sim "$W" sim "$M"
		if "$W" bench cpu "$M" --ort --threads 1 --iterations 10 --rounds 1 --warmup 1 --input "$IN" --json \
			>"$D/bench/$m.t1.json" 2>"$D/bench/$m.t1.err"; then
			echo "$m bench ok"
		else
			echo "$m bench FAIL: $(tail -n 1 "$D/bench/$m.t1.err" | cut -c1-300)"
		fi
		continue
		;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (points and labels, image sizes,
	# relative lengths, token ids, uint8 pixels) come from the sample.
	case $m in
	sam_decoder_op16 | ecapa_tdnn_dynT_op13 | switch_moe_op13 | xlstm_mlstm_op14)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
