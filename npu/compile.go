package npu

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// compile turns a model into the step program for one request: placement, fusion,
// padding materialisation and host/PCIe boundary steps.
func compile(m *graph.Model, cfg Config, h hw) (*program, error) {
	a, err := analyse(m, cfg.Batch, cfg.InputShapes)
	if err != nil {
		return nil, err
	}
	if !cfg.AssumeInt8 && !a.g.IsQuantized() {
		return nil, fmt.Errorf("model is not quantized (no QuantizeLinear, DequantizeLinear or QLinear* operators): " +
			"quantize it first (bench.Prepare, warboy quantize) or set AssumeInt8 for a timing-only estimate")
	}
	p := collapse(a, cfg)
	p.renumber()
	mergeRegions(p, a)
	place(p, a, h)
	fuse(p)
	demoteFloat(p)
	materialisePads(p)
	hoistOutputs(p)
	addBoundaries(p, cfg, h)
	p.renumber()
	if op := m.Opset(); op > maxCompilerOpset {
		p.warnings = append(p.warnings, fmt.Sprintf("the model uses ONNX opset %d; Warboy's compiler accepts opset %d or lower "+
			"(warboy.md 1.5) and would refuse it: convert the model to opset %d (the simulator times it as is)", op, maxCompilerOpset, maxCompilerOpset))
	}
	if len(a.rebatched) > 0 {
		p.warnings = append(p.warnings, fmt.Sprintf("input %q has a static batch of 1: re-batched to %d (the batch reaches every output)", a.rebatched[0], cfg.Batch))
	}
	if cfg.AssumeInt8 && !a.g.IsQuantized() {
		p.warnings = append(p.warnings, "float32 model timed as int8 without quantization (AssumeInt8); functional outputs, if asked for, are float32")
	}
	return p, nil
}

func (p *program) renumber() {
	live := p.steps[:0]
	for _, l := range p.steps {
		if !l.dead {
			live = append(live, l)
		}
	}
	p.steps = live
	for i, l := range p.steps {
		l.idx = i
	}
}

// place decides NPU or host for every step.
func place(p *program, a *analysis, h hw) {
	dramCap := int64(h.p.Chip.DRAMCapacityGB.Value * 1e9)
	for _, l := range p.steps {
		reason := classify(l, a)
		if reason == "" && l.floatWeight != "" {
			reason = fmt.Sprintf("runs in float32: weight %q is not quantized", l.floatWeight)
		}
		if reason == "" {
			for _, t := range l.in {
				if !t.int8 {
					reason = fmt.Sprintf("runs in float32: input %q is not quantized", t.display())
					break
				}
			}
		}
		if reason == "" && l.wBytes+l.cBytes > dramCap {
			reason = fmt.Sprintf("weights of %d bytes exceed the NPU's DRAM", l.wBytes+l.cBytes)
		}
		if reason != "" {
			l.engine = EngineHost
			l.reason = reason
			if l.macs == 0 {
				l.macs = hostMACs(l, a)
			}
			continue
		}
		l.engine = EngineNPU
		for _, t := range l.out {
			t.int8 = true
			if movesData(l.kind) && allQuant(l.in) {
				// Data movement stays in the quantized domain of its input.
				t.quant = true
			}
		}
	}
}

// hostMACs estimates the multiply-accumulates of a host operator for its cost.
func hostMACs(l *lop, a *analysis) int64 {
	gv := &graph.Graph{Values: a.values, Initializers: a.g.Initializers}
	return gv.MACs(l.node)
}

// fuse merges epilogue operators into the NPU operator that produces their input:
// BatchNormalization and activations into MAC operators (folded into the
// requantisation), a residual Add/Sub/Mul whose other operand is already computed,
// and activations after standalone elementwise operators.
func fuse(p *program) {
	for _, l := range p.steps {
		if l.dead || l.engine != EngineNPU || (!l.kind.isMAC() && l.kind != kEltwise) {
			continue
		}
		for len(l.fused) < 5 && fuseNext(l) {
		}
		if l.geom != nil {
			for _, f := range l.fused {
				if needsTable(f) {
					l.geom.tableEpilogue = true
				}
			}
			if l.lut {
				l.geom.tableEpilogue = true
			}
		}
	}
}

