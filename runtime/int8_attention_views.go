package runtime

// Strided operands of the fused int8 attention (eighteenth session). The
// int8 lowering rearranges q, k and v into head-major tensors before the
// products and the heads' output back into token-major rows after them, each
// as its own step: the Slices (or the Split) that cut q, k and v out of the
// QKV projection's output, the Relayouts that view [T, d_model] as
// [T, heads, d] and move the head axis first (kᵀ: the tokens last), the QLUT
// of a quantized q / √d, and after the attention the Relayout back to
// [T, heads·d]. On the small encoders these were 6-10 steps per block, 15-30
// µs of a 100-300 µs graph (docs/runtime.md, "int8 attention, second
// round").
//
// absorbInt8AttentionViews folds those steps into the fused step: each
// operand becomes a strided view of the tensor it was cut from (an offset
// per head and a row and a column stride: slicing, permuting and reshaping
// compose into such a view as long as every reshape merges or splits
// dimensions that are contiguous in the view), and the output a strided view
// of the tensor the last absorbed Relayout wrote. The head's operands are
// gathered from the views into the worker's dense buffers (a QLUT applied
// there), and its requantized output is stored through the output view: the
// same int8 values as the steps', moved by the same amounts, so results are
// bit-equal. At run time inputs of other shapes run the absorbed steps one
// by one.

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// i8View addresses a tensor of shape shape inside a flat buffer: element idx
// is at off + Σ idx[a]·strides[a]. A dimension with comp[a] set is a merge
// of dimensions that are not contiguous in the buffer (nineteenth session:
// encoder_mask's batch and heads, [T, B, 3·H·d] sliced, then viewed as
// [T, B·H, d]): its index is split over comp[a]'s sizes, outermost first,
// each with its own stride (strides[a] unused). Such a dimension can be
// permuted, merged into another or split again (reshape works on the parts),
// not sliced; only batch dimensions of the final operand may be one
// (matrixOffsets).
type i8View struct {
	off            int
	shape, strides []int
	comp           []*i8Comp // nil, or one per dimension (nil: a plain one)
}

// i8Comp is a dimension of an i8View made of dimensions not contiguous in
// the buffer.
type i8Comp struct{ sizes, strides []int }

// compAt is dimension a's merge, nil for a plain dimension.
func (v i8View) compAt(a int) *i8Comp {
	if a < len(v.comp) {
		return v.comp[a]
	}
	return nil
}

// parts appends dimension a's (size, stride) pairs, outermost first.
func (v i8View) parts(a int, sizes, strides []int) ([]int, []int) {
	if c := v.compAt(a); c != nil {
		return append(sizes, c.sizes...), append(strides, c.strides...)
	}
	return append(sizes, v.shape[a]), append(strides, v.strides[a])
}

func denseI8View(shape []int) i8View {
	return i8View{shape: slices.Clone(shape), strides: graph.Strides(shape)}
}

func (v i8View) permute(perm []int) (i8View, bool) {
	if len(perm) != len(v.shape) {
		return v, false
	}
	w := i8View{off: v.off, shape: make([]int, len(perm)), strides: make([]int, len(perm)), comp: make([]*i8Comp, len(perm))}
	for i, p := range perm {
		if p < 0 || p >= len(perm) {
			return v, false
		}
		w.shape[i], w.strides[i], w.comp[i] = v.shape[p], v.strides[p], v.compAt(p)
	}
	return w, true
}

