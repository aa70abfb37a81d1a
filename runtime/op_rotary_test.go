package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestRotaryEmbeddingMatchesReference checks com.microsoft RotaryEmbedding
// against the rotation it is: each pair of a head's first rotary_dim values
// (i, i + half) — or (2i, 2i + 1) interleaved — turned by the angle whose cos
// and sin the caches hold at the token's position; the rest copied. Inputs
// [B, S, hidden] (heads from num_heads or from the caches) and [B, heads, S,
// head], positions [B, S] or a [1] offset.
func TestRotaryEmbeddingMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	for _, tc := range []struct {
		name                  string
		shape                 []int // input
		heads, rdim, half     int
		interleaved, offset   bool
		headAxis, seqAxisSize int
	}{
		{"3-D halves num_heads", []int{2, 5, 16}, 2, 0, 4, false, false, 0, 5},
		{"3-D heads from caches", []int{1, 3, 12}, 0, 0, 3, false, false, 0, 3},
		{"3-D interleaved partial", []int{2, 4, 16}, 2, 6, 3, true, false, 0, 4},
		{"4-D interleaved offset", []int{2, 3, 4, 8}, 0, 0, 4, true, true, 1, 4},
		{"4-D halves partial offset", []int{1, 2, 5, 10}, 2, 4, 2, false, true, 1, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, tc.shape)
			for i := range x.F32() {
				x.F32()[i] = float32(rng.NormFloat64())
			}
			maxPos := 20
			ang := make([]float64, maxPos*tc.half)
			cosT := graph.NewTensor(graph.Float32, []int{maxPos, tc.half})
			sinT := graph.NewTensor(graph.Float32, []int{maxPos, tc.half})
			for i := range ang {
				ang[i] = rng.Float64() * 6
				cosT.F32()[i], sinT.F32()[i] = float32(math.Cos(ang[i])), float32(math.Sin(ang[i]))
			}
			b, s := tc.shape[0], tc.seqAxisSize
			var pos *graph.Tensor
			if tc.offset {
				pos = graph.FromInt64([]int{1}, []int64{3})
			} else {
				p := make([]int64, b*s)
				for i := range p {
					p[i] = int64(rng.Intn(maxPos))
				}
				pos = graph.FromInt64([]int{b, s}, p)
			}
			attrs := map[string]*graph.Attr{"interleaved": graph.IntAttr("interleaved", 0)}
			if tc.interleaved {
				attrs["interleaved"] = graph.IntAttr("interleaved", 1)
			}
			if tc.heads > 0 {
				attrs["num_heads"] = graph.IntAttr("num_heads", int64(tc.heads))
			}
			if tc.rdim > 0 {
				attrs["rotary_embedding_dim"] = graph.IntAttr("rotary_embedding_dim", int64(tc.rdim))
			}
			n := &graph.Node{Name: "rope", OpType: "RotaryEmbedding", Domain: "com.microsoft",
				Inputs: []string{"x", "pos", "cos", "sin"}, Outputs: []string{"y"}, Attrs: attrs}
			got, err := runSingleNode(t, 17, n, x, pos, cosT, sinT)
			require.NoError(t, err)
			// The reference walks [B, S, heads, head] views of both layouts.
			var nh, head int
			if len(tc.shape) == 3 {
				head = 2 * tc.half
				if tc.heads > 0 {
					head = tc.shape[2] / tc.heads
				}
				nh = tc.shape[2] / head
			} else {
				nh, head = tc.shape[1], tc.shape[3]
			}
			rot := 2 * tc.half
			idx := func(bi, si, h, i int) int {
				if len(tc.shape) == 3 {
					return ((bi*s+si)*nh+h)*head + i
				}
				return ((bi*nh+h)*s+si)*head + i
			}
			xd, yd := x.F32(), got[0].F32()
			for bi := 0; bi < b; bi++ {
				for si := 0; si < s; si++ {
					p := int(pos.I64()[0]) + si
					if !tc.offset {
						p = int(pos.I64()[bi*s+si])
					}
					for h := 0; h < nh; h++ {
						for c := 0; c < tc.half; c++ {
							i, j := c, c+tc.half
							if tc.interleaved {
								i, j = 2*c, 2*c+1
							}
							a, bb := float64(xd[idx(bi, si, h, i)]), float64(xd[idx(bi, si, h, j)])
							co, si2 := math.Cos(ang[p*tc.half+c]), math.Sin(ang[p*tc.half+c])
							require.InDelta(t, a*co-bb*si2, float64(yd[idx(bi, si, h, i)]), 1e-5)
							require.InDelta(t, bb*co+a*si2, float64(yd[idx(bi, si, h, j)]), 1e-5)
						}
						for i := rot; i < head; i++ {
							require.Equal(t, xd[idx(bi, si, h, i)], yd[idx(bi, si, h, i)], "value %d past the rotary dimension", i)
						}
					}
				}
			}
		})
	}
}

// TestRotaryEmbeddingRefusals: attribute values the kernel does not implement
// and positions outside the caches are errors naming the node.
func TestRotaryEmbeddingRefusals(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{1, 2, 8})
	cs := graph.NewTensor(graph.Float32, []int{4, 4})
	run := func(attrs map[string]*graph.Attr, pos *graph.Tensor) error {
		n := &graph.Node{Name: "rope", OpType: "RotaryEmbedding", Domain: "com.microsoft",
			Inputs: []string{"x", "pos", "cos", "sin"}, Outputs: []string{"y"}, Attrs: attrs}
		_, err := runSingleNode(t, 17, n, x, pos, cs, cs)
		return err
	}
	ok := graph.FromInt64([]int{1, 2}, []int64{0, 1})
	require.ErrorContains(t, run(map[string]*graph.Attr{"scale": graph.FloatAttr("scale", 2)}, ok), `"rope": scale 2`)
	require.ErrorContains(t, run(map[string]*graph.Attr{"is_packed_batching": graph.IntAttr("is_packed_batching", 1)}, ok), "is_packed_batching")
	require.ErrorContains(t, run(map[string]*graph.Attr{"rotary_embedding_dim": graph.IntAttr("rotary_embedding_dim", 4)}, ok), "needs num_heads")
	require.ErrorContains(t, run(map[string]*graph.Attr{}, graph.FromInt64([]int{1, 2}, []int64{0, 4})), "position 4")
}
