package kernels

import "testing"

// BenchmarkRunParallel is the round trip of handing an empty job to the pool
// and waiting for it.
func BenchmarkRunParallel(b *testing.B) {
	for b.Loop() {
		runParallel(2, func() {})
	}
}
