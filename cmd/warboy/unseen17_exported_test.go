package main

import (
	"testing"
)

// The unseen17 families fixed in the twenty-second session against ONNX
// Runtime's outputs (scripts/make_unseen17_testdata.py; docs/models.md, "Unseen
// set 17 (twenty-second session)"), at 1 and 2 threads.
func TestUnseen17AsORT(t *testing.T) {
	for _, c := range []struct {
		name, model string
		outs        []string
		tol         float64
	}{
		// One decoder step with the Hugging Face logits processors and
		// torch.multinomial at top_p 0 (one token left: a deterministic draw).
		// Before: `Multinomial "/Multinomial": unsupported operator`.
		{"sampling decoder step", "sampling_decode_op15", []string{"next_token", "probs"}, 1e-5},
		// Multinomial with sample_size 3 and dtype int64, one class per row.
		{"Multinomial spellings", "multinomial_ops", []string{"draws", "probs"}, 1e-6},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model+".onnx", "npz_u17_"+c.model, nil, c.outs, c.tol, 1, 2)
		})
	}
}
