package runtime

// Chains of int8 elementwise QBinary steps run as one step (twenty-third
// session). ConvNeXt V2's Global Response Normalization ends in
// γ·(x·N) + β + x on a channels-last map: the int8 file runs it as four
// QBinary steps (x·N, γ·, +β, +x), each reading the map and writing a new
// one, where the float32 session composes the chain into one affine pass
// (fuse_affine.go). The int8 values cannot be composed (each step rounds to
// its own scale), but every step is a function of one element of each
// operand: the fused step runs the steps' own kernel (qbinaryKernel.apply)
// one after the other on a block of the map that stays in L1, the first
// writing the block of the output and the others updating it in place. The
// operands repeating along the leading axes (N, γ, β: one value per channel)
// are repeated once into a block of the same length (the constants at
// session creation), as the QBinary step itself does; the others have the
// output's shape. Same kernel, same codes: the results are the steps' bits.
//
// A chain is two or more QBinary steps, each reading the previous one's int8
// output, which no other step reads and no run keeps (an output or a tap),
// all of one static output shape, whose other operands have that shape or
// repeat along its leading axes (numpy broadcasting of a trailing block). At
// run time inputs of other shapes run the steps one by one.

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// bcOp is one step of a fused chain: its kernel, the fused step's input of
// its other operand (-1 for the first step's: arg is then its second
// input), and whether the chain value is its B operand.
type bcOp struct {
	k      *qbinaryKernel
	arg    int
	chainB bool
	period int    // the other operand's length when it repeats (0: full)
	block  []int8 // a constant repeating operand repeated to the block length
}

// binaryChainKernel runs a QBinary chain (see the file comment). Its inputs
// are the chain's first value, then the other operands.
type binaryChainKernel struct {
	ops    []bcOp
	shape  []int
	shapes [][]int // the inputs' planned shapes
	blk    int     // elements per block: a multiple of every period
	node   *graph.Node
	sub    subSteps
}

// bcParallelMin is the size (elements) from which the blocks are spread over
// the threads.
const bcParallelMin = 1 << 15

func (k *binaryChainKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, len(k.shapes)); err != nil {
		return nil, err
	}
	data := make([][]int8, len(in))
	for a, t := range in {
		d, ok := t.Data.([]int8)
		if !ok || !slices.Equal(t.Shape, k.shapes[a]) {
			return k.sub.run(ctx, in)
		}
		data[a] = d
	}
	n := graph.NumElements(k.shape)
	out := ctx.AllocI8(n)
	// The repeating operands computed in this run, repeated to a block.
	blocks := make([][]int8, len(k.ops))
	for j, op := range k.ops {
		switch {
		case op.period == 0:
		case op.block != nil:
			blocks[j] = op.block
		default:
			blocks[j] = repeatI8(data[op.arg], k.blk/op.period)
		}
	}
	run := func(lo, hi int) {
		for b := lo; b < hi; b++ {
			s, e := b*k.blk, min((b+1)*k.blk, n)
			o := out[s:e]
			for j, op := range k.ops {
				x := o
				if j == 0 {
					x = data[0][s:e]
				}
				y := blocks[j]
				if y == nil {
					y = data[op.arg][s:e]
				}
				y = y[:e-s]
				if op.chainB {
					op.k.apply(y, x, o)
				} else {
					op.k.apply(x, y, o)
				}
			}
		}
	}
	nb := (n + k.blk - 1) / k.blk
	if ctx.Threads > 1 && n >= bcParallelMin && nb > 1 {
		qtensor.ParallelChunks(nb, ctx.Threads, max(1, bcParallelMin/(2*k.blk)), run)
	} else {
		run(0, nb)
	}
	return []*graph.Tensor{graph.FromInt8(k.shape, out)}, nil
}

