#!/bin/sh
# Triage of the --unseen8 export set (thirteenth session; docs/models.md, "Unseen
# families (thirteenth session)"). Per model (scripts/triagelib.sh): inspect, float32
# run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize (4 samples),
# the int8 QDQ file against ONNX Runtime on the same file, compare, the QOperator
# form against ONNX Runtime, sim, the .alt.npz sizes, `quantize --dynamic` for the
# sequence models, and a triage `bench cpu --ort` (1 thread, 10 runs).
#   scripts/triage_unseen8.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen8)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen8}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen8_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen8_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	gpt2_past_op12) SHAPE="--input-shape input_ids=1,4 --input-shape attention_mask=1,9 --input-shape pk0=1,4,5,16 --input-shape pv0=1,4,5,16 --input-shape pk1=1,4,5,16 --input-shape pv1=1,4,5,16" ;;
	t5_relbias) SHAPE="--input-shape input_ids=1,20 --input-shape attention_mask=1,20" ;;
	clip_text) SHAPE="--input-shape text=1,16" ;;
	wav2vec2_dynlen_op12) SHAPE="--input-shape wav=1,4000" ;;
	bilstm_packed) SHAPE="--input-shape tokens=2,20 --input-shape lengths=2" ;;
	effdet_same_dynhw_op11) SHAPE="--input-shape image=1,3,128,160" ;;
	preproc_u8_op10) SHAPE="--input-shape image=1,3,150,100" ;;
	paddle_op9) SHAPE="--input-shape image=1,32,32,3" ;;
	keras_gru_op9) SHAPE="--input-shape input=1,12,10" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	gpt2_past_op12 | t5_relbias | clip_text | wav2vec2_dynlen_op12 | bilstm_packed | greedy_decode_script | llama_static_cache | keras_gru_op9) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (ids, lengths, masks, positions,
	# caches, uint8 images) come from the sample.
	case $m in
	gpt2_past_op12 | t5_relbias | clip_text | bilstm_packed | llama_static_cache | preproc_u8_op10 | paddle_op9)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
