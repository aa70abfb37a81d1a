package runtime

// The gate of a squeeze-excite block, Mul(x, g) with x [N, C, H, W] and g
// [N, C, 1, 1] (global pool -> 1x1 convs -> sigmoid), run on a channels-last
// x so that the block does not leave the chain: the pool reads x
// channels-last already, and the gated tensor feeds the next 1x1 Conv as it is.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
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
//
// Each image's pixels run through kernels.AffineRowsF32 (scale g, no shift,
// no clamp): the AVX-512 depthwise row kernel for the channels in whole
// 16-lane blocks. The products are the same (x·g + 0 rounds once, as x·g);
// a -0 product comes out +0. The Go loop before ran at about one float a
// cycle (docs/runtime.md, "2 threads on small models (eighth session)").
func gateNHWC(xd, gd, yd []float32, c, st, pixels, hw, threads int) {
	zero := zeroF32(c)
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	nnParallel(min(threads, max(1, pixels*st/parallelMinWork)), pixels, func(p0, p1 int) {
		for p := p0; p < p1; {
			img := p / hw
			e := min(p1, (img+1)*hw)
			kernels.AffineRowsF32(xd[p*st:], st, e-p, c, gd[img*c:][:c], zero, yd[p*st:], st, lo, hi)
			p = e
		}
	})
}

// zeroes is a shared read-only run of zeros (an AffineRowsF32 shift of none).
var zeroes [4096]float32

// zeroF32 returns n zeros: the shared ones when they are enough.
func zeroF32(n int) []float32 {
	if n <= len(zeroes) {
		return zeroes[:n]
	}
	return make([]float32, n)
}
