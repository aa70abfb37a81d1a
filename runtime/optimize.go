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
	// A float64 model has no float64 kernels to fall back on (taps or not); say
	// so, since its results then carry float32 precision.
	if optimize.NarrowFloat64(work.Graph) > 0 && cfg.warn != nil {
		cfg.warn("the model computes in float64; it runs in float32 (float32 precision), its inputs and outputs kept float64")
	}
	if len(cfg.taps) == 0 && cfg.mode != ModeInt8 && !work.Graph.IsQuantized() {
		widenFloat16Model(work)
	}
	// A quantized graph on the float executor: its Q/DQ of constant weights
	// fold (a QAT export's fake-quantized weights were recomputed every run).
	fq := cfg.mode == ModeFloat
	if _, err := optimize.Optimize(work, optimize.Options{Keep: cfg.taps, Eval: ConstEval(), FoldQDQ: fq, SumSquares: true}); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	if !cfg.noConv1D {
		if _, err := foldConvTrims(work, cfg.taps); err != nil {
			return err
		}
		if _, err := liftConv1D(work, cfg.taps); err != nil {
			return err
		}
	}
	return nil
}

// widenFloat16Model runs a float16 model — one whose Conv, ConvTranspose, Gemm
// or MatMul weights are float16 initializers — on the float32 kernels
// (twelfth session; fp16_keepio of --unseen6 ran 12x ONNX Runtime on the
// generic per-operator float16 path): optimize.WidenFloat16, with the graph
// outputs' declared types first set to what inference finds, so that a float16
// result is cast back to float16 at the boundary. Graphs of float16 operators
// without such weights keep their per-operator float16 path, and so do tapped
// sessions (taps would see float32 where the model says float16).
func widenFloat16Model(m *graph.Model) {
	g := m.Graph
	weighted := false
	for _, n := range g.Nodes {
		switch n.OpType {
		case "Conv", "ConvTranspose", "Gemm", "MatMul":
			for _, in := range n.Inputs[min(1, len(n.Inputs)):] {
				if t := g.Initializers[in]; t != nil && t.DType == graph.Float16 {
					weighted = true
				}
			}
		}
	}
	if !weighted {
		return
	}
	if _, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()}); err != nil {
		return // left as written: the executor reports what is wrong
	}
	for _, o := range g.Outputs {
		if v := g.Values[o.Name]; v != nil && v.DType == graph.Float16 {
			o.DType = graph.Float16
		}
	}
	optimize.WidenFloat16(g)
}
