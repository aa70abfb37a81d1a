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

// dftRef is the textbook DFT along axis of a [outer, n, inner, comps] signal in
// complex128: zero-padded or truncated to l, the first l/2+1 bins when onesided,
// e^{+2πi kj/l}/l when inverse.
func dftRef(x []float32, outer, n, inner, comps, l int, onesided, inverse bool) []float32 {
	bins := l
	if onesided {
		bins = l/2 + 1
	}
	sign, scale := -1.0, 1.0
	if inverse {
		sign, scale = 1, 1/float64(l)
	}
	out := make([]float32, outer*bins*inner*2)
	for o := 0; o < outer; o++ {
		for q := 0; q < inner; q++ {
			for k := 0; k < bins; k++ {
				var s complex128
				for j := 0; j < min(n, l); j++ {
					at := ((o*n+j)*inner + q) * comps
					v := complex(float64(x[at]), 0)
					if comps == 2 {
						v = complex(float64(x[at]), float64(x[at+1]))
					}
					s += v * cmplx.Exp(complex(0, sign*2*math.Pi*float64(k*j)/float64(l)))
				}
				s *= complex(scale, 0)
				p := ((o*bins+k)*inner + q) * 2
				out[p], out[p+1] = float32(real(s)), float32(imag(s))
			}
		}
	}
	return out
}

func TestDFTMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(23))
	cases := []struct {
		name              string
		shape             []int // with the last axis of 1 or 2
		axis              int64
		length            int // dft_length (0: none)
		onesided, inverse bool
		opset             int64
	}{
		{"real, axis 1, two-sided", []int{2, 12, 1}, 1, 0, false, false, 17},
		{"real, onesided, zero padded", []int{3, 10, 1}, 1, 16, true, false, 17},
		{"real, onesided, odd length", []int{1, 9, 1}, 1, 0, true, false, 17},
		{"complex, inner axis after the signal", []int{2, 7, 3, 2}, 1, 0, false, false, 17},
		{"complex, inverse, truncated", []int{1, 2, 12, 2}, 2, 8, false, true, 17},
		{"negative axis", []int{2, 3, 5, 1}, -2, 0, false, false, 17},
		{"opset 20 axis input", []int{2, 6, 4, 2}, 1, 0, false, true, 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, tc.shape)
			for i := range x.F32() {
				x.F32()[i] = r.Float32()*2 - 1
			}
			n := &graph.Node{OpType: "DFT", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			ins := []*graph.Tensor{x}
			l := 0
			if tc.length > 0 {
				l = tc.length
				n.Inputs = append(n.Inputs, "len")
				ins = append(ins, graph.FromInt64(nil, []int64{int64(tc.length)}))
			}
			if tc.opset >= 20 {
				if tc.length == 0 {
					n.Inputs = append(n.Inputs, "")
					ins = append(ins, nil)
				}
				n.Inputs = append(n.Inputs, "axis")
				ins = append(ins, graph.FromInt64(nil, []int64{tc.axis}))
			} else {
				n.SetAttrInt("axis", tc.axis)
			}
			if tc.onesided {
				n.SetAttrInt("onesided", 1)
			}
			if tc.inverse {
				n.SetAttrInt("inverse", 1)
			}
			r := len(tc.shape)
			axis, err := graph.DFTAxis(tc.axis, r)
			require.NoError(t, err)
			nn := tc.shape[axis]
			if l == 0 {
				l = nn
			}
			outer := graph.NumElements(tc.shape[:axis])
			inner := graph.NumElements(tc.shape[axis+1 : r-1])
			want := dftRef(x.F32(), outer, nn, inner, tc.shape[r-1], l, tc.onesided, tc.inverse)
			for _, consts := range [][]bool{nil, {false, true, true}} {
				got, err := runNodeWith(t, tc.opset, 1, n, consts, ins...)
				require.NoError(t, err)
				wantShape := append([]int{}, tc.shape...)
				wantShape[axis], wantShape[r-1] = graph.DFTOutLength(l, tc.onesided), 2
				require.Equal(t, wantShape, got[0].Shape)
				assert.InDeltaSlice(t, want, got[0].F32(), 2e-5)
			}
		})
	}
}

