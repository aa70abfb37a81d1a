package optimize

// tf2onnx (and other converters from channels-last frameworks) wrap every
// layout-bound operator in a Transpose pair: NHWC -> NCHW before each Conv and
// NCHW -> NHWC after it, with the elementwise layers between (BatchNorm as Mul
// and Add by [C] constants, Relu6 as Clip) run in NHWC. Each Transpose is a
// full copy of a feature map, and the elementwise steps between them break
// the executors' convolution epilogues and channels-last chains: the float32
// executor ran --unseen6's tf2onnx_op13 7x slower than ONNX Runtime.
//
// sinkTransposes moves each Transpose past the operators that commute with it
// towards its readers when that ends by removing it: it meets its inverse
// (both vanish), another Transpose (they compose), a Squeeze that absorbs it,
// or a second input transposed alike (the two become one below the operator);
// a Transpose that would only move stays (sinkPays). The rewrites are exact: the same arithmetic on the same values,
// stored in another order. A Pad stops it: tf2onnx's explicit Pad before a
// VALID Conv is folded into the Conv where it stands (pad_fold.go).

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// sinkUnary are operators of one data input (the others, Clip's bounds, are
// scalars) applied element by element.
var sinkUnary = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "Tanh": true, "Clip": true, "Elu": true, "Selu": true,
	"Celu": true, "HardSigmoid": true, "HardSwish": true, "Softplus": true, "Softsign": true, "Neg": true,
	"Abs": true, "Sqrt": true, "Exp": true, "Log": true, "Reciprocal": true, "Erf": true, "Floor": true,
	"Ceil": true, "Round": true, "Sign": true, "Cast": true, "Mish": true, "Gelu": true, "ThresholdedRelu": true,
}

// sinkBinary are elementwise operators of two broadcasting inputs.
var sinkBinary = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "PRelu": true, "Max": true, "Min": true, "Pow": true}

// sinkReduce are reductions whose axes can be renumbered.
var sinkReduce = map[string]bool{"ReduceMean": true, "ReduceSum": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true, "ReduceL2": true}

// sinkTransposes runs the rewrites to a fixed point and returns how many
// Transposes it moved, merged or removed. Graphs with quantization operators
// are left alone (the int8 lowering matches their patterns as written).
func sinkTransposes(g *graph.Graph, keep map[string]bool, opset int64) int {
	for _, n := range g.Nodes {
		switch n.OpType {
		case "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear":
			return 0
		}
		if len(n.OpType) > 7 && n.OpType[:7] == "QLinear" {
			return 0
		}
	}
	count := 0
	for round := 0; round < 4*len(g.Nodes)+1; round++ {
		done := sinkOnce(g, keep, opset)
		if done == 0 {
			break
		}
		count += done
		if err := g.TopoSort(); err != nil {
			return count // cannot happen: every rewrite keeps a DAG
		}
	}
	return count
}

// sinkOnce makes at most one rewrite per Transpose and returns their number.
func sinkOnce(g *graph.Graph, keep map[string]bool, opset int64) int {
	cons := g.Consumers()
	count := 0
	touched := map[*graph.Node]bool{}
	for _, t := range slices.Clone(g.Nodes) { // rewrites drop nodes from g.Nodes
		if touched[t] || !isOp(t, "Transpose") || len(t.Inputs) != 1 || len(t.Outputs) != 1 || t.Inputs[0] == "" {
			continue
		}
		y := t.Outputs[0]
		if keep[y] || g.IsGraphOutput(y) || len(cons[y]) != 1 {
			continue
		}
		n := cons[y][0]
		if touched[n] || n.HasSubgraphs() || len(n.Outputs) != 1 || n.Outputs[0] == "" || (n.Domain != "" && n.Domain != "ai.onnx") {
			continue
		}
		xv := g.Values[t.Inputs[0]]
		if xv == nil || !xv.HasShape {
			continue
		}
		perm, err := graph.TransposePerm(t, len(xv.Shape))
		if err != nil || !sinkPays(g, t, perm, cons, keep, opset) {
			continue
		}
		var ok bool
		switch {
		case isOp(n, "Transpose"):
			ok = mergeTransposes(g, t, n, perm, keep)
		case sinkUnary[n.OpType] && len(n.Inputs) >= 1 && n.Inputs[0] == y && !slices.Contains(n.Inputs[1:], y):
			ok = swapBelow(g, t, n, perm, nil)
		case sinkBinary[n.OpType] && len(n.Inputs) == 2:
			ok = sinkBinaryOp(g, t, n, perm, cons, keep, touched)
		case sinkReduce[n.OpType] && len(n.Inputs) >= 1 && n.Inputs[0] == y:
			ok = sinkReduceOp(g, t, n, perm, opset)
		case isOp(n, "Squeeze") && len(n.Inputs) >= 1 && n.Inputs[0] == y:
			ok = sinkSqueeze(g, t, n, perm, opset)
		}
		if ok {
			touched[t], touched[n] = true, true
			count++
		}
	}
	return count
}

