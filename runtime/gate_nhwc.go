package runtime

// The gate of a squeeze-excite block, Mul(x, g) with x [N, C, H, W] and g
// [N, C, 1, 1] (global pool -> 1x1 convs -> sigmoid), run on a channels-last
// x so that the block does not leave the chain: the pool reads x
// channels-last already, and the gated tensor feeds the next 1x1 Conv as it is.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// gateInput returns the input index of x when a step is such a Mul, else -1.
func (s *Session) gateInput(st step) int {
	if !isOp(st.node, "Mul") || len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 || st.in[0] == st.in[1] {
		return -1
	}
	g := s.model.Graph
	vals := [2]*graph.Value{g.Values[s.nameOf(st.in[0])], g.Values[s.nameOf(st.in[1])]}
	for xi := 0; xi < 2; xi++ {
		x, gv := vals[xi], vals[1-xi]
		if x == nil || gv == nil || !x.HasShape || !gv.HasShape || x.DType != graph.Float32 || gv.DType != graph.Float32 ||
			len(x.Shape) != 4 || len(gv.Shape) != 4 {
			continue
		}
		xs, ok1 := x.Shape.Concrete()
		gs, ok2 := gv.Shape.Concrete()
		if ok1 && ok2 && xs[0] == gs[0] && xs[1] == gs[1] && gs[2] == 1 && gs[3] == 1 && xs[1] > 0 && xs[2]*xs[3] > 1 {
			return xi
		}
	}
	return -1
}

// nhwcGateKernel is Mul(x, g) on a channels-last x.
type nhwcGateKernel struct {
	c, xIdx int
}

func (k *nhwcGateKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x, gt := in[k.xIdx], in[1-k.xIdx]
	st := pixelStride(k.c)
	if x.DType != graph.Float32 || len(x.Shape) != 4 || x.Shape[3] != st {
		return nil, fmt.Errorf("channels-last gate: input %v, want float32 [N, H, W, %d]", x.Shape, st)
	}
	n, hw := x.Shape[0], x.Shape[1]*x.Shape[2]
	if gt == nil || gt.DType != graph.Float32 || len(gt.F32()) != n*k.c {
		return nil, fmt.Errorf("channels-last gate: gate %v, want float32 [%d, %d, 1, 1]", gt.Shape, n, k.c)
	}
	xd := x.F32()
	yd := ctx.AllocF32(len(xd))
	gateNHWC(xd, gt.F32(), yd, k.c, st, n*hw, hw, ctx.Threads)
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: yd}}, nil
}

// gateNHWC writes y = x ⊙ g for the pixels pixels (hw per image) of stride st
// of a channels-last x of c channels, g [N, c].
func gateNHWC(xd, gd, yd []float32, c, st, pixels, hw, threads int) {
	nnParallel(min(threads, max(1, pixels*st/parallelMinWork)), pixels, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			gate := gd[p/hw*c:][:c]
			src, dst := xd[p*st:][:c], yd[p*st:][:c]
			for c, v := range src {
				dst[c] = v * gate[c]
			}
		}
	})
}