// fuseInt8BinaryChains rewrites the chains described in the file comment
// into one binaryChainKernel step each, at the last step's place.
func (s *Session) fuseInt8BinaryChains() {
	if s.mode != ModeInt8 {
		return
	}
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	// next is the single reader of st's output that continues a chain.
	next := func(st step) int {
		o := st.out[0]
		if s.keep[o] || len(readers[o]) != 1 || removed[readers[o][0]] {
			return -1
		}
		r := readers[o][0]
		rs := s.steps[r]
		if _, ok := rs.kernel.(*qbinaryKernel); !ok || len(rs.in) != 2 || len(rs.out) != 1 || rs.out[0] < 0 || (rs.in[0] == o) == (rs.in[1] == o) {
			return -1
		}
		return r
	}
	for i, st := range s.steps {
		qb, ok := st.kernel.(*qbinaryKernel)
		if !ok || removed[i] || len(st.in) != 2 || len(st.out) != 1 || st.out[0] < 0 || st.in[0] < 0 || st.in[1] < 0 {
			continue
		}
		shape := s.valueDims(s.nameOf(st.out[0]))
		if shape == nil || graph.NumElements(shape) == 0 || s.valueType(st.out[0]) != graph.Int8 {
			continue
		}
		k := &binaryChainKernel{shape: shape, blk: 1}
		var in []int
		var shapes [][]int
		addArg := func(id int) int {
			in = append(in, id)
			shapes = append(shapes, s.valueDims(s.nameOf(id)))
			return len(in) - 1
		}
		// The first step: its full-shape operand is the chain's value.
		head := 0
		if !slices.Equal(s.valueDims(s.nameOf(st.in[0])), shape) {
			head = 1
		}
		if !slices.Equal(s.valueDims(s.nameOf(st.in[head])), shape) || s.valueType(st.in[head]) != graph.Int8 {
			continue
		}
		addArg(st.in[head])
		op, ok := s.chainOperand(qb, st.in[1-head], shape, addArg)
		if !ok {
			continue
		}
		op.chainB = head == 1
		k.ops = append(k.ops, op)
		chain := []int{i}
		cur := st
		for {
			r := next(cur)
			if r < 0 {
				break
			}
			rs := s.steps[r]
			if !slices.Equal(s.valueDims(s.nameOf(rs.out[0])), shape) || s.valueType(rs.out[0]) != graph.Int8 {
				break
			}
			o := 1
			if rs.in[1] == cur.out[0] {
				o = 0
			}
			op, ok := s.chainOperand(rs.kernel.(*qbinaryKernel), rs.in[o], shape, addArg)
			if !ok {
				break
			}
			op.chainB = o == 0
			k.ops = append(k.ops, op)
			chain = append(chain, r)
			cur = rs
		}
		if len(chain) < 2 {
			continue
		}
		// The block: a multiple of every period, at least minBlock long.
		for _, op := range k.ops {
			if op.period > 0 {
				k.blk = lcm(k.blk, op.period)
			}
		}
		if k.blk > 1<<16 {
			continue
		}
		k.blk *= max(1, (minBlock+k.blk-1)/k.blk)
		for j := range k.ops {
			if op := &k.ops[j]; op.period > 0 && op.block == nil {
				if c := s.consts[in[op.arg]]; c != nil {
					op.block = repeatI8(c.Data.([]int8), k.blk/op.period)
				}
			}
		}
		k.shapes = shapes
		k.node = st.node
		last := chain[len(chain)-1]
		subs := make([]step, len(chain))
		for c, j := range chain {
			subs[c] = s.steps[j]
		}
		k.sub = newSubSteps(subs, in, []int{s.steps[last].out[0]}, s.consts)
		s.steps[last] = step{node: s.steps[last].node, kernel: k, in: in, out: []int{s.steps[last].out[0]}}
		for _, j := range chain[:len(chain)-1] {
			removed[j] = true
		}
	}
	s.dropSteps(removed)
}

// chainOperand classifies the other operand id of a chain step: int8 of the
// chain's shape, or repeating along its leading axes; it is added as an
// input of the fused step.
func (s *Session) chainOperand(k *qbinaryKernel, id int, shape []int, addArg func(int) int) (bcOp, bool) {
	if id < 0 || s.valueType(id) != graph.Int8 {
		return bcOp{}, false
	}
	d := s.valueDims(s.nameOf(id))
	if d == nil {
		return bcOp{}, false
	}
	op := bcOp{k: k}
	switch {
	case slices.Equal(d, shape):
	case len(d) <= len(shape) && periodic(d, shape) && graph.NumElements(d) > 0:
		op.period = graph.NumElements(d)
		if c := s.consts[id]; c != nil {
			if _, ok := c.Data.([]int8); !ok {
				return bcOp{}, false
			}
		}
	default:
		return bcOp{}, false
	}
	op.arg = addArg(id)
	return op, true
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}
