package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// Weights holding -128 (PyTorch's symmetric per-channel qint8 uses the full range)
// take the packed path as they are (the kernels are exact on -128 on every dispatch
// path): the output equals the general integer path's bit for bit, for dense,
// grouped and depthwise convolutions, strides, pads and dilations, activations at
// both ends of the range and zero points at both ends, at 1 and 2 threads. A weight
// zero point keeps the general path.
func TestConvMinus128Channels(t *testing.T) {
	for _, tc := range []struct {
		name             string
		c, oc, groups, k int
		stride, pad, dil int
		minus128Channels []int
		packed           bool
		wzp              int32
		h, w             int // input size; 0: 9x11
	}{
		{name: "1x1 dense", c: 16, oc: 24, groups: 1, k: 1, stride: 1, minus128Channels: []int{0, 7}, packed: true},
		{name: "3x3 dense stride 2 pad 1", c: 8, oc: 16, groups: 1, k: 3, stride: 2, pad: 1, minus128Channels: []int{5}, packed: true},
		{name: "1x1 dense wide K (MobileNetV2 projection)", c: 144, oc: 24, groups: 1, k: 1, stride: 1, minus128Channels: []int{17}, packed: true},
		{name: "1x1 dense stride 2 pad 1", c: 40, oc: 16, groups: 1, k: 1, stride: 2, pad: 1, minus128Channels: []int{2, 9}, packed: true},
		{name: "3x3 stem 3 channels stride 2 pad 1", c: 3, oc: 32, groups: 1, k: 3, stride: 2, pad: 1, minus128Channels: []int{0, 31}, packed: true},
		{name: "3x3 stem, several GEMM blocks per thread", c: 3, oc: 16, groups: 1, k: 3, stride: 2, pad: 1, minus128Channels: []int{3}, packed: true, h: 130, w: 130},
		{name: "3x3 dense dilation 2", c: 5, oc: 8, groups: 1, k: 3, stride: 1, pad: 2, dil: 2, minus128Channels: []int{4}, packed: true},
		{name: "depthwise 3x3", c: 12, oc: 12, groups: 12, k: 3, stride: 1, pad: 1, minus128Channels: []int{3}, packed: true},
		{name: "depthwise multiplier 2, dilation 2", c: 8, oc: 16, groups: 8, k: 3, stride: 1, pad: 2, dil: 2, minus128Channels: []int{1, 14}, packed: true},
		{name: "grouped 4", c: 16, oc: 16, groups: 4, k: 3, stride: 2, pad: 1, minus128Channels: []int{6}, packed: true},
		{name: "grouped, half the channels", c: 8, oc: 8, groups: 2, k: 3, stride: 1, pad: 1, minus128Channels: []int{0, 1, 2, 3}, packed: true},
		{name: "depthwise, every channel (PyTorch MobileNetV2)", c: 32, oc: 32, groups: 32, k: 3, stride: 2, pad: 1, minus128Channels: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}, packed: true},
		{name: "1x1 dense, half the channels (PyTorch per-channel)", c: 8, oc: 8, groups: 1, k: 1, stride: 1, minus128Channels: []int{0, 1, 2, 3}, packed: true},
		{name: "3x3 dense, every channel", c: 16, oc: 12, groups: 1, k: 3, stride: 1, pad: 1, minus128Channels: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, packed: true},
		{name: "7x7 stem stride 2, most channels", c: 3, oc: 16, groups: 1, k: 7, stride: 2, pad: 3, minus128Channels: []int{0, 2, 3, 5, 6, 8, 9, 11, 12, 15}, packed: true, h: 20, w: 20},
		{name: "weight zero point", c: 8, oc: 8, groups: 1, k: 1, stride: 1, minus128Channels: []int{0}, packed: false, wzp: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tc.oc*31 + tc.k)))
			dil := max(tc.dil, 1)
			cg := tc.c / tc.groups
			kk := cg * tc.k * tc.k
			w := make([]int8, tc.oc*kk)
			for i := range w {
				w[i] = int8(rng.Intn(255) - 127) // [-127, 127]
			}
			for _, oc := range tc.minus128Channels {
				w[oc*kk+rng.Intn(kk)] = -128
				w[oc*kk+rng.Intn(kk)] = -128
			}
			bias := make([]int32, tc.oc)
			scales := make([]float64, tc.oc)
			for i := range bias {
				bias[i] = int32(rng.Intn(4001) - 2000)
				scales[i] = 0.0005 + 0.001*rng.Float64()
			}
			geom := &convGeom{oc: tc.oc, cg: cg, kh: tc.k, kw: tc.k, groups: tc.groups, sh: tc.stride, sw: tc.stride,
				dh: dil, dw: dil, pt: tc.pad, pl: tc.pad, pb: tc.pad, pr: tc.pad}
			rq := kernels.NewRequant(kernels.RequantFloat, scales, -5, -128, 127)
			xzp := int32(-20)
			wzp := []int32{tc.wzp}
			fast, err := newConvCore(geom, w, wzp, bias, &xzp, rq)
			require.NoError(t, err)
			assert.Equal(t, tc.packed, fast.packed != nil, "packed path")
			ref, err := newConvCore(geom, w, wzp, bias, nil, rq) // the general path
			require.NoError(t, err)
			require.Nil(t, ref.packed)
			n, h, wd := 2, 9, 11
			if tc.h > 0 {
				h, wd = tc.h, tc.w
			}
			x := make([]int8, n*h*wd*tc.c)
			for i := range x {
				x[i] = int8(rng.Intn(256) - 128)
				if rng.Intn(2) == 0 { // the ends of the range (uint8 0 and 255)
					x[i] = int8(-128 + 255*rng.Intn(2))
				}
			}
			shape := []int{n, h, wd, tc.c}
			for _, zp := range []int32{xzp, -128, 127} {
				fast, err := newConvCore(geom, w, wzp, bias, &zp, rq)
				require.NoError(t, err)
				for _, threads := range []int{1, 2} {
					want, _, wshape, err := ref.run(&ExecContext{Threads: threads}, x, shape, zp)
					require.NoError(t, err)
					got, _, gshape, err := fast.run(&ExecContext{Threads: threads}, x, shape, zp)
					require.NoError(t, err)
					require.Equal(t, wshape, gshape)
					assert.Equal(t, want, got, "zp %d threads %d", zp, threads)
				}
			}
		})
	}
}

