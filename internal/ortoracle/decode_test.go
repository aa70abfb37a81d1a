package ortoracle

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// decode reads every dtype tools/ort/run.js writes, as the tensor the raw bytes
// hold (bool masks and float16/float64 models' outputs were refused before the
// sixteenth session), and refuses a wrong byte count.
func TestDecodeDTypes(t *testing.T) {
	for _, tc := range []struct {
		dtype string
		shape []int
		raw   []byte
		want  *graph.Tensor
	}{
		{"bool", []int{3}, []byte{1, 0, 1}, &graph.Tensor{DType: graph.Bool, Shape: []int{3}, Data: []bool{true, false, true}}},
		{"float16", []int{2}, []byte{0x00, 0x3c, 0x00, 0xc0}, &graph.Tensor{DType: graph.Float16, Shape: []int{2}, Data: []uint16{0x3c00, 0xc000}}},
		{"float64", []int{1}, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, &graph.Tensor{DType: graph.Float64, Shape: []int{1}, Data: []float64{1}}},
		{"int16", []int{1}, []byte{0xff, 0xff}, &graph.Tensor{DType: graph.Int16, Shape: []int{1}, Data: []int16{-1}}},
		{"int32", []int{1}, []byte{2, 0, 0, 0}, graph.FromInt32([]int{1}, []int32{2})},
	} {
		got, err := decode(tc.dtype, tc.shape, tc.raw)
		require.NoError(t, err, tc.dtype)
		assert.Equal(t, tc.want.DType, got.DType, tc.dtype)
		assert.Equal(t, tc.want.Data, got.Data, tc.dtype)
	}
	_, err := decode("float64", []int{2}, make([]byte, 8))
	assert.ErrorContains(t, err, "8 bytes for 2 float64")
	_, err = decode("string", []int{1}, nil)
	assert.ErrorContains(t, err, "unsupported output dtype string")
}
