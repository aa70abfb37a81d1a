package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// bnOp is a BatchNormalization that Optimize could neither fold into a producer
// (Conv/Gemm) nor rewrite as a depthwise 1x1 convolution (it does that for 1-D and
// 2-D feature maps, so a DenseNet-style BN-ReLU-Conv trains as a per-channel conv
// whose weight and bias are the BN's scale and shift). What is left (BatchNorm1d on
// [N, C] features, 3-D feature maps) runs in float32 in the int8 model.
//
// It trains in inference form: y = gamma*(x-mean)/sqrt(var+eps) + beta with the
// running mean and variance frozen, gamma and beta trainable. Batch statistics are
// not used: the exported model computes with the running statistics, fake-quantized
// activations around it see the same values during training and at inference, and
// a small fine-tuning batch would give noisy statistics anyway (PyTorch's QAT recipe
// freezes BN statistics after a few epochs for the same reason).
type bnOp struct {
	node        string
	in, out     int
	gamma, beta *Param
	mean, rstd  []float64
}

func buildBatchNorm(b *builder, node *graph.Node) (built, error) {
	if graph.BatchNormTraining(node, b.n.plan.Model.Opset()) {
		return built{}, fmt.Errorf("%w: BatchNormalization in training mode", ErrNoGradient)
	}
	for _, o := range node.Outputs[1:] {
		if o != "" {
			return built{}, fmt.Errorf("%w: BatchNormalization running-statistics outputs", ErrNoGradient)
		}
	}
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	gamma, err := b.param(node.Input(1), false)
	if err != nil {
		return built{}, fmt.Errorf("scale: %w", err)
	}
	beta, err := b.param(node.Input(2), false)
	if err != nil {
		return built{}, fmt.Errorf("bias: %w", err)
	}
	stat := func(i int) ([]float32, error) {
		t := b.g.Initializers[node.Input(i)]
		if t == nil || t.DType != graph.Float32 {
			return nil, fmt.Errorf("%w: BatchNormalization input %q is not a float32 constant", ErrNoGradient, node.Input(i))
		}
		return t.F32(), nil
	}
	mean, err := stat(3)
	if err != nil {
		return built{}, err
	}
	vari, err := stat(4)
	if err != nil {
		return built{}, err
	}
	c := len(gamma.W)
	if len(beta.W) != c || len(mean) != c || len(vari) != c {
		return built{}, fmt.Errorf("BatchNormalization parameters have %d, %d, %d and %d values", c, len(beta.W), len(mean), len(vari))
	}
	eps := float64(node.AttrFloat("epsilon", 1e-5))
	o := &bnOp{node: node.Label(), in: in, out: b.slot(), gamma: gamma, beta: beta, mean: make([]float64, c), rstd: make([]float64, c)}
	for i := range mean {
		o.mean[i] = float64(mean[i])
		o.rstd[i] = 1 / math.Sqrt(float64(vari[i])+eps)
	}
	return built{o, o.out}, nil
}

func (o *bnOp) label() string { return o.node }

// geom returns the batch, channel count and per-channel plane size of x.
func (o *bnOp) geom(shape []int) (n, c, hw int, err error) {
	if len(shape) < 2 || shape[1] != len(o.mean) {
		return 0, 0, 0, fmt.Errorf("input shape %v, want [N, %d, ...]", shape, len(o.mean))
	}
	return shape[0], shape[1], numel(shape[2:]), nil
}

func (o *bnOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	N, C, HW, err := o.geom(x.shape)
	if err != nil {
		return err
	}
	y.resize(x.shape)
	parallel(N*C, n.threads, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			c := p % C
			s := float64(o.gamma.W[c]) * o.rstd[c]
			t := float64(o.beta.W[c]) - o.mean[c]*s
			for i := p * HW; i < (p+1)*HW; i++ {
				y.data[i] = float32(float64(x.data[i])*s + t)
			}
		}
	})
	return nil
}

func (o *bnOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	N, C, HW, err := o.geom(x.shape)
	if err != nil {
		return
	}
	for c := 0; c < C; c++ {
		var dg, db float64
		s := float32(float64(o.gamma.W[c]) * o.rstd[c])
		for b := 0; b < N; b++ {
			base := (b*C + c) * HW
			for i := base; i < base+HW; i++ {
				g := float64(y.grad[i])
				db += g
				dg += g * (float64(x.data[i]) - o.mean[c]) * o.rstd[c]
				if x.grad != nil {
					x.grad[i] += y.grad[i] * s
				}
			}
		}
		o.gamma.G[c] += float32(dg)
		o.beta.G[c] += float32(db)
	}
}
