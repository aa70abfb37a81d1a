package dataset

import (
	"bytes"
	"encoding/binary"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A raw --shape whose element count overflows int is refused (before: 2^62 x 4 wrapped
// to 0 elements and matched an empty file).
func TestDecodeRawShapeOverflow(t *testing.T) {
	_, err := DecodeRaw(nil, graph.Float32, []int{1 << 62, 4})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has more than 2147483648 elements")
	_, err = DecodeRaw(make([]byte, 8), graph.Float32, []int{-1, -2})
	require.Error(t, err)
	x, err := DecodeRaw(make([]byte, 8), graph.Float32, []int{2, 1})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1}, x.Shape)
}

// An IDX header declaring 4 GiB over a file of a few bytes is a truncation error, read
// without allocating what the header declares.
func TestDecodeIDXTruncatedHugeHeader(t *testing.T) {
	b := []byte{0, 0, 8, 2}
	b = binary.BigEndian.AppendUint32(b, 1<<16)
	b = binary.BigEndian.AppendUint32(b, 1<<16)
	b = append(b, 1, 2, 3)
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	_, _, err := DecodeIDX(bytes.NewReader(b), "x-images-idx3-ubyte")
	goruntime.ReadMemStats(&after)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x-images-idx3-ubyte: IDX data truncated: the header declares [65536 65536] (4294967296 bytes), the file holds 3")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
	dims, px, err := DecodeIDX(bytes.NewReader(append([]byte{0, 0, 8, 1, 0, 0, 0, 2}, 7, 9)), "ok")
	require.NoError(t, err)
	assert.Equal(t, []int{2}, dims)
	assert.Equal(t, []uint8{7, 9}, px)
}
