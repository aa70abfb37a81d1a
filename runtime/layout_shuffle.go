package runtime

// ShuffleNet's channel shuffle and channel split inside the channels-last
// chains. torch.onnx writes the shuffle as Reshape [N, C, H, W] → [N, g, C/g,
// H, W], Transpose (0, 2, 1, 3, 4), Reshape back to [N, C, H, W], and the
// split as two Slices of the channel axis: five NCHW steps between the
// channels-last convolutions of every unit. fuseChannelShuffles makes the
// three shuffle steps one channelShuffleKernel (a channel permutation: one
// pass, in either layout), and the layout pass runs it, and channel Slices,
// channels-last.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// channelShuffleKernel permutes the channels of a rank-4 tensor: output
// channel j·g + i is input channel i·(C/g) + j. NCHW, or channels-last at
// the pixel stride of C when nhwc.
type channelShuffleKernel struct {
	g, c int
	nhwc bool
}

func (k *channelShuffleKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	cpg := k.c / k.g
	src := func(o int) int { return (o%k.g)*cpg + o/k.g }
	if k.nhwc {
		x, st, err := channelsLastInput(in[:1], k.c)
		if err != nil {
			return nil, fmt.Errorf("channels-last channel shuffle: %w", err)
		}
		xd := x.F32()
		y := ctx.AllocF32(len(xd))
		perm := make([]int, k.c)
		for o := range perm {
			perm[o] = src(o)
		}
		nnParallel(memPassThreads(ctx.Threads, len(xd)), len(xd)/max(st, 1), func(lo, hi int) {
			if k.g == 2 {
				// ShuffleNet's two branches: interleave the halves (and
				// clear the padding), 16 pairs at a time.
				kernels.InterleavePairsF32(y[lo*st:], st, st, xd[lo*st:], st, xd[lo*st+cpg:], st, cpg, hi-lo)
				return
			}
			for p := lo; p < hi; p++ {
				xs, ys := xd[p*st:(p+1)*st], y[p*st:(p+1)*st]
				for o, i := range perm {
					ys[o] = xs[i]
				}
				clear(ys[k.c:])
			}
		})
		return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
	}
	if x.DType != graph.Float32 || len(x.Shape) != 4 || x.Shape[1] != k.c {
		return nil, fmt.Errorf("channel shuffle: input %s %v, want float32 [N, %d, H, W]", x.DType, x.Shape, k.c)
	}
	xd := x.F32()
	plane := x.Shape[2] * x.Shape[3]
	y := ctx.AllocF32(len(xd))
	nnParallel(min(ctx.Threads, max(1, len(xd)/parallelMinWork)), x.Shape[0]*k.c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, o := r/k.c, r%k.c
			copy(y[r*plane:(r+1)*plane], xd[(img*k.c+src(o))*plane:])
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}

// fuseChannelShuffles replaces each Reshape → Transpose → Reshape channel
// shuffle of a float32 [N, C, H, W] tensor (static C and group count; the
// intermediates read by nothing else and not kept) by one channelShuffleKernel
// step.
func (s *Session) fuseChannelShuffles() {
	shape := s.float32Shapes()
	readers := s.stepReaders()
	sole := func(id int) (int, bool) {
		r := readers[id]
		if len(r) != 1 || s.keep[id] {
			return 0, false
		}
		return r[0], true
	}
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		if removed[i] || !isOp(st.node, "Reshape") || len(st.in) < 1 || len(st.out) != 1 || st.in[0] < 0 {
			continue
		}
		xs, ms := shape(st.in[0]), shape(st.out[0])
		if len(xs) != 4 || len(ms) != 5 || !xs[1].Known() || !ms[1].Known() || !ms[2].Known() ||
			ms[1].Size < 1 || ms[1].Size*ms[2].Size != xs[1].Size {
			continue
		}
		j, ok := sole(st.out[0])
		if !ok || !isOp(s.steps[j].node, "Transpose") || len(s.steps[j].out) != 1 ||
			!slices.Equal(s.steps[j].node.AttrInts("perm", nil), []int64{0, 2, 1, 3, 4}) {
			continue
		}
		l, ok := sole(s.steps[j].out[0])
		if !ok || !isOp(s.steps[l].node, "Reshape") || len(s.steps[l].out) != 1 {
			continue
		}
		if ys := shape(s.steps[l].out[0]); !sameStaticDims(xs, ys) || !sameStaticDims(xs[2:], ms[3:]) || !sameStaticDims(xs[:1], ms[:1]) {
			continue
		}
		removed[j], removed[l] = true, true
		s.steps[l] = step{node: st.node, kernel: &channelShuffleKernel{g: ms[1].Size, c: xs[1].Size},
			in: []int{st.in[0]}, out: []int{s.steps[l].out[0]}}
		removed[i], removed[l] = true, false
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// sameStaticDims reports whether two shapes are known to be equal: the same sizes,
// or the same named symbolic dimensions.
func sameStaticDims(a, b []graph.Dim) bool {
	if len(a) != len(b) {
		return false
	}
	for i, d := range a {
		e := b[i]
		if !(d.Known() && d.Size == e.Size || !d.Known() && !e.Known() && d.Param != "" && d.Param == e.Param) {
			return false
		}
	}
	return true
}

// channelSlice returns the channel range [c0, c0+cn) a step slices out of a
// rank-4 tensor of c channels (a Slice of opset 10+ with constant starts and
// ends on axis 1, step 1), or ok false.
func (s *Session) channelSlice(st step, c, cn int) (c0 int, ok bool) {
	if !isOp(st.node, "Slice") || s.model.Opset() < 10 || len(st.in) < 4 || len(st.in) > 5 || len(st.out) != 1 || c == 0 || cn == 0 {
		return 0, false
	}
	var v [4][]int64
	for p := 1; p < len(st.in); p++ {
		if st.in[p] < 0 || s.consts[st.in[p]] == nil {
			return 0, false
		}
		var err error
		if v[p-1], err = intsInput(s.consts[st.in[p]], "slice"); err != nil || len(v[p-1]) != 1 {
			return 0, false
		}
	}
	if a := v[2][0]; a != 1 && a != -3 || v[3] != nil && v[3][0] != 1 {
		return 0, false
	}
	start := v[0][0]
	if start < 0 {
		start += int64(c)
	}
	start = max(0, min(int64(c), start))
	end := v[1][0]
	if end < 0 {
		end += int64(c)
	}
	end = max(0, min(int64(c), end))
	if end-start != int64(cn) {
		return 0, false
	}
	return int(start), true
}

// nhwcSliceKernel copies channels [c0, c0+cn) of a channels-last tensor of c
// channels to one of cn.
type nhwcSliceKernel struct {
	c, c0, cn int
}

func (k *nhwcSliceKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("channels-last Slice: no input")
	}
	x, sx, err := channelsLastInput(in[:1], k.c)
	if err != nil {
		return nil, fmt.Errorf("channels-last Slice: %w", err)
	}
	xd := x.F32()
	pixels := len(xd) / max(sx, 1)
	so := pixelStride(k.cn)
	y := ctx.AllocF32(pixels * so)
	nnParallel(memPassThreads(ctx.Threads, len(y)), pixels, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			copy(y[p*so:p*so+k.cn], xd[p*sx+k.c0:])
			clear(y[p*so+k.cn : (p+1)*so])
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{x.Shape[0], x.Shape[1], x.Shape[2], so}, Data: y}}, nil
}

// sameLayoutShuffle reports whether a step is a channel shuffle or a channel
// Slice, which the layout pass runs in its input's layout.
func (s *Session) sameLayoutShuffle(st step, channels func(id int) int) bool {
	if _, ok := st.kernel.(*channelShuffleKernel); ok {
		return len(st.out) == 1 && st.out[0] >= 0
	}
	if len(st.out) != 1 || st.out[0] < 0 {
		return false
	}
	_, ok := s.channelSlice(st, channels(st.in[0]), channels(st.out[0]))
	return ok
}
