package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestMaxUnpoolInvertsMaxPool checks MaxUnpool against its definition on
// MaxPool's indices: every pooled maximum back at its position, zeros elsewhere
// (a reference computed from the input directly), with the default output size
// and with an output_shape restoring an odd input size.
func TestMaxUnpoolInvertsMaxPool(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	for _, tc := range []struct {
		name     string
		shape    []int
		outShape bool
	}{
		{"even 2x2 s2", []int{2, 3, 6, 8}, false},
		{"odd with output_shape", []int{1, 2, 7, 9}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, tc.shape)
			for i := range x.F32() {
				x.F32()[i] = float32(rng.NormFloat64())
			}
			k := []int64{2, 2}
			pool := &graph.Node{Name: "pool", OpType: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"p", "i"},
				Attrs: map[string]*graph.Attr{"kernel_shape": graph.IntsAttr("kernel_shape", []int{2, 2}), "strides": graph.IntsAttr("strides", []int{2, 2})}}
			pi, err := runSingleNode(t, 11, pool, x)
			require.NoError(t, err)
			un := &graph.Node{Name: "unpool", OpType: "MaxUnpool", Inputs: []string{"p", "i"}, Outputs: []string{"y"},
				Attrs: map[string]*graph.Attr{"kernel_shape": graph.IntsAttr("kernel_shape", []int{2, 2}), "strides": graph.IntsAttr("strides", []int{2, 2})}}
			ins := []*graph.Tensor{pi[0], pi[1]}
			want := tc.shape
			if tc.outShape {
				un.Inputs = append(un.Inputs, "s")
				ins = append(ins, graph.FromInt64([]int{4}, []int64{int64(tc.shape[0]), int64(tc.shape[1]), int64(tc.shape[2]), int64(tc.shape[3])}))
			} else {
				sp, err := graph.MaxUnpoolOutShape(pi[0].Shape[2:], k, []int64{2, 2}, nil)
				require.NoError(t, err)
				want = append([]int{tc.shape[0], tc.shape[1]}, sp...)
			}
			out, err := runSingleNode(t, 11, un, ins...)
			require.NoError(t, err)
			require.Equal(t, want, out[0].Shape)
			// Reference: the maximum of each 2x2 window at its first position.
			h, w := tc.shape[2], tc.shape[3]
			ref := make([]float32, graph.NumElements(want))
			for nc := 0; nc < tc.shape[0]*tc.shape[1]; nc++ {
				for py := 0; py+1 < h; py += 2 {
					for px := 0; px+1 < w; px += 2 {
						by, bx := py, px
						for dy := 0; dy < 2; dy++ {
							for dx := 0; dx < 2; dx++ {
								if x.F32()[(nc*h+py+dy)*w+px+dx] > x.F32()[(nc*h+by)*w+bx] {
									by, bx = py+dy, px+dx
								}
							}
						}
						ref[(nc*want[2]+by)*want[3]+bx] = x.F32()[(nc*h+by)*w+bx]
					}
				}
			}
			assert.Equal(t, ref, out[0].F32())
		})
	}
	_, err := runSingleNode(t, 11, &graph.Node{Name: "bad_unpool", OpType: "MaxUnpool", Inputs: []string{"p", "i"}, Outputs: []string{"y"},
		Attrs: map[string]*graph.Attr{"kernel_shape": graph.IntsAttr("kernel_shape", []int{2, 2}), "strides": graph.IntsAttr("strides", []int{2, 2})}},
		graph.FromFloat32([]int{1, 1, 1, 1}, []float32{1}), graph.FromInt64([]int{1, 1, 1, 1}, []int64{9}))
	require.ErrorContains(t, err, "outside the output")
}

// TestMaxRoiPoolCases checks MaxRoiPool on hand-computed regions: the whole map
// into one bin (the global maximum), a scaled region split into 2x2 bins, a
// region outside the map (empty bins are 0), and a batch index out of range.
func TestMaxRoiPoolCases(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{2, 1, 4, 4})
	for i := range x.F32() {
		x.F32()[i] = float32(i % 16) // each image 0..15 row-major; image 1 negated below
	}
	for i := 16; i < 32; i++ {
		x.F32()[i] = -x.F32()[i]
	}
	run := func(pooled []int, scale float32, rois []float32) ([]*graph.Tensor, error) {
		n := &graph.Node{Name: "roi", OpType: "MaxRoiPool", Inputs: []string{"x", "rois"}, Outputs: []string{"y"},
			Attrs: map[string]*graph.Attr{"pooled_shape": graph.IntsAttr("pooled_shape", pooled), "spatial_scale": graph.FloatAttr("spatial_scale", scale)}}
		return runSingleNode(t, 11, n, x, graph.FromFloat32([]int{len(rois) / 5, 5}, rois))
	}
	out, err := run([]int{1, 1}, 1, []float32{0, 0, 0, 3, 3, 1, 0, 0, 3, 3})
	require.NoError(t, err)
	assert.Equal(t, []float32{15, 0}, out[0].F32(), "global maxima of the two images")
	// Scale 0.5: the region (0, 0)-(6, 6) is (0, 0)-(3, 3), 4x4, into 2x2 bins of 2x2.
	out, err = run([]int{2, 2}, 0.5, []float32{0, 0, 0, 6, 6})
	require.NoError(t, err)
	assert.Equal(t, []float32{5, 7, 13, 15}, out[0].F32())
	out, err = run([]int{1, 2}, 1, []float32{0, 10, 10, 12, 12})
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0}, out[0].F32(), "a region outside the map pools nothing")
	_, err = run([]int{1, 1}, 1, []float32{2, 0, 0, 1, 1})
	require.ErrorContains(t, err, "batch index")
}
