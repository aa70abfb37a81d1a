package runtime

// QBinary of an activation and a constant of one value per channel (a
// GroupNorm's affine Mul and Add after its InstanceNormalization, an
// unfolded BatchNorm's scale and shift, ...; fourteenth session). On NCHW
// data the constant [C,1,1] is not a repeating block of the output, so the
// general path expanded it to the whole output every run and applied the
// binary kernel (about 0.9 ns a value, 7% of groupnorm_net's int8 time per
// operator). With one operand fixed per channel the operator is a function
// of one code per channel: a table per channel, built once from the
// operator's own arithmetic (qbinaryKernel.compute, so the results are the
// same bits), applied plane by plane with the vector table kernel.

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// chanConst is the per-channel form of a QBinary with a constant operand.
type chanConst struct {
	constIn int   // 0: A is the constant, 1: B
	shape   []int // the constant's shape
	lo, hi  int   // its non-1 dimensions (a contiguous run): [lo, hi)
	luts    *kernels.ChanLUT
}

// maxChanConstTables bounds the tables of a per-channel constant (256 bytes per channel).
const maxChanConstTables = 2048

// newChanConst returns the per-channel form of k when one input is a constant
// whose dimensions other than 1 form one contiguous run (the channels), or nil.
func newChanConst(k *qbinaryKernel, b *BuildContext) *chanConst {
	for i := 0; i < 2; i++ {
		t := b.Const(i)
		if t == nil || b.Const(1-i) != nil {
			continue
		}
		d, ok := t.Data.([]int8)
		if !ok || len(d) != graph.NumElements(t.Shape) || len(d) < 2 || len(d) > maxChanConstTables {
			return nil
		}
		lo, hi := -1, -1
		for j, s := range t.Shape {
			if s == 1 {
				continue
			}
			if hi >= 0 && hi != j {
				return nil // two runs of channels
			}
			if lo < 0 {
				lo = j
			}
			hi = j + 1
		}
		if lo < 0 {
			return nil
		}
		c := len(d)
		act := make([]int8, c*256)
		cst := make([]int8, c*256)
		for ch := 0; ch < c; ch++ {
			for q := 0; q < 256; q++ {
				act[ch*256+q] = int8(uint8(q))
				cst[ch*256+q] = d[ch]
			}
		}
		tables := make([]int8, c*256)
		if i == 0 {
			k.compute(cst, act, tables)
		} else {
			k.compute(act, cst, tables)
		}
		luts, err := kernels.NewChanLUT(tables)
		if err != nil {
			return nil
		}
		return &chanConst{constIn: i, shape: append([]int(nil), t.Shape...), lo: lo, hi: hi, luts: luts}
	}
	return nil
}

// run applies the tables when the activation in[1-constIn] has the output's
// shape and more than one value per channel run (planes: the channels-last
// case [1,1,C] repeats and stays on the binary kernel); ok is false otherwise.
func (cc *chanConst) run(ctx *ExecContext, in []*graph.Tensor) (out []*graph.Tensor, ok bool, err error) {
	act := in[1-cc.constIn]
	sh := act.Shape
	off := len(sh) - len(cc.shape)
	if off < 0 {
		return nil, false, nil
	}
	for j := cc.lo; j < cc.hi; j++ {
		if sh[off+j] != cc.shape[j] {
			return nil, false, nil
		}
	}
	inner := graph.NumElements(sh[off+cc.hi:])
	if inner < 2 {
		return nil, false, nil
	}
	x, err := i8Data(act, "activation")
	if err != nil {
		return nil, false, err
	}
	y := ctx.AllocI8(len(x))
	applyChanLUT(ctx, cc.luts, x, y, inner)
	return []*graph.Tensor{graph.FromInt8(append([]int(nil), sh...), y)}, true, nil
}
