package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAddRowsI32 checks the row-constant add of the int8 MatMul's zero-point
// correction against a loop on every dispatch path: widths over and under
// the vector width, rows strided past the width (the untouched values
// stay), wrapping int32 addition.
func TestAddRowsI32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{1, 7, 8, 15, 16, 17, 40, 128, 197} {
			for _, rows := range []int{1, 3, 12} {
				ld := n + r.IntN(5)
				dst := make([]int32, rows*ld)
				for i := range dst {
					dst[i] = int32(r.Uint32())
				}
				c := make([]int32, rows)
				for i := range c {
					c[i] = int32(r.Uint32())
				}
				want := append([]int32(nil), dst...)
				for i := 0; i < rows; i++ {
					for j := 0; j < n; j++ {
						want[i*ld+j] += c[i]
					}
				}
				addRowsI32(dst, ld, n, c)
				require.Equal(t, want, dst, "n %d rows %d ld %d", n, rows, ld)
			}
		}
	})
}