// mergeTransposes replaces t (perm p) followed by n (perm q) with one
// Transpose of perm p∘q; when that is the identity both go (an Identity
// stays if n's output must keep its name). t, whose output n alone read, is
// dropped.
func mergeTransposes(g *graph.Graph, t, n *graph.Node, p []int, keep map[string]bool) bool {
	q, err := graph.TransposePerm(n, len(p))
	if err != nil {
		return false
	}
	r := make([]int, len(p))
	identity := true
	for i := range q {
		r[i] = p[q[i]]
		identity = identity && r[i] == i
	}
	x, z := t.Inputs[0], n.Outputs[0]
	if identity && !keep[z] && !g.IsGraphOutput(z) {
		// The pair cancels: z's readers read x (so that a Transpose below
		// them can meet the next one without an Identity between).
		rename := func(s string) string {
			if s == z {
				return x
			}
			return s
		}
		for _, m := range g.Nodes {
			for i, in := range m.Inputs {
				m.Inputs[i] = rename(in)
			}
			m.RenameImplicit(rename)
		}
		delete(g.Values, z)
		delete(g.Values, t.Outputs[0])
		dropNode(g, n)
		dropNode(g, t)
		return true
	}
	n.Inputs[0] = x
	if identity {
		n.OpType, n.Attrs = "Identity", map[string]*graph.Attr{}
	} else {
		n.SetAttrInts("perm", toInt64s(r))
	}
	dropNode(g, t)
	return true
}

// swapBelow rewrites x -> t -> y -> n -> z as x -> n -> z' -> t -> z: n reads
// t's input, t reads n's new output. zpre, if set, is the shape of z' (else
// z's shape with t's permutation undone).
func swapBelow(g *graph.Graph, t, n *graph.Node, perm []int, zpre graph.Shape) bool {
	x, y, z := t.Inputs[0], t.Outputs[0], n.Outputs[0]
	zv := g.Values[z]
	if zpre == nil {
		if zv == nil || !zv.HasShape || len(zv.Shape) != len(perm) {
			return false
		}
		zpre = make(graph.Shape, len(perm))
		for i, p := range perm {
			zpre[p] = zv.Shape[i]
		}
	}
	mid := uniqueName(g, z+"_pre_transpose")
	for i, in := range n.Inputs {
		if in == y {
			n.Inputs[i] = x
		}
	}
	n.Outputs[0] = mid
	t.Inputs[0], t.Outputs[0] = mid, z
	dt := graph.Float32
	if zv != nil {
		dt = zv.DType
	}
	g.Values[mid] = &graph.Value{Name: mid, DType: dt, Shape: zpre, HasShape: true}
	delete(g.Values, y)
	return true
}

// sinkBinaryOp moves t below an elementwise binary n whose other input is a
// constant (permuted to match: broadcasting is per axis, so permuting every
// operand's axes alike permutes the result's) or the output of a Transpose
// of the same permutation that n alone reads (both move below n as one).
func sinkBinaryOp(g *graph.Graph, t, n *graph.Node, perm []int, cons map[string][]*graph.Node, keep map[string]bool, touched map[*graph.Node]bool) bool {
	y := t.Outputs[0]
	k := slices.Index(n.Inputs, y)
	if k < 0 || n.Inputs[1-k] == y {
		return false
	}
	other := n.Inputs[1-k]
	if c := g.Initializers[other]; c != nil {
		if len(c.Shape) > len(perm) {
			return false
		}
		pc := permuteConst(c, perm)
		if pc == nil {
			return false
		}
		name := uniqueName(g, other+"_transposed")
		g.Initializers[name] = pc
		g.Values[name] = &graph.Value{Name: name, DType: pc.DType, Shape: graph.ShapeOf(pc.Shape...), HasShape: true}
		if !swapBelow(g, t, n, perm, nil) {
			delete(g.Initializers, name)
			delete(g.Values, name)
			return false
		}
		n.Inputs[1-k] = name
		return true
	}
	// Both inputs transposed alike.
	var u *graph.Node
	for _, m := range g.Nodes {
		if len(m.Outputs) == 1 && m.Outputs[0] == other {
			u = m
			break
		}
	}
	if u == nil || touched[u] || !isOp(u, "Transpose") || len(u.Inputs) != 1 || keep[other] || g.IsGraphOutput(other) || len(cons[other]) != 1 {
		return false
	}
	uv := g.Values[u.Inputs[0]]
	if uv == nil || !uv.HasShape || len(uv.Shape) != len(perm) {
		return false
	}
	up, err := graph.TransposePerm(u, len(perm))
	if err != nil || !slices.Equal(up, perm) {
		return false
	}
	n.Inputs[1-k] = u.Inputs[0]
	delete(g.Values, other)
	dropNode(g, u)
	touched[u] = true
	return swapBelow(g, t, n, perm, nil)
}

