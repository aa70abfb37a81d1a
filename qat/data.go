package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// readsTrained reports whether node needs a gradient: a trainable parameter
// feeds one of its inputs (or a value its subgraphs read), or it reads a weight
// of its own (a float32 initializer of rank 2 or more: an RNN's matrices, a
// kernel), which training would otherwise leave as it is without a word.
// Vectors and scalars (a window, a scale, a fill value) are constants.
func (b *builder) readsTrained(node *graph.Node) bool {
	for _, in := range nodeReads(node) {
		if in == "" {
			continue
		}
		if b.trained[in] {
			return true
		}
		if t := b.g.Initializers[in]; t != nil && t.DType == graph.Float32 && len(t.Shape) >= 2 {
			return true
		}
	}
	return false
}

// dataNode builds a node that no trainable parameter feeds and that has no
// gradient (an STFT or DFT front end on the input signal, a feature scaler of
// another domain, a crop-and-resize of the image) as part of the data: the
// runtime's own kernel computes it each step from its inputs as they are (the
// input's fake quantization included, as the int8 model computes it), and no
// gradient goes back, as none is needed. Its float outputs are activations the
// plan quantizes like any other.
func (b *builder) dataNode(node *graph.Node) error {
	b.shapeNodes[b.curNode] = true
	if err := buildShapeOp(b, node); err != nil {
		return fmt.Errorf("node %s: %w", node.Label(), err)
	}
	return nil
}
