#!/bin/sh
# Triage of the unseen15 export set (twentieth session; docs/models.md, "Unseen
# families, set 15 (twentieth session)"). Per model (scripts/triagelib.sh): inspect,
# float run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples, the default method), the int8 QDQ file against ONNX Runtime on the same
# file, compare, the QOperator form against ONNX Runtime, sim, the .alt.npz sizes,
# `quantize --dynamic` for the models with MatMuls on symbolic sizes, and a triage
# `bench cpu --ort` (1 thread, 10 runs).
#   /usr/bin/python3 scripts/export_benchmodels.py --unseen15   (writes out/bench-models-unseen15)
#   scripts/triage_unseen15.sh [DIR] [MODEL ...]                (DIR: out/bench-models-unseen15)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen15}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen15_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen15_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	segformer_dynhw_op13) SHAPE="--input-shape x=1,3,64,64" ;;
	deberta_disentangled_op13) SHAPE="--input-shape input_ids=2,20 --input-shape attention_mask=2,20" ;;
	fastspeech2_lenreg_op13) SHAPE="--input-shape phonemes=2,16" ;;
	beam_search_script_op13) SHAPE="--input-shape enc=2,32" ;;
	informer_probsparse_op13) SHAPE="--input-shape series=2,96,7" ;;
	retnet_retention_op14) SHAPE="--input-shape tokens=2,24" ;;
	convnextv2_grn_dynhw_op17) SHAPE="--input-shape x=1,3,64,64" ;;
	superpoint_nms_dynhw_op16) SHAPE="--input-shape image=1,1,64,64" ;;
	dcnv2_deformconv_op19) SHAPE="--input-shape x=1,3,48,48" ;;
	ortgenai_int4_llama) SHAPE="--input-shape input_ids=2,12 --input-shape position_ids=2,12" ;;
	skl2onnx_coltrans_mlp_ml) SHAPE="--input-shape num=16,5 --input-shape cat=16,2" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	deberta_disentangled_op13 | retnet_retention_op14 | informer_probsparse_op13 | skl2onnx_coltrans_mlp_ml) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (token ids, masks, phonemes with padding,
	# positions) come from the sample.
	case $m in
	deberta_disentangled_op13 | fastspeech2_lenreg_op13 | retnet_retention_op14 | ortgenai_int4_llama | \
		skl2onnx_coltrans_mlp_ml)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