// The same for QGemm (a fully connected layer; PyTorch-quantized classifier heads):
// -128 columns packed as they are, bit-exact with the general path.
func TestQGemmMinus128Columns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, k    int
		columns []int
		packed  bool
	}{
		{"two columns", 40, 33, []int{0, 39}, true},
		{"one column, long rows", 17, 300, []int{9}, true},
		{"half the columns (PyTorch per-channel)", 8, 16, []int{0, 1, 2, 3}, true},
		{"every column", 6, 40, []int{0, 1, 2, 3, 4, 5}, true},
		{"every column, wide (PyTorch classifier)", 100, 512, []int{0, 17, 33, 50, 64, 99}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tc.n + tc.k)))
			w := make([]int8, tc.n*tc.k)
			for i := range w {
				w[i] = int8(rng.Intn(255) - 127)
			}
			for _, c := range tc.columns {
				w[c*tc.k+rng.Intn(tc.k)] = -128
			}
			bias := make([]int32, tc.n)
			scales := make([]float32, tc.n)
			for i := range bias {
				bias[i] = int32(rng.Intn(2001) - 1000)
				scales[i] = float32(0.0002 + 0.0005*rng.Float64())
			}
			node := &graph.Node{Name: "fc", OpType: "QGemm", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
			for _, a := range []*graph.Attr{graph.IntsAttr("a_zp", []int{7}), graph.FloatsAttr("scales", scales),
				graph.IntAttr("y_zp", -3)} {
				node.Attrs[a.Name] = a
			}
			consts := []*graph.Tensor{nil, graph.FromInt8([]int{tc.n, tc.k}, w), graph.FromInt32([]int{tc.n}, bias)}
			kern, err := buildQGemm(&BuildContext{Node: node, Consts: consts})
			require.NoError(t, err)
			fast := kern.(*qgemmKernel)
			assert.Equal(t, tc.packed, fast.packed != nil, "packed path")
			ref := &qgemmKernel{axis: 1, n: tc.n, k: tc.k, aZP: 7, rq: fast.rq,
				general: newGenWeights(tc.n, tc.k, func(c, kk int) int8 { return w[c*tc.k+kk] }, []int32{0}, bias)}
			const m = 13
			a := make([]int8, m*tc.k)
			for i := range a {
				a[i] = int8(rng.Intn(256) - 128)
			}
			x := graph.FromInt8([]int{m, tc.k}, a)
			for _, threads := range []int{1, 2} {
				want, err := ref.Run(&ExecContext{Threads: threads}, []*graph.Tensor{x})
				require.NoError(t, err)
				got, err := fast.Run(&ExecContext{Threads: threads}, []*graph.Tensor{x})
				require.NoError(t, err)
				assert.Equal(t, want[0].Data, got[0].Data, "threads %d", threads)
			}
		})
	}
}