// fuseNext merges the single consumer of l's output into l when it is an epilogue
// the NPU applies while requantising l's accumulators.
func fuseNext(l *lop) bool {
	if len(l.out) != 1 {
		return false
	}
	t := l.out[0]
	if t.graphOut {
		return false
	}
	if fuseSiLU(l, t) {
		return true
	}
	if len(t.users) != 1 {
		return false
	}
	c := t.users[0]
	if c.engine != EngineNPU || c.dead || len(c.out) != 1 {
		return false
	}
	var other *vt
	switch {
	case c.opType == "BatchNormalization":
		if !l.kind.isMAC() || len(l.fused) > 0 {
			return false
		}
	case c.region == regionTable && len(c.in) == 1:
		// A tabulated chain (SiLU, HardSwish, GELU) is the epilogue's table lookup.
	case (epilogueUnary[c.opType] || graph.UnaryElementwise(c.opType)) && len(c.in) == 1:
	case binaryNPU[c.opType] && c.opType != "Pow" && l.kind.isMAC() && len(c.in) == 1:
		// Elementwise with a constant operand (scale, shift).
	case binaryNPU[c.opType] && c.opType != "Pow" && l.kind.isMAC() && len(c.in) == 2:
		// A residual operand is read during the epilogue; it must already exist.
		other = c.in[0]
		if other == t {
			other = c.in[1]
		}
		if other == t || !slices.Equal(other.shape, t.shape) || (other.prod != nil && other.prod.idx >= l.idx) {
			return false
		}
	default:
		return false
	}
	if c.region == regionTable {
		l.fused = append(l.fused, c.fused...)
		l.lut = l.lut || c.lut
	} else {
		l.fused = append(l.fused, c.opType)
	}
	l.nodes = append(l.nodes, c.nodes...)
	l.cBytes += c.cBytes
	if other != nil {
		l.in = append(l.in, other)
		other.users = replaceUser(other.users, c, l)
	}
	l.out = c.out
	for _, o := range c.out {
		o.prod = l
	}
	c.dead = true
	return true
}

// tableActivation are the epilogue activations evaluated by table lookup
// (num_table_ports): transcendental functions. Relu, Clip and LeakyRelu are
// comparisons and a shift in the requantisation pipeline.
var tableActivation = map[string]bool{
	"Sigmoid": true, "Tanh": true, "Softplus": true, "Elu": true, "Gelu": true, "Erf": true, "Exp": true,
}

// needsTable reports whether an elementwise operator of one int8 tensor is evaluated
// by table lookup: the transcendental activations and every other unary elementwise
// function that is not a clamp, a shift or a sign (graph.UnaryElementwise).
func needsTable(op string) bool {
	return tableActivation[op] || (graph.UnaryElementwise(op) && !regionLinear[op])
}

// fuseSiLU merges x * sigmoid(x) into the operator producing x: the SiLU (swish)
// of YOLO-class networks, which exporters write as Sigmoid(x) and Mul(x, Sigmoid(x)),
// so that x has two consumers. The compiler evaluates it in the producer's epilogue
// (a sigmoid table lookup and a multiply before requantisation), so x never reaches
// SRAM. It returns false, changing nothing, when the pattern does not match exactly.
func fuseSiLU(l *lop, t *vt) bool {
	if len(t.users) != 2 {
		return false
	}
	sig, mul := t.users[0], t.users[1]
	if sig.opType != "Sigmoid" {
		sig, mul = mul, sig
	}
	if sig.opType != "Sigmoid" || mul.opType != "Mul" || sig.dead || mul.dead ||
		sig.engine != EngineNPU || mul.engine != EngineNPU || len(sig.in) != 1 || len(sig.out) != 1 || len(mul.out) != 1 {
		return false
	}
	s := sig.out[0]
	if s.graphOut || len(s.users) != 1 || s.users[0] != mul || len(mul.in) != 2 {
		return false
	}
	if !((mul.in[0] == t && mul.in[1] == s) || (mul.in[0] == s && mul.in[1] == t)) {
		return false
	}
	l.fused = append(l.fused, "Sigmoid", "Mul")
	l.nodes = append(l.nodes, sig.nodes...)
	l.nodes = append(l.nodes, mul.nodes...)
	l.cBytes += sig.cBytes + mul.cBytes
	l.out = mul.out
	for _, o := range mul.out {
		o.prod = l
	}
	sig.dead, mul.dead = true, true
	return true
}

// movesData reports operators that only move or select int8 values, so their output
// has the quantization of their input.
func movesData(k opKind) bool {
	switch k {
	case kView, kCopy, kTranspose, kMaxPool, kPad:
		return true
	}
	return false
}

func allQuant(ts []*vt) bool {
	for _, t := range ts {
		if !t.quant {
			return false
		}
	}
	return len(ts) > 0
}

