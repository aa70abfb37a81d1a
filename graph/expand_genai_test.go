package graph

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// packBits writes fields of BITS bits, lowest first, bit by bit (an independent
// spelling of the packing NBitsWeight reads).
func packBits(q []int, bits int) []uint8 {
	out := make([]uint8, (len(q)*bits+7)/8)
	for i, v := range q {
		for bit := 0; bit < bits; bit++ {
			if v>>bit&1 == 1 {
				pos := i*bits + bit
				out[pos/8] |= 1 << (pos % 8)
			}
		}
	}
	return out
}

// TestNBitsWeight checks the dequantized MatMulNBits weight against
// (q - zero point) · scale computed from the unpacked values, for 2, 4 and 8
// bits, with and without zero points, K a multiple of the block and not.
func TestNBitsWeight(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, tc := range []struct {
		name           string
		k, n, bits, bs int
		zp             bool
	}{
		{"4 bits zero points", 64, 3, 4, 32, true},
		{"4 bits default zero point", 64, 5, 4, 16, false},
		{"8 bits padded last block", 40, 4, 8, 32, true},
		{"2 bits odd blocks", 48, 2, 2, 16, true},
		{"2 bits padded", 20, 3, 2, 16, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks := (tc.k + tc.bs - 1) / tc.bs
			q := make([]int, tc.n*blocks*tc.bs)
			for i := range q {
				q[i] = rng.Intn(1 << tc.bits)
			}
			sc := make([]float32, tc.n*blocks)
			for i := range sc {
				sc[i] = rng.Float32()*0.1 + 0.01
			}
			zrow := (blocks*tc.bits + 7) / 8 * 8 / tc.bits
			z := make([]int, tc.n*zrow)
			for i := range z {
				z[i] = rng.Intn(1 << tc.bits)
			}
			var zp []uint8
			if tc.zp {
				zp = packBits(z, tc.bits)
			}
			w, err := NBitsWeight(tc.k, tc.n, tc.bits, tc.bs, packBits(q, tc.bits), sc, zp)
			require.NoError(t, err)
			for col := 0; col < tc.n; col++ {
				for row := 0; row < tc.k; row++ {
					blk := row / tc.bs
					zz := 1 << (tc.bits - 1)
					if tc.zp {
						zz = z[col*zrow+blk]
					}
					want := float32(q[(col*blocks+blk)*tc.bs+row%tc.bs]-zz) * sc[col*blocks+blk]
					require.Equal(t, want, w[row*tc.n+col], "row %d column %d", row, col)
				}
			}
		})
	}
	_, err := NBitsWeight(32, 2, 3, 32, make([]uint8, 24), make([]float32, 2), nil)
	assert.ErrorContains(t, err, "bits 3")
	_, err = NBitsWeight(32, 2, 4, 32, make([]uint8, 31), make([]float32, 2), nil)
	assert.ErrorContains(t, err, "B has 31 bytes")
	_, err = NBitsWeight(32, 2, 4, 32, make([]uint8, 32), make([]float32, 3), nil)
	assert.ErrorContains(t, err, "scales has 3 values")
	_, err = NBitsWeight(32, 2, 4, 32, make([]uint8, 32), make([]float32, 2), make([]uint8, 3))
	assert.ErrorContains(t, err, "zero_points has 3 bytes")
	_, err = NBitsWeight(32, 2, 4, 24, make([]uint8, 32), make([]float32, 2), nil)
	assert.ErrorContains(t, err, "block_size 24")
}

// The genai expansions refuse what they do not express, naming the node, when
// the model is read.
func TestExpandGenAIRefusals(t *testing.T) {
	ms := "com.microsoft"
	nb := func(attrs map[string]*Attr, ins ...string) *Node {
		return &Node{Name: "mnb", OpType: "MatMulNBits", Domain: ms, Inputs: ins, Outputs: []string{"y"}, Attrs: attrs}
	}
	kn := map[string]*Attr{"K": IntAttr("K", 4), "N": IntAttr("N", 1), "block_size": IntAttr("block_size", 16)}
	for _, tc := range []struct {
		name  string
		node  *Node
		opset int64
		want  string
	}{
		{"rms inv_std_var", &Node{Name: "rms", OpType: "SimplifiedLayerNormalization", Inputs: []string{"x", "w"},
			Outputs: []string{"y", "inv"}, Attrs: map[string]*Attr{}}, 17, `SimplifiedLayerNormalization "rms": unsupported: the inv_std_var output`},
		{"rms axis out of range", &Node{Name: "rms", OpType: "SimplifiedLayerNormalization", Inputs: []string{"x", "w"},
			Outputs: []string{"y"}, Attrs: map[string]*Attr{"axis": IntAttr("axis", 3)}}, 17, "axis 3 is out of range"},
		{"skip rms mean output", &Node{Name: "srms", OpType: "SkipSimplifiedLayerNormalization", Domain: ms, Inputs: []string{"x", "x", "w"},
			Outputs: []string{"y", "mean"}, Attrs: map[string]*Attr{}}, 17, `"srms": unsupported: the mean and inv_std_var outputs`},
		{"nbits runtime weight", nb(kn, "x", "x", "w"), 17, `MatMulNBits "mnb": unsupported: B and scales computed at run time`},
		{"nbits g_idx", nb(kn, "x", "w", "w", "", "lens"), 17, "g_idx"},
		{"nbits K", nb(map[string]*Attr{}, "x", "w", "w"), 17, "K 0 and N 0"},
	} {
		_, err := Decode(oneNodeModel(t, tc.node, tc.opset))
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}
