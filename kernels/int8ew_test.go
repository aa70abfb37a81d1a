package kernels

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The vector kernels of QAdd/QMul, LUT.Apply and int8 pooling against their Go
// references, on every dispatch path, lengths that are not multiples of the
// vector width, in place, and with extreme scales.

func TestQBinaryAllPairsEveryPath(t *testing.T) {
	type params struct {
		as, bs, os    float32
		azp, bzp, ozp int32
		qmin, qmax    int32
	}
	cases := []params{
		{0.02, 0.03, 0.05, 0, 0, 0, -128, 127},
		{0.007, 0.5, 0.2, 12, -7, 3, 3, 127},
		{1, 1, 1, 0, 0, 0, -128, 127},     // exact halves
		{1, 1, 1e-30, 0, 0, 5, -128, 127}, // ratios overflow to +Inf: NaN for zero operands
		{0.1, 0.1, 0.1, -128, 127, -100, -128, 0},
	}
	n := 65536 + 13
	a, b := make([]int8, n), make([]int8, n)
	for i := range a {
		a[i], b[i] = int8(uint8(i>>8)), int8(uint8(i))
	}
	forEachPath(t, func(t *testing.T) {
		for _, c := range cases {
			for _, p := range []*QBinary{
				NewQAdd(c.as, c.azp, c.bs, c.bzp, c.os, c.ozp, c.qmin, c.qmax),
				NewQMul(c.as, c.azp, c.bs, c.bzp, c.os, c.ozp, c.qmin, c.qmax),
			} {
				want := make([]int8, n)
				p.applyGo(a, b, want)
				got := make([]int8, n)
				p.Apply(a, b, got)
				if !assert.Equal(quietT{}, want, got) {
					require.Equal(t, want, got, "%+v mul=%v", c, p.mul)
				}
				for _, l := range []int{0, 1, 7, 8, 9, 31} { // short and odd lengths, in place
					x := make([]int8, l)
					copy(x, a[1000:])
					p.Apply(x, b[1000:1000+l], x)
					if !assert.Equal(quietT{}, want[1000:1000+l], x) {
						require.Equal(t, want[1000:1000+l], x, "len %d", l)
					}
				}
			}
		}
	})
}

func TestLUTEveryPath(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	var lut LUT
	for i := range lut {
		lut[i] = int8(r.IntN(256) - 128)
	}
	in := randI8(r, 1000, -128, 127)
	for i := 0; i < 256; i++ {
		in[i] = int8(i - 128)
	}
	forEachPath(t, func(t *testing.T) {
		for _, l := range []int{0, 1, 63, 64, 65, 200, 256, 1000} {
			got := make([]int8, l)
			lut.Apply(in[:l], got)
			for i, q := range in[:l] {
				if !assert.Equal(quietT{}, lut[uint8(q)], got[i]) {
					require.Equal(t, lut[uint8(q)], got[i], "len %d index %d", l, i)
				}
			}
			x := make([]int8, l)
			copy(x, in)
			lut.Apply(x, x)
			if !assert.Equal(quietT{}, got, x) {
				require.Equal(t, got, x)
			}
		}
	})
}

