package runtime

// The layer normalisation exporters write out below opset 17 (ReduceMean,
// Sub, Pow, ReduceMean, Add ε, Sqrt, Div, then the affine Mul and Add; the
// one matcher graph.MatchLayerNorm that the quantizer and the int8 lowering
// use) runs as one step: a pass per row (kernels.LayerNormRowF32) instead of
// nine operators, each a pass over the tensor with its own buffer. The graph,
// placement and taps are unchanged; a pattern with a tapped or graph-output
// intermediate is left alone.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// layerNormRowsKernel normalises a float32 tensor over its last axis.
type layerNormRowsKernel struct {
	n           int       // the row length the parameters were expanded to
	scale, bias []float32 // n values each, or nil
	eps         float32
}

func (k *layerNormRowsKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x == nil || x.DType != graph.Float32 || len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != k.n {
		return nil, fmt.Errorf("fused layer norm: input must be float32 with a last axis of %d", k.n)
	}
	xd := x.F32()
	y := ctx.AllocF32(len(xd))
	rows := 0
	if k.n > 0 {
		rows = len(xd) / k.n
	}
	th := min(ctx.Threads, max(1, len(xd)/parallelMinWork))
	nnParallel(th, rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kernels.LayerNormRowF32(y[r*k.n:(r+1)*k.n], xd[r*k.n:(r+1)*k.n], k.scale, k.bias, k.eps)
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}

// fuseLayerNorms rewrites every written-out layer norm over float32 data into
// one layerNormRowsKernel step at the place of the pattern's last node.
func (s *Session) fuseLayerNorms(opset int64) {
	g := s.model.Graph
	prod := map[string]*graph.Node{}
	cons := map[string][]*graph.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			prod[o] = n
		}
		for _, in := range n.Inputs {
			cons[in] = append(cons[in], n)
		}
	}
	stepOf := map[*graph.Node]int{}
	for i, st := range s.steps {
		stepOf[st.node] = i
	}
	ctx := &graph.PatternContext{
		Prod: prod, Cons: cons, Opset: opset,
		Const: func(name string) *graph.Tensor {
			if id, ok := s.slots[name]; ok {
				return s.consts[id]
			}
			return nil
		},
		// A tapped tensor counts as an output: the pattern must not hide it.
		IsOutput: func(name string) bool {
			id, ok := s.slots[name]
			return !ok || s.keep[id]
		},
		Rank: func(name string) int {
			if v := g.Values[name]; v != nil && v.HasShape {
				return len(v.Shape)
			}
			return -1
		},
	}
	removed := make([]bool, len(s.steps))
	for _, n := range g.Nodes {
		if n.OpType != "ReduceMean" {
			continue
		}
		p := graph.MatchLayerNorm(ctx, n)
		if p == nil {
			continue
		}
		xv := g.Values[p.Input]
		if xv == nil || xv.DType != graph.Float32 || !xv.HasShape || len(xv.Shape) == 0 || xv.Shape[len(xv.Shape)-1].Size <= 0 {
			continue
		}
		k := &layerNormRowsKernel{n: xv.Shape[len(xv.Shape)-1].Size, eps: p.Epsilon}
		var ok bool
		if k.scale, ok = expandParam(ctx.Const(p.Scale), k.n); !ok {
			continue
		}
		if k.bias, ok = expandParam(ctx.Const(p.Bias), k.n); !ok {
			continue
		}
		// A missing scale is ones and a missing bias zeros (exact), so that
		// every row takes the vector pass with both.
		if k.scale == nil {
			k.scale = constRow(k.n, 1)
		}
		if k.bias == nil {
			k.bias = constRow(k.n, 0)
		}
		idx := make([]int, 0, len(p.Nodes))
		for _, pn := range p.Nodes {
			i, found := stepOf[pn]
			if !found || removed[i] {
				idx = nil
				break
			}
			idx = append(idx, i)
		}
		if idx == nil {
			continue
		}
		last := idx[len(idx)-1]
		for _, i := range idx {
			last = max(last, i)
		}
		for _, i := range idx {
			removed[i] = true
		}
		removed[last] = false
		s.steps[last] = step{node: s.steps[last].node, kernel: k, in: []int{s.slots[p.Input]}, out: []int{s.slots[p.Output]}}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// expandParam returns an affine parameter (nil for none) as n float32
// values, or false when it is not a float32 vector of 1 or n values.
func expandParam(t *graph.Tensor, n int) ([]float32, bool) {
	if t == nil {
		return nil, true
	}
	if t.DType != graph.Float32 {
		return nil, false
	}
	v := t.F32()
	switch len(v) {
	case n:
		return v, true
	case 1:
		out := make([]float32, n)
		for i := range out {
			out[i] = v[0]
		}
		return out, true
	}
	return nil, false
}

// constRow returns n copies of v.
func constRow(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}
