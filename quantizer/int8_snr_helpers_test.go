package quantizer

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// dequantizedNames returns the tensors q carries as int8: a DequantizeLinear
// output keeps the float tensor's name.
func dequantizedNames(q *graph.Model) map[string]bool {
	quantized := map[string]bool{}
	for _, n := range q.Graph.Nodes {
		if n.OpType == "DequantizeLinear" {
			quantized[n.Outputs[0]] = true
		}
	}
	return quantized
}

// int8AgainstFloatDB runs m in float32 and its quantized q in the int8
// executor on feed and returns the signal-to-noise ratio of output out, dB.
// A NaN in the int8 output fails the test.
func int8AgainstFloatDB(t *testing.T, m, q *graph.Model, feed map[string]*graph.Tensor, out string) float64 {
	t.Helper()
	want := runFloat(t, m, feed)[out].F32()
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	got, err := s.RunTensors(feed)
	require.NoError(t, err)
	var sig, noise float64
	for i, w := range want {
		g := got[out].F32()[i]
		require.False(t, math.IsNaN(float64(g)), "int8 %s[%d] is NaN", out, i)
		d := float64(w) - float64(g)
		sig, noise = sig+float64(w)*float64(w), noise+d*d
	}
	return 10 * math.Log10(sig/noise)
}
