package runtime

// Fused int8 cache Concats (twenty-third session). A decoder step with a
// key/value cache (kv_cache_step, GPT-2's past) appends the new token's k and
// v to the past ones: Concat(past, new) along the tokens. The int8 lowering
// makes each of them a chain of small steps around the Concat: a Quantize of
// the float past (a graph input), the Split of the QKV projection's output,
// a Relayout viewing the new row as [T, heads, d], a QLUT requantizing it to
// the cache's scale, a Relayout moving the heads first, the Concat, and a
// Dequantize of the result when the present cache is a graph output (it is
// also what the attention reads in int8). On kv_cache_step these were 13 of
// the int8 file's 26 steps against the float32 session's 17, each 0.3-0.6 µs
// of fixed cost on a graph of 11-15 µs (docs/runtime.md, "int8 attention,
// sixth round").
//
// fuseInt8CacheConcats makes each such Concat one step: every input is
// copied into its place in the output through a strided view of the tensor
// it was cut from (the views of int8_attention_views.go: Split, Slice,
// Relayout, Reshape and a QLUT applied after the copy), or quantized into
// its place when it comes from a per-tensor Quantize of a float tensor, and
// the int8 result is dequantized into the absorbed Dequantize's output in the
// same step. Each value is the one the absorbed steps compute (the same
// kernels.QuantizeF32, the same LUT, kernels.DequantBytesF32 on the whole
// result), so results are bit-equal. The Split itself stays until its last
// read output is absorbed (the fused attention's q view takes it then).
//
// Refused (the steps stay): a Concat of other than int8, a view that does not
// compose or whose last axis is not the row, a Quantize per axis, to uint8 or
// with a layout, an absorbed value read by another step or kept (taps, graph
// outputs), a Dequantize with a layout or per axis, and a Concat where
// nothing would be absorbed. At run time inputs of other shapes or types
// run the absorbed steps one by one.

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ccBlock copies n elements of an input (from src, column stride cs) to dst
// in the output.
type ccBlock struct{ src, dst, n int }

// ccPart is one input of the fused Concat.
type ccPart struct {
	arg   int   // the fused step's input it reads
	shape []int // the shape that input must have at run time
	quant bool  // a float32 input quantized with (scale, zp)
	scale float32
	zp    int32
	lut   *kernels.LUT // applied to the copied values
	cs    int          // the source's column stride
	// blocks are the copies, in the output's order.
	blocks []ccBlock
}

// cacheConcatKernel is a Concat with its absorbed input chains, Quantizes
// and Dequantize (see the file comment). Its inputs are the roots of the
// parts, its outputs the int8 Concat result and, when deq, the float one.
type cacheConcatKernel struct {
	parts    []ccPart
	outShape []int
	total    int
	deq      bool
	dqScale  float32
	dqZP     int32
	nin      int // inputs
	// sub are the absorbed steps, for runUnfused.
	sub subSteps
}

// newSubSteps records steps (in execution order) replaced by a fused step
// with the fused step's input and output slots and the constants they read
// (consts: the session's).
func newSubSteps(steps []step, in, out []int, consts map[int]*graph.Tensor) subSteps {
	c := map[int]*graph.Tensor{}
	for _, st := range steps {
		for _, id := range st.in {
			if t := consts[id]; id >= 0 && t != nil {
				c[id] = t
			}
		}
	}
	return subSteps{steps: steps, in: in, out: out, consts: c}
}

// ccParallelMin is the size (elements) from which the copies are spread over
// the threads.
const ccParallelMin = 1 << 15

