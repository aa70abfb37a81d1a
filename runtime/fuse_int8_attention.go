package runtime

// Fused int8 attention (seventeenth session). The int8 lowering turns a QDQ
// attention block into separate steps: QMatMul(q, kᵀ), then either
//
//   - [QLUT (a quantized scalar scaling)] → QSoftmax, when the quantizer put a
//     QuantizeLinear on the Softmax's input, or
//   - [QLUT] → Dequantize → [scalar Mul/Div/Add/Sub steps] → Softmax (with a
//     mask Add or Where folded into its row pass by fuseSoftmaxAdd) →
//     Quantize, when the scores reach the Softmax in float32 (our quantizer,
//     ORT's and PyTorch's leave the mask Add and the Softmax's input float),
//
// and QMatMul(p, v). Each step read its input from the arena and wrote its
// output back, five to nine steps per block: on the small encoders the int8
// file was slower than the float32 session's one fused attention step
// (docs/runtime.md, "int8 attention (seventeenth session)"). Here the chain
// becomes one step that runs head by head: q·kᵀ in int32, requantized to the
// int8 scores, the score chain row by row, the int8 probabilities, p·v in
// int32 and its requantization, with the head's scores and probabilities in
// per-worker buffers.
//
// The result is the unfused steps' bit for bit: the products and their
// requantization are the QMatMul kernel's (kernels.MatMulInt8Threads,
// Requant.Rows over each head), QSoftmax's row is kernels.QSoftmaxRowI8, the
// Softmax row is kernels.SoftmaxTermsRowF32 with the same terms and row
// indices, the Quantize is kernels.QuantizeF32. The elementwise steps between
// the int8 scores and the float Softmax (the LUT, the Dequantize and the
// scalar arithmetic) are a function of one int8 code each, so they are
// tabulated once at session creation by running those steps' own kernels on
// the 256 codes: the table holds exactly the values the steps compute.
//
// Refused (the steps stay): intermediate values read by other steps, kept
// (taps, graph outputs) or of other types; a scalar step whose other operand
// is not a constant of one value; a Softmax not over the last axis, a
// LogSoftmax; a Quantize with a per-axis scale, a layout, or uint8 output;
// products whose batch axes broadcast in the second one. When p has other
// readers the fused step writes it as a second output, placed as
// fuseAttention places it. At run time, inputs of other shapes or types run
// the absorbed steps one by one.

