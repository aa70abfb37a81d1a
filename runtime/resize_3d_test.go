package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// resize3DCases are Resizes of three adjacent axes: NCDHW (inner 1) and the
// int8 executor's channels-last [N, D, H, W, C], up and down, integer and
// fractional factors, every coordinate mode a plan accepts, linear and
// nearest, a depth of one plane, and a leading batch and channel axis.
var resize3DCases = []struct {
	name      string
	k         resizeKernel
	xs, outSh []int
}{
	{"unet3d 2x half_pixel NCDHW", resizeKernel{mode: "linear", ctm: "half_pixel"}, []int{1, 8, 4, 8, 8}, []int{1, 8, 8, 16, 16}},
	{"unet3d 2x half_pixel NDHWC", resizeKernel{mode: "linear", ctm: "half_pixel"}, []int{1, 4, 8, 8, 8}, []int{1, 8, 16, 16, 8}},
	{"align_corners fractional NDHWC 3 channels", resizeKernel{mode: "linear", ctm: "align_corners"}, []int{2, 3, 5, 7, 3}, []int{2, 7, 9, 4, 3}},
	{"pytorch_half_pixel one plane to many NCDHW", resizeKernel{mode: "linear", ctm: "pytorch_half_pixel"}, []int{1, 2, 1, 3, 4}, []int{1, 2, 5, 6, 9}},
	{"asymmetric downsample NDHWC 16 channels", resizeKernel{mode: "linear", ctm: "asymmetric"}, []int{1, 9, 8, 10, 16}, []int{1, 4, 5, 3, 16}},
	{"half_pixel rank 4 leading", resizeKernel{mode: "linear", ctm: "half_pixel"}, []int{3, 4, 5, 6}, []int{3, 6, 10, 12}},
	{"nearest 2x asymmetric floor NDHWC", resizeKernel{mode: "nearest", ctm: "asymmetric", nearest: "floor"}, []int{1, 3, 4, 4, 8}, []int{1, 6, 8, 8, 8}},
	{"nearest fractional round_prefer_ceil NCDHW", resizeKernel{mode: "nearest", ctm: "half_pixel", nearest: "round_prefer_ceil"}, []int{2, 2, 3, 5, 4}, []int{2, 2, 7, 4, 11}},
}

// TestResize3DMatchesPerAxis checks the three-axis plan against the per-axis
// float64 resize (itself checked against the definition by
// TestResampleAxisMatchesDefinition): float32 within 2e-7 of the inputs'
// magnitude per pass, at 1 and 2 threads, through resizeKernel.Run.
func TestResize3DMatchesPerAxis(t *testing.T) {
	for _, c := range resize3DCases {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d threads", c.name, th), func(t *testing.T) {
				k := c.k
				k.cache = &resizePlans{}
				scales := resizeScales(c.xs, c.outSh)
				p := k.plan3D(c.xs, c.outSh, scales)
				require.NotNil(t, p)
				require.Same(t, p, k.plan3D(c.xs, c.outSh, scales), "plans are kept")
				require.Nil(t, k.plan2D(c.xs, c.outSh, scales), "not a two-axis resize")
				x := randInput(rand.New(rand.NewSource(9)), c.xs, -3, 3)
				want, err := k.perAxis(&ExecContext{Threads: 1}, x, c.outSh, scales, nil)
				require.NoError(t, err)
				got := k.run3D(&ExecContext{Threads: th}, x, c.outSh, scales, nil)
				require.NotNil(t, got)
				require.Equal(t, c.outSh, got[0].Shape)
				for i, w := range want[0].F32() {
					require.InDelta(t, w, got[0].F32()[i], 3*2e-7*3, "element %d", i)
				}
			})
		}
	}
}

// TestResize3DInt8MatchesWidened checks the int8 plan against the per-axis
// resize of the widened codes, rounded once: equal, except by one code where
// the exact value is a tie within float rounding.
func TestResize3DInt8MatchesWidened(t *testing.T) {
	for _, c := range resize3DCases {
		if c.k.mode != "linear" {
			continue
		}
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d threads", c.name, th), func(t *testing.T) {
				k := c.k
				k.cache = &resizePlans{}
				scales := resizeScales(c.xs, c.outSh)
				rng := rand.New(rand.NewSource(10))
				codes := make([]int8, graph.NumElements(c.xs))
				wide := make([]float32, len(codes))
				for i := range codes {
					codes[i] = int8(rng.Intn(256) - 128)
					wide[i] = float32(codes[i])
				}
				codes[0], wide[0] = -128, -128
				codes[len(codes)-1], wide[len(codes)-1] = 127, 127
				ref, err := k.perAxis(&ExecContext{Threads: 1}, graph.FromFloat32(c.xs, wide), c.outSh, scales, nil)
				require.NoError(t, err)
				in := []*graph.Tensor{{DType: graph.Int8, Shape: c.xs, Data: codes}}
				got, err := resizeInt8Wrap(&ExecContext{Threads: th}, &k, append(in, nil, graph.FromFloat32([]int{len(scales)}, f32s(scales))))
				require.NoError(t, err)
				require.Equal(t, c.outSh, got[0].Shape)
				codesOut := got[0].Data.([]int8)
				for i, v := range ref[0].F32() {
					want := math.RoundToEven(float64(v))
					if float64(codesOut[i]) != want {
						require.InDelta(t, want, float64(codesOut[i]), 1, "element %d (%g)", i, v)
						frac := math.Abs(float64(v) - math.Floor(float64(v)))
						require.InDelta(t, 0.5, frac, 1e-4, "element %d: %g is no tie, got %d", i, v, codesOut[i])
					}
				}
			})
		}
	}
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestResize3DDeclines lists the resizes the three-axis plan leaves to the
// two-axis plan or the per-axis path.
func TestResize3DDeclines(t *testing.T) {
	lin := resizeKernel{mode: "linear", ctm: "half_pixel"}
	for _, c := range []struct {
		name      string
		k         resizeKernel
		xs, outSh []int
	}{
		{"two axes", lin, []int{1, 4, 4, 6, 6}, []int{1, 4, 4, 12, 12}},
		{"four axes", lin, []int{1, 4, 4, 6, 6}, []int{1, 8, 8, 12, 12}},
		{"three axes apart", lin, []int{1, 4, 4, 6, 6}, []int{1, 8, 4, 12, 12}},
		{"cubic", resizeKernel{mode: "cubic", ctm: "half_pixel", cubicA: -0.75}, []int{1, 2, 4, 6, 6}, []int{1, 2, 8, 12, 12}},
		{"crop", resizeKernel{mode: "linear", ctm: "tf_crop_and_resize"}, []int{1, 2, 4, 6, 6}, []int{1, 2, 8, 12, 12}},
		{"antialiased downscale", resizeKernel{mode: "linear", ctm: "half_pixel", antialias: true}, []int{1, 2, 8, 12, 12}, []int{1, 2, 2, 3, 3}},
		{"empty", lin, []int{1, 0, 4, 6, 6}, []int{1, 0, 8, 12, 12}},
		{"rank 2", lin, []int{4, 6}, []int{8, 12}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Nil(t, c.k.plan3D(c.xs, c.outSh, resizeScales(c.xs, c.outSh)))
		})
	}
}
