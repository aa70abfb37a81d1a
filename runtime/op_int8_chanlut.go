package runtime

// QChanLUT: one int8 lookup table per channel along an axis of the stored
// tensor (runtime/lower/prelu.go: a PRelu with a slope per channel;
// thirteenth session). On NCHW planes each plane goes through its channel's
// table with the vector table kernel; on a channels-last tensor (the axis is
// the last) each pixel's channels are looked up in turn.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

type chanLUTKernel struct {
	luts []kernels.LUT
	axis int
}

func buildChanLUT(b *BuildContext) (Kernel, error) {
	t := b.Const(1)
	if t == nil {
		return nil, b.Errorf("the lookup tables must be a constant")
	}
	d, ok := t.Data.([]int8)
	if !ok || len(t.Shape) != 2 || t.Shape[1] != 256 || len(d) != t.Shape[0]*256 {
		return nil, b.Errorf("the lookup tables must be int8 [C, 256], got %s %v", t.DType, t.Shape)
	}
	k := &chanLUTKernel{luts: make([]kernels.LUT, t.Shape[0]), axis: int(b.Node.AttrInt("axis", 1))}
	for c := range k.luts {
		copy(k.luts[c][:], d[c*256:(c+1)*256])
	}
	return k, nil
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
	c := len(k.luts)
	if k.axis < 0 || k.axis >= len(sh) || sh[k.axis] != c {
		return nil, fmt.Errorf("input %v has not %d channels on axis %d", sh, c, k.axis)
	}
	inner := graph.NumElements(sh[k.axis+1:])
	out := ctx.AllocI8(len(x))
	if inner == 1 {
		// Channels-last: whole pixels per chunk.
		px := len(x) / max(1, c)
		qtensor.ParallelChunks(px, ctx.Threads, max(1, (1<<13)/max(1, c)), func(lo, hi int) {
			luts := k.luts[:c]
			for p := lo; p < hi; p++ {
				xs, ys := x[p*c:(p+1)*c], out[p*c:(p+1)*c]
				ys = ys[:len(xs)]
				for ch := range luts {
					ys[ch] = luts[ch][uint8(xs[ch])]
				}
			}
		})
	} else {
		planes := len(x) / inner
		qtensor.ParallelChunks(planes, ctx.Threads, max(1, (1<<13)/inner), func(lo, hi int) {
			for p := lo; p < hi; p++ {
				k.luts[p%c].Apply(x[p*inner:(p+1)*inner], out[p*inner:(p+1)*inner])
			}
		})
	}
	return []*graph.Tensor{{DType: graph.Int8, Shape: append([]int(nil), sh...), Data: out}}, nil
}

func init() {
	Register(OpInfo{OpType: "QChanLUT", Domain: Int8Domain, Int8: true, Build: buildChanLUT})
}
