package kernels

import (
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// refMatMulInt8 is the plain definition of MatMulInt8: Σ (a−aZP)(b−bZP) in
// wrapping int32.
func refMatMulInt8(m, n, k int, a []int8, aZP int32, b []int8, bZP int32) []int32 {
	out := make([]int32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc int32
			for p := 0; p < k; p++ {
				acc += (int32(a[i*k+p]) - aZP) * (int32(b[p*n+j]) - bZP)
			}
			out[i*n+j] = acc
		}
	}
	return out
}

// TestMatMulInt8With checks the small-product path against the reference on
// random shapes (odd k, n not a multiple of 16, fewer than four rows, up to
// the size bound and past it), values over the whole int8 range with runs
// of -128 and 127, and zero points up to ±255 (the pair kernel's bound) and
// past it (the packed path), one scratch reused across products of
// different sizes, on every dispatch path.
func TestMatMulInt8With(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		var buf MatMulScratch
		shapes := []struct{ m, n, k int }{{1, 1, 1}, {1, 16, 2}, {4, 16, 2}, {5, 17, 3}, {16, 16, 8}, {16, 8, 16}, {24, 24, 16},
			{10, 30, 8}, {3, 33, 7}, {32, 32, 32}, {7, 64, 1}, {64, 1, 64}, {40, 50, 16}, {33, 31, 31}}
		for trial := 0; trial < 60; trial++ {
			var m, n, k int
			if trial < len(shapes) {
				m, n, k = shapes[trial].m, shapes[trial].n, shapes[trial].k
			} else {
				m, n, k = 1+r.IntN(40), 1+r.IntN(50), 1+r.IntN(40)
			}
			a := randI8(r, m*k, -128, 127)
			b := randI8(r, k*n, -128, 127)
			switch trial % 4 {
			case 1: // a softmax's probabilities: mostly -128
				for j := range a {
					if r.IntN(4) != 0 {
						a[j] = -128
					}
				}
			case 2: // extremes everywhere
				for j := range b {
					b[j] = []int8{-128, 127}[r.IntN(2)]
				}
				for j := range a {
					a[j] = []int8{-128, 127}[r.IntN(2)]
				}
			}
			zps := []int32{0, -128, 127, 255, -255, 300, int32(r.IntN(511) - 255)}
			azp, bzp := zps[r.IntN(len(zps))], zps[r.IntN(len(zps))]
			if trial%4 == 2 {
				azp, bzp = 255, -255 // the largest products: 383·383 pairs
			}
			want := refMatMulInt8(m, n, k, a, azp, b, bzp)
			got := make([]int32, m*n)
			for i := range got {
				got[i] = 0x5a5a5a5a // every entry must be written
			}
			MatMulInt8With(&buf, m, n, k, a, azp, b, bzp, got)
			require.Equal(t, want, got, "%dx%dx%d zp %d %d", m, n, k, azp, bzp)
			if smallMatMulOK() && m*n*k <= smallMatMulMax && max(azp, -azp, bzp, -bzp) <= smallZPMax {
				clear(got)
				require.True(t, matMulSmall(&buf, m, n, k, a, azp, b, bzp, got))
				require.Equal(t, want, got, "pair kernel %dx%dx%d", m, n, k)
			}
		}
	})
}

// TestMatMulInt8WithLongK checks that sums past int32 wrap as the reference's
// (a k too large for the pair kernel's size bound runs the packed path; the
// kernel itself is checked at its largest products above).
func TestMatMulInt8WithLongK(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var buf MatMulScratch
	m, n, k := 2, 3, 5000
	a, b := randI8(r, m*k, 127, 127), randI8(r, k*n, -128, -128)
	got := make([]int32, m*n)
	MatMulInt8With(&buf, m, n, k, a, -128, b, 127, got)
	require.Equal(t, refMatMulInt8(m, n, k, a, -128, b, 127), got)
}

// BenchmarkMatMulInt8Small times the pair kernel (small=true) against the
// packed VNNI GEMM MatMulInt8Threads took before it (small=false), 1 thread, on
// attention heads' shapes, both zero points non-zero; cpu-µs is the thread's
// CPU time per product:
//
//	go test ./kernels -run '^$' -bench MatMulInt8Small -benchtime 20000x -count 3
func BenchmarkMatMulInt8Small(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{16, 16, 8}, {16, 8, 16}, {24, 24, 16}, {24, 16, 24}, {10, 30, 8}, {32, 32, 32}, {64, 64, 8}, {64, 8, 64}, {32, 32, 64}, {64, 64, 16}, {128, 128, 16}, {128, 128, 64}, {128, 16, 128}, {96, 96, 8}, {96, 8, 96}, {197, 197, 64}} {
		r := rand.New(rand.NewPCG(3, 4))
		a, w := randI8(r, s.m*s.k, -127, 127), randI8(r, s.k*s.n, -127, 127)
		out := make([]int32, s.m*s.n)
		var buf MatMulScratch
		for _, small := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d/small=%v", s.m, s.n, s.k, small), func(b *testing.B) {
				goruntime.LockOSThread()
				defer goruntime.UnlockOSThread()
				cpu0 := threadCPUNanos()
				for i := 0; i < b.N; i++ {
					if small {
						if !matMulPairs(&buf, s.m, s.n, s.k, a, 3, w, -5, out) {
							b.Skip("no pair kernel for this shape here")
						}
					} else {
						matMulPacked(s.m, s.n, s.k, a, 3, w, -5, out, 1)
					}
				}
				b.ReportMetric(float64(threadCPUNanos()-cpu0)/1e3/float64(b.N), "cpu-µs")
			})
		}
	}
}