// sinkReduceOp moves t below a reduction that keeps its dimensions, its axes
// renumbered through the permutation.
func sinkReduceOp(g *graph.Graph, t, n *graph.Node, perm []int, opset int64) bool {
	if n.AttrInt("keepdims", 1) == 0 {
		return false
	}
	r := len(perm)
	var axes []int64
	fromInput := false
	switch {
	case len(n.Inputs) == 1 && n.HasAttr("axes"):
		axes = n.AttrInts("axes", nil)
	case len(n.Inputs) == 2 && n.Inputs[1] != "" && !n.HasAttr("axes"):
		c := g.Initializers[n.Inputs[1]]
		if c == nil || c.DType != graph.Int64 || len(c.Shape) != 1 {
			return false
		}
		axes, fromInput = c.I64(), true
	default:
		return false // all axes (or noop_with_empty_axes): leave it
	}
	if len(axes) == 0 || n.AttrInt("noop_with_empty_axes", 0) != 0 {
		return false
	}
	na, err := graph.NormalizeAxes(axes, r)
	if err != nil {
		return false
	}
	newAxes := make([]int64, len(na))
	for i, a := range na {
		newAxes[i] = int64(perm[a])
	}
	slices.Sort(newAxes)
	if fromInput {
		name := uniqueName(g, n.Inputs[1]+"_transposed")
		g.Initializers[name] = graph.FromInt64([]int{len(newAxes)}, newAxes)
		g.Values[name] = &graph.Value{Name: name, DType: graph.Int64, Shape: graph.ShapeOf(len(newAxes)), HasShape: true}
		n.Inputs[1] = name
	} else {
		n.SetAttrInts("axes", newAxes)
	}
	return swapBelow(g, t, n, perm, nil)
}

// sinkSqueeze removes t before a Squeeze when the axes that remain keep their
// order (a [N,1,1,C] NHWC mean squeezed to [N,C] is the NCHW [N,C,1,1]
// squeezed on the spatial axes): the Squeeze then reads t's input with its
// axes renumbered, and t goes.
func sinkSqueeze(g *graph.Graph, t, n *graph.Node, perm []int, opset int64) bool {
	newAxes, fromInput, ok := squeezeThrough(g, n, perm, opset)
	if !ok {
		return false
	}
	if fromInput {
		name := uniqueName(g, n.Inputs[1]+"_transposed")
		g.Initializers[name] = graph.FromInt64([]int{len(newAxes)}, newAxes)
		g.Values[name] = &graph.Value{Name: name, DType: graph.Int64, Shape: graph.ShapeOf(len(newAxes)), HasShape: true}
		n.Inputs[1] = name
	} else {
		n.SetAttrInts("axes", newAxes)
	}
	delete(g.Values, n.Inputs[0])
	n.Inputs[0] = t.Inputs[0]
	dropNode(g, t)
	return true
}

// squeezeThrough returns the axes with which Squeeze n reads the input of a
// Transpose of perm instead of its output, when the axes that remain keep
// their order, and whether n takes its axes as an input.
func squeezeThrough(g *graph.Graph, n *graph.Node, perm []int, opset int64) (newAxes []int64, fromInput, ok bool) {
	r := len(perm)
	var axes []int64
	switch {
	case opset < 13 && n.HasAttr("axes"):
		axes = n.AttrInts("axes", nil)
	case opset >= 13 && len(n.Inputs) == 2 && n.Inputs[1] != "":
		c := g.Initializers[n.Inputs[1]]
		if c == nil || c.DType != graph.Int64 || len(c.Shape) != 1 {
			return nil, false, false
		}
		axes, fromInput = c.I64(), true
	default:
		return nil, false, false
	}
	na, err := graph.NormalizeAxes(axes, r)
	if err != nil || len(na) == 0 {
		return nil, false, false
	}
	squeezed := make([]bool, r)
	for _, a := range na {
		squeezed[a] = true
	}
	last := -1
	for i, p := range perm {
		if squeezed[i] {
			continue
		}
		if p < last {
			return nil, false, false
		}
		last = p
	}
	newAxes = make([]int64, len(na))
	for i, a := range na {
		newAxes[i] = int64(perm[a])
	}
	slices.Sort(newAxes)
	return newAxes, fromInput, true
}

