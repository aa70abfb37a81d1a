package runtime

// STFT (opset 17) and Col2Im (opset 18) on float32: the log-mel front end the
// newer exporters write with the STFT operator, and F.fold.
//
// STFT is a direct DFT per frame (frame_length x bins products in float64 from a
// cosine/sine table, rounded once to float32), not an FFT: the frame lengths of
// speech front ends (400, 512) are small, the front end is a small part of a
// speech model, and a direct sum needs no radix cases. The table is indexed by
// (k·n) mod N so every angle is exact to the float64 rounding of 2π·j/N.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

type stftKernel struct {
	onesided bool
	// the cos/sin table of the last frame length seen (frame·bins each)
	frame, bins int
	cos, sin    []float64
}

func buildSTFT(b *BuildContext) (Kernel, error) {
	return &stftKernel{onesided: b.Node.AttrInt("onesided", 1) != 0}, nil
}

func scalarInt(t *graph.Tensor, what string) (int, error) {
	v, err := intsInput(t, what)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("%s must be a scalar, has shape %v", what, t.Shape)
	}
	if v[0] > math.MaxInt32 || v[0] < math.MinInt32 {
		return 0, fmt.Errorf("%s %d is out of range", what, v[0])
	}
	return int(v[0]), nil
}

func (k *stftKernel) table(frame, bins int) {
	if k.frame == frame && k.bins == bins {
		return
	}
	k.frame, k.bins = frame, bins
	k.cos, k.sin = make([]float64, frame*bins), make([]float64, frame*bins)
	for f := 0; f < bins; f++ {
		for n := 0; n < frame; n++ {
			a := 2 * math.Pi * float64((f*n)%frame) / float64(frame)
			k.cos[f*frame+n], k.sin[f*frame+n] = math.Cos(a), math.Sin(a)
		}
	}
}

func (k *stftKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != graph.Float32 {
		return nil, fmt.Errorf("signal must be float32, is %s", x.DType)
	}
	if len(x.Shape) != 3 || (x.Shape[2] != 1 && x.Shape[2] != 2) {
		return nil, fmt.Errorf("signal must be [batch, length, 1 or 2], has shape %v", x.Shape)
	}
	comps := x.Shape[2]
	if comps == 2 && k.onesided {
		return nil, fmt.Errorf("onesided output of a complex signal (ONNX defines it for real signals only)")
	}
	step, err := scalarInt(in[1], "frame_step")
	if err != nil {
		return nil, err
	}
	win, wlen := optInput(in, 2), -1
	if win != nil {
		if win.DType != graph.Float32 || len(win.Shape) != 1 {
			return nil, fmt.Errorf("window must be a 1-D float32 tensor, is %s %v", win.DType, win.Shape)
		}
		wlen = win.Shape[0]
	}
	flen := -1
	if t := optInput(in, 3); t != nil {
		if flen, err = scalarInt(t, "frame_length"); err != nil {
			return nil, err
		}
	}
	frame, err := graph.STFTFrameLength(wlen, flen)
	if err != nil {
		return nil, err
	}
	frames, bins, err := graph.STFTShape(x.Shape[1], frame, step, k.onesided)
	if err != nil {
		return nil, err
	}
	shape := []int{x.Shape[0], frames, bins, 2}
	if err := checkSize(shape, "output shape"); err != nil {
		return nil, err
	}
	k.table(frame, bins)
	src, out := x.F32(), make([]float32, graph.NumElements(shape))
	var w []float32
	if win != nil {
		w = win.F32()
	}
	re, im := make([]float64, frame), make([]float64, frame)
	for b := 0; b < x.Shape[0]; b++ {
		for f := 0; f < frames; f++ {
			base := (b*x.Shape[1] + f*step) * comps
			for n := 0; n < frame; n++ {
				g := 1.0
				if w != nil {
					g = float64(w[n])
				}
				re[n] = g * float64(src[base+n*comps])
				if comps == 2 {
					im[n] = g * float64(src[base+n*comps+1])
				}
			}
			o := out[((b*frames+f)*bins)*2:]
			for q := 0; q < bins; q++ {
				cs, sn := k.cos[q*frame:(q+1)*frame], k.sin[q*frame:(q+1)*frame]
				var sr, si float64
				if comps == 1 {
					for n, v := range re {
						sr += v * cs[n]
						si -= v * sn[n]
					}
				} else {
					for n, v := range re {
						sr += v*cs[n] + im[n]*sn[n]
						si += im[n]*cs[n] - v*sn[n]
					}
				}
				o[2*q], o[2*q+1] = float32(sr), float32(si)
			}
		}
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: out}}, nil
}

