package runtime

// MatMul and Gemm. Every float32 product goes through kernels.Sgemm, the executor's one
// float32 GEMM, so that int8 speed-ups are measured against a single baseline. Other
// numeric types (float64, integers) take a plain loop: ONNX allows them, models rarely
// use them on hot paths.

import (
	"fmt"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// nnParallel runs f over [0, n) split into at most threads contiguous chunks, without
// a minimum chunk size: callers use it for coarse units (images, channel groups, GEMM
// panels) that are each worth a goroutine.
func nnParallel(threads, n int, f func(lo, hi int)) {
	kernels.ParallelRange(n, 1, min(threads, n), f)
}

// f32Pool recycles float32 scratch buffers (im2col columns, transposed operands) across
// runs so that steady-state inference does not allocate them again.
var f32Pool sync.Pool

// getF32 returns a scratch slice of length n (contents undefined).
func getF32(n int) *[]float32 {
	if p, ok := f32Pool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	// A pooled buffer that is too small is dropped: the larger one replaces it.
	s := make([]float32, n)
	return &s
}

func putF32(p *[]float32) { f32Pool.Put(p) }

// matmulBatch describes the batched product of numpy matmul after 1-D promotion and
// broadcasting of the batch dimensions.
type matmulBatch struct {
	m, n, k int
	out     []int // output shape
	batch   int   // number of (m x k) by (k x n) products
	aOff    []int // per product: element offset of its A matrix
	bOff    []int
}

func planMatMul(as, bs []int) (*matmulBatch, error) {
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("matmul operands must have rank >= 1, got shapes %v and %v", as, bs)
	}
	a, b := as, bs
	if len(as) == 1 {
		a = []int{1, as[0]}
	}
	if len(bs) == 1 {
		b = []int{bs[0], 1}
	}
	p := &matmulBatch{m: a[len(a)-2], k: a[len(a)-1], n: b[len(b)-1]}
	if b[len(b)-2] != p.k {
		return nil, fmt.Errorf("inner dimensions differ: %v x %v", as, bs)
	}
	ab, bb := a[:len(a)-2], b[:len(b)-2]
	batch, err := graph.BroadcastInts(ab, bb)
	if err != nil {
		return nil, err
	}
	p.out = append([]int(nil), batch...)
	if len(as) > 1 {
		p.out = append(p.out, p.m)
	}
	if len(bs) > 1 {
		p.out = append(p.out, p.n)
	}
	if err := checkSize(p.out, "output shape"); err != nil {
		return nil, err
	}
	p.batch = graph.NumElements(batch)
	p.aOff = make([]int, p.batch)
	p.bOff = make([]int, p.batch)
	sa := broadcastStrides(ab, batch)
	sb := broadcastStrides(bb, batch)
	idx := make([]int, len(batch))
	for i := 0; i < p.batch; i++ {
		oa, ob := 0, 0
		for d := range batch {
			oa += idx[d] * sa[d]
			ob += idx[d] * sb[d]
		}
		p.aOff[i] = oa * p.m * p.k
		p.bOff[i] = ob * p.k * p.n
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	return p, nil
}

func buildMatMul(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		a, bt := in[0], in[1]
		if a.DType != bt.DType {
			return nil, fmt.Errorf("inputs are %s and %s (dtype mismatch)", a.DType, bt.DType)
		}
		p, err := planMatMul(a.Shape, bt.Shape)
		if err != nil {
			return nil, err
		}
		out := graph.NewTensor(a.DType, p.out)
		switch ad := a.Data.(type) {
		case []float32:
			matmulF32(ctx.Threads, p, ad, bt.F32(), out.F32())
		case []float64:
			matmulGeneric(p, ad, bt.Data.([]float64), out.Data.([]float64))
		case []int32:
			matmulGeneric(p, ad, bt.Data.([]int32), out.Data.([]int32))
		case []int64:
			matmulGeneric(p, ad, bt.Data.([]int64), out.Data.([]int64))
		case []uint32:
			matmulGeneric(p, ad, bt.Data.([]uint32), out.Data.([]uint32))
		case []uint64:
			matmulGeneric(p, ad, bt.Data.([]uint64), out.Data.([]uint64))
		case []uint16:
			if a.DType != graph.Float16 && a.DType != graph.BFloat16 {
				return nil, fmt.Errorf("unsupported input type %s", a.DType)
			}
			wa, wb := widenHalf(a), widenHalf(bt)
			res := graph.NewTensor(graph.Float32, p.out)
			matmulF32(ctx.Threads, p, wa.F32(), wb.F32(), res.F32())
			return []*graph.Tensor{narrowHalf(res, a.DType)}, nil
		default:
			return nil, fmt.Errorf("unsupported input type %s", a.DType)
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

// matmulF32 runs the batched product. When B is shared by every product and the A
// matrices are consecutive, the batch folds into the rows of one GEMM; otherwise the
// products are spread over the threads (each single-threaded) or, when there are few
// of them, run one after the other with a multi-threaded GEMM.
func matmulF32(threads int, p *matmulBatch, a, b, c []float32) {
	m, n, k := p.m, p.n, p.k
	if p.batch == 0 || m == 0 || n == 0 {
		return
	}
	shared := true
	for i := 0; i < p.batch; i++ {
		if p.bOff[i] != 0 || p.aOff[i] != i*m*k {
			shared = false
			break
		}
	}
	if shared {
		kernels.Sgemm(false, false, p.batch*m, n, k, a, max(k, 1), b, n, c, n, false, threads)
		return
	}
	if p.batch == 1 {
		kernels.Sgemm(false, false, m, n, k, a[p.aOff[0]:], max(k, 1), b[p.bOff[0]:], n, c, n, false, threads)
		return
	}
	one := func(i, th int) {
		kernels.Sgemm(false, false, m, n, k, a[p.aOff[i]:], max(k, 1), b[p.bOff[i]:], n, c[i*m*n:], n, false, th)
	}
	if p.batch >= threads {
		nnParallel(threads, p.batch, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				one(i, 1)
			}
		})
		return
	}
	for i := 0; i < p.batch; i++ {
		one(i, threads)
	}
}

func matmulGeneric[T number](p *matmulBatch, a, b, c []T) {
	m, n, k := p.m, p.n, p.k
	for i := 0; i < p.batch; i++ {
		ab, bb, cb := a[p.aOff[i]:], b[p.bOff[i]:], c[i*m*n:]
		for r := 0; r < m; r++ {
			row := cb[r*n : r*n+n]
			for kk := 0; kk < k; kk++ {
				av := ab[r*k+kk]
				br := bb[kk*n : kk*n+n]
				for j := range row {
					row[j] += av * br[j]
				}
			}
		}
	}
}

// gemmKernel is Gemm: Y = alpha * A' * B' + beta * C.
type gemmKernel struct {
	node           *graph.Node
	transA, transB bool
	alpha, beta    float32
	// bConst is the constant float32 B the node was built with, and bPacked the same
	// matrix pre-transformed for the GEMM: transposed to [K, N] when transB (the GEMM
	// packs row-major B with block copies, a transposed one element by element) and
	// multiplied by alpha (so no scaling pass is needed). nil when B is not constant.
	bConst  *graph.Tensor
	bPacked []float32
	// bPanels is bPacked packed once more into the GEMM's panel layout, so that a
	// call (a batch-1 classifier in particular) streams the weights once instead
	// of repacking them. With transA it is the GEMM's packed B; otherwise the
	// panels are kernels.SgemmDense's (denseB, A read in place, the 12x32
	// AVX-512 tiles where the CPU has them).
	bPanels *kernels.PackedB
	denseB  *kernels.DenseB
}

func buildGemm(b *BuildContext) (Kernel, error) {
	n := b.Node
	g := &gemmKernel{
		node:   n,
		transA: n.AttrInt("transA", 0) != 0,
		transB: n.AttrInt("transB", 0) != 0,
		alpha:  n.AttrFloat("alpha", 1),
		beta:   n.AttrFloat("beta", 1),
	}
	if w := b.Const(1); w != nil && w.DType == graph.Float32 {
		if err := checkTensor("input B", w); err != nil {
			return nil, b.Errorf("%v", err)
		}
		if len(w.Shape) != 2 {
			return nil, b.Errorf("input B has shape %v, expected a matrix", w.Shape)
		}
		src := w.F32()
		switch {
		case g.transB:
			rows, cols := w.Shape[0], w.Shape[1] // [N, K]
			t := make([]float32, len(src))
			for i := 0; i < rows; i++ {
				for j, v := range src[i*cols : (i+1)*cols] {
					t[j*rows+i] = v * g.alpha
				}
			}
			g.bPacked = t
		case g.alpha != 1:
			t := make([]float32, len(src))
			for i, v := range src {
				t[i] = v * g.alpha
			}
			g.bPacked = t
		default:
			g.bPacked = src // shared with the model, never written
		}
		g.bConst = w
		if k, n := w.Shape[0], w.Shape[1]; n > 0 {
			if g.transB {
				k, n = n, k
			}
			if g.transA {
				g.bPanels = kernels.PackSgemmB(false, k, n, g.bPacked, n)
			} else {
				rows := 0 // A's rows, when the graph fixes them
				if av := b.Input(0); av != nil && av.HasShape && len(av.Shape) == 2 {
					rows = staticRows(av.Shape[:1])
				}
				g.denseB = kernels.PackDenseB(k, n, g.bPacked, n, rows)
			}
		}
	}
	return g, nil
}

func (g *gemmKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	a, b, c := in[0], in[1], optInput(in, 2)
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, fmt.Errorf("inputs have shapes %v and %v, expected matrices", a.Shape, b.Shape)
	}
	if a.DType != b.DType || c != nil && c.DType != a.DType {
		return nil, fmt.Errorf("inputs must share one dtype (A %s, B %s)", a.DType, b.DType)
	}
	m, k := a.Shape[0], a.Shape[1]
	if g.transA {
		m, k = k, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if g.transB {
		kb, n = n, kb
	}
	if k != kb {
		return nil, fmt.Errorf("inner dimensions differ: A %v, B %v (transA=%v, transB=%v)", a.Shape, b.Shape, g.transA, g.transB)
	}
	if c != nil {
		if len(c.Shape) > 2 {
			return nil, fmt.Errorf("input C has shape %v, expected rank <= 2", c.Shape)
		}
		if _, err := nnBroadcastStrides(c.Shape, []int{m, n}); err != nil {
			return nil, fmt.Errorf("input C: %v", err)
		}
	}
	switch a.DType {
	case graph.Float32:
		return []*graph.Tensor{g.runF32(ctx, a, b, c, m, n, k)}, nil
	case graph.Float16, graph.BFloat16:
		res := g.runF32(ctx, widenHalf(a), widenHalf(b), widenHalf(c), m, n, k)
		return []*graph.Tensor{narrowHalf(res, a.DType)}, nil
	case graph.Float64:
		return []*graph.Tensor{gemmGeneric(g, a.Data.([]float64), b.Data.([]float64), c, m, n, k)}, nil
	case graph.Int32:
		return []*graph.Tensor{gemmGeneric(g, a.Data.([]int32), b.Data.([]int32), c, m, n, k)}, nil
	case graph.Int64:
		return []*graph.Tensor{gemmGeneric(g, a.Data.([]int64), b.Data.([]int64), c, m, n, k)}, nil
	case graph.Uint32:
		return []*graph.Tensor{gemmGeneric(g, a.Data.([]uint32), b.Data.([]uint32), c, m, n, k)}, nil
	case graph.Uint64:
		return []*graph.Tensor{gemmGeneric(g, a.Data.([]uint64), b.Data.([]uint64), c, m, n, k)}, nil
	}
	return nil, fmt.Errorf("unsupported input type %s", a.DType)
}

// nnBroadcastStrides is broadcastStrides after checking that in broadcasts to out.
func nnBroadcastStrides(in, out []int) ([]int, error) {
	if len(in) > len(out) {
		return nil, fmt.Errorf("shape %v does not broadcast to %v", in, out)
	}
	for i, d := range in {
		if od := out[len(out)-len(in)+i]; d != od && d != 1 {
			return nil, fmt.Errorf("shape %v does not broadcast to %v", in, out)
		}
	}
	return broadcastStrides(in, out), nil
}

// gemmFillC writes scale * C broadcast to an m x n matrix.
func gemmFillC[T number](dst []T, m, n int, c []T, cs []int, scale T) {
	st := broadcastStrides(cs, []int{m, n})
	for i := 0; i < m; i++ {
		row := dst[i*n : i*n+n]
		off := i * st[0]
		if st[1] == 0 {
			v := c[off] * scale
			for j := range row {
				row[j] = v
			}
			continue
		}
		for j := range row {
			row[j] = c[off+j] * scale
		}
	}
}

func (g *gemmKernel) runF32(ctx *ExecContext, a, b, c *graph.Tensor, m, n, k int) *graph.Tensor {
	hasC := c != nil && g.beta != 0 && c.Len() > 0
	rowsPath := b == g.bConst && g.denseB != nil && (!hasC || c.Len() == n && (len(c.Shape) < 2 || c.Shape[0] == 1))
	var out *graph.Tensor
	if rowsPath && m > 0 && n > 0 && k > 0 {
		// The rows GEMM writes every element: the output comes from the
		// run's arena instead of a zeroed make (ViT's attention output
		// projection, 600 KB per layer, ran ~0.2 ms slower per call than the
		// same GEMM as a packed MatMul writing into the arena).
		out = &graph.Tensor{DType: graph.Float32, Shape: []int{m, n}, Data: ctx.AllocF32(m * n)}
	} else {
		out = graph.NewTensor(graph.Float32, []int{m, n})
	}
	y := out.F32()
	if m == 0 || n == 0 {
		return out
	}
	bd, alpha, transB, ldb := b.F32(), g.alpha, g.transB, b.Shape[1]
	if b == g.bConst {
		bd, alpha, transB, ldb = g.bPacked, 1, false, n
	}
	lda := a.Shape[1]
	if rowsPath {
		// A bias of n values (the Linear layer) starts the accumulators.
		var bias []float32
		if hasC {
			bias = c.F32()
			if g.beta != 1 {
				bias = make([]float32, n)
				for j, v := range c.F32() {
					bias[j] = g.beta * v
				}
			}
		}
		kernels.SgemmDense(g.denseB, a.F32(), max(lda, 1), m, bias, y, n, nil, kernels.ActNone, ctx.Threads)
		return out
	}
	if b == g.bConst && g.denseB != nil {
		// The general C: the row-major B the rows panels were packed from.
		bd, transB, ldb = g.bPacked, false, n
	}
	if alpha == 1 {
		if hasC {
			gemmFillC(y, m, n, c.F32(), c.Shape, g.beta)
		}
		if b == g.bConst && g.bPanels != nil {
			kernels.SgemmPackedB(g.transA, m, a.F32(), max(lda, 1), g.bPanels, y, n, hasC, nil, ctx.Threads)
			return out
		}
		kernels.Sgemm(g.transA, transB, m, n, k, a.F32(), max(lda, 1), bd, max(ldb, 1), y, n, hasC, ctx.Threads)
		return out
	}
	kernels.Sgemm(g.transA, transB, m, n, k, a.F32(), max(lda, 1), bd, max(ldb, 1), y, n, false, ctx.Threads)
	for i := range y {
		y[i] *= alpha
	}
	if hasC {
		st := broadcastStrides(c.Shape, []int{m, n})
		cd := c.F32()
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				y[i*n+j] += g.beta * cd[i*st[0]+j*st[1]]
			}
		}
	}
	return out
}

