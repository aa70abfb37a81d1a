package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// resize2DCases are Resizes of two adjacent axes: NCHW (inner 1) and
// channels-last (inner > 1), up and down, integer and fractional factors,
// every coordinate mode a plan accepts, linear and nearest.
var resize2DCases = []struct {
	name      string
	k         resizeKernel
	xs, outSh []int
}{
	{"linear 2x half_pixel NCHW", resizeKernel{mode: "linear", ctm: "half_pixel"}, []int{2, 3, 7, 9}, []int{2, 3, 14, 18}},
	{"linear 2x align_corners NHWC", resizeKernel{mode: "linear", ctm: "align_corners"}, []int{1, 16, 16, 32}, []int{1, 32, 32, 32}},
	{"linear 8x pytorch_half_pixel NCHW", resizeKernel{mode: "linear", ctm: "pytorch_half_pixel"}, []int{1, 21, 5, 6}, []int{1, 21, 40, 48}},
	{"linear fractional asymmetric NHWC stride 48", resizeKernel{mode: "linear", ctm: "asymmetric"}, []int{2, 5, 7, 48}, []int{2, 13, 11, 48}},
	{"linear downsample NHWC 3 channels", resizeKernel{mode: "linear", ctm: "half_pixel"}, []int{1, 17, 19, 3}, []int{1, 8, 6, 3}},
	{"linear 1 row to many", resizeKernel{mode: "linear", ctm: "pytorch_half_pixel"}, []int{1, 4, 1, 1}, []int{1, 4, 9, 5}},
	{"nearest 2x asymmetric floor NHWC", resizeKernel{mode: "nearest", ctm: "asymmetric", nearest: "floor"}, []int{1, 8, 8, 16}, []int{1, 16, 16, 16}},
	{"nearest 3x round_prefer_floor NCHW", resizeKernel{mode: "nearest", ctm: "half_pixel", nearest: "round_prefer_floor"}, []int{1, 2, 5, 4}, []int{1, 2, 15, 12}},
	{"nearest fractional tf_half_pixel_for_nn", resizeKernel{mode: "nearest", ctm: "tf_half_pixel_for_nn", nearest: "round_prefer_floor"}, []int{3, 6, 7, 5}, []int{3, 6, 10, 4}},
}

func resizeScales(xs, outSh []int) []float64 {
	s := make([]float64, len(xs))
	for a := range xs {
		s[a] = float64(outSh[a]) / float64(xs[a])
	}
	return s
}

// TestResize2DMatchesPerAxis checks the two-axis plan against the per-axis
// float64 resize: float32 within 2e-7 of the inputs' magnitude, at 1 and 2
// threads, and NCHW output from channels-last input (nchwC) equal to the
// transposed channels-last result.
func TestResize2DMatchesPerAxis(t *testing.T) {
	for _, c := range resize2DCases {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d threads", c.name, th), func(t *testing.T) {
				k := c.k
				k.cache = &resizePlans{}
				scales := resizeScales(c.xs, c.outSh)
				p := k.plan2D(c.xs, c.outSh, scales)
				require.NotNil(t, p)
				require.Same(t, p, k.plan2D(c.xs, c.outSh, scales), "plans are kept")
				x := randInput(rand.New(rand.NewSource(7)), c.xs, -3, 3)
				want, err := k.perAxis(&ExecContext{Threads: 1}, x, c.outSh, scales, nil)
				require.NoError(t, err)
				got := make([]float32, graph.NumElements(c.outSh))
				p.runF32(x.F32(), got, 0, th)
				for i, w := range want[0].F32() {
					require.InDelta(t, w, got[i], 2e-7*6, "element %d", i)
				}
				if p.inner > 1 && p.outer == c.xs[0] {
					// channels-last in, NCHW out: [N, C, OH, OW] of the inner channels
					nchw := make([]float32, len(got))
					p.runF32(x.F32(), nchw, p.inner, th)
					n, oh, ow, ch := c.outSh[0], c.outSh[1], c.outSh[2], c.outSh[3]
					for i := 0; i < n*ch*oh*ow; i++ {
						img, cc, yy, xx := i/(ch*oh*ow), i/(oh*ow)%ch, i/ow%oh, i%ow
						require.Equal(t, got[((img*oh+yy)*ow+xx)*ch+cc], nchw[i])
					}
				}
			})
		}
	}
}

