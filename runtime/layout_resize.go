package runtime

// Upsampling inside the channels-last chains (tenth session). A UNet decoder
// upsamples (Resize, bilinear or nearest) between convolutions, and a
// super-resolution net ends in DepthToSpace (torch's PixelShuffle). Left
// NCHW, each cut the chain: the convolution before wrote NCHW for it and
// the one after laid its input out channels-last again. Here both read a
// channels-last input and write channels-last when every reader takes it, or
// NCHW otherwise (a graph output, an NCHW-only reader), in the same pass.
// An NCHW input keeps the operator's own kernel (and an NCHW output).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// resampleChannelsLast reports whether a step is a Resize, DepthToSpace or
// block ConvTranspose (layout_convtranspose.go) the layout pass can run
// channels-last: a float32 rank-4 input of static channels, and for Resize
// a static shape and nearest or linear interpolation of H and W only with
// constant scales or sizes (resize_bilinear.go's plan).
func (s *Session) resampleChannelsLast(st step, channels func(int) int) bool {
	if len(st.in) == 0 || st.in[0] < 0 || len(st.out) != 1 || st.out[0] < 0 || channels(st.in[0]) == 0 {
		return false
	}
	if pb, _, _, _ := s.blockConvTranspose(st, channels); pb != nil {
		return true // layout_convtranspose.go
	}
	if w, _, _ := s.phaseConvTransposeWeights(st, channels(st.in[0])); w != nil {
		return true // convtranspose_phase.go
	}
	if isOp(st.node, "DepthToSpace") {
		bs := st.node.AttrInt("blocksize", 0)
		mode := st.node.AttrString("mode", "DCR")
		return len(st.in) == 1 && bs > 0 && channels(st.in[0])%int(bs*bs) == 0 && (mode == "DCR" || mode == "CRD")
	}
	k, ok := st.kernel.(*resizeKernel)
	if !ok || k.mode == "cubic" || k.ctm == "tf_crop_and_resize" {
		return false
	}
	v := s.model.Graph.Values[s.nameOf(st.in[0])]
	xs := make([]int, 4)
	for a, d := range v.Shape {
		if !d.Known() || d.Size <= 0 {
			return false
		}
		xs[a] = d.Size
	}
	in := []*graph.Tensor{{DType: graph.Float32, Shape: xs}}
	for _, id := range st.in[1:] {
		if id < 0 {
			in = append(in, nil)
			continue
		}
		c := s.consts[id]
		if c == nil {
			return false
		}
		in = append(in, c)
	}
	outShape, scales, roi, err := k.geometry(xs, in)
	if err != nil || roi != nil {
		return false
	}
	p := k.plan2D(xs, outShape, scales)
	return p != nil && p.inner == 1 && p.outer == xs[0]*xs[1]
}

// resampleKernel is the channels-last kernel of a step resampleChannelsLast
// accepted, with a channels-last output when out.
func (s *Session) resampleKernel(st step, channels func(int) int, out bool) Kernel {
	c := channels(st.in[0])
	if pb, bias, stride, m := s.blockConvTranspose(st, channels); pb != nil {
		return newNHWCConvTransposeKernel(pb, bias, stride, c, m, out)
	}
	if k := s.phaseKernel(st, c, true, out); k != nil {
		return k
	}
	if isOp(st.node, "DepthToSpace") {
		return &nhwcDepthToSpaceKernel{bs: int(st.node.AttrInt("blocksize", 0)), crd: st.node.AttrString("mode", "DCR") == "CRD", c: c, out: out}
	}
	return &nhwcResizeKernel{rk: st.kernel.(*resizeKernel), c: c, out: out}
}

// nhwcResizeKernel is a Resize of H and W of a channels-last tensor of c
// channels, writing channels-last (out) or NCHW.
type nhwcResizeKernel struct {
	rk   *resizeKernel
	c    int
	out  bool
	view *outView // in a Concat's buffer (concat_view.go), or nil
}