type col2ImKernel struct {
	dilations, pads, strides []int64
}

func buildCol2Im(b *BuildContext) (Kernel, error) {
	n := b.Node
	return &col2ImKernel{dilations: n.AttrInts("dilations", nil), pads: n.AttrInts("pads", nil),
		strides: n.AttrInts("strides", nil)}, nil
}

func (k *col2ImKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != graph.Float32 || len(x.Shape) != 3 {
		return nil, fmt.Errorf("input must be a 3-D float32 tensor [N, C·prod(block_shape), L], is %s %v", x.DType, x.Shape)
	}
	image, err := intsInput(in[1], "image_shape")
	if err != nil {
		return nil, err
	}
	block, err := intsInput(in[2], "block_shape")
	if err != nil {
		return nil, err
	}
	blocks, err := graph.Col2ImGeometry(image, block, k.dilations, k.pads, k.strides)
	if err != nil {
		return nil, err
	}
	r := len(image)
	dil, pads, str := k.dilations, k.pads, k.strides
	if dil == nil {
		dil = ones64(r)
	}
	if pads == nil {
		pads = make([]int64, 2*r)
	}
	if str == nil {
		str = ones64(r)
	}
	kb, l := 1, 1
	for d := 0; d < r; d++ {
		kb *= int(block[d])
		l *= blocks[d]
	}
	if x.Shape[1]%kb != 0 || x.Shape[2] != l {
		return nil, fmt.Errorf("input shape %v does not match block_shape %v (%d per channel) and %v = %d blocks",
			x.Shape, block, kb, blocks, l)
	}
	ch := x.Shape[1] / kb
	shape := append([]int{x.Shape[0], ch}, graph.Int64sToInts(image)...)
	if err := checkSize(shape, "output shape"); err != nil {
		return nil, err
	}
	src, out := x.F32(), make([]float32, graph.NumElements(shape))
	if r == 2 {
		col2Im2D(ctx.Threads, out, src, x.Shape[0], ch, image, block, blocks, dil, pads, str) // col2im_2d.go
	} else {
		col2ImND(out, src, x.Shape[0], ch, kb, l, image, block, blocks, dil, pads, str)
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: out}}, nil
}

// col2ImND is Col2Im of any rank: each column value is added to its image
// position, row by row of the input.
func col2ImND(out, src []float32, batch, ch, kb, l int, image, block []int64, blocks []int, dil, pads, str []int64) {
	r, img := len(image), 1
	for _, v := range image {
		img *= int(v)
	}
	ko, lo := make([]int, r), make([]int, r) // block offset and block position, multi-indices
	for n := 0; n < batch; n++ {
		for row := 0; row < ch*kb; row++ {
			c, kk := row/kb, row%kb
			for d := r - 1; d >= 0; d-- {
				ko[d] = kk % int(block[d])
				kk /= int(block[d])
			}
			dst := out[(n*ch+c)*img:]
			in := src[(n*ch*kb+row)*l:]
			for p := 0; p < l; p++ {
				q := p
				for d := r - 1; d >= 0; d-- {
					lo[d] = q % blocks[d]
					q /= blocks[d]
				}
				at, ok := 0, true
				for d := 0; d < r; d++ {
					pos := lo[d]*int(str[d]) - int(pads[d]) + ko[d]*int(dil[d])
					if pos < 0 || pos >= int(image[d]) {
						ok = false
						break
					}
					at = at*int(image[d]) + pos
				}
				if ok {
					dst[at] += in[p]
				}
			}
		}
	}
}

func ones64(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func init() {
	Register(OpInfo{OpType: "STFT", Build: buildSTFT})
	Register(OpInfo{OpType: "Col2Im", Build: buildCol2Im})
}