// TestResize2DInt8MatchesWidened checks the int8 plan against the per-axis
// resize of the widened codes, rounded once: equal, except by one code where
// the exact value is a tie within float rounding.
func TestResize2DInt8MatchesWidened(t *testing.T) {
	for _, c := range resize2DCases {
		if c.k.mode != "linear" {
			continue
		}
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d threads", c.name, th), func(t *testing.T) {
				k := c.k
				k.cache = &resizePlans{}
				scales := resizeScales(c.xs, c.outSh)
				p := k.plan2D(c.xs, c.outSh, scales)
				require.NotNil(t, p)
				rng := rand.New(rand.NewSource(8))
				codes := make([]int8, graph.NumElements(c.xs))
				wide := make([]float32, len(codes))
				for i := range codes {
					codes[i] = int8(rng.Intn(256) - 128)
					wide[i] = float32(codes[i])
				}
				ref, err := k.perAxis(&ExecContext{Threads: 1}, graph.FromFloat32(c.xs, wide), c.outSh, scales, nil)
				require.NoError(t, err)
				got := make([]int8, graph.NumElements(c.outSh))
				p.runI8(codes, got, th)
				for i, v := range ref[0].F32() {
					want := math.RoundToEven(float64(v))
					if float64(got[i]) != want {
						require.InDelta(t, want, float64(got[i]), 1, "element %d (%g)", i, v)
						frac := math.Abs(float64(v) - math.Floor(float64(v)))
						require.InDelta(t, 0.5, frac, 1e-4, "element %d: %g is no tie, got %d", i, v, got[i])
					}
				}
			})
		}
	}
}

// TestResize2DDeclines lists the resizes the plan leaves to the per-axis path.
func TestResize2DDeclines(t *testing.T) {
	lin := resizeKernel{mode: "linear", ctm: "half_pixel"}
	for _, c := range []struct {
		name      string
		k         resizeKernel
		xs, outSh []int
	}{
		{"three axes", lin, []int{1, 4, 6, 6}, []int{1, 8, 12, 12}},
		{"one axis", lin, []int{1, 4, 6, 6}, []int{1, 4, 12, 6}},
		{"two axes apart", lin, []int{1, 4, 6, 6}, []int{1, 8, 6, 12}},
		{"cubic", resizeKernel{mode: "cubic", ctm: "half_pixel", cubicA: -0.75}, []int{1, 4, 6, 6}, []int{1, 4, 12, 12}},
		{"crop", resizeKernel{mode: "linear", ctm: "tf_crop_and_resize"}, []int{1, 4, 6, 6}, []int{1, 4, 12, 12}},
		{"empty", lin, []int{1, 0, 6, 6}, []int{1, 0, 12, 12}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Nil(t, c.k.plan2D(c.xs, c.outSh, resizeScales(c.xs, c.outSh)))
		})
	}
}

// TestResize2DSmallPixelsSameBits: a linear plan over pixels of 2-7 values
// blends each output row value by value (resize2D.eIdx); the results are the
// bits of the per-pixel kernels.Blend2F32 it replaces, float32 and int8, up
// and down, at 1 and 2 threads.
func TestResize2DSmallPixelsSameBits(t *testing.T) {
	for inner := 2; inner < smallInner; inner++ {
		for _, sz := range [][4]int{{150, 100, 96, 64}, {7, 9, 20, 31}} {
			for _, th := range []int{1, 2} {
				t.Run(fmt.Sprintf("inner %d %v %d threads", inner, sz, th), func(t *testing.T) {
					k := resizeKernel{mode: "linear", ctm: "half_pixel"}
					xs, outSh := []int{1, sz[0], sz[1], inner}, []int{1, sz[2], sz[3], inner}
					p := k.plan2D(xs, outSh, resizeScales(xs, outSh))
					require.NotNil(t, p)
					require.NotNil(t, p.eIdx)
					ref := *p
					ref.eIdx, ref.eW = nil, nil
					x := randInput(rand.New(rand.NewSource(int64(inner))), xs, -3, 3)
					got, want := make([]float32, graph.NumElements(outSh)), make([]float32, graph.NumElements(outSh))
					p.runF32(x.F32(), got, 0, th)
					ref.runF32(x.F32(), want, 0, th)
					for i := range want {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "element %d", i)
					}
					codes := make([]int8, len(x.F32()))
					for i, v := range x.F32() {
						codes[i] = int8(v * 40)
					}
					gi, wi := make([]int8, len(got)), make([]int8, len(got))
					p.runI8(codes, gi, th)
					ref.runI8(codes, wi, th)
					require.Equal(t, wi, gi)
				})
			}
		}
	}
}