func (k *nhwcResizeKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, st, err := channelsLastInput(in[:1], k.c)
	if err != nil {
		return nil, fmt.Errorf("channels-last Resize: %w", err)
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	outShape, scales, roi, err := k.rk.geometry([]int{n, k.c, h, w}, in)
	if err != nil {
		return nil, err
	}
	if roi != nil {
		return nil, fmt.Errorf("channels-last Resize: unexpected roi")
	}
	oh, ow := outShape[2], outShape[3]
	// The plan of the memory layout [N, H, W, stride]: the channel axis,
	// unchanged (checked when the pass chose this kernel), becomes inner.
	p := k.rk.plan2D([]int{n, h, w, st}, []int{outShape[0], oh, ow, st}, []float64{scales[0], scales[2], scales[3], scales[1]})
	if p == nil || p.outer != n || p.inner != st || outShape[0] != n || outShape[1] != k.c {
		return nil, fmt.Errorf("channels-last Resize: %v to %v is not a resize of H and W", []int{n, k.c, h, w}, outShape)
	}
	if k.view != nil {
		so := k.view.g.stride
		y, err := ctx.viewBuffer(k.view.g, n*oh*ow*so)
		if err != nil {
			return nil, fmt.Errorf("channels-last Resize: %w", err)
		}
		p.runF32Out(x.F32(), y, so, k.view.off, k.c, 0, ctx.Threads)
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
	}
	if k.out {
		y := ctx.AllocF32(n * oh * ow * st)
		p.runF32(x.F32(), y, 0, ctx.Threads)
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, st}, Data: y}}, nil
	}
	y := ctx.AllocF32(n * k.c * oh * ow)
	if oh*ow >= 4*h*w {
		// A large upsample into NCHW (a segmentation head's last Resize):
		// transposing the small input and resizing NCHW rows is cheaper
		// than blending every output pixel's padded channels.
		pn := k.rk.plan2D([]int{n, k.c, h, w}, outShape, scales)
		if pn == nil || pn.inner != 1 {
			return nil, fmt.Errorf("channels-last Resize: %v to %v is not a resize of H and W", []int{n, k.c, h, w}, outShape)
		}
		xn := ctx.AllocF32(n * k.c * h * w)
		nhwcToNCHWF32(x.F32(), st, xn, n, k.c, h*w, ctx.Threads)
		pn.runF32(xn, y, 0, ctx.Threads)
		return []*graph.Tensor{{DType: graph.Float32, Shape: outShape, Data: y}}, nil
	}
	p.runF32(x.F32(), y, k.c, ctx.Threads)
	return []*graph.Tensor{{DType: graph.Float32, Shape: outShape, Data: y}}, nil
}

// nhwcDepthToSpaceKernel is DepthToSpace of a channels-last tensor of c
// channels into c/bs² channels, channels-last (out) or NCHW: output pixel
// (h·bs+i, w·bs+j) channel k is input pixel (h, w) channel
// k·bs² + i·bs + j (CRD, torch's PixelShuffle) or (i·bs + j)·c/bs² + k (DCR).
type nhwcDepthToSpaceKernel struct {
	bs  int
	crd bool
	c   int
	out bool
}

func (k *nhwcDepthToSpaceKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, st, err := channelsLastInput(in, k.c)
	if err != nil {
		return nil, fmt.Errorf("channels-last DepthToSpace: %w", err)
	}
	bs := k.bs
	co := k.c / (bs * bs)
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	oh, ow := h*bs, w*bs
	// ch(k, i, j) = base(i, j) + k·step
	base := func(i, j int) int {
		if k.crd {
			return i*bs + j
		}
		return (i*bs + j) * co
	}
	step := 1
	if k.crd {
		step = bs * bs
	}
	xd := x.F32()
	if k.out {
		so := pixelStride(co)
		y := ctx.AllocF32(n * oh * ow * so)
		nnParallel(memPassThreads(ctx.Threads, len(y)), n*h, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				img, hh := r/h, r%h
				for i := 0; i < bs; i++ {
					orow := y[((img*oh+hh*bs+i)*ow)*so:][:ow*so]
					for ww := 0; ww < w; ww++ {
						px := xd[((img*h+hh)*w+ww)*st:][:st]
						for j := 0; j < bs; j++ {
							d := orow[(ww*bs+j)*so:][:so]
							b := base(i, j)
							if step == 1 {
								copy(d[:co], px[b:b+co])
							} else {
								for c := range d[:co] {
									d[c] = px[b+c*step]
								}
							}
							clear(d[co:])
						}
					}
				}
			}
		})
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
	}
	y := ctx.AllocF32(n * co * oh * ow)
	js := jStep(k.crd, co)
	// One input row (w pixels, in cache) makes bs rows of each output channel.
	nnParallel(memPassThreads(ctx.Threads, len(y)), n*h, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, hh := r/h, r%h
			src := xd[(img*h+hh)*w*st:][:w*st]
			for c := 0; c < co; c++ {
				for i := 0; i < bs; i++ {
					d := y[((img*co+c)*oh+hh*bs+i)*ow:][:ow]
					b := base(i, 0) + c*step
					switch bs {
					case 2:
						for ww, q := 0, b; ww < w; ww, q = ww+1, q+st {
							d[2*ww], d[2*ww+1] = src[q], src[q+js]
						}
					case 3:
						// ESPCN's x3 head: one input pixel's three values per step
						for ww, q := 0, b; ww < w; ww, q = ww+1, q+st {
							g := d[3*ww : 3*ww+3 : 3*ww+3]
							g[0], g[1], g[2] = src[q], src[q+js], src[q+2*js]
						}
					default:
						for ww := 0; ww < w; ww++ {
							for j := 0; j < bs; j++ {
								d[ww*bs+j] = src[ww*st+b+j*js]
							}
						}
					}
				}
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, co, oh, ow}, Data: y}}, nil
}

// jStep is the channel distance between horizontally adjacent output pixels
// of one block: 1 in CRD, c/bs² in DCR.
func jStep(crd bool, co int) int {
	if crd {
		return 1
	}
	return co
}
