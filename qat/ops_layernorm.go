package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// layerNormOp is LayerNormalization (opset 17, as torch.onnx writes nn.LayerNorm from
// opset 17 on): each row of the dimensions from axis on is normalised to zero mean and
// unit variance, then scaled and shifted by the trainable Scale and B. The quantizer
// keeps it in float32 (its input and output carry the activations' fake quantization).
type layerNormOp struct {
	node       string
	in, out    int
	axis       int64
	eps        float64
	scale, b   *Param
	rows, d    int
	xhat, invs []float32
}

func buildLayerNorm(b *builder, node *graph.Node) (built, error) {
	o := &layerNormOp{node: node.Label(), axis: node.AttrInt("axis", -1), eps: float64(node.AttrFloat("epsilon", 1e-5))}
	for i, name := range node.Outputs[1:] {
		if name != "" {
			return built{}, fmt.Errorf("%w: LayerNormalization output %d (%q: the saved mean or inverse deviation)", ErrNoGradient, i+1, name)
		}
	}
	var err error
	if o.in, o.scale, o.b, err = b.normOperands(node, true); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *layerNormOp) label() string { return o.node }

// paramIndex maps element i of a row to the index in p (a Scale or B with one value per
// row element, or a single value).
func paramIndex(p *Param, i int) int {
	if len(p.W) == 1 {
		return 0
	}
	return i
}

func (o *layerNormOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	axis := int(o.axis)
	if axis < 0 {
		axis += len(x.shape)
	}
	if axis < 0 || axis >= len(x.shape) {
		return fmt.Errorf("axis %d out of range for shape %v", o.axis, x.shape)
	}
	o.d = numel(x.shape[axis:])
	o.rows = len(x.data) / max(o.d, 1)
	for _, p := range []*Param{o.scale, o.b} {
		if p != nil && len(p.W) != o.d && len(p.W) != 1 {
			return fmt.Errorf("%w: %q of shape %v for rows of %d values (one per normalised element, or one, is supported)", ErrNoGradient, p.Name, p.Shape, o.d)
		}
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
			xh, dst := o.xhat[r*d:(r+1)*d], y.data[r*d:(r+1)*d]
			for i, v := range src {
				h := float32((float64(v) - mu) * inv)
				xh[i] = h
				out := h * o.scale.W[paramIndex(o.scale, i)]
				if o.b != nil {
					out += o.b.W[paramIndex(o.b, i)]
				}
				dst[i] = out
			}
		}
	})
	return nil
}

// backward: with g = dy*Scale, dx = inv/D * (D*g - sum(g) - xhat*sum(g*xhat)); Scale
// and B collect sum(dy*xhat) and sum(dy) over the rows.
func (o *layerNormOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	d := o.d
	for r := 0; r < o.rows; r++ {
		dy, xh := y.grad[r*d:(r+1)*d], o.xhat[r*d:(r+1)*d]
		var sg, sgx float64
		for i, v := range dy {
			g := float64(v) * float64(o.scale.W[paramIndex(o.scale, i)])
			sg += g
			sgx += g * float64(xh[i])
			o.scale.G[paramIndex(o.scale, i)] += v * xh[i]
			if o.b != nil {
				o.b.G[paramIndex(o.b, i)] += v
			}
		}
		if x.grad == nil {
			continue
		}
		k := float64(o.invs[r]) / float64(d)
		dx := x.grad[r*d : (r+1)*d]
		for i, v := range dy {
			g := float64(v) * float64(o.scale.W[paramIndex(o.scale, i)])
			dx[i] += float32(k * (float64(d)*g - sg - float64(xh[i])*sgx))
		}
	}
}

// rowMeanInvStd returns the mean of row and 1/sqrt(variance + eps), in
// float64 (two passes: the normalisations' forward and backward both use the
// same figures, LayerNorm along its last axes and InstanceNorm per channel).
func rowMeanInvStd(row []float32, eps float64) (mu, inv float64) {
	for _, v := range row {
		mu += float64(v)
	}
	mu /= float64(len(row))
	var v2 float64
	for _, v := range row {
		dv := float64(v) - mu
		v2 += dv * dv
	}
	return mu, 1 / math.Sqrt(v2/float64(len(row))+eps)
}
