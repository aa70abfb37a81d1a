#!/bin/sh
# Triage of the unseen13 export set (eighteenth session; docs/models.md, "Unseen
# families, set 13 (eighteenth session)"). Per model (scripts/triagelib.sh): inspect,
# float run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples, the default method), the int8 QDQ file against ONNX Runtime on the same
# file, compare, the QOperator form against ONNX Runtime, sim, the .alt.npz sizes,
# `quantize --dynamic` for the transformer-like models, and a triage `bench cpu --ort`
# (1 thread, 10 runs).
#   /usr/bin/python3 scripts/export_benchmodels.py --unseen13   (writes out/bench-models-unseen13)
#   scripts/triage_unseen13.sh [DIR] [MODEL ...]                (DIR: out/bench-models-unseen13)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen13}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen13_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen13_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	mamba_scan_op13) SHAPE="--input-shape x=2,24,16" ;;
	rwkv_loop_script_op13) SHAPE="--input-shape tokens=2,16" ;;
	convlstm_script_op13) SHAPE="--input-shape frames=2,5,1,32,32" ;;
	pwcnet_corr_dynhw_op16) SHAPE="--input-shape im1=1,3,64,64 --input-shape im2=1,3,64,64" ;;
	tf2onnx_cropresize_op13) SHAPE="--input-shape image=2,64,64,3 --input-shape boxes=5,4 --input-shape box_ind=5" ;;
	paddle_ocr_rec_dynw_op11) SHAPE="--input-shape x=1,3,32,100" ;;
	preproc_aa_op18) SHAPE="--input-shape image=90,120,3" ;;
	kan_spline_op13) SHAPE="--input-shape x=16,8" ;;
	tabnet_sparsemax_op13) SHAPE="--input-shape num=8,10 --input-shape cat=8,2" ;;
	skl2onnx_cdist_scan_op9) SHAPE="--input-shape X=12,6" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	rwkv_loop_script_op13 | kan_spline_op13 | tabnet_sparsemax_op13) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (token ids, image sizes, boxes and their
	# image indices, category ids) come from the sample.
	case $m in
	rwkv_loop_script_op13 | rtdetr_post_op16 | tf2onnx_cropresize_op13 | tabnet_sparsemax_op13 | preproc_aa_op18)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
