package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQConvWinVsReference checks the window kernel (few input channels per
// group, any output width up to 16) against the direct reference on random
// shapes: 1-24 input and 1-16 output channels per group, strides, dilations,
// asymmetric padding, batches, every int8 path (on AVX2 the shapes whose
// 8-lane windows do not fit take the GEMM path, which must agree as well),
// both requantization modes and 1-3 threads.
func TestQConvWinVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(81, 82))
		ran, wide := 0, 0
		for i := 0; ran < 60 && i < 2000; i++ {
			cg, ocg := 1+r.IntN(24), 1+r.IntN(16)
			groups := 2 + r.IntN(8)
			k := []int{1, 3, 3, 5}[r.IntN(4)]
			s := ConvShape{N: 1 + r.IntN(2), H: 1 + r.IntN(11), W: 1 + r.IntN(13), C: cg * groups, OC: ocg * groups,
				KH: k, KW: []int{k, 1, 3}[r.IntN(3)], StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), DilH: 1 + r.IntN(3), DilW: 1 + r.IntN(3),
				PadTop: r.IntN(k + 2), PadLeft: r.IntN(k + 2), PadBottom: r.IntN(k + 2), PadRight: r.IntN(k + 2), Groups: groups}
			if s.Validate() != nil || !winFits(s.norm()) {
				continue
			}
			ran++
			w := randI8(r, s.OC*cg*s.KH*s.KW, -127, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			zp := int32(r.IntN(256) - 128)
			pw, err := PackQConv(s, w, bias, zp)
			require.NoError(t, err)
			require.NotNil(t, pw.win)
			if pw.win.w16 != nil {
				wide++
			}
			acc := refConvAcc(s, in, w, bias, zp)
			scales := make([]float64, s.OC)
			for j := range scales {
				scales[j] = 1 / (40 * math.Sqrt(float64(cg*s.KH*s.KW))) * (0.5 + r.Float64())
			}
			for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
				rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -128, 127)
				want := refRequant(acc, s.OC, rq)
				for _, threads := range []int{1, 2, 3} {
					got := make([]int8, len(want))
					QConv(s, in, pw, got, rq, threads)
					if !assert.Equal(quietT{}, want, got) {
						require.Equal(t, want, got, "%+v zp=%d mode=%v threads=%d usable=%v", s, zp, mode, threads, pw.win.usable())
					}
				}
			}
		}
		require.Equal(t, 60, ran)
		require.Greater(t, wide, 10, "the AVX2 window form must run in some cases")
	})
}

// TestWinFits pins which shapes take the window kernel: grouped_dilated's
// layers (groups of 10→10, 6→9, 5→7, 21→3) do, on AVX2 those of at most 8
// input channels per group; the grouped kernel's shapes, depthwise,
// single-group, wide groups and more than 24 inputs per group do not.
func TestWinFits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		c, oc, grp int
		fits, wide bool
	}{
		{"g3 10→10", 30, 30, 3, true, false},
		{"g5 6→9", 30, 45, 5, true, true},
		{"g6 5→7", 30, 42, 6, true, true},
		{"3 inputs, 2 outputs", 24, 16, 8, true, true},
		{"16→16 (grouped kernel)", 64, 64, 4, false, false},
		{"8→8 (grouped kernel)", 64, 64, 8, false, false},
		{"8→12", 64, 96, 8, true, true},
		{"10→12", 30, 36, 3, true, false},
		{"21→3 (g7: blocks of two groups)", 147, 21, 7, true, false},
		{"25→4 (over six quads)", 50, 8, 2, false, false},
		{"depthwise ×2", 30, 60, 30, false, false},
		{"one group", 16, 16, 1, false, false},
		{"4→32 (wide outputs)", 16, 128, 4, false, false},
		{"17→4", 34, 8, 2, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ConvShape{N: 1, H: 8, W: 8, C: tc.c, OC: tc.oc, KH: 3, KW: 3, Groups: tc.grp}.norm()
			require.Equal(t, tc.fits, winFits(s))
			if tc.fits {
				cg := tc.c / tc.grp
				g := packWin(s, randI8(rand.New(rand.NewPCG(1, 1)), tc.oc*cg*9, -127, 127), nil, 3)
				assert.Equal(t, tc.wide, g.w16 != nil)
			}
		})
	}
}

