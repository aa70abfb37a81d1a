package quantizer

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Operators inside control-flow bodies (twenty-third session). The quantizer
// plans the top-level graph only: a Loop, If or Scan runs its subgraphs as
// float32 sub-sessions in both executors (runtime/op_control.go: the int8 path
// has no body form), and Warboy runs Loop/If/Scan on the host (the SDK has no
// NPU control flow), so Q/DQ pairs placed in a body would add int8 rounding
// with no int8 execution anywhere, and a body reached through many iterations
// (a filter's recursion) would carry that rounding from step to step. The
// operators stay float32 and the quantizer says so: as the reason when nothing
// else is quantizable (kalman_script_op13 of --unseen17: 15 MatMul in its Loop
// body, none outside), and in the notes otherwise.

// subgraphRule is the stated reason.
const subgraphRule = "operators inside Loop/If/Scan/SequenceMap bodies stay float32: both executors run subgraphs as float32 sub-sessions (no int8 form of a body) " +
	"and Warboy runs these operators on the host, so Q/DQ in a body would add int8 rounding without int8 execution " +
	"(and a loop would carry it from one iteration to the next)"

// bodyOps counts, per control-flow node of g, the operators with an int8 form
// (opRoles) in its subgraphs and theirs, by type.
func bodyOps(g *graph.Graph) (nodes []string, counts map[string]map[string]int) {
	counts = map[string]map[string]int{}
	var walk func(sg *graph.Graph, c map[string]int)
	walk = func(sg *graph.Graph, c map[string]int) {
		for _, n := range sg.Nodes {
			if _, ok := opRoles[n.OpType]; ok && n.Domain == "" {
				c[n.OpType]++
			}
			for _, s := range n.Subgraphs() {
				walk(s, c)
			}
		}
	}
	for _, n := range g.Nodes {
		if !n.HasSubgraphs() {
			continue
		}
		c := map[string]int{}
		for _, s := range n.Subgraphs() {
			walk(s, c)
		}
		if len(c) > 0 {
			nodes = append(nodes, n.Label())
			counts[n.Label()] = c
		}
	}
	return nodes, counts
}

// opCounts formats {"MatMul": 15, "Add": 8} as "15 MatMul, 8 Add" (most first).
func opCounts(c map[string]int) string {
	ops := make([]string, 0, len(c))
	for op := range c {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if c[ops[i]] != c[ops[j]] {
			return c[ops[i]] > c[ops[j]]
		}
		return ops[i] < ops[j]
	})
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%d %s", c[op], op)
	}
	return strings.Join(parts, ", ")
}

func bodySummary(g *graph.Graph) string {
	nodes, counts := bodyOps(g)
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("%s (%s)", n, opCounts(counts[n]))
	}
	return strings.Join(parts, "; ")
}

// subgraphOnlyError is the error of a model whose quantizable operators are all
// inside control-flow bodies (nil when it has none there).
func subgraphOnlyError(g *graph.Graph) error {
	s := bodySummary(g)
	if s == "" {
		return nil
	}
	return errors.New("calibration: nothing to quantize outside control flow: the operators with an int8 form are inside the subgraphs of " + s +
		"; " + subgraphRule + "; run the float32 model as it is")
}

// noteSubgraphRule records, in the notes, the control-flow nodes whose bodies
// hold operators with an int8 form that stay float32.
func (p *plan) noteSubgraphRule() {
	if s := bodySummary(p.g); s != "" {
		p.notes = append(p.notes, fmt.Sprintf("float32 inside control flow: %s: %s", s, subgraphRule))
	}
}
