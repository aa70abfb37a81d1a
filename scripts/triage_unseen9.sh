#!/bin/sh
# Triage of the --unseen9 export set (fourteenth session; docs/models.md, "Unseen
# families, set 9 (fourteenth session)"). Per model (scripts/triagelib.sh): inspect,
# float32 run against ONNX Runtime (1 thread; THREADS="1 2" for both), quantize
# (4 samples), the int8 QDQ file against ONNX Runtime on the same file, compare, the
# QOperator form against ONNX Runtime, sim, the .alt.npz sizes, `quantize --dynamic`
# for the sequence models, and a triage `bench cpu --ort` (1 thread, 10 runs).
#   scripts/triage_unseen9.sh [DIR] [MODEL ...]     (DIR: out/bench-models-unseen9)
# Logs in DIR/logs/M.STEP.txt, bench JSON in DIR/bench/; a line per step "M STEP ok|FAIL".
set -u
D=${1:-out/bench-models-unseen9}
[ $# -gt 0 ] && shift
W=${WARBOY:-bin/warboy}
PY=/usr/bin/python3
CHECK=scripts/unseen9_models.py
. "$(dirname "$0")/triagelib.sh"
MODELS=${*:-$($PY -c 'import sys; sys.path.insert(0, "scripts"); import unseen9_models as u; print(" ".join(u.MODELS))')}
for m in $MODELS; do
	# sim and bench need every symbolic size (they never guess one).
	case $m in
	hifigan_dynT) SHAPE="--input-shape mel=1,80,32" ;;
	whisper_stft_op17) SHAPE="--input-shape audio=1,1600" ;;
	unet_pad_dynhw_op11) SHAPE="--input-shape input=1,3,64,96" ;;
	mha_kdim_op14) SHAPE="--input-shape query=1,5,32 --input-shape key=1,7,24 --input-shape value=1,7,20 --input-shape key_padding_mask=1,7" ;;
	tf2onnx_bert_int32) SHAPE="--input-shape input_ids=1,24 --input-shape input_mask=1,24 --input-shape segment_ids=1,24" ;;
	dynamo_op18) SHAPE="--input-shape x=1,3,32,32" ;;
	constants_op15) SHAPE="--input-shape x=1,4,16,16" ;;
	scatter_add_op16) SHAPE="--input-shape feats=1,12,16 --input-shape seg=1,12 --input-shape idx=1,4" ;;
	seq2seq_lstmcell) SHAPE="--input-shape src=1,9" ;;
	vit_interp_pos_dynhw_op13) SHAPE="--input-shape image=1,3,48,64" ;;
	*) SHAPE="" ;;
	esac
	case $m in
	mha_kdim_op14 | tf2onnx_bert_int32 | scatter_add_op16 | seq2seq_lstmcell | whisper_stft_op17) DYN=1 ;;
	*) DYN=0 ;;
	esac
	triage_model "$m" "$SHAPE" $DYN "${THREADS:-1}"
	# Inputs whose meaning bench cannot draw (ids, masks, segment and index
	# tensors) come from the sample.
	case $m in
	mha_kdim_op14 | tf2onnx_bert_int32 | scatter_add_op16 | seq2seq_lstmcell)
		triage_bench "$m" --input "$D/data/$m.in.npz" ;;
	# shellcheck disable=SC2086 # SHAPE holds several flags
	*) triage_bench "$m" $SHAPE ;;
	esac
done
