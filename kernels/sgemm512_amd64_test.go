//go:build amd64 && !purego && !noasm

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemm512TileMatchesAVX2Bits checks the AVX-512 6x32 in-place-B
// micro-kernel against two calls of the AVX2 6x16 one bit for bit: the same
// running FMA sum per element in the same order, so the paths must agree exactly
// (tails of the unrolled loop, accumulate, clamp, random overlapping offsets as
// convolution taps). The AVX2 kernel itself is checked against a float64
// reference by TestSgemmShiftedVsReference.
func TestSgemm512TileMatchesAVX2Bits(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ) {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(512, 16))
	inf := float32(math.Inf(1))
	for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 13, 64, 255} {
		for variant := 0; variant < 4; variant++ {
			accum, clamp := variant&1 != 0, variant&2 != 0
			t.Run(fmt.Sprintf("k%d/accum=%v/clamp=%v", kc, accum, clamp), func(t *testing.T) {
				lo, hi := -inf, inf
				if clamp {
					lo, hi = -0.5, 0.7
				}
				const ldc = 37
				a := randF32(r, kc*sgMR)
				c0 := randF32(r, sgMR*ldc+2*sgNR)
				x := randF32(r, 3*kc+2*sgNR+40)
				off := make([]int32, kc)
				for p := range off {
					off[p] = int32(r.IntN(3*kc + 40))
				}
				want := append([]float32(nil), c0...)
				sgemmAVX2_6x16ind(kc, &a[0], &x[0], &off[0], &want[0], ldc, b2i(accum), nil, lo, hi)
				sgemmAVX2_6x16ind(kc, &a[0], &x[sgNR], &off[0], &want[sgNR], ldc, b2i(accum), nil, lo, hi)
				got := append([]float32(nil), c0...)
				sgemmAVX512_6x32ind(kc, &a[0], &x[0], &off[0], &got[0], ldc, b2i(accum), nil, lo, hi)
				require.Equal(t, bitsOf(want), bitsOf(got))
			})
		}
	}
}

// TestSgemm512RowsTileMatchesFullTile checks the partial-row forms of the
// two-panel in-place kernel (sgemmTileInd2Rows, 1-5 rows: the last row tile of
// 16, 32 or 64 channels) bit for bit against the rows the 6-row kernel writes,
// and that they leave the rows past theirs untouched.
func TestSgemm512RowsTileMatchesFullTile(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ) {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(512, 6))
	for rows := 1; rows <= 6; rows++ {
		for _, kc := range []int{1, 3, 4, 9, 144, 255} {
			for variant := 0; variant < 4; variant++ {
				accum, clamp := variant&1 != 0, variant&2 != 0
				t.Run(fmt.Sprintf("rows%d/k%d/accum=%v/clamp=%v", rows, kc, accum, clamp), func(t *testing.T) {
					lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
					if clamp {
						lo, hi = -0.5, 0.7
					}
					const ldc = 41
					a := randF32(r, kc*sgMR)
					c0 := randF32(r, sgMR*ldc+2*sgNR)
					x := randF32(r, 3*kc+2*sgNR+40)
					off := make([]int32, kc)
					for p := range off {
						off[p] = int32(r.IntN(3*kc + 40))
					}
					want := append([]float32(nil), c0...)
					sgemmAVX512_6x32ind(kc, &a[0], &x[0], &off[0], &want[0], ldc, b2i(accum), nil, lo, hi)
					got := append([]float32(nil), c0...)
					require.True(t, sgemmTileInd2Rows(rows, kc, a, x, off, got, ldc, accum, lo, hi))
					require.Equal(t, bitsOf(want[:rows*ldc]), bitsOf(got[:rows*ldc]))
					require.Equal(t, bitsOf(c0[rows*ldc:]), bitsOf(got[rows*ldc:]))
				})
			}
		}
	}
}

// TestSgemmTilePartMatchesAVX2Tile checks the partial-row packed tiles
// (sgemmTilePart, 1-5 rows of a 6x16 tile on zmm) bit for bit against the rows
// the AVX2 6x16 kernel writes, with and without accumulation, and that rows past
// theirs stay untouched.
func TestSgemmTilePartMatchesAVX2Tile(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ) {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(16, 6))
	for rows := 1; rows < sgMR; rows++ {
		for _, kc := range []int{1, 3, 4, 9, 72, 384} {
			for _, accum := range []bool{false, true} {
				const ldc = 29
				a, b := randF32(r, kc*sgMR), randF32(r, kc*sgNR)
				c0 := randF32(r, sgMR*ldc+sgNR)
				want := append([]float32(nil), c0...)
				sgemmAVX2_6x16(kc, &a[0], &b[0], &want[0], ldc, b2i(accum))
				got := append([]float32(nil), c0...)
				if !assert.True(quietT{}, sgemmTilePart(rows, kc, a, b, got, ldc, accum)) {
					require.True(t, sgemmTilePart(rows, kc, a, b, got, ldc, accum))
				}
				if !assert.Equal(quietT{}, bitsOf(want[:rows*ldc]), bitsOf(got[:rows*ldc])) {
					require.Equal(t, bitsOf(want[:rows*ldc]), bitsOf(got[:rows*ldc]), "rows %d k %d accum %v", rows, kc, accum)
				}
				if !assert.Equal(quietT{}, bitsOf(c0[rows*ldc:]), bitsOf(got[rows*ldc:])) {
					require.Equal(t, bitsOf(c0[rows*ldc:]), bitsOf(got[rows*ldc:]), "rows %d k %d accum %v", rows, kc, accum)
				}
			}
		}
	}
	require.False(t, sgemmTilePart(sgMR, 1, make([]float32, sgMR), make([]float32, sgNR), make([]float32, sgMR*sgNR), sgNR, false))
}

