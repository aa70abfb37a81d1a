package graph

// com.microsoft operators of ONNX Runtime's own tools, expanded into standard
// operators when a model is read (graph/expand.go; twenty-first session, the
// unseen16 set):
//   - EmbedLayerNormalization and Attention, which onnxruntime.transformers'
//     optimizer writes into BERT-style encoders: word + position (+ segment)
//     embeddings and LayerNormalization, the mask index as the count of each
//     row's mask (ONNX Runtime's; right padding); packed QKV attention with a
//     1-D (key lengths), 2-D or 3-D raw mask filled with mask_filter_value,
//     unidirectional, an attention bias input;
//   - DynamicQuantizeMatMul and MatMulIntegerToFloat, which ONNX Runtime's
//     graph optimizer fuses from quantize_dynamic's DynamicQuantizeLinear /
//     MatMulInteger / Cast / Mul chains (and saves with optimized_model_filepath):
//     written back as that chain, int32 products times a_scale·b_scale plus the bias;
//   - CDist, which skl2onnx writes with options {'optim': 'cdist'} (nearest
//     neighbours, Gaussian processes): the pairwise sum of squared differences,
//     its square root for metric euclidean.
// What an expansion does not handle (a past state, rotary, the present output,
// a mask of unknown or other rank, other metrics) is refused naming the node.

import (
	"fmt"
	"math"
)

func init() {
	registerExpansion(msDomain, "EmbedLayerNormalization", expandEmbedLayerNorm)
	registerExpansion(msDomain, "Attention", expandMSAttention)
	registerExpansion(msDomain, "DynamicQuantizeMatMul", expandDynamicQuantizeMatMul)
	registerExpansion(msDomain, "MatMulIntegerToFloat", expandMatMulIntegerToFloat)
	registerExpansion(msDomain, "CDist", expandCDist)
}

func expandEmbedLayerNorm(e *expander, n *Node) error {
	ids, seg, word, pos, segEmb, gamma, beta, mask, posIDs := in(n, 0), in(n, 1), in(n, 2), in(n, 3), in(n, 4),
		in(n, 5), in(n, 6), in(n, 7), in(n, 8)
	if ids == "" || word == "" || pos == "" || gamma == "" || beta == "" {
		return fmt.Errorf("needs input_ids, word_embedding, position_embedding, gamma and beta")
	}
	if (seg == "") != (segEmb == "") {
		return fmt.Errorf("segment_ids and segment_embedding must be given together")
	}
	if e.opset < 10 {
		return refuse("opset %d (the position slice needs Slice-10)", e.opset)
	}
	sum := e.std("Gather", "", []string{word, ids}, IntAttr("axis", 0))
	var p string
	if posIDs != "" {
		p = e.std("Gather", "", []string{pos, posIDs}, IntAttr("axis", 0))
	} else {
		p = e.std("Slice", "", []string{pos, e.ints(0), e.dim(ids, 1), e.ints(0)})
	}
	sum = e.std("Add", "", []string{sum, p})
	if seg != "" {
		sum = e.std("Add", "", []string{sum, e.std("Gather", "", []string{segEmb, seg}, IntAttr("axis", 0))})
	}
	if o := n.Output(2); o != "" {
		sum = e.std("Identity", o, []string{sum})
	}
	e.std("LayerNormalization", n.Output(0), []string{sum, gamma, beta}, IntAttr("axis", -1),
		FloatAttr("epsilon", n.AttrFloat("epsilon", 1e-12)))
	if o := n.Output(1); o != "" {
		if mask == "" {
			return refuse("the mask_index output without a mask input")
		}
		if t := n.AttrInt("mask_index_type", 1); t != 1 {
			return refuse("mask_index_type %d with the mask_index output", t)
		}
		c := e.std("Cast", "", []string{mask}, IntAttr("to", int64(Int64)))
		e.std("Cast", o, []string{e.reduce("ReduceSum", c, []int64{1}, false)}, IntAttr("to", int64(Int32)))
		// The Attention that reads it needs its rank before shape inference runs.
		e.g.Values[o] = &Value{Name: o, DType: Int32, Shape: Shape{{Size: -1}}, HasShape: true}
	}
	return nil
}

