package dataset

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// fortranNPY encodes a little-endian float32 .npy in Fortran (column-major) order
// holding the row-major values c of shape.
func fortranNPY(shape []int, c []float32) []byte {
	dims := ""
	for _, d := range shape {
		dims += fmt.Sprintf("%d, ", d)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': True, 'shape': (%s), }", dims)
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	b = append(b, header...)
	// Column-major: the first index varies fastest.
	n := len(c)
	strides := make([]int, len(shape)) // row-major strides
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		off := 0
		for i := range idx {
			off += idx[i] * strides[i]
		}
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c[off]))
		for i := 0; i < len(idx); i++ {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return b
}

// NumPy writes a transposed or Fortran-ordered array with fortran_order True
// (np.save keeps the layout; the unseen12 set's edge_index, a concatenation of
// [2, E] blocks, was one): it is read into row-major order instead of refused
// ("Fortran-order .npy arrays are not supported" before).
func TestDecodeNPYFortranOrder(t *testing.T) {
	for _, shape := range [][]int{{5}, {2, 3}, {2, 3, 4}, {1, 4, 1, 3}, {3, 0}} {
		n := graph.NumElements(shape)
		c := make([]float32, n)
		for i := range c {
			c[i] = float32(i)
		}
		got, err := DecodeNPY(fortranNPY(shape, c))
		require.NoError(t, err, "%v", shape)
		assert.Equal(t, shape, got.Shape, "%v", shape)
		assert.Equal(t, c, got.F32(), "%v", shape)
	}
}

// The committed GCN inputs (scripts/make_unseen12_testdata.py) are Fortran-ordered
// .npz members: their values are the row-major ones the model expects (an edge
// list of undirected edges within the node count, graph ids in order).
func TestReadNPZFortranOrder(t *testing.T) {
	in, err := ReadNPZ(filepath.Join(exported, "npz_gcn", "s0.npz"))
	require.NoError(t, err)
	nodes := in["x"].Shape[0]
	ei := in["edge_index"]
	require.Equal(t, 2, ei.Shape[0])
	e := ei.Shape[1]
	for j, v := range ei.I64() {
		require.True(t, v >= 0 && v < int64(nodes), "edge_index[%d] = %d of %d nodes", j, v, nodes)
	}
	// The edges are undirected (each written both ways): a misread layout mixes
	// sources and targets of different edges and breaks the symmetry.
	pairs := map[[2]int64]int{}
	src, dst := ei.I64()[:e], ei.I64()[e:]
	for j := range src {
		pairs[[2]int64{src[j], dst[j]}]++
	}
	for p, k := range pairs {
		assert.Equal(t, k, pairs[[2]int64{p[1], p[0]}], "edge %v", p)
	}
	b := in["batch"].I64()
	for i := 1; i < len(b); i++ {
		assert.LessOrEqual(t, b[i-1], b[i], "graph ids in order")
	}
}
