package runtime

// Channel Concat inside the channels-last chains (SqueezeNet's fire modules,
// GoogLeNet's inception blocks, DenseNet's dense blocks, ShuffleNet's
// branches). An NCHW Concat between convolutions cut every chain through it:
// each convolution feeding it transposed its output back to NCHW, and each
// convolution reading it laid it out channels-last again. The channels-last
// Concat takes each input in whichever layout its producer left it (a
// constant or a tensor of an operator outside the pass stays NCHW) and writes
// its output channels-last when every reader takes that, else NCHW.

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// concatChannelsLast reports whether a step is a Concat of rank-4 float32
// tensors along the channel axis, every channel count static.
func (s *Session) concatChannelsLast(st step, channels func(id int) int) bool {
	if !isOp(st.node, "Concat") || len(st.out) != 1 || st.out[0] < 0 || len(st.in) == 0 || channels(st.out[0]) == 0 {
		return false
	}
	if a := st.node.AttrInt("axis", 0); a != 1 && a != -3 {
		return false
	}
	sum := 0
	for _, id := range st.in {
		if id < 0 || channels(id) == 0 {
			return false
		}
		sum += channels(id)
	}
	return sum == channels(st.out[0])
}

// nhwcConcatKernel concatenates along channels, each input and the output
// channels-last (at the pixel stride of its channel count) or NCHW.
type nhwcConcatKernel struct {
	c       []int // channels per input
	inNHWC  []bool
	outNHWC bool
	total   int
	// Set by planConcatViews (concat_view.go): where each channels-last input
	// is read, which inputs their producers already wrote into the output,
	// and where the output lives (nil: a buffer of its own).
	inAt    []viewAt
	inPlace []bool
	out     *outView
}

// src returns where channels-last input i is read: its pixel stride and its
// channel offset in the tensor.
func (k *nhwcConcatKernel) src(i int) (stride, off int) {
	if k.inAt != nil && k.inAt[i].set {
		return k.inAt[i].stride, k.inAt[i].off
	}
	return pixelStride(k.c[i]), 0
}

// placed reports whether input i is already in the output.
func (k *nhwcConcatKernel) placed(i int) bool { return k.inPlace != nil && k.inPlace[i] }

func newNHWCConcatKernel(st step, nhwc map[int]bool, channels func(id int) int) *nhwcConcatKernel {
	k := &nhwcConcatKernel{outNHWC: nhwc[st.out[0]]}
	for _, id := range st.in {
		k.c = append(k.c, channels(id))
		k.inNHWC = append(k.inNHWC, nhwc[id])
		k.total += channels(id)
	}
	return k
}

// geometry checks the inputs and returns the batch and the map size.
func (k *nhwcConcatKernel) geometry(in []*graph.Tensor) (n, h, w int, err error) {
	if len(in) != len(k.c) {
		return 0, 0, 0, fmt.Errorf("channels-last Concat: got %d inputs, want %d", len(in), len(k.c))
	}
	if err := checkInputs(in, len(in)); err != nil {
		return 0, 0, 0, err
	}
	for i, x := range in {
		if x.DType != graph.Float32 || len(x.Shape) != 4 {
			return 0, 0, 0, fmt.Errorf("channels-last Concat: input %d is %s %v, want float32 rank 4", i, x.DType, x.Shape)
		}
		want := []int{x.Shape[0], k.c[i], x.Shape[2], x.Shape[3]}
		if k.inNHWC[i] {
			sx, _ := k.src(i)
			want = []int{x.Shape[0], x.Shape[1], x.Shape[2], sx}
		}
		if i == 0 {
			n, h, w = want[0], want[1], want[2]
			if !k.inNHWC[i] {
				h, w = want[2], want[3]
			}
		}
		if k.inNHWC[i] {
			want[0], want[1], want[2] = n, h, w
		} else {
			want[0], want[2], want[3] = n, h, w
		}
		for a := range want {
			if x.Shape[a] != want[a] {
				return 0, 0, 0, fmt.Errorf("channels-last Concat: input %d has shape %v, want %v", i, x.Shape, want)
			}
		}
	}
	return n, h, w, nil
}

