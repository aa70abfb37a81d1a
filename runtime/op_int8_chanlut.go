package runtime

// QChanLUT: one int8 lookup table per channel along an axis of the stored
// tensor (runtime/lower/prelu.go: a PRelu with a slope per channel;
// thirteenth session). On NCHW planes each plane goes through its channel's
// table with the vector table kernel; on a channels-last tensor (the axis is
// the last) whole pixels go through kernels.ChanLUT.ApplyPixels (the AVX-512
// gather kernel, fourteenth session; it was a Go loop of one lookup per byte).
// QBinary by a constant of one value per channel runs here too
// (op_int8_qbinary_chan.go).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

type chanLUTKernel struct {
	luts *kernels.ChanLUT
	axis int
}

func buildChanLUT(b *BuildContext) (Kernel, error) {
	t := b.Const(1)
	if t == nil {
		return nil, b.Errorf("the lookup tables must be a constant")
	}
	d, ok := t.Data.([]int8)
	if !ok || len(t.Shape) != 2 || t.Shape[1] != 256 || len(d) != t.Shape[0]*256 || t.Shape[0] == 0 {
		return nil, b.Errorf("the lookup tables must be int8 [C, 256], got %s %v", t.DType, t.Shape)
	}
	luts, err := kernels.NewChanLUT(d)
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	return &chanLUTKernel{luts: luts, axis: int(b.Node.AttrInt("axis", 1))}, nil
}

func (k *chanLUTKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	sh := in[0].Shape
	c := k.luts.Channels()
	if k.axis < 0 || k.axis >= len(sh) || sh[k.axis] != c {
		return nil, fmt.Errorf("input %v has not %d channels on axis %d", sh, c, k.axis)
	}
	out := ctx.AllocI8(len(x))
	applyChanLUT(ctx, k.luts, x, out, graph.NumElements(sh[k.axis+1:]))
	return []*graph.Tensor{{DType: graph.Int8, Shape: append([]int(nil), sh...), Data: out}}, nil
}

// applyChanLUT maps x into out through luts, the channel of x[i] being
// (i / inner) mod Channels: whole channels-last pixels when inner is 1,
// planes of inner values otherwise.
func applyChanLUT(ctx *ExecContext, luts *kernels.ChanLUT, x, out []int8, inner int) {
	c := luts.Channels()
	if inner == 1 {
		px := len(x) / c
		qtensor.ParallelChunks(px, ctx.Threads, max(1, (1<<13)/c), func(lo, hi int) {
			luts.ApplyPixels(x[lo*c:hi*c], out[lo*c:hi*c])
		})
		return
	}
	planes := len(x) / inner
	qtensor.ParallelChunks(planes, ctx.Threads, max(1, (1<<13)/inner), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			luts.Table(p%c).Apply(x[p*inner:(p+1)*inner], out[p*inner:(p+1)*inner])
		}
	})
}

func init() {
	Register(OpInfo{OpType: "QChanLUT", Domain: Int8Domain, Int8: true, Build: buildChanLUT})
}