// TestSgemmTile2PanelsMatchesAVX2Tiles checks the two-panel packed AVX-512 tile
// (rows 1-6, the panels bs floats apart) bit for bit against the AVX2 6x16 tile
// run on each panel, with and without accumulation; C's rows past the tile's and
// the columns past the two panels stay untouched.
func TestSgemmTile2PanelsMatchesAVX2Tiles(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ) {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(32, 7))
	for rows := 1; rows <= sgMR; rows++ {
		for _, kc := range []int{1, 3, 4, 9, 72, 384} {
			for _, accum := range []bool{false, true} {
				const ldc = 45
				bs := kc*sgNR + 5*(kc%2)
				a, b := randF32(r, kc*sgMR), randF32(r, bs+kc*sgNR)
				b[0], a[1] = float32(math.NaN()), float32(math.Inf(1))
				c0 := randF32(r, sgMR*ldc+2*sgNR)
				want := append([]float32(nil), c0...)
				sgemmAVX2_6x16(kc, &a[0], &b[0], &want[0], ldc, b2i(accum))
				sgemmAVX2_6x16(kc, &a[0], &b[bs], &want[sgNR], ldc, b2i(accum))
				got := append([]float32(nil), c0...)
				if !assert.True(quietT{}, sgemmTile2Panels(rows, kc, a, b, bs, got, ldc, accum)) {
					require.True(t, sgemmTile2Panels(rows, kc, a, b, bs, got, ldc, accum))
				}
				if !assert.Equal(quietT{}, bitsOf(want[:rows*ldc]), bitsOf(got[:rows*ldc])) {
					require.Equal(t, bitsOf(want[:rows*ldc]), bitsOf(got[:rows*ldc]), "rows %d k %d accum %v", rows, kc, accum)
				}
				if !assert.Equal(quietT{}, bitsOf(c0[rows*ldc:]), bitsOf(got[rows*ldc:])) {
					require.Equal(t, bitsOf(c0[rows*ldc:]), bitsOf(got[rows*ldc:]), "rows %d k %d accum %v", rows, kc, accum)
				}
				for i := 0; i < rows; i++ {
					if !assert.Equal(quietT{}, bitsOf(c0[i*ldc+2*sgNR:i*ldc+ldc]), bitsOf(got[i*ldc+2*sgNR:i*ldc+ldc])) {
						require.Equal(t, bitsOf(c0[i*ldc+2*sgNR:i*ldc+ldc]), bitsOf(got[i*ldc+2*sgNR:i*ldc+ldc]), "columns past the panels")
					}
				}
			}
		}
	}
}

func bitsOf(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, f := range v {
		out[i] = math.Float32bits(f)
	}
	return out
}

// BenchmarkSgemm512 times the in-place-B GEMM on a convolution's
// shapes (3x3 taps over a 30-wide padded 28x28 map, 32 channels in and out; a
// 1x1 layer 64→64) with the AVX2 and the AVX-512 micro-kernels, one thread.
func BenchmarkSgemm512(b *testing.B) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ) {
		b.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []struct{ m, k, n int }{{32, 288, 30 * 28}, {64, 64, 784}, {16, 144, 30 * 28}} {
		aRaw := randF32(r, sh.m*sh.k)
		pa := PackSgemmA(false, sh.m, sh.k, aRaw, sh.k, nil)
		x := randF32(r, 3*32+sh.n+64+sh.k*32)
		off := make([]int32, sh.k)
		for p := range off {
			off[p] = int32((p%9)/3*30 + p%3 + p/9*32)
		}
		store := func(cb []float32, ldc, r0, r1, j0, nc int) {}
		for _, wide := range []bool{false, true} {
			name := fmt.Sprintf("%dx%dx%d/avx512=%v", sh.m, sh.k, sh.n, wide)
			b.Run("shifted/"+name, func(b *testing.B) {
				saved := f32Tile512
				f32Tile512 = wide
				defer func() { f32Tile512 = saved }()
				for i := 0; i < b.N; i++ {
					SgemmShifted(pa, x, off, sh.n, false, 0, 0, 1, store)
				}
			})
		}
	}
}
