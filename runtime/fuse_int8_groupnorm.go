package runtime

// Normalization regions on int8 data (twentieth session). The quantizer keeps a
// GroupNorm chain (Reshape, InstanceNormalization, Reshape, Mul γ, Add β and the
// activation after them) in float32 with Q/DQ at its input and output only
// (quantizer/plan_norm.go), for its accuracy: one rounding where operator by
// operator there were four. Run as written, the int8 executor dequantized the
// int8 tensor (moving it out of channels-last), ran the float32 group
// normalisation with its activation and quantized the result (back to
// channels-last): three passes over the tensor, two of them transposing, and
// ddpm_unet_op13's int8 run took 20-40 % longer than with the chains quantized
// operator by operator (docs/quantizer.md, twentieth session).
//
// Dequantize → group normalisation → Quantize is one step here, int8 in and
// int8 out. The (sample, group) mean and variance come from the integer sums of
// the codes (kernels.RowStatsI8 on planes, per-channel sums on channels-last
// pixels, moved to planes first); then each (sample, channel) maps a code through one affine map, the
// clamp and the activation, then the output quantization, which is a function
// of the 256 codes only: a 256-entry table per (sample, channel), applied to
// the plane (kernels.LUT) or to channels-last pixels (kernels.ChanLUT). The
// output is that of the float32 steps (the float32 arithmetic of each value is
// the same; only the statistics are summed exactly instead of in float32), in
// the layout the Quantize wrote, without a float32 tensor in between.

import (
	"fmt"
	"math"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// qGroupNormKernel is Dequantize (per-tensor int8, plain or channels-last) →
// groupNormKernel → Quantize (per-tensor int8, plain or channels-last).
type qGroupNormKernel struct {
	gn           *groupNormKernel
	inScale      float32
	inZP         int32
	outScale     float32
	outZP        int32
	dqPerm       []int   // the Dequantize's layout change (nil: plain)
	dqShape      []int64 // the Dequantize's shape template (nil: none)
	qPerm        []int   // the Quantize's layout change (nil: plain)
	inNHWC, outN bool    // channels-last input; channels-last output
	// scratch holds qgnScratch: the statistics, the tables and the buffers of a
	// run, kept from one run to the next (the allocations were a tenth of the
	// step's CPU time).
	scratch sync.Pool
}

// qgnScratch is the working memory of a qGroupNormKernel run.
type qgnScratch struct {
	s1, s2 []int64
	a, b   []float32
	buf    []float32
	dst    []int8
	planes []int8
	luts   []*kernels.ChanLUT // one per sample: its channels' tables
}

// grow returns p resized to n (reallocated when too small).
func grow[T any](p []T, n int) []T {
	if cap(p) < n {
		return make([]T, n)
	}
	return p[:n]
}

// permNHWCToNCHW reports whether p moves a channels-last tensor of rank len(p) to
// channels-first ([0, r-1, 1, ..., r-2]); permNCHWToNHWC the inverse.
func permNHWCToNCHW(p []int) bool {
	r := len(p)
	if r < 3 || p[0] != 0 || p[1] != r-1 {
		return false
	}
	for i := 2; i < r; i++ {
		if p[i] != i-1 {
			return false
		}
	}
	return true
}

func permNCHWToNHWC(p []int) bool {
	r := len(p)
	if r < 3 || p[0] != 0 || p[r-1] != 1 {
		return false
	}
	for i := 1; i < r-1; i++ {
		if p[i] != i+1 {
			return false
		}
	}
	return true
}

// newQGroupNorm returns the fused kernel of the steps dq, gn, q, or nil when
// their parameters or layouts are not the ones it runs.
func (s *Session) newQGroupNorm(dq, q step, gn *groupNormKernel) *qGroupNormKernel {
	dk, ok1 := dq.kernel.(*dequantizeKernel)
	qk, ok2 := q.kernel.(*quantizeKernel)
	if !ok1 || !ok2 || len(dq.in) < 2 || qk.params == nil || qk.params.Axis >= 0 || qk.params.ZPType != graph.Int8 {
		return nil
	}
	if v := s.model.Graph.Values[s.nameOf(dq.in[0])]; v == nil || v.DType != graph.Int8 {
		return nil
	}
	sc := s.consts[dq.in[1]]
	var zp *graph.Tensor
	if len(dq.in) > 2 && dq.in[2] >= 0 {
		if zp = s.consts[dq.in[2]]; zp == nil {
			return nil
		}
	}
	if sc == nil || sc.Len() != 1 {
		return nil
	}
	p, err := qtensor.ReadQDQParams(dk.node, nil, sc, zp, false)
	if err != nil || p.Axis >= 0 || (zp != nil && p.ZPType != graph.Int8) {
		return nil
	}
	k := &qGroupNormKernel{gn: gn, inScale: p.Scale[0], inZP: p.ZP[0], outScale: qk.params.Scale[0], outZP: qk.params.ZP[0], dqShape: dk.shape}
	switch {
	case qtensor.IsIdentityPerm(dk.perm):
	case permNHWCToNCHW(dk.perm):
		k.inNHWC, k.dqPerm = true, dk.perm
	default:
		return nil
	}
	switch {
	case qtensor.IsIdentityPerm(qk.perm):
	case permNCHWToNHWC(qk.perm):
		k.outN, k.qPerm = true, qk.perm
	default:
		return nil
	}
	return k
}

// fuseInt8GroupNorms replaces Dequantize → groupNormKernel → Quantize, each
// the only reader of the one before, by a qGroupNormKernel step.
func (s *Session) fuseInt8GroupNorms() {
	if s.mode != ModeInt8 {
		return
	}
	readers, producer := s.stepReaders(), s.stepProducers()
	sole := func(id int) (int, bool) {
		r := readers[id]
		if id < 0 || s.keep[id] || len(r) != 1 {
			return -1, false
		}
		return r[0], true
	}
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		gn, ok := st.kernel.(*groupNormKernel)
		if !ok || len(st.in) != 1 || len(st.out) != 1 || st.in[0] < 0 {
			continue
		}
		d, ok := producer[st.in[0]]
		if !ok || removed[d] || len(s.steps[d].out) != 1 {
			continue
		}
		if r, ok := sole(st.in[0]); !ok || r != i {
			continue
		}
		j, ok := sole(st.out[0])
		if !ok || removed[j] || len(s.steps[j].in) < 2 || s.steps[j].in[0] != st.out[0] || len(s.steps[j].out) != 1 {
			continue
		}
		k := s.newQGroupNorm(s.steps[d], s.steps[j], gn)
		if k == nil {
			continue
		}
		removed[d], removed[i] = true, true
		s.steps[j] = step{node: st.node, kernel: k, in: []int{s.steps[d].in[0]}, out: s.steps[j].out}
	}
	s.dropSteps(removed)
}

