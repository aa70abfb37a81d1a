package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// lrnOp is LRN, local response normalisation across channels (AlexNet,
// GoogLeNet v1 and Caffe conversions): y_c = x_c · d_c^(−β), d_c = bias + α/size ·
// Σ x_k² over the channels k of c's window [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉].
// Its gradient: dx_j = dy_j·d_j^(−β) − 2αβ/size · x_j · Σ_{c: j in window(c)}
// dy_c·x_c·d_c^(−β−1). Quantize leaves LRN float32.
type lrnOp struct {
	node              string
	in, out           int
	size              int
	alpha, beta, bias float64
	d                 []float64 // d_c of the last forward pass
	g                 []float64 // scratch: dy_c·x_c·d_c^(−β−1)
}

func buildLRN(b *builder, node *graph.Node) (built, error) {
	size := int(node.AttrInt("size", 0))
	if size < 1 {
		return built{}, fmt.Errorf("LRN size %d", size)
	}
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &lrnOp{node: node.Label(), in: in, out: b.slot(), size: size,
		alpha: float64(node.AttrFloat("alpha", 1e-4)), beta: float64(node.AttrFloat("beta", 0.75)), bias: float64(node.AttrFloat("bias", 1))}
	return built{o, o.out}, nil
}

func (o *lrnOp) label() string { return o.node }

// dims returns the batch, channel and per-channel sizes of x.
func (o *lrnOp) dims(shape []int) (int, int, int, error) {
	if len(shape) < 2 {
		return 0, 0, 0, fmt.Errorf("LRN of a %d-D tensor", len(shape))
	}
	return shape[0], shape[1], numel(shape[2:]), nil
}

// window returns channel c's window, clipped to [0, C).
func (o *lrnOp) window(c, C int) (int, int) {
	lo := c - (o.size-1)/2
	hi := c + o.size/2 // ⌈(size−1)/2⌉
	return max(lo, 0), min(hi, C-1)
}

func (o *lrnOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	N, C, P, err := o.dims(x.shape)
	if err != nil {
		return err
	}
	y.resize(x.shape)
	if cap(o.d) < len(x.data) {
		o.d = make([]float64, len(x.data))
	}
	o.d = o.d[:len(x.data)]
	k := o.alpha / float64(o.size)
	for b := range N {
		for c := range C {
			lo, hi := o.window(c, C)
			for p := range P {
				var s float64
				for j := lo; j <= hi; j++ {
					v := float64(x.data[(b*C+j)*P+p])
					s += v * v
				}
				i := (b*C+c)*P + p
				o.d[i] = o.bias + k*s
				y.data[i] = float32(float64(x.data[i]) * math.Pow(o.d[i], -o.beta))
			}
		}
	}
	return nil
}

func (o *lrnOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	N, C, P, _ := o.dims(x.shape)
	if cap(o.g) < len(x.data) {
		o.g = make([]float64, len(x.data))
	}
	o.g = o.g[:len(x.data)]
	for i, d := range o.d {
		o.g[i] = float64(y.grad[i]) * float64(x.data[i]) * math.Pow(d, -o.beta-1)
	}
	k := 2 * o.alpha * o.beta / float64(o.size)
	for b := range N {
		for j := range C {
			// the channels c whose window holds j: [j − ⌈(size−1)/2⌉, j + ⌊(size−1)/2⌋]
			lo, hi := max(j-o.size/2, 0), min(j+(o.size-1)/2, C-1)
			for p := range P {
				var s float64
				for c := lo; c <= hi; c++ {
					s += o.g[(b*C+c)*P+p]
				}
				i := (b*C+j)*P + p
				x.grad[i] += float32(float64(y.grad[i])*math.Pow(o.d[i], -o.beta) - k*float64(x.data[i])*s)
			}
		}
	}
}
