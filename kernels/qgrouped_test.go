package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQConvGroupedVsReference checks the grouped kernel (4, 8 and 16
// channels per group) against the direct reference on random shapes:
// strides, dilations, asymmetric padding, channel counts that are not a
// multiple of 16, batches, every int8 path and both requantization modes.
func TestQConvGroupedVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(41, 42))
		for i := 0; i < 40; i++ {
			cg := []int{4, 8, 16}[i%3]
			groups := 1 + r.IntN(9)
			k := []int{1, 3, 3, 5}[r.IntN(4)]
			s := ConvShape{N: 1 + r.IntN(2), H: 1 + r.IntN(11), W: 1 + r.IntN(13), C: cg * groups, OC: cg * groups,
				KH: k, KW: k, StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
				PadTop: r.IntN(k + 1), PadLeft: r.IntN(k + 1), PadBottom: r.IntN(k + 1), PadRight: r.IntN(k + 1), Groups: groups}
			if groups == 1 {
				s.Groups, s.C, s.OC = 2, 2*cg, 2*cg
			}
			if s.Validate() != nil {
				continue
			}
			if !assert.True(quietT{}, groupedFits(s.norm())) {
				require.True(t, groupedFits(s.norm()))
			}
			w := randI8(r, s.OC*cg*s.KH*s.KW, -127, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			zp := int32(r.IntN(256) - 128)
			pw, err := PackQConv(s, w, bias, zp)
			require.NoError(t, err)
			require.NotNil(t, pw.grp)
			acc := refConvAcc(s, in, w, bias, zp)
			scales := make([]float64, s.OC)
			for j := range scales {
				scales[j] = 1 / (40 * math.Sqrt(float64(cg*k*k))) * (0.5 + r.Float64())
			}
			for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
				rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -128, 127)
				want := refRequant(acc, s.OC, rq)
				for _, threads := range []int{1, 2, 3} {
					got := make([]int8, len(want))
					QConv(s, in, pw, got, rq, threads)
					if !assert.Equal(quietT{}, want, got) {
						require.Equal(t, want, got, "%+v zp=%d mode=%v threads=%d", s, zp, mode, threads)
					}
				}
			}
		}
	})
}

// TestGroupedBlockRowAsmMatchesGo runs the assembly row kernel and its Go
// form on the same packed weights and padded rows (all pixel counts 1-9, so
// both the 4-pixel and the 1-pixel kernels run).
func TestGroupedBlockRowAsmMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, cg := range []int{4, 8, 16} {
		s := ConvShape{N: 1, H: 3, W: 12, C: 3 * 16, OC: 3 * 16, KH: 3, KW: 3, Groups: 3 * 16 / cg}
		g := packGrouped(s.norm(), randI8(r, s.OC*cg*9, -127, 127), randI32(r, s.OC, 1<<10), int32(r.IntN(256)-128))
		wp := s.W
		off := make([]int64, 9)
		for t := range off {
			off[t] = int64(((t/3)*wp + t%3) * g.cp)
		}
		base := randI8(r, 3*wp*g.cp, -128, 127)
		for ow := 1; ow <= 9; ow++ {
			for b := 0; b < g.cp/16; b++ {
				want := make([]int32, ow*g.cp)
				got := make([]int32, ow*g.cp)
				groupedBlockRowGo(g, base, b, off, g.cp, ow, want)
				groupedBlockRow(g, base, b, off, g.cp, ow, got)
				if !assert.Equal(quietT{}, want, got) {
					require.Equal(t, want, got, "cg=%d ow=%d block %d", cg, ow, b)
				}
			}
		}
	}
}

// BenchmarkQConvGrouped compares the grouped kernels with the GEMM path they
// replace (one GEMM per group) on ResNeXt's and RegNet's grouped 3×3
// convolutions, on the detected int8 path and on AVX2 (AVX-512 disabled)
// where the CPU has AVX-512:
//
//	go test ./kernels -run '^$' -bench QConvGrouped
func BenchmarkQConvGrouped(b *testing.B) {
	paths := [][]cpuid.FeatureID{nil}
	if Int8Path() == PathAVX512VNNI {
		paths = append(paths, []cpuid.FeatureID{cpuid.AVX512VNNI, cpuid.AVX512F})
	}
	for _, disable := range paths {
		saved := cpuid.CPU
		cpuid.CPU.Disable(disable...)
		Detect()
		benchQConvGrouped(b)
		cpuid.CPU = saved
		Detect()
	}
}

func benchQConvGrouped(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		s    ConvShape
	}{
		{"resnext-56x56x128-g32", ConvShape{N: 1, H: 56, W: 56, C: 128, OC: 128, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 32}},
		{"regnety400-28x28x104-g13", ConvShape{N: 1, H: 28, W: 28, C: 104, OC: 104, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 13}},
		{"regnetx400-14x14x400-g25", ConvShape{N: 1, H: 14, W: 14, C: 400, OC: 400, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 25}},
	} {
		s := tc.s
		cg := s.C / s.Groups
		pw, err := PackQConv(s, randI8(r, s.OC*cg*9, -127, 127), randI32(r, s.OC, 1<<10), 3)
		require.NoError(b, err)
		in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
		out := make([]int8, s.N*s.OutH()*s.OutW()*s.OC)
		rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
		for _, kind := range []string{"grouped", "gemm"} {
			w := *pw
			if kind == "gemm" {
				w.grp = nil
			}
			b.Run(tc.name+"/"+Int8Path()+"/"+kind, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					QConv(s, in, &w, out, rq, 1)
				}
			})
		}
	}
}
