package kernels

import (
	"math/rand"
	"testing"
)

func BenchmarkTanhF32(b *testing.B) {
	src := make([]float32, 1<<16)
	rng := rand.New(rand.NewSource(1))
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for i := 0; i < b.N; i++ {
		TanhF32(dst, src)
	}
}