// demoteFloat moves to the host the operators the quantizer left in float32: in a
// QDQ graph an operator whose (fused) output is not quantized computes in float, so
// it cannot run on the int8 NPU; its consumers then see a float input and follow.
func demoteFloat(p *program) {
	for changed := true; changed; {
		changed = false
		for _, l := range p.steps {
			if l.dead || l.engine != EngineNPU {
				continue
			}
			reason := ""
			for _, t := range l.out {
				if !t.quant {
					reason = fmt.Sprintf("runs in float32: the quantizer left its output %q unquantized", t.display())
					break
				}
			}
			for _, t := range l.in {
				if !t.int8 {
					reason = fmt.Sprintf("runs in float32: input %q is not quantized", t.display())
					break
				}
			}
			if reason == "" {
				continue
			}
			l.engine, l.reason, changed = EngineHost, reason, true
			for _, t := range l.out {
				t.int8 = t.quant
			}
		}
	}
}

func replaceUser(users []*lop, old, new *lop) []*lop {
	out := users[:0]
	seen := false
	for _, u := range users {
		if u == old {
			u = new
		}
		if u == new {
			if seen {
				continue
			}
			seen = true
		}
		out = append(out, u)
	}
	return out
}

// hoistOutputs moves every NPU operator whose results only leave the chip (graph
// outputs with no NPU consumer, such as a detector's per-scale heads) to just after
// the last producer of its inputs. Exporters write such heads at the end of the
// graph, but the compiler is free to run them early, so that their device-to-host
// copies overlap the rest of the network instead of trailing it.
func hoistOutputs(p *program) {
	for i := 0; i < len(p.steps); i++ {
		l := p.steps[i]
		if l.engine != EngineNPU || len(l.out) == 0 {
			continue
		}
		leaf := true
		for _, t := range l.out {
			if !t.graphOut {
				leaf = false
			}
			for _, u := range t.users {
				if !u.dead {
					leaf = false
				}
			}
		}
		if !leaf {
			continue
		}
		at := -1
		for j := 0; j < i; j++ {
			for _, o := range p.steps[j].out {
				for _, in := range l.in {
					if in == o {
						at = j
					}
				}
			}
		}
		if at < 0 || at+1 >= i {
			continue
		}
		copy(p.steps[at+2:i+1], p.steps[at+1:i])
		p.steps[at+1] = l
	}
	for i, l := range p.steps {
		l.idx = i
	}
}

// materialisePads gives every padded MAC operator a LowLevelPad step that writes the
// padded input into SRAM (the MAC array reads dense, padded rows). An explicit Pad on
// the NPU that only feeds the convolution absorbs the convolution's own padding.
func materialisePads(p *program) {
	var out []*lop
	for _, l := range p.steps {
		if l.dead {
			continue
		}
		if l.engine != EngineNPU || !l.kind.isMAC() || l.geom == nil || l.pads == [4]int{} || len(l.in) == 0 {
			out = append(out, l)
			continue
		}
		x := l.in[0]
		padded := append([]int(nil), x.shape...)
		r := len(padded)
		padded[r-2] += l.pads[0] + l.pads[2]
		padded[r-1] += l.pads[1] + l.pads[3]
		if pr := x.prod; pr != nil && pr.engine == EngineNPU && pr.kind == kPad && len(x.users) == 1 && !x.graphOut {
			x.shape = padded
		} else {
			pt := &vt{name: x.name + "/padded", shape: padded, int8: true, dtype: x.dtype}
			pl := &lop{name: l.name + "/pad", opType: "Pad", kind: kPad, engine: EngineNPU, in: []*vt{x}, out: []*vt{pt},
				nodes: []string{l.name}}
			pt.prod = pl
			pt.users = []*lop{l}
			x.users = replaceUser(x.users, l, pl)
			l.in[0] = pt
			out = append(out, pl)
		}
		l.pads = [4]int{}
		out = append(out, l)
	}
	p.steps = out
}

// lowerOnNPU reports whether a tensor's layout conversion can run on the NPU: the
// last axis must be the width and a multiple of the 32 lanes (warboy.md 1.4).
func lowerOnNPU(shape []int, lanes int) bool {
	return len(shape) >= 3 && shape[len(shape)-1]%lanes == 0
}

