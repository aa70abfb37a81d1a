package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Small maps with large weights (twenty-second session): the paths that
// walk the panels once per band (weights beyond 512 KB), the larger GEMM
// block, the balanced row tiles, the unpadded convolutions read in place
// and the weight prefetch, against the plain integer reference, on every
// dispatch path, at 1 and 2 threads, prefetch on and off.
var smallMapCases = []struct {
	name string
	s    ConvShape
}{
	{"1x1-7x7-large-w", ConvShape{N: 1, H: 7, W: 7, C: 512, OC: 1040, KH: 1, KW: 1}},
	{"1x1s2-14x14-large-w", ConvShape{N: 1, H: 14, W: 14, C: 512, OC: 1056, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
	{"1x1s2-odd-unpadded", ConvShape{N: 2, H: 9, W: 11, C: 64, OC: 80, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
	{"3x3-7x7-large-w", ConvShape{N: 1, H: 7, W: 7, C: 256, OC: 240, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"3x3s2-14x14-large-w", ConvShape{N: 1, H: 14, W: 14, C: 256, OC: 240, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"3x3-unpadded-valid", ConvShape{N: 2, H: 8, W: 13, C: 32, OC: 48, KH: 3, KW: 3}},
	{"1x1-13-rows-k2048", ConvShape{N: 1, H: 1, W: 13, C: 2048, OC: 288, KH: 1, KW: 1}},
	{"1x1-25-rows", ConvShape{N: 1, H: 5, W: 5, C: 64, OC: 96, KH: 1, KW: 1}},
}

func TestQConvSmallMapsVsReference(t *testing.T) {
	defer func(v bool) { weightPrefetch = v }(weightPrefetch)
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(22, 12))
		for _, tc := range smallMapCases {
			s := tc.s
			require.NoError(t, s.Validate(), tc.name)
			w := randI8(r, s.OC*s.C*s.KH*s.KW, -128, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			zp := int32(r.IntN(256) - 128)
			pw, err := PackQConv(s, w, bias, zp)
			require.NoError(t, err, tc.name)
			acc := refConvAcc(s, in, w, bias, zp)
			scales := make([]float64, s.OC)
			for i := range scales {
				scales[i] = 1 / (40 * math.Sqrt(float64(s.C*s.KH*s.KW))) * (0.5 + r.Float64())
			}
			for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
				rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -128, 127)
				want := refRequant(acc, s.OC, rq)
				for _, pf := range []bool{false, true} {
					weightPrefetch = pf
					for _, threads := range []int{1, 2} {
						got := make([]int8, len(want))
						QConv(s, in, pw, got, rq, threads)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "%s zp=%d mode=%v prefetch=%v threads=%d", tc.name, zp, mode, pf, threads)
						}
					}
				}
			}
		}
	})
}

// TestQGemmLargeWeightsVsReference runs QGemm on weights beyond 512 KB
// (the larger block, the prefetch) with row counts around the tile height,
// against the int32 reference.
func TestQGemmLargeWeightsVsReference(t *testing.T) {
	defer func(v bool) { weightPrefetch = v }(weightPrefetch)
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(22, 13))
		const n, k = 520, 1028
		w := randI8(r, n*k, -128, 127)
		bias := randI32(r, n, 1<<12)
		pw, err := PackQGemm(n, k, w, bias, 5)
		require.NoError(t, err)
		scales := make([]float64, n)
		for i := range scales {
			scales[i] = 1 / (40 * math.Sqrt(k)) * (0.5 + r.Float64())
		}
		rq := NewRequant(RequantFloat, scales, 3, -128, 127)
		for _, m := range []int{1, 11, 13, 49, 97} {
			a := randI8(r, m*k, -128, 127)
			acc := make([]int32, m*n)
			for i := 0; i < m; i++ {
				for c := 0; c < n; c++ {
					s := bias[c]
					for kk := 0; kk < k; kk++ {
						s += (int32(a[i*k+kk]) - 5) * int32(w[c*k+kk])
					}
					acc[i*n+c] = s
				}
			}
			want := refRequant(acc, n, rq)
			for _, pf := range []bool{false, true} {
				weightPrefetch = pf
				for _, threads := range []int{1, 2} {
					got := make([]int8, m*n)
					QGemm(m, a, k, pw, got, n, rq, threads)
					require.Equal(t, want, got, "m=%d prefetch=%v threads=%d", m, pf, threads)
				}
			}
		}
	})
}

// TestTileRows checks the row tiles: every row once, none above mr, the
// fewest tiles, heights differing by at most one.
func TestTileRows(t *testing.T) {
	for _, mr := range []int{4, 6, 12} {
		for rows := 1; rows <= 200; rows++ {
			var hs []int
			for t0, tr := 0, 0; t0 < rows; t0 += tr {
				tr = tileRows(rows-t0, mr)
				hs = append(hs, tr)
			}
			sum, lo, hi := 0, mr, 0
			for _, h := range hs {
				sum += h
				lo, hi = min(lo, h), max(hi, h)
			}
			require.Equal(t, rows, sum, "rows %d mr %d", rows, mr)
			require.LessOrEqual(t, hi, mr)
			require.LessOrEqual(t, hi-lo, 1, "rows %d mr %d: %v", rows, mr, hs)
			require.Equal(t, (rows+mr-1)/mr, len(hs))
		}
	}
}

// TestPFPlan checks the prefetch plans as the drivers use them: each
// tile's lines lie in the pair after the one computed, the tiles of a
// pair together cover all of it, and weights that stay in cache or pairs of
// one tile get none.
func TestPFPlan(t *testing.T) {
	defer func(v bool) { weightPrefetch = v }(weightPrefetch)
	weightPrefetch = true
	for _, tc := range []struct{ panels, kp, tiles int }{{9, 4608, 7}, {128, 512, 5}, {31, 1024, 2}, {64, 512, 1}, {4, 256, 5}} {
		w := &QGemmWeights{kp: tc.kp, panels: tc.panels, data: make([]int8, tc.panels*qPanel*tc.kp)}
		steps := tc.kp / 4
		plan := newPFPlan(w, 2, steps, tc.tiles)
		pair := 2 * qPanel * tc.kp
		n := 0
		for p := 0; p < tc.panels; p += 2 {
			covered := 0
			for ti := 0; ti < tc.tiles; ti++ {
				var ep qEpi
				plan.at(&ep, p*qPanel*tc.kp, ti)
				if ep.pf == nil {
					continue
				}
				n++
				off := int(uintptr(unsafe.Pointer(ep.pf)) - uintptr(unsafe.Pointer(&w.data[0])))
				end := off + (steps-1)*int(ep.pfStep)
				require.GreaterOrEqual(t, off, (p+2)*qPanel*tc.kp, "%+v", tc)
				// the last share may end a few lines into the pair after
				// (a prefetch past the weights does not fault)
				require.Less(t, end, (p+2)*qPanel*tc.kp+pair+plan.share, "%+v", tc)
				covered = max(covered, end+64-(p+2)*qPanel*tc.kp)
			}
			if n > 0 && (p+4)*qPanel*tc.kp <= len(w.data) {
				require.GreaterOrEqual(t, covered, pair, "%+v pair at %d", tc, p)
			}
		}
		if tc.tiles == 1 || !weightsStream(w) {
			require.Zero(t, n, "%+v", tc)
		} else {
			require.Positive(t, n, "%+v", tc)
		}
	}
}