import (
	"fmt"
	"slices"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// qattentionKernel's inputs are q, k (as the q·kᵀ QMatMul reads them: kᵀ
// is [.., d, n]), v, then the inputs of the folded Softmax's terms; its
// outputs are the p·v product and, when withP, the probabilities.
type qattentionKernel struct {
	qk, pv *qmatmulKernel
	// pre are the steps between the q·kᵀ product and the softmax, in order
	// (each reads the previous one's output and constants), for runUnfused.
	pre []step
	// lut, for the QSoftmax form, maps the product's int8 scores to the
	// QSoftmax's input (nil: no LUT step). tab, for the float form, maps
	// them to the float Softmax's input.
	lut *kernels.LUT
	tab *[256]float32
	// The softmax: qsm (the QSoftmax form), or the float Softmax step's
	// kernel (softmaxKernel or *softmaxAddKernel, add set for the latter)
	// and the Quantize step after it.
	qsm      *qsoftmaxKernel
	softmax  step
	add      *softmaxAddKernel
	quantize step
	qScale   float32
	qZP      int32
	// preConsts are the constant inputs of the pre steps, the softmax and
	// the Quantize (nil where the step reads the chain), for runUnfused.
	consts map[int]*graph.Tensor
	withP  bool
	nodes  [2]*graph.Node // the q·kᵀ and p·v nodes (errors)
	// views, when set, read q, kᵀ or v through a strided view of the
	// tensor they were rearranged from, and outView writes the output
	// into the tensor the Relayouts after it made (int8_attention_views.go).
	views   [3]*qaView
	outView *qaView
}

func (k *qattentionKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	nt := 0
	if k.add != nil {
		nt = len(k.add.terms)
	}
	if err := checkInputs(in, 3+nt); err != nil {
		return nil, err
	}
	var terms []kernels.ScoreTerm
	if k.add != nil {
		var ok bool
		if terms, ok = k.add.kernelTerms(in[3:]); !ok {
			return k.runUnfused(ctx, in)
		}
	}
	q, qok := in[0].Data.([]int8)
	kt, kok := in[1].Data.([]int8)
	v, vok := in[2].Data.([]int8)
	if !qok || !kok || !vok {
		return k.runUnfused(ctx, in)
	}
	var shapes [3][]int
	for j := range shapes {
		shapes[j] = in[j].Shape
		if vw := k.views[j]; vw != nil {
			if !slices.Equal(in[j].Shape, vw.srcShape) {
				return k.runUnfused(ctx, in)
			}
			shapes[j] = vw.shape
		}
	}
	g1, err := newQMatMulGeometry(shapes[0], shapes[1])
	if err != nil || len(g1.shape) < 2 {
		return k.runUnfused(ctx, in)
	}
	m, n := g1.m, g1.n
	g2, err := newQMatMulGeometry(g1.shape, shapes[2])
	if err != nil || g2.nb != g1.nb || g2.m != m || g2.k != n || len(g2.shape) != len(g1.shape) {
		return k.runUnfused(ctx, in)
	}
	for i, a := range g2.aBatch {
		if a != i {
			return k.runUnfused(ctx, in)
		}
	}
	if k.add != nil && !slices.Equal(g1.shape, k.add.xShape) {
		return k.runUnfused(ctx, in)
	}
	if ov := k.outView; ov != nil && (!slices.Equal(g2.shape, ov.shape) || len(ov.offs) != g2.nb) {
		return k.runUnfused(ctx, in)
	}
	dv := g2.n
	out := ctx.AllocI8(g2.nb * m * dv)
	var p []int8
	if k.withP {
		p = ctx.AllocI8(g1.nb * m * n)
	}
	threads := max(ctx.Threads, 1)
	inner := 1
	if g1.nb < threads {
		inner = threads
	}
	if g1.nb > 0 && m > 0 && n > 0 {
		nnParallel(min(threads, g1.nb), g1.nb, func(lo, hi int) {
			w := getQAttnBufs(m, n, g1.k, dv)
			defer qattnPool.Put(w)
			for i := lo; i < hi; i++ {
				ph := w.p
				if p != nil {
					ph = p[i*m*n : (i+1)*m*n]
				}
				k.head(g1, g2, i, q, kt, v, terms, ph, out, w, inner)
			}
		})
	}
	oshape := g2.shape
	if k.outView != nil {
		oshape = k.outView.srcShape
	}
	res := []*graph.Tensor{graph.FromInt8(oshape, out)}
	if k.withP {
		res = append(res, graph.FromInt8(g1.shape, p))
	}
	return res, nil
}

// head computes product i: its scores, probabilities (into p, m×n) and
// output (its m×dv matrix of out, through outView when set).
func (k *qattentionKernel) head(g1, g2 *qmatmulGeometry, i int, q, kt, v []int8, terms []kernels.ScoreTerm, p, out []int8, w *qattnBufs, threads int) {
	m, d, n, dv := g1.m, g1.k, g1.n, g2.n
	var qh, kh, vh []int8
	if vw := k.views[0]; vw != nil {
		vw.gather(w.q, q, g1.aBatch[i], m, d)
		qh = w.q
	} else {
		ao := g1.aBatch[i] * m * d
		qh = q[ao : ao+m*d]
	}
	if vw := k.views[1]; vw != nil {
		vw.gather(w.k, kt, g1.bBatch[i], d, n)
		kh = w.k
	} else {
		bo := g1.bBatch[i] * d * n
		kh = kt[bo : bo+d*n]
	}
	k.product(w, m, n, d, qh, k.qk.aZP, kh, k.qk.bZP, w.acc, threads)
	s := w.s
	k.qk.rowsFor(n).Rows(w.acc[:m*n], s)
	if k.qsm != nil {
		if k.lut != nil {
			k.lut.Apply(s, s)
		}
		for r := 0; r < m; r++ {
			kernels.QSoftmaxRowI8(p[r*n:(r+1)*n], s[r*n:(r+1)*n], &k.qsm.exp, w.f, k.qsm.yScale, k.qsm.yZP)
		}
	} else {
		// The table, the Softmax with its terms and the Quantize, one
		// kernel call per row (bit-equal to the three steps).
		kernels.QSoftmaxTabRowsI8(p, s, m, n, k.tab, terms, i*m, w.f, k.qScale, k.qZP)
	}
	if vw := k.views[2]; vw != nil {
		vw.gather(w.v, v, g2.bBatch[i], n, dv)
		vh = w.v
	} else {
		vo := g2.bBatch[i] * n * dv
		vh = v[vo : vo+n*dv]
	}
	k.product(w, m, dv, n, p, k.pv.aZP, vh, k.pv.bZP, w.acc2, threads)
	if dv == 0 {
		return
	}
	ov := k.outView
	rq := k.pv.rowsFor(dv)
	switch {
	case ov == nil:
		rq.Rows(w.acc2[:m*dv], out[i*m*dv:(i+1)*m*dv])
	case ov.cs == 1 && ov.rs >= dv:
		o := ov.offs[i]
		rq.RowsTo(w.acc2[:m*dv], out[o:], ov.rs)
	default:
		rq.Rows(w.acc2[:m*dv], w.o)
		o := ov.offs[i]
		for r := 0; r < m; r++ {
			for c, x := range w.o[r*dv : (r+1)*dv] {
				out[o+r*ov.rs+c*ov.cs] = x
			}
		}
	}
}

// product is one of a head's two int32 products: on the worker's scratch
// (the small-product kernel, kernels.MatMulInt8With) when the head runs on
// one thread, as heads split over the threads do.
func (k *qattentionKernel) product(w *qattnBufs, m, n, kk int, a []int8, aZP int32, b []int8, bZP int32, out []int32, threads int) {
	if threads == 1 {
		kernels.MatMulInt8With(&w.mm, m, n, kk, a, aZP, b, bZP, out)
		return
	}
	kernels.MatMulInt8Threads(m, n, kk, a, aZP, b, bZP, out, threads)
}

// qattnBufs are one worker's scratch buffers (q, k, v: a head's operands
// gathered from views; o: its output before a scattered store; mm: the
// products').
type qattnBufs struct {
	acc, acc2  []int32
	s, p       []int8
	q, k, v, o []int8
	f          []float32
	mm         kernels.MatMulScratch
}

var qattnPool = sync.Pool{New: func() any { return new(qattnBufs) }}

func getQAttnBufs(m, n, d, dv int) *qattnBufs {
	w := qattnPool.Get().(*qattnBufs)
	grow := func(b []int32, l int) []int32 {
		if cap(b) < l {
			return make([]int32, l)
		}
		return b[:l]
	}
	w.acc, w.acc2 = grow(w.acc, m*n), grow(w.acc2, m*dv)
	if cap(w.s) < m*n {
		w.s, w.p = make([]int8, m*n), make([]int8, m*n)
	}
	w.s, w.p = w.s[:m*n], w.p[:m*n]
	growI8 := func(b []int8, l int) []int8 {
		if cap(b) < l {
			return make([]int8, l)
		}
		return b[:l]
	}
	w.q, w.k, w.v, w.o = growI8(w.q, m*d), growI8(w.k, d*n), growI8(w.v, n*dv), growI8(w.o, m*dv)
	// the Softmax rows' scratch: several rows per kernel call
	if l := kernels.QSoftmaxTabBufLen(m, n); cap(w.f) < l {
		w.f = make([]float32, l)
	}
	w.f = w.f[:kernels.QSoftmaxTabBufLen(m, n)]
	return w
}

// runChain runs absorbed view steps (each reading the chain value and
// constants) on x.
func (k *qattentionKernel) runChain(ctx *ExecContext, chain []chainStep, x *graph.Tensor) (*graph.Tensor, error) {
	for _, c := range chain {
		args := make([]*graph.Tensor, len(c.st.in))
		for a, id := range c.st.in {
			switch {
			case id < 0:
			case a == 0:
				args[a] = x
			default:
				args[a] = k.consts[id]
			}
		}
		r, err := c.st.kernel.Run(ctx, args)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.st.node.Label(), err)
		}
		if c.out >= len(r) {
			return nil, fmt.Errorf("%s: %d outputs", c.st.node.Label(), len(r))
		}
		x = r[c.out]
	}
	return x, nil
}

