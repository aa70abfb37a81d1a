package graph

// com.microsoft GroupQueryAttention and MultiHeadAttention, the attention
// operators onnxruntime-genai's model builder (GQA, decoder LLMs) and
// onnxruntime.transformers' optimizer (MHA: encoders, Whisper/T5 decoders,
// Stable Diffusion) write, expanded into standard operators when a model is
// read (graph/expand.go; twenty-second session). Each rule below was checked
// against ONNX Runtime 1.30's CPU kernels (scripts/make_ortc12_testdata.py):
//
// GroupQueryAttention (query [B, S, N·H], key/value [B, S, KV·H], or a packed
// [B, S, (N+2·KV)·H] query; past_key/past_value [B, KV, L, H]; seqlens_k [B]
// int32 = each row's total length - 1; total_sequence_length, a scalar):
//   - a row's past length is 0 on the first prompt (S = total_sequence_length)
//     and total_b - S otherwise; the new keys are written after it into the
//     present [B, KV, max(total_sequence_length, L), H] (rows of unequal
//     lengths write at unequal offsets: a GatherElements, not a Concat);
//   - query s of row b sees keys t <= min(past_b + s, total_b - 1) (and, with
//     local_window_size W > 0, t > past_b + s - W): a right-padded prompt's
//     padding rows see only the row's real keys. Hidden keys get the lowest
//     float32 (as -inf after the softmax; a padding row the window empties
//     stays finite where -inf would make NaN);
//   - do_rotary rotates q and k at position past_b + s (position_ids, when
//     given: as given, except on the first prompt, where ONNX Runtime reads
//     position_ids[0] + s), rotary_interleaved, a partial rotary dimension
//     2·cos_cache's columns;
//   - scores scale·q·kᵀ (scale 0: 1/sqrt(H)), then softcap·tanh(·/softcap),
//     then + attention_bias ([.., total_sequence_length], zero beyond it in a
//     longer past buffer), then the mask; smooth_softmax and head_sink add
//     one logit per head (0, or head_sink[h]) to the softmax's sum.
//   Refused naming the node: the output_qk output (qk_output), quantized KV
//   caches (k_quant_type, v_quant_type, kv_cache_bit_width, k_scale, v_scale).
//
// MultiHeadAttention (query [B, S, D]; key/value [B, L, D] or [B, N, L, H];
// bias [Dq + Dk + Dv]; key_padding_mask [B] lengths, [B, T] or [B, S, T] raw;
// attention_bias; past_key/past_value [B, N, P, H]):
//   - the bias is added to q, and to k and v only when they are 3-D;
//   - the past is concatenated before the new keys (3-D or 4-D), the present outputs;
//   - unidirectional masks key t from query s when t > P + s, for every query
//     row but the last (ONNX Runtime's CPU kernel leaves the last row
//     unmasked: equal to the usual causal mask when L = S), as -inf whatever
//     mask_filter_value is (the lowest float32 here); masks fill mask_filter_value.
//   Refused naming the node: packed QKV or KV (ONNX Runtime's CPU kernel does
//   not implement them), past_sequence_length, cache_indirection (a shared
//   buffer, beam search), the output_qk output, a key of unknown rank.

import (
	"fmt"
	"math"
)

func init() {
	registerExpansion(msDomain, "GroupQueryAttention", expandGQA)
	registerExpansion(msDomain, "MultiHeadAttention", expandMHA)
}

// rankOf is the rank the file declares for a value (-1: unknown).
func (e *expander) rankOf(name string) int {
	if t := e.g.Initializers[name]; t != nil {
		return len(t.Shape)
	}
	if v := e.g.Values[name]; v != nil && v.HasShape {
		return len(v.Shape)
	}
	return -1
}

// lastDimOf is the size of a value's last axis as the file declares it, or as
// a MatMul by a constant weight (+ a constant bias) makes it (0: unknown;
// expansions run before shape inference).
func (e *expander) lastDimOf(name string) int {
	if t := e.g.Initializers[name]; t != nil && len(t.Shape) > 0 {
		return t.Shape[len(t.Shape)-1]
	}
	if v := e.g.Values[name]; v != nil && v.HasShape && len(v.Shape) > 0 && v.Shape[len(v.Shape)-1].Known() {
		return v.Shape[len(v.Shape)-1].Size
	}
	for _, p := range e.g.Nodes {
		if p.Domain != "" || p.Output(0) != name || len(p.Inputs) != 2 {
			continue
		}
		switch p.OpType {
		case "MatMul":
			if w := e.g.Initializers[p.Inputs[1]]; w != nil && len(w.Shape) == 2 {
				return w.Shape[1]
			}
		case "Add":
			for _, x := range p.Inputs {
				if e.g.Initializers[x] == nil {
					return e.lastDimOf(x)
				}
			}
		}
		return 0
	}
	return 0
}

