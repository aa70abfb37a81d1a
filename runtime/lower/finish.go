package lower

import (
	"fmt"
	"sort"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- finishing ----------------------------------------------------------------------------------------

func (l *lowerer) finish() (*graph.Model, error) {
	for _, o := range l.g.Outputs {
		if _, err := l.need(o.Name); err != nil {
			return nil, fmt.Errorf("graph output %q: %w", o.Name, err)
		}
	}
	roots := map[string]bool{}
	for _, o := range l.g.Outputs {
		roots[o.Name] = true
	}
	var taps []string
	for name := range l.cfg.Taps {
		taps = append(taps, name)
	}
	sort.Strings(taps)
	for _, name := range taps {
		// A tap may name a constant: a DequantizeLinear that bound input shapes
		// turned into one (a scale computed from the image size).
		if v := l.vals[name]; v != nil && (v.avail || v.q != nil) || l.dqConst[name] != nil || l.consts[name] != nil {
			if _, err := l.need(name); err != nil {
				return nil, fmt.Errorf("tap %q: %w", name, err)
			}
			roots[name] = true
		}
	}
	l.fuseQuantizeRelayout(roots)
	l.mergeRelayouts(roots)
	l.fuseChannelShuffles(roots)
	nodes := l.liveNodes(roots)
	ng := &graph.Graph{Name: l.g.Name, Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	for _, v := range l.g.Inputs {
		c := *v
		ng.Inputs = append(ng.Inputs, &c)
		ng.Values[c.Name] = &c
	}
	for _, v := range l.g.Outputs {
		c := *v
		ng.Outputs = append(ng.Outputs, &c)
	}
	needed := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			needed[in] = true
		}
		for _, in := range n.ImplicitInputs() {
			needed[in] = true
		}
	}
	for k, t := range l.inits {
		if needed[k] || roots[k] {
			ng.Initializers[k] = t
		}
	}
	ng.Nodes = nodes
	nm := *l.m
	nm.Graph = ng
	nm.Opsets = map[string]int64{}
	for k, v := range l.m.Opsets {
		nm.Opsets[k] = v
	}
	nm.Opsets[Domain] = 1
	// Record how int8 tensors represent source values (taps, Session.Dequantized).
	produced := map[string]bool{}
	for _, n := range nodes {
		for _, o := range n.Outputs {
			produced[o] = true
		}
	}
	for _, v := range ng.Inputs {
		produced[v.Name] = true
	}
	info := map[string]*QuantInfo{}
	for name, v := range l.vals {
		r := v.q
		if r == nil || !produced[r.store] {
			continue
		}
		qi := &QuantInfo{Tensor: r.store, Scale: r.scale, ZeroPoint: r.zp, SourceType: l.dtype(name), Exact: r.exact}
		if !qtensor.IsIdentityPerm(r.perm) {
			qi.Perm = append([]int(nil), r.perm...)
		}
		if r.reshaped() {
			t, ok := shapeTemplate(r.shape, r.base)
			if !ok {
				continue
			}
			qi.Shape = t
		}
		info[name] = qi
		if _, ok := info[r.store]; !ok || name == r.store {
			st := *qi
			st.Perm, st.Shape, st.SourceType, st.Exact = nil, nil, graph.Int8, true
			if dt := l.dtype(r.store); dt != graph.Undefined {
				st.SourceType = dt
			}
			info[r.store] = &st
		}
	}
	l.cfg.Quant = info
	return &nm, nil
}

// liveNodes keeps the emitted nodes some root depends on, in emission order.
func (l *lowerer) liveNodes(roots map[string]bool) []*graph.Node {
	needed := map[string]bool{}
	for k := range roots {
		needed[k] = true
	}
	keep := make([]bool, len(l.nodes))
	for i := len(l.nodes) - 1; i >= 0; i-- {
		n := l.nodes[i]
		for _, o := range n.Outputs {
			if o != "" && needed[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				needed[in] = true
			}
			for _, in := range n.ImplicitInputs() {
				needed[in] = true
			}
		}
	}
	var out []*graph.Node
	for i, n := range l.nodes {
		if keep[i] {
			out = append(out, n)
		}
	}
	return out
}

// emittedUsers indexes the emitted nodes: the consumers and the producer of every
// tensor.
func (l *lowerer) emittedUsers() (map[string][]*graph.Node, map[string]*graph.Node) {
	users := map[string][]*graph.Node{}
	prod := map[string]*graph.Node{}
	for _, n := range l.nodes {
		for _, in := range n.Inputs {
			users[in] = append(users[in], n)
		}
		for _, in := range n.ImplicitInputs() {
			users[in] = append(users[in], n)
		}
		for _, o := range n.Outputs {
			prod[o] = n
		}
	}
	return users, prod
}

// mergeRelayouts merges a type-only Relayout (uint8 -> int8 of a raw input) into the
// layout change that reads it.
func (l *lowerer) mergeRelayouts(roots map[string]bool) {
	users, prod := l.emittedUsers()
	for _, r := range l.nodes {
		if r.Domain != Domain || r.OpType != "Relayout" || r.HasAttr("to") || len(r.Inputs) == 0 {
			continue
		}
		src := r.Inputs[0]
		first := prod[src]
		if first == nil || first.Domain != Domain || first.OpType != "Relayout" || first.HasAttr("perm") || first.HasAttr("shape") ||
			!first.HasAttr("to") || roots[src] || len(users[src]) != 1 {
			continue
		}
		raw := first.Inputs[0]
		r.Inputs[0] = raw
		r.Attrs["to"] = first.Attrs["to"]
		first.Outputs[0] = ""
		first.Inputs = nil
		// Values held by the converted tensor are held by the raw one (QuantInfo
		// zero points stay in the int8 domain; Dequantized flips uint8 bytes).
		for _, v := range l.vals {
			if v.q != nil && v.q.store == src {
				c := *v.q
				c.store = raw
				v.q = &c
			}
		}
	}
}

// fuseQuantizeRelayout folds a layout conversion into the Quantize that feeds it
// (the graph input is quantized straight into NHWC).
func (l *lowerer) fuseQuantizeRelayout(roots map[string]bool) {
	users, prod := l.emittedUsers()
	for _, r := range l.nodes {
		if r.Domain != Domain || r.OpType != "Relayout" || r.HasAttr("shape") || r.HasAttr("to") || !r.HasAttr("perm") {
			continue
		}
		src := r.Inputs[0]
		q := prod[src]
		if q == nil || q.Domain != Domain || q.OpType != "Quantize" || q.HasAttr("perm") || roots[src] || len(users[src]) != 1 {
			continue
		}
		perm := r.AttrIntList("perm")
		q.Attrs["perm"] = r.Attrs["perm"]
		q.Outputs[0] = r.Outputs[0]
		r.Outputs[0] = "" // dead
		r.Inputs = nil
		// values held by the plain tensor are now held channels-last by the new one
		for _, v := range l.vals {
			if v.q != nil && v.q.store == src && qtensor.IsIdentityPerm(v.q.perm) {
				c := *v.q
				c.store, c.perm = q.Outputs[0], perm
				v.q = &c
			}
		}
	}
}
