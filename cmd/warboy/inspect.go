package main

import (
	"cmp"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

func init() {
	register(&command{name: "inspect", summary: "show a model's inputs, outputs, operators, parameters and MACs", run: inspectCmd})
}

type inspectValue struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape string `json:"shape"`
}

type inspectNode struct {
	Name   string `json:"name"`
	OpType string `json:"op_type"`
	Output string `json:"output"`
	Shape  string `json:"output_shape"`
	MACs   int64  `json:"macs"`
	// MACsUnknown: the node multiplies, but its shapes are symbolic.
	MACsUnknown bool   `json:"macs_unknown"`
	Comment     string `json:"-"`
}

// inspectPlacement says where a node of a quantized model runs.
type inspectPlacement struct {
	Name   string `json:"name"`
	OpType string `json:"op_type"`
	Runs   string `json:"runs_on"`
	// Why names the quantizer's rule when the node runs float32 by one
	// (quantizer.MetaFloatRules), else "".
	Why string `json:"why"`
}

type inspectReport struct {
	Model    string         `json:"model"`
	Opset    int64          `json:"opset"`
	Producer string         `json:"producer"`
	Inputs   []inspectValue `json:"inputs"`
	Outputs  []inspectValue `json:"outputs"`
	OpCounts map[string]int `json:"op_counts"`
	Params   int64          `json:"parameters"`
	MACs     int64          `json:"macs"`
	// MACsComplete is false when some MACs depend on symbolic dimensions that no
	// --input-shape bound (they are left out of MACs); SymbolicDims names them.
	MACsComplete bool               `json:"macs_complete"`
	SymbolicDims []string           `json:"symbolic_dims"`
	InputShapes  map[string][]int   `json:"input_shapes"`
	Batch        int                `json:"batch"`
	Quantized    bool               `json:"quantized"`
	Nodes        []inspectNode      `json:"nodes"`
	Placement    []inspectPlacement `json:"execution"`
	Metadata     map[string]string  `json:"metadata"`
}

func inspectCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "[--ops] [--batch N] [--input-shape NAME=d0,d1,...] [--pool-qparams file|input] [--json] MODEL", stderr)
	ops := fs.Bool("ops", false, "list the operators the executor implements (no model needed)")
	batch := fs.Int("batch", 1, "batch size bound to a symbolic leading (batch) dimension when counting MACs")
	shapes := addInputShapeFlag(fs)
	poolQ := addPoolQParamsFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *ops {
		return listOps(stdout, *asJSON)
	}
	if len(pos) != 1 {
		return usageErr("inspect takes one MODEL (or --ops)")
	}
	m, err := loadModel(pos[0], stderr)
	if err != nil {
		return err
	}
	if err := shapes.share(m.Graph); err != nil {
		return err
	}
	m = poolQ.apply(m, stderr)
	rep, err := inspectModel(m, pos[0], *batch, shapes)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	printInspect(stdout, rep)
	return nil
}

func listOps(w io.Writer, asJSON bool) error {
	type op struct {
		Domain string `json:"domain"`
		OpType string `json:"op_type"`
		Int8   bool   `json:"int8"`
	}
	var list []op
	for _, o := range runtime.SupportedOps() {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		list = append(list, op{Domain: d, OpType: o.OpType, Int8: o.Int8})
	}
	if asJSON {
		return writeJSON(w, list)
	}
	byDomain := map[string][]string{}
	var domains []string
	for _, o := range list {
		if _, ok := byDomain[o.Domain]; !ok {
			domains = append(domains, o.Domain)
		}
		byDomain[o.Domain] = append(byDomain[o.Domain], o.OpType)
	}
	sort.Strings(domains)
	for _, d := range domains {
		fmt.Fprintf(w, "%s (%d operators):\n", d, len(byDomain[d]))
		fmt.Fprintln(w, wrap(strings.Join(byDomain[d], " "), 100, "  "))
	}
	return nil
}

func wrap(s string, width int, indent string) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(s) {
		if len(line)+len(word)+1 > width && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\n")
			line = indent
		}
		if strings.TrimSpace(line) != "" {
			line += " "
		}
		line += word
	}
	b.WriteString(line)
	return b.String()
}