// msMaskBias turns Attention's mask_index into an additive bias broadcasting to
// [B, heads, S, T]: 1-D key lengths [B] (keys at or past the length filled),
// raw 2-D [B, T] or 3-D [B, S, T] masks (entries not above 0 filled); keys is
// the key count T as a [1] int64 (the 1-D form's range).
func (e *expander) msMaskBias(mask, keys string, fill float64) (string, error) {
	v := e.g.Values[mask]
	if v == nil || !v.HasShape {
		return "", refuse("mask_index %q of unknown rank (1-D key lengths, 2-D or 3-D raw masks are supported)", mask)
	}
	switch len(v.Shape) {
	case 1:
		lens := e.unsqueeze(e.std("Cast", "", []string{mask}, IntAttr("to", int64(Int64))), 1)
		keep := e.std("Less", "", []string{e.unsqueeze(e.rangeTo(keys), 0), lens})
		return e.unsqueeze(e.keepBias(keep, fill), 1, 2), nil
	case 2, 3:
		mf := e.std("Cast", "", []string{mask}, IntAttr("to", int64(Float32)))
		b := e.keepBias(e.std("Greater", "", []string{mf, e.scalar(0, Float32)}), fill)
		if len(v.Shape) == 2 {
			return e.unsqueeze(b, 1, 2), nil
		}
		return e.unsqueeze(b, 1), nil
	}
	return "", refuse("mask_index of rank %d (1-D key lengths, 2-D or 3-D raw masks are supported)", len(v.Shape))
}

func expandMSAttention(e *expander, n *Node) error {
	x, wName, bias := in(n, 0), in(n, 1), in(n, 2)
	if x == "" || wName == "" {
		return fmt.Errorf("needs input and weights")
	}
	switch {
	case in(n, 4) != "" || in(n, 6) != "":
		return refuse("a past state (past, past_sequence_length)")
	case n.Output(1) != "":
		return refuse("the present output")
	case n.AttrInt("do_rotary", 0) != 0:
		return refuse("do_rotary %d", n.AttrInt("do_rotary", 0))
	case n.AttrInt("past_present_share_buffer", 0) != 0:
		return refuse("past_present_share_buffer")
	case e.opset < 10:
		return refuse("opset %d (the QKV split needs Slice-10)", e.opset)
	}
	h := n.AttrInt("num_heads", 0)
	if h <= 0 {
		return fmt.Errorf("num_heads %d must be positive", h)
	}
	w := e.g.Initializers[wName]
	if w == nil {
		return refuse("weights %q that are not a constant", wName)
	}
	if len(w.Shape) != 2 {
		return fmt.Errorf("weights have shape %v, expected [input_hidden, q+k+v hidden]", w.Shape)
	}
	sizes := n.AttrInts("qkv_hidden_sizes", nil)
	if sizes == nil {
		if w.Shape[1]%3 != 0 {
			return fmt.Errorf("weights have %d columns, not 3 equal q, k, v parts (and no qkv_hidden_sizes)", w.Shape[1])
		}
		c := int64(w.Shape[1] / 3)
		sizes = []int64{c, c, c}
	}
	if len(sizes) != 3 || sizes[0] != sizes[1] || sizes[0]+sizes[1]+sizes[2] != int64(w.Shape[1]) ||
		sizes[0]%h != 0 || sizes[2]%h != 0 {
		return fmt.Errorf("qkv_hidden_sizes %v do not fit weights %v and num_heads %d", sizes, w.Shape, h)
	}
	qkv := e.std("MatMul", "", []string{x, wName})
	if bias != "" {
		qkv = e.std("Add", "", []string{qkv, bias})
	}
	part := func(a, b int64) string {
		return e.std("Slice", "", []string{qkv, e.ints(a), e.ints(b), e.ints(-1)})
	}
	q := e.splitHeads(part(0, sizes[0]), h, []int64{0, 2, 1, 3})
	kT := e.splitHeads(part(sizes[0], 2*sizes[0]), h, []int64{0, 2, 3, 1})
	v := e.splitHeads(part(2*sizes[0], 2*sizes[0]+sizes[2]), h, []int64{0, 2, 1, 3})
	scale := n.AttrFloat("scale", 0)
	if scale == 0 {
		scale = 1 / float32(math.Sqrt(float64(sizes[0]/h)))
	}
	fill := float64(n.AttrFloat("mask_filter_value", -10000))
	var biases []string
	if m := in(n, 3); m != "" {
		b, err := e.msMaskBias(m, e.dim(x, 1), fill)
		if err != nil {
			return err
		}
		biases = append(biases, b)
	}
	if n.AttrInt("unidirectional", 0) != 0 {
		// ONNX Runtime hides the future keys whatever mask_filter_value is
		// (checked: at -3 the outputs equal a -inf mask's, not a -3 one's).
		s := e.dim(x, 1)
		biases = append(biases, e.causalBias(s, s, maskLowest))
	}
	if ab := in(n, 5); ab != "" {
		biases = append(biases, ab)
	}
	e.mergeHeads(e.attend(q, kT, v, e.scalar(float64(scale), Float32), biases), n.Output(0))
	return nil
}

