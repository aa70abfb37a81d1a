//go:build amd64 && !purego && !noasm

package kernels

import (
	"testing"
	"time"
)

func TestProbePeakXor(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	for i := 0; i < 3; i++ {
		a := cpuGOPS(func() { peakVNNIZ(1 << 12) }, 1536*2*(1<<12), 200*time.Millisecond)
		b := cpuGOPS(func() { peakVNNIZXor(1 << 12) }, 1536*2*(1<<12), 200*time.Millisecond)
		t.Logf("vnni %.0f  vnni+xor %.0f", a, b)
	}
}