// reshape views v as shape nd without moving data, false when it cannot.
// v's dimensions are taken apart into (size, stride) atoms (a merged
// dimension into its parts), and each new dimension, outermost first, takes
// the atoms it spans from the front, splitting one when the sizes divide
// (numpy's no-copy reshape). A new dimension over atoms that are contiguous
// in the buffer is a plain one; over atoms that are not, a merged one
// (i8Comp: batch and heads of a sliced [T, B, 3·H·d] viewed as [T, B·H, d]).
func (v i8View) reshape(nd []int) (i8View, bool) {
	if graph.NumElements(nd) != graph.NumElements(v.shape) || slices.Contains(nd, 0) || slices.Contains(v.shape, 0) {
		return v, false
	}
	type atom struct{ size, stride int }
	var at []atom
	for a, d := range v.shape {
		if d == 1 {
			continue
		}
		sz, st := v.parts(a, nil, nil)
		for i, n := range sz {
			if n != 1 {
				at = append(at, atom{n, st[i]})
			}
		}
	}
	w := i8View{off: v.off, shape: slices.Clone(nd), strides: make([]int, len(nd)), comp: make([]*i8Comp, len(nd))}
	for i, n := range nd {
		var taken []atom
		for n > 1 {
			if len(at) == 0 {
				return v, false
			}
			a := at[0]
			switch {
			case a.size == n:
				taken, at, n = append(taken, a), at[1:], 1
			case a.size > n && a.size%n == 0:
				taken = append(taken, atom{n, a.stride * (a.size / n)})
				at[0], n = atom{a.size / n, a.stride}, 1
			case a.size < n && n%a.size == 0:
				taken, at, n = append(taken, a), at[1:], n/a.size
			default:
				return v, false
			}
		}
		if len(taken) == 0 {
			continue // a size-1 dimension (its stride below)
		}
		merged := []atom{taken[0]}
		for _, a := range taken[1:] {
			if l := &merged[len(merged)-1]; l.stride == a.size*a.stride {
				l.size, l.stride = l.size*a.size, a.stride
			} else {
				merged = append(merged, a)
			}
		}
		if len(merged) == 1 {
			w.strides[i] = merged[0].stride
			continue
		}
		c := &i8Comp{}
		for _, a := range merged {
			c.sizes, c.strides = append(c.sizes, a.size), append(c.strides, a.stride)
		}
		w.comp[i] = c
	}
	if len(at) != 0 {
		return v, false
	}
	// Size-1 dimensions: the stride they would have in a contiguous run
	// (as before the merged dimensions: a column of one stays cs = 1).
	for i := len(nd) - 1; i >= 0; i-- {
		if nd[i] == 1 {
			w.strides[i] = 1
			if i+1 < len(nd) && w.comp[i+1] == nil {
				w.strides[i] = w.strides[i+1] * nd[i+1]
			}
		}
	}
	return w, true
}

// matrixOffsets splits v ([batch..., rows, cols]) into the offset of each
// batch index's matrix (row-major over the batch dimensions) and the row and
// column strides.
func (v i8View) matrixOffsets() (offs []int, rs, cs int, ok bool) {
	r := len(v.shape)
	if r < 2 || v.compAt(r-2) != nil || v.compAt(r-1) != nil {
		return nil, 0, 0, false
	}
	var bd, bs []int
	for a := 0; a < r-2; a++ {
		bd, bs = v.parts(a, bd, bs)
	}
	nb := graph.NumElements(bd)
	offs = make([]int, nb)
	idx := make([]int, len(bd))
	for b := range offs {
		o := v.off
		for a, i := range idx {
			o += i * bs[a]
		}
		offs[b] = o
		for a := len(idx) - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < bd[a] {
				break
			}
			idx[a] = 0
		}
	}
	return offs, v.strides[r-2], v.strides[r-1], true
}

// chainStep is an absorbed step and the output of it the chain continues
// with (a Split has several).
type chainStep struct {
	st  step
	out int
}

// qaView is an operand of the fused step read through a view of the tensor
// it was rearranged from (src), or, for the output, the view of the tensor
// the absorbed Relayouts wrote.
type qaView struct {
	chain    []chainStep // the absorbed steps, in execution order (runUnfused)
	srcShape []int       // the shape of the tensor the view reads (writes, output)
	shape    []int       // the operand's shape
	offs     []int       // per batch index of the operand: its matrix's offset
	rs, cs   int
	lut      *kernels.LUT // an absorbed QLUT, applied after the gather
}

// gather copies the rows×cols matrix of batch index b from src into dst
// (dense), applying the absorbed LUT.
func (v *qaView) gather(dst, src []int8, b, rows, cols int) {
	o := v.offs[b]
	if v.cs == 1 {
		for r := 0; r < rows; r++ {
			copy(dst[r*cols:(r+1)*cols], src[o+r*v.rs:o+r*v.rs+cols])
		}
	} else if v.rs == 1 {
		// kᵀ read from token-major k (ViT: 64 contiguous values per token,
		// tokens 2304 apart): walk the source along its contiguous axis,
		// column by column of dst (in L1), not row by row across every
		// token (the strided walk made ViT-B/16's int8 attention 17% slower).
		for c := 0; c < cols; c++ {
			sp := src[o+c*v.cs : o+c*v.cs+rows]
			for r, x := range sp {
				dst[r*cols+c] = x
			}
		}
	} else {
		for r := 0; r < rows; r++ {
			d, p := dst[r*cols:(r+1)*cols], o+r*v.rs
			for c := range d {
				d[c] = src[p]
				p += v.cs
			}
		}
	}
	if v.lut != nil {
		v.lut.Apply(dst[:rows*cols], dst[:rows*cols])
	}
}

