#!/bin/sh
# Triage of the unseen14 export set (nineteenth session; docs/models.md, "Unseen
# families, set 14 (nineteenth session)"). Per model (scripts/triagelib.sh): inspect,
# float run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples, the default method), the int8 QDQ file against ONNX Runtime on the same
# file, compare, the QOperator form against ONNX Runtime, sim, the .alt.npz sizes,
# `quantize --dynamic` for the models with a MatMul on a symbolic batch, and a triage
# `bench cpu --ort` (1 thread, 10 runs).
#   /usr/bin/python3 scripts/export_benchmodels.py --unseen14   (writes out/bench-models-unseen14)
#   scripts/triage_unseen14.sh [DIR] [MODEL ...]                (DIR: out/bench-models-unseen14)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen14}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen14_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen14_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	logmel_dft_op17) SHAPE="--input-shape audio=2,4000" ;;
	spectral_mask_idft_op17) SHAPE="--input-shape frames=1,16,48,1" ;;
	skl2onnx_logreg_ml) SHAPE="--input-shape float_input=16,10" ;;
	skl2onnx_forest_reg_ml) SHAPE="--input-shape X=16,8" ;;
	skl2onnx_gbdt_cls_ml) SHAPE="--input-shape input=16,6" ;;
	pointpillars_scatter_op18) SHAPE="--input-shape points=200,4 --input-shape pillar_id=200" ;;
	int4_unpack_bitwise_op18) SHAPE="--input-shape x=8,32 --input-shape token=8" ;;
	lraspp_dyn_nhw_op13) SHAPE="--input-shape input=1,3,128,160" ;;
	textcnn_dynT_op13) SHAPE="--input-shape tokens=2,40" ;;
	capsnet_routing_op13) SHAPE="--input-shape x=2,1,28,28" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	skl2onnx_logreg_ml | int4_unpack_bitwise_op18 | textcnn_dynT_op13) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (token ids, point-to-pillar indices, NaNs)
	# come from the sample.
	case $m in
	pointpillars_scatter_op18 | int4_unpack_bitwise_op18 | textcnn_dynT_op13 | skl2onnx_gbdt_cls_ml)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
