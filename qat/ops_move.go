package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// moveOp is an operator that only moves values: every output element is one input
// element or a fill value (Transpose, Concat, Split, Slice, Pad, Resize in nearest
// mode, DepthToSpace, SpaceToDepth, Gather with constant indices, Tile, Expand).
// Its forward pass is a gather through an index map and its backward pass the
// matching scatter-add.
//
// The index map is not re-derived from the ONNX specification here: it is obtained
// by running the runtime's own kernel for the node (runtime.ConstEval, the code a
// session runs) on tensors whose values are element indices, so the training
// forward pass moves exactly the elements the float and int8 executors move
// (Resize's coordinate modes, Pad's reflect/edge modes, negative Slice steps and
// every other detail included). Indices are passed in two exact float32 halves
// (index mod 4096 and index div 4096, each plus one so that a fill reads as 0). The
// map is rebuilt only when the input shapes change.
type moveOp struct {
	node  string
	gnode *graph.Node // the node as the kernel sees it (a Pad's value set to 0)
	opset int64
	ins   []int           // data slots, in the order of dataPos
	pos   []int           // node input index of each data slot
	ctrl  []*graph.Tensor // the node's inputs with nil at data positions
	// ctrlFrom names, per input, a control input computed by the shape arithmetic
	// (Net.computed); the maps are rebuilt when its value changes.
	ctrlFrom  []string
	outs      []int
	fill      float32
	shapes    [][]int // input shapes the maps were built for
	outShapes [][]int
	src       [][]int32
	which     [][]uint8 // per output, the data input of each element (nil with one input)
	inj       bool      // no input element is read twice (backward may run in parallel)
}

func buildMove(b *builder, node *graph.Node) (built, error) {
	o := &moveOp{node: node.Label(), opset: b.n.plan.Model.Opset(), ctrl: make([]*graph.Tensor, len(node.Inputs)),
		ctrlFrom: make([]string, len(node.Inputs))}
	gn := *node
	gn.Attrs = map[string]*graph.Attr{}
	for k, v := range node.Attrs {
		gn.Attrs[k] = v
	}
	o.gnode = &gn
	data := []int{0}
	switch node.OpType {
	case "Concat":
		data = data[:0]
		for i := range node.Inputs {
			data = append(data, i)
		}
	case "Resize":
		if node.AttrString("coordinate_transformation_mode", "") == "tf_crop_and_resize" {
			return built{}, fmt.Errorf("%w: %s coordinate_transformation_mode tf_crop_and_resize", ErrNoGradient, node.OpType)
		}
	case "Pad":
		if node.HasAttr("value") {
			o.fill = node.AttrFloat("value", 0)
			gn.Attrs["value"] = &graph.Attr{Name: "value", Type: graph.AttrFloat, F: 0}
		}
	}
	isData := map[int]bool{}
	for _, i := range data {
		if node.Input(i) == "" {
			return built{}, fmt.Errorf("%w: data input %d is missing", ErrNoGradient, i)
		}
		s, err := b.input(node, node.Input(i))
		if err != nil {
			return built{}, err
		}
		o.ins, o.pos = append(o.ins, s), append(o.pos, i)
		isData[i] = true
	}
	if len(o.ins) > 255 {
		return built{}, fmt.Errorf("%w: %d inputs", ErrNoGradient, len(o.ins))
	}
	for i, name := range node.Inputs {
		if isData[i] || name == "" {
			continue
		}
		t := b.g.Initializers[name]
		if t == nil && b.n.computedNames[name] && !(node.OpType == "Pad" && i == 2) {
			o.ctrlFrom[i] = name // computed from the batch size: read at run time
			continue
		}
		if t == nil {
			return built{}, fmt.Errorf("%w: %s input %d (%q) is not a constant", ErrNoGradient, node.OpType, i, name)
		}
		if node.OpType == "Pad" && i == 2 {
			if t.DType != graph.Float32 || t.Len() != 1 {
				return built{}, fmt.Errorf("%w: Pad value %q is not a float32 scalar", ErrNoGradient, name)
			}
			o.fill = t.F32()[0]
			t = graph.FromFloat32(t.Shape, []float32{0})
		}
		o.ctrl[i] = t
	}
	for range node.Outputs {
		o.outs = append(o.outs, b.slot())
	}
	if node.OpType == "Resize" && node.AttrString("mode", "nearest") != "nearest" {
		// linear and cubic blend values: a linear map, not a gather (ops_resize.go)
		return built{&resizeOp{mv: o}, o.outs[0]}, nil
	}
	return built{o, o.outs[0]}, nil
}

