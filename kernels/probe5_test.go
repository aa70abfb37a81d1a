//go:build amd64 && !purego && !noasm

package kernels

import (
	"sync"
	"testing"
	"time"
)

func TestProbeParallelPeak(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	for i := 0; i < 3; i++ {
		one := bestGOPS(func() { peakVNNIZ(1 << 14) }, 1536*2*(1<<14), 200*time.Millisecond)
		two := bestGOPS(func() {
			var wg sync.WaitGroup
			wg.Add(2)
			for j := 0; j < 2; j++ {
				go func() { defer wg.Done(); peakVNNIZ(1 << 14) }()
			}
			wg.Wait()
		}, 2*1536*2*(1<<14), 200*time.Millisecond)
		t.Logf("peak 1 thread %.0f, 2 threads %.0f", one, two)
	}
}
