package qat

import (
	"errors"
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// scanOp is a Scan (opset 9 and later) whose body reads activations: a
// selective-scan recurrence (Mamba), a per-row distance. Each iteration binds
// the states and one slice of every scan input (along its axis, in its
// direction) and runs the body; the scan outputs are stacked along theirs. As
// for Loop (ops_loop.go), the backward pass runs each iteration again from its
// saved states, last to first, and hands the states' gradient back; a scan
// input's gradient is the sum of its slices'.
type scanOp struct {
	node    string
	bd      *body
	nStates int
	// states: the initial states' slots; scanIns: the scan inputs' slots
	states, scanIns []int
	inAxes, inRev   []int
	outAxes, outRev []int
	outs            []int
	outNames        []string

	trips  int
	saved  [][][]float32 // saved[t][k]: state k entering iteration t
	shapes [][][]int
	// the scan outputs of each iteration and their shape
	scans     [][][]float32
	scanShape [][]int
}

func buildScan(b *builder, node *graph.Node) (built, error) {
	if b.n.plan.Model.Opset() < 9 {
		return built{}, fmt.Errorf("%w: Scan of opset %d (its batch axis form)", ErrNoGradient, b.n.plan.Model.Opset())
	}
	sg := node.Attrs["body"]
	if sg == nil || sg.G == nil {
		return built{}, errors.New("Scan without a body")
	}
	m := int(node.AttrInt("num_scan_inputs", 0))
	if m < 1 || m > len(node.Inputs) {
		return built{}, fmt.Errorf("num_scan_inputs %d with %d inputs", m, len(node.Inputs))
	}
	o := &scanOp{node: node.Label(), nStates: len(node.Inputs) - m}
	floatIn := make([]bool, len(node.Inputs))
	for i, name := range node.Inputs {
		if name == "" {
			return built{}, fmt.Errorf("input %d is empty", i)
		}
		s, err := b.input(node, name)
		if err != nil {
			return built{}, fmt.Errorf("input %q (a state or scan input must be float32 here): %w", name, err)
		}
		floatIn[i] = true
		if i < o.nStates {
			o.states = append(o.states, s)
		} else {
			o.scanIns = append(o.scanIns, s)
		}
	}
	axes := func(attr string, k int) []int {
		out := make([]int, k)
		if a := node.Attrs[attr]; a != nil {
			for i := range out {
				if i < len(a.Ints) {
					out[i] = int(a.Ints[i])
				}
			}
		}
		return out
	}
	o.inAxes, o.inRev = axes("scan_input_axes", m), axes("scan_input_directions", m)
	bd, err := b.buildBody(node, sg.G, floatIn)
	if err != nil {
		return built{}, err
	}
	if len(bd.ins) != len(node.Inputs) || len(bd.outs) < o.nStates {
		return built{}, fmt.Errorf("body has %d inputs and %d outputs for %d inputs and %d states", len(bd.ins), len(bd.outs), len(node.Inputs), o.nStates)
	}
	for i, v := range bd.outs {
		if v.slot < 0 {
			return built{}, fmt.Errorf("body output %d (%q) is not float32", i, v.name)
		}
	}
	o.bd = bd
	nOut := len(bd.outs) - o.nStates
	o.outAxes, o.outRev = axes("scan_output_axes", nOut), axes("scan_output_directions", nOut)
	var first int
	if o.outs, o.outNames, first, err = b.controlOutputs(node, bd.outs); err != nil {
		return built{}, err
	}
	return built{o, first}, nil
}

func (o *scanOp) label() string { return o.node }

func (o *scanOp) outSlots() []int { return o.outs }

// axisOf resolves a negative axis against rank r.
func axisOf(a, r int) (int, error) {
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	return a, nil
}

// sliceGeom is [pre, T, post] around axis a of shape.
func sliceGeom(shape []int, a int) (pre, t, post int) {
	return numel(shape[:a]), shape[a], numel(shape[a+1:])
}

func (o *scanOp) forward(n *Net) error {
	bd := o.bd
	trips := -1
	for j, s := range o.scanIns {
		x := n.vals[s]
		a, err := axisOf(o.inAxes[j], len(x.shape))
		if err != nil {
			return fmt.Errorf("scan input %d: %w", j, err)
		}
		o.inAxes[j] = a
		if trips >= 0 && x.shape[a] != trips {
			return fmt.Errorf("scan input %d has %d steps along axis %d, the first %d", j, x.shape[a], a, trips)
		}
		trips = x.shape[a]
	}
	o.trips = trips
	curShape := make([][]int, o.nStates)
	curData := make([][]float32, o.nStates)
	for k, s := range o.states {
		curShape[k], curData[k] = n.vals[s].shape, n.vals[s].data
	}
	nOut := len(bd.outs) - o.nStates
	o.saved, o.shapes, o.scans = o.saved[:0], o.shapes[:0], o.scans[:0]
	o.scanShape = make([][]int, nOut)
	for t := 0; t < trips; t++ {
		data := make([][]float32, o.nStates)
		shapes := make([][]int, o.nStates)
		for k := range data {
			data[k] = append([]float32(nil), curData[k]...)
			shapes[k] = append([]int(nil), curShape[k]...)
		}
		o.saved = append(o.saved, data)
		o.shapes = append(o.shapes, shapes)
		if err := o.runIteration(n, t); err != nil {
			return fmt.Errorf("iteration %d: %w", t, err)
		}
		for k := range curData {
			v := n.vals[bd.outs[k].slot]
			curShape[k], curData[k] = v.shape, v.data
		}
		scans := make([][]float32, nOut)
		for j := range scans {
			v := n.vals[bd.outs[o.nStates+j].slot]
			if t == 0 {
				o.scanShape[j] = append([]int(nil), v.shape...)
			} else if !equalShape(v.shape, o.scanShape[j]) {
				return fmt.Errorf("iteration %d: scan output %d has shape %v, iteration 0 gave %v", t, j, v.shape, o.scanShape[j])
			}
			scans[j] = append([]float32(nil), v.data...)
		}
		o.scans = append(o.scans, scans)
	}
	for i, s := range o.outs {
		if s < 0 {
			continue
		}
		if i < o.nStates {
			setSlot(n, s, curShape[i], curData[i])
			continue
		}
		j := i - o.nStates
		if trips == 0 {
			return fmt.Errorf("scan output %q after zero iterations", o.outNames[i])
		}
		el := o.scanShape[j]
		a, err := axisOf(o.outAxes[j], len(el)+1)
		if err != nil {
			return fmt.Errorf("scan output %d: %w", j, err)
		}
		o.outAxes[j] = a
		shape := append(append(append([]int(nil), el[:a]...), trips), el[a:]...)
		v := n.vals[s]
		v.resize(shape)
		pre, _, post := sliceGeom(shape, a)
		for t := 0; t < trips; t++ {
			pos := t
			if o.outRev[j] != 0 {
				pos = trips - 1 - t
			}
			src := o.scans[t][j]
			for p := 0; p < pre; p++ {
				copy(v.data[(p*trips+pos)*post:(p*trips+pos+1)*post], src[p*post:(p+1)*post])
			}
		}
	}
	return nil
}

// position is the index along its axis of scan input j's slice at iteration t.
func (o *scanOp) position(j, t int) int {
	if o.inRev[j] != 0 {
		return o.trips - 1 - t
	}
	return t
}

// runIteration binds iteration t's states (saved) and scan slices, and runs the body.
func (o *scanOp) runIteration(n *Net, t int) error {
	bd := o.bd
	for k := 0; k < o.nStates; k++ {
		setSlot(n, bd.ins[k].slot, o.shapes[t][k], o.saved[t][k])
	}
	for j, s := range o.scanIns {
		x := n.vals[s]
		a := o.inAxes[j]
		pre, steps, post := sliceGeom(x.shape, a)
		el := append(append([]int(nil), x.shape[:a]...), x.shape[a+1:]...)
		v := n.vals[bd.ins[o.nStates+j].slot]
		v.resize(el)
		pos := o.position(j, t)
		for p := 0; p < pre; p++ {
			copy(v.data[p*post:(p+1)*post], x.data[(p*steps+pos)*post:(p*steps+pos+1)*post])
		}
	}
	return bd.run(n)
}

func (o *scanOp) backward(n *Net) {
	bd := o.bd
	carry := make([][]float32, o.nStates)
	for k := 0; k < o.nStates; k++ {
		if s := o.outs[k]; s >= 0 && n.vals[s].grad != nil {
			carry[k] = append([]float32(nil), n.vals[s].grad...)
		}
	}
	for t := o.trips - 1; t >= 0; t-- {
		_ = o.runIteration(n, t) // the forward pass's iteration t, which succeeded
		bd.clearGrads(n)
		for k := 0; k < o.nStates; k++ {
			addGrad(n, bd.outs[k].slot, carry[k])
		}
		for j := range o.scanShape {
			if o.nStates+j >= len(o.outs) {
				break
			}
			s := o.outs[o.nStates+j]
			if s < 0 || n.vals[s].grad == nil {
				continue
			}
			y := n.vals[s]
			a := o.outAxes[j]
			pre, steps, post := sliceGeom(y.shape, a)
			pos := t
			if o.outRev[j] != 0 {
				pos = steps - 1 - t
			}
			d := n.vals[bd.outs[o.nStates+j].slot].grad
			for p := 0; p < pre; p++ {
				addTo(d[p*post:(p+1)*post], y.grad[(p*steps+pos)*post:(p*steps+pos+1)*post])
			}
		}
		bd.backward(n)
		for k := 0; k < o.nStates; k++ {
			carry[k] = nil
			if v := n.vals[bd.ins[k].slot]; v.grad != nil {
				carry[k] = append([]float32(nil), v.grad...)
			}
		}
		for j, s := range o.scanIns {
			x := n.vals[s]
			g := n.vals[bd.ins[o.nStates+j].slot].grad
			if x.grad == nil || g == nil {
				continue
			}
			pre, steps, post := sliceGeom(x.shape, o.inAxes[j])
			pos := o.position(j, t)
			for p := 0; p < pre; p++ {
				addTo(x.grad[(p*steps+pos)*post:(p*steps+pos+1)*post], g[p*post:(p+1)*post])
			}
		}
	}
	for k, s := range o.states {
		if carry[k] != nil && n.vals[s].grad != nil {
			addTo(n.vals[s].grad, carry[k])
		}
	}
}