// runUnfused runs the absorbed steps one by one.
func (k *qattentionKernel) runUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if k.views != ([3]*qaView{}) {
		in = slices.Clone(in)
		for j, vw := range k.views {
			if vw == nil {
				continue
			}
			x, err := k.runChain(ctx, vw.chain, in[j])
			if err != nil {
				return nil, err
			}
			in[j] = x
		}
	}
	res, err := k.runUnfusedOperands(ctx, in)
	if err != nil || k.outView == nil {
		return res, err
	}
	if res[0], err = k.runChain(ctx, k.outView.chain, res[0]); err != nil {
		return nil, err
	}
	return res, nil
}

// runUnfusedOperands runs the attention's steps one by one on q, kᵀ and v.
func (k *qattentionKernel) runUnfusedOperands(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	r, err := k.qk.Run(ctx, in[:2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.nodes[0].Label(), err)
	}
	cur := r[0]
	run := func(st step, extra []*graph.Tensor) error {
		args := make([]*graph.Tensor, len(st.in))
		x := 0
		for a, id := range st.in {
			switch {
			case id < 0:
			case k.consts[id] != nil:
				args[a] = k.consts[id]
			case x == 0:
				args[a] = cur
				x++
			default:
				if len(extra) == 0 {
					return fmt.Errorf("%s: missing input", st.node.Label())
				}
				args[a], extra = extra[0], extra[1:]
			}
		}
		r, err := st.kernel.Run(ctx, args)
		if err != nil {
			return fmt.Errorf("%s: %w", st.node.Label(), err)
		}
		cur = r[0]
		return nil
	}
	for _, st := range k.pre {
		if err := run(st, nil); err != nil {
			return nil, err
		}
	}
	if k.qsm == nil {
		if err := run(k.softmax, in[3:]); err != nil {
			return nil, err
		}
		if err := run(k.quantize, nil); err != nil {
			return nil, err
		}
	} else {
		// The QSoftmax step (the seventeenth session's fallback left it
		// out: TestInt8AttentionViews).
		r, err := k.qsm.Run(ctx, []*graph.Tensor{cur})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.nodes[0].Label(), err)
		}
		cur = r[0]
	}
	p := cur
	o, err := k.pv.Run(ctx, []*graph.Tensor{p, in[2]})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.nodes[1].Label(), err)
	}
	if k.withP {
		return []*graph.Tensor{o[0], p}, nil
	}
	return o, nil
}

