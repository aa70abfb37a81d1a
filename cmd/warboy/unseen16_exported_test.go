package main

import (
	"testing"
)

// The exporter spellings of the twenty-first session's unseen16 set that every
// command refused before (scripts/make_unseen16_testdata.py writes them with
// ONNX Runtime's outputs; docs/models.md, "Unseen families, set 16"), two input
// sizes each, at 1 and 2 threads.
func TestUnseen16AsORT(t *testing.T) {
	for _, c := range []struct {
		name, model string
		outs        []string
		tol         float64
	}{
		// Piper's VITS at noise_scale 0: the RandomNormalLike draw is multiplied by
		// zero. Before: `RandomNormalLike "/RandomNormalLike": unsupported operator`.
		{"VITS with RandomNormalLike", "vits_piper_op15", []string{"output"}, 1e-5},
		// onnxruntime.transformers' BERT: EmbedLayerNormalization, Attention with the
		// 1-D mask index, SkipLayerNormalization, BiasGelu. Before:
		// `EmbedLayerNormalization "emb": unsupported operator`.
		{"ORT-optimized BERT", "ort_bert_attention_op13", []string{"last_hidden_state", "pooler_output"}, 1e-4},
		// Attention with a 2-D raw mask (a hole) and unidirectional, qkv_hidden_sizes
		// with a wider V; a scale, an attention_bias input and mask_filter_value;
		// EmbedLayerNormalization from position_ids without segments.
		{"com.microsoft Attention spellings", "ort_attention_ops", []string{"y1", "y2"}, 1e-5},
		// DynamicQuantizeMatMul and MatMulIntegerToFloat. Before:
		// `DynamicQuantizeMatMul "h": unsupported operator`.
		{"ORT-saved dynamic int8", "ort_dynq_fused_op13", []string{"hidden", "logits"}, 1e-5},
		// Opset 23: RMSNormalization, RotaryEmbedding, grouped-query causal Attention.
		// Before: `RMSNormalization "x1": unsupported operator`.
		{"opset-23 Llama layer", "opset23_llama", []string{"logits", "present_key", "present_value"}, 1e-4},
		// Attention on 3-D inputs with q/kv_num_heads, a past, a bool mask, a scale;
		// RotaryEmbedding 3-D interleaved with a partial rotary dimension.
		{"opset-23 Attention spellings", "opset23_attention_ops", []string{"y", "present_k", "present_v"}, 1e-5},
		// int4/uint4 weights by DequantizeLinear-21 with block_size (ONNX Runtime's
		// outputs without its graph optimizations). Before: `tensor "w0_q":
		// unsupported data type dtype(22)`.
		{"blockwise int4 QDQ", "int4_blockwise_qdq_op21", []string{"logits"}, 1e-5},
		// skl2onnx's KNN with com.microsoft CDist. Before: `CDist "dist": unsupported operator`.
		{"skl2onnx KNN CDist", "skl2onnx_knn_cdist_ml", []string{"label", "probabilities"}, 1e-5},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model+".onnx", "npz_u16_"+c.model, nil, c.outs, c.tol, 1, 2)
		})
	}
}
