package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// gridSampleVolumeRef is the 5-D GridSample voxel by voxel through volumeTaps
// alone (the kernel's general path, which handled every voxel before the
// interior fast path): the reference the fast path must equal bit for bit.
func gridSampleVolumeRef(k *gridSampleKernel, x, grid *graph.Tensor) []float32 {
	N, C, D, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], x.Shape[4]
	ovol := grid.Shape[1] * grid.Shape[2] * grid.Shape[3]
	vol := D * H * W
	xd, gd := x.F32(), grid.F32()
	out := make([]float32, N*C*ovol)
	for n := 0; n < N; n++ {
		for p := 0; p < ovol; p++ {
			var idx [8]int
			var w [8]float32
			g := gd[(n*ovol+p)*3:]
			taps := k.volumeTaps(g[0], g[1], g[2], D, H, W, &idx, &w)
			for c := 0; c < C; c++ {
				at := func(i int) float32 {
					if idx[i] < 0 {
						return 0
					}
					return xd[(n*C+c)*vol+idx[i]]
				}
				var v float32
				if taps == 1 {
					v = at(0)
				} else {
					v = w[4]*(w[2]*(w[0]*at(0)+w[1]*at(1))+w[3]*(w[0]*at(2)+w[1]*at(3))) +
						w[5]*(w[2]*(w[0]*at(4)+w[1]*at(5))+w[3]*(w[0]*at(6)+w[1]*at(7)))
				}
				out[(n*C+c)*ovol+p] = v
			}
		}
	}
	return out
}

// TestGridSampleVolumeInteriorMatchesGeneral: random grids reaching past the
// volume (and NaN, and the last voxel exactly), every padding, both
// align_corners, trilinear and nearest, 1-3 channels, batch 1-2, 1 and 2
// threads: the output equals the per-voxel general path bit for bit.
func TestGridSampleVolumeInteriorMatchesGeneral(t *testing.T) {
	for _, tc := range []struct {
		name           string
		n, c, d, h, w  int
		od, oh, ow     int
		spread         float32 // grid values in [-spread, spread]
		mode, padding  string
		align, special bool
	}{
		{"voxelmorph-like", 1, 1, 16, 16, 16, 16, 16, 16, 1, "bilinear", "zeros", false, false},
		{"outside zeros", 2, 3, 5, 6, 7, 4, 5, 6, 1.4, "bilinear", "zeros", false, true},
		{"outside border", 1, 2, 4, 5, 3, 3, 4, 5, 1.4, "bilinear", "border", true, true},
		{"outside reflection", 1, 2, 6, 4, 5, 5, 3, 4, 2.5, "bilinear", "reflection", false, true},
		{"align reflection", 2, 1, 3, 7, 4, 4, 4, 4, 1.2, "bilinear", "reflection", true, false},
		{"one voxel thick", 1, 2, 1, 5, 6, 3, 3, 3, 1, "bilinear", "zeros", false, false},
		{"nearest", 1, 3, 5, 5, 5, 4, 4, 4, 1.2, "nearest", "border", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tc.d*100 + tc.w)))
			x := randInput(rng, []int{tc.n, tc.c, tc.d, tc.h, tc.w}, -1, 1)
			grid := randInput(rng, []int{tc.n, tc.od, tc.oh, tc.ow, 3}, -tc.spread, tc.spread)
			if tc.special {
				g := grid.F32()
				g[0], g[4] = float32(math.NaN()), 1 // a NaN, and y on the last row exactly
				g[6], g[7], g[8] = -1, -1, -1
			}
			k := &gridSampleKernel{mode: tc.mode, padding: tc.padding, align: tc.align}
			want := gridSampleVolumeRef(k, x, grid)
			for _, th := range []int{1, 2} {
				got, err := k.Run(&ExecContext{Threads: th}, []*graph.Tensor{x, grid})
				require.NoError(t, err)
				require.Equal(t, []int{tc.n, tc.c, tc.od, tc.oh, tc.ow}, got[0].Shape)
				gd := got[0].F32()
				for i := range want {
					if math.IsNaN(float64(want[i])) {
						assert.True(t, math.IsNaN(float64(gd[i])), "element %d", i)
						continue
					}
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(gd[i]), "element %d (threads %d): %v vs %v", i, th, gd[i], want[i])
				}
			}
		})
	}
}

// BenchmarkGridSampleVolume is voxelmorph_grid5d_op20's warp: one channel of
// 16³ sampled at an identity grid moved by up to a voxel and a half.
func BenchmarkGridSampleVolume(b *testing.B) {
	const n = 16
	rng := rand.New(rand.NewSource(1))
	x := randInput(rng, []int{1, 1, n, n, n}, -1, 1)
	grid := graph.NewTensor(graph.Float32, []int{1, n, n, n, 3})
	g := grid.F32()
	for p := 0; p < n*n*n; p++ {
		at := [3]int{p % n, p / n % n, p / (n * n)}
		for a := 0; a < 3; a++ {
			g[3*p+a] = (2*float32(at[a])+1)/n - 1 + (rng.Float32()*2-1)*3/n
		}
	}
	k := &gridSampleKernel{mode: "bilinear", padding: "zeros"}
	ctx := &ExecContext{Threads: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Run(ctx, []*graph.Tensor{x, grid}); err != nil {
			b.Fatal(err)
		}
	}
}