func (k *cacheConcatKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, k.nin); err != nil {
		return nil, err
	}
	for _, p := range k.parts {
		x := in[p.arg]
		if !slices.Equal(x.Shape, p.shape) {
			return k.runUnfused(ctx, in)
		}
		if _, ok := x.Data.([]float32); p.quant && !ok {
			return k.runUnfused(ctx, in)
		}
		if _, ok := x.Data.([]int8); !p.quant && !ok {
			return k.runUnfused(ctx, in)
		}
	}
	out := ctx.AllocI8(k.total)
	for _, p := range k.parts {
		p := p
		run := func(lo, hi int) {
			for _, b := range p.blocks[lo:hi] {
				k.copyBlock(p, in[p.arg], b, out)
			}
		}
		if ctx.Threads > 1 && k.total >= ccParallelMin && len(p.blocks) > 1 {
			nnParallel(ctx.Threads, len(p.blocks), run)
		} else {
			run(0, len(p.blocks))
		}
	}
	res := []*graph.Tensor{graph.FromInt8(k.outShape, out)}
	if k.deq {
		f := ctx.AllocF32(k.total)
		bytes := qtensor.I8AsBytes(out)
		qtensor.ParallelChunks(len(bytes), ctx.Threads, 1<<15, func(lo, hi int) {
			kernels.DequantBytesF32(f[lo:hi], bytes[lo:hi], false, k.dqZP, k.dqScale)
		})
		res = append(res, graph.FromFloat32(k.outShape, f))
	}
	return res, nil
}

// copyBlock writes block b of part p from x into out.
func (k *cacheConcatKernel) copyBlock(p ccPart, x *graph.Tensor, b ccBlock, out []int8) {
	dst := out[b.dst : b.dst+b.n]
	switch {
	case p.quant:
		kernels.QuantizeF32(x.F32()[b.src:b.src+b.n], p.scale, p.zp, dst)
	case p.cs == 1:
		copy(dst, x.Data.([]int8)[b.src:b.src+b.n])
	default:
		src, o := x.Data.([]int8), b.src
		for c := range dst {
			dst[c] = src[o]
			o += p.cs
		}
	}
	if p.lut != nil {
		p.lut.Apply(dst, dst)
	}
}

// runUnfused runs the absorbed steps one by one.
func (k *cacheConcatKernel) runUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	return k.sub.run(ctx, in)
}

// fuseInt8CacheConcats rewrites the Concats described in the file comment
// into one cacheConcatKernel step each (int8 sessions; before
// absorbInt8AttentionViews, which then takes the Split into the attention's
// q view).
func (s *Session) fuseInt8CacheConcats() {
	if s.mode != ModeInt8 {
		return
	}
	removed := make([]bool, len(s.steps))
	changed := false
	for i := range s.steps {
		st := s.steps[i]
		if st.node.OpType != "Concat" || len(st.out) != 1 || st.out[0] < 0 || len(st.in) < 1 {
			continue
		}
		if _, ok := st.kernel.(KernelFunc); !ok {
			continue
		}
		// The step lists change as Concats are fused: recompute.
		readers, producer := s.stepReaders(), s.stepProducers()
		nst, gone, ok := s.cacheConcat(i, readers, producer, removed)
		if !ok {
			continue
		}
		s.steps[i] = nst
		for _, d := range gone {
			removed[d] = true
		}
		changed = true
		// Steps marked removed stay in s.steps until dropSteps: keep them
		// out of the later readers' counts by cutting their inputs.
		for _, d := range gone {
			s.steps[d].in = nil
			s.steps[d].out = nil
		}
	}
	if changed {
		s.dropSteps(removed)
	}
}

