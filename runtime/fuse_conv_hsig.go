package runtime

// A HardSigmoid that alone reads a channels-last convolution's output is
// folded into the convolution. HardSigmoid(y) = clamp(α·y + β, 0, 1) and y =
// W·x + b, so it is the convolution with weights α·W and bias α·b + β
// followed by the clamp to [0, 1], which the GEMM's epilogue already applies
// as it stores each tile. MobileNetV3's squeeze-excite gate is written this
// way (Conv → HardSigmoid → Mul): the HardSigmoid was a step of its own per
// block, on a tensor of one pixel, run on one thread between two parallel
// steps. Folded, α·W·x + α·b + β is rounded differently from α·(W·x + b) + β:
// the outputs agree with the steps apart within float tolerance, not bit for
// bit.

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// convHardSigmoidKernel is a channels-last convolution with a HardSigmoid
// folded in. Its inputs are the convolution's, then the HardSigmoid's with
// the first (the convolution's output) absent.
type convHardSigmoidKernel struct {
	conv *rowsConvKernel // weights and bias scaled, clamp [0, 1]
}

// fuseConvHardSigmoid folds each HardSigmoid step into the channels-last
// convolution whose output it alone reads, when the convolution applies
// nothing after its bias (no residual, clamp or activation).
func (s *Session) fuseConvHardSigmoid() {
	if s.cfg.skipFusions&fuseConvHSig != 0 {
		return
	}
	s.fuseIntoSoleReader(func(i, j int) Kernel {
		ck, ok := s.steps[i].kernel.(*rowsConvKernel)
		hs := s.steps[j]
		if !ok || ck.residual || ck.clip || ck.post != kernels.ActNone || !isOp(hs.node, "HardSigmoid") || len(hs.in) != 1 ||
			!s.isF32Slot(hs.out[0]) {
			return nil
		}
		alpha, beta := hs.node.AttrFloat("alpha", 0.2), hs.node.AttrFloat("beta", 0.5)
		if !isFinite32(alpha) || !isFinite32(beta) {
			return nil
		}
		return &convHardSigmoidKernel{conv: foldAffineClamp(ck, alpha, beta, 0, 1)}
	})
}

// foldAffineClamp returns a copy of k computing clamp(α·conv(x) + β, lo, hi):
// its packed weights scaled by α, its bias α·b + β (the padding channels of
// a rounded-up pixel stride keep a zero bias), the clamp in the epilogue.
func foldAffineClamp(k *rowsConvKernel, alpha, beta, lo, hi float32) *rowsConvKernel {
	f := *k
	scale := make([]float32, k.pb.K())
	for i := range scale {
		scale[i] = alpha
	}
	f.pb = k.pb.ScaledRows(scale, make([]float32, k.pb.DataLen()))
	if k.mixed != nil {
		f.mixed = scaledParts(k.mixed, scale, make([]float32, partsDataLen(k.mixed)), 1)
	}
	f.bias = make([]float32, k.pb.N())
	for o := range f.bias[:k.m] {
		var b float32
		if k.bias != nil {
			b = k.bias[o]
		}
		f.bias[o] = alpha*b + beta
	}
	f.clip, f.lo, f.hi = true, lo, hi
	return &f
}

func isFinite32(v float32) bool {
	return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
}

func (k *convHardSigmoidKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	return k.conv.Run(ctx, in[:len(in)-1])
}
