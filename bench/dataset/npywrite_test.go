package dataset

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// WriteNPZ and WriteNPY round-trip through the .npy decoder for every dtype they write.
func TestWriteNPZRoundTrip(t *testing.T) {
	arrays := []NamedTensor{
		{"logits", graph.FromFloat32([]int{2, 3}, []float32{1, -2.5, 3, 0, 1e-7, -1e9})},
		{"/model/boxes:0", graph.FromInt8([]int{4}, []int8{-128, -1, 0, 127})},
		{"u8", graph.FromUint8([]int{1, 2, 2}, []uint8{0, 1, 254, 255})},
		{"ids", graph.FromInt64([]int{3}, []int64{-1, 1 << 40, 7})},
		{"count", graph.FromInt32([]int{}, []int32{42})},
		{"mask", &graph.Tensor{DType: graph.Bool, Shape: []int{2, 2}, Data: []bool{true, false, false, true}}},
		{"half", &graph.Tensor{DType: graph.Float16, Shape: []int{3}, Data: []uint16{0x3c00, 0xc000, 0x7bff}}},
		{"i16", &graph.Tensor{DType: graph.Int16, Shape: []int{2}, Data: []int16{-32768, 7}}},
		{"u16", &graph.Tensor{DType: graph.Uint16, Shape: []int{1}, Data: []uint16{65535}}},
		{"u32", &graph.Tensor{DType: graph.Uint32, Shape: []int{1}, Data: []uint32{1 << 31}}},
		{"u64", &graph.Tensor{DType: graph.Uint64, Shape: []int{1}, Data: []uint64{1 << 63}}},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteNPZ(&buf, arrays))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	require.Len(t, zr.File, len(arrays))
	for i, f := range zr.File {
		assert.Equal(t, arrays[i].Name+".npy", f.Name)
		assert.Equal(t, zip.Store, f.Method, "uncompressed, like numpy.savez")
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		got, err := DecodeNPY(b)
		require.NoError(t, err, f.Name)
		assert.Equal(t, arrays[i].Tensor.DType, got.DType, f.Name)
		assert.Equal(t, arrays[i].Tensor.Shape, got.Shape, f.Name)
		assert.Equal(t, arrays[i].Tensor.Data, got.Data, f.Name)
	}

	assert.ErrorContains(t, WriteNPZ(io.Discard, []NamedTensor{arrays[0], arrays[0]}), `array "logits" is given twice`)
	assert.ErrorContains(t, WriteNPZ(io.Discard, []NamedTensor{{"", arrays[0].Tensor}}), "has no name")
	assert.ErrorContains(t, WriteNPZ(io.Discard, []NamedTensor{{"s", graph.NewTensor(graph.String, []int{1})}}), "cannot write string")
}
