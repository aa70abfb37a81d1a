package runtime

// The residual Add after a Linear layer, and a per-channel layer scale in
// between, folded into the packed MatMul (matmul_packed.go): transformer
// blocks end with x + Linear(h) (ViT's MLP and attention projections) and
// ConvNeXt's with x + γ·Linear(h) seen through a layout Transpose
// (layout_transpose.go). Each was a pass over the feature map of its own (two
// for ConvNeXt) after the GEMM had just written it. Folded, γ scales the
// packed weights' columns and the bias once at session creation, and the
// GEMM's store adds x (kernels.SgemmDense's residual).
//
// A chain qualifies when it is, from the MatMul's output to the Add:
//
//	packed MatMul (+ bias, no activation)
//	  [→ nhwcViewKernel writing channels-last]  (same memory)
//	  [→ nhwcAffineKernel with b = 0: x·γ]      (γ per output column)
//	  → Add(chain, x) or Add(x, chain) of one static shape, no broadcast
//
// with every intermediate read by the next step only and not kept. The Add's
// two inputs then have the same memory layout (both channels-last, or both
// as the graph has them: the layout pass gives a same-shape binary one layout
// for its inputs and output), so the residual is read with the GEMM's row
// stride.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// fuseMatMulResidual runs after the layout pass, before buffer lifetimes.
func (s *Session) fuseMatMulResidual() {
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for j, add := range s.steps {
		if !isOp(add.node, "Add") || len(add.in) != 2 || len(add.out) != 1 || add.in[0] < 0 || add.in[1] < 0 || add.in[0] == add.in[1] {
			continue
		}
		if d0, d1, o := s.staticDims(add.node.Inputs[0]), s.staticDims(add.node.Inputs[1]), s.staticDims(add.node.Outputs[0]); d0 == nil || !slices.Equal(d0, d1) || !slices.Equal(d0, o) {
			continue
		}
		for ci := 0; ci < 2; ci++ {
			res := add.in[1-ci]
			if s.consts[res] != nil {
				break
			}
			chain, pk, scale := s.residualChain(add.in[ci], readers, producer, removed)
			if pk == nil {
				continue
			}
			// The residual must be computed before the MatMul runs in the Add's place.
			if p, ok := producer[res]; ok && p > j {
				continue
			}
			fused := *pk
			fused.res = true
			if scale != nil {
				scaleColumns(&fused, scale)
			}
			ns := s.steps[chain[0]] // the MatMul step
			ns.kernel = &fused
			ns.in = append(slices.Clone(ns.in), res)
			ns.out = add.out
			s.steps[j] = ns
			for _, c := range chain {
				removed[c] = true
			}
			break
		}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// residualChain walks back from slot id to a packed MatMul through the
// steps a residual fusion may absorb; it returns the chain's step indices
// (the MatMul first), the MatMul's kernel and the product of the scales met
// (nil for none), or a nil kernel.
func (s *Session) residualChain(id int, readers map[int][]int, producer map[int]int, removed []bool) ([]int, *packedMatMulKernel, []float32) {
	var chain []int
	var scale []float32
	for {
		p, ok := producer[id]
		if !ok || removed[p] || s.keep[id] || len(readers[id]) != 1 || len(s.steps[p].out) != 1 {
			return nil, nil, nil
		}
		chain = append(chain, p)
		switch k := s.steps[p].kernel.(type) {
		case *packedMatMulKernel:
			if k.act != kernels.ActNone || k.res || (scale != nil && len(scale) != k.n) {
				return nil, nil, nil
			}
			slices.Reverse(chain)
			return chain, k, scale
		case nhwcViewKernel:
			if k.toNHWC {
				return nil, nil, nil
			}
			id = s.steps[p].in[0]
		case *nhwcAffineKernel:
			for _, b := range k.bn.b {
				if b != 0 {
					return nil, nil, nil
				}
			}
			if scale == nil {
				scale = slices.Clone(k.bn.a)
			} else if len(scale) == len(k.bn.a) {
				for c := range scale {
					scale[c] *= k.bn.a[c]
				}
			} else {
				return nil, nil, nil
			}
			id = s.steps[p].in[k.xIdx]
		default:
			return nil, nil, nil
		}
	}
}

// scaleColumns multiplies the packed weights' and the bias's column j by
// scale[j] (a copy: the unfused kernel keeps the originals).
func scaleColumns(k *packedMatMulKernel, scale []float32) {
	b := slices.Clone(k.b.F32())
	for r := 0; r < k.k; r++ {
		for c := 0; c < k.n; c++ {
			b[r*k.n+c] *= scale[c]
		}
	}
	k.db = kernels.PackDenseB(k.k, k.n, b, k.n, k.rows)
	k.scale = scale
	if k.bias != nil {
		sb := slices.Clone(k.bias.F32())
		for c := range sb {
			sb[c] *= scale[c%k.n]
		}
		k.scaledBias = sb
	}
}

// runResidualUnfused is the fallback of a residual-fused MatMul for inputs
// the build did not foresee: the MatMul and bias, then the scale per output
// column and the residual, elementwise in the GEMM's row-major order.
func (k *packedMatMulKernel) runResidualUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	y, err := k.runUnfused(ctx, in[:len(in)-1])
	if err != nil {
		return nil, err
	}
	r := in[len(in)-1]
	yd := y[0].F32()
	if r == nil || r.DType != graph.Float32 || len(r.F32()) != len(yd) {
		return nil, fmt.Errorf("residual Add: input %v does not match the product %v", r.Shape, y[0].Shape)
	}
	out := ctx.AllocF32(len(yd))
	rd := r.F32()
	for i, v := range yd {
		if k.scale != nil {
			v *= k.scale[i%k.n]
		}
		out[i] = v + rd[i]
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: slices.Clone(r.Shape), Data: out}}, nil
}
