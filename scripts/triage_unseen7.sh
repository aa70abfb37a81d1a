#!/bin/sh
# Triage of the --unseen7 export set (twelfth session; docs/models.md, "Unseen
# families (twelfth session)"). Per model (scripts/triagelib.sh): inspect, float32
# run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize (4 samples),
# the int8 QDQ file against ONNX Runtime on the same file, compare, the QOperator
# form against ONNX Runtime, sim, the .alt.npz sizes, `quantize --dynamic` for the
# recurrent/attention models, and a triage `bench cpu --ort` (1 thread, 10 runs).
#   scripts/triage_unseen7.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen7)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen7}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen7_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen7_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	style_in_op11) SHAPE="--input-shape input=1,3,64,64" ;;
	pixshuf_op9_dynhw) SHAPE="--input-shape input=1,3,48,48" ;;
	conformer_dynT) SHAPE="--input-shape feats=1,100,80 --input-shape lengths=1" ;;
	albert_shared) SHAPE="--input-shape input_ids=1,24 --input-shape token_type_ids=1,24 --input-shape attention_mask=1,24" ;;
	bigru_h0) SHAPE="--input-shape x=16,1,20 --input-shape h0=4,1,32" ;;
	einsum3_op12) SHAPE="--input-shape input=2,16" ;;
	keepinit_op9) SHAPE="--input-shape input=1,3,64,64" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	conformer_dynT | albert_shared | bigru_h0 | einsum3_op12) DYN=1 ;;
	*) DYN=0 ;;
	esac
	if [ "$m" = qmobilenet_torchq ]; then
		# Already int8 (quantized by PyTorch): quantize refuses it by design; the
		# file itself is run, checked, simulated and timed.
		M=$D/$m.onnx IN=$D/data/$m.in.npz
		mkdir -p "$D/logs" "$D/o" "$D/bench"
		triage_step "$m" inspect "$W" inspect "$M"
		triage_step "$m" run-t1 "$W" run "$M" --input "$IN" --threads 1 --output "$D/o/$m.f1.npz"
		triage_step "$m" ort-f-t1 $PY "$CHECK" ortcheck "$M" "$IN" "$D/o/$m.f1.npz" 30
		triage_step "$m" sim "$W" sim "$M"
		triage_step "$m" bench "$W" bench cpu "$M" --ort --threads 1 --iterations 10 --rounds 1 --warmup 1 --json
		continue
	fi
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	if [ "$m" = tinyyolo_op8 ]; then
		# ONNX Runtime's Pad fusion folds the ZeroPad2d before the stride-1 MaxPool
		# into the pool's (-inf) padding: its optimized output is wrong where the
		# padded row and column win over negative values; unoptimized it is right.
		triage_step "$m" ort-f-noopt $PY "$CHECK" ortcheck "$M" "$D/data/$m.in.npz" "$D/o/$m.f1.npz" 60 --ort-opt disabled
	fi
	# Inputs whose meaning bench cannot draw (lengths, masks, ids) come from the sample.
	case $m in
	conformer_dynT | albert_shared) triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
