package runtime

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// Elementwise chains in pieces. A streaming-tap session (calibration) taps every
// activation, so none is fused away: Conv -> HardSigmoid -> Mul holds the Conv
// output, the HardSigmoid output and the Mul output at once, three tensors where
// the untapped executor, which fuses the chain into the Conv, holds one. With
// WithTapPieces the session runs such a chain piece by piece instead: each
// piece of the chain's input goes through every operator of the chain, the
// interior tensors are streamed to the TapPieceFunc piece by piece (never held
// whole), and the chain's result is written over its input when nothing else
// reads the input, so the chain costs one tensor, as in the fused executor.

// TapPieceFunc receives a tapped tensor that the executor never holds whole, in
// pieces and in order: piece is elements [offset, offset+len(piece)) of the
// tensor (row-major, the element order RunTensors would return), which has total
// elements. It must not keep piece after returning.
type TapPieceFunc func(name string, piece []float32, offset, total int) error

// WithTapPieces lets a streaming session (WithTapFunc) run chains of elementwise
// operators piece by piece, streaming their interior tensors to f; the other
// tapped tensors still go whole to the TapFunc.
func WithTapPieces(f TapPieceFunc) Option { return func(c *config) { c.tapPiece = f } }

// tapPieceLen is the number of elements per piece: large enough for the kernels
// to split it over threads, small enough to stay in cache.
const tapPieceLen = 1 << 18

// withTapPieceLen sets the piece length (tests: many pieces on small tensors).
func withTapPieceLen(n int) Option { return func(c *config) { c.pieceLen = n } }

// pieceOps are the operators whose output element i depends only on element i of
// their inputs (with scalar constants broadcast), so a chain of them can run on
// any contiguous piece of its input.
var pieceOps = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "Tanh": true,
	"Elu": true, "Celu": true, "Selu": true, "Softplus": true, "Softsign": true, "ThresholdedRelu": true,
	"Erf": true, "Exp": true, "Neg": true, "Abs": true, "Sqrt": true, "Reciprocal": true, "Clip": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Max": true, "Min": true,
}

// tapChain is steps first..last run in pieces: x is the chain's input, y its
// result; inPlace when only the chain reads x.
type tapChain struct {
	first, last int
	x, y        int
	inPlace     bool
	rank        int // rank of y: x's, or a constant operand's if larger
	// cl is the channel count when the chain's tensors are held channels-last
	// (tap_channels_last.go): its pieces are then whole pixels, shaped
	// [1, 1, pixels, stride] for the kernels the layout pass chose.
	cl int
}

