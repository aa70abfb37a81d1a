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
	if len(cfg.taps) == 0 && cfg.mode != ModeInt8 && !work.Graph.IsQuantized() {
		// A float16 model runs on the float32 kernels (twelfth session;
		// fp16_keepio of --unseen6 ran 12x ONNX Runtime on the generic
		// per-operator float16 path). Taps would see float32 where the model
		// says float16, so a tapped session keeps the model's types.
		optimize.WidenFloat16(work.Graph)
	}
	if _, err := optimize.Optimize(work, optimize.Options{Keep: cfg.taps, Eval: ConstEval()}); err != nil {
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