func gemmGeneric[T number](g *gemmKernel, a, b []T, c *graph.Tensor, m, n, k int) *graph.Tensor {
	var zero T
	out := graph.NewTensor(nnDTypeOf(zero), []int{m, n})
	y := out.Data.([]T)
	alpha, beta := T(g.alpha), T(g.beta)
	lda, ldb := k, n
	if g.transA {
		lda = m
	}
	if g.transB {
		ldb = k
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for p := 0; p < k; p++ {
				av := a[i*lda+p]
				if g.transA {
					av = a[p*lda+i]
				}
				bv := b[p*ldb+j]
				if g.transB {
					bv = b[j*ldb+p]
				}
				s += av * bv
			}
			y[i*n+j] = alpha * s
		}
	}
	if c != nil && g.beta != 0 {
		st := broadcastStrides(c.Shape, []int{m, n})
		cd := c.Data.([]T)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				y[i*n+j] += beta * cd[i*st[0]+j*st[1]]
			}
		}
	}
	return out
}

// nnDTypeOf maps a Go element type to its DType.
func nnDTypeOf(v any) graph.DType {
	switch v.(type) {
	case float32:
		return graph.Float32
	case float64:
		return graph.Float64
	case int8:
		return graph.Int8
	case uint8:
		return graph.Uint8
	case int16:
		return graph.Int16
	case uint16:
		return graph.Uint16
	case int32:
		return graph.Int32
	case uint32:
		return graph.Uint32
	case int64:
		return graph.Int64
	case uint64:
		return graph.Uint64
	case bool:
		return graph.Bool
	}
	return graph.Undefined
}

func init() {
	Register(OpInfo{OpType: "MatMul", Build: buildMatMul})
	Register(OpInfo{OpType: "Gemm", Build: buildGemm})
}
