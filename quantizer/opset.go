package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// upgradeOpset raises the default-domain opset of m to target when it is lower,
// rewriting the operators whose signature changed on the way (attributes that became
// inputs, removed attributes, Upsample -> Resize, Softmax's 2-D coercion). Operators
// whose signature did not change are left alone; a model using an old form the
// upgrade cannot express is refused with an error naming the node.
func upgradeOpset(m *graph.Model, target int64) error {
	from := m.Opset()
	if from >= target {
		return nil
	}
	// Some rewrites need input ranks (Softmax): infer shapes under the old opset.
	if _, err := m.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return err
	}
	if err := upgradeGraph(m.Graph, from); err != nil {
		return fmt.Errorf("upgrading to opset %d: %w", target, err)
	}
	m.Opsets[""] = target
	delete(m.Opsets, "ai.onnx")
	return nil
}

// upgradeGraph rewrites the nodes of g and, since the model's opset also governs
// them, of the subgraphs of its If/Loop/Scan nodes (torchvision detectors keep
// attribute-form Unsqueeze/Squeeze in their post-processing branches).
func upgradeGraph(g *graph.Graph, from int64) error {
	if g.Initializers == nil {
		g.Initializers = map[string]*graph.Tensor{}
	}
	if g.Values == nil {
		g.Values = map[string]*graph.Value{}
	}
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		for _, sg := range n.Subgraphs() {
			if err := upgradeGraph(sg, from); err != nil {
				return fmt.Errorf("%s: subgraph %q: %w", n.Label(), sg.Name, err)
			}
		}
		if n.Domain != "" {
			nodes = append(nodes, n)
			continue
		}
		out, err := upgradeNode(g, n, from)
		if err != nil {
			return err
		}
		nodes = append(nodes, out...)
	}
	g.Nodes = nodes
	return nil
}

// attrToInput moves an ints attribute to an int64 initializer input at position idx.
func attrToInput(g *graph.Graph, n *graph.Node, attr string, idx int) {
	if !n.HasAttr(attr) {
		return
	}
	v := n.AttrInts(attr, nil)
	delete(n.Attrs, attr)
	name := g.UniqueName(nodeBase(n) + "_" + attr)
	g.Initializers[name] = graph.FromInt64([]int{len(v)}, append([]int64(nil), v...))
	g.Values[name] = &graph.Value{Name: name, DType: graph.Int64, Shape: graph.ShapeOf(len(v)), HasShape: true}
	setInput(n, idx, name)
}

func floatInput(g *graph.Graph, n *graph.Node, base string, v float32, idx int) {
	name := g.UniqueName(nodeBase(n) + "_" + base)
	g.Initializers[name] = graph.FromFloat32(nil, []float32{v})
	g.Values[name] = &graph.Value{Name: name, DType: graph.Float32, Shape: graph.Shape{}, HasShape: true}
	setInput(n, idx, name)
}

func setInput(n *graph.Node, idx int, name string) {
	for len(n.Inputs) <= idx {
		n.Inputs = append(n.Inputs, "")
	}
	n.Inputs[idx] = name
}

func nodeBase(n *graph.Node) string {
	if n.Name != "" {
		return n.Name
	}
	if len(n.Outputs) > 0 {
		return n.Outputs[0]
	}
	return n.OpType
}

func upgradeNode(g *graph.Graph, n *graph.Node, from int64) ([]*graph.Node, error) {
	delete(n.Attrs, "consumed_inputs") // removed in opset 6, meaningless for inference
	switch n.OpType {
	case "Squeeze", "Unsqueeze", "ReduceSum":
		attrToInput(g, n, "axes", 1)
	case "Split":
		attrToInput(g, n, "split", 1)
	case "Reshape":
		if from < 5 {
			attrToInput(g, n, "shape", 1)
		}
	case "TopK":
		if from < 10 && n.HasAttr("k") {
			k := n.AttrInt("k", 0)
			delete(n.Attrs, "k")
			name := g.UniqueName(nodeBase(n) + "_k")
			g.Initializers[name] = graph.FromInt64([]int{1}, []int64{k})
			setInput(n, 1, name)
		}
	case "Pad":
		if from < 11 {
			attrToInput(g, n, "pads", 1)
			if n.HasAttr("value") {
				v := n.AttrFloat("value", 0)
				delete(n.Attrs, "value")
				floatInput(g, n, "value", v, 2)
			}
		}
	case "Clip":
		if from < 11 {
			lo, hi := n.HasAttr("min"), n.HasAttr("max")
			minV, maxV := n.AttrFloat("min", 0), n.AttrFloat("max", 0)
			delete(n.Attrs, "min")
			delete(n.Attrs, "max")
			if lo {
				floatInput(g, n, "min", minV, 1)
			}
			if hi {
				floatInput(g, n, "max", maxV, 2)
			}
		}
	case "Slice":
		if from < 10 {
			attrToInput(g, n, "starts", 1)
			attrToInput(g, n, "ends", 2)
			attrToInput(g, n, "axes", 3)
		}
	case "Dropout":
		delete(n.Attrs, "is_test")
		if n.HasAttr("ratio") {
			r := n.AttrFloat("ratio", 0.5)
			delete(n.Attrs, "ratio")
			floatInput(g, n, "ratio", r, 1)
		}
	case "BatchNormalization":
		if n.AttrInt("spatial", 1) != 1 {
			return nil, fmt.Errorf("%s: spatial=0 has no opset-13 equivalent", n.Label())
		}
		delete(n.Attrs, "spatial")
		delete(n.Attrs, "is_test")
	case "Gemm":
		delete(n.Attrs, "broadcast")
	case "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less":
		if from < 7 {
			return upgradeLegacyBroadcast(g, n)
		}
	case "Concat":
		if !n.HasAttr("axis") {
			n.SetAttrInt("axis", 1) // the opset-1 default
		}
	case "Upsample":
		return upgradeUpsample(g, n)
	case "Resize":
		if from < 11 {
			// Opset 10: Resize(X, scales) with asymmetric coordinates and floor rounding.
			x, scales := n.Input(0), n.Input(1)
			n.Inputs = []string{x, "", scales}
			n.SetAttrString("coordinate_transformation_mode", "asymmetric")
			if n.AttrString("mode", "nearest") == "nearest" {
				n.SetAttrString("nearest_mode", "floor")
			}
		}
	case "Softmax", "LogSoftmax", "Hardmax":
		return upgradeSoftmax(g, n)
	case "Cast":
		if a, ok := n.Attrs["to"]; ok && a.Type == graph.AttrString {
			dt, err := graph.ParseDType(a.S)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n.Label(), err)
			}
			n.SetAttrInt("to", int64(dt))
		}
	}
	return []*graph.Node{n}, nil
}

