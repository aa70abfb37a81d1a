#!/bin/sh
# Triage of the --unseen5 export set (tenth session; docs/models.md, "Unseen
# families (tenth session)"). Per model (scripts/triagelib.sh): inspect, float32 run
# against ONNX Runtime (1 and 2 threads, both sides), quantize (4 samples), the int8
# QDQ file against ONNX Runtime on the same file (1 and 2 threads), compare, the
# QOperator form against ONNX Runtime, sim, and for models with symbolic sizes the
# float32 and int8 files at other sizes (DIR/data/M.alt.npz).
#   scripts/triage_unseen5.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen5)
# Logs in DIR/logs/M.STEP.txt; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen5}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen5_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen5_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim needs every symbolic size (it never guesses one).
	case $m in
	gru_cls | bilstm_cls) SIMSHAPE="--input-shape input=1,20,40" ;;
	encoder_mask) SIMSHAPE="--input-shape input=1,16,32 --input-shape pad=1,16" ;;
	*) SIMSHAPE="" ;;
	esac
	triage_model "$m" "$SIMSHAPE" 0 "1 2"
done