// A forward DFT followed by the inverse gives the signal back.
func TestDFTInverseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	x := graph.NewTensor(graph.Float32, []int{3, 20, 2})
	for i := range x.F32() {
		x.F32()[i] = r.Float32()*2 - 1
	}
	fwd := &graph.Node{OpType: "DFT", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	y, err := runNodeWith(t, 17, 1, fwd, nil, x)
	require.NoError(t, err)
	inv := &graph.Node{OpType: "DFT", Inputs: []string{"y"}, Outputs: []string{"z"}, Attrs: map[string]*graph.Attr{}}
	inv.SetAttrInt("inverse", 1)
	z, err := runNodeWith(t, 17, 1, inv, nil, y[0])
	require.NoError(t, err)
	assert.InDeltaSlice(t, x.F32(), z[0].F32(), 1e-5)
}

func TestDFTRefusals(t *testing.T) {
	real1 := graph.NewTensor(graph.Float32, []int{1, 8, 1})
	cplx := graph.NewTensor(graph.Float32, []int{1, 8, 2})
	cases := []struct {
		name  string
		attrs map[string]int64
		x     *graph.Tensor
		msg   string
	}{
		{"onesided inverse", map[string]int64{"onesided": 1, "inverse": 1}, real1, "onesided inverse DFT"},
		{"onesided complex input", map[string]int64{"onesided": 1}, cplx, "onesided DFT of a complex input"},
		{"axis on the component axis", map[string]int64{"axis": 2}, real1, "axis 2 is out of range"},
		{"last axis of 3", nil, graph.NewTensor(graph.Float32, []int{1, 8, 3}), "last axis must be 1 (real) or 2 (complex)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &graph.Node{Name: "dft", OpType: "DFT", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			for k, v := range tc.attrs {
				n.SetAttrInt(k, v)
			}
			_, err := runNodeWith(t, 17, 1, n, nil, tc.x)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Contains(t, err.Error(), "dft")
		})
	}
}

func TestWindowsAndMelMatrix(t *testing.T) {
	size := graph.FromInt64(nil, []int64{4})
	cases := []struct {
		op       string
		periodic int64
		want     []float32
	}{
		// 0.5 - 0.5·cos(2πk/4)
		{"HannWindow", 1, []float32{0, 0.5, 1, 0.5}},
		// 25/46 - 21/46·cos(2πk/3)
		{"HammingWindow", 0, []float32{4.0 / 46, 25.0/46 + 10.5/46, 25.0/46 + 10.5/46, 4.0 / 46}},
		// 0.42 - 0.5·cos(2πk/4) + 0.08·cos(4πk/4)
		{"BlackmanWindow", 1, []float32{0, 0.34, 1, 0.34}},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			n := &graph.Node{OpType: tc.op, Inputs: []string{"n"}, Outputs: []string{"w"}, Attrs: map[string]*graph.Attr{}}
			n.SetAttrInt("periodic", tc.periodic)
			for _, consts := range [][]bool{nil, {true}} {
				got, err := runNodeWith(t, 17, 1, n, consts, size)
				require.NoError(t, err)
				assert.InDeltaSlice(t, tc.want, got[0].F32(), 1e-6)
			}
		})
	}
	t.Run("MelWeightMatrix rows sum within a triangle", func(t *testing.T) {
		n := &graph.Node{OpType: "MelWeightMatrix", Inputs: []string{"b", "d", "r", "lo", "hi"}, Outputs: []string{"w"},
			Attrs: map[string]*graph.Attr{}}
		got, err := runNodeWith(t, 17, 1, n, nil, graph.FromInt64(nil, []int64{8}), graph.FromInt64(nil, []int64{64}),
			graph.FromInt64(nil, []int64{16000}), graph.ScalarFloat32(0), graph.ScalarFloat32(8000))
		require.NoError(t, err)
		require.Equal(t, []int{33, 8}, got[0].Shape)
		w := got[0].F32()
		for m := 0; m < 8; m++ {
			peak := float32(0)
			for k := 0; k < 33; k++ {
				v := w[k*8+m]
				assert.True(t, v >= 0 && v <= 1, "weight %v", v)
				peak = max(peak, v)
			}
			assert.Equal(t, float32(1), peak, "filter %d peaks at 1", m)
		}
	})
}
