package runtime

// MatMul with a constant 2-D B (every Linear layer torch.onnx exports for a
// 3-D input: the transformer blocks of ViT, the pointwise MLPs of ConvNeXt):
// B is packed once for kernels.SgemmDense (12x32 AVX-512 tiles where the CPU
// has full-width units, else kernels.SgemmRowsAct's panels; A read in place)
// instead of at every call, the batch folds
// into the rows of one GEMM, a following Add of a bias of N values starts the
// accumulators, and a GELU that is the only reader of the result is applied
// as each block of the output is finished.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

type packedMatMulKernel struct {
	matmul Kernel // the MatMul's own kernel, when the fast path does not apply
	b      *graph.Tensor
	k, n   int
	db     *kernels.DenseB
	rows   int // A's rows when the graph fixes them, else 0 (kernels.PackDenseB)
	// bias is the constant of a fused Add (nil for none); add is its kernel,
	// biasFirst says the bias is the Add's first input.
	bias      *graph.Tensor
	add       Kernel
	addNode   *graph.Node
	biasFirst bool
	// act is a fused activation (the GELU step that read the result).
	act kernels.Act
	// res: the last input is a residual added to the product (a fused Add,
	// fuse_matmul_residual.go); scale, when set, is a per-column layer scale
	// folded into db and scaledBias.
	res        bool
	scale      []float32
	scaledBias []float32
}

func (k *packedMatMulKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	a := in[0]
	var res *graph.Tensor
	if k.res {
		res = in[len(in)-1]
	}
	if in[1] == k.b && a != nil && a.DType == graph.Float32 && len(a.Shape) >= 2 && a.Shape[len(a.Shape)-1] == k.k {
		rows := graph.NumElements(a.Shape[:len(a.Shape)-1])
		shape := append(append([]int(nil), a.Shape[:len(a.Shape)-1]...), k.n)
		var bias, rd []float32
		if k.bias != nil {
			bias = k.bias.F32()
			if k.scaledBias != nil {
				bias = k.scaledBias
			}
		}
		if res != nil {
			// The residual has the output's layout and shape (the Add's).
			if res.DType == graph.Float32 && len(res.F32()) == rows*k.n {
				rd, shape = res.F32(), slices.Clone(res.Shape)
			} else {
				rows = -1 // the fallback below
			}
		}
		if rows >= 0 && (k.bias == nil || len(k.bias.Shape) <= len(shape)) {
			y := ctx.AllocF32(rows * k.n)
			if rows > 0 {
				kernels.SgemmDense(k.db, a.F32(), k.k, rows, bias, y, k.n, rd, k.act, ctx.Threads)
			}
			return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: y}}, nil
		}
	}
	if k.res {
		return k.runResidualUnfused(ctx, in)
	}
	if k.act != kernels.ActNone {
		// Only reached for inputs the build did not foresee; the fused
		// activation follows the unfused operators.
		y, err := k.runUnfused(ctx, in)
		if err != nil {
			return nil, err
		}
		out := ctx.AllocF32(len(y[0].F32()))
		kernels.ActF32(k.act, out, y[0].F32())
		return []*graph.Tensor{{DType: graph.Float32, Shape: y[0].Shape, Data: out}}, nil
	}
	return k.runUnfused(ctx, in)
}

// runUnfused runs the MatMul's own kernel and the bias Add.
func (k *packedMatMulKernel) runUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	y, err := k.matmul.Run(ctx, in[:2])
	if err != nil || k.bias == nil {
		return y, err
	}
	args := []*graph.Tensor{y[0], k.bias}
	if k.biasFirst {
		args[0], args[1] = k.bias, y[0]
	}
	if y, err = k.add.Run(ctx, args); err != nil {
		return nil, fmt.Errorf("%s: %w", k.addNode.Label(), err)
	}
	return y, nil
}

