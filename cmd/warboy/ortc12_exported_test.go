package main

import "testing"

// ONNX Runtime's contrib attention operators, expanded at load
// (graph/expand_ms_attention.go), against ONNX Runtime 1.30's outputs on the
// same inputs (scripts/make_ortc12_testdata.py; sample 0 a prompt, sample 1 a
// decode step).
func TestORTContribAttentionAsORT(t *testing.T) {
	for _, c := range []struct {
		name, model string
		outs        []string
		tol         float64
	}{
		// onnxruntime-genai's decoder layer: GroupQueryAttention with rotary, 4
		// query heads over 2 key/value heads, an empty past then a past of 6.
		// Before: `GroupQueryAttention "attn": unsupported operator`.
		{"genai GQA layer", "ortc12_genai_gqa", []string{"logits", "present.0.key", "present.0.value"}, 1e-4},
		// Packed QKV + partial interleaved rotary + local window, softcap +
		// attention_bias + head_sink, smooth_softmax + scale + position_ids,
		// kv_num_heads = num_heads; a right-padded prompt, a decode step with
		// pasts of unequal lengths in a longer buffer.
		{"GQA spellings", "ortc12_gqa_ops", []string{"y_packed", "y_softcap", "y_smooth", "y_mha"}, 1e-4},
		// MultiHeadAttention: bias + 2-D mask, 4-D cross-attention key/value,
		// past + unidirectional + present, 1-D lengths + scale, 3-D mask +
		// attention_bias. Before: `MultiHeadAttention "mha_bias_mask": unsupported operator`.
		// And com.microsoft Attention, unidirectional at mask_filter_value -3
		// (before: the future keys filled -3, 10.4 from ONNX Runtime).
		{"MHA spellings", "ortc12_mha_ops", []string{"y_bias_mask", "y_cross", "y_self", "present_k", "present_v", "y_lens",
			"y_mask3", "y_attn_causal"}, 1e-4},
		// com.microsoft QuantizeLinear/DequantizeLinear (uint16, int16 per tensor;
		// int8 per axis) and QAttention after DynamicQuantizeLinear (per-column and
		// per-tensor weight scales, 1-D mask, unidirectional), GatherBlockQuantized
		// (4-bit packed with zero points, 8-bit without). Before:
		// `QuantizeLinear "xq16": unsupported operator`.
		{"com.microsoft quantization ops", "ortc12_ms_quant_ops", []string{"y16", "y16i", "y8", "y_qattn", "y_qattn_causal",
			"e4", "e8"}, 1e-4},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model+".onnx", "npz_"+c.model, nil, c.outs, c.tol, 1, 2)
		})
	}
}