func inspectModel(m *graph.Model, path string, batch int, given map[string][]int) (*inspectReport, error) {
	g := m.Graph
	rep := &inspectReport{
		Model: path, Opset: m.Opset(), Producer: strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion),
		OpCounts: map[string]int{}, Params: g.ParamCount(), Batch: batch, Quantized: m.Graph.IsQuantized(),
		Metadata: m.Metadata, Placement: []inspectPlacement{},
	}
	if rep.Metadata == nil {
		rep.Metadata = map[string]string{}
	}
	for _, v := range g.Inputs {
		rep.Inputs = append(rep.Inputs, inspectValue{v.Name, v.DType.String(), ioShape(v)})
	}
	for _, v := range g.Outputs {
		rep.Outputs = append(rep.Outputs, inspectValue{v.Name, v.DType.String(), ioShape(v)})
	}
	if err := inferForInspect(m, batch, given, rep); err != nil {
		return nil, err
	}
	rep.MACsComplete = true
	for _, n := range g.Nodes {
		rep.OpCounts[n.OpType]++
		macs, known := g.MACsKnown(n)
		rep.MACs += macs
		rep.MACsComplete = rep.MACsComplete && known
		shape := ""
		if len(n.Outputs) > 0 {
			if v := g.Values[n.Outputs[0]]; v != nil && v.HasShape {
				shape = v.Shape.String()
			}
			if v := g.Values[n.Outputs[0]]; v != nil && v.Seq {
				// A sequence value: what its elements' shapes have in common.
				shape = "seq(" + cmp.Or(shape, "?") + ")"
			}
		}
		out := ""
		if len(n.Outputs) > 0 {
			out = n.Outputs[0]
		}
		rep.Nodes = append(rep.Nodes, inspectNode{Name: n.Name, OpType: n.OpType, Output: out, Shape: shape, MACs: macs, MACsUnknown: !known})
	}
	if rep.Quantized {
		s, err := runtime.NewSession(m, runtime.WithWarnings(func(string) {}))
		if err != nil {
			return nil, fmt.Errorf("preparing int8 execution: %w", err)
		}
		rules, err := quantizer.FloatRules(m)
		if err != nil {
			return nil, err
		}
		why := map[string]string{}
		for _, r := range rules {
			for _, n := range r.Nodes {
				why[n] = r.Rule
			}
		}
		for _, p := range s.Placement {
			where := "float32"
			switch {
			case p.Int8:
				where = "int8"
			case p.Shape:
				where = "shape"
			}
			pl := inspectPlacement{Name: p.Node, OpType: p.OpType, Runs: where}
			if where == "float32" {
				pl.Why = why[p.Node]
			}
			rep.Placement = append(rep.Placement, pl)
		}
	}
	return rep, nil
}

// ioShape is a graph input's or output's shape as inspect prints it: a sequence
// value's is seq(what its elements' shapes have in common).
func ioShape(v *graph.Value) string {
	if !v.Seq {
		return v.Shape.String()
	}
	if !v.HasShape {
		return "seq(?)"
	}
	return "seq(" + v.Shape.String() + ")"
}

// typeText is "float32[1,3]", or "sequence of float32[?,3]" for a sequence.
func typeText(v inspectValue) string {
	if in, ok := strings.CutPrefix(v.Shape, "seq("); ok {
		in = strings.TrimSuffix(in, ")")
		if in == "?" {
			in = "[?]"
		}
		return "sequence of " + v.DType + in
	}
	return v.DType + v.Shape
}

