package runtime

// The GroupNormalization operator (opset 18; per-channel scale and bias since
// opset 21, per group before), on the group normalisation kernel that the
// decomposed torch.onnx spelling is fused into (fuse_groupnorm.go).

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

type groupNormOpKernel struct {
	groups   int
	eps      float32
	perGroup bool // opset < 21: scale and bias have one value per group
}

func buildGroupNormalization(b *BuildContext) (Kernel, error) {
	n := b.Node
	g := n.AttrInt("num_groups", 0)
	if g < 1 || g > math.MaxInt32 {
		return nil, b.Errorf("num_groups %d must be positive", g)
	}
	if st := n.AttrInt("stash_type", 1); st != 1 {
		return nil, fmt.Errorf("%s: %w stash_type %d (float32 statistics only)", n.Label(), graph.ErrUnsupported, st)
	}
	return &groupNormOpKernel{groups: int(g), eps: n.AttrFloat("epsilon", 1e-5), perGroup: b.Opset < 21}, nil
}

func (k *groupNormOpKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 3); err != nil {
		return nil, err
	}
	x, scale, bias := in[0], in[1], in[2]
	if x.DType != graph.Float32 || scale.DType != graph.Float32 || bias.DType != graph.Float32 {
		return nil, fmt.Errorf("input, scale and bias must be float32, are %s, %s, %s", x.DType, scale.DType, bias.DType)
	}
	if len(x.Shape) < 3 {
		return nil, fmt.Errorf("input must be [N, C, spatial...], has shape %v", x.Shape)
	}
	c := x.Shape[1]
	if c%k.groups != 0 {
		return nil, fmt.Errorf("%d channels do not divide into num_groups %d", c, k.groups)
	}
	want := c
	if k.perGroup {
		want = k.groups
	}
	if scale.Len() != want || bias.Len() != want || len(scale.Shape) != 1 || len(bias.Shape) != 1 {
		return nil, fmt.Errorf("scale %v and bias %v must be [%d] (%s)", scale.Shape, bias.Shape, want,
			map[bool]string{true: "one per group before opset 21", false: "one per channel"}[k.perGroup])
	}
	gamma, beta := scale.F32(), bias.F32()
	if k.perGroup {
		cpg := c / k.groups
		gamma, beta = make([]float32, c), make([]float32, c)
		for ch := range gamma {
			gamma[ch], beta[ch] = scale.F32()[ch/cpg], bias.F32()[ch/cpg]
		}
	}
	ones, zeros := make([]float32, k.groups), make([]float32, k.groups)
	for i := range ones {
		ones[i] = 1
	}
	gk := &groupNormKernel{c: c, groups: k.groups, eps: k.eps, s: ones, t: zeros, gamma: gamma, beta: beta,
		lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
	y := ctx.AllocF32(len(x.F32()))
	groupNormF32(ctx.Threads, x, y, gk)
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}

func init() {
	Register(OpInfo{OpType: "GroupNormalization", Build: buildGroupNormalization})
}
