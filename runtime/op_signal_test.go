package runtime

import (
	"math"
	"math/cmplx"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// stftRef is the textbook STFT: X[b, f, k] = Σ_n w[n]·x[b, f·step + n]·e^(-2πi·k·n/N)
// in complex128.
func stftRef(x []float32, batch, length, comps int, w []float32, frame, step int, onesided bool) ([]float32, []int) {
	frames := (length-frame)/step + 1
	bins := frame
	if onesided {
		bins = frame/2 + 1
	}
	out := make([]float32, batch*frames*bins*2)
	for b := 0; b < batch; b++ {
		for f := 0; f < frames; f++ {
			for k := 0; k < bins; k++ {
				var s complex128
				for n := 0; n < frame; n++ {
					at := (b*length + f*step + n) * comps
					v := complex(float64(x[at]), 0)
					if comps == 2 {
						v = complex(float64(x[at]), float64(x[at+1]))
					}
					if w != nil {
						v *= complex(float64(w[n]), 0)
					}
					s += v * cmplx.Exp(complex(0, -2*math.Pi*float64(k*n)/float64(frame)))
				}
				o := ((b*frames+f)*bins + k) * 2
				out[o], out[o+1] = float32(real(s)), float32(imag(s))
			}
		}
	}
	return out, []int{batch, frames, bins, 2}
}

func TestSTFTMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	cases := []struct {
		name                string
		batch, length, comp int
		frame, step         int
		window, flen        bool
		onesided            bool
	}{
		{"real, window, onesided", 2, 100, 1, 16, 4, true, false, true},
		{"real, window and frame_length, odd frame", 1, 50, 1, 15, 7, true, true, true},
		{"real, frame_length only, two-sided", 1, 33, 1, 8, 3, false, true, false},
		{"complex, window, two-sided", 2, 40, 2, 12, 5, true, false, false},
		{"complex, frame_length only", 1, 24, 2, 24, 1, false, true, false},
		{"one frame, step beyond the signal", 1, 20, 1, 20, 50, true, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, []int{tc.batch, tc.length, tc.comp})
			for i := range x.F32() {
				x.F32()[i] = r.Float32()*2 - 1
			}
			n := &graph.Node{OpType: "STFT", Inputs: []string{"x", "step", "", ""}, Outputs: []string{"y"},
				Attrs: map[string]*graph.Attr{}}
			n.SetAttrInt("onesided", map[bool]int64{true: 1, false: 0}[tc.onesided])
			ins := []*graph.Tensor{x, graph.FromInt64(nil, []int64{int64(tc.step)}), nil, nil}
			var w []float32
			if tc.window {
				wt := graph.NewTensor(graph.Float32, []int{tc.frame})
				for i := range wt.F32() {
					wt.F32()[i] = r.Float32()
				}
				w = wt.F32()
				n.Inputs[2], ins[2] = "w", wt
			}
			if tc.flen {
				n.Inputs[3], ins[3] = "flen", graph.FromInt64(nil, []int64{int64(tc.frame)})
			}
			for _, consts := range [][]bool{nil, {false, true, true, true}} {
				got, err := runNodeWith(t, 17, 1, n, consts, ins...)
				require.NoError(t, err)
				want, shape := stftRef(x.F32(), tc.batch, tc.length, tc.comp, w, tc.frame, tc.step, tc.onesided)
				require.Equal(t, shape, got[0].Shape)
				assert.InDeltaSlice(t, want, got[0].F32(), 2e-5)
			}
		})
	}
}

func TestSTFTRefusals(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{1, 10, 1})
	cx := graph.NewTensor(graph.Float32, []int{1, 10, 2})
	step := graph.FromInt64(nil, []int64{2})
	w8 := graph.NewTensor(graph.Float32, []int{8})
	cases := []struct {
		name     string
		ins      []string
		onesided int64
		inputs   []*graph.Tensor
		msg      string
	}{
		{"no window, no frame_length", []string{"x", "s"}, 1, []*graph.Tensor{x, step}, "neither a window nor a frame_length"},
		{"window and frame_length disagree", []string{"x", "s", "w", "f"}, 1, []*graph.Tensor{x, step, w8, graph.FromInt64(nil, []int64{6})}, "frame_length is 6"},
		{"signal shorter than a frame", []string{"x", "s", "", "f"}, 1, []*graph.Tensor{x, step, nil, graph.FromInt64(nil, []int64{12})}, "shorter than a frame"},
		{"onesided complex", []string{"x", "s", "w"}, 1, []*graph.Tensor{cx, step, w8}, "complex signal"},
		{"zero step", []string{"x", "s", "w"}, 1, []*graph.Tensor{x, graph.FromInt64(nil, []int64{0}), w8}, "frame_step 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &graph.Node{OpType: "STFT", Name: "stft_node", Inputs: tc.ins, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			n.SetAttrInt("onesided", tc.onesided)
			_, err := runNodeDynamic(t, n, tc.inputs...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Contains(t, err.Error(), "stft_node")
		})
	}
}

