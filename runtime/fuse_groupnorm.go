package runtime

// Instance and group normalisation of float32 tensors (tenth session).
// InstanceNormalization is common in audio and style-transfer nets, and
// torch.onnx writes nn.GroupNorm as Reshape [N, C, ...] -> [N, G, -1],
// InstanceNormalization (scale 1, B 0 per group), Reshape back, Mul by the
// per-channel weight and Add of the per-channel bias; an activation usually
// follows. Each (sample, group) row's mean and variance come from the vector
// row statistics (kernels.RowMeanVarF32) and each channel is then one scale
// and shift (kernels.AffineRowF32) with the clamp and the activation applied
// as it is stored: one step and one pass over the output instead of five or
// six steps that each read and write the whole tensor.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// groupNormKernel is y = post(clamp(((x − mean_g)·inv_g·s_g + t_g)·γ_c + β_c))
// over x [N, C, spatial...] with C/groups channels per group (groups = C: an
// InstanceNormalization).
type groupNormKernel struct {
	c, groups   int
	eps         float32
	s, t        []float32 // per group: the InstanceNormalization's scale and B
	gamma, beta []float32 // per channel (nil: 1 and 0)
	lo, hi      float32
	post        kernels.Act
	// view, when set, is the shape [N, C, spatial...] the kernel reads its
	// input [N, G, ...] at and writes its output in: the GroupNorm whose
	// Reshape before the InstanceNormalization the int8 lowering folded into
	// the quantized tensor's view (a normalization region of the quantizer,
	// Dequantize -> InstanceNormalization -> Reshape back).
	view []int
}

func (k *groupNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < 1 || in[0] == nil || in[0].DType != graph.Float32 || len(in[0].Shape) < 3 || (k.view == nil && in[0].Shape[1] != k.c) {
		return nil, fmt.Errorf("group normalisation: input is not float32 [N, %d, ...]", k.c)
	}
	x := in[0]
	if k.view != nil {
		if graph.NumElements(x.Shape) != graph.NumElements(k.view) {
			return nil, fmt.Errorf("group normalisation: input %v does not hold %v", x.Shape, k.view)
		}
		x = &graph.Tensor{DType: graph.Float32, Shape: k.view, Data: x.Data}
	}
	y := ctx.AllocF32(len(x.F32()))
	groupNormF32(ctx.Threads, x, y, k)
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}

// groupNormF32 runs k on x into y, the (sample, group) rows split over threads.
func groupNormF32(threads int, x *graph.Tensor, y []float32, k *groupNormKernel) {
	xd := x.F32()
	n, size := x.Shape[0], graph.NumElements(x.Shape[2:])
	cpg := k.c / k.groups
	row := cpg * size
	th := min(threads, max(1, len(xd)/parallelMinWork))
	nnParallel(th, n*k.groups, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g := r % k.groups
			base := r * row
			mean, v := kernels.RowMeanVarF32(xd[base : base+row])
			a0 := float32(float64(k.s[g]) / math.Sqrt(float64(v)+float64(k.eps)))
			b0 := k.t[g] - mean*a0
			for j := 0; j < cpg; j++ {
				a, b := a0, b0
				if c := g*cpg + j; k.gamma != nil {
					a, b = a*k.gamma[c], b*k.gamma[c]+k.beta[c]
				}
				seg := base + j*size
				dst := y[seg : seg+size]
				kernels.AffineRowF32(dst, xd[seg:seg+size], a, b, k.lo, k.hi)
				if k.post != kernels.ActNone {
					kernels.ActF32(k.post, dst, dst)
				}
			}
		}
	})
}

// perChannel returns the c values of a float32 constant that broadcasts
// against [N, C, spatial...] (rank r) along the channel axis only (a scalar is
// repeated), or nil.
func perChannel(t *graph.Tensor, c, r int) []float32 {
	if t == nil || t.DType != graph.Float32 || len(t.Shape) > r {
		return nil
	}
	off := r - len(t.Shape)
	for i, d := range t.Shape {
		if d != 1 && (i+off != 1 || d != c) {
			return nil
		}
	}
	f := t.F32()
	if len(f) == c {
		return f
	}
	out := make([]float32, c)
	for i := range out {
		out[i] = f[0]
	}
	return out
}