// TestWinBlocks checks the block cut: every output channel in exactly one
// block, in order, at most lanes channels a block, and each block's groups'
// steps within the window of lanes dwords.
func TestWinBlocks(t *testing.T) {
	for ocg := 1; ocg <= 16; ocg++ {
		for steps := 1; steps <= 6; steps++ {
			for _, lanes := range []int{8, 16} {
				if steps > lanes {
					continue
				}
				oc := ocg * 7
				ob := winBlocks(oc, ocg, steps, lanes)
				require.Equal(t, 0, ob[0])
				for b, o0 := range ob {
					end := oc
					if b+1 < len(ob) {
						end = ob[b+1]
					}
					require.Greater(t, end, o0)
					require.LessOrEqual(t, end-o0, lanes)
					require.LessOrEqual(t, ((end-1)/ocg-o0/ocg+1)*steps, lanes, "ocg=%d steps=%d block %d", ocg, steps, b)
				}
			}
		}
	}
}

// TestWinBlockRowAsmMatchesGo runs the VNNI window kernels and their Go form
// on the same packed weights and laid-out rows (pixel counts 1-9: both the
// 4-pixel and the 1-pixel kernels), every quad count 1-6.
func TestWinBlockRowAsmMatchesGo(t *testing.T) {
	if Int8Path() != PathAVX512VNNI && Int8Path() != PathAMX {
		t.Skip("no AVX-512 VNNI")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ cg, ocg, groups int }{{3, 5, 6}, {6, 9, 5}, {10, 10, 3}, {13, 3, 4}, {2, 16, 3}, {18, 4, 3}, {21, 3, 7}} {
		s := ConvShape{N: 1, H: 3, W: 12, C: tc.cg * tc.groups, OC: tc.ocg * tc.groups, KH: 3, KW: 3, Groups: tc.groups}.norm()
		require.True(t, winFits(s), "%+v", tc)
		g := packWin(s, randI8(r, s.OC*tc.cg*9, -127, 127), randI32(r, s.OC, 1<<10), int32(r.IntN(256)-128))
		wp := s.W
		off := make([]int64, 9)
		for t := range off {
			off[t] = int64(((t/3)*wp + t%3) * g.lp)
		}
		base := randI8(r, 3*wp*g.lp+64, -128, 127)
		for ow := 1; ow <= 9; ow++ {
			for b := range g.win {
				want := make([]int32, ow*g.cp)
				got := make([]int32, ow*g.cp)
				winBlockRowGo(g, base, b, off, g.lp, ow, want)
				winBlockRow(g, base, b, off, g.lp, ow, got)
				if !assert.Equal(quietT{}, want, got) {
					require.Equal(t, want, got, "%+v ow=%d block %d", tc, ow, b)
				}
			}
		}
	}
}

// BenchmarkQConvWin compares the window kernel with the GEMM path it
// replaces on grouped_dilated's grouped layers (32x32 maps), on the detected
// int8 path and on AVX2 where the CPU has AVX-512:
//
//	go test ./kernels -run '^$' -bench QConvWin
func BenchmarkQConvWin(b *testing.B) {
	paths := [][]cpuid.FeatureID{nil}
	if Int8Path() == PathAVX512VNNI || Int8Path() == PathAMX {
		paths = append(paths, []cpuid.FeatureID{cpuid.AVX512VNNI, cpuid.AVX512F, cpuid.AMXINT8, cpuid.AMXTILE})
	}
	for _, disable := range paths {
		saved := cpuid.CPU
		cpuid.CPU.Disable(disable...)
		Detect()
		benchQConvWin(b)
		cpuid.CPU = saved
		Detect()
	}
}

func benchQConvWin(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		s    ConvShape
	}{
		{"g3-10to10-3x3", ConvShape{N: 1, H: 32, W: 32, C: 30, OC: 30, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 3}},
		{"g5-6to9-3x3-dil2", ConvShape{N: 1, H: 32, W: 32, C: 30, OC: 45, KH: 3, KW: 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilH: 2, DilW: 2, Groups: 5}},
		{"g6-5to7-5x5", ConvShape{N: 1, H: 32, W: 32, C: 30, OC: 42, KH: 5, KW: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, Groups: 6}},
		{"g7-21to3-1x1", ConvShape{N: 1, H: 32, W: 32, C: 147, OC: 21, KH: 1, KW: 1, Groups: 7}},
		{"g8-8to12-3x3-28x28", ConvShape{N: 1, H: 28, W: 28, C: 64, OC: 96, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 8}},
	} {
		s := tc.s
		cg := s.C / s.Groups
		pw, err := PackQConv(s, randI8(r, s.OC*cg*s.KH*s.KW, -127, 127), randI32(r, s.OC, 1<<10), 3)
		require.NoError(b, err)
		in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
		out := make([]int8, s.N*s.OutH()*s.OutW()*s.OC)
		rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
		for _, kind := range []string{"win", "gemm"} {
			w := *pw
			if kind == "gemm" {
				w.win = nil
			}
			b.Run(tc.name+"/"+Int8Path()+"/"+kind, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					QConv(s, in, &w, out, rq, 1)
				}
			})
		}
	}
}
