package qat

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime"
)

// rnnOp is an LSTM, GRU or RNN, trained through time (backpropagation through the
// steps of each direction). Quantize gives such an operator int8 W and R (one
// symmetric scale per gate row, shared by the directions) and quantizes X; the
// int8 executor (QRNN) then makes the input projection on X's codes and, before
// every step, quantizes the hidden state with DynamicQuantizeLinear's uint8
// parameters for the recurrent product; the gates, the cell state and the
// outputs stay float32 (docs/runtime.md "int8 LSTM and GRU"). Training computes
// the same: W and R fake-quantized per row (weightRef), X arriving
// fake-quantized, the state fake-quantized on its own range at each step
// (straight through: a range that is the values' own min/max clips nothing).
// The executor takes one state range over the batch it runs; training takes each
// sample's own (the executor's answer for a batch of one), so that what a sample
// learns does not depend on the samples it was batched with. An operator
// Quantize leaves in float32 (a batch-first layout, the plain RNN) trains in
// float32.
type rnnOp struct {
	node       string
	gru        bool
	lbr        bool // GRU: linear_before_reset = 1 (the reset gate after R's product)
	gates      int  // 4 (LSTM: i, o, f, c), 3 (GRU: z, r, h) or 1 (RNN)
	relu       bool // RNN: Relu instead of Tanh (nn.RNN(nonlinearity="relu"))
	hidden     int
	dirs       int
	reverse    []bool // per direction
	batchFirst bool   // layout = 1
	in         int
	w, r       *weightRef
	b          *Param // [dirs, 2·gates·hidden] or nil
	seqLens    noGradIn
	hasSeq     bool
	h0, c0     int // slots of initial_h, initial_c; -1 when absent
	outs       []int
	quantState bool

	steps, batch, inputs int
	lens                 []int
	d                    []rnnDir
	xs                   []float32 // X in step order (X itself, or xsBuf for a batch-first layout)
	xsBuf, dxs           []float32 // batch-first X and its gradient in step order
}

// rnnDir is the record of one direction's last forward pass, in step order
// ([time][batch][...]), and its backward scratch.
type rnnDir struct {
	xw    []float32 // [T, B, gates·H]: input projection with the biases that add to it
	act   []float32 // [T, B, gates·H]: gate activations (LSTM i, o, f, c̃; GRU z, r, h̃)
	hp    []float32 // [T, B, H]: the state before the step
	hq    []float32 // [T, B, H]: that state as the recurrent product reads it (fake-quantized)
	cp    []float32 // LSTM [T, B, H]: the cell before the step
	extra []float32 // LSTM: tanh(c_t); GRU lbr=1: H·R_hᵀ + Rb_h; GRU lbr=0: (r ⊙ H) fake-quantized
	h, c  []float32 // [B, H]: the running state (after the pass: Y_h, Y_c)
	dxw   []float32 // [T, B, gates·H]: d loss / d input-side pre-activations
	drg   []float32 // [T, B, gates·H]: d loss / d recurrent-side pre-activations
	dh    []float32 // [B, H]
	dc    []float32 // [B, H]
	tmp   []float32 // [B, max(gates·H, H)]
}

