package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// TestInspectChecksRotaryCaches: `inspect` refuses a com.microsoft
// RotaryEmbedding whose cos/sin caches do not fit the head size, with the
// message `run` gives (one check, graph.RotaryFit); before, only `run` did.
func TestInspectChecksRotaryCaches(t *testing.T) {
	for _, tc := range []struct {
		name string
		cols int
		err  string
	}{
		{"caches fit", 4, ""},
		{"caches too narrow", 3, `RotaryEmbedding "rope": rotary dimension 8 does not fit head size 8 and caches of 3 columns`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &graph.Graph{Name: "g", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
			g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 2, 5, 8), HasShape: true}}
			g.Initializers["pos"] = graph.FromInt64([]int{1}, []int64{0})
			g.Initializers["cos"] = graph.FromFloat32([]int{16, tc.cols}, make([]float32, 16*tc.cols))
			g.Initializers["sin"] = graph.FromFloat32([]int{16, tc.cols}, make([]float32, 16*tc.cols))
			g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
			g.Nodes = []*graph.Node{{Name: "rope", OpType: "RotaryEmbedding", Domain: "com.microsoft",
				Inputs: []string{"x", "pos", "cos", "sin"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}}
			m := &graph.Model{Graph: g, IRVersion: 9, Opsets: map[string]int64{"": 17, "com.microsoft": 1}}
			b, err := m.Encode()
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "rope.onnx")
			require.NoError(t, os.WriteFile(path, b, 0o644))
			var npz bytes.Buffer
			require.NoError(t, dataset.WriteNPZ(&npz, []dataset.NamedTensor{{Name: "x", Tensor: graph.FromFloat32([]int{1, 2, 5, 8}, make([]float32, 80))}}))
			in := filepath.Join(t.TempDir(), "x.npz")
			require.NoError(t, os.WriteFile(in, npz.Bytes(), 0o644))
			for _, args := range [][]string{{"inspect", path}, {"run", path, "--input", in}} {
				cmd := args[0]
				code, _, errOut := runCLI(args...)
				if tc.err == "" {
					require.Equal(t, 0, code, "%s: %s", cmd, errOut)
					continue
				}
				require.NotEqual(t, 0, code, cmd)
				require.Contains(t, errOut, tc.err, cmd)
			}
		})
	}
}
