package testmodels

import (
	"fmt"
	"math/rand"

	"github.com/warboy-sim/warboy/graph"
)

// Builder builds small float32 test models node by node. Generated names are a prefix
// and a counter shared by every name ("w1", "Conv_out2", "Conv3"), or whatever Namer
// makes of them; a seeded generator makes random weights reproducible.
type Builder struct {
	G         *graph.Graph
	Rng       *rand.Rand
	IRVersion int64
	Opsets    map[string]int64
	// Namer, when set, makes the name of the n-th generated value from its prefix.
	Namer func(prefix string, n int) string
	n     int
}

// New returns a builder of an empty graph "t" (IR 8, default opset 13) whose random
// weights come from seed.
func New(seed int64) *Builder {
	return &Builder{
		G:         &graph.Graph{Name: "t", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}},
		Rng:       rand.New(rand.NewSource(seed)),
		IRVersion: 8,
		Opsets:    map[string]int64{"": 13},
	}
}

// Name returns a new name made from prefix.
func (b *Builder) Name(prefix string) string {
	b.n++
	if b.Namer != nil {
		return b.Namer(prefix, b.n)
	}
	return fmt.Sprintf("%s%d", prefix, b.n)
}

// Input declares a float32 graph input.
func (b *Builder) Input(name string, dims ...graph.Dim) string {
	v := &graph.Value{Name: name, DType: graph.Float32, Shape: dims, HasShape: true}
	b.G.Inputs = append(b.G.Inputs, v)
	b.G.Values[name] = v
	return name
}

// Output declares float32 graph outputs without shapes (inference fills them).
func (b *Builder) Output(names ...string) {
	for _, name := range names {
		b.G.Outputs = append(b.G.Outputs, &graph.Value{Name: name, DType: graph.Float32})
	}
}

// Init adds t as an initializer named from prefix.
func (b *Builder) Init(prefix string, t *graph.Tensor) string {
	name := b.Name(prefix)
	b.G.Initializers[name] = t
	return name
}

// RandInit adds a float32 initializer uniform in [-a, a).
func (b *Builder) RandInit(prefix string, shape []int, a float32) string {
	d := make([]float32, graph.NumElements(shape))
	name := b.Name(prefix)
	for i := range d {
		d[i] = (b.Rng.Float32()*2 - 1) * a
	}
	b.G.Initializers[name] = graph.FromFloat32(shape, d)
	return name
}

// Node adds a one-output node and returns its output ("<op>_out<n>"; the node is
// "<op><n+1>").
func (b *Builder) Node(op string, ins []string, attrs ...*graph.Attr) string {
	out := b.Name(op + "_out")
	n := &graph.Node{Name: b.Name(op), OpType: op, Inputs: ins, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	b.G.Nodes = append(b.G.Nodes, n)
	return out
}

// Model wraps the graph.
func (b *Builder) Model() *graph.Model {
	return &graph.Model{Graph: b.G, IRVersion: b.IRVersion, Opsets: b.Opsets}
}
