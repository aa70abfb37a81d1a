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

	"github.com/warboy-sim/warboy/graph"
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
}

func newNHWCConcatKernel(st step, nhwc map[int]bool, channels func(id int) int) *nhwcConcatKernel {
	k := &nhwcConcatKernel{outNHWC: nhwc[st.out[0]]}
	for _, id := range st.in {
		k.c = append(k.c, channels(id))
		k.inNHWC = append(k.inNHWC, nhwc[id])
		k.total += channels(id)
	}
	return k
}

func (k *nhwcConcatKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) != len(k.c) {
		return nil, fmt.Errorf("channels-last Concat: got %d inputs, want %d", len(in), len(k.c))
	}
	if err := checkInputs(in, len(in)); err != nil {
		return nil, err
	}
	var n, h, w int
	for i, x := range in {
		if x.DType != graph.Float32 || len(x.Shape) != 4 {
			return nil, fmt.Errorf("channels-last Concat: input %d is %s %v, want float32 rank 4", i, x.DType, x.Shape)
		}
		want := []int{x.Shape[0], k.c[i], x.Shape[2], x.Shape[3]}
		if k.inNHWC[i] {
			want = []int{x.Shape[0], x.Shape[1], x.Shape[2], pixelStride(k.c[i])}
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
				return nil, fmt.Errorf("channels-last Concat: input %d has shape %v, want %v", i, x.Shape, want)
			}
		}
	}
	plane := h * w
	if k.outNHWC {
		so := pixelStride(k.total)
		y := ctx.AllocF32(n * plane * so)
		// Rows of pixels: every input's channels of each pixel, then the
		// stride's padding cleared.
		nnParallel(min(ctx.Threads, max(1, len(y)/parallelMinWork)), n*h, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				img, p0 := r/h, (r%h)*w
				yr := y[(img*plane+p0)*so : (img*plane+p0+w)*so]
				off := 0
				for i, x := range in {
					c, xd := k.c[i], x.F32()
					if k.inNHWC[i] {
						sx := pixelStride(c)
						xr := xd[(img*plane+p0)*sx:]
						for p := 0; p < w; p++ {
							copy(yr[p*so+off:p*so+off+c], xr[p*sx:p*sx+c])
						}
					} else {
						for ch := 0; ch < c; ch++ {
							xr := xd[(img*c+ch)*plane+p0 : (img*c+ch)*plane+p0+w]
							for p, v := range xr {
								yr[p*so+off+ch] = v
							}
						}
					}
					off += c
				}
				if so > k.total {
					for p := 0; p < w; p++ {
						clear(yr[p*so+k.total : (p+1)*so])
					}
				}
			}
		})
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, h, w, so}, Data: y}}, nil
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
			sx := pixelStride(c)
			src := xd[img*plane*sx+ch:]
			for p := range dst {
				dst[p] = src[p*sx]
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, k.total, h, w}, Data: y}}, nil
}
