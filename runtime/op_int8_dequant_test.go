package runtime

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestDequantizeVectorMatchesTable: the per-tensor int8 and uint8
// Dequantize on the vector kernels (kernels.DequantBytesF32) gives every code
// the bits of the kernel's 256-entry table (which the layout-changing path
// still uses), at 1 and 2 threads, on a tensor long enough to be split.
func TestDequantizeVectorMatchesTable(t *testing.T) {
	n := 256 * 130
	for _, u8 := range []bool{false, true} {
		for _, c := range []struct {
			scale float32
			zp    int32
		}{{0.0173, 0}, {3.1e-4, -77}, {0.5, 127}, {0.02, 200}, {1e-30, 255}, {7.7, -128}} {
			if !u8 && c.zp > 127 || u8 && c.zp < 0 {
				continue
			}
			k := &dequantizeKernel{node: &graph.Node{Name: "dq", OpType: "DequantizeLinear"}}
			var x, zp *graph.Tensor
			if u8 {
				d := make([]uint8, n)
				for i := range d {
					d[i] = uint8(i * 13)
				}
				x = graph.FromUint8([]int{2, n / 2}, d)
				zp = graph.FromUint8(nil, []uint8{uint8(c.zp)})
			} else {
				d := make([]int8, n)
				for i := range d {
					d[i] = int8(uint8(i * 13))
				}
				x = graph.FromInt8([]int{2, n / 2}, d)
				zp = graph.FromInt8(nil, []int8{int8(c.zp)})
			}
			tab := k.table(c.scale, c.zp, u8)
			bytes := make([]byte, n)
			for i := range bytes {
				bytes[i] = byte(i * 13)
			}
			for _, threads := range []int{1, 2} {
				res, err := k.Run(&ExecContext{Threads: threads}, []*graph.Tensor{x, graph.FromFloat32(nil, []float32{c.scale}), zp})
				require.NoError(t, err)
				got := res[0].F32()
				for i, b := range bytes {
					require.Equal(t, math.Float32bits(tab[b]), math.Float32bits(got[i]), "u8 %v %+v element %d", u8, c, i)
				}
			}
		}
	}
}