// fuseInt8Attention rewrites the chains described in the file comment into
// one qattentionKernel step each (int8 sessions; it runs after
// fuseSoftmaxAdd, through packConstMatMuls, has folded the mask terms).
func (s *Session) fuseInt8Attention() {
	if s.mode != ModeInt8 {
		return
	}
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	// only: the single reader of slot id, or -1.
	only := func(id int) int {
		if id < 0 || s.keep[id] || len(readers[id]) != 1 || removed[readers[id][0]] {
			return -1
		}
		return readers[id][0]
	}
	for i, st := range s.steps {
		qk, ok := st.kernel.(*qmatmulKernel)
		if !ok || removed[i] || len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 {
			continue
		}
		k := &qattentionKernel{qk: qk, consts: map[int]*graph.Tensor{}}
		chain := []int{i}
		cur := st.out[0]
		// The elementwise steps up to the softmax.
		j := only(cur)
		for j >= 0 {
			sj := s.steps[j]
			if _, ok := sj.kernel.(*qsoftmaxKernel); ok {
				break
			}
			if !s.softmaxLike(sj) && !s.scoreElementwise(sj, cur, k.consts) {
				j = -1
				break
			}
			if s.softmaxLike(sj) {
				break
			}
			k.pre = append(k.pre, sj)
			chain = append(chain, j)
			cur = sj.out[0]
			j = only(cur)
		}
		if j < 0 {
			continue
		}
		sm := s.steps[j]
		if qs, ok := sm.kernel.(*qsoftmaxKernel); ok {
			if !s.lastAxis(sm.node.Inputs[0], int64(qs.axis)) || len(sm.out) != 1 {
				continue
			}
			k.qsm = qs
			if len(k.pre) > 1 {
				continue
			}
			if len(k.pre) == 1 {
				lk, ok := k.pre[0].kernel.(*lutKernel)
				if !ok {
					continue
				}
				k.lut = lk.lut
			}
			chain = append(chain, j)
			cur = sm.out[0]
		} else {
			if sm.in[0] != cur {
				continue
			}
			tab, ok := s.scoreTable(k.pre, k.consts)
			if !ok {
				continue
			}
			k.tab = tab
			k.softmax = sm
			if a, ok := sm.kernel.(*softmaxAddKernel); ok {
				k.add = a
			}
			chain = append(chain, j)
			qi := only(sm.out[0])
			if qi < 0 || !s.int8Quantize(s.steps[qi], sm.out[0], k) {
				continue
			}
			k.quantize = s.steps[qi]
			chain = append(chain, qi)
			cur = s.steps[qi].out[0]
		}
		// The p·v product: the one reader taking p as its left operand.
		pid := cur
		l := -1
		for _, rd := range readers[pid] {
			sr := s.steps[rd]
			if _, ok := sr.kernel.(*qmatmulKernel); !ok || removed[rd] || len(sr.in) != 2 || sr.in[0] != pid || sr.in[1] == pid || len(sr.out) != 1 {
				continue
			}
			if l >= 0 {
				l = -2
				break
			}
			l = rd
		}
		if l < 0 {
			continue
		}
		k.pv = s.steps[l].kernel.(*qmatmulKernel)
		k.withP = s.keep[pid] || len(readers[pid]) > 1
		pos := l
		if k.withP {
			early := false
			for _, rd := range readers[pid] {
				early = early || rd < l
			}
			if early {
				if t, ok := producer[s.steps[l].in[1]]; ok && t > chain[len(chain)-1] {
					continue // v is computed after one of p's other readers
				}
				pos = chain[len(chain)-1]
			}
		}
		k.nodes = [2]*graph.Node{st.node, s.steps[l].node}
		in := []int{st.in[0], st.in[1], s.steps[l].in[1]}
		if k.qsm == nil {
			in = append(in, k.softmax.in[1:]...)
		}
		out := []int{s.steps[l].out[0]}
		if k.withP {
			out = append(out, pid)
		}
		s.steps[pos] = step{node: s.steps[l].node, kernel: k, in: in, out: out}
		for _, d := range append(chain, l) {
			if d != pos {
				removed[d] = true
			}
		}
	}
	s.dropSteps(removed)
}

