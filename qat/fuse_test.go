package qat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// TestReluFakeQuantFusion checks that fusing each Relu into the fake quantization
// that is its only reader changes nothing: on the bundled CNN and ResNet, one
// training step (EMA ranges, batch statistics) with the fusion and one without give
// the same logits, parameter gradients and updated ranges.
func TestReluFakeQuantFusion(t *testing.T) {
	for _, name := range []string{"fmnist_cnn", "fmnist_resnet"} {
		t.Run(name, func(t *testing.T) {
			m, err := graph.Load("../testdata/models/" + name + ".onnx")
			require.NoError(t, err)
			x := make([]float32, 8*784)
			for i := range x {
				x[i] = float32(i*7%255)/255 - 0.3
			}
			labels := []int{0, 1, 2, 3, 4, 5, 6, 7}
			type result struct {
				logits []float32
				grads  [][]float32
				ranges quantizer.Ranges
			}
			run := func(fuse bool) result {
				n, err := New(m, Config{})
				require.NoError(t, err)
				fused := 0
				for _, o := range n.ops {
					if f, ok := o.(*fqOp); ok && f.relu != nil {
						fused++
						if !fuse {
							f.relu.fq, f.relu = nil, nil
						}
					}
				}
				require.Positive(t, fused, "no Relu fused")
				r := quantizer.Ranges{}
				for k := range n.ranges {
					r[k] = [2]float32{-1, 3}
				}
				require.NoError(t, n.SetRanges(r))
				n.training, n.emaRanges, n.emaConst = true, true, 0.1
				_, logits, err := n.Forward(x, 8)
				require.NoError(t, err)
				out := result{logits: append([]float32(nil), logits...)}
				grad := make([]float32, len(logits))
				SoftmaxCrossEntropy(logits, 10, labels, grad)
				n.ZeroGrad()
				n.Backward(grad)
				for _, p := range n.params {
					out.grads = append(out.grads, append([]float32(nil), p.G...))
				}
				out.ranges = n.Ranges()
				return out
			}
			require.Equal(t, run(false), run(true))
		})
	}
}
