package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// The input Quantize with a channels-last perm (the fused one-pass path; 4-D and 5-D) gives the same
// bytes as the general path it replaces: per-tensor quantize into NCHW, then the byte
// transpose (with the uint8 xor), over random shapes, scales and zero points of both
// types, with ties, saturation and NaN, at 1 and 2 threads.
func TestQuantizeImageNHWCMatchesGeneralPath(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 80; trial++ {
		perm := []int{0, 2, 3, 1}
		shape := []int{1 + rng.Intn(2), 1 + rng.Intn(16), 1 + rng.Intn(40), 1 + rng.Intn(130)}
		if trial%2 == 0 {
			shape[1] = 3
		}
		if trial < 2 { // large enough to be split between threads
			shape = []int{2 - trial, 3, 200, 260 + trial}
		}
		if trial%4 == 3 { // a clip or volume, NCDHW to NDHWC (eighteenth session)
			shape = []int{shape[0], shape[1], 1 + rng.Intn(5), shape[2], shape[3]}
			perm = []int{0, 2, 3, 4, 1}
		}
		size := graph.NumElements(shape)
		scale := float32(math.Exp(rng.Float64()*6 - 5))
		xf := make([]float32, size)
		for i := range xf {
			switch rng.Intn(5) {
			case 0:
				xf[i] = (float32(rng.Intn(301)-150) + 0.5) * scale
			case 1:
				xf[i] = float32(rng.NormFloat64()) * scale * 1000
			case 2:
				if rng.Intn(10) == 0 {
					xf[i] = float32(math.NaN())
				} else {
					xf[i] = float32(rng.Intn(301)-150) * scale
				}
			default:
				xf[i] = float32(rng.NormFloat64()) * scale * 100
			}
		}
		var zpT *graph.Tensor
		zp := int32(rng.Intn(256) - 128)
		zpType := graph.Int8
		if trial%3 == 1 {
			zpType = graph.Uint8
			zp = int32(rng.Intn(256))
			zpT = &graph.Tensor{DType: graph.Uint8, Shape: []int{}, Data: []uint8{uint8(zp)}}
		} else {
			zpT = &graph.Tensor{DType: graph.Int8, Shape: []int{}, Data: []int8{int8(zp)}}
		}
		// the general path, written out: quantize in NCHW, then transpose the bytes
		kzp, xor := zp, byte(0)
		if zpType == graph.Uint8 {
			kzp, xor = zp-128, 0x80
		}
		q := make([]int8, size)
		kernels.QuantizeF32(xf, scale, kzp, q)
		want := make([]byte, size)
		qtensor.TransposeBytes(qtensor.I8AsBytes(q), shape, perm, want, xor, 1)

		node := &graph.Node{Name: "q", OpType: "Quantize", Attrs: map[string]*graph.Attr{"perm": graph.IntsAttr("perm", perm)}}
		k, err := buildQuantize(&BuildContext{Node: node})
		require.NoError(t, err)
		_, fast := quantizeImageNHWC(&ExecContext{Threads: 1}, graph.FromFloat32(shape, xf), perm, scale, zp, zpType)
		require.True(t, fast, "shape %v takes the one-pass path", shape)
		for _, threads := range []int{1, 2} {
			x := graph.FromFloat32(shape, xf)
			out, err := k.Run(&ExecContext{Threads: threads}, []*graph.Tensor{x, graph.FromFloat32([]int{}, []float32{scale}), zpT})
			require.NoError(t, err)
			require.Equal(t, zpType, out[0].DType)
			require.Equal(t, qtensor.PermuteShape(shape, perm), out[0].Shape)
			got, ok := qtensor.Int8Bytes(out[0])
			require.True(t, ok)
			require.Equal(t, want, got, "shape %v scale %g zp %d %s threads %d", shape, scale, zp, zpType, threads)
		}
	}
}
