package npu

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// maxCompilerOpset is the highest ONNX opset Warboy's compiler accepts (warboy.md
// 1.5: "ONNX OpSet 13 or lower").
const maxCompilerOpset = 13

// inputBinding is how a request's inputs are shaped: concrete shapes for every graph
// input, and the inputs whose static batch of 1 was re-batched to cfg.Batch.
type inputBinding struct {
	shapes    map[string][]int
	rebatched []string
}

// bindInputs gives every graph input a concrete shape for a request of batch
// images. The leading dimension is the batch: a symbolic one takes the batch; a
// static (or given) batch of 1 is re-batched when the request has more images, which
// analyse then checks propagates to the outputs; any other mismatch is an error.
// Every other symbolic dimension (height, width, sequence length) must be given in
// given (--input-shape): it is never guessed.
func bindInputs(g *graph.Graph, batch int, given map[string][]int) (*inputBinding, error) {
	shapes, err := graph.ResolveInputShapes(g, batch, given)
	if err != nil {
		return nil, err
	}
	b := &inputBinding{shapes: shapes}
	if batch == 1 && !sharedLeading(g, shapes) {
		// The inputs share no batch axis (a time-major RNN's x [T, N, C] beside h0
		// [L, N, H]): one request runs them as bound.
		return b, nil
	}
	for _, in := range g.Inputs {
		s, ok := shapes[in.Name]
		if !ok || len(s) < 2 || s[0] == batch {
			continue
		}
		where := "the model declares it"
		if _, ok := given[in.Name]; ok {
			where = "--input-shape gives it"
		}
		if s[0] != 1 {
			return nil, fmt.Errorf("input %q has a batch of %d (%s), not the requested batch %d", in.Name, s[0], where, batch)
		}
		s[0] = batch
		b.rebatched = append(b.rebatched, in.Name)
	}
	return b, nil
}

// sharedLeading reports whether the inputs of rank 2 or more all have the same
// leading size (a batch axis they share).
func sharedLeading(g *graph.Graph, shapes map[string][]int) bool {
	lead := -1
	for _, in := range g.Inputs {
		s, ok := shapes[in.Name]
		if !ok || len(s) < 2 {
			continue
		}
		if lead >= 0 && s[0] != lead {
			return false
		}
		lead = s[0]
	}
	return true
}

// checkRebatch refuses a re-batched model whose batch does not reach its outputs
// (a Reshape with a constant leading 1, for example): simulating it would time one
// image and report the throughput of batch.
func (b *inputBinding) checkRebatch(a *analysis, batch int) error {
	if len(b.rebatched) == 0 {
		return nil
	}
	fail := func(why string) error {
		return fmt.Errorf("input %q has a static batch of 1 and the model does not re-batch to %d: %s; "+
			"export the model with a dynamic batch dimension or simulate --batch 1", b.rebatched[0], batch, why)
	}
	for n, reason := range a.unknown {
		return fail(fmt.Sprintf("%s: %s", n.Label(), reason))
	}
	for _, o := range a.g.Outputs {
		s, ok := concreteOf(a.values[o.Name])
		if !ok {
			return fail(fmt.Sprintf("the shape of output %q is unknown", o.Name))
		}
		if len(s) == 0 || s[0] != batch {
			return fail(fmt.Sprintf("output %q comes out as %s", o.Name, graph.FormatDims(s)))
		}
	}
	return nil
}

// BindInputShapes returns m with the symbolic dimensions of its input declarations
// replaced by the sizes given (NAME -> shape, the --input-shape flag), except a
// symbolic leading (batch) dimension, which stays symbolic so that a batch can still
// be chosen. Use it before quantizing a model with symbolic height and width on
// random data. m itself is not modified; unknown input names are an error.
func BindInputShapes(m *graph.Model, given map[string][]int) (*graph.Model, error) {
	if len(given) == 0 {
		return m, nil
	}
	if _, err := graph.ResolveInputShapes(m.Graph, 1, given); err != nil {
		return nil, err
	}
	// An input whose symbolic names another input's shape binds is bound too.
	given, err := graph.ShareSymbolicDims(m.Graph, given)
	if err != nil {
		return nil, err
	}
	g := *m.Graph
	g.Inputs = nil
	g.Values = make(map[string]*graph.Value, len(m.Graph.Values))
	for k, v := range m.Graph.Values {
		g.Values[k] = v
	}
	for _, in := range m.Graph.Inputs {
		v := *in
		if s, ok := given[in.Name]; ok {
			v.Shape = append(graph.Shape(nil), in.Shape...)
			if !v.HasShape {
				v.Shape, v.HasShape = make(graph.Shape, len(s)), true
			}
			for i := range v.Shape {
				if i == 0 && !v.Shape[i].Known() {
					continue
				}
				v.Shape[i] = graph.Dim{Size: s[i]}
			}
		}
		g.Inputs = append(g.Inputs, &v)
		g.Values[in.Name] = &v
	}
	cp := *m
	cp.Graph = &g
	return &cp, nil
}

// staticBatch is the leading dimension the model's inputs declare when they all
// declare the same static one (0 otherwise: the batch is symbolic or absent).
func staticBatch(g *graph.Graph) int {
	b := 0
	for _, in := range g.Inputs {
		if g.Initializers[in.Name] != nil || !in.HasShape || len(in.Shape) < 2 {
			continue
		}
		d := in.Shape[0]
		if !d.Known() || (b != 0 && d.Size != b) {
			return 0
		}
		b = d.Size
	}
	return b
}
