package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// External data that is missing, out of bounds (an offset past the end, one whose sum
// with the length overflows int64), a directory, or present without data_location
// EXTERNAL: each refused with the tensor, the file and the sizes (twenty-third session;
// before, an offset near 2^63 overflowed the bounds check and failed in ReadAt with
// "invalid argument").
func TestExternalDataRejects(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 16), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	ext := func(loc bool, kv ...string) *onnxpb.ModelProto {
		m := tinyModel(nil, 2, 2)
		w := m.Graph.Initializer[0]
		if loc {
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}
		for i := 0; i < len(kv); i += 2 {
			w.ExternalData = append(w.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return m
	}
	cases := []struct {
		name string
		m    *onnxpb.ModelProto
		want string
	}{
		{"missing file", ext(true, "location", "nope.bin"), `initializer "w": external data: data file nope.bin (beside the model, in ` + dir + `) does not exist`},
		{"offset past the end", ext(true, "location", "w.bin", "offset", "4096"),
			`the tensor needs 16 bytes at offset 4096 of w.bin, which has 16 bytes (out of bounds`},
		{"offset + length overflows", ext(true, "location", "w.bin", "offset", "9223372036854775800"),
			`the tensor needs 16 bytes at offset 9223372036854775800 of w.bin, which has 16 bytes`},
		{"one byte short", ext(true, "location", "w.bin", "offset", "1"), `the tensor needs 16 bytes at offset 1 of w.bin`},
		{"negative offset", ext(true, "location", "w.bin", "offset", "-4"), `bad offset "-4"`},
		{"length of another shape", ext(true, "location", "w.bin", "length", "8"), `length 8, shape [2 2] needs 16 bytes`},
		{"a directory", ext(true, "location", "sub"), `location sub is a directory, not a data file`},
		{"no location", ext(true, "offset", "0"), `external data without location`},
		{"external_data without data_location", ext(false, "location", "w.bin"),
			`initializer "w": it has external_data entries but data_location DEFAULT, so no data`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Encode(c.m)
			require.NoError(t, err)
			p := filepath.Join(dir, "m.onnx")
			require.NoError(t, os.WriteFile(p, b, 0o600))
			_, err = LoadFile(p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, errors.Is(err, ErrMalformed), "%v", err)
		})
	}
	// In bounds: read.
	b, err := Encode(ext(true, "location", "w.bin", "offset", "0", "length", "16"))
	require.NoError(t, err)
	p := filepath.Join(dir, "ok.onnx")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	m, err := LoadFile(p)
	require.NoError(t, err)
	assert.Len(t, m.Graph.Initializer[0].RawData, 16)
}
