#!/bin/sh
# Triage of the --unseen6 export set (eleventh session; docs/models.md, "Unseen
# families (eleventh session)"). Per model (scripts/triagelib.sh): inspect, float32
# run against ONNX Runtime (1 and 2 threads, both sides), quantize (4 samples), the
# int8 QDQ file against ONNX Runtime on the same file (1 and 2 threads), compare, the
# QOperator form against ONNX Runtime, sim, for models with symbolic sizes the float32
# and int8 files at other sizes (DIR/data/M.alt.npz), and for the models with
# recurrent or MatMul layers `quantize --dynamic` against ONNX Runtime.
#   scripts/triage_unseen6.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen6)
# Logs in DIR/logs/M.STEP.txt; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen6}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen6_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen6_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim needs every symbolic size (it never guesses one).
	case $m in
	slicenet_op10_dynhw) SIMSHAPE="--input-shape input=1,3,64,64" ;;
	resize_modes_op11) SIMSHAPE="--input-shape input=1,3,96,96" ;;
	uint8_nhwc) SIMSHAPE="--input-shape image=1,96,96,3" ;;
	einsum_where) SIMSHAPE="--input-shape input=1,20,48" ;;
	kv_cache_step) SIMSHAPE="--input-shape x=1,1,64 --input-shape past_key=1,4,12,16 --input-shape past_value=1,4,12,16" ;;
	crnn_ctc) SIMSHAPE="--input-shape input=1,1,32,128" ;;
	rnn_tanh_op14) SIMSHAPE="--input-shape input=1,15,24" ;;
	tconv1d) SIMSHAPE="--input-shape input=1,1,1024" ;;
	tf2onnx_op13) SIMSHAPE="--input-shape input=1,48,48,3" ;;
	embbag_op13) SIMSHAPE="--input-shape tokens=20 --input-shape offsets=4" ;;
	*) SIMSHAPE="" ;;
	esac
	case $m in
	crnn_ctc | kv_cache_step | einsum_where | mixer_gelu_tanh | rnn_tanh_op14 | scatter_cumsum | embbag_op13) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SIMSHAPE" $DYN "1 2"
done
