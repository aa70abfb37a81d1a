package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// groupNormOp is GroupNormalization (opset 18: paddle2onnx and opset-18 exports of
// nn.GroupNorm, detection heads and diffusion U-Nets): the channels of each image
// fall into num_groups groups of C/G consecutive channels, each group (with its
// spatial positions) normalised to zero mean and unit variance, then every channel
// scaled and shifted. Before opset 21 scale and bias hold one value per group, from
// opset 21 one per channel (as the runtime reads them: runtime/op_groupnorm.go).
type groupNormOp struct {
	node     string
	in, out  int
	eps      float64
	groups   int
	perGroup bool
	scale, b *Param
	// c channels of sp positions; rows = N*groups rows of d = (c/groups)*sp values
	c, sp, d, rows int
	xhat, invs     []float32
}

func buildGroupNorm(b *builder, node *graph.Node) (built, error) {
	g := node.AttrInt("num_groups", 0)
	if g < 1 {
		return built{}, fmt.Errorf("GroupNormalization: num_groups %d", g)
	}
	if st := node.AttrInt("stash_type", 1); st != 1 {
		return built{}, fmt.Errorf("%w: GroupNormalization stash_type %d (float32 statistics only)", ErrNoGradient, st)
	}
	o := &groupNormOp{node: node.Label(), eps: float64(node.AttrFloat("epsilon", 1e-5)), groups: int(g),
		perGroup: b.n.plan.Model.Opset() < 21}
	var err error
	if o.in, o.scale, o.b, err = b.normOperands(node, false); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *groupNormOp) label() string { return o.node }

// affine is the index into scale and bias of channel ch.
func (o *groupNormOp) affine(ch int) int {
	if o.perGroup {
		return ch / (o.c / o.groups)
	}
	return ch
}

func (o *groupNormOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if len(x.shape) < 3 {
		return fmt.Errorf("GroupNormalization of a rank-%d tensor (at least [N, C, D] is needed)", len(x.shape))
	}
	o.c, o.sp = x.shape[1], numel(x.shape[2:])
	if o.c%o.groups != 0 {
		return fmt.Errorf("GroupNormalization: %d channels do not divide into %d groups", o.c, o.groups)
	}
	want := o.c
	if o.perGroup {
		want = o.groups
	}
	if len(o.scale.W) != want || len(o.b.W) != want {
		return fmt.Errorf("GroupNormalization: scale and bias of %d and %d values, want %d", len(o.scale.W), len(o.b.W), want)
	}
	o.d = o.c / o.groups * o.sp
	o.rows = len(x.data) / max(o.d, 1)
	y.resize(x.shape)
	o.xhat = grow(o.xhat, len(x.data))
	o.invs = grow(o.invs, o.rows)
	d := o.d
	parallel(o.rows, n.threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src := x.data[r*d : (r+1)*d]
			mu, inv := rowMeanInvStd(src, o.eps)
			o.invs[r] = float32(inv)
			ch0 := (r % o.groups) * (o.c / o.groups)
			xh, dst := o.xhat[r*d:(r+1)*d], y.data[r*d:(r+1)*d]
			for i, v := range src {
				a := o.affine(ch0 + i/o.sp)
				h := float32((float64(v) - mu) * inv)
				xh[i] = h
				dst[i] = h*o.scale.W[a] + o.b.W[a]
			}
		}
	})
	return nil
}

// backward: per row (one group of one image), with g = dy*scale of each value's
// channel, dx = inv/D * (D*g - sum(g) - xhat*sum(g*xhat)); scale and bias collect
// sum(dy*xhat) and sum(dy) over their channel (or group).
func (o *groupNormOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	d := o.d
	g := make([]float64, d)
	for r := 0; r < o.rows; r++ {
		ch0 := (r % o.groups) * (o.c / o.groups)
		dy, xh := y.grad[r*d:(r+1)*d], o.xhat[r*d:(r+1)*d]
		var sg, sgx float64
		for i, v := range dy {
			a := o.affine(ch0 + i/o.sp)
			o.scale.G[a] += v * xh[i]
			o.b.G[a] += v
			g[i] = float64(v) * float64(o.scale.W[a])
			sg += g[i]
			sgx += g[i] * float64(xh[i])
		}
		if x.grad == nil {
			continue
		}
		k := float64(o.invs[r]) / float64(d)
		dx := x.grad[r*d : (r+1)*d]
		for i := range dx {
			dx[i] += float32(k * (float64(d)*g[i] - sg - float64(xh[i])*sgx))
		}
	}
}
