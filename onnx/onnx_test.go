package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

func tinyModel(raw []byte, dims ...int64) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion: proto.Int64(7),
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Initializer: []*onnxpb.TensorProto{{
				Name: proto.String("w"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: dims, RawData: raw,
			}},
		},
	}
}

func TestExternalDataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	raw := make([]byte, 4*1024)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	path := filepath.Join(dir, "m.onnx")
	require.NoError(t, SaveFile(path, tinyModel(raw, 32, 32), 1024))
	st, err := os.Stat(path + ".data")
	require.NoError(t, err, "the large tensor goes to an external file")
	assert.GreaterOrEqual(t, st.Size(), int64(len(raw)))
	small, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, small.Size(), int64(len(raw)), "the model file does not hold the tensor")

	m, err := LoadFile(path)
	require.NoError(t, err)
	w := m.GetGraph().GetInitializer()[0]
	assert.Equal(t, raw, w.GetRawData())
	assert.Equal(t, onnxpb.TensorProto_DEFAULT, w.GetDataLocation())
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	good, err := Encode(tinyModel(make([]byte, 16), 2, 2))
	require.NoError(t, err)
	huge, err := Encode(tinyModel(nil, 1<<20, 1<<20))
	require.NoError(t, err)
	wrongSize, err := Encode(tinyModel(make([]byte, 15), 2, 2))
	require.NoError(t, err)
	escaping := tinyModel(nil, 2, 2)
	w := escaping.Graph.Initializer[0]
	w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("../../etc/passwd")}}
	esc, err := Encode(escaping)
	require.NoError(t, err)
	missing := tinyModel(nil, 2, 2)
	missing.Graph.Initializer[0].DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	missing.Graph.Initializer[0].ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("nope.bin")}}
	miss, err := Encode(missing)
	require.NoError(t, err)

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"truncated", good[:len(good)/2], "protobuf"},
		{"garbage", []byte("\xff\xff\xff\xff garbage"), "protobuf"},
		{"no graph", []byte{0x08, 0x07}, "no graph"},
		{"2^40 elements", huge, "elements"},
		{"raw_data size", wrongSize, "raw_data has 15 bytes"},
		{"escaping external path", esc, "escapes the model directory"},
		{"missing external file", miss, "nope.bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.onnx")
			require.NoError(t, os.WriteFile(p, c.data, 0o600))
			_, err := LoadFile(p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err = LoadFile(dir)
	assert.ErrorContains(t, err, "directory")
}

func TestNumElements(t *testing.T) {
	n, err := NumElements([]int64{2, 3, 4}, 100)
	require.NoError(t, err)
	assert.Equal(t, int64(24), n)
	_, err = NumElements([]int64{1 << 40}, 1<<31)
	assert.Error(t, err)
	_, err = NumElements([]int64{-1}, 10)
	assert.Error(t, err)
	n, err = NumElements(nil, 10)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}