// i64 casts x to int64.
func (e *expander) i64(x string) string {
	return e.std("Cast", "", []string{x}, IntAttr("to", int64(Int64)))
}

// pick is Where(cond, a, b).
func (e *expander) pick(cond, a, b string) string { return e.std("Where", "", []string{cond, a, b}) }

// shapeOf4 is the [4] int64 shape (dim(x,0), dim(x,1), n, dim(x,3)).
func (e *expander) shapeOf4(x, n string) string {
	return e.std("Concat", "", []string{e.dim(x, 0), e.dim(x, 1), n, e.dim(x, 3)}, IntAttr("axis", 0))
}

// gqaPresent writes the present cache [B, KV, P, H]: past [B, KV, L, H] up to
// each row's past length pastB [B], the new keys x [B, KV, S, H] after it,
// and past (zero beyond L) elsewhere. inNew [B, P] marks the new positions and
// idx [B, P] the new key each reads.
func (e *expander) gqaPresent(past, x, p, inNew, idx string) string {
	idx4 := e.std("Expand", "", []string{e.unsqueeze(idx, 1, 3), e.shapeOf4(x, p)})
	fresh := e.std("GatherElements", "", []string{x, idx4}, IntAttr("axis", 2))
	grow := e.std("Sub", "", []string{p, e.dim(past, 2)})
	pads := e.std("Concat", "", []string{e.ints(0, 0, 0, 0, 0, 0), grow, e.ints(0)}, IntAttr("axis", 0))
	padded := e.std("Pad", "", []string{past, pads})
	return e.pick(e.unsqueeze(inNew, 1, 3), fresh, padded)
}