// concatPixelBlock is the number of pixels an NCHW input is transposed at a
// time into a channels-last Concat.
const concatPixelBlock = 16

func (k *nhwcConcatKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	n, h, w, err := k.geometry(in)
	if err != nil {
		return nil, err
	}
	plane := h * w
	if k.outNHWC {
		so, base, padLo := pixelStride(k.total), 0, k.total
		var y []float32
		if k.out != nil {
			so, base, padLo = k.out.g.stride, k.out.off, k.out.g.stride
			if base+k.total == k.out.g.total {
				padLo = k.out.g.total
			}
			if y, err = ctx.viewBuffer(k.out.g, n*plane*so); err != nil {
				return nil, err
			}
		} else {
			y = ctx.AllocF32(n * plane * so)
		}
		out := []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, h, w, so}, Data: y}}
		if padLo >= so && k.inPlace != nil && !slices.Contains(k.inPlace, false) {
			return out, nil // every input is in place: a view
		}
		// Rows of pixels: every input's channels of each pixel that is not
		// in place yet, then the stride's padding cleared.
		nnParallel(min(ctx.Threads, max(1, n*plane*(k.total+so-padLo)/parallelMinWork)), n*h, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				img, p0 := r/h, (r%h)*w
				yr := y[(img*plane+p0)*so : (img*plane+p0+w)*so]
				off := base
				for i, x := range in {
					c, xd := k.c[i], x.F32()
					if k.placed(i) {
						off += c
						continue
					}
					if k.inNHWC[i] {
						sx, xo := k.src(i)
						xr := xd[(img*plane+p0)*sx+xo:]
						for p := 0; p < w; p++ {
							copy(yr[p*so+off:p*so+off+c], xr[p*sx:p*sx+c])
						}
					} else {
						// A transpose, in blocks of pixels so that the
						// block's output pixels stay in cache while every
						// channel is written into them (one pixel row of
						// PointNet's 256 points by 288 channels is 300 KB:
						// channel by channel over it, each write missed).
						for b0 := 0; b0 < w; b0 += concatPixelBlock {
							b1 := min(w, b0+concatPixelBlock)
							for ch := 0; ch < c; ch++ {
								xr := xd[(img*c+ch)*plane+p0+b0 : (img*c+ch)*plane+p0+b1]
								for p, v := range xr {
									yr[(b0+p)*so+off+ch] = v
								}
							}
						}
					}
					off += c
				}
				if so > padLo {
					for p := 0; p < w; p++ {
						clear(yr[p*so+padLo : (p+1)*so])
					}
				}
			}
		})
		return out, nil
	}
	y := ctx.AllocF32(n * k.total * plane)
	// Channel planes: copied, or gathered from channels-last pixels.
	nnParallel(min(ctx.Threads, max(1, len(y)/parallelMinWork)), n*k.total, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, ch := r/k.total, r%k.total
			i := 0
			for ch >= k.c[i] {
				ch -= k.c[i]
				i++
			}
			c, xd := k.c[i], in[i].F32()
			dst := y[r*plane : (r+1)*plane]
			if !k.inNHWC[i] {
				copy(dst, xd[(img*c+ch)*plane:])
				continue
			}
			sx, xo := k.src(i)
			src := xd[img*plane*sx+xo+ch:]
			for p := range dst {
				dst[p] = src[p*sx]
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, k.total, h, w}, Data: y}}, nil
}

// nhwcConcatBNKernel is a channels-last Concat whose only reader is an
// inference BatchNormalization (and the Relu folded into it): DenseNet's
// pre-activation layers. The Concat copied every earlier feature map once
// more and the BatchNormalization read and wrote the copy again; here each
// input is normalised straight into its channels of the output, one pass.
type nhwcConcatBNKernel struct {
	cat  *nhwcConcatKernel
	a, b []float32 // per output channel
	relu bool
	// allocStride is the pixel stride the output is allocated at (it is
	// used at its own): the widest of the kernels that share its first
	// input, a dense block's layers.
	allocStride int
}

