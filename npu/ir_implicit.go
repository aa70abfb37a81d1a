package npu

import "github.com/warboy-sim/warboy/graph"

// implicitInputs adds to step l the values of the enclosing graph that node n's
// subgraphs read (an If branch or a Loop body capturing an outer value by name):
// they are data dependencies as much as the declared inputs, so the step waits for
// them (and their bytes count in its host cost) like any other input. Constants
// are compiled into the body and read nothing at run time. A value read both
// explicitly and implicitly is counted once.
func (b *builder) implicitInputs(l *lop, n *graph.Node) {
	names := n.ImplicitInputs()
	if len(names) == 0 {
		return
	}
	have := map[*vt]bool{}
	for _, t := range l.in {
		have[t] = true
	}
	for _, name := range names {
		if name == "" || b.a.consts[name] || b.a.g.Initializers[name] != nil {
			continue
		}
		t := b.tensor(name)
		if have[t] {
			continue
		}
		have[t] = true
		l.in = append(l.in, t)
		t.users = append(t.users, l)
	}
}
