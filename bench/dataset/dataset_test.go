package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func idx(magic byte, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, magic})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestLoadBundled(t *testing.T) {
	ds, err := Load("../../testdata/fashion-mnist", "t10k")
	require.NoError(t, err)
	assert.Equal(t, 10000, ds.N)
	assert.Equal(t, []int{1, 28, 28}, []int{ds.C, ds.H, ds.W})
	require.Len(t, ds.Labels, 10000)
	assert.Equal(t, 9, ds.Labels[0], "the first test image is an ankle boot")
	b := ds.Batch(0, 2)
	assert.Equal(t, []int{2, 1, 28, 28}, b.Shape)
	for _, v := range b.F32() {
		require.True(t, v >= 0 && v <= 1)
	}
	tr, err := Load("../../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	assert.Equal(t, 2000, tr.N)
}

func TestIDXPlainAndGzip(t *testing.T) {
	dir := t.TempDir()
	px := []byte{0, 255, 128, 1, 2, 3, 4, 5}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x-images-idx3-ubyte"), idx(3, []uint32{2, 2, 2}, px), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x-labels-idx1-ubyte.gz"), gz(idx(1, []uint32{2}, []byte{7, 3})), 0o600))
	ds, err := Load(dir, "x")
	require.NoError(t, err)
	assert.Equal(t, 2, ds.N)
	assert.Equal(t, []int{7, 3}, ds.Labels)
	assert.Equal(t, px, ds.BatchUint8(0, 2).U8())
	i8 := InputBatch(&graph.Value{Name: "in", DType: graph.Int8}, ds, 1, 1)
	assert.Equal(t, []int8{-126, -125, -124, -123}, i8.I8())
	assert.Equal(t, 1, ds.Subset(1).N)
}

func TestIDXErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"bad magic", []byte{1, 2, 3, 4}, "not an IDX file"},
		{"float elements", []byte{0, 0, 0x0d, 3, 0, 0, 0, 1}, "element type"},
		{"truncated data", idx(3, []uint32{10, 28, 28}, make([]byte, 100)), "truncated"},
		{"huge declaration", idx(3, []uint32{1 << 30, 1 << 30, 28}, nil), "more than"},
		{"short header", []byte{0, 0}, "header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "y-images-idx3-ubyte")
			require.NoError(t, os.WriteFile(p, c.data, 0o600))
			_, err := Load(dir, "y")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := Load(t.TempDir(), "t10k")
	assert.ErrorContains(t, err, "no t10k-images")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "z-images-idx3-ubyte"), idx(3, []uint32{2, 1, 1}, []byte{1, 2}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "z-labels-idx1-ubyte"), idx(1, []uint32{3}, []byte{1, 2, 3}), 0o600))
	_, err = Load(dir, "z")
	assert.ErrorContains(t, err, "2 images but 3 labels")
}

func TestImageDir(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"a.png", "b.png"} {
		img := image.NewGray(image.Rect(0, 0, 3, 2))
		img.Set(1, 1, color.Gray{Y: uint8(100 + i)})
		var b bytes.Buffer
		require.NoError(t, png.Encode(&b, img))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("# file label\na.png 4\nb.png 2\n"), 0o600))
	ds, err := Load(dir, "t10k")
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1, 2, 3}, []int{ds.N, ds.C, ds.H, ds.W})
	assert.Equal(t, []int{4, 2}, ds.Labels)
	assert.Equal(t, uint8(101), ds.Pixels[6+4])

	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("../x.png 1\n"), 0o600))
	_, err = LoadImageDir(dir)
	assert.ErrorContains(t, err, "outside")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("a.png cat\n"), 0o600))
	_, err = LoadImageDir(dir)
	assert.ErrorContains(t, err, "class index")
}

func TestNPYRoundTrip(t *testing.T) {
	for _, tc := range []*graph.Tensor{
		graph.FromFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, -6}),
		graph.FromInt8([]int{4}, []int8{-128, 0, 1, 127}),
		graph.FromUint8([]int{1, 1, 2}, []uint8{0, 255}),
		graph.FromInt64([]int{2}, []int64{-1, 1 << 40}),
	} {
		var b bytes.Buffer
		require.NoError(t, WriteNPY(&b, tc))
		got, err := DecodeNPY(b.Bytes())
		require.NoError(t, err)
		assert.Equal(t, tc.DType, got.DType)
		assert.Equal(t, tc.Shape, got.Shape)
		assert.Equal(t, tc.Data, got.Data)
	}
	_, err := DecodeNPY([]byte("not npy at all"))
	assert.Error(t, err)
	_, err = DecodeNPY([]byte("\x93NUMPY\x01\x00\x40\x00{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }"))
	assert.Error(t, err)
}

func TestTop1(t *testing.T) {
	p, err := Top1(graph.FromFloat32([]int{2, 3}, []float32{0, 5, 5, 9, 1, 2}))
	require.NoError(t, err)
	assert.Equal(t, []int{1, 0}, p, "first maximum wins ties")
	assert.InDelta(t, 0.5, Accuracy(p, []int{1, 1}), 1e-12)
	_, err = Top1(graph.FromFloat32([]int{3}, []float32{1, 2, 3}))
	assert.Error(t, err)
}