// maxStridedGather is the largest operand matrix (elements) gathered with a
// column stride other than 1; above it the Relayout's blocked transpose
// stays (ViT-B/16: 12 heads of 64×197 kᵀ took 1.9 ms more per run gathered
// than the 1.2 ms of the transposing steps).
const maxStridedGather = 4096

// absorbInt8AttentionViews rewrites each fused int8 attention step to read
// q, k and v through views and write its output through one (see the file
// comment).
func (s *Session) absorbInt8AttentionViews() {
	if s.mode != ModeInt8 {
		return
	}
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	// single reports whether slot id is read by step r alone and not kept.
	single := func(id, r int) bool {
		return id >= 0 && !s.keep[id] && len(readers[id]) == 1 && readers[id][0] == r
	}
	for i := range s.steps {
		k, ok := s.steps[i].kernel.(*qattentionKernel)
		if !ok || k.views != ([3]*qaView{}) || k.outView != nil {
			continue
		}
		st := s.steps[i]
		var views [3]*qaView
		var roots [3]int
		used := map[int]int{} // absorbed step → how many of its outputs the chains take
		for j := 0; j < 3; j++ {
			views[j], roots[j] = s.operandView(st.in[j], i, producer, single, k)
			if v := views[j]; v != nil && v.cs != 1 && len(v.shape) >= 2 && v.shape[len(v.shape)-1]*v.shape[len(v.shape)-2] > maxStridedGather {
				// A large transposing gather (ViT-B/16's kᵀ, 64×197 per
				// head) is slower element by element than the blocked
				// transpose of the Relayout step: keep the steps.
				views[j], roots[j] = nil, st.in[j]
			}
			if views[j] != nil {
				for _, c := range views[j].chain {
					used[s.stepIndex(c.st, producer)]++
				}
			}
		}
		// A multi-output step (Split) goes only when the chains take all
		// of its outputs that are read (fused cache Concats read the others
		// through views of the Split's input); otherwise cut the chains
		// below it.
		for j, v := range views {
			if v == nil {
				continue
			}
			for c, cs := range v.chain {
				if n := s.liveOutputs(cs.st, readers); len(cs.st.out) > 1 && used[s.stepIndex(cs.st, producer)] != n {
					views[j], roots[j] = s.operandViewFrom(v.chain[c+1:], cs.st.out[cs.out], k)
					break
				}
			}
		}
		out := s.outputView(st, readers, single)
		if views == ([3]*qaView{}) && out == nil {
			continue
		}
		nk := *k
		nk.views, nk.outView = views, out
		nst := st
		nst.kernel = &nk
		nst.in = slices.Clone(st.in)
		nst.out = slices.Clone(st.out)
		for j, v := range views {
			if v == nil {
				continue
			}
			nst.in[j] = roots[j]
			for _, c := range v.chain {
				removed[s.stepIndex(c.st, producer)] = true
			}
		}
		if out != nil {
			last := out.chain[len(out.chain)-1]
			nst.out[0] = last.st.out[0]
			for _, c := range out.chain {
				removed[s.stepIndex(c.st, producer)] = true
			}
		}
		s.steps[i] = nst
	}
	s.dropSteps(removed)
}

// liveOutputs counts the outputs of st that a step reads or a run keeps.
func (s *Session) liveOutputs(st step, readers map[int][]int) int {
	n := 0
	for _, id := range st.out {
		if id >= 0 && (s.keep[id] || len(readers[id]) > 0) {
			n++
		}
	}
	return n
}

// stepIndex is the index of an absorbed step (identified by its first
// output's producer entry).
func (s *Session) stepIndex(st step, producer map[int]int) int {
	return producer[st.out[0]]
}

// operandView walks up from slot id (read by step r) through the steps a view
// can absorb, and returns the operand's view and the slot it reads (nil, id
// when nothing is absorbed).
func (s *Session) operandView(id, r int, producer map[int]int, single func(id, r int) bool, k *qattentionKernel) (*qaView, int) {
	var chain []chainStep
	cur, reader := id, r
	for single(cur, reader) {
		p, ok := producer[cur]
		if !ok {
			break
		}
		st := s.steps[p]
		if !s.viewableStep(st, k) {
			break
		}
		chain = append(chain, chainStep{st: st, out: slices.Index(st.out, cur)})
		cur, reader = st.in[0], p
	}
	if len(chain) == 0 {
		return nil, id
	}
	slices.Reverse(chain)
	return s.operandViewFrom(chain, cur, k)
}