// shapes returns the group normalisation's [N, C, spatial...] shape for the
// int8 input stored with shape xs.
func (k *qGroupNormKernel) shapes(xs []int) ([]int, error) {
	l := xs
	if k.inNHWC {
		if len(xs) != len(k.dqPerm) || xs[len(xs)-1] != k.gn.c {
			return nil, fmt.Errorf("int8 group normalisation: channels-last input %v has not %d channels", xs, k.gn.c)
		}
		l = qtensor.PermuteShape(xs, k.dqPerm)
	}
	if k.dqShape != nil {
		var err error
		if l, err = qtensor.ResolveShapeTemplate(l, k.dqShape); err != nil {
			return nil, err
		}
	}
	if k.gn.view != nil {
		l = k.gn.view
	}
	if len(l) < 3 || l[1] != k.gn.c || graph.NumElements(l) != graph.NumElements(xs) {
		return nil, fmt.Errorf("int8 group normalisation: input %v is not [N, %d, ...]", xs, k.gn.c)
	}
	if k.inNHWC && !sameInts(l, qtensor.PermuteShape(xs, k.dqPerm)) {
		return nil, fmt.Errorf("int8 group normalisation: channels-last input %v is reshaped to %v", xs, l)
	}
	if k.outN && len(k.qPerm) != len(l) {
		return nil, fmt.Errorf("int8 group normalisation: output layout %v for rank %d", k.qPerm, len(l))
	}
	return l, nil
}