// intMatMulToFloat writes Cast(MatMulInteger(a, b, azp, bzp))·(aScale·bScale)
// (+ bias) into out, as ONNX Runtime's fused kernels compute it.
func (e *expander) intMatMulToFloat(a, b, aScale, bScale, azp, bzp, bias, out string) {
	ins := []string{a, b, azp, bzp}
	for len(ins) > 2 && ins[len(ins)-1] == "" {
		ins = ins[:len(ins)-1]
	}
	acc := e.std("Cast", "", []string{e.std("MatMulInteger", "", ins)}, IntAttr("to", int64(Float32)))
	y := e.std("Mul", "", []string{acc, e.std("Mul", "", []string{aScale, bScale})})
	if bias != "" {
		y = e.std("Add", "", []string{y, bias})
	}
	e.std("Identity", out, []string{y})
}

func expandDynamicQuantizeMatMul(e *expander, n *Node) error {
	if in(n, 0) == "" || in(n, 1) == "" || in(n, 2) == "" {
		return fmt.Errorf("needs A, B and b_scale")
	}
	if e.opset < 11 {
		return refuse("opset %d (DynamicQuantizeLinear is opset 11)", e.opset)
	}
	q := e.multi("DynamicQuantizeLinear", []string{in(n, 0)}, 3)
	e.intMatMulToFloat(q[0], in(n, 1), q[1], in(n, 2), q[2], in(n, 3), in(n, 4), n.Output(0))
	return nil
}

func expandMatMulIntegerToFloat(e *expander, n *Node) error {
	if in(n, 0) == "" || in(n, 1) == "" || in(n, 2) == "" || in(n, 3) == "" {
		return fmt.Errorf("needs A, B, a_scale and b_scale")
	}
	azp := in(n, 4)
	if azp == "" && in(n, 5) != "" {
		// MatMulInteger's zero points are positional: a zero of A's type.
		t := NewTensor(e.dtypeOf(in(n, 0)), nil)
		azp = e.constant("a_zero_point", t)
	}
	e.intMatMulToFloat(in(n, 0), in(n, 1), in(n, 2), in(n, 3), azp, in(n, 5), in(n, 6), n.Output(0))
	return nil
}

func expandCDist(e *expander, n *Node) error {
	a, b := in(n, 0), in(n, 1)
	if a == "" || b == "" {
		return fmt.Errorf("needs A and B")
	}
	metric := n.AttrString("metric", "sqeuclidean")
	if metric != "sqeuclidean" && metric != "euclidean" {
		return refuse("metric %q (sqeuclidean and euclidean are supported)", metric)
	}
	d := e.std("Sub", "", []string{e.unsqueeze(a, 1), e.unsqueeze(b, 0)})
	out := n.Output(0)
	if metric == "euclidean" {
		out = ""
	}
	s := e.reduce("ReduceSum", e.std("Mul", "", []string{d, d}), []int64{2}, false)
	s = e.std("Identity", out, []string{s})
	if metric == "euclidean" {
		e.std("Sqrt", n.Output(0), []string{s})
	}
	return nil
}
