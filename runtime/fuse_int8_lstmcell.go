package runtime

// int8 LSTM cells written out as operators (eighteenth session). The int8
// lowering of a quantized nn.LSTMCell (or any cell spelled Gemm + Gemm + Add,
// Split into four blocks, Sigmoid/Tanh, c' = σ(f)·c + σ(i)·tanh(g),
// h' = σ(o)·tanh(c')) with a QuantizeLinear on every intermediate, as our
// quantizer and ORT's quantize_static write it, is eleven int8 steps after
// the two products: the QBinary Add of the products, the Split, four QLUTs,
// three QBinary Muls, the QBinary Add giving c', the QLUT of c' and the
// QBinary Mul giving h'. At batch 1-2 and hidden 48 each is a few dozen
// values, so a step cost its dispatch, shape checks and buffer, not its
// arithmetic (seq2seq_lstmcell's greedy decoder: 187 int8 steps against 102
// float32 ones, the int8 run no faster than the float32 one, seventeenth
// session).
//
// The fused step (qlstmCellKernel) reads the two products' codes and c's and
// runs, row by row on a scratch row, the steps' own kernels: the QBinary's
// apply (its vector arithmetic, or its 65536-entry pair table), the QLUTs
// (those after one Split block composed into one table, as those between c'
// and the last Mul: a requantization followed by the activation is one
// lookup). So the bits are the unfused steps' (TestFuseInt8LSTMCellBitExact),
// and only the dispatch goes. The gate roles need not be known: the
// structure is read from the dataflow (which gate outputs meet in which
// Mul), so any gate order and any table (Sigmoid, Tanh, HardSigmoid, ...)
// fuse.
// Refused (steps unchanged): an intermediate read elsewhere or kept (taps,
// outputs), a reader of c' placed before the cell's last step, a QBinary
// with a per-channel constant; other shapes at run time run the absorbed
// steps one by one.

