package runtime

// com.microsoft RotaryEmbedding (ONNX Runtime's contrib operator): per head,
// out[i] = x[i]·cos[p, c(i)] + sign(i)·x[j(i)]·sin[p, c(i)] over the first
// rotary_dim values of the head (the rest copied), with p the token's position,
// and for the halves layout (interleaved 0) c(i) = i mod half, j = (i + half) mod
// rotary_dim, sign -1 on the first half; for interleaved pairs c(i) = i/2, j the
// pair's other member, sign -1 on the even one (ONNX Runtime's
// rotary_embedding.cc).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func buildRotary(b *BuildContext) (Kernel, error) {
	if err := graph.CheckRotaryAttrs(b.Node); err != nil {
		return nil, err
	}
	interleaved := b.Node.AttrInt("interleaved", 0) == 1
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 4); err != nil {
			return nil, err
		}
		x, pid, cosT, sinT := in[0], in[1], in[2], in[3]
		if x.DType != graph.Float32 || cosT.DType != graph.Float32 || sinT.DType != graph.Float32 || pid.DType != graph.Int64 {
			return nil, fmt.Errorf("input %s, caches %s/%s and position_ids %s: float32 and int64 expected", x.DType, cosT.DType, sinT.DType, pid.DType)
		}
		if len(cosT.Shape) != 2 || !sameInts(cosT.Shape, sinT.Shape) {
			return nil, fmt.Errorf("cos_cache %v and sin_cache %v must be equal 2-D shapes", cosT.Shape, sinT.Shape)
		}
		maxPos, half := cosT.Shape[0], cosT.Shape[1]
		if len(x.Shape) != 3 && len(x.Shape) != 4 {
			return nil, fmt.Errorf("input has shape %v, expected [B, S, hidden] or [B, heads, S, head]", x.Shape)
		}
		head, rot, err := graph.RotaryFit(b.Node, len(x.Shape), x.Shape[len(x.Shape)-1], half)
		if err != nil {
			return nil, err
		}
		var bsz, seq, nh int
		if len(x.Shape) == 3 {
			bsz, seq, nh = x.Shape[0], x.Shape[1], x.Shape[2]/head
		} else {
			bsz, nh, seq = x.Shape[0], x.Shape[1], x.Shape[2]
		}
		pd := pid.Data.([]int64)
		offset := len(pd) == 1 && !(len(pid.Shape) == 2 && bsz*seq == 1)
		if !offset && !sameInts(pid.Shape, []int{bsz, seq}) {
			return nil, fmt.Errorf("position_ids has shape %v, expected [%d %d] or [1]", pid.Shape, bsz, seq)
		}
		xd, cd, sd := x.F32(), cosT.F32(), sinT.F32()
		out := make([]float32, len(xd))
		for b := 0; b < bsz; b++ {
			for s := 0; s < seq; s++ {
				var p int64
				if offset {
					p = pd[0] + int64(s)
				} else {
					p = pd[b*seq+s]
				}
				if p < 0 || p >= int64(maxPos) {
					return nil, fmt.Errorf("position %d (batch %d, token %d) is outside the caches' %d positions", p, b, s, maxPos)
				}
				cr, sr := cd[int(p)*half:][:half], sd[int(p)*half:][:half]
				for h := 0; h < nh; h++ {
					var base int
					if len(x.Shape) == 3 {
						base = ((b*seq+s)*nh + h) * head
					} else {
						base = ((b*nh+h)*seq + s) * head
					}
					src, dst := xd[base:][:head], out[base:][:head]
					for i := 0; i < rot; i++ {
						var c, j int
						var v float32
						if interleaved {
							c = i / 2
							if i%2 == 0 {
								j = i + 1
								v = src[i]*cr[c] - src[j]*sr[c]
							} else {
								j = i - 1
								v = src[i]*cr[c] + src[j]*sr[c]
							}
						} else {
							c = i % half
							j = (i + half) % rot
							if i < half {
								v = src[i]*cr[c] - src[j]*sr[c]
							} else {
								v = src[i]*cr[c] + src[j]*sr[c]
							}
						}
						dst[i] = v
					}
					copy(dst[rot:], src[rot:])
				}
			}
		}
		return []*graph.Tensor{graph.FromFloat32(append([]int(nil), x.Shape...), out)}, nil
	}), nil
}

func init() {
	Register(OpInfo{OpType: "RotaryEmbedding", Domain: "com.microsoft", Build: buildRotary})
}
