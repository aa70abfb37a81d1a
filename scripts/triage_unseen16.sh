#!/bin/sh
# Triage of the unseen16 export set (twenty-first session; docs/models.md, "Unseen
# families, set 16 (twenty-first session)"). Per model (scripts/triagelib.sh): inspect,
# float run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples, the default method), the int8 QDQ file against ONNX Runtime on the same
# file, compare, the QOperator form against ONNX Runtime, sim, the .alt.npz sizes,
# `quantize --dynamic` for the models with MatMuls on symbolic sizes, and a triage
# `bench cpu --ort` (1 thread, 10 runs).
#   /usr/bin/python3 scripts/export_benchmodels.py --unseen16   (writes out/bench-models-unseen16)
#   scripts/triage_unseen16.sh [DIR] [MODEL ...]                (DIR: out/bench-models-unseen16)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen16}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen16_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen16_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	vits_piper_op15) SHAPE="--input-shape input=1,14" ;;
	swinv2_cpb_op13) SHAPE="--input-shape x=1,3,64,64" ;;
	superglue_sinkhorn_op13) SHAPE="--input-shape kpts0=1,32,2 --input-shape scores0=1,32 --input-shape desc0=1,32,32 --input-shape kpts1=1,24,2 --input-shape scores1=1,24 --input-shape desc1=1,32,24" ;;
	nafnet_dynhw_op13) SHAPE="--input-shape x=1,3,50,62" ;;
	perceiver_io_op13) SHAPE="--input-shape x=2,24,12" ;;
	lenreg_repeat_op13) SHAPE="--input-shape tokens=1,12" ;;
	ort_bert_attention_op13) SHAPE="--input-shape input_ids=2,16 --input-shape token_type_ids=2,16 --input-shape attention_mask=2,16" ;;
	ort_dynq_fused_op13) SHAPE="--input-shape x=2,10,32" ;;
	opset23_llama) SHAPE="--input-shape input_ids=2,12 --input-shape position_ids=2,12" ;;
	int4_blockwise_qdq_op21) SHAPE="--input-shape x=16,64" ;;
	skl2onnx_knn_cdist_ml) SHAPE="--input-shape X=16,6" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	perceiver_io_op13 | ort_bert_attention_op13 | opset23_llama) DYN=1 ;;
	*) DYN=0 ;;
	esac
	case $m in
	ort_dynq_fused_op13)
		# Already int8 (quantize_dynamic's MatMuls as ONNX Runtime's optimizer saves
		# them): quantize refuses it by design; the file itself is run (both sizes),
		# checked against ONNX Runtime, simulated and timed.
		M=$D/$m.onnx IN=$D/data/$m.in.npz ALT=$D/data/$m.alt.npz
		mkdir -p "$D/logs" "$D/o" "$D/bench"
		triage_step "$m" inspect "$W" inspect "$M"
		triage_step "$m" run-t1 "$W" run "$M" --input "$IN" --threads 1 --output "$D/o/$m.f1.npz"
		triage_step "$m" ort-f-t1 $PY "$CHECK" ortcheck "$M" "$IN" "$D/o/$m.f1.npz" 60
		triage_step "$m" alt-f "$W" run "$M" --input "$ALT" --output "$D/o/$m.altf.npz"
		triage_step "$m" ort-alt-f $PY "$CHECK" ortcheck "$M" "$ALT" "$D/o/$m.altf.npz" 60
		# shellcheck disable=SC2086 # SHAPE holds several flags
		triage_step "$m" sim "$W" sim "$M" $SHAPE
		# shellcheck disable=SC2086
		triage_step "$m" bench "$W" bench cpu "$M" --ort --threads 1 --iterations 10 --rounds 1 --warmup 1 $SHAPE --json
		continue
		;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (token ids, lengths, masks, scales,
	# positions) come from the sample.
	case $m in
	vits_piper_op15 | superglue_sinkhorn_op13 | lenreg_repeat_op13 | ort_bert_attention_op13 | opset23_llama)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