// im2colRef is the textbook im2col of an [N, C, spatial...] image into
// [N, C·prod(block), L] (torch's F.unfold), the operation Col2Im is the adjoint of.
func im2colRef(x []float32, shape []int, block, dil, pads, str, blocks []int) []float32 {
	r := len(block)
	n, c, img := shape[0], shape[1], shape[2:]
	kb, l := 1, 1
	for d := 0; d < r; d++ {
		kb *= block[d]
		l *= blocks[d]
	}
	isz := graph.NumElements(img)
	out := make([]float32, n*c*kb*l)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for k := 0; k < kb; k++ {
				ko := unravel(k, block)
				for p := 0; p < l; p++ {
					lo := unravel(p, blocks)
					at, ok := 0, true
					for d := 0; d < r; d++ {
						pos := lo[d]*str[d] - pads[d] + ko[d]*dil[d]
						if pos < 0 || pos >= img[d] {
							ok = false
							break
						}
						at = at*img[d] + pos
					}
					if ok {
						out[((b*c+ch)*kb+k)*l+p] = x[(b*c+ch)*isz+at]
					}
				}
			}
		}
	}
	return out
}

// Col2Im is the adjoint of im2col: <Col2Im(cols), X> = <cols, im2col(X)> for any
// cols and X, which pins every block offset, stride, dilation and pad.
func TestCol2ImIsTheAdjointOfIm2Col(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	cases := []struct {
		name                   string
		n, c                   int
		image, block           []int
		dil, pads, str, blocks []int
	}{
		{"3x3 overlapping, pads 1", 2, 3, []int{6, 5}, []int{3, 3}, []int{1, 1}, []int{1, 1, 1, 1}, []int{1, 1}, []int{6, 5}},
		{"2x2 stride 2", 1, 2, []int{6, 8}, []int{2, 2}, []int{1, 1}, []int{0, 0, 0, 0}, []int{2, 2}, []int{3, 4}},
		{"dilated, asymmetric pads, stride 2", 1, 2, []int{7, 9}, []int{2, 3}, []int{2, 2}, []int{1, 0, 2, 1}, []int{2, 2}, []int{4, 3}},
		{"uncovered tail (stride 3)", 1, 1, []int{8}, []int{2}, []int{1}, []int{0, 0}, []int{3}, []int{3}},
		{"3-D", 1, 2, []int{3, 4, 4}, []int{2, 2, 3}, []int{1, 1, 1}, []int{0, 0, 1, 0, 0, 1}, []int{1, 2, 1}, []int{2, 2, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i64 := func(v []int) []int64 {
				o := make([]int64, len(v))
				for i, x := range v {
					o[i] = int64(x)
				}
				return o
			}
			blocks, err := graph.Col2ImGeometry(i64(tc.image), i64(tc.block), i64(tc.dil), i64(tc.pads), i64(tc.str))
			require.NoError(t, err)
			require.Equal(t, tc.blocks, blocks)
			kb, l := graph.NumElements(tc.block), graph.NumElements(tc.blocks)
			cols := graph.NewTensor(graph.Float32, []int{tc.n, tc.c * kb, l})
			for i := range cols.F32() {
				cols.F32()[i] = r.Float32()*2 - 1
			}
			imgShape := append([]int{tc.n, tc.c}, tc.image...)
			x := make([]float32, graph.NumElements(imgShape))
			for i := range x {
				x[i] = r.Float32()*2 - 1
			}
			n := &graph.Node{OpType: "Col2Im", Inputs: []string{"cols", "image", "block"}, Outputs: []string{"y"},
				Attrs: map[string]*graph.Attr{}}
			n.SetAttrInts("dilations", i64(tc.dil))
			n.SetAttrInts("pads", i64(tc.pads))
			n.SetAttrInts("strides", i64(tc.str))
			got, err := runNodeWith(t, 18, 1, n, []bool{false, true, true}, cols,
				graph.FromInt64([]int{len(tc.image)}, i64(tc.image)), graph.FromInt64([]int{len(tc.block)}, i64(tc.block)))
			require.NoError(t, err)
			require.Equal(t, imgShape, got[0].Shape)
			var lhs, rhs float64
			for i, v := range got[0].F32() {
				lhs += float64(v) * float64(x[i])
			}
			for i, v := range im2colRef(x, imgShape, tc.block, tc.dil, tc.pads, tc.str, tc.blocks) {
				rhs += float64(v) * float64(cols.F32()[i])
			}
			assert.InDelta(t, rhs, lhs, 1e-4)
		})
	}
}