// rnnDefaultActs are the activations an LSTM, a GRU and an RNN apply when the
// attribute is absent; training differentiates these cells, and an RNN with Relu.
var rnnDefaultActs = map[string][]string{"LSTM": {"Sigmoid", "Tanh", "Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "RNN": {"Tanh"}}

func buildRNN(b *builder, node *graph.Node) (built, error) {
	gru := node.OpType == "GRU"
	acts := node.AttrStrings("activations", nil)
	o := &rnnOp{node: node.Label(), gru: gru, gates: graph.RNNGates(node.OpType), h0: -1, c0: -1,
		relu: node.OpType == "RNN" && len(acts) > 0 && acts[0] == "Relu",
		lbr:  gru && node.AttrInt("linear_before_reset", 0) != 0, batchFirst: node.AttrInt("layout", 0) != 0}
	dirs, err := graph.RNNDirections(node)
	if err != nil {
		return built{}, err
	}
	o.dirs = dirs
	switch node.AttrString("direction", "forward") {
	case "reverse":
		o.reverse = []bool{true}
	case "bidirectional":
		o.reverse = []bool{false, true}
	default:
		o.reverse = []bool{false}
	}
	if err := rnnTrainableCell(node); err != nil {
		return built{}, err
	}
	if o.in, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	for i, what := range []string{"W", "R"} {
		name := node.Input(1 + i)
		t := b.g.Initializers[name]
		if t == nil || t.DType != graph.Float32 || len(t.Shape) != 3 {
			return built{}, fmt.Errorf("%w: %s %q is not a 3-D float32 constant", ErrNoGradient, what, name)
		}
		w, err := b.weight(name)
		if err != nil {
			return built{}, fmt.Errorf("%s: %w", what, err)
		}
		if i == 0 {
			o.w = w
		} else {
			o.r = w
		}
	}
	ws, rs := o.w.p.Shape, o.r.p.Shape
	o.hidden = rs[2]
	gh := o.gates * o.hidden
	if o.hidden < 1 || ws[0] != dirs || rs[0] != dirs || ws[1] != gh || rs[1] != gh {
		return built{}, fmt.Errorf("W %v and R %v do not fit %d direction(s) of %d gates of hidden size %d", ws, rs, dirs, o.gates, o.hidden)
	}
	o.inputs = ws[2]
	if name := node.Input(3); name != "" {
		t := b.g.Initializers[name]
		if t == nil {
			return built{}, fmt.Errorf("%w: B %q is not a constant", ErrNoGradient, name)
		}
		if o.b, err = b.param(name, false); err != nil {
			return built{}, fmt.Errorf("B: %w", err)
		}
		if len(o.b.W) != dirs*2*gh {
			return built{}, fmt.Errorf("B has shape %v, want [%d, %d]", t.Shape, dirs, 2*gh)
		}
	}
	if name := node.Input(4); name != "" {
		if o.seqLens, o.hasSeq = b.noGradInput(name); !o.hasSeq {
			return built{}, fmt.Errorf("%w: sequence_lens %q is computed by the network", ErrNoGradient, name)
		}
	}
	for i, slot := range []*int{&o.h0, &o.c0} {
		name := node.Input(5 + i)
		if name == "" || (o.gates < 4 && i == 1) {
			continue
		}
		if *slot, err = b.input(node, name); err != nil {
			return built{}, err
		}
	}
	o.quantState = o.w.quant && o.r.quant
	n := 3 // Y, Y_h, Y_c
	if o.gates < 4 {
		n = 2
	}
	for range n {
		o.outs = append(o.outs, b.slot())
	}
	o.d = make([]rnnDir, dirs)
	return built{o, o.outs[0]}, nil
}

// rnnTrainableCell refuses what the gradient does not cover, naming it.
func rnnTrainableCell(node *graph.Node) error {
	op := node.OpType
	if node.HasAttr("clip") {
		return fmt.Errorf("%w: %s with a cell clip", ErrNoGradient, op)
	}
	if node.AttrInt("input_forget", 0) != 0 {
		return fmt.Errorf("%w: LSTM with input_forget = 1", ErrNoGradient)
	}
	if op == "LSTM" && node.Input(7) != "" {
		return fmt.Errorf("%w: LSTM with peepholes (P %q)", ErrNoGradient, node.Input(7))
	}
	def := rnnDefaultActs[op]
	acts := node.AttrStrings("activations", nil)
	if len(acts)%len(def) != 0 {
		return fmt.Errorf("%s lists %d activations, want a multiple of %d", op, len(acts), len(def))
	}
	if op == "RNN" && len(acts) > 0 && acts[0] == "Relu" {
		def = []string{"Relu"}
	}
	for i, a := range acts {
		if a != def[i%len(def)] {
			return fmt.Errorf("%w: %s with activations %v (the default cell %v only)", ErrNoGradient, op, acts, rnnDefaultActs[op])
		}
	}
	return nil
}

func (o *rnnOp) label() string   { return o.node }
func (o *rnnOp) outSlots() []int { return o.outs }

// xRow is the row of X (and of its gradient) holding step t of sample b.
func (o *rnnOp) xRow(t, b int) int {
	if o.batchFirst {
		return b*o.steps + t
	}
	return t*o.batch + b
}

// yOff is the offset of Y's row of step t, direction d, sample b.
func (o *rnnOp) yOff(t, d, b int) int {
	if o.batchFirst { // [B, T, D, H]
		return ((b*o.steps+t)*o.dirs + d) * o.hidden
	}
	return ((t*o.dirs+d)*o.batch + b) * o.hidden // [T, D, B, H]
}

// stateOff is the offset of sample b's state of direction d in Y_h, Y_c and the
// initial states.
func (o *rnnOp) stateOff(d, b int) int {
	if o.batchFirst { // [B, D, H]
		return (b*o.dirs + d) * o.hidden
	}
	return (d*o.batch + b) * o.hidden // [D, B, H]
}

// stepOrder lists the time steps direction d runs, in order.
func (o *rnnOp) stepOrder(d int) []int {
	ts := make([]int, o.steps)
	for i := range ts {
		ts[i] = i
		if o.reverse[d] {
			ts[i] = o.steps - 1 - i
		}
	}
	return ts
}

// active reports whether step t updates sample b (sequence_lens: past a
// sample's length its state is held and Y is zero, in both directions).
func (o *rnnOp) active(t, b int) bool { return t < o.lens[b] }

func (o *rnnOp) forward(n *Net) error {
	x := n.vals[o.in]
	if len(x.shape) != 3 || x.shape[2] != o.inputs {
		return fmt.Errorf("X has shape %v, want 3-D with %d features", x.shape, o.inputs)
	}
	o.steps, o.batch = x.shape[0], x.shape[1]
	if o.batchFirst {
		o.steps, o.batch = x.shape[1], x.shape[0]
	}
	if err := o.readLens(n); err != nil {
		return err
	}
	T, B, H, gh := o.steps, o.batch, o.hidden, o.gates*o.hidden
	o.w.prepare(n)
	o.r.prepare(n)
	o.xs = x.data
	if o.batchFirst {
		o.xsBuf = grow(o.xsBuf, T*B*o.inputs)
		o.xs = o.toStepOrder(x.data, o.xsBuf)
	}
	y := n.vals[o.outs[0]]
	y.resize(o.yShape())
	clear(y.data)
	for d := range o.d {
		dr := &o.d[d]
		dr.size(T, B, H, gh, o.gates == 4)
		kernels.Sgemm(false, true, T*B, gh, o.inputs, o.xs, o.inputs, o.w.eff[d*gh*o.inputs:], o.inputs, dr.xw, gh, false, n.threads)
		o.addBiases(d, dr.xw)
		if err := o.initStates(n, d); err != nil {
			return err
		}
		for _, t := range o.stepOrder(d) {
			o.step(n, d, t)
			for b := range B {
				if o.active(t, b) {
					copy(y.data[o.yOff(t, d, b):], dr.h[b*H:(b+1)*H])
				}
			}
		}
	}
	for i, s := range o.outs[1:] {
		v := n.vals[s]
		v.resize(o.stateShape())
		for d := range o.d {
			st := o.d[d].h
			if i == 1 {
				st = o.d[d].c
			}
			for b := range B {
				copy(v.data[o.stateOff(d, b):], st[b*H:(b+1)*H])
			}
		}
	}
	return nil
}

func (o *rnnOp) yShape() []int {
	if o.batchFirst {
		return []int{o.batch, o.steps, o.dirs, o.hidden}
	}
	return []int{o.steps, o.dirs, o.batch, o.hidden}
}

func (o *rnnOp) stateShape() []int {
	if o.batchFirst {
		return []int{o.batch, o.dirs, o.hidden}
	}
	return []int{o.dirs, o.batch, o.hidden}
}

// toStepOrder copies batch-first rows [B, T, k] into step order [T, B, k].
func (o *rnnOp) toStepOrder(src, dst []float32) []float32 {
	k := len(src) / (o.steps * o.batch)
	for t := range o.steps {
		for b := range o.batch {
			copy(dst[(t*o.batch+b)*k:(t*o.batch+b+1)*k], src[o.xRow(t, b)*k:])
		}
	}
	return dst
}

func (o *rnnOp) readLens(n *Net) error {
	o.lens = slices.Grow(o.lens[:0], o.batch)[:o.batch]
	if !o.hasSeq {
		for b := range o.lens {
			o.lens[b] = o.steps
		}
		return nil
	}
	t, v, err := o.seqLens.indices(n)
	if err != nil {
		return fmt.Errorf("sequence_lens: %w", err)
	}
	if len(v) != o.batch {
		return fmt.Errorf("sequence_lens has shape %v, want [%d]", t.Shape, o.batch)
	}
	for b, l := range v {
		if l < 0 || l > int64(o.steps) {
			return fmt.Errorf("sequence_lens[%d] = %d outside [0, %d]", b, l, o.steps)
		}
		o.lens[b] = int(l)
	}
	return nil
}

func (dr *rnnDir) size(T, B, H, gh int, lstm bool) {
	dr.xw = grow(dr.xw, T*B*gh)
	dr.act = grow(dr.act, T*B*gh)
	dr.hp = grow(dr.hp, T*B*H)
	dr.hq = grow(dr.hq, T*B*H)
	dr.extra = grow(dr.extra, T*B*H)
	dr.h = grow(dr.h, B*H)
	dr.tmp = grow(dr.tmp, B*gh)
	if lstm {
		dr.cp = grow(dr.cp, T*B*H)
		dr.c = grow(dr.c, B*H)
	}
}

// addBiases adds to the input projection of direction d the biases that add to
// it: Wb and Rb for an LSTM; for a GRU Wb, Rb's z and r blocks, and Rb's h block
// unless the reset gate scales it (linear_before_reset = 1: stepGRU adds it to
// the recurrent product).
func (o *rnnOp) addBiases(d int, xw []float32) {
	if o.b == nil {
		return
	}
	gh := o.gates * o.hidden
	bias := o.d[d].tmp[:gh]
	wb := o.b.W[d*2*gh : d*2*gh+gh]
	rb := o.b.W[d*2*gh+gh : (d+1)*2*gh]
	for j := range bias {
		bias[j] = wb[j]
		if !o.lbr || j < 2*o.hidden {
			bias[j] += rb[j]
		}
	}
	for r := 0; r < len(xw); r += gh {
		kernels.AddF32(xw[r:r+gh], bias)
	}
}

// initStates loads initial_h (initial_c) or zeros into the running states.
func (o *rnnOp) initStates(n *Net, d int) error {
	dr := &o.d[d]
	H := o.hidden
	for i, s := range []int{o.h0, o.c0} {
		st := dr.h
		if i == 1 {
			if o.gates < 4 {
				break
			}
			st = dr.c
		}
		if s < 0 {
			clear(st)
			continue
		}
		v := n.vals[s]
		if len(v.data) != o.dirs*o.batch*H {
			return fmt.Errorf("initial state %d has shape %v, want %v", i, v.shape, o.stateShape())
		}
		for b := range o.batch {
			copy(st[b*H:(b+1)*H], v.data[o.stateOff(d, b):])
		}
	}
	return nil
}

// quantState writes into dst the state as the recurrent product reads it: each
// sample's row fake-quantized with DynamicQuantizeLinear's parameters of its own
// values (the int8 executor's, at batch 1), or unchanged when the operator stays
// float32.
func (o *rnnOp) quantizeState(src, dst []float32) {
	if !o.quantState {
		copy(dst, src)
		return
	}
	H := o.hidden
	for r := 0; r < len(src); r += H {
		dynFakeQuant(src[r:r+H], dst[r:r+H])
	}
}

// dynFakeQuant is DynamicQuantizeLinear followed by DequantizeLinear: uint8 codes
// on the values' own range widened to 0 (zero values give zeros).
func dynFakeQuant(src, dst []float32) {
	lo, hi := kernels.MinMaxF32(src)
	s, z := runtime.DynamicQuantizeParams(lo, hi)
	if s == 0 {
		clear(dst[:len(src)])
		return
	}
	zp := int(z) - 128 // fakeQuant's int8 grid: codes q-128, the same values
	for i, v := range src {
		dst[i] = fakeQuant(v, s, zp)
	}
}

// step runs time step t of direction d over the batch.
func (o *rnnOp) step(n *Net, d, t int) {
	switch o.gates {
	case 4:
		o.stepLSTM(n, d, t)
	case 3:
		o.stepGRU(n, d, t)
	default:
		o.stepRNN(n, d, t)
	}
}
