package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
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
//
// A BatchNormalization exported in training mode (training_mode=1 at opset 14,
// the statistics outputs asked for before) normalizes with the batch's own
// statistics at inference too, and both executors compute them: it trains that
// way (batchStats), its gradient taking in the statistics' dependence on the
// batch; the running statistics it would also output are not computed (an op
// that reads them stops with that value's name).
type bnOp struct {
	node        string
	in, out     int
	gamma, beta *Param
	mean, rstd  []float64
	batchStats  bool
	eps         float64
	extra       int
	a, b        []float32
}

// outSlots: the output, and none for the running statistics of a batch-statistics
// BatchNormalization.
func (o *bnOp) outSlots() []int {
	s := []int{o.out}
	for range o.extra {
		s = append(s, -1)
	}
	return s
}

func buildBatchNorm(b *builder, node *graph.Node) (built, error) {
	train := graph.BatchNormTraining(node, b.n.plan.Model.Opset())
	if !train {
		for _, o := range node.Outputs[1:] {
			if o != "" {
				return built{}, fmt.Errorf("%w: BatchNormalization running-statistics outputs", ErrNoGradient)
			}
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
	o := &bnOp{node: node.Label(), in: in, out: b.slot(), gamma: gamma, beta: beta, mean: make([]float64, c), rstd: make([]float64, c),
		batchStats: train, eps: eps, extra: len(node.Outputs) - 1}
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
	if o.batchStats {
		o.forwardBatch(n, x, y, N, C, HW)
		return nil
	}
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
	if o.batchStats {
		o.backwardBatch(x, y, N, C, HW)
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

// forwardBatch normalizes with the batch's statistics as the runtime does
// (runtime/op_norm.go: float32 mean and variance per channel, the scale and
// shift folded in float64 and rounded to float32, y = a·x + b).
func (o *bnOp) forwardBatch(n *Net, x, y *tensor, N, C, HW int) {
	o.a, o.b = grow(o.a, C), grow(o.b, C)
	inf := float32(math.Inf(1))
	for c := 0; c < C; c++ {
		m, v := float32(0), float32(0)
		if N*HW > 0 {
			m, v = kernels.RowsMeanVarF32(x.data[c*HW:], N, HW, C*HW)
		}
		o.mean[c] = float64(m)
		o.rstd[c] = 1 / math.Sqrt(float64(v)+o.eps)
		inv := float64(o.gamma.W[c]) / math.Sqrt(float64(v)+o.eps)
		o.a[c], o.b[c] = float32(inv), float32(float64(o.beta.W[c])-float64(m)*inv)
	}
	parallel(N*C, n.threads, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			c := p % C
			kernels.AffineRowF32(y.data[p*HW:(p+1)*HW], x.data[p*HW:(p+1)*HW], o.a[c], o.b[c], -inf, inf)
		}
	})
}

// backwardBatch is batch normalization's gradient through its statistics:
// dx = rstd·(dŷ - mean(dŷ) - x̂·mean(dŷ·x̂)) with dŷ = γ·dy, x̂ the normalized
// input, the means over the channel's batch and positions.
func (o *bnOp) backwardBatch(x, y *tensor, N, C, HW int) {
	cnt := float64(N * HW)
	for c := 0; c < C; c++ {
		mu, r := o.mean[c], o.rstd[c]
		var sg, sgx float64
		for b := 0; b < N; b++ {
			base := (b*C + c) * HW
			for i := base; i < base+HW; i++ {
				g := float64(y.grad[i])
				sg += g
				sgx += g * (float64(x.data[i]) - mu) * r
			}
		}
		o.beta.G[c] += float32(sg)
		o.gamma.G[c] += float32(sgx)
		if x.grad == nil || cnt == 0 {
			continue
		}
		gm := float64(o.gamma.W[c])
		mg, mgx := gm*sg/cnt, gm*sgx/cnt
		for b := 0; b < N; b++ {
			base := (b*C + c) * HW
			for i := base; i < base+HW; i++ {
				xh := (float64(x.data[i]) - mu) * r
				x.grad[i] += float32(r * (gm*float64(y.grad[i]) - mg - xh*mgx))
			}
		}
	}
}