func (k *qGroupNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) != 1 || in[0] == nil || in[0].DType != graph.Int8 {
		return nil, fmt.Errorf("int8 group normalisation: input is not int8")
	}
	x := in[0].I8()
	gs, err := k.shapes(in[0].Shape)
	if err != nil {
		return nil, err
	}
	n, c := gs[0], k.gn.c
	size := 0
	if n*c > 0 {
		size = len(x) / (n * c)
	}
	sc, _ := k.scratch.Get().(*qgnScratch)
	if sc == nil {
		sc = &qgnScratch{}
	}
	defer k.scratch.Put(sc)
	a, b := k.affine(sc, x, n, size)
	y := ctx.AllocI8(len(x))
	dst := y
	if k.inNHWC != k.outN {
		sc.dst = grow(sc.dst, len(x)) // in the input's layout, then moved
		dst = sc.dst
	}
	th := min(ctx.Threads, max(1, len(x)/parallelMinWork))
	moved := false // y holds the output in the Quantize's layout
	if size < qGroupNormLUTMin {
		k.direct(sc, x, dst, a, b, n, size, th)
	} else if luts, err := k.tables(sc, a, b, n); err != nil {
		return nil, err
	} else if k.inNHWC {
		k.planesLUT(sc, luts, y, n, size, th)
		moved = true
	} else {
		nnParallel(th, n*c, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				luts[r/c].Table(r%c).Apply(x[r*size:(r+1)*size], dst[r*size:(r+1)*size])
			}
		})
	}
	outShape := gs
	switch {
	case k.inNHWC && k.outN:
		outShape = in[0].Shape
	case moved:
	case k.outN: // planes in, channels-last out
		outShape = qtensor.PermuteShape(gs, k.qPerm)
		qtensor.TransposeBytes(qtensor.I8AsBytes(dst), gs, k.qPerm, qtensor.I8AsBytes(y), 0, ctx.Threads)
	case k.inNHWC: // channels-last in, planes out
		qtensor.TransposeBytes(qtensor.I8AsBytes(dst), in[0].Shape, k.dqPerm, qtensor.I8AsBytes(y), 0, ctx.Threads)
	}
	return []*graph.Tensor{graph.FromInt8(append([]int(nil), outShape...), y)}, nil
}

// qGroupNormLUTMin is the plane size from which the values are mapped through
// a table per (sample, channel) (256 evaluations of the affine map, the
// activation and the quantization) instead of evaluated one by one.
const qGroupNormLUTMin = 512

// affine returns each (sample, channel)'s scale and shift of the dequantized
// value: the group normalisation's from the (sample, group) statistics of the
// int8 input x (n samples of c channels of size values each), then γ and β.
func (k *qGroupNormKernel) affine(sc *qgnScratch, x []int8, n, size int) (a, b []float32) {
	g := k.gn
	c, cpg := g.c, g.c/g.groups
	sc.s1, sc.s2 = grow(sc.s1, n*c), grow(sc.s2, n*c)
	s1, s2 := sc.s1, sc.s2
	clear(s1)
	clear(s2)
	if k.inNHWC {
		// Each sample's channels moved to planes (a vector transposition),
		// then the planes' sums; the planes are kept for planesLUT.
		sc.planes = grow(sc.planes, n*size*c)
		for img := 0; img < n; img++ {
			pl := sc.planes[img*size*c : (img+1)*size*c]
			qtensor.TransposeBytes(qtensor.I8AsBytes(x[img*size*c:(img+1)*size*c]), []int{size, c}, []int{1, 0}, qtensor.I8AsBytes(pl), 0, 1)
			for j := 0; j < c; j++ {
				s1[img*c+j], s2[img*c+j] = kernels.RowStatsI8(pl[j*size : (j+1)*size])
			}
		}
	} else {
		for r := range s1 {
			s1[r], s2[r] = kernels.RowStatsI8(x[r*size : (r+1)*size])
		}
	}
	sc.a, sc.b = grow(sc.a, n*c), grow(sc.b, n*c)
	a, b = sc.a, sc.b
	cnt := float64(cpg * size)
	qs := float64(k.inScale)
	for img := 0; img < n; img++ {
		for grp := 0; grp < g.groups; grp++ {
			var m1, m2 float64
			for j := grp * cpg; j < (grp+1)*cpg; j++ {
				m1 += float64(s1[img*c+j])
				m2 += float64(s2[img*c+j])
			}
			var mean, v float64
			if cnt > 0 {
				mq := m1 / cnt
				mean = qs * (mq - float64(k.inZP))
				v = max(qs*qs*(m2/cnt-mq*mq), 0)
			}
			a0 := float32(float64(g.s[grp]) / math.Sqrt(v+float64(g.eps)))
			b0 := g.t[grp] - float32(mean)*a0
			for j := grp * cpg; j < (grp+1)*cpg; j++ {
				aj, bj := a0, b0
				if g.gamma != nil {
					aj, bj = aj*g.gamma[j], bj*g.gamma[j]+g.beta[j]
				}
				a[img*c+j], b[img*c+j] = aj, bj
			}
		}
	}
	return a, b
}