func printInspect(w io.Writer, r *inspectReport) {
	fmt.Fprintf(w, "model:     %s\nopset:     %d\nproducer:  %s\n", r.Model, r.Opset, r.Producer)
	for _, v := range r.Inputs {
		fmt.Fprintf(w, "input:     %s %s\n", v.Name, typeText(v))
	}
	for _, v := range r.Outputs {
		fmt.Fprintf(w, "output:    %s %s\n", v.Name, typeText(v))
	}
	fmt.Fprintf(w, "params:    %d (%s)\n", r.Params, fmtCount(r.Params))
	switch {
	case r.MACsComplete:
		fmt.Fprintf(w, "MACs:      %d (%s) at %s\n", r.MACs, fmtCount(r.MACs), shapesText(r))
	default:
		fmt.Fprintf(w, "MACs:      %d (%s) counted; more depend on the symbolic dimensions %s: give --input-shape NAME=d0,d1,... to count them\n",
			r.MACs, fmtCount(r.MACs), strings.Join(r.SymbolicDims, ", "))
	}
	if r.Quantized {
		fmt.Fprintln(w, "quantized: yes")
	}
	var ops []string
	for k := range r.OpCounts {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	var parts []string
	for _, k := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.OpCounts[k]))
	}
	fmt.Fprintf(w, "operators: %s\n\n", strings.Join(parts, ", "))
	rows := make([][]string, 0, len(r.Nodes))
	for _, n := range r.Nodes {
		macs := fmt.Sprint(n.MACs)
		if n.MACsUnknown {
			macs = "symbolic"
		}
		rows = append(rows, []string{n.Name, n.OpType, n.Output, n.Shape, macs})
	}
	table(w, []string{"node", "op", "output", "shape", "MACs"}, rows)
	if len(r.Placement) > 0 {
		fmt.Fprintln(w, "\nexecution (after int8 lowering):")
		rows = rows[:0]
		n8, nShape, nRuled := 0, 0, 0
		for _, p := range r.Placement {
			switch p.Runs {
			case "int8":
				n8++
			case "shape":
				nShape++
			}
			row := []string{p.Name, p.OpType, p.Runs}
			if p.Why != "" {
				nRuled++
				row[2] += " (rule: " + p.Why + ")"
			}
			rows = append(rows, row)
		}
		table(w, []string{"node", "op", "runs"}, rows)
		if nRuled > 0 {
			fmt.Fprintf(w, "%d nodes run float32 by a quantizer rule (docs/quantizer.md, the \"int8 accuracy on exports\" sections)\n", nRuled)
		}
		fmt.Fprintf(w, "%d of %d executed nodes run int8", n8, len(r.Placement))
		if nShape > 0 {
			fmt.Fprintf(w, "; %d compute shapes (int64, folded once --input-shape binds the inputs)", nShape)
		}
		fmt.Fprintln(w)
	}
}

// inferForInspect infers shapes for inspect: with every input bound (--input-shape,
// the declaration, --batch for a leading symbolic dimension) the shapes are concrete;
// otherwise the dimensions that stay symbolic stay symbolic (never replaced by 1) and
// the report names them.
func inferForInspect(m *graph.Model, batch int, given map[string][]int, rep *inspectReport) error {
	g := m.Graph
	shapes, err := graph.ResolveInputShapes(g, batch, given)
	if err == nil {
		rep.InputShapes = shapes
		if _, err := m.InferShapes(graph.InferOptions{InputShapes: shapes, Eval: runtime.ConstEval()}); err != nil {
			return err
		}
		return nil
	}
	if len(given) > 0 {
		// The user's shapes must fit even when other inputs stay symbolic.
		for name, s := range given {
			in := g.Input(name)
			if in == nil {
				return err
			}
			if cerr := graph.CheckInputShape(in, s); cerr != nil {
				return cerr
			}
		}
	}
	// Bind what is known (given shapes, the leading batch) on a copy of the
	// declarations and leave the rest symbolic.
	saved := make([]*graph.Value, len(g.Inputs))
	copy(saved, g.Inputs)
	defer copy(g.Inputs, saved)
	seen := map[string]bool{}
	for i, in := range g.Inputs {
		if g.Initializers[in.Name] != nil || !in.HasShape {
			continue
		}
		v := *in
		v.Shape = append(graph.Shape(nil), in.Shape...)
		if s, ok := given[in.Name]; ok {
			v.Shape = graph.ShapeOf(s...)
		} else {
			for d := range v.Shape {
				switch {
				case v.Shape[d].Known():
				case d == 0 && batch > 0:
					v.Shape[d] = graph.ShapeOf(batch)[0]
				default:
					name := v.Shape[d].String()
					key := fmt.Sprintf("%s[%d] (%s)", in.Name, d, name)
					if !seen[key] {
						seen[key] = true
						rep.SymbolicDims = append(rep.SymbolicDims, key)
					}
				}
			}
		}
		g.Inputs[i] = &v
	}
	if _, ierr := m.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); ierr != nil {
		// An operator, opset or attribute the project does not implement is the
		// problem whatever the sizes: name it alone (--input-shape would not help).
		for _, n := range g.Nodes {
			if cerr := graph.CheckNode(n, m.Opset()); cerr != nil {
				return cerr
			}
		}
		return fmt.Errorf("%w (shape inference with symbolic dimensions %s failed: %v; give --input-shape)", err, strings.Join(rep.SymbolicDims, ", "), ierr)
	}
	return nil
}

func shapesText(r *inspectReport) string {
	var parts []string
	for _, v := range r.Inputs {
		if s, ok := r.InputShapes[v.Name]; ok {
			parts = append(parts, v.Name+"="+graph.FormatDims(s))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("batch %d", r.Batch)
	}
	return strings.Join(parts, " ")
}