func expandGQA(e *expander, n *Node) error {
	q, k, v, pastK, pastV, seqlens, total := in(n, 0), in(n, 1), in(n, 2), in(n, 3), in(n, 4), in(n, 5), in(n, 6)
	cos, sin, posIDs, attnBias, sink := in(n, 7), in(n, 8), in(n, 9), in(n, 10), in(n, 11)
	switch {
	case q == "" || seqlens == "" || total == "":
		return fmt.Errorf("needs query, seqlens_k and total_sequence_length")
	case (k == "") != (v == ""):
		return fmt.Errorf("key and value must be given together (or neither, for a packed query)")
	case (pastK == "") != (pastV == ""):
		return fmt.Errorf("past_key and past_value must be given together")
	case (cos == "") != (sin == ""):
		return fmt.Errorf("cos_cache and sin_cache must be given together")
	case n.AttrInt("do_rotary", 0) != 0 && cos == "":
		return fmt.Errorf("do_rotary needs cos_cache and sin_cache")
	case in(n, 12) != "" || in(n, 13) != "":
		return refuse("k_scale/v_scale (quantized KV caches)")
	case n.Output(3) != "" || n.AttrInt("qk_output", 0) != 0:
		return refuse("the output_qk output (qk_output %d)", n.AttrInt("qk_output", 0))
	case n.AttrInt("kv_cache_bit_width", 0) != 0:
		return refuse("kv_cache_bit_width %d (quantized KV caches)", n.AttrInt("kv_cache_bit_width", 0))
	case e.opset < 11:
		return refuse("opset %d (the expansion needs Range, Pad and GatherElements of opset 11)", e.opset)
	}
	for _, a := range []string{"k_quant_type", "v_quant_type"} {
		if t := n.AttrString(a, "NONE"); t != "NONE" && t != "" {
			return refuse("%s %q (quantized KV caches)", a, t)
		}
	}
	nh, kvh := n.AttrInt("num_heads", 0), n.AttrInt("kv_num_heads", 0)
	if nh <= 0 || kvh <= 0 || nh%kvh != 0 {
		return fmt.Errorf("num_heads %d and kv_num_heads %d: both positive, num_heads a multiple of kv_num_heads", nh, kvh)
	}
	// Heads, [B, S, n, H].
	var qh, kh, vh string
	if k == "" {
		r := e.std("Reshape", "", []string{q, e.ints(0, 0, nh+2*kvh, -1)})
		part := func(a, b int64) string { return e.std("Slice", "", []string{r, e.ints(a), e.ints(b), e.ints(2)}) }
		qh, kh, vh = part(0, nh), part(nh, nh+kvh), part(nh+kvh, nh+2*kvh)
	} else {
		qh = e.std("Reshape", "", []string{q, e.ints(0, 0, nh, -1)})
		kh = e.std("Reshape", "", []string{k, e.ints(0, 0, kvh, -1)})
		vh = e.std("Reshape", "", []string{v, e.ints(0, 0, kvh, -1)})
	}
	bnsh := func(x string) string {
		return e.std("Transpose", "", []string{x}, Int64sAttr("perm", []int64{0, 2, 1, 3}))
	}
	qb, kb, vb := bnsh(qh), bnsh(kh), bnsh(vh)

	// Lengths: total_b [B], S and total_sequence_length [1], past_b [B].
	s1 := e.dim(q, 1)
	totB := e.std("Add", "", []string{e.i64(seqlens), e.ints(1)})
	tot := e.std("Reshape", "", []string{e.i64(total), e.ints(1)})
	first := e.std("Equal", "", []string{s1, tot})
	pastB := e.pick(first, e.ints(0), e.std("Sub", "", []string{totB, s1}))
	sr := e.rangeTo(s1)
	pos := e.std("Add", "", []string{e.unsqueeze(pastB, 1), e.unsqueeze(sr, 0)}) // [B, S]

	if n.AttrInt("do_rotary", 0) != 0 {
		rpos := pos
		if posIDs != "" {
			p := e.i64(posIDs)
			p0 := e.std("Slice", "", []string{e.std("Reshape", "", []string{p, e.ints(-1)}), e.ints(0), e.ints(1), e.ints(0)})
			rpos = e.pick(first, e.unsqueeze(e.std("Add", "", []string{p0, sr}), 0), p)
		}
		rotate := func(x string, heads int64) string {
			attrs := []*Attr{IntAttr("interleaved", n.AttrInt("rotary_interleaved", 0)), IntAttr("num_heads", heads)}
			if half := e.lastDimOf(cos); half > 0 {
				attrs = append(attrs, IntAttr("rotary_embedding_dim", int64(2*half)))
			}
			return e.op("RotaryEmbedding", msDomain, "", []string{x, rpos, cos, sin}, attrs...)
		}
		qb, kb = rotate(qb, nh), rotate(kb, kvh)
	}

	// Present caches and their length P.
	presK, presV, p := kb, vb, s1
	if pastK != "" {
		l := e.dim(pastK, 2)
		p = e.pick(e.std("Greater", "", []string{l, tot}), l, tot)
		rel := e.std("Sub", "", []string{e.unsqueeze(e.rangeTo(p), 0), e.unsqueeze(pastB, 1)}) // [B, P]
		inNew := e.std("And", "", []string{
			e.std("Not", "", []string{e.std("Less", "", []string{rel, e.ints(0)})}),
			e.std("Less", "", []string{rel, s1})})
		idx := e.pick(inNew, rel, e.ints(0))
		presK = e.gqaPresent(pastK, kb, p, inNew, idx)
		presV = e.gqaPresent(pastV, vb, p, inNew, idx)
	}
	if o := n.Output(1); o != "" {
		e.std("Identity", o, []string{presK})
	}
	if o := n.Output(2); o != "" {
		e.std("Identity", o, []string{presV})
	}
	kr, vr := presK, presV
	if nh != kvh {
		kr, vr = e.kvHeads(presK, qb), e.kvHeads(presV, qb)
	}

	// Scores [B, N, S, P].
	heads := nh
	if k == "" {
		heads = nh + 2*kvh
	}
	scale := e.attnScale(n, qb, e.lastDimOf(q), heads)
	kT := e.std("Transpose", "", []string{kr}, Int64sAttr("perm", []int64{0, 1, 3, 2}))
	s := e.std("Mul", "", []string{e.std("MatMul", "", []string{qb, kT}), scale})
	if c := n.AttrFloat("softcap", 0); c != 0 {
		if c < 0 {
			return fmt.Errorf("softcap %g must not be negative", c)
		}
		cs := e.scalar(float64(c), Float32)
		s = e.std("Mul", "", []string{e.std("Tanh", "", []string{e.std("Div", "", []string{s, cs})}), cs})
	}
	if attnBias != "" {
		if pastK != "" {
			// [.., total_sequence_length], padded to a longer past buffer.
			pads := e.std("Concat", "", []string{e.ints(0, 0, 0, 0, 0, 0, 0), e.std("Sub", "", []string{p, tot})}, IntAttr("axis", 0))
			attnBias = e.std("Pad", "", []string{attnBias, pads})
		}
		s = e.std("Add", "", []string{s, attnBias})
	}
	// Mask: key t is seen by query s of row b when t <= min(past_b + s, total_b - 1)
	// (and t > that bound - local_window_size).
	lastKey := e.unsqueeze(e.std("Sub", "", []string{totB, e.ints(1)}), 1)
	lim := e.pick(e.std("Less", "", []string{pos, lastKey}), pos, lastKey)
	t4 := e.unsqueeze(e.rangeTo(p), 0, 1, 2)
	hidden := e.std("Greater", "", []string{t4, e.unsqueeze(lim, 1, 3)})
	if w := n.AttrInt("local_window_size", -1); w > 0 {
		// The window counts back from past_b + s, not from the clipped bound.
		from := e.std("Sub", "", []string{e.unsqueeze(pos, 1, 3), e.ints(w)})
		hidden = e.std("Or", "", []string{hidden, e.std("Not", "", []string{e.std("Greater", "", []string{t4, from})})})
	}
	s = e.std("Add", "", []string{s, e.pick(hidden, e.scalar(maskLowest, Float32), e.scalar(0, Float32))})

	// Softmax, with one more logit per head for smooth_softmax / head_sink.
	var prob string
	if sink != "" || n.AttrInt("smooth_softmax", 0) != 0 {
		col := e.scalar(0, Float32)
		if sink != "" {
			col = e.std("Reshape", "", []string{sink, e.ints(1, -1, 1, 1)})
		}
		shape := e.std("Concat", "", []string{e.dim(s, 0), e.dim(s, 1), e.dim(s, 2), e.ints(1)}, IntAttr("axis", 0))
		col = e.std("Expand", "", []string{col, shape})
		wide := e.std("Concat", "", []string{s, col}, IntAttr("axis", 3))
		sm := e.std("Softmax", "", []string{wide}, IntAttr("axis", -1))
		prob = e.std("Slice", "", []string{sm, e.ints(0), e.ints(-1), e.ints(3)})
	} else {
		prob = e.std("Softmax", "", []string{s}, IntAttr("axis", -1))
	}
	e.mergeHeads(e.std("MatMul", "", []string{prob, vr}), n.Output(0))
	return nil
}

