package quantizer

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

var (
	cnnOnce           sync.Once
	cnnFloat, cnnInt8 *graph.Model
)

// quantizedCNN returns the bundled CNN and its quantization calibrated on 200 training
// images (computed once; callers clone before editing).
func quantizedCNN(t *testing.T) (*graph.Model, *graph.Model) {
	t.Helper()
	cnnOnce.Do(func() {
		m := loadBundled(t, "fmnist_cnn")
		r, err := calibrate(t, m, MinMaxAsym, 200).ComputeRanges()
		require.NoError(t, err)
		q, err := Quantize(m, r, QuantOptions{})
		require.NoError(t, err)
		cnnFloat, cnnInt8 = m, q
	})
	require.NotNil(t, cnnInt8, "quantizing the CNN failed in an earlier test")
	return cnnFloat, cnnInt8
}

func TestConvertInputType(t *testing.T) {
	_, q := quantizedCNN(t)
	_, test := fmnist(t)
	ref := runFloat(t, q, map[string]*graph.Tensor{"input": test.Batch(0, 50)})["logits"]
	tests := []struct {
		name   string
		dtype  graph.DType
		params *QParams
		feed   func() *graph.Tensor
		keepsQ bool
	}{
		{"uint8 raw pixels", graph.Uint8, &PixelParams, func() *graph.Tensor { return test.BatchUint8(0, 50) }, true},
		{"int8 model params", graph.Int8, nil, func() *graph.Tensor {
			u := test.BatchUint8(0, 50).U8()
			d := make([]int8, len(u))
			for i, v := range u {
				d[i] = int8(int(v) - 128) // the model's input parameters are (1/255, -128)
			}
			return graph.FromInt8([]int{50, 1, 28, 28}, d)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := q.Clone()
			require.NoError(t, ConvertInputType(e, "input", tt.dtype, tt.params))
			assert.Equal(t, tt.dtype, e.Graph.Inputs[0].DType)
			dk, sk, zk := InputMeta("input")
			assert.Equal(t, tt.dtype.String(), e.Metadata[dk])
			assert.NotEmpty(t, e.Metadata[sk])
			assert.NotEmpty(t, e.Metadata[zk])
			dt, p, ok, err := RawEncoding(e, "input", false)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, tt.dtype, dt)
			assert.InDelta(t, 1.0/255, p.Scale, 1e-9)
			qs := 0
			for _, n := range e.Graph.Nodes {
				if n.OpType == "QuantizeLinear" && n.Inputs[0] != "" && e.Graph.Producers()[n.Inputs[0]] != nil &&
					e.Graph.Producers()[n.Inputs[0]].OpType == "DequantizeLinear" {
					qs++
				}
			}
			assert.Equal(t, tt.keepsQ, qs > 0, "requantization of the raw input")
			got := runFloat(t, e, map[string]*graph.Tensor{"input": tt.feed()})["logits"]
			// Raw pixels through (1/255, 0) requantized to (1/255, -128) are exact.
			assert.Equal(t, ref.F32(), got.F32())
		})
	}
}

func TestConvertOutputType(t *testing.T) {
	_, q := quantizedCNN(t)
	_, test := fmnist(t)
	in := map[string]*graph.Tensor{"input": test.Batch(0, 50)}
	ref := runFloat(t, q, in)["logits"]
	for _, dt := range []graph.DType{graph.Int8, graph.Uint8} {
		t.Run(dt.String(), func(t *testing.T) {
			e := q.Clone()
			require.NoError(t, ConvertOutputType(e, "logits", dt, nil))
			assert.Equal(t, dt, e.Graph.Outputs[0].DType)
			out := runFloat(t, e, in)["logits"]
			require.Equal(t, dt, out.DType)
			f, err := decodeTensor(e, "logits", out)
			require.NoError(t, err)
			assert.Equal(t, ref.F32(), f, "dequantizing the raw output with the recorded encoding gives the QDQ model's output")
		})
	}
	t.Run("with range", func(t *testing.T) {
		e := q.Clone()
		require.NoError(t, ConvertOutputType(e, "logits", graph.Int8, &[2]float32{-40, 40}))
		_, p, ok, err := RawEncoding(e, "logits", true)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, 0, p.ZeroPoint)
		assert.InDelta(t, 40.0/127, p.Scale, 1e-6)
		out := runFloat(t, e, in)["logits"]
		f, err := decodeTensor(e, "logits", out)
		require.NoError(t, err)
		assert.Less(t, maxAbsDiff(ref.F32(), f), 0.5)
	})
}

func TestEditorErrors(t *testing.T) {
	m, q := quantizedCNN(t)
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"unknown input", func() error { return ConvertInputType(q.Clone(), "image", graph.Uint8, nil) }, `no input "image"`},
		{"float model", func() error { return ConvertInputType(m.Clone(), "input", graph.Uint8, nil) }, "quantize the model first"},
		{"bad type", func() error { return ConvertInputType(q.Clone(), "input", graph.Float32, nil) }, "not supported"},
		{"bad zero point", func() error {
			return ConvertInputType(q.Clone(), "input", graph.Uint8, &QParams{Scale: 1, ZeroPoint: -3})
		}, "outside the uint8 range"},
		{"twice", func() error {
			e := q.Clone()
			if err := ConvertInputType(e, "input", graph.Uint8, &PixelParams); err != nil {
				return err
			}
			return ConvertInputType(e, "input", graph.Uint8, &PixelParams)
		}, "already converted"},
		{"unknown output", func() error { return ConvertOutputType(q.Clone(), "probs", graph.Int8, nil) }, `no output "probs"`},
		{"float output", func() error { return ConvertOutputType(m.Clone(), "logits", graph.Int8, nil) }, "quantize the model first"},
		{"inverted range", func() error { return ConvertOutputType(q.Clone(), "logits", graph.Int8, &[2]float32{1, -1}) }, "min > max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorContains(t, tt.run(), tt.want)
		})
	}
}
