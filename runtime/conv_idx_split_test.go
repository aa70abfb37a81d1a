package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/kernels"
)

// TestIdxColumnChunks checks when the indexed path splits a convolution by
// weight panels (more output channels than output pixels, one block, two
// threads or more) and that the ranges cover every panel once.
func TestIdxColumnChunks(t *testing.T) {
	block := func(n int) []groupBlock {
		return []groupBlock{{o0: 16, pb: kernels.PackRowsB16(8, n, make([]float32, 8*n), n), bias: make([]float32, n)}}
	}
	rows := func(m ...int) []idxRows {
		var s []idxRows
		for _, v := range m {
			s = append(s, idxRows{aoff: make([]int32, v)})
		}
		return s
	}
	cases := []struct {
		name    string
		blocks  []groupBlock
		sets    []idxRows
		threads int
		want    int
	}{
		{"one thread", block(512), rows(49), 1, 1},
		{"7x7 map, 512 channels", block(512), rows(49), 2, 4},
		{"two row sets count together", block(64), rows(40, 40), 2, 1},
		{"64 channels, 60 pixels: 16-wide panels", block(64), rows(30, 30), 2, 4},
		{"more pixels than channels", block(128), rows(784), 2, 1},
		{"three panels", block(48), rows(20), 2, 3},
		{"one panel", block(16), rows(5), 2, 1},
		{"grouped: several blocks", append(block(64), block(64)...), rows(9), 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cols := idxColumnChunks(tc.blocks, tc.sets, tc.threads)
			require.Equal(t, tc.want, cols)
			blk := &tc.blocks[0]
			next := blk.o0
			for ci := 0; ci < cols; ci++ {
				pb, bias, o0 := idxColumns(blk, ci, cols)
				require.Equal(t, next, o0, "range %d starts where the last ended", ci)
				require.Len(t, bias, blk.pb.N()-(o0-blk.o0))
				next = o0 + pb.N()
			}
			require.Equal(t, blk.o0+blk.pb.N(), next, "the ranges cover every column")
		})
	}
}