// TestQPoolsWideEveryPath: pooling shapes of real networks (ResNet's 3×3/2 max
// pool, squeeze-excite global pools with channel counts around the vector
// widths), against the direct loops of TestQPools' reference.
func TestQPoolsWideEveryPath(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	cases := []PoolShape{
		{N: 1, H: 14, W: 14, C: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 2, H: 9, W: 7, C: 37, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 3, W: 3, C: 40, KH: 5, KW: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{N: 1, H: 12, W: 12, C: 96, KH: 12, KW: 12},
		{N: 2, H: 7, W: 5, C: 1280 + 24 + 3, KH: 7, KW: 5},
		{N: 3, H: 4, W: 4, C: 8, KH: 4, KW: 4},
		{N: 1, H: 18, W: 18, C: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, // ShuffleNet's
		{N: 1, H: 9, W: 11, C: 3, KH: 3, KW: 5, StrideH: 1, StrideW: 3, DilW: 2, PadTop: 0, PadLeft: 4, PadBottom: 2, PadRight: 4},
		{N: 1, H: 5, W: 2, C: 31, KH: 2, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 2}, // no inner pixel
		{N: 2, H: 6, W: 7, C: 1, KH: 1, KW: 2, StrideH: 1, StrideW: 2},
		// The window kernel's runs: 256 + 64 + a tail, dilation, a pad on
		// one side only.
		{N: 1, H: 9, W: 10, C: 256 + 64 + 5, KH: 3, KW: 2, StrideH: 2, StrideW: 1, DilH: 2, DilW: 3, PadTop: 2, PadLeft: 1, PadBottom: 0, PadRight: 2},
		{N: 2, H: 8, W: 8, C: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 7, W: 9, C: 200, KH: 2, KW: 4, StrideH: 2, StrideW: 3, PadTop: 1, PadLeft: 3, PadBottom: 1, PadRight: 0},
	}
	forEachPath(t, func(t *testing.T) {
		for _, s := range cases {
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			oh, ow := s.OutH(), s.OutW()
			for _, threads := range []int{1, 2, 3} {
				gotMax := make([]int8, s.N*oh*ow*s.C)
				gotAvg := make([]int8, len(gotMax))
				QMaxPool(s, in, gotMax, threads)
				QAvgPool(s, in, 0.05, -3, gotAvg, 0.04, 2, threads)
				wantMax, wantAvg := refQPools(s, in)
				if !assert.Equal(quietT{}, wantMax, gotMax) {
					require.Equal(t, wantMax, gotMax, "max %+v threads %d", s, threads)
				}
				if !assert.Equal(quietT{}, wantAvg, gotAvg) {
					require.Equal(t, wantAvg, gotAvg, "avg %+v threads %d", s, threads)
				}
			}
		}
	})
}

func TestSumPixelsI8EveryPath(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	forEachPath(t, func(t *testing.T) {
		for _, c := range []int{1, 7, 8, 16, 24, 33, 64, 100} {
			npix, stride := 17, c+5
			src := randI8(r, (npix-1)*stride+c, -128, 127)
			got := make([]int32, c)
			want := make([]int32, c)
			for i := range got {
				got[i] = int32(i) * 1000
				want[i] = got[i]
			}
			sumPixelsI8(got, src, npix, stride)
			sumPixelsI8Go(want, src, npix, stride)
			if !assert.Equal(quietT{}, want, got) {
				require.Equal(t, want, got, "c=%d", c)
			}
		}
	})
}

func TestQuantizeF32EveryPath(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	in := make([]float32, 1003)
	for i := range in {
		in[i] = (r.Float32()*2 - 1) * 40
	}
	specials := []float32{0, 0.5, 1.5, 2.5, -0.5, -1.5, 1e30, -1e30, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0.26, 127.5, -128.5}
	copy(in, specials)
	forEachPath(t, func(t *testing.T) {
		for _, sc := range []float32{1, 0.1, 0.0173, 1e-20} {
			for _, zp := range []int32{-128, -3, 0, 77, 127} {
				for _, l := range []int{0, 5, 8, 17, len(in)} {
					want := make([]int8, l)
					quantizeF32Go(in[:l], sc, zp, want)
					got := make([]int8, l)
					QuantizeF32(in[:l], sc, zp, got)
					if !assert.Equal(quietT{}, want, got) {
						require.Equal(t, want, got, "scale %g zp %d len %d", sc, zp, l)
					}
				}
			}
		}
	})
}

// ONNX Runtime's codes for DequantizeLinear -> Mul|Add -> QuantizeLinear, where
// combined scales (float32((a-za)(b-zb)) * float32(sa*sb/sy); float32(sa/sy)·(a-za) +
// float32(sb/sy)·(b-zb)) round the other way, and 64 other pairs per scale set
// (kernels/testdata/qbinary_ort_ties.json, scripts/make_qbinary_ties_testdata.py).
func TestQBinaryMatchesONNXRuntime(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "qbinary_ort_ties.json"))
	require.NoError(t, err)
	var sets []struct {
		Op              string   `json:"op"`
		AScale          float32  `json:"a_scale"`
		AZP             int32    `json:"a_zp"`
		BScale          float32  `json:"b_scale"`
		BZP             int32    `json:"b_zp"`
		YScale          float32  `json:"y_scale"`
		YZP             int32    `json:"y_zp"`
		CombinedDiffers int      `json:"combined_differs"`
		Pairs           [][3]int `json:"pairs"`
	}
	require.NoError(t, json.Unmarshal(raw, &sets))
	require.Len(t, sets, 8)
	forEachPath(t, func(t *testing.T) {
		for _, s := range sets {
			require.Greater(t, s.CombinedDiffers, 50, "the set exercises rounding boundaries")
			a, b := make([]int8, len(s.Pairs)), make([]int8, len(s.Pairs))
			want := make([]int8, len(s.Pairs))
			for i, p := range s.Pairs {
				a[i], b[i], want[i] = int8(p[0]), int8(p[1]), int8(p[2])
			}
			k := NewQMul(s.AScale, s.AZP, s.BScale, s.BZP, s.YScale, s.YZP, -128, 127)
			if s.Op == "Add" {
				k = NewQAdd(s.AScale, s.AZP, s.BScale, s.BZP, s.YScale, s.YZP, -128, 127)
			}
			got := make([]int8, len(a))
			k.Apply(a, b, got)
			if !assert.Equal(quietT{}, want, got) {
				require.Equal(t, want, got, "%s scales %v %v %v", s.Op, s.AScale, s.BScale, s.YScale)
			}
		}
	})
}
