package quantizer

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

// The models we write are standard ONNX: ONNX Runtime loads them and its top-1
// predictions agree with ours on at least 99.9% of 1,000 test images.
func TestInteropONNXRuntime(t *testing.T) {
	if err := ortoracle.Available(); err != nil {
		t.Skipf("ONNX Runtime oracle not installed (`make ort` installs it): %v", err)
	}
	_, test := fmnist(t)
	const n = 1000
	type variant struct {
		name  string
		model string
		make  func(t *testing.T, m *graph.Model) *graph.Model
		short bool
	}
	static := func(format Format) func(t *testing.T, m *graph.Model) *graph.Model {
		return func(t *testing.T, m *graph.Model) *graph.Model {
			r, err := calibrate(t, m, PercentileAsym, 500).ComputeRanges()
			require.NoError(t, err)
			q, err := Quantize(m, r, QuantOptions{Format: format})
			require.NoError(t, err)
			return q
		}
	}
	variants := []variant{
		{"cnn qdq", "fmnist_cnn", static(FormatQDQ), true},
		{"mlp qdq", "fmnist_mlp", static(FormatQDQ), true},
		{"resnet qdq", "fmnist_resnet", static(FormatQDQ), false},
		{"cnn qoperator", "fmnist_cnn", static(FormatQOperator), false},
		{"resnet qoperator", "fmnist_resnet", static(FormatQOperator), false},
		{"mlp dynamic", "fmnist_mlp", func(t *testing.T, m *graph.Model) *graph.Model {
			q, err := QuantizeDynamic(m, DynamicOptions{})
			require.NoError(t, err)
			return q
		}, true},
		{"lstm dynamic", "fmnist_lstm", func(t *testing.T, m *graph.Model) *graph.Model {
			q, err := QuantizeDynamic(m, DynamicOptions{})
			require.NoError(t, err)
			return q
		}, true},
		{"resnet qdq, stem in float32", "fmnist_resnet", func(t *testing.T, m *graph.Model) *graph.Model {
			r, err := calibrate(t, m, PercentileAsym, 500).ComputeRanges()
			require.NoError(t, err)
			// The stem's float output feeds a Conv and a residual Add: both take float.
			q, err := Quantize(m, r, QuantOptions{Exclude: []string{"/stem_conv/Conv", "/stem_relu/Relu"}})
			require.NoError(t, err)
			return q
		}, false},
		{"cnn uint8 input", "fmnist_cnn", func(t *testing.T, m *graph.Model) *graph.Model {
			q := static(FormatQDQ)(t, m)
			require.NoError(t, ConvertInputType(q, "input", graph.Uint8, &PixelParams))
			return q
		}, false},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			if testing.Short() && !v.short {
				t.Skip("short mode")
			}
			q := v.make(t, loadBundled(t, v.model))
			path := filepath.Join(t.TempDir(), "q.onnx")
			require.NoError(t, q.Save(path))
			back, err := graph.Load(path)
			require.NoError(t, err)
			sess, err := runtime.NewSession(back)
			require.NoError(t, err)
			in := sess.Inputs()[0]
			x := dataset.InputBatch(in, test, 0, n)
			ours, err := sess.RunTensors(map[string]*graph.Tensor{in.Name: x})
			require.NoError(t, err)
			theirs, err := ortoracle.Run(path, map[string]*graph.Tensor{in.Name: x}, 2)
			require.NoError(t, err, "ONNX Runtime refused the model")
			a, err := dataset.Top1(ours["logits"])
			require.NoError(t, err)
			b, err := dataset.Top1(theirs["logits"])
			require.NoError(t, err)
			agree := 0
			for i := range a {
				if a[i] == b[i] {
					agree++
				}
			}
			t.Logf("%s: ours (%s) and ONNX Runtime agree on %d/%d images", v.name, sess.Mode(), agree, n)
			assert.GreaterOrEqual(t, float64(agree)/n, 0.999)
		})
	}
}
