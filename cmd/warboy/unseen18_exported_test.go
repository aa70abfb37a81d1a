package main

import (
	"testing"
)

// The twenty-third session's unseen18 triage (docs/models.md, "Unseen set 18
// (twenty-third session)"): small exports and their ONNX Runtime outputs, made
// by scripts/make_unseen18_testdata.py, at two sizes of their symbolic
// dimensions.
func TestUnseen18AsORT(t *testing.T) {
	for _, c := range []struct {
		name, model string
		outs        []string
		tol         float64
	}{
		// Two Mamba-2 blocks: the chunked SSD's four- and three-operand Einsums
		// on a symbolic length. Before: a direct loop over every label (float32
		// 5.7x ONNX Runtime); now contracted pairwise.
		{"Mamba-2 chunked SSD", "mamba2_ssd_op14", []string{"logits", "final_states"}, 1e-4},
		// LoFTR's linear attention (three operands), a label one operand
		// sums alone, an output order differing from the last product's.
		{"pairwise Einsums", "einsum_pairwise_ops", []string{"attn", "summed", "chain"}, 1e-5},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model+".onnx", "npz_u18_"+c.model, nil, c.outs, c.tol, 1, 2)
		})
	}
}