func expandMHA(e *expander, n *Node) error {
	q, k, v, bias, kpm, attnBias, pastK, pastV := in(n, 0), in(n, 1), in(n, 2), in(n, 3), in(n, 4), in(n, 5), in(n, 6), in(n, 7)
	switch {
	case q == "":
		return fmt.Errorf("needs query")
	case k == "":
		return refuse("packed QKV (query [B, S, N, 3, H] without key and value; ONNX Runtime's CPU kernel does not implement it)")
	case v == "":
		return refuse("packed KV (key [B, L, N, 2, H] without value; ONNX Runtime's CPU kernel does not implement it)")
	case (pastK == "") != (pastV == ""):
		return fmt.Errorf("past_key and past_value must be given together")
	case in(n, 8) != "":
		return refuse("past_sequence_length (a past/present buffer shared between runs)")
	case in(n, 9) != "":
		return refuse("cache_indirection (beam search)")
	case n.Output(3) != "":
		return refuse("the output_qk output")
	case e.opset < 11:
		return refuse("opset %d (the expansion needs Range and Slice of opset 11)", e.opset)
	}
	h := n.AttrInt("num_heads", 0)
	if h <= 0 {
		return fmt.Errorf("num_heads %d must be positive", h)
	}
	if r := e.rankOf(q); r != 3 {
		if r == 5 {
			return refuse("packed QKV (query [B, S, N, 3, H]; ONNX Runtime's CPU kernel does not implement it)")
		}
		if r > 0 {
			return fmt.Errorf("query has rank %d, expected [B, S, hidden]", r)
		}
	}
	kr, vr := e.rankOf(k), e.rankOf(v)
	if kr != 3 && kr != 4 || vr != 3 && vr != 4 {
		if kr == 5 {
			return refuse("packed KV (key [B, L, N, 2, H]; ONNX Runtime's CPU kernel does not implement it)")
		}
		return refuse("key %q of rank %d and value %q of rank %d (3-D [B, L, hidden] or 4-D [B, N, L, H]; -1: unknown)", k, kr, v, vr)
	}
	if bias != "" {
		dq := e.dim(q, 2)
		q = e.std("Add", "", []string{q, e.std("Slice", "", []string{bias, e.ints(0), dq, e.ints(0)})})
		if kr == 3 && vr == 3 {
			dqk := e.std("Add", "", []string{dq, e.dim(k, 2)})
			k = e.std("Add", "", []string{k, e.std("Slice", "", []string{bias, dq, dqk, e.ints(0)})})
			v = e.std("Add", "", []string{v, e.sliceFromValue(bias, dqk)})
		}
	}
	perm := []int64{0, 2, 1, 3}
	qb := e.splitHeads(q, h, perm)
	kb, vb := k, v
	if kr == 3 {
		kb = e.splitHeads(k, h, perm)
	}
	if vr == 3 {
		vb = e.splitHeads(v, h, perm)
	}
	if pastK != "" {
		kb = e.std("Concat", "", []string{pastK, kb}, IntAttr("axis", 2))
		vb = e.std("Concat", "", []string{pastV, vb}, IntAttr("axis", 2))
	}
	if o := n.Output(1); o != "" {
		e.std("Identity", o, []string{kb})
	}
	if o := n.Output(2); o != "" {
		e.std("Identity", o, []string{vb})
	}
	scale := e.attnScale(n, qb, e.lastDimOf(q), h)
	fill := float64(n.AttrFloat("mask_filter_value", -10000))
	var biases []string
	if kpm != "" {
		b, err := e.msMaskBias(kpm, e.dim(kb, 2), fill)
		if err != nil {
			return err
		}
		biases = append(biases, b)
	}
	if n.AttrInt("unidirectional", 0) != 0 {
		s1 := e.dim(q, 1)
		past := e.ints(0)
		if pastK != "" {
			past = e.dim(pastK, 2)
		}
		qp := e.unsqueeze(e.rangeTo(s1), 1)
		kp := e.unsqueeze(e.rangeTo(e.dim(kb, 2)), 0)
		future := e.std("Greater", "", []string{kp, e.std("Add", "", []string{qp, past})})
		notLast := e.std("Less", "", []string{qp, e.std("Sub", "", []string{s1, e.ints(1)})})
		biases = append(biases, e.pick(e.std("And", "", []string{future, notLast}), e.scalar(maskLowest, Float32), e.scalar(0, Float32)))
	}
	if attnBias != "" {
		biases = append(biases, attnBias)
	}
	kT := e.std("Transpose", "", []string{kb}, Int64sAttr("perm", []int64{0, 1, 3, 2}))
	e.mergeHeads(e.attend(qb, kT, vb, scale, biases), n.Output(0))
	return nil
}

// attnScale is the scale attribute, or 1/sqrt(head size): a constant when the
// query's last size (hidden, over heads) is declared, else from qb's run-time
// last size (a value the quantizer would see computed from a shape).
func (e *expander) attnScale(n *Node, qb string, hidden int, heads int64) string {
	if sc := n.AttrFloat("scale", 0); sc != 0 {
		return e.scalar(float64(sc), Float32)
	}
	if hidden > 0 && int64(hidden)%heads == 0 {
		return e.scalar(1/math.Sqrt(float64(int64(hidden)/heads)), Float32)
	}
	return e.invSqrtLastDim(qb)
}

// maskLowest hides a key: exp(maskLowest + score - max) is 0 beside any
// visible key, and a row with no visible key stays finite.
const maskLowest = -math.MaxFloat32

// sliceFromValue writes x[start:] along axis 0 for a [1] int64 start.
func (e *expander) sliceFromValue(x, start string) string {
	return e.std("Slice", "", []string{x, start, e.ints(1 << 62), e.ints(0)})
}
