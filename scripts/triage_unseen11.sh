#!/bin/sh
# Triage of the unseen11 export set (sixteenth session; docs/models.md, "Unseen
# families, set 11 (sixteenth session)"). Per model (scripts/triagelib.sh): inspect,
# float run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples), the int8 QDQ file against ONNX Runtime on the same file, compare, the
# QOperator form against ONNX Runtime, sim, the .alt.npz sizes, `quantize --dynamic`
# for the transformer-like models, and a triage `bench cpu --ort` (1 thread, 10 runs).
#   /usr/bin/python3 scripts/unseen11_models.py export      (writes out/bench-models-unseen11)
#   scripts/triage_unseen11.sh [DIR] [MODEL ...]            (DIR: out/bench-models-unseen11)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen11}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen11_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen11_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	optional_script_op15) SHAPE="--input-shape x=1,3,16,16" ;;
	cls_loss_op13) SHAPE="--input-shape x=8,32 --input-shape labels=8" ;;
	loop_cat_script_op13) SHAPE="--input-shape x=2,3" ;;
	misc_elem_dyn_op11) SHAPE="--input-shape x=2,5" ;;
	ort_ext_bert_op13) SHAPE="--input-shape input_ids=2,16 --input-shape token_type_ids=2,16 --input-shape attention_mask=2,16" ;;
	caffe2_lp_op11) SHAPE="--input-shape x=1,3,24,24" ;;
	tf2onnx_revseq_op13) SHAPE="--input-shape x=2,12,8 --input-shape lens=2" ;;
	passthrough_io_op13) SHAPE="--input-shape img=2,3,16,16 --input-shape ids=2,4 --input-shape flag=2 --input-shape pix=2,6" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	cls_loss_op13 | ort_ext_bert_op13) DYN=1 ;;
	*) DYN=0 ;;
	esac
	case $m in
	qresnet18_perchan_op13 | qat_fakequant_op13 | ort_qop_squeeze_op13)
		# Already int8 (quantized by PyTorch, a QAT export, ONNX Runtime's QOperator
		# format): quantize refuses them by design; the file itself is run, checked
		# against ONNX Runtime, compared with ONNX Runtime's own output, simulated and timed.
		M=$D/$m.onnx IN=$D/data/$m.in.npz
		mkdir -p "$D/logs" "$D/o" "$D/bench"
		triage_step "$m" inspect "$W" inspect "$M"
		triage_step "$m" run-t1 "$W" run "$M" --input "$IN" --threads 1 --output "$D/o/$m.f1.npz"
		triage_step "$m" ort-f-t1 $PY "$CHECK" ortcheck "$M" "$IN" "$D/o/$m.f1.npz" 30
		triage_step "$m" sim "$W" sim "$M"
		triage_step "$m" bench "$W" bench cpu "$M" --ort --threads 1 --iterations 10 --rounds 1 --warmup 1 --json
		continue
		;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (labels, lengths, token ids, loop counts)
	# come from the sample.
	case $m in
	optional_script_op15 | cls_loss_op13 | loop_cat_script_op13 | ort_ext_bert_op13 | tf2onnx_revseq_op13 | passthrough_io_op13)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
