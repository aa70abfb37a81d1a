package graph

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// maxFunctionDepth bounds nested function calls: a function calling itself,
// directly or not, is refused rather than expanded for ever.
const maxFunctionDepth = 32

// inlineFunctions expands every call of a model-local function (the model's
// FunctionProtos; torch.onnx.export(export_modules_as_functions=...) writes a
// module class as one, called by a node of that op_type in the function's
// domain) into the function's nodes, in the main graph and in every subgraph,
// and drops the opset imports of the function domains nothing uses any more.
// Inside a call, the function's formal inputs and outputs become the call's
// actual names, its other values and node names are prefixed with the call's
// node name, and an attribute that refers to one of the function's attributes
// (ref_attr_name) takes the call's value, or is left out (the operator's
// default) when the call does not set it. The function must import the model's
// version of the default domain: a body written for another opset would be read
// with the model's operator semantics.
func inlineFunctions(mp *onnxpb.ModelProto) error {
	if len(mp.GetFunctions()) == 0 {
		return nil
	}
	opset := map[string]int64{}
	for _, o := range mp.GetOpsetImport() {
		opset[canonDomain(o.GetDomain())] = o.GetVersion()
	}
	in := &inliner{funcs: map[string]*onnxpb.FunctionProto{}}
	for _, f := range mp.GetFunctions() {
		for _, o := range f.GetOpsetImport() {
			d := canonDomain(o.GetDomain())
			if v, ok := opset[d]; ok && d == "" && v != o.GetVersion() {
				return fmt.Errorf("function %s (domain %s): imports opset %d of the default domain, the model %d",
					f.GetName(), f.GetDomain(), o.GetVersion(), v)
			}
		}
		in.funcs[funcKey(f.GetDomain(), f.GetName())] = f
	}
	if err := in.graph(mp.GetGraph(), 0); err != nil {
		return err
	}
	used := map[string]bool{}
	usedDomains(mp.GetGraph(), used)
	var keep []*onnxpb.OperatorSetIdProto
	for _, o := range mp.GetOpsetImport() {
		d := canonDomain(o.GetDomain())
		if in.domains[d] && !used[d] {
			continue
		}
		keep = append(keep, o)
	}
	mp.OpsetImport = keep
	mp.Functions = nil
	return nil
}

type inliner struct {
	funcs   map[string]*onnxpb.FunctionProto
	domains map[string]bool // the domains of the functions that were called
	calls   int
}

func canonDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

func funcKey(domain, name string) string { return canonDomain(domain) + "\x00" + name }

// graph expands the calls in gp's nodes and in their subgraphs.
func (in *inliner) graph(gp *onnxpb.GraphProto, depth int) error {
	if gp == nil {
		return nil
	}
	var out []*onnxpb.NodeProto
	for _, n := range gp.GetNode() {
		nodes, err := in.node(n, depth)
		if err != nil {
			return err
		}
		out = append(out, nodes...)
	}
	gp.Node = out
	return nil
}

// node returns n with its subgraphs expanded, or, when n calls a function, the
// function's nodes (themselves expanded).
func (in *inliner) node(n *onnxpb.NodeProto, depth int) ([]*onnxpb.NodeProto, error) {
	for _, a := range n.GetAttribute() {
		if err := in.graph(a.GetG(), depth); err != nil {
			return nil, err
		}
		for _, g := range a.GetGraphs() {
			if err := in.graph(g, depth); err != nil {
				return nil, err
			}
		}
	}
	f := in.funcs[funcKey(n.GetDomain(), n.GetOpType())]
	if f == nil {
		return []*onnxpb.NodeProto{n}, nil
	}
	label := fmt.Sprintf("%s %q", n.GetOpType(), n.GetName())
	if depth >= maxFunctionDepth {
		return nil, fmt.Errorf("%s: function calls nest deeper than %d (a recursive function?)", label, maxFunctionDepth)
	}
	if len(n.GetInput()) > len(f.GetInput()) || len(n.GetOutput()) > len(f.GetOutput()) {
		return nil, fmt.Errorf("%s: %d inputs and %d outputs for function %s of %d and %d", label,
			len(n.GetInput()), len(n.GetOutput()), f.GetName(), len(f.GetInput()), len(f.GetOutput()))
	}
	if in.domains == nil {
		in.domains = map[string]bool{}
	}
	in.domains[canonDomain(f.GetDomain())] = true
	in.calls++
	prefix := n.GetName()
	if prefix == "" {
		prefix = fmt.Sprintf("%s_call%d", f.GetName(), in.calls)
	}
	names := map[string]string{"": ""}
	for i, x := range f.GetInput() {
		names[x] = "" // an optional input the call leaves out
		if i < len(n.GetInput()) {
			names[x] = n.GetInput()[i]
		}
	}
	for i, y := range f.GetOutput() {
		if i < len(n.GetOutput()) && n.GetOutput()[i] != "" {
			names[y] = n.GetOutput()[i]
		}
	}
	rename := func(s string) string {
		if v, ok := names[s]; ok {
			return v
		}
		v := prefix + "/" + s
		names[s] = v
		return v
	}
	callAttrs := map[string]*onnxpb.AttributeProto{}
	for _, a := range n.GetAttribute() {
		callAttrs[a.GetName()] = a
	}
	var out []*onnxpb.NodeProto
	for _, b := range f.GetNode() {
		c := proto.Clone(b).(*onnxpb.NodeProto)
		var attrs []*onnxpb.AttributeProto
		for _, a := range c.GetAttribute() {
			if a.GetG() != nil || len(a.GetGraphs()) > 0 {
				return nil, fmt.Errorf("%s: function %s: node %q has a subgraph, which a function body may not have here",
					label, f.GetName(), b.GetName())
			}
			if ref := a.GetRefAttrName(); ref != "" {
				v := callAttrs[ref]
				if v == nil {
					continue // not set by the call: the operator's default
				}
				name := a.GetName()
				a = proto.Clone(v).(*onnxpb.AttributeProto)
				a.Name = proto.String(name)
			}
			attrs = append(attrs, a)
		}
		c.Attribute = attrs
		for i, x := range c.GetInput() {
			c.Input[i] = rename(x)
		}
		for i, y := range c.GetOutput() {
			c.Output[i] = rename(y)
		}
		c.Name = proto.String(prefix + "/" + b.GetName())
		expanded, err := in.node(c, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, expanded...)
	}
	return out, nil
}

// usedDomains records the domains of gp's nodes and its subgraphs' nodes.
func usedDomains(gp *onnxpb.GraphProto, used map[string]bool) {
	for _, n := range gp.GetNode() {
		used[canonDomain(n.GetDomain())] = true
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil {
				usedDomains(a.GetG(), used)
			}
			for _, g := range a.GetGraphs() {
				usedDomains(g, used)
			}
		}
	}
}
