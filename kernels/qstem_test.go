package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQConvStemVsReference checks the stem kernel against the direct
// definition (refConvAcc, refRequant) and against the GEMM path it replaces
// (the same packed weights with the stem packing removed), on every int8
// path, both requantization modes, clamped (fused Relu/Clip) and full output
// ranges, and 1-3 threads.
func TestQConvStemVsReference(t *testing.T) {
	cases := []ConvShape{
		{N: 1, H: 23, W: 29, C: 3, OC: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 20, W: 20, C: 3, OC: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 0, PadLeft: 0, PadBottom: 1, PadRight: 1},
		{N: 2, H: 17, W: 19, C: 3, OC: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3},
		{N: 1, H: 9, W: 11, C: 3, OC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 12, W: 13, C: 1, OC: 8, KH: 5, KW: 5, StrideH: 1, StrideW: 2, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 2},
		{N: 1, H: 10, W: 10, C: 2, OC: 40, KH: 4, KW: 6, StrideH: 2, StrideW: 1, PadTop: 0, PadLeft: 3, PadBottom: 2, PadRight: 0},
		{N: 1, H: 8, W: 9, C: 4, OC: 80, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 2, PadTop: 2, PadLeft: 1, PadBottom: 2, PadRight: 1},
		{N: 1, H: 6, W: 7, C: 3, OC: 70, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{N: 1, H: 5, W: 3, C: 3, OC: 5, KH: 5, KW: 3, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 1, PadBottom: 2, PadRight: 1},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 8))
		for _, s := range cases {
			require.NoError(t, s.Validate())
			s := s.norm()
			w := randI8(r, s.OC*s.C*s.KH*s.KW, -127, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			zp := int32(r.IntN(256) - 128)
			pw, err := PackQConv(s, w, bias, zp)
			require.NoError(t, err)
			require.NotNil(t, pw.stem)
			gemm := *pw
			gemm.stem = nil
			acc := refConvAcc(s, in, w, bias, zp)
			scales := make([]float64, s.OC)
			for j := range scales {
				scales[j] = 1 / (40 * math.Sqrt(float64(s.C*s.KH*s.KW))) * (0.5 + r.Float64())
			}
			for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
				for _, clamp := range [][2]int32{{-128, 127}, {-20, 127}, {-20, 40}} {
					yzp := int32(r.IntN(40) - 20)
					rq := NewRequant(mode, scales, yzp, max(clamp[0], yzp), clamp[1])
					want := refRequant(acc, s.OC, rq)
					old := make([]int8, len(want))
					QConv(s, in, &gemm, old, rq, 1)
					if !assert.Equal(quietT{}, want, old) {
						require.Equal(t, want, old, "GEMM path %+v", s)
					}
					for _, threads := range []int{1, 2, 3} {
						got := make([]int8, len(want))
						QConv(s, in, pw, got, rq, threads)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "%+v zp=%d mode=%v clamp=%v threads=%d", s, zp, mode, clamp, threads)
						}
					}
				}
			}
		}
	})
}

// TestStemRowAsmMatchesGo runs the row kernel of each path and its Go form
// on the same packed weights and rows: pixel counts 1-9 (the 4-pixel and
// 1-pixel kernels), 1-5 blocks of 16 channels (VNNI's split at 4 blocks).
func TestStemRowAsmMatchesGo(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 15))
		for _, oc := range []int{16, 32, 48, 64, 80} {
			for _, c := range []int{1, 3, 4} {
				t.Run(fmt.Sprintf("oc=%d/c=%d", oc, c), func(t *testing.T) {
					s := ConvShape{C: c, OC: oc, KH: 3, KW: 5, Groups: 1}
					sw := packStem(s, randI8(r, oc*c*15, -127, 127), randI32(r, oc, 1<<10), int32(r.IntN(256)-128))
					for ow := 1; ow <= 9; ow++ {
						ps, rs := 2*c, 64
						base := randI8(r, (ow-1)*ps+2*rs+4*sw.seg4, -128, 127)
						want := make([]int32, ow*sw.nb*16)
						got := make([]int32, len(want))
						stemRowGo(sw, base, ps, rs, ow, want)
						if stemInputXOR() {
							xorCopy(base, base)
						}
						stemRow(sw, base, ps, rs, ow, got)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "ow=%d", ow)
						}
					}
				})
			}
		}
	})
}

// BenchmarkQConvStem times the stem kernel and the GEMM path it replaces
// (4-channel copy + implicit GEMM) on the stems of the small exported
// networks: 224×224 RGB, 3×3 stride 2 to 16/24/32 channels, ResNet's 7×7
// stride 2 to 64.
func BenchmarkQConvStem(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct {
		name string
		oc   int
		k    int
	}{{"3x3s2-16", 16, 3}, {"3x3s2-24", 24, 3}, {"3x3s2-32", 32, 3}, {"7x7s2-64", 64, 7}} {
		p := tc.k / 2
		s := ConvShape{N: 1, H: 224, W: 224, C: 3, OC: tc.oc, KH: tc.k, KW: tc.k, StrideH: 2, StrideW: 2,
			PadTop: p, PadLeft: p, PadBottom: p, PadRight: p}.norm()
		pw, err := PackQConv(s, randI8(r, s.OC*s.C*s.KH*s.KW, -127, 127), randI32(r, s.OC, 1000), -5)
		if err != nil {
			b.Fatal(err)
		}
		gemm := *pw
		gemm.stem = nil
		in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
		out := make([]int8, s.N*s.OutH()*s.OutW()*s.OC)
		rq := NewRequant(RequantFloat, []float64{0.002}, 0, 0, 127)
		for _, v := range []struct {
			name string
			w    *QConvWeights
		}{{"stem", pw}, {"gemm", &gemm}} {
			for _, th := range benchThreads() {
				b.Run(fmt.Sprintf("%s/%s/%s/threads=%d", tc.name, v.name, Int8Path(), th), func(b *testing.B) {
					for b.Loop() {
						QConv(s, in, v.w, out, rq, th)
					}
					reportGOPS(b, convOps(s))
				})
			}
		}
	}
}
