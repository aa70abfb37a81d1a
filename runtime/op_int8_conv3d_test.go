package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// video3DModel is a small 3-D network of the shapes of C3D, MC3 and R(2+1)D:
// a strided (3,7,7) RGB stem, a 3-D MaxPool with padding, a cubic 3x3x3 layer,
// a (1,3,3) and a (3,1,1) layer with a residual Add, a strided 1x1x1
// downsample, a grouped (3,1,1) layer, GlobalAveragePool, Flatten and Gemm.
func video3DModel(seed int64) *graph.Model {
	one := [3]int{1, 1, 1}
	b := newMB(seed)
	x := b.Input("input", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 6}, graph.Dim{Size: 16}, graph.Dim{Size: 16})
	relu := func(v string) string { return b.Node("Relu", []string{v}) }
	s := relu(b.conv3d(x, conv3dSpec{3, 16, 1, [3]int{3, 7, 7}, [3]int{1, 2, 2}, one, [6]int{1, 3, 3, 1, 3, 3}}, true))
	p := b.Node("MaxPool", []string{s}, graph.IntsAttr("kernel_shape", []int{2, 3, 3}), graph.IntsAttr("strides", []int{1, 2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 0, 1, 1}))
	a := relu(b.conv3d(p, conv3dSpec{16, 16, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true))
	a = relu(b.conv3d(a, conv3dSpec{16, 24, 1, [3]int{1, 3, 3}, one, one, [6]int{0, 1, 1, 0, 1, 1}}, true))
	a = b.conv3d(a, conv3dSpec{24, 16, 1, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, true)
	r := relu(b.Node("Add", []string{a, p}))
	d := relu(b.conv3d(r, conv3dSpec{16, 32, 1, one, [3]int{2, 2, 2}, one, [6]int{}}, true))
	d = relu(b.conv3d(d, conv3dSpec{32, 32, 4, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, true))
	g := b.Node("GlobalAveragePool", []string{d})
	b.Output(b.gemm(b.Node("Flatten", []string{g}, graph.IntAttr("axis", 1)), 32, 10))
	return b.Model()
}

// TestInt8Conv3DMatchesSimulatedQuantization quantizes the 3-D network (QDQ,
// per-channel weights, int8 and uint8 activations) and runs it on the int8
// executor: every operator lowered to int8 (the 3-D convolutions on
// kernels.QConv3D, the max and global pools as QPool) and the output within
// the rounding of the simulated quantization (the float executor on the QDQ
// file), batch 2, 1 and 2 threads.
func TestInt8Conv3DMatchesSimulatedQuantization(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts qdqOptions
	}{
		{"int8 activations", qdqOptions{}},
		{"uint8 activations", qdqOptions{uint8Acts: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			fm := video3DModel(4)
			calib := map[string]*graph.Tensor{"input": randInput(rng, []int{4, 3, 6, 16, 16}, -1, 1)}
			qm := qdqify(t, fm, calib, tc.opts)
			in := map[string]*graph.Tensor{"input": randInput(rng, []int{2, 3, 6, 16, 16}, -1, 1)}
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			out := fm.Graph.Outputs[0].Name
			step := float64(stepOf(t, qm, out))
			for _, th := range []int{1, 2} {
				var warns []string
				s, err := NewSession(qm, WithMode(ModeInt8), WithThreads(th), WithWarnings(func(w string) { warns = append(warns, w) }))
				require.NoError(t, err)
				assert.Empty(t, warns)
				convs := 0
				for _, p := range s.Placement {
					assert.True(t, p.Int8, "%s %s runs float", p.OpType, p.Node)
					if p.OpType == "QConv" && p.Int8 {
						convs++
					}
				}
				require.Equal(t, 6, convs, "3-D convolutions on the int8 kernel")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				frac, mx := outputSteps(t, got[out], want[out], step)
				t.Logf("%d threads: within 1 step %.4f, max %.2f steps", th, frac, mx)
				assert.GreaterOrEqual(t, frac, 0.95)
				assert.LessOrEqual(t, mx, 4.0)
			}
		})
	}
}

// volume3DModel is a small 3-D network with the operators the eighteenth
// session took to int8: C3D's (1,2,2) AveragePool and (1,2,2)-strided
// ConvTranspose, a (2,3,3) AveragePool with depth and spatial padding
// counted, a grouped 3x3x3 ConvTranspose of stride 2 with output padding (a
// 3-D UNet's decoder), a (1,1,1) ConvTranspose of depth stride 2 (a depth
// phase that no tap reaches) and a GlobalAveragePool.
func volume3DModel(seed int64) *graph.Model {
	one := [3]int{1, 1, 1}
	b := newMB(seed)
	x := b.Input("input", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 6}, graph.Dim{Size: 16}, graph.Dim{Size: 16})
	relu := func(v string) string { return b.Node("Relu", []string{v}) }
	convT := func(x string, cin, cout, group int, k, s, p, op []int) string {
		w := b.RandInit("wt", []int{cin, cout / group, k[0], k[1], k[2]}, float32(1.5/math.Sqrt(float64(cin/group*k[0]*k[1]*k[2]))))
		return b.Node("ConvTranspose", []string{x, w, b.RandInit("bt", []int{cout}, 0.2)}, graph.IntsAttr("kernel_shape", k),
			graph.IntsAttr("strides", s), graph.IntsAttr("pads", p), graph.IntsAttr("output_padding", op), graph.IntAttr("group", int64(group)))
	}
	a := relu(b.conv3d(x, conv3dSpec{3, 16, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true))
	a = b.Node("AveragePool", []string{a}, graph.IntsAttr("kernel_shape", []int{1, 2, 2}), graph.IntsAttr("strides", []int{1, 2, 2}))
	a = relu(convT(a, 16, 16, 1, []int{1, 2, 2}, []int{1, 2, 2}, []int{0, 0, 0, 0, 0, 0}, []int{0, 0, 0}))
	a = relu(b.conv3d(a, conv3dSpec{16, 24, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true))
	a = b.Node("AveragePool", []string{a}, graph.IntsAttr("kernel_shape", []int{2, 3, 3}), graph.IntsAttr("strides", []int{2, 1, 1}),
		graph.IntsAttr("pads", []int{1, 1, 1, 0, 1, 1}), graph.IntAttr("count_include_pad", 1))
	a = relu(convT(a, 24, 8, 2, []int{3, 3, 3}, []int{2, 2, 2}, []int{1, 1, 1, 1, 1, 1}, []int{1, 1, 1}))
	a = relu(convT(a, 8, 8, 1, []int{1, 1, 1}, []int{2, 1, 1}, []int{0, 0, 0, 0, 0, 0}, []int{1, 0, 0}))
	a = relu(b.conv3d(a, conv3dSpec{8, 16, 1, one, one, one, [6]int{}}, true))
	g := b.Node("GlobalAveragePool", []string{a})
	b.Output(b.gemm(b.Node("Flatten", []string{g}, graph.IntAttr("axis", 1)), 16, 10))
	return b.Model()
}

// TestInt8Volume3DMatchesSimulatedQuantization quantizes volume3DModel (QDQ,
// int8 and uint8 activations) and runs it on the int8 executor: every
// operator int8 (the average pools as QPool on kernels.QAvgPool3D, the
// transposed convolutions by depth phase on the 2-D QConvTranspose) and the
// output within the rounding of the simulated quantization, batch 2, 1 and 2
// threads.
func TestInt8Volume3DMatchesSimulatedQuantization(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts qdqOptions
	}{
		{"int8 activations", qdqOptions{}},
		{"uint8 activations", qdqOptions{uint8Acts: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			fm := volume3DModel(6)
			calib := map[string]*graph.Tensor{"input": randInput(rng, []int{4, 3, 6, 16, 16}, -1, 1)}
			qm := qdqify(t, fm, calib, tc.opts)
			in := map[string]*graph.Tensor{"input": randInput(rng, []int{2, 3, 6, 16, 16}, -1, 1)}
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			out := fm.Graph.Outputs[0].Name
			step := float64(stepOf(t, qm, out))
			for _, th := range []int{1, 2} {
				var warns []string
				s, err := NewSession(qm, WithMode(ModeInt8), WithThreads(th), WithWarnings(func(w string) { warns = append(warns, w) }))
				require.NoError(t, err)
				assert.Empty(t, warns)
				ops := map[string]int{}
				for _, p := range s.Placement {
					assert.True(t, p.Int8, "%s %s runs float", p.OpType, p.Node)
					ops[p.OpType]++
				}
				require.Equal(t, 3, ops["QPool"], "3-D average pools on the int8 kernel")
				require.Equal(t, 3, ops["QConvTranspose"], "3-D transposed convolutions on the int8 kernel")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				frac, mx := outputSteps(t, got[out], want[out], step)
				t.Logf("%d threads: within 1 step %.4f, max %.2f steps", th, frac, mx)
				assert.GreaterOrEqual(t, frac, 0.95)
				assert.LessOrEqual(t, mx, 4.0)
			}
		})
	}
}