// cacheConcat builds the fused step of the Concat step i; it returns the
// new step, the absorbed steps to remove and false when the Concat is
// refused.
func (s *Session) cacheConcat(i int, readers map[int][]int, producer map[int]int, removed []bool) (step, []int, bool) {
	st := s.steps[i]
	node := st.node
	if node.Domain != "" && node.Domain != "ai.onnx" && node.Domain != "warboy.int8" {
		return step{}, nil, false
	}
	od := s.valueDims(s.nameOf(st.out[0]))
	if od == nil || s.valueType(st.out[0]) != graph.Int8 || graph.NumElements(od) == 0 {
		return step{}, nil, false
	}
	axis, err := graph.NormalizeAxis(node.AttrInt("axis", 0), len(od))
	if err != nil || axis == len(od)-1 {
		return step{}, nil, false // the concatenation axis must not be the row
	}
	single := func(id, r int) bool {
		return id >= 0 && !s.keep[id] && len(readers[id]) == 1 && readers[id][0] == r
	}
	k := &cacheConcatKernel{outShape: od, total: graph.NumElements(od)}
	var sub []step
	var gone []int
	argOf := map[int]int{} // root slot → the fused step's input
	var in []int
	addArg := func(id int) int {
		if a, ok := argOf[id]; ok {
			return a
		}
		argOf[id] = len(in)
		in = append(in, id)
		return len(in) - 1
	}
	absorbed := false
	start := 0
	dst := denseI8View(od)
	for _, id := range st.in {
		if id < 0 {
			return step{}, nil, false
		}
		d := s.valueDims(s.nameOf(id))
		if len(d) != len(od) {
			return step{}, nil, false
		}
		// the input's place in the output
		dv := i8View{off: dst.off + start*dst.strides[axis], shape: slices.Clone(d), strides: dst.strides}
		start += d[axis]
		p := ccPart{cs: 1}
		var src i8View
		// A view chain (the attention's viewable steps) or a Quantize.
		var chain []chainStep
		cur, reader := id, i
		dk := &qattentionKernel{consts: map[int]*graph.Tensor{}}
		for single(cur, reader) {
			pi, ok := producer[cur]
			if !ok || removed[pi] {
				break
			}
			ps := s.steps[pi]
			if !s.viewableStep(ps, dk) {
				break
			}
			chain = append(chain, chainStep{st: ps, out: slices.Index(ps.out, cur)})
			cur, reader = ps.in[0], pi
		}
		slices.Reverse(chain)
		switch {
		case len(chain) > 0:
			v, lut, ok := s.chainView(chain, cur)
			if !ok || v.comp != nil && slices.ContainsFunc(v.comp, func(c *i8Comp) bool { return c != nil }) {
				return step{}, nil, false
			}
			src, p.lut = v, lut
			p.arg = addArg(cur)
			p.shape = s.valueDims(s.nameOf(cur))
			// A Split stays while other outputs of it are read, and with
			// it the steps before it in the chain.
			kept := -1
			for c, cs := range chain {
				if len(cs.st.out) > 1 && s.liveOutputs(cs.st, readers) > 1 {
					kept = c
				}
			}
			for c, cs := range chain {
				sub = append(sub, cs.st)
				if c > kept {
					gone = append(gone, producer[cs.st.out[0]])
				}
			}
			absorbed = true
		case s.quantizeInto(id, i, single, producer, removed, &p):
			qi := producer[id]
			qs := s.steps[qi]
			src = denseI8View(d)
			p.arg = addArg(qs.in[0])
			p.shape = s.valueDims(s.nameOf(qs.in[0]))
			sub = append(sub, qs)
			gone = append(gone, qi)
			absorbed = true
		default:
			if s.valueType(id) != graph.Int8 {
				return step{}, nil, false
			}
			src = denseI8View(d)
			p.arg = addArg(id)
			p.shape = d
		}
		if p.shape == nil || !slices.Equal(src.shape, d) {
			return step{}, nil, false
		}
		if !p.quant {
			p.cs = src.strides[len(d)-1]
		}
		var ok bool
		if p.blocks, ok = ccBlocks(src, dv, p.cs); !ok {
			return step{}, nil, false
		}
		k.parts = append(k.parts, p)
	}
	sub = append(sub, st)
	out := []int{st.out[0]}
	// A Dequantize of the result.
	for _, r := range readers[st.out[0]] {
		if removed[r] {
			continue
		}
		if sc, zp, ok := s.plainDequantize(s.steps[r], st.out[0]); ok {
			k.deq, k.dqScale, k.dqZP = true, sc, zp
			ds := s.steps[r]
			sub = append(sub, ds)
			gone = append(gone, r)
			out = append(out, ds.out[0])
			absorbed = true
			break
		}
	}
	if !absorbed {
		return step{}, nil, false
	}
	k.sub, k.nin = newSubSteps(sub, in, out, s.consts), len(in)
	return step{node: node, kernel: k, in: in, out: out}, gone, true
}