// addBoundaries inserts the host and PCIe steps where data crosses between the host
// and the NPU: Quantize, Lower, host-to-device copy on the way in; device-to-host
// copy, Unlower, Dequantize on the way out. Each chain's steps depend on the previous
// one; the tensor records where its device copy (devAvail) or host copy (hostAvail)
// becomes available.
func addBoundaries(p *program, cfg Config, h hw) {
	var out []*lop
	inDone := map[*vt]bool{}
	outDone := map[*vt]bool{}
	mk := func(t *vt, kind opKind, engine Engine, bytes int64, prev *lop) *lop {
		l := &lop{name: t.display() + "/" + lowLevelNames[kind], opType: lowLevelNames[kind], kind: kind, engine: engine,
			xfer: t, xferByte: bytes}
		if prev != nil {
			l.deps = append(l.deps, prev)
		}
		out = append(out, l)
		return l
	}
	emitIn := func(t *vt) {
		if inDone[t] {
			return
		}
		inDone[t] = true
		// PCIe writes land in the NPU's memory-mapped SRAM when the tensor is planned
		// to stay there (planMemory may still spill it to DRAM).
		raw := t.elems()
		lowered := layoutBytes(t.shape, h)
		prev := t.prod // a host operator, or nil for a graph input
		if t.graphIn && cfg.PreLowered {
			t.devAvail = mk(t, kH2D, EnginePCIe, lowered, prev)
			return
		}
		native := t.dtype == graph.Int8 || t.dtype == graph.Uint8 || (t.graphIn && cfg.QuantizedInput)
		if !native {
			prev = mk(t, kQuantize, EngineHost, raw, prev)
		}
		if !lowerOnNPU(t.shape, h.lanes) {
			prev = mk(t, kLower, EngineHost, raw, prev)
			t.devAvail = mk(t, kH2D, EnginePCIe, lowered, prev)
			return
		}
		// The raw tensor lands in DRAM and the NPU lowers it into SRAM; NPU consumers
		// read the lowered copy.
		t.devAvail = mk(t, kH2D, EnginePCIe, raw, prev)
		lt := &vt{name: t.name + "/lowered", shape: t.shape, int8: true, dtype: graph.Int8}
		lw := mk(t, kLower, EngineNPU, raw, nil)
		lw.in = []*vt{t}
		lw.out = []*vt{lt}
		lt.prod = lw
		var keep []*lop
		for _, u := range t.users {
			if u.engine != EngineNPU {
				keep = append(keep, u)
				continue
			}
			for i, in := range u.in {
				if in == t {
					u.in[i] = lt
				}
			}
			lt.users = append(lt.users, u)
		}
		t.users = append(keep, lw)
	}
	emitOut := func(t *vt, toHost bool) {
		if outDone[t] {
			return
		}
		outDone[t] = true
		raw := t.elems()
		lowered := layoutBytes(t.shape, h)
		if t.graphOut && !toHost && cfg.PreLowered {
			t.hostAvail = mk(t, kD2H, EnginePCIe, lowered, t.prod)
			return
		}
		float := toHost || t.dtype.IsFloat()
		onNPU := lowerOnNPU(t.shape, h.lanes)
		npuDQ := float && h.p.Model.NPUDequantize.Value == 1
		var prev *lop = t.prod
		size := lowered
		if onNPU {
			size = raw
		}
		if npuDQ {
			size *= 4
		}
		if onNPU || npuDQ {
			// One vector step reads the tensor in SRAM and writes the converted copy
			// to DRAM for the PCIe transfer.
			kind := kDequantize
			if onNPU {
				kind = kUnlower
			}
			c := mk(t, kind, EngineNPU, size, prev)
			c.in = []*vt{t}
			if onNPU && npuDQ {
				c.fused = append(c.fused, "Dequantize")
			}
			t.users = append(t.users, c)
			prev = c
		}
		prev = mk(t, kD2H, EnginePCIe, size, prev)
		if !onNPU {
			prev = mk(t, kUnlower, EngineHost, size, prev)
		}
		if float && !npuDQ {
			prev = mk(t, kDequantize, EngineHost, raw, prev)
		}
		t.hostAvail = prev
	}
	for _, l := range p.steps {
		if l.engine == EngineNPU {
			for _, t := range l.in {
				if t.prod == nil || t.prod.engine != EngineNPU {
					emitIn(t)
				}
			}
		}
		if l.engine == EngineHost {
			for _, t := range l.in {
				if t.prod != nil && t.prod.engine == EngineNPU {
					emitOut(t, true)
				}
			}
		}
		out = append(out, l)
	}
	for _, t := range p.outputs {
		if t.prod != nil && t.prod.engine == EngineNPU {
			emitOut(t, false)
		}
	}
	p.steps = out
}
