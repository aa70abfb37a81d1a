package qat

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// torch.onnx exports a network in eval mode with every BatchNormalization folded
// into the convolution before it: the file holds W·γ/σ and (b − μ)·γ/σ + β, and
// the normalisation that kept the network trainable is gone. Fine-tuned as it
// stands, a deep network of such layers (MobileNetV2's depthwise blocks) moves
// far from where it was at the learning rates a network with BatchNorm takes.
// Config.RenormFolded puts a BatchNormalization back behind every such Conv, in
// the folded layer's own terms: with the first training batch's per-channel mean
// μ₁ and variance σ₁², the running statistics start at μ₁ and σ₁², the scale at
// √(σ₁² + ε) and the shift at μ₁, so that the folded layer (what Export writes,
// and what the post-training start is scored as) is the file's layer exactly,
// and the batch-normalised one computes it on the first batch. From then on it
// trains as PyTorch's fused ConvBn QAT modules (ops_convbn.go).

// synthBN returns the parameters of a BatchNormalization put back behind Conv
// node, or nil when the node is not a folded convolution (no float 4-D weight, no
// bias: a folded layer always has one) or reads a 1x1 map: a squeeze-excitation
// gate's convolutions act on a pooled vector and never had a BatchNormalization,
// and one there would normalise each image's gate against the other images of
// the batch (docs/quantizer.md, "QAT on models as exporters write them": se_op11).
func (b *builder) synthBN(node *graph.Node) *bnParams {
	g := b.g
	w := g.Initializers[node.Input(1)]
	bias := g.Initializers[node.Input(2)]
	if w == nil || w.DType != graph.Float32 || len(w.Shape) != 4 || bias == nil || bias.DType != graph.Float32 || bias.Len() != w.Shape[0] {
		return nil
	}
	if x := g.Values[node.Input(0)]; x != nil && x.HasShape && len(x.Shape) == 4 &&
		x.Shape[2].Known() && x.Shape[3].Known() && x.Shape[2].Size == 1 && x.Shape[3].Size == 1 {
		return nil
	}
	c := w.Shape[0]
	const eps = 1e-5
	p := &bnParams{convW: node.Input(1), convB: node.Input(2), bnName: "BatchNormalization put back", w: w, b: bias,
		gamma: make([]float32, c), beta: make([]float32, c), mean: make([]float32, c), vari: make([]float32, c), eps: eps, synth: true}
	// Until the first batch sets them (convBNOp.pending), the layer is the file's:
	// scale 1, mean and shift 0.
	for i := range p.gamma {
		p.vari[i] = 1
		p.gamma[i] = float32(math.Sqrt(1 + eps))
	}
	return p
}

// initStats sets channel ch of a synthesized BatchNormalization from the first
// training batch: running mean and variance μ₁, σ₁², scale √(σ₁² + ε), shift μ₁.
func (o *convBNOp) initStats(ch int, mean, vari float64) {
	o.mean[ch], o.vari[ch] = float32(mean), float32(vari)
	// γ from the stored variance, so that γ/√(σ²+ε) is 1 up to γ's rounding; the
	// backward pass of this batch reads √(σ²+ε) as rstd.
	o.rstd[ch] = float32(math.Sqrt(float64(o.vari[ch]) + o.eps))
	o.gamma.W[ch] = o.rstd[ch]
	o.beta.W[ch] = float32(mean)
}

// Renormalized is the number of convolutions trained with a BatchNormalization put
// back (Config.RenormFolded).
func (n *Net) Renormalized() int {
	k := 0
	for _, c := range n.convBNs {
		if c.synth {
			k++
		}
	}
	return k
}