func (o *moveOp) label() string { return o.node }

func (o *moveOp) outSlots() []int { return o.outs }

// mapDigits is the base of the two index halves: both stay exact in float32.
const mapDigits = 4096

// plan builds the index maps for the current input shapes.
func (o *moveOp) plan(n *Net) error {
	same := len(o.shapes) == len(o.ins)
	for j, s := range o.ins {
		if same && !equalShape(o.shapes[j], n.vals[s].shape) {
			same = false
		}
	}
	changed, err := o.refreshCtrl(n)
	if err != nil {
		return err
	}
	if same && !changed && o.src != nil {
		return nil
	}
	var halves [2][]*graph.Tensor
	for h := range halves {
		in := append([]*graph.Tensor(nil), o.ctrl...)
		for j, s := range o.ins {
			x := n.vals[s]
			v := make([]float32, len(x.data))
			for e := range v {
				if h == 0 {
					v[e] = float32(e%mapDigits + 1)
				} else {
					v[e] = float32(e/mapDigits + 1)
				}
			}
			in[o.pos[j]] = graph.FromFloat32(append([]int(nil), x.shape...), v)
		}
		out, err := runtime.ConstEval().EvalConst(o.gnode, o.opset, in)
		if err != nil {
			return err
		}
		if len(out) < len(o.outs) {
			return fmt.Errorf("the runtime kernel returned %d outputs, want %d", len(out), len(o.outs))
		}
		halves[h] = out
	}
	o.src = make([][]int32, len(o.outs))
	o.which = make([][]uint8, len(o.outs))
	o.outShapes = make([][]int, len(o.outs))
	seen := make([][]bool, len(o.ins))
	for j, s := range o.ins {
		seen[j] = make([]bool, len(n.vals[s].data))
	}
	o.inj = true
	for k := range o.outs {
		lo, hi := halves[0][k], halves[1][k]
		if lo.DType != graph.Float32 || !equalShape(lo.Shape, hi.Shape) {
			return fmt.Errorf("the runtime kernel returned %s %v for float32 data", lo.DType, lo.Shape)
		}
		lv, hv := lo.F32(), hi.F32()
		src := make([]int32, len(lv))
		var which []uint8
		if len(o.ins) > 1 {
			which = make([]uint8, len(lv))
		}
		for i := range lv {
			a, c := lv[i], hv[i]
			if a == 0 && c == 0 {
				src[i] = -1
				continue
			}
			if a != float32(math.Floor(float64(a))) || c != float32(math.Floor(float64(c))) || a < 1 || a > mapDigits || c < 1 {
				return fmt.Errorf("%w: output element %d is not a copy of one input element (the operator blends values)", ErrNoGradient, i)
			}
			// With several inputs every one is indexed from 0; splitInputs tells
			// which input the element is from.
			src[i] = int32((int(c)-1)*mapDigits + int(a) - 1)
		}
		o.src[k], o.which[k] = src, which
		o.outShapes[k] = append([]int(nil), lo.Shape...)
	}
	if len(o.ins) > 1 {
		if err := o.splitInputs(n, halves); err != nil {
			return err
		}
	}
	for k := range o.outs {
		for i, e := range o.src[k] {
			if e < 0 {
				continue
			}
			j := 0
			if o.which[k] != nil {
				j = int(o.which[k][i])
			}
			if int(e) >= len(seen[j]) {
				return fmt.Errorf("the runtime kernel read element %d of an input of %d", e, len(seen[j]))
			}
			if seen[j][e] {
				o.inj = false
			}
			seen[j][e] = true
		}
	}
	o.shapes = o.shapes[:0]
	for _, s := range o.ins {
		o.shapes = append(o.shapes, append([]int(nil), n.vals[s].shape...))
	}
	return nil
}

