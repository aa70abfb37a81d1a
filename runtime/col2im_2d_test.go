package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestCol2Im2DMatchesGeneric checks the 2-D Col2Im loop against the generic
// one (col2ImND) bit for bit on random geometries: block shapes, strides,
// dilations and pads (larger than the block, too, leaving rows and columns
// out), one and several images, at 1 and 2 threads.
func TestCol2Im2DMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	tested := 0
	for it := 0; it < 60; it++ {
		image := []int64{int64(1 + r.Intn(12)), int64(1 + r.Intn(12))}
		block := []int64{int64(1 + r.Intn(4)), int64(1 + r.Intn(4))}
		dil := []int64{int64(1 + r.Intn(2)), int64(1 + r.Intn(2))}
		str := []int64{int64(1 + r.Intn(3)), int64(1 + r.Intn(3))}
		pads := []int64{int64(r.Intn(4)), int64(r.Intn(4)), int64(r.Intn(4)), int64(r.Intn(4))}
		blocks, err := graph.Col2ImGeometry(image, block, dil, pads, str)
		if err != nil {
			continue // the block does not fit the padded image
		}
		tested++
		batch, ch := 1+r.Intn(2), 1+r.Intn(5)
		kb, l := int(block[0]*block[1]), blocks[0]*blocks[1]
		src := make([]float32, batch*ch*kb*l)
		for i := range src {
			src[i] = r.Float32()*2 - 1
		}
		n := batch * ch * int(image[0]*image[1])
		want := make([]float32, n)
		col2ImND(want, src, batch, ch, kb, l, image, block, blocks, dil, pads, str)
		for _, th := range []int{1, 2} {
			got := make([]float32, n)
			col2Im2D(th, got, src, batch, ch, image, block, blocks, dil, pads, str)
			require.Equal(t, want, got, fmt.Sprintf("image %v block %v dil %v pads %v str %v, %d threads", image, block, dil, pads, str, th))
		}
	}
	require.Greater(t, tested, 30, "geometries that fit")
}
