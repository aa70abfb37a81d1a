package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSpreadChannels checks the depthwise kernels' pixel layout against the
// definition: channel o of a padded pixel is input channel o/mult below oc,
// zero above.
func TestSpreadChannels(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct{ w, c, mult int }{
		{w: 7, c: 58, mult: 1}, {w: 3, c: 16, mult: 1}, {w: 5, c: 1, mult: 1},
		{w: 4, c: 3, mult: 2}, {w: 6, c: 10, mult: 3}, {w: 1, c: 8, mult: 2},
		{w: 5, c: 30, mult: 2}, {w: 3, c: 13, mult: 2}, {w: 2, c: 16, mult: 2},
	} {
		t.Run(fmt.Sprintf("w%d c%d mult%d", tc.w, tc.c, tc.mult), func(t *testing.T) {
			oc := tc.c * tc.mult
			cp := (oc + 15) &^ 15
			src := make([]int8, tc.w*tc.c)
			for i := range src {
				src[i] = int8(rng.Intn(255) - 127)
			}
			dst := make([]int8, tc.w*cp)
			for i := range dst {
				dst[i] = 99 // stale contents must be overwritten
			}
			spreadChannels(dst, src, tc.w, tc.c, cp, oc, tc.mult)
			for x := 0; x < tc.w; x++ {
				for o := 0; o < cp; o++ {
					want := int8(0)
					if o < oc {
						want = src[x*tc.c+o/tc.mult]
					}
					if !assert.Equal(quietT{}, want, dst[x*cp+o]) {
						require.Equal(t, want, dst[x*cp+o], "pixel %d channel %d", x, o)
					}
				}
			}
		})
	}
}