// planTapChains finds the chains; it runs after planTapStream.
func (s *Session) planTapChains() {
	if s.cfg.tapFunc == nil || s.cfg.tapPiece == nil {
		return
	}
	g := s.model.Graph
	names := make(map[int]string, len(s.slots))
	for name, id := range s.slots {
		names[id] = name
	}
	isF32 := func(id int) bool {
		v := g.Values[names[id]]
		return v != nil && v.DType == graph.Float32
	}
	inputs := map[int]bool{}
	for _, in := range s.inputs {
		inputs[s.slots[in.Name]] = true
	}
	outs := map[int]bool{}
	for _, id := range s.outSlots {
		outs[id] = true
	}
	readers := s.stepReaders()
	// scalar reports a constant operand of one element (broadcast to any piece).
	scalar := func(id int) (int, bool) {
		t := s.consts[id]
		if t == nil || t.Len() != 1 {
			return 0, false
		}
		return len(t.Shape), true
	}
	// within reports whether every reader of id is a step of first..last.
	within := func(id, first, last int) bool {
		for _, r := range readers[id] {
			if r < first || r > last {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s.steps); i++ {
		st := s.steps[i]
		if !s.pieceStep(i) {
			continue
		}
		// The chain's input: the one operand that is not a scalar constant.
		x, rank, ok := -1, 0, true
		for _, id := range st.in {
			if id < 0 {
				continue
			}
			if r, sc := scalar(id); sc {
				rank = max(rank, r)
				continue
			}
			if x >= 0 && x != id {
				ok = false
			}
			x = id
		}
		if !ok || x < 0 || s.consts[x] != nil || inputs[x] || !isF32(x) {
			continue
		}
		// Extend while the next step reads only the chain's tensors and scalars.
		member := map[int]bool{x: true, st.out[0]: true}
		last := i
		for j := i + 1; j < len(s.steps) && s.pieceStep(j); j++ {
			reads := false
			fits := true
			for _, id := range s.steps[j].in {
				if id < 0 {
					continue
				}
				if member[id] {
					reads = true
				} else if _, sc := scalar(id); !sc {
					fits = false
				}
			}
			if !reads || !fits {
				break
			}
			member[s.steps[j].out[0]] = true
			last = j
		}
		// The longest prefix whose interior tensors are read only inside it.
		for ; last > i; last-- {
			ok := true
			for k := i; k < last && ok; k++ {
				o := s.steps[k].out[0]
				ok = !outs[o] && within(o, i, last)
			}
			if ok {
				break
			}
		}
		ch := &tapChain{first: i, last: last, x: x, y: s.steps[last].out[0], inPlace: !outs[x] && within(x, i, last), rank: rank, cl: s.nhwc[x]}
		if !s.sameLayout(ch) {
			continue
		}
		for k := i; k <= last; k++ {
			for _, id := range s.steps[k].in {
				if r, sc := scalar(id); sc {
					ch.rank = max(ch.rank, r)
				}
			}
		}
		if last == i && !ch.inPlace {
			continue // nothing to save
		}
		if s.chains == nil {
			s.chains = map[int]*tapChain{}
		}
		s.chains[i] = ch
		i = last
	}
}

// sameLayout reports whether every tensor of a chain is held in its input's
// layout (the layout pass keeps an elementwise operator's layout: a mix would
// be a chain the pieces cannot follow).
func (s *Session) sameLayout(ch *tapChain) bool {
	for k := ch.first; k <= ch.last; k++ {
		if s.nhwc[s.steps[k].out[0]] != ch.cl {
			return false
		}
	}
	return true
}

// pieceStep reports whether step i is an elementwise operator with one float32
// output that can run on pieces.
func (s *Session) pieceStep(i int) bool {
	st := s.steps[i]
	n := st.node
	if n.Domain != "" && n.Domain != "ai.onnx" || !pieceOps[n.OpType] || len(st.out) != 1 || st.out[0] < 0 {
		return false
	}
	v := s.model.Graph.Values[n.Outputs[0]]
	return v != nil && v.DType == graph.Float32
}

// runChain runs a chain in pieces. It reports false, having done nothing, when
// the chain's input is not a float32 tensor or is empty (no piece would report
// the tapped interior tensors); the steps then run one by one.
func (s *Session) runChain(ctx *ExecContext, ch *tapChain, vals []*graph.Tensor, held []*arenaBuf, arena *runArena, inRanges []memRange) (bool, error) {
	xt := vals[ch.x]
	if xt == nil || xt.DType != graph.Float32 || xt.Len() == 0 {
		return false, nil
	}
	xd := xt.F32()
	n := len(xd)
	plen := s.cfg.pieceLen
	if plen <= 0 {
		plen = tapPieceLen
	}
	var cl ChannelsLast
	if ch.cl > 0 {
		var err error
		if cl, err = channelsLastOf(xt, ch.cl); err != nil {
			return true, fmt.Errorf("%s: %w", s.steps[ch.first].node.Label(), err)
		}
		plen = max(1, plen/cl.Stride) * cl.Stride
	}
	yd := xd
	if !ch.inPlace || !s.exclusive(ch.x, vals, inRanges) {
		yd = ctx.AllocF32(n)
	}
	// Pieces take their buffers from a context of their own, given back after
	// each piece.
	pctx := &ExecContext{Threads: ctx.Threads, arena: &runArena{pool: arena.pool}}
	local := map[int]*graph.Tensor{}
	args := make([]*graph.Tensor, 0, 4)
	for off := 0; off < n; off += plen {
		m := min(plen, n-off)
		shape := []int{m}
		if ch.cl > 0 {
			shape = []int{1, 1, m / cl.Stride, cl.Stride}
		}
		local[ch.x] = &graph.Tensor{DType: graph.Float32, Shape: shape, Data: xd[off : off+m]}
		for k := ch.first; k <= ch.last; k++ {
			st := &s.steps[k]
			args = args[:0]
			for _, id := range st.in {
				switch t, ok := local[id]; {
				case id < 0:
					args = append(args, nil)
				case ok:
					args = append(args, t)
				default:
					args = append(args, vals[id])
				}
			}
			o, err := st.kernel.Run(pctx, args)
			if err != nil {
				return true, fmt.Errorf("%s: %w", st.node.Label(), err)
			}
			if len(o) < 1 || o[0] == nil || o[0].DType != graph.Float32 || o[0].Len() != m {
				return true, fmt.Errorf("%s: run on a piece of %d elements, it did not return %d float32 values", st.node.Label(), m, m)
			}
			local[st.out[0]] = o[0]
			if name, ok := s.tapNames[st.out[0]]; ok && k < ch.last {
				var err error
				if _, isCL := s.tapCL[st.out[0]]; isCL {
					err = s.cfg.tapCL(name, o[0].F32(), off/cl.Stride, cl)
				} else {
					err = s.cfg.tapPiece(name, o[0].F32(), off, n)
				}
				if err != nil {
					return true, err
				}
			}
		}
		copy(yd[off:off+m], local[ch.y].F32())
		for _, b := range pctx.arena.bufs {
			b.refs = 0
			pctx.arena.pool.put(b.data)
		}
		pctx.arena.bufs = pctx.arena.bufs[:0]
		clear(local)
	}
	shape := append(make([]int, 0, max(ch.rank, len(xt.Shape))), xt.Shape...)
	for len(shape) < ch.rank {
		shape = append([]int{1}, shape...)
	}
	vals[ch.y] = &graph.Tensor{DType: graph.Float32, Shape: shape, Data: yd}
	if len(arena.bufs) > 0 {
		held[ch.y] = arena.hold(rangeOf(yd))
	}
	if s.afterStep != nil {
		s.afterStep(vals)
	}
	last := s.steps[ch.last]
	if err := s.tapStreamStep(&last, vals); err != nil {
		return true, err
	}
	for k := ch.first; k <= ch.last; k++ {
		for _, id := range s.steps[k].free {
			vals[id] = nil
			if b := held[id]; b != nil {
				held[id] = nil
				arena.release(b)
			}
		}
	}
	return true, nil
}

// exclusive reports whether no other live tensor, constant or caller's input
// shares slot id's memory, so that it may be overwritten.
func (s *Session) exclusive(id int, vals []*graph.Tensor, inRanges []memRange) bool {
	r := rangeOf(vals[id].Data)
	if overlapsAny(r, s.constRanges) || overlapsAny(r, inRanges) {
		return false
	}
	for o, t := range vals {
		if o != id && t != nil && s.consts[o] == nil && overlapsAny(rangeOf(t.Data), []memRange{r}) {
			return false
		}
	}
	return true
}
