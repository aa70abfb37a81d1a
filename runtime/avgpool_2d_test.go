package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// TestAvgPool2DF32 checks the float32 NCHW 2-D average pool on row sums
// (avgpool_2d.go) against the simple reference poolRef and against the
// generic tap-by-tap plane loop it replaces: pads on each side alone and
// together, strides, dilation, ceil mode past the padding, kernels larger
// than the pads, count_include_pad 0 and 1, 1 and 2 threads.
func TestAvgPool2DF32(t *testing.T) {
	cases := []struct {
		name          string
		x             []int
		k, s, d, pads []int
		ceil          bool
	}{
		{"paddle_op10: 3x3 s2 pad 1 ceil", []int{1, 4, 32, 32}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"pad top only", []int{2, 3, 9, 8}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 0, 0, 0}, false},
		{"pad left only", []int{1, 3, 9, 8}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{0, 1, 0, 0}, false},
		{"pad bottom only", []int{1, 3, 9, 8}, []int{3, 2}, []int{2, 1}, []int{1, 1}, []int{0, 0, 2, 0}, false},
		{"pad right only", []int{1, 3, 9, 8}, []int{2, 3}, []int{1, 2}, []int{1, 1}, []int{0, 0, 0, 2}, false},
		{"kernel 5 pad 2 s1 (larger than pad)", []int{1, 2, 7, 11}, []int{5, 5}, []int{1, 1}, []int{1, 1}, []int{2, 2, 2, 2}, false},
		{"kernel 7x3 asymmetric pads s3x2 ceil", []int{1, 2, 13, 10}, []int{7, 3}, []int{3, 2}, []int{1, 1}, []int{3, 1, 2, 0}, true},
		{"dilated, ceil", []int{1, 2, 10, 7}, []int{2, 3}, []int{3, 2}, []int{2, 1}, []int{1, 0, 0, 2}, true},
		{"no pads, ceil past the input", []int{1, 2, 8, 9}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{0, 0, 0, 0}, true},
		{"1x1 output", []int{1, 3, 3, 3}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, false},
		{"adaptive_odd: 12x12 s12 on 60x84", []int{1, 3, 60, 84}, []int{12, 12}, []int{12, 12}, []int{1, 1}, []int{0, 0, 0, 0}, false},
	}
	r := rand.New(rand.NewSource(7))
	for _, tc := range cases {
		for _, incl := range []bool{false, true} {
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/count_include_pad=%v/threads=%d", tc.name, boolInt(incl), threads), func(t *testing.T) {
					x := randF32(r, tc.x...)
					n := mk("AveragePool", 1, 1, aInts("kernel_shape", toI64(tc.k)...), aInts("strides", toI64(tc.s)...),
						aInts("pads", toI64(tc.pads)...), aInt("ceil_mode", boolInt(tc.ceil)), aInts("dilations", toI64(tc.d)...),
						aInt("count_include_pad", boolInt(incl)))
					got, err := runNodeWith(t, 19, threads, n, nil, x)
					require.NoError(t, err)
					tol := Tolerance{Rtol: 1e-5, Atol: 1e-6}
					require.NoError(t, CompareTensors(got[0], poolRef(x, tc.k, tc.s, tc.d, tc.pads, false, incl, tc.ceil), tol))

					// The same plane by the generic loop (the old path).
					geom, err := graph.ResolveConvGeom(n, tc.x[2:], tc.k, tc.ceil)
					require.NoError(t, err)
					p := newPoolPlan(tc.x[2:], geom)
					old := graph.NewTensor(graph.Float32, got[0].Shape)
					is, os := p.inSize, p.outSize
					for i := 0; i < tc.x[0]*tc.x[1]; i++ {
						avgPoolPlane(p, x.F32()[i*is:(i+1)*is], old.F32()[i*os:(i+1)*os], incl)
					}
					require.NoError(t, CompareTensors(got[0], old, tol))
				})
			}
		}
	}
}

// TestAvgPoolCounts checks the per-position divisors on a ceil-mode pool
// whose last window runs past the padding.
func TestAvgPoolCounts(t *testing.T) {
	n := mk("AveragePool", 1, 1, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 1), aInt("ceil_mode", 1))
	geom, err := graph.ResolveConvGeom(n, []int{6, 5}, []int{3, 3}, true)
	require.NoError(t, err)
	p := newPoolPlan([]int{6, 5}, geom)
	tests := []struct {
		incl       bool
		rows, cols []int
	}{
		{false, []int{2, 3, 3, 1}, []int{2, 3, 2}},
		{true, []int{3, 3, 3, 2}, []int{3, 3, 3}},
	}
	for _, tc := range tests {
		c := newAvgPoolCounts(p, tc.incl)
		require.Equal(t, tc.rows, c.rows, "rows, count_include_pad=%v", tc.incl)
		require.Equal(t, tc.cols, c.cols, "cols, count_include_pad=%v", tc.incl)
	}
}

// TestMaxPool2DF32 checks the float32 NCHW 2-D max pool (maxPool2DF32: row
// folds, then the column folds on vectors or, for windows at least 8 outputs'
// span apart, window by window) against poolRef and the generic plane loop:
// adaptive pools to a few outputs (20x28 windows on 60x84), strides 8-9 with
// pads, dilation and ceil mode, and the vector pass at small strides, with
// -Inf in the input.
func TestMaxPool2DF32(t *testing.T) {
	cases := []struct {
		name          string
		x             []int
		k, s, d, pads []int
		ceil          bool
	}{
		{"adaptive_odd: 20x28 s20x28 on 60x84", []int{1, 3, 60, 84}, []int{20, 28}, []int{20, 28}, []int{1, 1}, []int{0, 0, 0, 0}, false},
		{"3x3 s9 pads", []int{1, 2, 20, 40}, []int{3, 3}, []int{9, 9}, []int{1, 1}, []int{1, 2, 1, 0}, false},
		{"2x4 s3x8 dilated ceil", []int{2, 2, 11, 50}, []int{2, 4}, []int{3, 8}, []int{2, 2}, []int{0, 1, 1, 1}, true},
		{"3x3 s2 (vector pass)", []int{1, 2, 9, 12}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, false},
	}
	r := rand.New(rand.NewSource(8))
	for _, tc := range cases {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", tc.name, threads), func(t *testing.T) {
				x := randF32(r, tc.x...)
				xd := x.F32()
				xd[len(xd)/3] = float32(math.Inf(-1))
				n := mk("MaxPool", 1, 1, aInts("kernel_shape", toI64(tc.k)...), aInts("strides", toI64(tc.s)...),
					aInts("pads", toI64(tc.pads)...), aInt("ceil_mode", boolInt(tc.ceil)), aInts("dilations", toI64(tc.d)...))
				got, err := runNodeWith(t, 12, threads, n, nil, x)
				require.NoError(t, err)
				tol := Tolerance{}
				require.NoError(t, CompareTensors(got[0], poolRef(x, tc.k, tc.s, tc.d, tc.pads, true, false, tc.ceil), tol))
				geom, err := graph.ResolveConvGeom(n, tc.x[2:], tc.k, tc.ceil)
				require.NoError(t, err)
				p := newPoolPlan(tc.x[2:], geom)
				old := graph.NewTensor(graph.Float32, got[0].Shape)
				is, os := p.inSize, p.outSize
				for i := 0; i < tc.x[0]*tc.x[1]; i++ {
					maxPoolPlaneND(p, xd[i*is:(i+1)*is], old.F32()[i*os:(i+1)*os], nil, 0)
				}
				require.NoError(t, CompareTensors(got[0], old, tol))
			})
		}
	}
}
