package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestActivateRows: the activation of indexed C rows, one call per run of
// rows that follow each other, gives bit for bit the row-by-row calls on
// every path: rows all consecutive (a stem's output pixels), in runs, in
// any order, row widths that are and are not multiples of 16 (those stay
// row by row), NaN, ±Inf and -0 among the values.
func TestActivateRows(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 10))
		for _, act := range []Act{ActSiLU, ActSigmoid, ActHardSwish, ActGELU, LeakyReluAct(0.1)} {
			for _, n := range []int{8, 16, 24, 48, 64} {
				for _, order := range []string{"consecutive", "runs", "permuted"} {
					t.Run(fmt.Sprintf("%v/n=%d/%s", act, n, order), func(t *testing.T) {
						const m = 37
						coff := make([]int32, m)
						switch order {
						case "consecutive":
							for i := range coff {
								coff[i] = int32((i + 2) * n)
							}
						case "runs":
							for i := range coff {
								coff[i] = int32((i + i/5) * n) // a gap of one row after every five
							}
						case "permuted":
							for i, s := range r.Perm(m) {
								coff[i] = int32(s * n)
							}
						}
						c := randF32(r, (m+m/5+3)*n)
						for i, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)} {
							c[int(coff[3*i])+i] = float32(v)
						}
						want := append([]float32(nil), c...)
						for _, o := range coff {
							row := want[o : int(o)+n]
							ActF32(act, row, row)
						}
						activateRows(act, c, coff, n)
						require.Equal(t, f32Bits(want), f32Bits(c))
					})
				}
			}
		}
	})
}