import (
	"sort"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// qlstmCellKernel is the fused int8 cell. Inputs: the products' codes a and
// b [..., 4H] (with add set; otherwise the pre-activations' codes alone) and
// c [..., H]; outputs c' and h' [..., H] (c's shape).
type qlstmCellKernel struct {
	h    int
	add  *qbinaryKernel  // the Add of the two products (nil: input 0 holds the sum)
	luts [4]*kernels.LUT // per Split block: its QLUTs composed
	// ig multiplies the gate blocks igA (its first operand) and igB; fc the
	// gate block fcG and c (cFirst: c is its first operand); sum adds ig and
	// fc (igFirst: ig first); tanh maps c' (its QLUTs composed); hm
	// multiplies the gate block hmG and tanh(c') (tFirst: tanh(c') first).
	ig, fc, sum, hm         *qbinaryKernel
	igA, igB, fcG, hmG      int
	cFirst, igFirst, tFirst bool
	tanh                    *kernels.LUT
	sub                     subSteps
	scratch                 sync.Pool // *[]int8 of 11H: one row's pre-activations, gates, ig, fc, tanh(c')
}

func (k *qlstmCellKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	nin := 2
	if k.add != nil {
		nin = 3
	}
	if err := checkInputs(in, nin); err != nil {
		return nil, err
	}
	c := in[nin-1]
	if !k.fits(in[:nin-1], c) {
		return k.sub.run(ctx, in)
	}
	h := k.h
	cd := c.I8()
	pa := in[0].I8()
	var pb []int8
	if k.add != nil {
		pb = in[1].I8()
	}
	rows := len(cd) / h
	cn, hn := ctx.AllocI8(len(cd)), ctx.AllocI8(len(cd))
	p, _ := k.scratch.Get().(*[]int8)
	if p == nil {
		buf := make([]int8, 11*h)
		p = &buf
	}
	sc := *p
	pre, gates, ig, fc, t := sc[:4*h], sc[4*h:8*h], sc[8*h:9*h], sc[9*h:10*h], sc[10*h:11*h]
	g := func(b int) []int8 { return gates[b*h : (b+1)*h] }
	// The steps' own kernels (qbinaryKernel.apply, LUT.Apply), row by row
	// on the row's blocks: the unfused steps' bits.
	for r := 0; r < rows; r++ {
		x := pa[r*4*h : (r+1)*4*h]
		if pb != nil {
			k.add.apply(x, pb[r*4*h:(r+1)*4*h], pre)
			x = pre
		}
		for b := 0; b < 4; b++ {
			k.luts[b].Apply(x[b*h:(b+1)*h], g(b))
		}
		cr, cnr, hnr := cd[r*h:(r+1)*h], cn[r*h:(r+1)*h], hn[r*h:(r+1)*h]
		k.ig.apply(g(k.igA), g(k.igB), ig)
		if k.cFirst {
			k.fc.apply(cr, g(k.fcG), fc)
		} else {
			k.fc.apply(g(k.fcG), cr, fc)
		}
		if k.igFirst {
			k.sum.apply(ig, fc, cnr)
		} else {
			k.sum.apply(fc, ig, cnr)
		}
		k.tanh.Apply(cnr, t)
		if k.tFirst {
			k.hm.apply(t, g(k.hmG), hnr)
		} else {
			k.hm.apply(g(k.hmG), t, hnr)
		}
	}
	k.scratch.Put(p)
	shape := append([]int(nil), c.Shape...)
	return []*graph.Tensor{graph.FromInt8(shape, cn), graph.FromInt8(append([]int(nil), shape...), hn)}, nil
}

// fits reports whether the inputs have the fused cell's shapes: int8, the
// pre-activation operands of one shape whose last axis is 4H, c of the same
// leading shape with a last axis of H.
func (k *qlstmCellKernel) fits(pre []*graph.Tensor, c *graph.Tensor) bool {
	if c == nil || c.DType != graph.Int8 || len(c.Shape) == 0 || len(c.I8()) != graph.NumElements(c.Shape) {
		return false
	}
	r := len(c.Shape) - 1
	if c.Shape[r] != k.h {
		return false
	}
	for _, x := range pre {
		if x == nil || x.DType != graph.Int8 || len(x.Shape) != len(c.Shape) || x.Shape[r] != 4*k.h ||
			len(x.I8()) != graph.NumElements(x.Shape) {
			return false
		}
		for a := 0; a < r; a++ {
			if x.Shape[a] != c.Shape[a] {
				return false
			}
		}
	}
	return true
}

// fuseInt8LSTMCells rewrites each lowered int8 cell into one qlstmCellKernel
// step at the place of its last step (the Mul giving h'). int8 sessions.
func (s *Session) fuseInt8LSTMCells() {
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
	binary := func(i int, op string) *qbinaryKernel {
		if i < 0 {
			return nil
		}
		st := s.steps[i]
		qb, ok := st.kernel.(*qbinaryKernel)
		if !ok || qb.op != op || qb.chans != nil || qb.pairs == nil || len(st.in) != 2 || len(st.out) != 1 ||
			st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 {
			return nil
		}
		return qb
	}
	lut := func(i int) *kernels.LUT {
		if i < 0 {
			return nil
		}
		st := s.steps[i]
		lk, ok := st.kernel.(*lutKernel)
		if !ok || len(st.out) != 1 || st.out[0] < 0 {
			return nil
		}
		return lk.lut
	}
	for i, st := range s.steps {
		m := s.matchInt8LSTMCell(i, st, only, binary, lut, readers, producer)
		if m == nil {
			continue
		}
		for _, j := range m.chain {
			if removed[j] {
				m = nil
				break
			}
		}
		if m == nil {
			continue
		}
		order := append([]int(nil), m.chain...)
		sort.Ints(order)
		sub := subSteps{consts: map[int]*graph.Tensor{}, in: m.in, out: m.out}
		for _, j := range order {
			sj := s.steps[j]
			sub.steps = append(sub.steps, sj)
			for _, id := range sj.in {
				if t := s.consts[id]; id >= 0 && t != nil {
					sub.consts[id] = t
				}
			}
		}
		m.k.sub = sub
		for _, j := range m.chain {
			removed[j] = true
		}
		removed[m.last] = false
		s.steps[m.last] = step{node: s.steps[m.last].node, kernel: m.k, in: m.in, out: m.out}
	}
	s.dropSteps(removed)
}

// int8CellMatch is a lowered int8 cell found from its Split.
type int8CellMatch struct {
	k       *qlstmCellKernel
	chain   []int // the absorbed steps
	last    int   // the Mul giving h'
	in, out []int
}

// matchInt8LSTMCell matches the cell whose Split is step i.
func (s *Session) matchInt8LSTMCell(i int, st step, only func(int) int, binary func(int, string) *qbinaryKernel,
	lut func(int) *kernels.LUT, readers map[int][]int, producer map[int]int) *int8CellMatch {
	n := st.node
	if n.OpType != "Split" || n.Domain != "" && n.Domain != Int8Domain || len(st.out) != 4 || len(st.in) == 0 || st.in[0] < 0 {
		return nil
	}
	xv := s.model.Graph.Values[n.Inputs[0]]
	if xv == nil || xv.DType != graph.Int8 || !xv.HasShape || len(xv.Shape) == 0 {
		return nil
	}
	rank := len(xv.Shape)
	if ax := int(n.AttrInt("axis", 0)); ax != rank-1 && ax != -1 {
		return nil
	}
	full := xv.Shape[rank-1].Size
	if full <= 0 || full%4 != 0 || !s.equalSplit(n, full/4) {
		return nil
	}
	k := &qlstmCellKernel{h: full / 4}
	chain := []int{i}
	gateOf := map[int]int{} // QLUT output slot -> block
	gateSlot := [4]int{}
	for b, o := range st.out {
		// The QLUTs after the block (a requantization, the activation),
		// composed into one table.
		var t kernels.LUT
		for q := range t {
			t[q] = int8(uint8(q))
		}
		cur := o
		for {
			j := only(cur)
			l := lut(j)
			if l == nil || s.steps[j].in[0] != cur {
				break
			}
			for q := range t {
				t[q] = l[uint8(t[q])]
			}
			chain = append(chain, j)
			cur = s.steps[j].out[0]
		}
		k.luts[b] = &t
		gateSlot[b] = cur
		gateOf[cur] = b
	}
	// The three Muls reading the gates, each the sole reader of its gates.
	muls := map[int]bool{}
	for b := 0; b < 4; b++ {
		j := only(gateSlot[b])
		if binary(j, "Mul") == nil {
			return nil
		}
		muls[j] = true
	}
	if len(muls) != 3 {
		return nil
	}
	igStep, fcStep, hmStep := -1, -1, -1
	var sumStep int
	for j := range muls {
		sj := s.steps[j]
		_, g0 := gateOf[sj.in[0]]
		_, g1 := gateOf[sj.in[1]]
		if g0 && g1 {
			igStep = j
		}
	}
	if igStep < 0 {
		return nil
	}
	k.ig = binary(igStep, "Mul")
	k.igA, k.igB = gateOf[s.steps[igStep].in[0]], gateOf[s.steps[igStep].in[1]]
	if k.igA == k.igB {
		return nil
	}
	sumStep = only(s.steps[igStep].out[0])
	sq := binary(sumStep, "Add")
	if sq == nil {
		return nil
	}
	k.sum = sq
	igOut := s.steps[igStep].out[0]
	sst := s.steps[sumStep]
	fcOut := sst.in[1]
	k.igFirst = sst.in[0] == igOut
	if !k.igFirst {
		if sst.in[1] != igOut {
			return nil
		}
		fcOut = sst.in[0]
	}
	for j := range muls {
		if j != igStep && s.steps[j].out[0] == fcOut {
			fcStep = j
		} else if j != igStep {
			hmStep = j
		}
	}
	if fcStep < 0 || hmStep < 0 || only(fcOut) != sumStep {
		return nil
	}
	// σ(f)·c: one gate and c, which is not a gate.
	fst := s.steps[fcStep]
	cSlot := -1
	if b, ok := gateOf[fst.in[0]]; ok {
		k.fcG, cSlot = b, fst.in[1]
	} else if b, ok := gateOf[fst.in[1]]; ok {
		k.fcG, cSlot, k.cFirst = b, fst.in[0], true
	}
	if _, isGate := gateOf[cSlot]; cSlot < 0 || isGate {
		return nil
	}
	k.fc = binary(fcStep, "Mul")
	// h' = σ(o)·tanh(c'): the QLUT of c' read by the last Mul.
	cNew := sst.out[0]
	hst := s.steps[hmStep]
	tSlot := hst.in[1]
	b, ok := gateOf[hst.in[0]]
	if !ok {
		b, ok = gateOf[hst.in[1]]
		tSlot, k.tFirst = hst.in[0], true
	}
	if !ok {
		return nil
	}
	k.hmG = b
	if only(tSlot) != hmStep {
		return nil
	}
	// The QLUTs from c' to the Mul (the Tanh, and any requantization),
	// composed; the first is a reader of c', the others sole readers.
	var luts []int
	for cur := tSlot; cur != cNew; {
		j, ok := producer[cur]
		if !ok || lut(j) == nil || len(luts) > 8 || cur != tSlot && only(cur) < 0 {
			return nil
		}
		luts = append(luts, j)
		cur = s.steps[j].in[0]
	}
	if len(luts) == 0 {
		return nil
	}
	var tt kernels.LUT
	for q := range tt {
		v := int8(uint8(q))
		for l := len(luts) - 1; l >= 0; l-- {
			v = lut(luts[l])[uint8(v)]
		}
		tt[q] = v
	}
	k.tanh = &tt
	tStep := luts[len(luts)-1]
	k.hm = binary(hmStep, "Mul")
	if k.igA == k.fcG || k.igB == k.fcG || k.hmG == k.fcG || k.hmG == k.igA || k.hmG == k.igB {
		return nil
	}
	chain = append(chain, igStep, fcStep, sumStep, hmStep)
	chain = append(chain, luts...)
	last := 0
	for _, j := range chain {
		last = max(last, j)
	}
	if last != hmStep {
		return nil
	}
	// c' must not be read before the fused step runs; c must be computed
	// before it (it is: the Mul of c ran before h').
	for _, rd := range readers[cNew] {
		if rd != tStep && rd <= last {
			return nil
		}
	}
	in := []int{st.in[0], cSlot}
	// The Add of the two products, when the Split is its only reader.
	if a, ok := producer[st.in[0]]; ok && only(st.in[0]) == i {
		if aq := binary(a, "Add"); aq != nil {
			k.add = aq
			chain = append(chain, a)
			in = []int{s.steps[a].in[0], s.steps[a].in[1], cSlot}
		}
	}
	return &int8CellMatch{k: k, chain: chain, last: last, in: in, out: []int{cNew, hst.out[0]}}
}