// packConstMatMuls swaps in packedMatMulKernel for every float32 MatMul whose B
// is a constant matrix, fusing a bias Add that is the only reader of its
// output. It runs with the other step rewrites, before buffer lifetimes.
func (s *Session) packConstMatMuls() {
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	g := s.model.Graph
	for i, st := range s.steps {
		if _, done := st.kernel.(*packedMatMulKernel); done || !isOp(st.node, "MatMul") || len(st.in) != 2 || len(st.out) != 1 || st.in[1] < 0 || removed[i] {
			continue
		}
		b := s.consts[st.in[1]]
		av := g.Values[st.node.Inputs[0]]
		if b == nil || b.DType != graph.Float32 || len(b.Shape) != 2 || b.Shape[1] == 0 || checkTensor("input B", b) != nil ||
			av == nil || av.DType != graph.Float32 || !av.HasShape || len(av.Shape) < 2 {
			continue
		}
		pk := &packedMatMulKernel{matmul: st.kernel, b: b, k: b.Shape[0], n: b.Shape[1]}
		pk.rows = staticRows(av.Shape[:len(av.Shape)-1])
		pk.db = kernels.PackDenseB(pk.k, pk.n, b.F32(), pk.n, pk.rows)
		ns := step{node: st.node, kernel: pk, in: st.in, out: st.out}
		out := st.out[0]
		if r := readers[out]; len(r) == 1 && !s.keep[out] && isOp(s.steps[r[0]].node, "Add") && len(s.steps[r[0]].in) == 2 {
			j := r[0]
			add := s.steps[j]
			bi := 1
			if add.in[1] == out {
				bi = 0
			}
			bias := s.consts[add.in[bi]]
			ov := g.Values[st.node.Outputs[0]]
			if add.in[1-bi] == out && bias != nil && bias.DType == graph.Float32 && bias.Len() == pk.n && len(bias.Shape) > 0 &&
				bias.Shape[len(bias.Shape)-1] == pk.n && ov != nil && ov.HasShape && len(bias.Shape) <= len(ov.Shape) && len(add.out) == 1 {
				pk.bias, pk.add, pk.addNode, pk.biasFirst = bias, add.kernel, add.node, bi == 0
				ns.in = []int{st.in[0], st.in[1], add.in[bi]}
				ns.out = add.out
				removed[j] = true
				// The fused step takes the Add's place (the bias is a constant, so
				// both places are valid; the Add's keeps later readers in order).
				s.steps[j] = ns
				removed[i] = true
				removed[j] = false
				s.fuseMatMulAct(j, readers, removed)
				continue
			}
		}
		s.steps[i] = ns
		s.fuseMatMulAct(i, readers, removed)
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
	s.fuseMatMulTransposes() // matmul_strided.go
}

// staticRows returns the product of dims when all are known and positive,
// else 0.
func staticRows(dims graph.Shape) int {
	r := 1
	for _, d := range dims {
		if d.Size <= 0 {
			return 0
		}
		r *= d.Size
	}
	return r
}

// fuseMatMulAct folds into the packed MatMul at step i a GELU step (the
// rewritten Erf GELU of fuseElementwise) that is the only reader of its
// output: the fused step takes the GELU's place and outputs.
func (s *Session) fuseMatMulAct(i int, readers map[int][]int, removed []bool) {
	pk := s.steps[i].kernel.(*packedMatMulKernel)
	out := s.steps[i].out[0]
	r := readers[out]
	if len(r) != 1 || s.keep[out] || removed[r[0]] || r[0] <= i {
		return
	}
	ak, ok := s.steps[r[0]].kernel.(*actKernel)
	if !ok || ak.act != kernels.ActGELU || len(s.steps[r[0]].in) != 1 || s.steps[r[0]].in[0] != out {
		return
	}
	pk.act = ak.act
	ns := s.steps[i]
	ns.out = s.steps[r[0]].out
	s.steps[r[0]] = ns
	removed[i] = true
}
