package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// gridSampleModel is Y = GridSample(X, grid) with the given attributes.
func gridSampleModel(x, grid []graph.Dim, attrs ...*graph.Attr) *graph.Model {
	b := testmodels.New(1)
	b.Opsets[""] = 16
	xi := b.Input("x", x...)
	gi := b.Input("grid", grid...)
	b.Output(b.Node("GridSample", []string{xi, gi}, attrs...))
	return b.Model()
}

func dims(s ...int) []graph.Dim {
	d := make([]graph.Dim, len(s))
	for i, v := range s {
		d[i] = graph.Dim{Size: v}
	}
	return d
}

// identityGrid samples every pixel at its own centre, shifted by dx pixels along the
// width: normalized as align_corners says.
func identityGrid(n, h, w int, dx float32, align bool) *graph.Tensor {
	g := make([]float32, 0, n*h*w*2)
	norm := func(i float32, l int) float32 {
		if align {
			return 2*i/float32(l-1) - 1
		}
		return (2*i+1)/float32(l) - 1
	}
	for b := 0; b < n; b++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g = append(g, norm(float32(x)+dx, w), norm(float32(y), h))
			}
		}
	}
	return graph.FromFloat32([]int{n, h, w, 2}, g)
}

// Sampling at the pixel centres gives the input back in every mode and padding, and
// a shift by one pixel with border padding gives the shifted input with its last
// column repeated (bicubic included: at integer locations its weights are 0, 1, 0, 0,
// and its border clamps the taps).
func TestGridSampleIdentityAndShift(t *testing.T) {
	const N, C, H, W = 2, 3, 5, 6
	rng := rand.New(rand.NewSource(2))
	x := randInput(rng, []int{N, C, H, W}, -1, 1)
	for _, mode := range []string{"bilinear", "nearest", "bicubic", "linear", "cubic"} {
		for _, pad := range []string{"zeros", "border", "reflection"} {
			for _, align := range []bool{false, true} {
				ac := int64(0)
				if align {
					ac = 1
				}
				m := gridSampleModel(dims(N, C, H, W), dims(N, H, W, 2), graph.StringAttr("mode", mode),
					graph.StringAttr("padding_mode", pad), graph.IntAttr("align_corners", ac))
				s, err := NewSession(m, WithMode(ModeFloat))
				require.NoError(t, err)
				out, err := s.RunTensors(map[string]*graph.Tensor{"x": x, "grid": identityGrid(N, H, W, 0, align)})
				require.NoError(t, err)
				y := out[s.Outputs()[0].Name]
				require.Equal(t, []int{N, C, H, W}, y.Shape)
				assert.InDeltaSlice(t, x.F32(), y.F32(), 1e-5, "%s %s align=%v: identity", mode, pad, align)
				if pad != "border" {
					continue
				}
				out, err = s.RunTensors(map[string]*graph.Tensor{"x": x, "grid": identityGrid(N, H, W, 1, align)})
				require.NoError(t, err)
				y = out[s.Outputs()[0].Name]
				xs, ys := x.F32(), y.F32()
				for p := 0; p < N*C*H; p++ {
					for i := 0; i < W; i++ {
						j := min(i+1, W-1)
						assert.InDelta(t, xs[p*W+j], ys[p*W+i], 1e-5, "%s align=%v: shift, row %d column %d", mode, align, p, i)
					}
				}
			}
		}
	}
}

// What GridSample does not run is an error naming the node, never a guess.
func TestGridSampleErrors(t *testing.T) {
	_, err := NewSession(gridSampleModel(dims(1, 2, 4, 4), dims(1, 3, 3, 2), graph.StringAttr("mode", "area")))
	require.Error(t, err)
	assert.ErrorIs(t, err, graph.ErrUnsupported)
	assert.Contains(t, err.Error(), "GridSample")
	assert.Contains(t, err.Error(), `mode "area"`)

	_, err = NewSession(gridSampleModel(dims(1, 2, 4, 4, 4), dims(1, 3, 3, 3, 3)))
	require.Error(t, err)
	assert.ErrorIs(t, err, graph.ErrUnsupported)
	assert.Contains(t, err.Error(), "rank 5")

	_, err = NewSession(gridSampleModel(dims(1, 2, 4, 4), dims(1, 3, 3, 3)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "last dimension must be 2")
}
