package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// qGroupNormRef is the reference of qGroupNormKernel: the int8 input x in
// logical [n, c, size] order dequantized, the group normalisation in float64,
// γ, β, the activation, quantized.
func qGroupNormRef(k *qGroupNormKernel, x []int8, n, size int) []int8 {
	g := k.gn
	c, cpg := g.c, g.c/g.groups
	v := make([]float64, len(x))
	for i, q := range x {
		v[i] = float64(k.inScale) * float64(int32(q)-k.inZP)
	}
	out := make([]int8, len(x))
	for img := 0; img < n; img++ {
		for grp := 0; grp < g.groups; grp++ {
			part := v[(img*c+grp*cpg)*size : (img*c+(grp+1)*cpg)*size]
			var m, m2 float64
			for _, u := range part {
				m += u
			}
			m /= float64(len(part))
			for _, u := range part {
				m2 += (u - m) * (u - m)
			}
			inv := 1 / math.Sqrt(m2/float64(len(part))+float64(g.eps))
			for j := grp * cpg; j < (grp+1)*cpg; j++ {
				for p := 0; p < size; p++ {
					i := (img*c+j)*size + p
					y := []float32{float32(((v[i]-m)*inv*float64(g.s[grp])+float64(g.t[grp]))*float64(g.gamma[j]) + float64(g.beta[j]))}
					kernels.ActF32(g.post, y, y)
					kernels.QuantizeF32(y, k.outScale, k.outZP, out[i:i+1])
				}
			}
		}
	}
	return out
}

// The int8 normalization region step against its float64 reference, in each
// layout pair (planes or channels-last, in and out), on small planes (values
// one by one) and large ones (a table per sample and channel), with and
// without an activation: at most one code apart (float32 against float64
// arithmetic), nearly every value equal.
func TestQGroupNormKernel(t *testing.T) {
	nhwc, nchw := []int{0, 3, 1, 2}, []int{0, 2, 3, 1} // Dequantize's and Quantize's perms
	for _, tc := range []struct {
		name      string
		h, w      int
		in, out   bool // channels-last
		post      kernels.Act
		groups, c int
	}{
		{"planes, small, SiLU", 4, 5, false, false, kernels.ActSiLU, 4, 8},
		{"planes, large, SiLU", 24, 24, false, false, kernels.ActSiLU, 4, 8},
		{"planes in, channels-last out, small", 6, 6, false, true, kernels.ActSiLU, 2, 6},
		{"planes in, channels-last out, large", 32, 20, false, true, kernels.ActSiLU, 2, 6},
		{"channels-last in and out, small", 5, 3, true, true, kernels.ActSiLU, 4, 16},
		{"channels-last in and out, large", 30, 30, true, true, kernels.ActSiLU, 4, 16},
		{"channels-last in, planes out, large, no activation", 25, 25, true, false, kernels.ActNone, 1, 4},
		{"instance norm (a group per channel)", 20, 30, false, false, kernels.ActNone, 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tc.h*100 + tc.c)))
			n, size := 2, tc.h*tc.w
			gn := &groupNormKernel{c: tc.c, groups: tc.groups, eps: 1e-5, post: tc.post,
				s: make([]float32, tc.groups), t: make([]float32, tc.groups), gamma: make([]float32, tc.c), beta: make([]float32, tc.c),
				lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
			for i := range gn.s {
				gn.s[i], gn.t[i] = 0.5+rng.Float32(), rng.Float32()-0.5
			}
			for i := range gn.gamma {
				gn.gamma[i], gn.beta[i] = 0.5+rng.Float32(), rng.Float32()-0.5
			}
			k := &qGroupNormKernel{gn: gn, inScale: 0.05, inZP: -7, outScale: 0.02, outZP: -40}
			logical := make([]int8, n*tc.c*size) // [n, c, h, w]
			for i := range logical {
				// a channel-dependent offset, so that the groups differ
				logical[i] = int8(max(-128, min(127, int(rng.NormFloat64()*30)+(i/size%tc.c)*5)))
			}
			shape := []int{n, tc.c, tc.h, tc.w}
			in, inShape := logical, shape
			if tc.in {
				k.inNHWC, k.dqPerm = true, nhwc
				inShape = []int{n, tc.h, tc.w, tc.c}
				in = make([]int8, len(logical))
				qtensor.TransposeBytes(qtensor.I8AsBytes(logical), shape, nchw, qtensor.I8AsBytes(in), 0, 1)
			}
			if tc.out {
				k.outN, k.qPerm = true, nchw
			}
			got, err := k.Run(&ExecContext{Threads: 2}, []*graph.Tensor{graph.FromInt8(inShape, in)})
			require.NoError(t, err)
			want := qGroupNormRef(k, logical, n, size)
			wantShape := shape
			if tc.out {
				wantShape = []int{n, tc.h, tc.w, tc.c}
				w := make([]int8, len(want))
				qtensor.TransposeBytes(qtensor.I8AsBytes(want), shape, nchw, qtensor.I8AsBytes(w), 0, 1)
				want = w
			}
			require.Equal(t, wantShape, got[0].Shape)
			diff := 0
			for i, v := range got[0].I8() {
				d := int(v) - int(want[i])
				require.LessOrEqual(t, d*d, 1, "value %d: %d, reference %d", i, v, want[i])
				if d != 0 {
					diff++
				}
			}
			assert.Less(t, float64(diff), 0.01*float64(len(want)), "values one code off")
		})
	}
}

// A Dequantize → group normalisation → Quantize whose input is not [N, C, ...]
// with the kernel's channels is refused with an error, not a panic.
func TestQGroupNormKernelBadInput(t *testing.T) {
	gn := &groupNormKernel{c: 4, groups: 2, eps: 1e-5, s: []float32{1, 1}, t: []float32{0, 0}}
	k := &qGroupNormKernel{gn: gn, inScale: 0.1, outScale: 0.1, inNHWC: true, dqPerm: []int{0, 3, 1, 2}}
	_, err := k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{graph.FromInt8([]int{1, 2, 2, 3}, make([]int8, 12))})
	assert.Error(t, err)
	_, err = k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{graph.FromFloat32([]int{1, 4, 2, 2}, make([]float32, 16))})
	assert.Error(t, err)
}
