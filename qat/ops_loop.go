package qat

import (
	"errors"
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// maxLoopIterations bounds a Loop without a trip count whose condition stays
// true (the runtime's bound).
const maxLoopIterations = 1 << 24

// loopOp is a Loop whose body reads activations (a scripted recurrence: a
// ConvLSTM over time steps, a filter's update, a crop per box): its body runs
// once per iteration as the runtime runs it (trip count M and condition, the
// carried values handed on, the scan outputs stacked on a new first axis), and
// its gradient is back-propagation through time. The forward pass keeps each
// iteration's carried inputs; the backward pass, from the last iteration to the
// first, runs that iteration's body again from them (which restores every op's
// state for it), seeds the carried outputs' gradients with what the next
// iteration passed back and the scan outputs' with their slice, and runs the
// body backward. The enclosing values the body reads collect every
// iteration's gradient; the carried inputs' gradient after the first iteration
// goes to the Loop's initial values.
type loopOp struct {
	node string
	// maxIn, condIn: the trip count and the condition (ok false: not given)
	maxIn, condIn   noGradIn
	hasMax, hasCond bool
	bd              *body
	nCarried        int
	// outs: the Loop's outputs, a slot each or -1 for a computed value
	// (outNames)
	outs     []int
	outNames []string
	// init: the carried values' initial slots (-1: computed or an integer
	// constant, initIn)
	init      []int
	initIn    []noGradIn
	initNames []string

	trips int
	// saved[t][k]: carried input k of iteration t (float values; computed
	// ones in savedC)
	saved  [][][]float32
	shapes [][][]int
	savedC [][]*graph.Tensor
	conds  []bool
	// scan outputs of each iteration (computed ones in scansC), and their
	// shape
	scans     [][][]float32
	scansC    [][]*graph.Tensor
	scanShape [][]int
}

func buildLoop(b *builder, node *graph.Node) (built, error) {
	sg := node.Attrs["body"]
	if sg == nil || sg.G == nil {
		return built{}, errors.New("Loop without a body")
	}
	if len(node.Inputs) < 2 {
		return built{}, errors.New("Loop needs the inputs M and cond (either may be empty)")
	}
	o := &loopOp{node: node.Label(), nCarried: len(node.Inputs) - 2}
	var ok bool
	if node.Input(0) != "" {
		if o.maxIn, ok = b.noGradInput(node.Input(0)); !ok {
			return built{}, fmt.Errorf("trip count %q is an activation", node.Input(0))
		}
		o.hasMax = true
	}
	if node.Input(1) != "" {
		if o.condIn, ok = b.noGradInput(node.Input(1)); !ok {
			return built{}, fmt.Errorf("condition %q is an activation", node.Input(1))
		}
		o.hasCond = true
	}
	if !o.hasMax && !o.hasCond {
		return built{}, errors.New("neither a trip count nor a condition: the loop would never end")
	}
	floatIn := make([]bool, 2+o.nCarried)
	for k := 0; k < o.nCarried; k++ {
		name := node.Inputs[2+k]
		s := -1
		ng, computed := b.noGradInput(name)
		_, float := b.cur[name] // an activation, or a float value the shape arithmetic computes
		if t := b.g.Initializers[name]; float || !computed || (t != nil && t.DType == graph.Float32) {
			var err error
			if s, err = b.input(node, name); err != nil {
				return built{}, err
			}
			floatIn[2+k] = true
		}
		o.init = append(o.init, s)
		o.initIn = append(o.initIn, ng)
		o.initNames = append(o.initNames, name)
	}
	bd, err := b.buildBody(node, sg.G, floatIn)
	if err != nil {
		return built{}, err
	}
	if len(bd.ins) != 2+o.nCarried || len(bd.outs) < 1+o.nCarried {
		return built{}, fmt.Errorf("body has %d inputs and %d outputs for %d carried values", len(bd.ins), len(bd.outs), o.nCarried)
	}
	for k := 0; k < o.nCarried; k++ {
		if (bd.ins[2+k].slot >= 0) != (bd.outs[1+k].slot >= 0) {
			return built{}, fmt.Errorf("carried value %d (%q): the body makes a %s from a %s", k, o.initNames[k], kindOf(bd.outs[1+k]), kindOf(bd.ins[2+k]))
		}
	}
	o.bd = bd
	var first int
	if o.outs, o.outNames, first, err = b.controlOutputs(node, bd.outs[1:]); err != nil {
		return built{}, err
	}
	return built{o, first}, nil
}

func kindOf(v bodyVar) string {
	if v.slot >= 0 {
		return "float activation"
	}
	return "computed value"
}

func (o *loopOp) label() string { return o.node }

// outSlots: each output's slot (-1 for a computed one, which the op keeps in
// Net.computed).
func (o *loopOp) outSlots() []int { return o.outs }

func (o *loopOp) forward(n *Net) error {
	trip := int64(-1)
	if o.hasMax {
		t, err := o.maxIn.value(n)
		if err != nil {
			return err
		}
		m, ok := t.Data.([]int64)
		if !ok || len(m) != 1 {
			return fmt.Errorf("trip count M must be one int64, got %s %v", t.DType, t.Shape)
		}
		trip = m[0]
	}
	cond := true
	if o.hasCond {
		t, err := o.condIn.value(n)
		if err != nil {
			return err
		}
		if cond, err = truth(t, "cond"); err != nil {
			return err
		}
	}
	bd := o.bd
	// the carried values: float ones as (shape, data), computed ones as tensors
	curShape := make([][]int, o.nCarried)
	curData := make([][]float32, o.nCarried)
	curC := make([]*graph.Tensor, o.nCarried)
	for k := 0; k < o.nCarried; k++ {
		if s := o.init[k]; s >= 0 {
			curShape[k], curData[k] = n.vals[s].shape, n.vals[s].data
		} else {
			var err error
			if curC[k], err = o.initIn[k].value(n); err != nil {
				return fmt.Errorf("carried value: %w", err)
			}
		}
	}
	o.saved, o.shapes, o.savedC, o.conds, o.scans, o.scansC = o.saved[:0], o.shapes[:0], o.savedC[:0], o.conds[:0], o.scans[:0], o.scansC[:0]
	nScan := len(bd.outs) - 1 - o.nCarried
	o.scanShape = make([][]int, nScan)
	i := 0
	for ; (trip < 0 || int64(i) < trip) && cond; i++ {
		if i >= maxLoopIterations {
			return fmt.Errorf("more than %d iterations", maxLoopIterations)
		}
		data := make([][]float32, o.nCarried)
		shapes := make([][]int, o.nCarried)
		for k := range data {
			if curData[k] != nil {
				data[k] = append([]float32(nil), curData[k]...)
				shapes[k] = append([]int(nil), curShape[k]...)
			}
		}
		o.saved = append(o.saved, data)
		o.shapes = append(o.shapes, shapes)
		o.savedC = append(o.savedC, append([]*graph.Tensor(nil), curC...))
		o.conds = append(o.conds, cond)
		if err := o.runIteration(n, i); err != nil {
			return fmt.Errorf("iteration %d: %w", i, err)
		}
		if o.hasCond {
			c := n.computed[bd.outs[0].name]
			if bd.outs[0].slot >= 0 {
				v := n.vals[bd.outs[0].slot]
				c = graph.FromFloat32(v.shape, v.data)
			}
			var err error
			if c == nil {
				return fmt.Errorf("iteration %d: the body's condition %q was not computed", i, bd.outs[0].name)
			}
			if cond, err = truth(c, "the body's condition"); err != nil {
				return fmt.Errorf("iteration %d: %w", i, err)
			}
		}
		for k := 0; k < o.nCarried; k++ {
			out := bd.outs[1+k]
			if out.slot >= 0 {
				curShape[k], curData[k] = n.vals[out.slot].shape, n.vals[out.slot].data
			} else {
				curC[k] = n.computed[out.name]
			}
		}
		scans := make([][]float32, nScan)
		scansC := make([]*graph.Tensor, nScan)
		for j := range scans {
			out := bd.outs[1+o.nCarried+j]
			if out.slot < 0 {
				if scansC[j] = n.computed[out.name]; scansC[j] == nil {
					return fmt.Errorf("iteration %d: scan output %q was not computed", i, out.name)
				}
				continue
			}
			v := n.vals[out.slot]
			if i == 0 {
				o.scanShape[j] = append([]int(nil), v.shape...)
			} else if !equalShape(v.shape, o.scanShape[j]) {
				return fmt.Errorf("iteration %d: scan output %d has shape %v, iteration 0 gave %v", i, j, v.shape, o.scanShape[j])
			}
			scans[j] = append([]float32(nil), v.data...)
		}
		o.scans = append(o.scans, scans)
		o.scansC = append(o.scansC, scansC)
	}
	o.trips = i
	for k, s := range o.outs {
		name := o.outNames[k]
		if name == "" {
			continue
		}
		if k < o.nCarried {
			if s >= 0 {
				setSlot(n, s, curShape[k], curData[k])
			} else {
				n.computed[name] = curC[k]
			}
			continue
		}
		j := k - o.nCarried
		if o.trips == 0 {
			return fmt.Errorf("scan output %q after zero iterations", name)
		}
		if s < 0 {
			parts := make([]*graph.Tensor, o.trips)
			for t := range parts {
				parts[t] = o.scansC[t][j]
			}
			st, err := stackTensors(parts)
			if err != nil {
				return fmt.Errorf("scan output %q: %w", name, err)
			}
			n.computed[name] = st
			continue
		}
		v := n.vals[s]
		v.resize(append([]int{o.trips}, o.scanShape[j]...))
		per := numel(o.scanShape[j])
		for t := 0; t < o.trips; t++ {
			copy(v.data[t*per:(t+1)*per], o.scans[t][j])
		}
	}
	return nil
}

// runIteration binds iteration t's inputs (from the saved ones) and runs the body.
func (o *loopOp) runIteration(n *Net, t int) error {
	bd := o.bd
	n.computed[bd.ins[0].name] = graph.FromInt64(nil, []int64{int64(t)})
	n.computed[bd.ins[1].name] = &graph.Tensor{DType: graph.Bool, Shape: []int{}, Data: []bool{o.conds[t]}}
	for k := 0; k < o.nCarried; k++ {
		in := bd.ins[2+k]
		if in.slot >= 0 {
			setSlot(n, in.slot, o.shapes[t][k], o.saved[t][k])
		} else {
			n.computed[in.name] = o.savedC[t][k]
		}
	}
	return bd.run(n)
}

func (o *loopOp) backward(n *Net) {
	bd := o.bd
	carry := make([][]float32, o.nCarried)
	for k := 0; k < o.nCarried; k++ {
		if s := o.outs[k]; s >= 0 && o.outNames[k] != "" && n.vals[s].grad != nil {
			carry[k] = append([]float32(nil), n.vals[s].grad...)
		}
	}
	for t := o.trips - 1; t >= 0; t-- {
		// the same computation as the forward pass's iteration t, which succeeded
		_ = o.runIteration(n, t)
		bd.clearGrads(n)
		for k := 0; k < o.nCarried; k++ {
			addGrad(n, bd.outs[1+k].slot, carry[k])
		}
		for j, s := range o.outs[o.nCarried:] {
			if s < 0 || n.vals[s].grad == nil {
				continue
			}
			per := numel(o.scanShape[j])
			addGrad(n, bd.outs[1+o.nCarried+j].slot, n.vals[s].grad[t*per:(t+1)*per])
		}
		bd.backward(n)
		for k := 0; k < o.nCarried; k++ {
			carry[k] = nil
			if s := bd.ins[2+k].slot; s >= 0 && n.vals[s].grad != nil {
				carry[k] = append([]float32(nil), n.vals[s].grad...)
			}
		}
	}
	for k, s := range o.init {
		if s >= 0 && carry[k] != nil && n.vals[s].grad != nil {
			addTo(n.vals[s].grad, carry[k])
		}
	}
}

// truth reads a one-element condition (a bool, or a number: nonzero is true).
func truth(t *graph.Tensor, what string) (bool, error) {
	if t.Len() != 1 {
		return false, fmt.Errorf("%s has %d elements, want 1", what, t.Len())
	}
	if d, ok := t.Data.([]bool); ok {
		return d[0], nil
	}
	f, err := t.AsFloat64()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return f[0] != 0, nil
}