// operandViewFrom composes the view of chain (in execution order) over slot
// root; nil, the chain's output when it cannot (then nothing is absorbed).
func (s *Session) operandViewFrom(chain []chainStep, root int, k *qattentionKernel) (*qaView, int) {
	end := root
	if len(chain) > 0 {
		last := chain[len(chain)-1]
		end = last.st.out[last.out]
	}
	if len(chain) == 0 {
		return nil, end
	}
	v, lut, ok := s.chainView(chain, root)
	if !ok {
		return nil, end
	}
	qv := &qaView{chain: chain, srcShape: s.valueDims(s.nameOf(root)), lut: lut}
	offs, rs, cs, ok := v.matrixOffsets()
	if !ok {
		return nil, end
	}
	qv.shape, qv.offs, qv.rs, qv.cs = v.shape, offs, rs, cs
	return qv, root
}

// chainView composes the view of chain (in execution order, each step
// viewableStep's) over the int8 slot root, and the chain's QLUT (at most
// one, applied after the gather); false when a step does not compose.
func (s *Session) chainView(chain []chainStep, root int) (i8View, *kernels.LUT, bool) {
	rd := s.valueDims(s.nameOf(root))
	if rd == nil || s.valueType(root) != graph.Int8 {
		return i8View{}, nil, false
	}
	v := denseI8View(rd)
	var lut *kernels.LUT
	for _, c := range chain {
		st := c.st
		od := s.valueDims(s.nameOf(st.out[c.out]))
		if od == nil {
			return i8View{}, nil, false
		}
		ok := true
		switch kk := st.kernel.(type) {
		case *relayoutKernel:
			if kk.perm != nil {
				v, ok = v.permute(kk.perm)
			}
			if ok {
				v, ok = v.reshape(od)
			}
		case *lutKernel:
			if lut != nil {
				return i8View{}, nil, false
			}
			lut = kk.lut
		default:
			switch st.node.OpType {
			case "Slice":
				v, ok = s.sliceView(v, st)
			case "Split":
				v, ok = s.splitView(v, st, c.out)
			default: // Reshape, Squeeze, Unsqueeze, Flatten, Identity
				v, ok = v.reshape(od)
			}
		}
		if !ok || !slices.Equal(v.shape, od) {
			return i8View{}, nil, false
		}
	}
	return v, lut, true
}

// viewableStep reports whether st maps its first input to its output(s) by
// moving int8 values only (or through a QLUT), with constant other inputs.
func (s *Session) viewableStep(st step, k *qattentionKernel) bool {
	if len(st.in) < 1 || st.in[0] < 0 || len(st.out) < 1 {
		return false
	}
	for _, id := range st.in[1:] {
		if id >= 0 && s.consts[id] == nil {
			return false
		}
	}
	switch kk := st.kernel.(type) {
	case *relayoutKernel:
		ok := len(st.in) == 1 && (kk.to == 0 || kk.to == graph.Int8)
		return ok
	case *lutKernel:
		if len(st.in) != 2 {
			return false
		}
		k.consts[st.in[1]] = s.consts[st.in[1]]
		return true
	case KernelFunc:
		// The ONNX data-movement kernels, also as the int8 lowering names
		// them (domain warboy.int8: the same kernels on int8 tensors).
		if st.node.Domain != "" && st.node.Domain != "ai.onnx" && st.node.Domain != "warboy.int8" {
			return false
		}
		switch st.node.OpType {
		case "Slice", "Split", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity":
		default:
			return false
		}
		if st.node.OpType != "Split" && len(st.out) != 1 {
			return false
		}
		for _, id := range st.in[1:] {
			if id >= 0 {
				k.consts[id] = s.consts[id]
			}
		}
		return true
	}
	return false
}

// valueType is the element type of slot id's value (0 when unknown).
func (s *Session) valueType(id int) graph.DType {
	v := s.model.Graph.Values[s.nameOf(id)]
	if v == nil {
		return 0
	}
	return v.DType
}