// refreshCtrl reads the control inputs computed by the shape arithmetic for this
// batch and reports whether any changed (the maps are then rebuilt).
func (o *moveOp) refreshCtrl(n *Net) (bool, error) {
	changed := false
	for i, name := range o.ctrlFrom {
		if name == "" {
			continue
		}
		t := n.computed[name]
		if t == nil {
			return false, fmt.Errorf("input %q was not computed", name)
		}
		if !sameValues(o.ctrl[i], t) {
			o.ctrl[i], changed = t, true
		}
	}
	return changed, nil
}

// runKernel runs the runtime's kernel for the node on data (one tensor per data
// input) with the node's control inputs.
func (o *moveOp) runKernel(data ...*graph.Tensor) ([]*graph.Tensor, error) {
	in := append([]*graph.Tensor(nil), o.ctrl...)
	for j, t := range data {
		in[o.pos[j]] = t
	}
	return runtime.ConstEval().EvalConst(o.gnode, o.opset, in)
}

// splitInputs fills which for a multi-input operator: one more kernel run with each
// input filled with its own number tells which input each output element comes from.
func (o *moveOp) splitInputs(n *Net, halves [2][]*graph.Tensor) error {
	in := append([]*graph.Tensor(nil), o.ctrl...)
	for j, s := range o.ins {
		x := n.vals[s]
		v := make([]float32, len(x.data))
		for e := range v {
			v[e] = float32(j + 1)
		}
		in[o.pos[j]] = graph.FromFloat32(append([]int(nil), x.shape...), v)
	}
	out, err := runtime.ConstEval().EvalConst(o.gnode, o.opset, in)
	if err != nil {
		return err
	}
	for k := range o.outs {
		ids := out[k].F32()
		if len(ids) != len(o.src[k]) {
			return fmt.Errorf("the runtime kernel returned %d elements, then %d", len(o.src[k]), len(ids))
		}
		for i, id := range ids {
			if o.src[k][i] < 0 {
				continue
			}
			if id < 1 || int(id) > len(o.ins) || id != float32(int(id)) {
				return fmt.Errorf("%w: output element %d is not a copy of one input element", ErrNoGradient, i)
			}
			o.which[k][i] = uint8(id - 1)
		}
	}
	return nil
}

func (o *moveOp) forward(n *Net) error {
	if err := o.plan(n); err != nil {
		return err
	}
	for k, s := range o.outs {
		y := n.vals[s]
		y.resize(o.outShapes[k])
		src, which := o.src[k], o.which[k]
		x0 := n.vals[o.ins[0]].data
		parallel(len(y.data), n.threads, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				e := src[i]
				switch {
				case e < 0:
					y.data[i] = o.fill
				case which == nil:
					y.data[i] = x0[e]
				default:
					y.data[i] = n.vals[o.ins[which[i]]].data[e]
				}
			}
		})
	}
	return nil
}

func (o *moveOp) backward(n *Net) {
	for k, s := range o.outs {
		dy := n.vals[s].grad
		src, which := o.src[k], o.which[k]
		scatter := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				e := src[i]
				if e < 0 {
					continue
				}
				j := 0
				if which != nil {
					j = int(which[i])
				}
				if g := n.vals[o.ins[j]].grad; g != nil {
					g[e] += dy[i]
				}
			}
		}
		if o.inj {
			parallel(len(dy), n.threads, scatter)
		} else {
			scatter(0, len(dy))
		}
	}
}