// fuseConcatBatchNorms merges each channels-last Concat into the
// channels-last BatchNormalization that alone reads it. It runs at the end of
// the layout pass, after foldChannelsLastRelu.
func (s *Session) fuseConcatBatchNorms() {
	readers := s.stepReaders()
	producer := map[int]int{}
	for i, st := range s.steps {
		if k, ok := st.kernel.(*nhwcConcatKernel); ok && k.outNHWC && !s.keep[st.out[0]] && len(readers[st.out[0]]) == 1 {
			producer[st.out[0]] = i
		}
	}
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		bn, ok := st.kernel.(*nhwcBatchNormKernel)
		if !ok || len(st.in) == 0 || st.in[0] < 0 {
			continue
		}
		i, ok := producer[st.in[0]]
		if !ok || readers[st.in[0]][0] != j {
			continue
		}
		cat := s.steps[i].kernel.(*nhwcConcatKernel)
		if cat.total != len(bn.a) {
			continue
		}
		s.steps[j].kernel = &nhwcConcatBNKernel{cat: cat, a: bn.a, b: bn.b, relu: bn.relu}
		s.steps[j].in = append([]int(nil), s.steps[i].in...)
		removed[i] = true
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
	// The layers of a dense block (the fused steps sharing a first input)
	// allocate their outputs at one size, so that the arena gives each the
	// buffer the previous layer's released, still in cache, rather than one
	// of its own size, last written an inference earlier: stores into lines
	// not in cache made DenseNet's third block's steps 3-6x slower (thread
	// CPU time per step, twelfth session).
	widest := map[int]int{}
	for _, st := range s.steps {
		if k, ok := st.kernel.(*nhwcConcatBNKernel); ok && len(st.in) > 0 {
			widest[st.in[0]] = max(widest[st.in[0]], pixelStride(k.cat.total))
		}
	}
	for _, st := range s.steps {
		if k, ok := st.kernel.(*nhwcConcatBNKernel); ok && len(st.in) > 0 {
			k.allocStride = widest[st.in[0]]
		}
	}
}

func (k *nhwcConcatBNKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	n, h, w, err := k.cat.geometry(in)
	if err != nil {
		return nil, err
	}
	plane := h * w
	so := pixelStride(k.cat.total)
	// Allocated at the block's widest stride (fuseConcatBatchNorms).
	as := max(so, k.allocStride)
	y := ctx.AllocF32(n * plane * as)[:n*plane*so]
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if k.relu {
		lo = 0
	}
	// Rows of pixels: each input's channels normalised into place, then the
	// stride's padding cleared.
	nnParallel(min(ctx.Threads, max(1, len(y)/parallelMinWork)), n*h, func(r0, r1 int) {
		p0, np := r0*w, (r1-r0)*w
		off := 0
		for i := 0; i < len(in); i++ {
			c, xd := k.cat.c[i], in[i].F32()
			if k.cat.inNHWC[i] {
				sx, xo := k.cat.src(i)
				// Inputs side by side in one shared buffer (a dense block's
				// feature maps, concat_view.go) are one call.
				for i+1 < len(in) && k.cat.inNHWC[i+1] && len(xd) > 0 && sameData(xd, in[i+1].F32()) {
					if sx1, xo1 := k.cat.src(i + 1); sx1 != sx || xo1 != xo+c {
						break
					}
					i++
					c += k.cat.c[i]
				}
				a, b := k.a[off:off+c], k.b[off:off+c]
				kernels.AffineRowsF32(xd[p0*sx+xo:], sx, np, c, a, b, y[p0*so+off:], so, lo, hi)
			} else {
				a, b := k.a[off:off+c], k.b[off:off+c]
				for p := p0; p < p0+np; p++ {
					img, q := p/plane, p%plane
					yp := y[p*so+off : p*so+off+c]
					for ch := range yp {
						yp[ch] = min(max(a[ch]*xd[(img*c+ch)*plane+q]+b[ch], lo), hi)
					}
				}
			}
			off += c
		}
		if so > k.cat.total {
			for p := p0; p < p0+np; p++ {
				clear(y[p*so+k.cat.total : (p+1)*so])
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, h, w, so}, Data: y}}, nil
}

// sameData reports whether two non-empty slices start at the same element.
func sameData(a, b []float32) bool { return len(b) > 0 && &a[0] == &b[0] }