func TestCol2ImRefusals(t *testing.T) {
	n := &graph.Node{OpType: "Col2Im", Name: "fold_node", Inputs: []string{"cols", "image", "block"}, Outputs: []string{"y"},
		Attrs: map[string]*graph.Attr{}}
	img, blk := graph.FromInt64([]int{2}, []int64{4, 4}), graph.FromInt64([]int{2}, []int64{2, 2})
	// 4x4 image, 2x2 blocks, stride 1: 9 blocks of 4 values per channel.
	_, err := runNodeDynamic(t, n, graph.NewTensor(graph.Float32, []int{1, 8, 8}), img, blk)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "9 blocks")
	assert.Contains(t, err.Error(), "fold_node")
	_, err = runNodeDynamic(t, n, graph.NewTensor(graph.Float32, []int{1, 8, 9}), img, graph.FromInt64([]int{2}, []int64{5, 2}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not fit")
}

// Pad-18 with an axes input pads those axes only; negative axes count from the
// end. The result equals the full-rank pads.
func TestPadAxesInput(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{1, 2, 3, 4})
	for i := range x.F32() {
		x.F32()[i] = float32(i)
	}
	for _, mode := range []string{"constant", "reflect", "edge"} {
		full := &graph.Node{OpType: "Pad", Inputs: []string{"x", "p"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
		full.SetAttrString("mode", mode)
		want, err := runSingleNode(t, 18, full, x, graph.FromInt64([]int{8}, []int64{0, 0, 1, 2, 0, 0, 2, 0}))
		require.NoError(t, err)
		for _, consts := range [][]bool{nil, {false, true, false, true}} {
			n := &graph.Node{OpType: "Pad", Inputs: []string{"x", "p", "", "a"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			n.SetAttrString("mode", mode)
			got, err := runNodeWith(t, 18, 1, n, consts, x, graph.FromInt64([]int{4}, []int64{2, 1, 0, 2}), nil,
				graph.FromInt64([]int{2}, []int64{-1, 2}))
			require.NoError(t, err, mode)
			assert.Equal(t, want[0].Shape, got[0].Shape, mode)
			assert.Equal(t, want[0].F32(), got[0].F32(), mode)
		}
	}
	n := &graph.Node{OpType: "Pad", Name: "pad_node", Inputs: []string{"x", "p", "", "a"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	_, err := runNodeDynamic(t, n, x, graph.FromInt64([]int{4}, []int64{1, 1, 1, 1}), nil, graph.FromInt64([]int{2}, []int64{3, -1}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "twice")
	assert.Contains(t, err.Error(), "pad_node")
}

// Split-18's num_outputs: ceil(dim / n) per output, the last one smaller.
func TestSplitNumOutputs(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{2, 5})
	for i := range x.F32() {
		x.F32()[i] = float32(i)
	}
	n := &graph.Node{OpType: "Split", Inputs: []string{"x"}, Outputs: []string{"a", "b", "c"}, Attrs: map[string]*graph.Attr{}}
	n.SetAttrInt("axis", 1)
	n.SetAttrInt("num_outputs", 3)
	got, err := runSingleNode(t, 18, n, x)
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 1, 5, 6}, got[0].F32())
	assert.Equal(t, []float32{2, 3, 7, 8}, got[1].F32())
	assert.Equal(t, []int{2, 1}, got[2].Shape)
	assert.Equal(t, []float32{4, 9}, got[2].F32())
	_, err = runSingleNode(t, 17, n, x)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "since opset 18")
}

func TestMishOperator(t *testing.T) {
	x := graph.FromFloat32([]int{7}, []float32{-20, -3, -0.5, 0, 0.5, 3, 20})
	n := &graph.Node{OpType: "Mish", Inputs: []string{"x"}, Outputs: []string{"y"}}
	got, err := runSingleNode(t, 18, n, x)
	require.NoError(t, err)
	for i, v := range x.F32() {
		f := float64(v)
		assert.InDelta(t, f*math.Tanh(math.Log1p(math.Exp(f))), float64(got[0].F32()[i]), 1e-6, "x=%g", v)
	}
}