// fuseGroupNorms rewrites float32 InstanceNormalization steps, with the
// Reshapes of a GroupNorm around them, the per-channel Mul and Add after and
// a clamp or activation, into groupNormKernel steps. It runs before
// fuseElementwise (the Erf GELU is matched as written, as for convolutions).
func (s *Session) fuseGroupNorms(opset int64) {
	readers, producer := s.stepReaders(), s.stepProducers()
	g := s.model.Graph
	shapeOf := func(id int) []int {
		v := g.Values[s.nameOf(id)]
		if v == nil || !v.HasShape || v.DType != graph.Float32 {
			return nil
		}
		d, ok := v.Shape.Concrete()
		if !ok {
			return nil
		}
		return d
	}
	// sole is the only reader of slot id, if id is not kept.
	sole := func(id int) (int, bool) {
		r := readers[id]
		if id < 0 || s.keep[id] || len(r) != 1 || len(s.steps[r[0]].out) != 1 {
			return -1, false
		}
		return r[0], true
	}
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		ik, ok := st.kernel.(instanceNormKernel)
		if !ok || removed[i] || len(st.in) != 3 || len(st.out) != 1 || st.in[0] < 0 {
			continue
		}
		sc, bc := s.consts[st.in[1]], s.consts[st.in[2]]
		if sc == nil || bc == nil || sc.DType != graph.Float32 || bc.DType != graph.Float32 {
			continue
		}
		xin := shapeOf(st.in[0])
		if len(xin) < 3 || sc.Len() != xin[1] || bc.Len() != xin[1] {
			continue
		}
		k := &groupNormKernel{groups: xin[1], c: xin[1], eps: float32(ik.eps), s: sc.F32(), t: bc.F32(),
			lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
		used := []int{i}
		x, out := st.in[0], st.out[0]
		// The GroupNorm spelling: Reshape [N, C, ...] -> [N, G, ...] before,
		// and back to [N, C, ...] after.
		if p, ok := producer[x]; ok && isOp(s.steps[p].node, "Reshape") && !removed[p] {
			if r, ok := sole(x); ok && r == i && len(s.steps[p].in) >= 1 {
				src := s.steps[p].in[0]
				xs := shapeOf(src)
				if q, ok := sole(out); ok && isOp(s.steps[q].node, "Reshape") && len(xs) >= 3 && xs[0] == xin[0] &&
					xs[1]%xin[1] == 0 && graph.NumElements(xs) == graph.NumElements(xin) && sameInts(shapeOf(s.steps[q].out[0]), xs) {
					k.c, x, out = xs[1], src, s.steps[q].out[0]
					used = append(used, p, q)
				}
			}
		}
		shape := shapeOf(x)
		// The Reshape before folded into the int8 tensor's view (the lowering
		// moves a Reshape of a dequantized tensor onto the int8 data): only the
		// Reshape back to [N, C, ...] is left.
		if k.c == k.groups && len(used) == 1 {
			if q, ok := sole(out); ok && isOp(s.steps[q].node, "Reshape") {
				if xs := shapeOf(s.steps[q].out[0]); len(xs) >= 3 && xs[0] == xin[0] && xs[1] > k.groups && xs[1]%k.groups == 0 &&
					graph.NumElements(xs) == graph.NumElements(xin) {
					k.c, k.view, out, shape = xs[1], xs, s.steps[q].out[0], xs
					used = append(used, q)
				}
			}
		}
		if len(shape) < 3 {
			continue
		}
		if m, ok := sole(out); ok && isOp(s.steps[m].node, "Mul") {
			if gm := perChannel(s.consts[otherInput(s.steps[m], out)], k.c, len(shape)); gm != nil {
				k.gamma, out = gm, s.steps[m].out[0]
				k.beta = make([]float32, k.c)
				used = append(used, m)
			}
		}
		if a, ok := sole(out); ok && isOp(s.steps[a].node, "Add") {
			if bt := perChannel(s.consts[otherInput(s.steps[a], out)], k.c, len(shape)); bt != nil {
				if k.gamma == nil {
					k.gamma = make([]float32, k.c)
					for c := range k.gamma {
						k.gamma[c] = 1
					}
				}
				k.beta, out = bt, s.steps[a].out[0]
				used = append(used, a)
			}
		}
		if j, ok := sole(out); ok {
			if lo, hi, _, fusable := s.clampOf(s.steps[j], opset); fusable {
				k.lo, k.hi, out = lo, hi, s.steps[j].out[0]
				used = append(used, j)
			}
		}
		if post, acts, res, found := s.activationAfter(out, readers, removed); found {
			k.post, out = post, res
			used = append(used, acts...)
		}
		last := i
		for _, u := range used {
			removed[u] = true
			last = max(last, u)
		}
		s.steps[last] = step{node: st.node, kernel: k, in: []int{x}, out: []int{out}}
		removed[last] = false
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// otherInput is the input of a binary step that is not id (-1 if none).
func otherInput(st step, id int) int {
	if len(st.in) != 2 {
		return -1
	}
	if st.in[0] == id {
		return st.in[1]
	}
	if st.in[1] == id {
		return st.in[0]
	}
	return -1
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// channelsLastGroupNorm returns the group normalisation of a step over c
// channels, or nil.
func channelsLastGroupNorm(st step, c int) *groupNormKernel {
	k, ok := st.kernel.(*groupNormKernel)
	if !ok || k.c != c || len(st.in) != 1 || len(st.out) != 1 || st.out[0] < 0 {
		return nil
	}
	return k
}

// nhwcGroupNormKernel is a groupNormKernel on a channels-last tensor (inside
// the convolution chains: wav2vec's first Conv -> GroupNorm -> GELU -> Conv,
// a 1-D net's Conv -> InstanceNorm -> Conv, a diffusion UNet's GroupNorm ->
// SiLU -> Conv). The statistics take two vector passes over the pixels
// (twenty-first session; before, one scalar float64 pass of shifted sums
// that cost twice the NCHW kernel): the per-channel sums
// (kernels.AddPixelsF64), then each channel's squared deviations from its
// group's mean (kernels.AddSqDevPixelsF64), pixel ranges split over threads
// and added in range order. Then each pixel's channels are one per-channel
// scale and shift (kernels.AffineRowsF32) and the activation, a block of
// pixels at a time while it is in L1.
type nhwcGroupNormKernel struct{ *groupNormKernel }

// gnPixelBlock is how many pixels the normalisation pass scales and
// activates at a time.
const gnPixelBlock = 128

func (k *nhwcGroupNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, st, err := channelsLastInput(in[:1], k.c)
	if err != nil {
		return nil, fmt.Errorf("channels-last group normalisation: %w", err)
	}
	xd := x.F32()
	y := ctx.AllocF32(len(xd))
	n, size := x.Shape[0], x.Shape[1]*x.Shape[2]
	c := k.c
	th := min(ctx.Threads, max(1, len(xd)/parallelMinWork))
	a, b := make([]float32, n*c), make([]float32, n*c)
	parts := max(1, min(th, size))
	ps := make([][]float64, parts)
	for t := range ps {
		ps[t] = make([]float64, c)
	}
	s1, s2 := make([]float64, c), make([]float64, c)
	mu := make([]float32, c)
	mean := make([]float64, k.groups)
	// sums adds each part's per-channel sums (f over its pixel range) into
	// dst, in part order.
	sums := func(dst []float64, base int, f func(acc []float64, x []float32, np int)) {
		kernels.ParallelRange(parts, 1, parts, func(t0, t1 int) {
			for t := t0; t < t1; t++ {
				clear(ps[t])
				p0, p1 := t*size/parts, (t+1)*size/parts
				if p1 > p0 {
					f(ps[t], xd[base+p0*st:], p1-p0)
				}
			}
		})
		clear(dst)
		for t := range ps {
			for j, v := range ps[t] {
				dst[j] += v
			}
		}
	}
	for img := 0; img < n; img++ {
		base := img * size * st
		if size == 0 {
			break
		}
		k.imageAffine(img, size, xd, base, st, a, b, s1, s2, mu, mean, sums)
	}
	nnParallel(th, n*size, func(lo, hi int) {
		for i := lo; i < hi; {
			img, p := i/size, i%size
			np := min(hi-i, size-p, gnPixelBlock)
			off := (img*size + p) * st
			kernels.AffineRowsF32(xd[off:], st, np, c, a[img*c:(img+1)*c], b[img*c:(img+1)*c], y[off:], st, k.lo, k.hi)
			switch {
			case st == c:
				if k.post != kernels.ActNone {
					kernels.ActF32(k.post, y[off:off+np*c], y[off:off+np*c])
				}
			default:
				for q := 0; q < np; q++ {
					px := y[off+q*st : off+(q+1)*st]
					if k.post != kernels.ActNone {
						kernels.ActF32(k.post, px[:c], px[:c])
					}
					clear(px[c:])
				}
			}
			i += np
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}

// imageAffine computes the per-channel scale a and shift b of image img
// (size pixels from xd[base], stride st): the group means from the channel
// sums, then the group variances from the channels' squared deviations
// about their group's mean (rounded to float32 as the kernel's centre mu;
// the rounding's offset is taken out exactly).
func (k *nhwcGroupNormKernel) imageAffine(img, size int, xd []float32, base, st int, a, b []float32, s1, s2 []float64, mu []float32, mean []float64,
	sums func(dst []float64, base int, f func(acc []float64, x []float32, np int))) {
	c, cpg := k.c, k.c/k.groups
	cnt := float64(cpg * size)
	sums(s1, base, func(acc []float64, x []float32, np int) { kernels.AddPixelsF64(acc, x, np, st) })
	for g := 0; g < k.groups; g++ {
		var m1 float64
		for j := g * cpg; j < (g+1)*cpg; j++ {
			m1 += s1[j]
		}
		mean[g] = m1 / cnt
		for j := g * cpg; j < (g+1)*cpg; j++ {
			mu[j] = float32(mean[g])
		}
	}
	sums(s2, base, func(acc []float64, x []float32, np int) { kernels.AddSqDevPixelsF64(acc, x, mu, np, st) })
	for g := 0; g < k.groups; g++ {
		var q float64
		for j := g * cpg; j < (g+1)*cpg; j++ {
			q += s2[j]
		}
		// Σ(x−mean)² = Σ(x−mu)² − cnt·(mean−mu)²
		o := mean[g] - float64(mu[g*cpg])
		v := max(q/cnt-o*o, 0)
		a0 := float32(float64(k.s[g]) / math.Sqrt(v+float64(k.eps)))
		b0 := k.t[g] - float32(mean[g])*a0
		for j := g * cpg; j < (g+1)*cpg; j++ {
			aj, bj := a0, b0
			if k.gamma != nil {
				aj, bj = aj*k.gamma[j], bj*k.gamma[j]+k.beta[j]
			}
			a[img*c+j], b[img*c+j] = aj, bj
		}
	}
}
