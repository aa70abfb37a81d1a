package runtime

// The graph-level optimisation run once by NewSession before either executor
// plans the model (package graph/optimize): exporters' Identity-fed weights,
// Constant nodes and shape subgraphs become initializers, so the Conv/Gemm
// builders see constant weights and bounds (pre-packing, epilogue fusion,
// channels-last chains) whatever the spelling of the graph.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
)

// WithGraphOptimization switches the graph-level optimisation (on by default).
// Off, the model is executed exactly as written (a reference for tests).
func WithGraphOptimization(on bool) Option { return func(c *config) { c.noOptimize = !on } }

// optimizeModel rewrites the session's private copy of the model. Every tensor
// the caller taps is kept; WithAllTaps (every tensor of the source graph)
// disables the pass.
func optimizeModel(work *graph.Model, cfg *config) error {
	if cfg.noOptimize || cfg.tapAll {
		return nil
	}
	if _, err := optimize.Optimize(work, optimize.Options{Keep: cfg.taps, Eval: evalConstNode}); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	return nil
}

// evalConstNode runs one node on constant inputs with the float32 executor
// (one thread, no optimisation), so folded values are what the unoptimised
// graph would have computed.
func evalConstNode(n *graph.Node, ins []*graph.Tensor, opset int64) ([]*graph.Tensor, error) {
	g := &graph.Graph{Name: "fold", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	for i, in := range n.Inputs {
		if in != "" {
			g.Initializers[in] = ins[i]
		}
	}
	for _, o := range n.Outputs {
		if o != "" {
			g.Outputs = append(g.Outputs, &graph.Value{Name: o})
		}
	}
	g.Nodes = []*graph.Node{n.Clone()}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": opset}, Metadata: map[string]string{}}
	s := &Session{model: m, cfg: config{threads: 1, mode: ModeFloat}, mode: ModeFloat}
	if err := s.plan(); err != nil {
		return nil, err
	}
	res, err := s.RunTensors(map[string]*graph.Tensor{})
	if err != nil {
		return nil, err
	}
	out := make([]*graph.Tensor, len(n.Outputs))
	for i, o := range n.Outputs {
		if o != "" {
			out[i] = res[o]
		}
	}
	return out, nil
}
