package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// groupNormRef is the textbook group normalisation in float64, with per-channel
// scale and bias.
func groupNormRef(x []float32, shape []int, groups int, eps float64, scale, bias []float32) []float32 {
	n, c, size := shape[0], shape[1], graph.NumElements(shape[2:])
	cpg := c / groups
	out := make([]float32, len(x))
	for b := 0; b < n; b++ {
		for g := 0; g < groups; g++ {
			lo, hi := (b*c+g*cpg)*size, (b*c+(g+1)*cpg)*size
			var s, ss float64
			for _, v := range x[lo:hi] {
				s += float64(v)
			}
			mean := s / float64(hi-lo)
			for _, v := range x[lo:hi] {
				ss += (float64(v) - mean) * (float64(v) - mean)
			}
			inv := 1 / math.Sqrt(ss/float64(hi-lo)+eps)
			for i := lo; i < hi; i++ {
				ch := (i / size) % c
				out[i] = float32((float64(x[i])-mean)*inv*float64(scale[ch]) + float64(bias[ch]))
			}
		}
	}
	return out
}

func TestGroupNormalizationMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	cases := []struct {
		name   string
		shape  []int
		groups int
		opset  int64
	}{
		{"opset 21, 3 groups", []int{2, 6, 5, 4}, 3, 21},
		{"opset 21, one group (LayerNorm over C, H, W)", []int{1, 8, 3, 3}, 1, 21},
		{"opset 21, instance norm (groups = C), 1-D", []int{2, 4, 11}, 4, 21},
		{"opset 18, per-group scale", []int{2, 6, 5, 4}, 2, 18},
		{"opset 18, 3-D", []int{1, 4, 2, 3, 3}, 2, 18},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, tc.shape)
			for i := range x.F32() {
				x.F32()[i] = r.Float32()*4 - 1
			}
			c, k := tc.shape[1], tc.shape[1]
			if tc.opset < 21 {
				k = tc.groups
			}
			scale, bias := graph.NewTensor(graph.Float32, []int{k}), graph.NewTensor(graph.Float32, []int{k})
			for i := 0; i < k; i++ {
				scale.F32()[i], bias.F32()[i] = r.Float32()+0.5, r.Float32()-0.5
			}
			chScale, chBias := make([]float32, c), make([]float32, c)
			for ch := range chScale {
				j := ch
				if tc.opset < 21 {
					j = ch / (c / tc.groups)
				}
				chScale[ch], chBias[ch] = scale.F32()[j], bias.F32()[j]
			}
			n := &graph.Node{OpType: "GroupNormalization", Inputs: []string{"x", "s", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			n.SetAttrInt("num_groups", int64(tc.groups))
			n.SetAttrFloat("epsilon", 1e-3)
			for _, threads := range []int{1, 2} {
				got, err := runNodeWith(t, tc.opset, threads, n, []bool{false, true, true}, x, scale, bias)
				require.NoError(t, err)
				assert.InDeltaSlice(t, groupNormRef(x.F32(), tc.shape, tc.groups, 1e-3, chScale, chBias), got[0].F32(), 2e-5)
			}
		})
	}
	// A per-channel scale at opset 18 (or a per-group one at 21) is refused, naming the node.
	n := &graph.Node{OpType: "GroupNormalization", Name: "gn_node", Inputs: []string{"x", "s", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	n.SetAttrInt("num_groups", 2)
	x, s6 := graph.NewTensor(graph.Float32, []int{1, 6, 2, 2}), graph.NewTensor(graph.Float32, []int{6})
	_, err := runSingleNode(t, 18, n, x, s6, s6)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gn_node")
	assert.Contains(t, err.Error(), "expected [2] at opset 18")
}

func TestAffineGridMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(20))
	for _, align := range []int64{0, 1} {
		theta := graph.NewTensor(graph.Float32, []int{2, 2, 3})
		for i := range theta.F32() {
			theta.F32()[i] = r.Float32()*2 - 1
		}
		n := &graph.Node{OpType: "AffineGrid", Inputs: []string{"theta", "size"}, Outputs: []string{"grid"}, Attrs: map[string]*graph.Attr{}}
		n.SetAttrInt("align_corners", align)
		h, w := 3, 5
		got, err := runNodeWith(t, 20, 1, n, []bool{false, true}, theta, graph.FromInt64([]int{4}, []int64{2, 7, int64(h), int64(w)}))
		require.NoError(t, err)
		require.Equal(t, []int{2, h, w, 2}, got[0].Shape)
		lin := func(i, m int) float64 { // torch.linspace(-1, 1, m), scaled to pixel centres without align_corners
			v := -1 + 2*float64(i)/float64(m-1)
			if align == 0 {
				v *= float64(m-1) / float64(m)
			}
			return v
		}
		for b := 0; b < 2; b++ {
			th := theta.F32()[b*6:]
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					o := ((b*h+y)*w + x) * 2
					xx, yy := lin(x, w), lin(y, h)
					assert.InDelta(t, float64(th[0])*xx+float64(th[1])*yy+float64(th[2]), float64(got[0].F32()[o]), 1e-6)
					assert.InDelta(t, float64(th[3])*xx+float64(th[4])*yy+float64(th[5]), float64(got[0].F32()[o+1]), 1e-6)
				}
			}
		}
	}
	n := &graph.Node{OpType: "AffineGrid", Name: "ag_node", Inputs: []string{"theta", "size"}, Outputs: []string{"grid"}}
	_, err := runNodeDynamic(t, n, graph.NewTensor(graph.Float32, []int{1, 3, 4}), graph.FromInt64([]int{5}, []int64{1, 1, 2, 2, 2}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "2-D form")
	assert.Contains(t, err.Error(), "ag_node")
}

func TestGeluOperator(t *testing.T) {
	x := graph.FromFloat32([]int{7}, []float32{-6, -2, -0.5, 0, 0.5, 2, 6})
	for _, approx := range []string{"none", "tanh"} {
		n := &graph.Node{OpType: "Gelu", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
		n.SetAttrString("approximate", approx)
		got, err := runSingleNode(t, 20, n, x)
		require.NoError(t, err)
		for i, v := range x.F32() {
			f := float64(v)
			want := 0.5 * f * (1 + math.Erf(f/math.Sqrt2))
			if approx == "tanh" {
				want = 0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f)))
			}
			assert.InDelta(t, want, float64(got[0].F32()[i]), 2e-6, "%s x=%g", approx, v)
		}
	}
	n := &graph.Node{OpType: "Gelu", Name: "gelu_node", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	n.SetAttrString("approximate", "sigmoid")
	_, err := runSingleNode(t, 20, n, x)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gelu_node")
}
