package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkQMaxPoolRows is ShuffleNet's 3×3 stride-2 max pool after the stem
// (112×112×24), the rows path of QMaxPool.
func BenchmarkQMaxPoolRows(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	s := PoolShape{N: 1, H: 112, W: 112, C: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	in := randI8(r, s.H*s.W*s.C, -128, 127)
	out := make([]int8, s.OutH()*s.OutW()*s.C)
	for _, th := range benchThreads() {
		b.Run(fmt.Sprintf("%s/threads=%d", Int8Path(), th), func(b *testing.B) {
			for b.Loop() {
				QMaxPool(s, in, out, th)
			}
		})
	}
}