// softmaxLike reports whether st is a float Softmax over the last axis of
// its input the fused step can run row by row.
func (s *Session) softmaxLike(st step) bool {
	if len(st.out) != 1 || len(st.in) < 1 || st.in[0] < 0 {
		return false
	}
	switch sk := st.kernel.(type) {
	case softmaxKernel:
		return !sk.log && len(st.in) == 1 && s.lastAxis(st.node.Inputs[0], sk.axis)
	case *softmaxAddKernel:
		return true
	}
	return false
}

// lastAxis reports whether axis is the last one of value name's static shape.
func (s *Session) lastAxis(name string, axis int64) bool {
	v := s.model.Graph.Values[name]
	if v == nil || !v.HasShape {
		return false
	}
	d, ok := v.Shape.Concrete()
	if !ok || len(d) < 2 {
		return false
	}
	ax, err := graph.NormalizeAxis(axis, len(d))
	return err == nil && ax == len(d)-1
}

// scoreElementwise reports whether st maps the chain value cur element by
// element with constants (recorded in consts) as its other inputs: a QLUT,
// a Dequantize without a layout, or a float Mul/Div/Add/Sub with a
// one-value constant.
func (s *Session) scoreElementwise(st step, cur int, consts map[int]*graph.Tensor) bool {
	if len(st.out) != 1 || len(st.in) < 1 || st.in[0] != cur && !(len(st.in) == 2 && st.in[1] == cur) {
		return false
	}
	for _, id := range st.in {
		if id == cur {
			continue
		}
		if id < 0 || s.consts[id] == nil {
			return false
		}
	}
	switch kk := st.kernel.(type) {
	case *lutKernel:
		if st.in[0] != cur {
			return false
		}
	case *dequantizeKernel:
		if st.in[0] != cur || kk.perm != nil || kk.shape != nil {
			return false
		}
		for _, id := range st.in[1:] {
			if id >= 0 && s.consts[id].Len() != 1 {
				return false
			}
		}
	default:
		if st.node.Domain != "" && st.node.Domain != "ai.onnx" || len(st.in) != 2 {
			return false
		}
		switch st.node.OpType {
		case "Mul", "Div", "Add", "Sub":
		default:
			return false
		}
		if _, plain := st.kernel.(KernelFunc); !plain {
			return false
		}
		c := s.consts[st.in[0]]
		if st.in[0] == cur {
			c = s.consts[st.in[1]]
		}
		if c.DType != graph.Float32 || c.Len() != 1 || len(c.Shape) > len(s.valueDims(st.node.Outputs[0])) {
			return false
		}
	}
	for _, id := range st.in {
		if id != cur && id >= 0 {
			consts[id] = s.consts[id]
		}
	}
	return true
}

