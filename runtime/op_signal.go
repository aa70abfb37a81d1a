package runtime

// Col2Im (opset 18) on float32 (F.fold), and the scalar inputs of the signal
// operators. STFT (opset 17) is in op_dft_stft.go, on the FFT of op_dft_fft.go.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

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
	Register(OpInfo{OpType: "Col2Im", Build: buildCol2Im})
}
