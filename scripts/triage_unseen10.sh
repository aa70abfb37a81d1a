#!/bin/sh
# Triage of the --unseen10 export set (fifteenth session; docs/models.md, "Unseen
# families, set 10 (fifteenth session)"). Per model (scripts/triagelib.sh): inspect,
# float32 run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples), the int8 QDQ file against ONNX Runtime on the same file, compare, the
# QOperator form against ONNX Runtime, sim, the .alt.npz sizes, `quantize --dynamic`
# for the transformer-like models, and a triage `bench cpu --ort` (1 thread, 10 runs).
#   scripts/triage_unseen10.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen10)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen10}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen10_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen10_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	fastrcnn_roipool_op11) SHAPE="--input-shape rois=6,5" ;;
	paddle_unpool_op11) SHAPE="--input-shape x=1,3,32,32" ;;
	det_metric_op11) SHAPE="--input-shape x=1,3,32,32" ;;
	voxel_unique_op16) SHAPE="--input-shape points=200,3 --input-shape feats=200,4" ;;
	noconstfold_op9) SHAPE="--input-shape x=1,10,32" ;;
	paddle_dbnet_dynhw_op11) SHAPE="--input-shape x=1,3,64,96" ;;
	unet3d_op13) SHAPE="--input-shape x=1,1,8,16,16" ;;
	relpos_dynhw_op13) SHAPE="--input-shape image=1,3,32,48" ;;
	seq_split_op13) SHAPE="--input-shape x=1,6,20" ;;
	gridsample_modes_op16) SHAPE="--input-shape x=1,3,24,24" ;;
	realesrgan_x2_dynhw_op11) SHAPE="--input-shape x=1,3,32,48" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	noconstfold_op9 | relpos_dynhw_op13 | voxel_unique_op16) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (boxes, point clouds) come from the sample.
	case $m in
	fastrcnn_roipool_op11 | voxel_unique_op16 | postproc_select_op13)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
