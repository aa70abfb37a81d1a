package runtime

// Convolutions followed by the Add of a per-sample, per-channel bias: the
// diffusion UNets' residual blocks add the time embedding, projected to the
// block's channels and unsqueezed to [N, C, 1, 1], to the output of their
// first convolution (conditioning and FiLM-style shifts are spelled the
// same way). The Add broadcasts over the pixels only, so it is one bias per
// (sample, channel): the channels-last convolution folds it into its own
// bias vector, image by image, and the GEMM applies it as it stores each
// tile, at the cost of the per-channel bias. Before (twentieth session)
// such a convolution stayed NCHW with the Add in its epilogue pass, and it
// cut the channels-last chain around it (the GroupNorms before and after
// ran NCHW too).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// sampleBiasConvKernel is a channels-last convolution (rows, with its fused
// clamp and activation) whose input bIdx is a per-sample bias: a float32
// tensor that broadcasts to the output [N, M, H, W] along N and M only.
type sampleBiasConvKernel struct {
	rows *rowsConvKernel
	bIdx int
}

func (k *sampleBiasConvKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) <= k.bIdx || k.bIdx < k.rows.nConvIn {
		return nil, fmt.Errorf("channels-last Conv with a per-sample bias: got %d inputs", len(in))
	}
	return k.rows.run(ctx, in[:k.rows.nConvIn], in[k.bIdx])
}

// sampleBiasDims returns the batch and channel sizes of a per-sample bias
// shape against an output of n samples and m channels: rank at most 4,
// right-aligned to [N, M, 1, 1], each of its first two sizes 1 or the
// output's. ok is false for any other shape.
func sampleBiasDims(shape []int, n, m int) (bn, bm int, ok bool) {
	if len(shape) > 4 {
		return 0, 0, false
	}
	d := [4]int{1, 1, 1, 1}
	copy(d[4-len(shape):], shape)
	if d[2] != 1 || d[3] != 1 || d[0] != 1 && d[0] != n || d[1] != 1 && d[1] != m {
		return 0, 0, false
	}
	return d[0], d[1], true
}

// sampleBiases returns n bias vectors of np floats each (np >= m: the
// padding channels stay zero), vector i the convolution's own bias (nil:
// none) plus sample i's channel values of sb.
func sampleBiases(sb *graph.Tensor, n, m int, bias []float32, np int) ([]float32, error) {
	if sb == nil || sb.DType != graph.Float32 {
		return nil, fmt.Errorf("per-sample bias is not float32")
	}
	bn, bm, ok := sampleBiasDims(sb.Shape, n, m)
	if !ok {
		return nil, fmt.Errorf("per-sample bias %v does not broadcast to [%d, %d, 1, 1]", sb.Shape, n, m)
	}
	v := sb.F32()
	out := make([]float32, n*np)
	for img := 0; img < n; img++ {
		row := out[img*np : img*np+m]
		copy(row, bias)
		si := 0
		if bn > 1 {
			si = img * bm
		}
		for c := range row {
			if bm > 1 {
				row[c] += v[si+c]
			} else {
				row[c] += v[si]
			}
		}
	}
	return out, nil
}

// sampleBiasShape reports whether the static shape of value r is a
// per-sample bias of the convolution output value o (sampleBiasDims).
func sampleBiasShape(r, o *graph.Value) bool {
	if r == nil || o == nil || !r.HasShape || !o.HasShape || r.DType != graph.Float32 || len(o.Shape) != 4 {
		return false
	}
	rs, ok := r.Shape.Concrete()
	if !ok {
		return false
	}
	n, m := o.Shape[0], o.Shape[1]
	if !m.Known() {
		return false
	}
	d := [4]int{1, 1, 1, 1}
	if len(rs) > 4 {
		return false
	}
	copy(d[4-len(rs):], rs)
	// The batch of the bias: 1, or the output's (known) batch.
	if d[0] != 1 && (!n.Known() || d[0] != n.Size) {
		return false
	}
	_, _, ok = sampleBiasDims(rs, d[0], m.Size)
	return ok
}
