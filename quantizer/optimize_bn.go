package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// batchNormsToDepthwise rewrites each inference-mode BatchNormalization that
// foldBatchNorms could not fold (its input is not a Conv/Gemm output: a ReLU, an Add,
// a graph input sits between) as the equivalent depthwise 1x1 convolution, weight
// scale[c] and bias shift[c] per channel. The quantizer then quantizes it like any
// convolution (per-channel weights, int32 bias) and it runs int8, where a
// BatchNormalization would stay a float island. Only ranks 3 and 4 (1-D and 2-D
// feature maps) are rewritten: those are the convolutions the int8 executor runs.
// It returns whether anything changed. Shapes must have been inferred.
func batchNormsToDepthwise(g *graph.Graph, opset int64) bool {
	cons := g.Consumers()
	changed := false
	for i, bn := range g.Nodes {
		if bn.OpType != "BatchNormalization" || bn.Domain != "" || graph.BatchNormTraining(bn, opset) || bn.AttrInt("spatial", 1) != 1 {
			continue
		}
		used := false
		for _, o := range bn.Outputs[1:] {
			if o != "" && (len(cons[o]) > 0 || g.IsGraphOutput(o)) {
				used = true
			}
		}
		v := g.Values[bn.Input(0)]
		if used || v == nil || !v.HasShape || v.DType != graph.Float32 || (len(v.Shape) != 3 && len(v.Shape) != 4) {
			continue
		}
		scale, shift, ok := graph.BatchNormAffine(g, bn)
		if !ok || !v.Shape[1].Known() || int(v.Shape[1].Size) != len(scale) {
			continue
		}
		c := len(scale)
		wShape := []int{c, 1, 1, 1}[:len(v.Shape)]
		kernel := []int64{1, 1}[:len(v.Shape)-2]
		w, b := make([]float32, c), make([]float32, c)
		for k := range w {
			w[k], b[k] = float32(scale[k]), float32(shift[k])
		}
		wName, bName := uniqueInit(g, bn.Name+"_dw_weight"), uniqueInit(g, bn.Name+"_dw_bias")
		g.Initializers[wName] = graph.FromFloat32(wShape, w)
		g.Initializers[bName] = graph.FromFloat32([]int{c}, b)
		conv := &graph.Node{Name: bn.Name, OpType: "Conv", Inputs: []string{bn.Input(0), wName, bName},
			Outputs: []string{bn.Outputs[0]}, Attrs: map[string]*graph.Attr{}, Doc: "BatchNormalization as a depthwise 1x1 convolution"}
		conv.SetAttrInt("group", int64(c))
		conv.SetAttrInts("kernel_shape", kernel)
		g.Nodes[i] = conv
		changed = true
	}
	return changed
}

func uniqueInit(g *graph.Graph, base string) string {
	name := base
	for k := 1; g.Initializers[name] != nil || g.Values[name] != nil; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	return name
}