// sliceView applies a Slice step with constant starts/ends/axes/steps.
func (s *Session) sliceView(v i8View, st step) (i8View, bool) {
	var starts, ends, axes, steps []int64
	if s.model.Opset() < 10 {
		n := st.node
		starts, ends, axes = n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil)
	} else {
		for a, p := range []*[]int64{&starts, &ends, &axes, &steps} {
			if a+1 >= len(st.in) || st.in[a+1] < 0 {
				continue
			}
			c := s.consts[st.in[a+1]]
			x, err := intsInput(c, "slice")
			if err != nil {
				return v, false
			}
			*p = x
		}
	}
	ax, sts, err := graph.SliceAxes(len(v.shape), starts, ends, axes, steps)
	if err != nil {
		return v, false
	}
	w := i8View{off: v.off, shape: slices.Clone(v.shape), strides: slices.Clone(v.strides), comp: v.comp}
	for i, a := range ax {
		if v.compAt(a) != nil {
			return v, false
		}
		p, err := graph.ResolveSlice(v.shape[a], starts[i], ends[i], sts[i])
		if err != nil || p.Len <= 0 {
			return v, false
		}
		w.off += p.Start * v.strides[a]
		w.shape[a] = p.Len
		w.strides[a] = v.strides[a] * p.Step
	}
	return w, true
}

// splitView takes output o of a Split step: the slice along its axis after
// the earlier outputs (their static sizes).
func (s *Session) splitView(v i8View, st step, o int) (i8View, bool) {
	a, err := graph.NormalizeAxis(st.node.AttrInt("axis", 0), len(v.shape))
	if err != nil || o < 0 {
		return v, false
	}
	start := 0
	for _, id := range st.out[:o] {
		d := s.valueDims(s.nameOf(id))
		if d == nil || len(d) != len(v.shape) {
			return v, false
		}
		start += d[a]
	}
	od := s.valueDims(s.nameOf(st.out[o]))
	if od == nil || len(od) != len(v.shape) || start+od[a] > v.shape[a] || v.compAt(a) != nil {
		return v, false
	}
	w := i8View{off: v.off + start*v.strides[a], shape: slices.Clone(v.shape), strides: v.strides, comp: v.comp}
	w.shape[a] = od[a]
	return w, true
}

// outputView absorbs the Relayouts after the fused step's first output
// (each the single reader of the previous value) and returns the view of the
// last one's output the step writes through, nil when none.
func (s *Session) outputView(st step, readers map[int][]int, single func(id, r int) bool) *qaView {
	var chain []chainStep
	cur := st.out[0]
	for len(readers[cur]) == 1 {
		r := readers[cur][0]
		rst := s.steps[r]
		rk, ok := rst.kernel.(*relayoutKernel)
		if !ok || !single(cur, r) || len(rst.in) != 1 || len(rst.out) != 1 || rk.to != 0 && rk.to != graph.Int8 {
			break
		}
		chain = append(chain, chainStep{st: rst})
		cur = rst.out[0]
	}
	// Shorten the chain until its view exists.
	for ; len(chain) > 0; chain = chain[:len(chain)-1] {
		if v := s.outputViewOf(st.out[0], chain); v != nil {
			return v
		}
	}
	return nil
}

// outputViewOf composes, backwards from the last step's dense output, the
// view of chain's input (the fused step's output, slot o) inside it.
func (s *Session) outputViewOf(o int, chain []chainStep) *qaView {
	last := chain[len(chain)-1].st.out[0]
	fd := s.valueDims(s.nameOf(last))
	od := s.valueDims(s.nameOf(o))
	if fd == nil || od == nil || s.valueType(last) != graph.Int8 {
		return nil
	}
	v := denseI8View(fd)
	for c := len(chain) - 1; c >= 0; c-- {
		st := chain[c].st
		rk := st.kernel.(*relayoutKernel)
		in := s.valueDims(s.nameOf(st.in[0]))
		if in == nil {
			return nil
		}
		perm := rk.perm
		if perm == nil {
			perm = make([]int, len(in))
			for i := range perm {
				perm[i] = i
			}
		}
		if len(perm) != len(in) {
			return nil
		}
		pshape := make([]int, len(in))
		for i, p := range perm {
			if p < 0 || p >= len(in) {
				return nil
			}
			pshape[i] = in[p]
		}
		var ok bool
		if v, ok = v.reshape(pshape); !ok {
			return nil
		}
		w := i8View{off: v.off, shape: make([]int, len(in)), strides: make([]int, len(in)), comp: make([]*i8Comp, len(in))}
		for i, p := range perm {
			w.shape[p], w.strides[p], w.comp[p] = v.shape[i], v.strides[i], v.compAt(i)
		}
		v = w
	}
	if !slices.Equal(v.shape, od) {
		return nil
	}
	offs, rs, cs, ok := v.matrixOffsets()
	if !ok {
		return nil
	}
	return &qaView{chain: chain, srcShape: fd, shape: od, offs: offs, rs: rs, cs: cs}
}
