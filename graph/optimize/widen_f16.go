package optimize

import (
	"github.com/warboy-sim/warboy/graph"
)

// Float16 models (onnxconverter-common's convert_float_to_float16, torch's
// .half() exports) compute in float16: float16 weights, Casts to float16 after a
// float32 input (keep_io_types) and back before the outputs. Neither the
// quantizer's plan (float32 operators only: "calibration: the model has no
// operator the quantizer can quantize", fp16_keepio of --unseen6; eleventh
// session) nor the float32 executor's fast kernels (a float16 Conv ran the
// generic convolution, widening and narrowing per operator: 12x ONNX Runtime;
// twelfth session) take them. Both start from float32 instead: every float16
// initializer and Constant/ConstantOfShape value is widened (exactly), Casts to
// float16 become Casts to float32, and float16 graph inputs and outputs keep their
// type through a Cast at the boundary, so the model takes and returns what the
// float16 one did. The arithmetic is float32's, not rounded to float16 after each
// operator: the results differ from a float16 execution by float16 rounding (ONNX
// Runtime's CPU provider runs most float16 operators through float32 kernels and
// rounds between them). int8 loses far more than float16 ever kept.

// WidenFloat16 rewrites g (top level and subgraphs) from float16 to float32
// arithmetic as described above; it returns the number of tensors and nodes
// changed (0: the model had no float16 computation). Attributes are replaced,
// never written (a cloned graph shares them with its original).
func WidenFloat16(g *graph.Graph) int { return toFloat32(g, graph.Float16) }

// NarrowFloat64 does the same for a model exported after model.double() (the
// unseen11 set's double_op13: "Conv: unsupported input type float64" in run,
// "the model has no operator the quantizer can quantize" in quantize): float64
// weights, constants, Casts and values become float32, float64 inputs and
// outputs keep their type through a Cast at the boundary. Only a model whose
// Conv, ConvTranspose, Gemm, MatMul or normalisation weights are float64
// initializers is rewritten: float32 models compute shape arithmetic in
// float64 (torch's Cast to double before a Floor of a scaled size), which stays
// as written. It returns the number of tensors and nodes changed.
func NarrowFloat64(g *graph.Graph) int {
	if !float64Weights(g) {
		return 0
	}
	return toFloat32(g, graph.Float64)
}

func float64Weights(g *graph.Graph) bool {
	for _, n := range g.Nodes {
		switch n.OpType {
		case "Conv", "ConvTranspose", "Gemm", "MatMul", "LayerNormalization", "BatchNormalization", "InstanceNormalization":
			for _, in := range n.Inputs[min(1, len(n.Inputs)):] {
				if t := g.Initializers[in]; t != nil && t.DType == graph.Float64 {
					return true
				}
			}
		}
	}
	return false
}

// toFloat32 rewrites the computation of g from dtype from (float16, float64) to
// float32, keeping the interface's types through Casts.
func toFloat32(g *graph.Graph, from graph.DType) int {
	count := widenBody(g, from)
	// The interface keeps its types: float16 inputs are cast to float32 on entry,
	// float32 results back to float16 on exit.
	// An input read only by Casts, an output a Cast to from writes, is at the
	// boundary already (a graph widened before: the rewrite is idempotent).
	readers := map[string][]*graph.Node{}
	writer := map[string]*graph.Node{}
	for _, n := range g.Nodes {
		for _, x := range n.Inputs {
			readers[x] = append(readers[x], n)
		}
		for _, o := range n.Outputs {
			writer[o] = n
		}
	}
	onlyCasts := func(name string) bool {
		for _, n := range readers[name] {
			if n.OpType != "Cast" || n.Domain != "" {
				return false
			}
		}
		return len(readers[name]) > 0
	}
	var pre, post []*graph.Node
	for _, in := range g.Inputs {
		if in.DType != from || onlyCasts(in.Name) {
			continue
		}
		wide := g.UniqueName(in.Name + "_f32")
		g.ReplaceInput(in.Name, wide)
		pre = append(pre, castNode(in.Name, wide, graph.Float32))
		g.Values[wide] = &graph.Value{Name: wide, DType: graph.Float32, Shape: in.Shape, HasShape: in.HasShape}
		count++
	}
	for _, out := range g.Outputs {
		// widenBody turned every Cast to from into one to float32: a Cast to
		// from is a boundary an earlier pass put
		if w := writer[out.Name]; out.DType != from || (w != nil && w.OpType == "Cast" && w.Domain == "" && w.AttrInt("to", 0) == int64(from)) {
			continue
		}
		wide := g.UniqueName(out.Name + "_f32")
		for _, n := range g.Nodes {
			for i, o := range n.Outputs {
				if o == out.Name {
					n.Outputs[i] = wide
				}
			}
			for i, x := range n.Inputs {
				if x == out.Name {
					n.Inputs[i] = wide
				}
			}
		}
		post = append(post, castNode(wide, out.Name, from))
		g.Values[wide] = &graph.Value{Name: wide, DType: graph.Float32, Shape: out.Shape, HasShape: out.HasShape}
		count++
	}
	if count > 0 {
		g.Nodes = append(append(pre, g.Nodes...), post...)
	}
	return count
}

// widenBody widens the initializers, constants, Casts and declared value types of
// g and of its subgraphs; graph inputs and outputs are left to the caller.
func widenBody(g *graph.Graph, from graph.DType) int {
	count := 0
	for name, t := range g.Initializers {
		if t.DType == from {
			g.Initializers[name] = widenTensor(t)
			count++
		}
	}
	io := map[string]bool{}
	for _, v := range g.Inputs {
		io[v.Name] = true
	}
	for _, v := range g.Outputs {
		io[v.Name] = true
	}
	for name, v := range g.Values {
		if v.DType == from && !io[name] {
			v.DType = graph.Float32
		}
	}
	for _, n := range g.Nodes {
		for k, a := range n.Attrs {
			switch {
			case a.T != nil && a.T.DType == from:
				wide := *a
				wide.T = widenTensor(a.T)
				n.Attrs[k] = &wide
				count++
			case a.G != nil:
				count += widenBody(a.G, from)
			}
		}
		if n.OpType == "Cast" && (n.Domain == "" || n.Domain == "ai.onnx") && n.AttrInt("to", 0) == int64(from) {
			n.SetAttrInt("to", int64(graph.Float32))
			count++
		}
	}
	return count
}

func widenTensor(t *graph.Tensor) *graph.Tensor {
	v, _ := t.AsFloat64() // float16 and float64 always convert
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return graph.FromFloat32(append([]int(nil), t.Shape...), f)
}

func castNode(in, out string, to graph.DType) *graph.Node {
	n := &graph.Node{Name: out + "_cast", OpType: "Cast", Inputs: []string{in}, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	n.SetAttrInt("to", int64(to))
	return n
}
