package graph

// The opset-23 operators the torch dynamo exporter writes for decoder models
// (nn.RMSNorm, rotary embeddings, scaled_dot_product_attention), expanded when
// a model is read (graph/expand.go; twenty-first session, the unseen16 set):
//   - RMSNormalization: x / sqrt(mean(x²) + epsilon) · scale over the axes from
//     axis on, as SimplifiedLayerNormalization (graph/expand_genai.go);
//   - RotaryEmbedding: the com.microsoft operator of the same formula
//     (graph/ops_rotary.go) with its inputs reordered (X, position_ids, cos,
//     sin); the layouts agree ([B, S, hidden] with num_heads, [B, heads, S,
//     head]); caches indexed by batch and token (no position_ids) are refused;
//   - Attention: 4-D [B, heads, S, head] or 3-D [B, S, hidden] inputs (with
//     q_num_heads and kv_num_heads), grouped-query key/value heads repeated to
//     the query heads at run time, past_key/past_value concatenated (the present
//     outputs), a bool or additive attn_mask, is_causal (without a past:
//     upper-left and lower-right alignment agree), scale (default
//     1/sqrt(head)). softcap and the qk_matmul_output output are refused.

import "fmt"

func init() {
	registerExpansion("", "RMSNormalization", expandSimplifiedLayerNorm)
	registerExpansion("", "RotaryEmbedding", expandRotary23)
	registerExpansion("", "Attention", expandAttention23)
}

func expandRotary23(e *expander, n *Node) error {
	x, cos, sin, pid := in(n, 0), in(n, 1), in(n, 2), in(n, 3)
	if x == "" || cos == "" || sin == "" {
		return fmt.Errorf("needs X, cos_cache and sin_cache")
	}
	if pid == "" {
		return refuse("caches per batch and token without position_ids")
	}
	var attrs []*Attr
	for _, name := range []string{"interleaved", "num_heads", "rotary_embedding_dim"} {
		if a := n.Attrs[name]; a != nil {
			attrs = append(attrs, a)
		}
	}
	e.op("RotaryEmbedding", msDomain, n.Output(0), []string{x, pid, cos, sin}, attrs...)
	return nil
}

// kvHeads repeats the key/value heads of x [B, kvh, T, D] to the query heads of
// q [B, qh, S, D] (qh a multiple of kvh): [B, kvh, 1, T, D] expanded to
// [B, kvh, qh/kvh, T, D] and reshaped, all from run-time sizes (group 1: a copy).
func (e *expander) kvHeads(x, q string) string {
	sx := e.std("Shape", "", []string{x})
	group := e.std("Div", "", []string{e.dim(q, 1), e.dim(x, 1)})
	head := func(a, b int64) string { return e.std("Slice", "", []string{sx, e.ints(a), e.ints(b), e.ints(0)}) }
	shape5 := e.std("Concat", "", []string{head(0, 2), group, head(2, 4)}, IntAttr("axis", 0))
	x5 := e.std("Expand", "", []string{e.unsqueeze(x, 2), shape5})
	shape4 := e.std("Concat", "", []string{head(0, 1), e.dim(q, 1), head(2, 4)}, IntAttr("axis", 0))
	return e.std("Reshape", "", []string{x5, shape4})
}

func expandAttention23(e *expander, n *Node) error {
	q, k, v, mask, pastK, pastV := in(n, 0), in(n, 1), in(n, 2), in(n, 3), in(n, 4), in(n, 5)
	switch {
	case q == "" || k == "" || v == "":
		return fmt.Errorf("needs Q, K and V")
	case (pastK == "") != (pastV == ""):
		return fmt.Errorf("past_key and past_value must be given together")
	case in(n, 6) != "":
		return refuse("nonpad_kv_seqlen")
	case n.Output(3) != "":
		return refuse("the qk_matmul_output output")
	case n.AttrFloat("softcap", 0) != 0:
		return refuse("softcap %g", n.AttrFloat("softcap", 0))
	case n.AttrInt("is_causal", 0) != 0 && pastK != "":
		return refuse("is_causal with a past state (the alignment of the causal mask differs between readings of the operator)")
	}
	qh, kvh := n.AttrInt("q_num_heads", 0), n.AttrInt("kv_num_heads", 0)
	rank3 := qh > 0 || kvh > 0
	if rank3 {
		if qh <= 0 || kvh <= 0 || qh%kvh != 0 {
			return fmt.Errorf("q_num_heads %d and kv_num_heads %d: both positive, q a multiple of kv", qh, kvh)
		}
		q = e.splitHeads(q, qh, []int64{0, 2, 1, 3})
		k = e.splitHeads(k, kvh, []int64{0, 2, 1, 3})
		v = e.splitHeads(v, kvh, []int64{0, 2, 1, 3})
	}
	if pastK != "" {
		k = e.std("Concat", "", []string{pastK, k}, IntAttr("axis", 2))
		v = e.std("Concat", "", []string{pastV, v}, IntAttr("axis", 2))
	}
	if o := n.Output(1); o != "" {
		e.std("Identity", o, []string{k})
	}
	if o := n.Output(2); o != "" {
		e.std("Identity", o, []string{v})
	}
	kr, vr := e.kvHeads(k, q), e.kvHeads(v, q)
	kT := e.std("Transpose", "", []string{kr}, Int64sAttr("perm", []int64{0, 1, 3, 2}))
	var scale string
	if s := n.AttrFloat("scale", 0); s != 0 {
		scale = e.scalar(float64(s), Float32)
	} else {
		scale = e.invSqrtLastDim(q)
	}
	var biases []string
	if mask != "" {
		if e.dtypeOf(mask) == Bool {
			biases = append(biases, e.keepBias(mask, negInf))
		} else {
			biases = append(biases, mask)
		}
	}
	if n.AttrInt("is_causal", 0) != 0 {
		biases = append(biases, e.causalBias(e.dim(q, 2), e.dim(kr, 2), negInf))
	}
	ctx := e.attend(q, kT, vr, scale, biases)
	if rank3 {
		e.mergeHeads(ctx, n.Output(0))
	} else {
		e.std("Identity", n.Output(0), []string{ctx})
	}
	return nil
}