// valueDims is the static shape of a value of any type (nil when unknown).
func (s *Session) valueDims(name string) []int {
	v := s.model.Graph.Values[name]
	if v == nil || !v.HasShape {
		return nil
	}
	d, _ := v.Shape.Concrete()
	return d
}

// scoreTable runs the pre steps on the 256 int8 codes (the codes' order:
// t[uint8(c)] is code c) and returns the float32 values they give, false
// when the chain does not end in float32 or a step fails.
func (s *Session) scoreTable(pre []step, consts map[int]*graph.Tensor) (*[256]float32, bool) {
	codes := make([]int8, 256)
	for c := range codes {
		codes[c] = int8(uint8(c))
	}
	cur := graph.FromInt8([]int{256}, codes)
	ctx := &ExecContext{Threads: 1}
	for _, st := range pre {
		args := make([]*graph.Tensor, len(st.in))
		for a, id := range st.in {
			if id >= 0 {
				if c := consts[id]; c != nil {
					args[a] = c
				} else {
					args[a] = cur
				}
			}
		}
		r, err := st.kernel.Run(ctx, args)
		if err != nil || len(r) != 1 || r[0].Len() != 256 {
			return nil, false
		}
		cur = r[0]
	}
	f, ok := cur.Data.([]float32)
	if !ok || len(f) != 256 {
		return nil, false
	}
	var t [256]float32
	copy(t[:], f)
	return &t, true
}

// int8Quantize reports whether st quantizes the float probabilities x
// per tensor to int8 without a layout change, and records its parameters.
func (s *Session) int8Quantize(st step, x int, k *qattentionKernel) bool {
	qk, ok := st.kernel.(*quantizeKernel)
	if !ok || qk.perm != nil || len(st.in) < 2 || st.in[0] != x || len(st.out) != 1 {
		return false
	}
	sc := s.consts[st.in[1]]
	if sc == nil || sc.DType != graph.Float32 || sc.Len() != 1 {
		return false
	}
	// An int8 zero point (a missing one means uint8 output).
	if len(st.in) != 3 || st.in[2] < 0 {
		return false
	}
	z := s.consts[st.in[2]]
	if z == nil {
		return false
	}
	zd, ok := z.Data.([]int8)
	if !ok || len(zd) != 1 {
		return false
	}
	k.consts[st.in[2]] = z
	zp := int32(zd[0])
	k.consts[st.in[1]] = sc
	k.qScale, k.qZP = sc.F32()[0], zp
	return true
}
