package graph

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Names and declarations a model is refused for when it is read (twenty-third
// session; docs/cli.md "Errors users meet (twenty-third session)"), and the warnings
// a command prints once per model it loads (LoadWarnings).

// MaxKnownOpset is the newest default-domain (ai.onnx) opset whose operator changes
// this version of warboy follows; MaxKnownMLOpset the newest ai.onnx.ml opset.
const (
	MaxKnownOpset   = 23
	MaxKnownMLOpset = 5
)

// checkAttrName refuses an attribute without a name, or given twice on one node
// (the second would replace the first silently).
func checkAttrName(n *Node, a *Attr) error {
	if a.Name == "" {
		return fmt.Errorf("%w: %s: an attribute has no name", onnx.ErrMalformed, n.Label())
	}
	if _, dup := n.Attrs[a.Name]; dup {
		return fmt.Errorf("%w: %s: attribute %q is given twice", onnx.ErrMalformed, n.Label(), a.Name)
	}
	return nil
}

// checkGraphNames refuses what a graph declares twice or without a name: two
// initializers of one name (ONNX Runtime refuses them; the last one won here), two
// graph inputs of one name, a graph input or output without a name.
func checkGraphNames(gp *onnxpb.GraphProto) error {
	inits := map[string]bool{}
	for _, t := range gp.GetInitializer() {
		if inits[t.GetName()] {
			return fmt.Errorf("%w: initializer %q is given twice", onnx.ErrMalformed, t.GetName())
		}
		inits[t.GetName()] = true
	}
	ins := map[string]bool{}
	for i, vi := range gp.GetInput() {
		switch {
		case vi.GetName() == "":
			return fmt.Errorf("%w: graph input %d has no name", onnx.ErrMalformed, i)
		case ins[vi.GetName()]:
			return fmt.Errorf("%w: graph input %q is declared twice", onnx.ErrMalformed, vi.GetName())
		}
		ins[vi.GetName()] = true
	}
	for i, vi := range gp.GetOutput() {
		if vi.GetName() == "" {
			return fmt.Errorf("%w: graph output %d has no name", onnx.ErrMalformed, i)
		}
	}
	return nil
}

// checkInitializerInput checks a graph input that an initializer also gives (ONNX IR
// >= 4: the initializer is the input's default value). Such an input is read as the
// constant it defaults to, as before, but the declaration must fit the value: an
// input declared int64[2,8] whose initializer is float32[4,4] was read as the
// initializer, silently.
func checkInitializerInput(in *Value, t *Tensor) error {
	if in.Seq {
		return fmt.Errorf("%w: graph input %q is declared a sequence, but an initializer of the same name gives it a tensor %s%v",
			onnx.ErrMalformed, in.Name, t.DType, t.Shape)
	}
	if in.DType != Undefined && in.DType != t.DType {
		decl := in.DType.String()
		if in.HasShape {
			decl += in.Shape.String()
		}
		return fmt.Errorf("%w: graph input %q is declared %s, but its initializer (its default value) is %s%s",
			onnx.ErrMalformed, in.Name, decl, t.DType, FormatDims(t.Shape))
	}
	if !in.HasShape {
		return nil
	}
	fits := len(in.Shape) == len(t.Shape)
	for i := 0; fits && i < len(in.Shape); i++ {
		fits = !in.Shape[i].Known() || in.Shape[i].Size == t.Shape[i]
	}
	if !fits {
		return fmt.Errorf("%w: graph input %q is declared with shape %s, but its initializer (its default value) has shape %v",
			onnx.ErrMalformed, in.Name, in.Shape, FormatDims(t.Shape))
	}
	return nil
}

// LoadWarnings lists what a command says once about a model it has read: an opset
// newer than this warboy knows (the model is run, each operator as the newest
// version known defines it) and node names shared by several nodes (messages,
// --exclude and per-node reports name them together).
func LoadWarnings(m *Model) []string {
	var w []string
	if v := m.Opsets[""]; v > MaxKnownOpset {
		w = append(w, fmt.Sprintf("the model imports ai.onnx opset %d, newer than the newest this warboy knows (%d): its operators run "+
			"as opset %d defines them (one whose meaning changed after %d would compute something else)", v, MaxKnownOpset, MaxKnownOpset, MaxKnownOpset))
	}
	if v := m.Opsets[MLDomain]; v > MaxKnownMLOpset {
		w = append(w, fmt.Sprintf("the model imports ai.onnx.ml opset %d, newer than the newest this warboy knows (%d): its operators run "+
			"as opset %d defines them", v, MaxKnownMLOpset, MaxKnownMLOpset))
	}
	if m.Graph == nil {
		return w
	}
	if len(m.sharedNames) > 0 {
		names := slices.Sorted(maps.Keys(m.sharedNames))
		parts := make([]string, 0, 3)
		for _, n := range names[:min(3, len(names))] {
			parts = append(parts, fmt.Sprintf("%q (%s)", n, strings.Join(m.sharedNames[n], ", ")))
		}
		more := ""
		if len(names) > 3 {
			more = fmt.Sprintf(" and %d more", len(names)-3)
		}
		w = append(w, fmt.Sprintf("several nodes share a name: %s%s; messages, --exclude and per-node reports name them together",
			strings.Join(parts, "; "), more))
	}
	return w
}

// sharedNodeNames maps each node name several nodes of the file's main graph carry
// to their operators, in file order.
func sharedNodeNames(gp *onnxpb.GraphProto) map[string][]string {
	ops := map[string][]string{}
	for _, n := range gp.GetNode() {
		if n.GetName() != "" {
			ops[n.GetName()] = append(ops[n.GetName()], n.GetOpType())
		}
	}
	for k, v := range ops {
		if len(v) < 2 {
			delete(ops, k)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	return ops
}
