package runtime

import "testing"

func BenchmarkFastQAdd(b *testing.B) {
	f := newFastQAdd(0.02, -3, 0.03, 10, 0.04, -128, -128, 127)
	n := 56 * 56 * 256
	x, y, o := make([]int8, n), make([]int8, n), make([]int8, n)
	for i := range x {
		x[i], y[i] = int8(i*7), int8(i*13)
	}
	b.SetBytes(int64(n))
	for i := 0; i < b.N; i++ {
		f.apply(x, y, o)
	}
}