// sinkPays reports whether moving t towards its readers ends by removing
// it: it meets another Transpose (they cancel or compose), a Squeeze that
// takes it (squeezeThrough), or a binary operator whose other input is
// transposed alike (two become one). Otherwise t stays where the exporter
// put it: a Transpose only moved would change nothing but the layout the
// executors' own Transpose handling sees (ConvNeXt's NHWC MLPs run their
// Transposes as views).
func sinkPays(g *graph.Graph, t *graph.Node, perm []int, cons map[string][]*graph.Node, keep map[string]bool, opset int64) bool {
	y := t.Outputs[0]
	for range g.Nodes {
		if keep[y] || g.IsGraphOutput(y) || len(cons[y]) != 1 {
			return false
		}
		n := cons[y][0]
		if n.HasSubgraphs() || len(n.Outputs) != 1 || n.Outputs[0] == "" || (n.Domain != "" && n.Domain != "ai.onnx") {
			return false
		}
		switch {
		case isOp(n, "Transpose"):
			return true
		case isOp(n, "Squeeze") && n.Inputs[0] == y:
			_, _, ok := squeezeThrough(g, n, perm, opset)
			return ok
		case sinkUnary[n.OpType] && n.Inputs[0] == y && !slices.Contains(n.Inputs[1:], y):
		case sinkBinary[n.OpType] && len(n.Inputs) == 2:
			k := slices.Index(n.Inputs, y)
			if k < 0 || n.Inputs[1-k] == y {
				return false
			}
			other := n.Inputs[1-k]
			if c := g.Initializers[other]; c != nil {
				if len(c.Shape) > len(perm) {
					return false
				}
				break
			}
			if keep[other] || len(cons[other]) != 1 {
				return false
			}
			for _, m := range g.Nodes {
				if len(m.Outputs) == 1 && m.Outputs[0] == other {
					up, err := graph.TransposePerm(m, len(perm))
					return isOp(m, "Transpose") && err == nil && slices.Equal(up, perm)
				}
			}
			return false
		case sinkReduce[n.OpType] && n.Inputs[0] == y && n.AttrInt("keepdims", 1) != 0:
		default:
			return false
		}
		y = n.Outputs[0]
	}
	return false
}

// permuteConst returns constant c, broadcast to rank len(perm) by leading 1s,
// with its axes permuted by the inverse of perm: the constant that, applied
// before a Transpose of perm, equals c applied after it. nil for data types
// it does not move.
func permuteConst(c *graph.Tensor, perm []int) *graph.Tensor {
	r := len(perm)
	shape := make([]int, r)
	for i := range shape {
		shape[i] = 1
	}
	copy(shape[r-len(c.Shape):], c.Shape)
	// out[perm[i]] = shape[i]
	oshape := make([]int, r)
	for i, p := range perm {
		oshape[p] = shape[i]
	}
	// Source strides (in shape) of each output axis.
	sstr := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		sstr[i] = s
		s *= shape[i]
	}
	ostrSrc := make([]int, r) // for output axis j = perm[i], the source stride of axis i
	for i, p := range perm {
		ostrSrc[p] = sstr[i]
	}
	n := graph.NumElements(oshape)
	idx := make([]int, n)
	pos := make([]int, r)
	for k := 0; k < n; k++ {
		off := 0
		for j := 0; j < r; j++ {
			off += pos[j] * ostrSrc[j]
		}
		idx[k] = off
		for j := r - 1; j >= 0; j-- {
			pos[j]++
			if pos[j] < oshape[j] {
				break
			}
			pos[j] = 0
		}
	}
	out := &graph.Tensor{DType: c.DType, Shape: oshape}
	switch d := c.Data.(type) {
	case []float32:
		out.Data = gather(d, idx)
	case []float64:
		out.Data = gather(d, idx)
	case []int64:
		out.Data = gather(d, idx)
	case []int32:
		out.Data = gather(d, idx)
	case []uint16:
		out.Data = gather(d, idx)
	default:
		return nil
	}
	return out
}

func gather[T any](src []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = src[j]
	}
	return out
}

// dropNode removes n from g's node list.
func dropNode(g *graph.Graph, n *graph.Node) {
	g.Nodes = slices.DeleteFunc(g.Nodes, func(m *graph.Node) bool { return m == n })
}
