package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/runtime"
)

// checkAgainstORT runs model on npz_IN/s{0,1}.npz and compares the named outputs
// with ONNX Runtime's (npz_IN_ort/): integers exactly, floats within tol of the
// largest magnitude.
func checkAgainstORT(t *testing.T, model, data string, feeds func(map[string]*graph.Tensor) map[string]*graph.Tensor, outs []string, tol float64, threads ...int) {
	t.Helper()
	m, err := graph.Load(filepath.Join(exportedDir, model))
	require.NoError(t, err)
	if len(threads) == 0 {
		threads = []int{1}
	}
	for _, th := range threads {
		sess, err := runtime.NewSession(m, runtime.WithThreads(th))
		require.NoError(t, err)
		for i := 0; i < 2; i++ {
			in, err := dataset.ReadNPZ(filepath.Join(exportedDir, data, fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, data+"_ort", fmt.Sprintf("s%d.npz", i)))
			require.NoError(t, err)
			if feeds != nil {
				in = feeds(in)
			}
			got, err := sess.RunTensors(in)
			require.NoError(t, err)
			for _, name := range outs {
				require.Contains(t, got, name)
				require.Equal(t, graph.FormatDims(ort[name].Shape), graph.FormatDims(got[name].Shape), "%s sample %d", name, i) // a scalar: [] or nil
				require.Equal(t, ort[name].DType, got[name].DType, "%s sample %d", name, i)
				if ort[name].DType == graph.Int64 {
					assert.Equal(t, ort[name].I64(), got[name].I64(), "%s sample %d", name, i)
					continue
				}
				assert.Less(t, maxErrOfMax(ort[name].F32(), got[name].F32()), tol, "%s sample %d threads %d", name, i, th)
			}
		}
	}
}

// ONNX local functions as torch.onnx.export(export_modules_as_functions=...)
// writes them, nested (a block function calling a conv-BN-act and an SE
// function), and a function with an attribute read by ref_attr_name, set by two
// calls and left to the default by a third (scripts/make_unseen10_testdata.py;
// modfunc_op15 of --unseen10). Before, every command refused the model:
// `ConvBNAct "/stem/act/ConvBNAct": unsupported operator ConvBNAct (domain ...)`.
func TestLocalFunctionsAsORT(t *testing.T) {
	checkAgainstORT(t, "functions_op15.onnx", "npz_functions", func(in map[string]*graph.Tensor) map[string]*graph.Tensor {
		return map[string]*graph.Tensor{"x": in["x"]}
	}, []string{"feat"}, 1e-5, 1, 2)
	checkAgainstORT(t, "functions_attr.onnx", "npz_functions", func(in map[string]*graph.Tensor) map[string]*graph.Tensor {
		return map[string]*graph.Tensor{"x": in["xa"]}
	}, []string{"y2", "y3"}, 1e-6)
}

// MaxPool's Indices feeding MaxUnpool (with an output_shape from Shape, and the
// default size), MaxRoiPool, Det and Unique (sorted int64 keys and unsorted
// floats, all four outputs) as ONNX Runtime computes them
// (scripts/make_unseen10_testdata.py; paddle_unpool_op11, fastrcnn_roipool_op11,
// det_metric_op11 and voxel_unique_op16 of --unseen10, which each refused the
// operator before: `Det "/Det": unsupported operator Det (domain ai.onnx)`).
func TestPoolIndexOpsAsORT(t *testing.T) {
	checkAgainstORT(t, "pool_index_ops_op11.onnx", "npz_poolidx", nil,
		[]string{"idx", "unpooled_shape", "unpooled", "roipooled", "det", "ukeys", "ufirst", "uinv", "ucount",
			"uvals", "vfirst", "vinv", "vcount"}, 1e-6)
}

// torch.jit.script loops over torch.split chunks (12 channels in chunks of 4)
// and over unbind (SplitToSequence without split, keepdims=0), appended
// to lists and concatenated or stacked (scripts/make_unseen10_testdata.py;
// seq_split_op13 of --unseen10). Before, loading refused the sequence the loop
// reads: `graph input: value "15" is a sequence of tensor(float32)`.
func TestSplitSequenceLoopsAsORT(t *testing.T) {
	checkAgainstORT(t, "seq_split_op13.onnx", "npz_seqsplit", nil, []string{"cat", "stacked"}, 1e-6, 1, 2)
}

// The same model through quantize: the loops' scan outputs (added by the rewrite
// without a declared type) are written with the type inference found. Before,
// they were written as element type 0 and ONNX Runtime refused the int8 file
// ("Invalid tensor data type 0").
func TestSplitSequenceLoopsQuantize(t *testing.T) {
	model := filepath.Join(exportedDir, "seq_split_op13.onnx")
	q := filepath.Join(t.TempDir(), "seq.int8.onnx")
	code, _, errOut := runCLI("quantize", model, "--calib-data", filepath.Join(exportedDir, "npz_seqsplit"), "--batch", "1", "-o", q)
	require.Equal(t, 0, code, errOut)
	mp, err := onnx.LoadFile(q)
	require.NoError(t, err)
	loops := 0
	for _, n := range mp.GetGraph().GetNode() {
		for _, a := range n.GetAttribute() {
			if a.GetG() == nil {
				continue
			}
			loops++
			for _, o := range a.GetG().GetOutput() {
				assert.NotZero(t, o.GetType().GetTensorType().GetElemType(), "loop body output %q of %s", o.GetName(), n.GetName())
			}
		}
	}
	require.Equal(t, 2, loops)
	code, out, errOut := runCLI("compare", model, q, "--data", filepath.Join(exportedDir, "npz_seqsplit"), "--batch", "1", "--json")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "sqnr_db")
}