// upgradeLegacyBroadcast rewrites the opset < 7 broadcast/axis attributes of binary
// operators into numpy broadcasting by reshaping the second operand.
func upgradeLegacyBroadcast(g *graph.Graph, n *graph.Node) ([]*graph.Node, error) {
	bc := n.AttrInt("broadcast", 0)
	delete(n.Attrs, "broadcast")
	if !n.HasAttr("axis") || bc == 0 {
		delete(n.Attrs, "axis")
		return []*graph.Node{n}, nil
	}
	axis := int(n.AttrInt("axis", 0))
	delete(n.Attrs, "axis")
	a := g.Values[n.Input(0)]
	b := g.Initializers[n.Input(1)]
	if a == nil || !a.HasShape || b == nil {
		return nil, fmt.Errorf("%s: legacy broadcast with axis=%d needs a known input rank and a constant second operand", n.Label(), axis)
	}
	if axis < 0 {
		axis += len(a.Shape)
	}
	trailing := len(a.Shape) - axis - len(b.Shape)
	if trailing < 0 {
		return nil, fmt.Errorf("%s: legacy broadcast axis %d does not fit shapes %s and %v", n.Label(), axis, a.Shape, b.Shape)
	}
	nb := *b
	nb.Shape = append(append([]int(nil), b.Shape...), make([]int, trailing)...)
	for i := len(b.Shape); i < len(nb.Shape); i++ {
		nb.Shape[i] = 1
	}
	name := g.UniqueName(n.Input(1) + "_broadcast")
	g.Initializers[name] = &nb
	n.Inputs[1] = name
	return []*graph.Node{n}, nil
}

// upgradeUpsample turns Upsample into the equivalent opset-13 Resize.
func upgradeUpsample(g *graph.Graph, n *graph.Node) ([]*graph.Node, error) {
	scales := n.Input(1)
	if scales == "" {
		f := n.AttrFloats("scales", nil)
		if f == nil {
			return nil, fmt.Errorf("%s: Upsample without scales", n.Label())
		}
		scales = g.UniqueName(nodeBase(n) + "_scales")
		g.Initializers[scales] = graph.FromFloat32([]int{len(f)}, append([]float32(nil), f...))
	}
	mode := n.AttrString("mode", "nearest")
	if mode == "bilinear" {
		mode = "linear"
	}
	r := &graph.Node{Name: n.Name, OpType: "Resize", Inputs: []string{n.Input(0), "", scales}, Outputs: n.Outputs, Attrs: map[string]*graph.Attr{}}
	r.SetAttrString("mode", mode)
	r.SetAttrString("coordinate_transformation_mode", "asymmetric")
	if mode == "nearest" {
		r.SetAttrString("nearest_mode", "floor")
	}
	return []*graph.Node{r}, nil
}

// upgradeSoftmax keeps the opset < 13 semantics (normalize over the input coerced to
// 2-D at axis) under opset 13's single-axis definition: identical when axis is the
// last dimension, else Flatten -> Softmax -> Reshape back.
func upgradeSoftmax(g *graph.Graph, n *graph.Node) ([]*graph.Node, error) {
	axis := n.AttrInt("axis", 1)
	x := g.Values[n.Input(0)]
	if x == nil || !x.HasShape {
		return nil, fmt.Errorf("%s: the input rank must be known to upgrade %s to opset 13", n.Label(), n.OpType)
	}
	rank := len(x.Shape)
	a, err := graph.NormalizeAxis(axis, max(rank, 1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Label(), err)
	}
	if a == rank-1 || rank <= 1 {
		n.SetAttrInt("axis", -1)
		return []*graph.Node{n}, nil
	}
	base := nodeBase(n)
	shape := g.UniqueName(base + "_shape")
	flat := g.UniqueName(base + "_flat")
	soft := g.UniqueName(base + "_2d")
	sh := &graph.Node{Name: g.UniqueName(base + "_Shape"), OpType: "Shape", Inputs: []string{n.Input(0)}, Outputs: []string{shape}}
	fl := &graph.Node{Name: g.UniqueName(base + "_Flatten"), OpType: "Flatten", Inputs: []string{n.Input(0)}, Outputs: []string{flat}}
	fl.SetAttrInt("axis", int64(a))
	sm := &graph.Node{Name: n.Name, OpType: n.OpType, Inputs: []string{flat}, Outputs: []string{soft}}
	sm.SetAttrInt("axis", -1)
	rs := &graph.Node{Name: g.UniqueName(base + "_Reshape"), OpType: "Reshape", Inputs: []string{soft, shape}, Outputs: n.Outputs}
	return []*graph.Node{sh, fl, sm, rs}, nil
}
