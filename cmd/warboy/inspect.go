package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
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
	Name    string `json:"name"`
	OpType  string `json:"op_type"`
	Output  string `json:"output"`
	Shape   string `json:"output_shape"`
	MACs    int64  `json:"macs"`
	Runs    string `json:"runs_on,omitempty"`
	Comment string `json:"-"`
}

type inspectReport struct {
	Model     string            `json:"model"`
	Opset     int64             `json:"opset"`
	Producer  string            `json:"producer"`
	Inputs    []inspectValue    `json:"inputs"`
	Outputs   []inspectValue    `json:"outputs"`
	OpCounts  map[string]int    `json:"op_counts"`
	Params    int64             `json:"parameters"`
	MACs      int64             `json:"macs"`
	Batch     int               `json:"batch"`
	Quantized bool              `json:"quantized"`
	Nodes     []inspectNode     `json:"nodes"`
	Placement []inspectNode     `json:"execution,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

func inspectCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "[--ops] [--batch N] [--json] MODEL", stderr)
	ops := fs.Bool("ops", false, "list the operators the executor implements (no model needed)")
	batch := fs.Int("batch", 1, "batch size bound to symbolic dimensions when counting MACs")
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
	m, err := loadModel(pos[0])
	if err != nil {
		return err
	}
	rep, err := inspectModel(m, pos[0], *batch)
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

func inspectModel(m *graph.Model, path string, batch int) (*inspectReport, error) {
	g := m.Graph
	rep := &inspectReport{
		Model: path, Opset: m.Opset(), Producer: strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion),
		OpCounts: map[string]int{}, Params: g.ParamCount(), Batch: batch, Quantized: m.Graph.IsQuantized(),
		Metadata: m.Metadata,
	}
	for _, v := range g.Inputs {
		rep.Inputs = append(rep.Inputs, inspectValue{v.Name, v.DType.String(), v.Shape.String()})
	}
	for _, v := range g.Outputs {
		rep.Outputs = append(rep.Outputs, inspectValue{v.Name, v.DType.String(), v.Shape.String()})
	}
	if _, err := m.InferShapes(graph.InferOptions{InputShapes: graph.BatchShapes(g, batch)}); err != nil {
		return nil, err
	}
	for _, n := range g.Nodes {
		rep.OpCounts[n.OpType]++
		macs := g.MACs(n)
		rep.MACs += macs
		shape := ""
		if len(n.Outputs) > 0 {
			if v := g.Values[n.Outputs[0]]; v != nil && v.HasShape {
				shape = v.Shape.String()
			}
		}
		out := ""
		if len(n.Outputs) > 0 {
			out = n.Outputs[0]
		}
		rep.Nodes = append(rep.Nodes, inspectNode{Name: n.Name, OpType: n.OpType, Output: out, Shape: shape, MACs: macs})
	}
	if rep.Quantized {
		s, err := runtime.NewSession(m, runtime.WithWarnings(func(string) {}))
		if err != nil {
			return nil, fmt.Errorf("preparing int8 execution: %w", err)
		}
		for _, p := range s.Placement {
			where := "float32"
			if p.Int8 {
				where = "int8"
			}
			rep.Placement = append(rep.Placement, inspectNode{Name: p.Node, OpType: p.OpType, Runs: where})
		}
	}
	return rep, nil
}

func printInspect(w io.Writer, r *inspectReport) {
	fmt.Fprintf(w, "model:     %s\nopset:     %d\nproducer:  %s\n", r.Model, r.Opset, r.Producer)
	for _, v := range r.Inputs {
		fmt.Fprintf(w, "input:     %s %s%s\n", v.Name, v.DType, v.Shape)
	}
	for _, v := range r.Outputs {
		fmt.Fprintf(w, "output:    %s %s%s\n", v.Name, v.DType, v.Shape)
	}
	fmt.Fprintf(w, "params:    %d (%s)\n", r.Params, fmtCount(r.Params))
	fmt.Fprintf(w, "MACs:      %d (%s) at batch %d\n", r.MACs, fmtCount(r.MACs), r.Batch)
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
		rows = append(rows, []string{n.Name, n.OpType, n.Output, n.Shape, fmt.Sprint(n.MACs)})
	}
	table(w, []string{"node", "op", "output", "shape", "MACs"}, rows)
	if len(r.Placement) > 0 {
		fmt.Fprintln(w, "\nexecution (after int8 lowering):")
		rows = rows[:0]
		n8 := 0
		for _, p := range r.Placement {
			if p.Runs == "int8" {
				n8++
			}
			rows = append(rows, []string{p.Name, p.OpType, p.Runs})
		}
		table(w, []string{"node", "op", "runs"}, rows)
		fmt.Fprintf(w, "%d of %d executed nodes run int8\n", n8, len(r.Placement))
	}
}
