package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// GroupQueryAttention and MultiHeadAttention refuse, when the model is read,
// what their expansion does not express, naming the node and the attribute or
// input (their results are checked against ONNX Runtime by
// TestORTContribAttentionAsORT, cmd/warboy).
func TestExpandContribAttentionRefusals(t *testing.T) {
	gqa := func(attrs map[string]*Attr, ins []string, outs ...string) *Node {
		if len(outs) == 0 {
			outs = []string{"y"}
		}
		a := map[string]*Attr{"num_heads": IntAttr("num_heads", 2), "kv_num_heads": IntAttr("kv_num_heads", 1)}
		for k, v := range attrs {
			a[k] = v
		}
		return &Node{Name: "gqa", OpType: "GroupQueryAttention", Domain: msDomain, Inputs: ins, Outputs: outs, Attrs: a}
	}
	mha := func(attrs map[string]*Attr, ins []string, outs ...string) *Node {
		if len(outs) == 0 {
			outs = []string{"y"}
		}
		a := map[string]*Attr{"num_heads": IntAttr("num_heads", 2)}
		for k, v := range attrs {
			a[k] = v
		}
		return &Node{Name: "mha", OpType: "MultiHeadAttention", Domain: msDomain, Inputs: ins, Outputs: outs, Attrs: a}
	}
	qkv := []string{"x", "x", "x", "", "", "lens", "lens"}
	for _, tc := range []struct {
		name  string
		node  *Node
		opset int64
		want  string
	}{
		{"gqa qk output", gqa(nil, qkv, "y", "", "", "qk"), 17, `GroupQueryAttention "gqa": unsupported: the output_qk output`},
		{"gqa qk_output attribute", gqa(map[string]*Attr{"qk_output": IntAttr("qk_output", 1)}, qkv), 17, "unsupported: the output_qk output (qk_output 1)"},
		{"gqa quantized cache", gqa(map[string]*Attr{"k_quant_type": StringAttr("k_quant_type", "PER_CHANNEL")}, qkv), 17,
			`GroupQueryAttention "gqa": unsupported: k_quant_type "PER_CHANNEL" (quantized KV caches)`},
		{"gqa cache bits", gqa(map[string]*Attr{"kv_cache_bit_width": IntAttr("kv_cache_bit_width", 4)}, qkv), 17, "kv_cache_bit_width 4"},
		{"gqa k_scale", gqa(nil, append(append([]string{}, qkv...), "", "", "", "", "", "x")), 17, "k_scale/v_scale"},
		{"gqa heads", gqa(map[string]*Attr{"kv_num_heads": IntAttr("kv_num_heads", 3)}, qkv), 17,
			"num_heads 2 and kv_num_heads 3: both positive, num_heads a multiple of kv_num_heads"},
		{"gqa rotary without caches", gqa(map[string]*Attr{"do_rotary": IntAttr("do_rotary", 1)}, qkv), 17,
			`GroupQueryAttention "gqa": do_rotary needs cos_cache and sin_cache`},
		{"gqa one cache", gqa(nil, append(append([]string{}, qkv...), "w")), 17, "cos_cache and sin_cache must be given together"},
		{"gqa no seqlens", gqa(nil, []string{"x", "x", "x"}), 17, "needs query, seqlens_k and total_sequence_length"},
		{"gqa negative softcap", gqa(map[string]*Attr{"softcap": FloatAttr("softcap", -1)}, qkv), 17, "softcap -1 must not be negative"},
		{"gqa opset 10", gqa(nil, qkv), 10, `GroupQueryAttention "gqa": unsupported: opset 10`},
		{"mha packed qkv", mha(nil, []string{"x"}), 17, `MultiHeadAttention "mha": unsupported: packed QKV`},
		{"mha packed kv", mha(nil, []string{"x", "x"}), 17, `MultiHeadAttention "mha": unsupported: packed KV`},
		{"mha past_sequence_length", mha(nil, []string{"x", "x", "x", "", "", "", "", "", "lens"}), 17, "unsupported: past_sequence_length"},
		{"mha cache_indirection", mha(nil, []string{"x", "x", "x", "", "", "", "", "", "", "lens"}), 17, "unsupported: cache_indirection (beam search)"},
		{"mha qk output", mha(nil, []string{"x", "x", "x"}, "y", "", "", "qk"), 17, `MultiHeadAttention "mha": unsupported: the output_qk output`},
		{"mha heads", mha(map[string]*Attr{"num_heads": IntAttr("num_heads", 0)}, []string{"x", "x", "x"}), 17, "num_heads 0 must be positive"},
		{"mha key rank", mha(nil, []string{"x", "lens", "x"}), 17, `unsupported: key "lens" of rank 1`},
		{"mha 4-D mask", mha(nil, []string{"x", "x", "x", "", "m4"}), 17, "mask_index of rank 4"},
		{"mha past alone", mha(nil, []string{"x", "x", "x", "", "", "", "x"}), 17, "past_key and past_value must be given together"},
		{"ms dequantize int64", &Node{Name: "dq", OpType: "DequantizeLinear", Domain: msDomain, Inputs: []string{"lens", "w", "lens"},
			Outputs: []string{"y"}, Attrs: map[string]*Attr{}}, 17, `DequantizeLinear "dq": unsupported: zero point of type int64`},
		{"qattention run-time weights", &Node{Name: "qa", OpType: "QAttention", Domain: msDomain,
			Inputs: []string{"x", "x", "w", "w", "w"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"num_heads": IntAttr("num_heads", 1)}},
			17, `QAttention "qa": unsupported: weight "x" and weight_scale "w" computed at run time`},
		{"qattention past", &Node{Name: "qa", OpType: "QAttention", Domain: msDomain,
			Inputs: []string{"x", "w2", "w", "w", "w", "", "", "", "x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{}},
			17, `QAttention "qa": unsupported: a past state`},
		{"gather block quantized run-time table", &Node{Name: "gbq", OpType: "GatherBlockQuantized", Domain: msDomain,
			Inputs: []string{"x", "lens", "w"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{}},
			17, `GatherBlockQuantized "gbq": unsupported: data "x" and scales "w" computed at run time`},
		{"gather block quantized float table", &Node{Name: "gbq", OpType: "GatherBlockQuantized", Domain: msDomain,
			Inputs: []string{"w", "lens", "w"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{}},
			17, `GatherBlockQuantized "gbq": unsupported: data of type float32 (packed uint8 only)`},
	} {
		m := withInput(t, oneNodeModel(t, tc.node, tc.opset), "m4", 4)
		_, err := Decode(m)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

// BlockQuantizedTable checks the table against its sizes before reading it.
func TestBlockQuantizedTableSizes(t *testing.T) {
	_, err := BlockQuantizedTable(2, 32, 4, 16, make([]uint8, 31), make([]float32, 4), nil)
	assert.ErrorContains(t, err, "data has 31 bytes, expected 2 rows of 32 4-bit values")
	_, err = BlockQuantizedTable(2, 32, 4, 16, make([]uint8, 32), make([]float32, 3), nil)
	assert.ErrorContains(t, err, "scales has 3 values, expected rows·blocks = 2·2")
	_, err = BlockQuantizedTable(2, 32, 4, 12, make([]uint8, 32), make([]float32, 6), nil)
	assert.ErrorContains(t, err, "block_size a power of 2")
	got, err := BlockQuantizedTable(1, 32, 4, 16, append([]uint8{0x21}, make([]uint8, 15)...), []float32{0.5, 2}, []uint8{0x19})
	assert.NoError(t, err)
	assert.Equal(t, []float32{-4, -3.5, -4.5, -4.5}, got[:4]) // fields 1, 2, 0, 0 less zero point 9, times 0.5
	assert.Equal(t, float32(-2), got[16])                     // block 2: 0 less zero point 1, times 2
}