// planesLUT maps a channels-last input through its tables as planes: the
// planes affine moved the input to (sc.planes, n·c of size values) each
// through its channel's one table (kernels.LUT), then moved to channels-last
// when the output is (a vector transposition), into y. The channels-last
// gather of kernels.ChanLUT it replaces reads a table per byte: half of the
// step's time on unet3d_op13's 8-channel 16×16×8 volumes (a gather of 16
// lanes for a pixel of 8 channels), where the table and the transposition
// are 256- and 64-byte vector moves.
func (k *qGroupNormKernel) planesLUT(sc *qgnScratch, luts []*kernels.ChanLUT, y []int8, n, size, th int) {
	c := k.gn.c
	pl, out := sc.planes, y
	if k.outN {
		sc.dst = grow(sc.dst, len(y))
		out = sc.dst
	}
	nnParallel(th, n*c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			luts[r/c].Table(r%c).Apply(pl[r*size:(r+1)*size], out[r*size:(r+1)*size])
		}
	})
	if !k.outN {
		return
	}
	for img := 0; img < n; img++ {
		qtensor.TransposeBytes(qtensor.I8AsBytes(out[img*size*c:(img+1)*size*c]), []int{c, size}, []int{1, 0},
			qtensor.I8AsBytes(y[img*size*c:(img+1)*size*c]), 0, th)
	}
}

// tables returns the 256-entry output tables of each sample's channels with
// the affine maps a, b (n samples).
func (k *qGroupNormKernel) tables(sc *qgnScratch, a, b []float32, n int) ([]*kernels.ChanLUT, error) {
	g := k.gn
	c := g.c
	for len(sc.luts) < n {
		t, err := kernels.NewChanLUT(make([]int8, c*256))
		if err != nil {
			return nil, err
		}
		sc.luts = append(sc.luts, t)
	}
	deq := dequantTable(k.inScale, k.inZP)
	var buf [256]float32
	for r := range a {
		kernels.AffineRowF32(buf[:], deq[:], a[r], b[r], g.lo, g.hi)
		if g.post != kernels.ActNone {
			kernels.ActF32(g.post, buf[:], buf[:])
		}
		kernels.QuantizeF32(buf[:], k.outScale, k.outZP, sc.luts[r/c].Table(r % c)[:])
	}
	return sc.luts[:n], nil
}

// direct maps the values of x into dst one by one (small planes): dequantized
// through a table, the affine map a, b with the clamp, the activation, the
// output quantization.
func (k *qGroupNormKernel) direct(sc *qgnScratch, x, dst []int8, a, b []float32, n, size, th int) {
	g := k.gn
	c := g.c
	deq := dequantTable(k.inScale, k.inZP)
	sc.buf = grow(sc.buf, len(x))
	fb := sc.buf
	if k.inNHWC {
		for img := 0; img < n; img++ {
			part, out := x[img*size*c:(img+1)*size*c], dst[img*size*c:(img+1)*size*c]
			ai, bi := a[img*c:(img+1)*c], b[img*c:(img+1)*c]
			nnParallel(th, size, func(lo, hi int) {
				buf := fb[img*size*c+lo*c : img*size*c+hi*c]
				for i, v := range part[lo*c : hi*c] {
					buf[i] = deq[uint8(v)]
				}
				kernels.AffineRowsF32(buf, c, hi-lo, c, ai, bi, buf, c, g.lo, g.hi)
				if g.post != kernels.ActNone {
					kernels.ActF32(g.post, buf, buf)
				}
				kernels.QuantizeF32(buf, k.outScale, k.outZP, out[lo*c:hi*c])
			})
		}
		return
	}
	nnParallel(th, n*c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			buf := fb[r*size : (r+1)*size]
			for i, v := range x[r*size : (r+1)*size] {
				buf[i] = deq[uint8(v)]
			}
			kernels.AffineRowF32(buf, buf, a[r], b[r], g.lo, g.hi)
			if g.post != kernels.ActNone {
				kernels.ActF32(g.post, buf, buf)
			}
			kernels.QuantizeF32(buf, k.outScale, k.outZP, dst[r*size:(r+1)*size])
		}
	})
}
