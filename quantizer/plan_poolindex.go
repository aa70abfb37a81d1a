package quantizer

import (
	"github.com/warboy-sim/warboy/graph"
)

// pooledForIndices returns the tensors a MaxPool with a used Indices output reads,
// and, backwards through the activations between them, what computes them (a
// SegNet's Conv → Relu → MaxPool, whose indices a MaxUnpool scatters by;
// paddle2onnx's MaxUnPool2D, --unseen10's paddle_unpool_op11). On int8 codes,
// values that differ in float32 round to the same code, and MaxPool's first tied
// position wins: the unpooled map put values elsewhere (20.4 dB from float32). They
// stay float32, so the maximum is found where float32 finds it: the operators
// that produce them (the Conv) run in float32, as for sampling grids
// (plan_coord.go). paddle_unpool_op11: 41.4 dB from float32, still bit-exact with
// ONNX Runtime on the same file.
func pooledForIndices(g *graph.Graph) map[string]bool {
	prod := g.Producers()
	out := map[string]bool{}
	var walk func(t string)
	walk = func(t string) {
		if t == "" || out[t] || g.Initializers[t] != nil {
			return
		}
		if v := g.Values[t]; v != nil && v.DType != graph.Float32 {
			return
		}
		out[t] = true
		if n := prod[t]; n != nil && n.Domain == "" && indexCarriers[n.OpType] {
			walk(n.Input(0))
		}
	}
	for _, n := range g.Nodes {
		if n.Domain == "" && n.OpType == "MaxPool" && len(n.Outputs) > 1 && n.Outputs[1] != "" {
			walk(n.Input(0))
		}
	}
	return out
}

// indexCarriers are the one-input operators whose output keeps the order of
// their input's values (ties included) between a producer and the MaxPool.
var indexCarriers = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Clip": true, "Identity": true, "BatchNormalization": true,
	"InstanceNormalization": true, // per-channel affine: equal inputs stay equal
}
