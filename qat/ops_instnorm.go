package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// instanceNormOp is InstanceNormalization: each (image, channel) plane of an [N, C, ...]
// tensor is normalised to zero mean and unit variance, then scaled and shifted by the
// channel's trainable scale and B (torch.onnx writes nn.InstanceNorm2d as it, and
// nn.GroupNorm as Reshape → InstanceNormalization → Reshape → Mul → Add).
type instanceNormOp struct {
	node       string
	in, out    int
	eps        float64
	scale, b   *Param
	c, d, rows int
	xhat, invs []float32
}

func buildInstanceNorm(b *builder, node *graph.Node) (built, error) {
	o := &instanceNormOp{node: node.Label(), eps: float64(node.AttrFloat("epsilon", 1e-5))}
	var err error
	if o.in, o.scale, o.b, err = b.normOperands(node, false); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

// normOperands returns a normalization's data input and its trainable scale and
// bias (inputs 1 and 2; an absent bias is nil when optional).
func (b *builder) normOperands(node *graph.Node, optionalBias bool) (in int, scale, bias *Param, err error) {
	if in, err = b.input(node, node.Input(0)); err != nil {
		return 0, nil, nil, err
	}
	if scale, err = b.param(node.Input(1), false); err != nil {
		return 0, nil, nil, fmt.Errorf("%w: %s scale: %v", ErrNoGradient, node.OpType, err)
	}
	if name := node.Input(2); name != "" || !optionalBias {
		if bias, err = b.param(name, false); err != nil {
			return 0, nil, nil, fmt.Errorf("%w: %s bias: %v", ErrNoGradient, node.OpType, err)
		}
	}
	return in, scale, bias, nil
}

func (o *instanceNormOp) label() string { return o.node }

func (o *instanceNormOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if len(x.shape) < 3 {
		return fmt.Errorf("InstanceNormalization of a rank-%d tensor (at least [N, C, D] is needed)", len(x.shape))
	}
	o.c, o.d = x.shape[1], numel(x.shape[2:])
	o.rows = len(x.data) / max(o.d, 1)
	if len(o.scale.W) != o.c || len(o.b.W) != o.c {
		return fmt.Errorf("InstanceNormalization: scale and B of %d and %d values for %d channels", len(o.scale.W), len(o.b.W), o.c)
	}
	y.resize(x.shape)
	o.xhat = grow(o.xhat, len(x.data))
	o.invs = grow(o.invs, o.rows)
	d := o.d
	parallel(o.rows, n.threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src := x.data[r*d : (r+1)*d]
			mu, inv := rowMeanInvStd(src, o.eps)
			o.invs[r] = float32(inv)
			s, b := o.scale.W[r%o.c], o.b.W[r%o.c]
			xh, dst := o.xhat[r*d:(r+1)*d], y.data[r*d:(r+1)*d]
			for i, v := range src {
				h := float32((float64(v) - mu) * inv)
				xh[i] = h
				dst[i] = h*s + b
			}
		}
	})
	return nil
}

// backward: per plane, with g = dy*scale, dx = inv/D * (D*g - sum(g) - xhat*sum(g*xhat));
// the channel's scale and B collect sum(dy*xhat) and sum(dy) over its planes.
func (o *instanceNormOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	d := o.d
	for r := 0; r < o.rows; r++ {
		ch := r % o.c
		dy, xh := y.grad[r*d:(r+1)*d], o.xhat[r*d:(r+1)*d]
		s := float64(o.scale.W[ch])
		var sdy, sdyx float64
		for i, v := range dy {
			sdy += float64(v)
			sdyx += float64(v) * float64(xh[i])
		}
		o.scale.G[ch] += float32(sdyx)
		o.b.G[ch] += float32(sdy)
		if x.grad == nil {
			continue
		}
		k := float64(o.invs[r]) / float64(d)
		dx := x.grad[r*d : (r+1)*d]
		for i, v := range dy {
			dx[i] += float32(k * s * (float64(d)*float64(v) - sdy - float64(xh[i])*sdyx))
		}
	}
}