// quantizeInto reports whether slot id (read by step r) is the output of a
// per-tensor Quantize to int8 without a layout that r alone reads, and puts
// its parameters in p.
func (s *Session) quantizeInto(id, r int, single func(id, r int) bool, producer map[int]int, removed []bool, p *ccPart) bool {
	if !single(id, r) {
		return false
	}
	qi, ok := producer[id]
	if !ok || removed[qi] {
		return false
	}
	qs := s.steps[qi]
	qk, ok := qs.kernel.(*quantizeKernel)
	if !ok || qk.params == nil || qk.perm != nil && !qtensor.IsIdentityPerm(qk.perm) || len(qs.in) != 3 || len(qs.out) != 1 {
		return false
	}
	if qs.in[0] < 0 || s.valueType(qs.in[0]) != graph.Float32 || qs.in[1] < 0 || qs.in[2] < 0 {
		return false
	}
	if s.consts[qs.in[1]] != qk.sc || s.consts[qs.in[2]] != qk.zp || qk.params.ZPType != graph.Int8 || qk.params.Axis >= 0 {
		return false
	}
	p.quant, p.scale, p.zp = true, qk.params.Scale[0], qk.params.ZP[0]
	return true
}

// plainDequantize reports whether st dequantizes slot x per tensor from int8
// with constant parameters and no layout, and returns them.
func (s *Session) plainDequantize(st step, x int) (float32, int32, bool) {
	dk, ok := st.kernel.(*dequantizeKernel)
	if !ok || dk.shape != nil || dk.perm != nil && !qtensor.IsIdentityPerm(dk.perm) || len(st.in) != 3 || st.in[0] != x || len(st.out) != 1 || st.out[0] < 0 {
		return 0, 0, false
	}
	sc, zp := s.consts[st.in[1]], s.consts[st.in[2]]
	if st.in[1] < 0 || st.in[2] < 0 || sc == nil || zp == nil || sc.Len() != 1 {
		return 0, 0, false
	}
	p, err := qtensor.ReadQDQParams(st.node, nil, sc, zp, false)
	if err != nil || p.Axis >= 0 || p.ZPType != graph.Int8 {
		return 0, 0, false
	}
	return p.Scale[0], p.ZP[0], true
}

// maxCCBlocks bounds a part's copy list (a view whose rows are short and
// many would cost more to walk than the steps it replaces).
const maxCCBlocks = 1 << 14

// ccBlocks lists the row copies from view src (column stride cs) to view dst
// (dense rows), merging rows contiguous in both when cs is 1.
func ccBlocks(src, dst i8View, cs int) ([]ccBlock, bool) {
	r := len(src.shape)
	if r == 0 || len(dst.shape) != r || dst.strides[r-1] != 1 {
		return nil, false
	}
	n := src.shape[r-1]
	rows := graph.NumElements(src.shape[:r-1])
	if n == 0 || rows == 0 {
		return nil, true
	}
	var bl []ccBlock
	idx := make([]int, r-1)
	for range rows {
		so, do := src.off, dst.off
		for a, x := range idx {
			so += x * src.strides[a]
			do += x * dst.strides[a]
		}
		if l := len(bl); l > 0 && cs == 1 && bl[l-1].src+bl[l-1].n == so && bl[l-1].dst+bl[l-1].n == do {
			bl[l-1].n += n
		} else {
			if len(bl) == maxCCBlocks {
				return nil, false
			}
			bl = append(bl, ccBlock{src: so, dst: do, n: n})
		}
		for a := len(idx) - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < src.shape[a] {
				break
			}
			idx[a] = 0
		}
	}
	return bl, true
}
