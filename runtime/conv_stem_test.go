package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// stemGeo is a random stem geometry: c input channels (NCHW), a kh×kw
// kernel, strides, dilations and begin/end pads per axis.
type stemGeo struct {
	c, h, w, kh, kw, sh, sw, dh, dw int
	pads                            [4]int
}

func (g stemGeo) out() (oh, ow int) {
	return (g.h+g.pads[0]+g.pads[2]-(g.kh-1)*g.dh-1)/g.sh + 1, (g.w+g.pads[1]+g.pads[3]-(g.kw-1)*g.dw-1)/g.sw + 1
}

func randStemGeo(rng *rand.Rand) stemGeo {
	for {
		g := stemGeo{c: 1 + rng.Intn(stemMaxC), kh: 1 + rng.Intn(7), kw: 1 + rng.Intn(7),
			sh: 1 + rng.Intn(3), sw: 1 + rng.Intn(3), dh: 1 + rng.Intn(3), dw: 1 + rng.Intn(3),
			h: 1 + rng.Intn(40), w: 1 + rng.Intn(40)}
		for i := range g.pads {
			g.pads[i] = rng.Intn(1 + []int{g.kh, g.kw}[i%2])
		}
		if oh, ow := g.out(); g.kh*g.kw > 1 && oh > 0 && ow > 0 {
			return g
		}
	}
}

// TestStemPatchesMatchReference checks the border patches of a stem (an
// NCHW input read in place, conv_stem.go) on random geometries — 1 to 4
// channels, kernels up to 7x7, strides and dilations 1-3 per axis, uneven
// pads — against the input itself: for every border pixel and every
// reduction step (tap, channel), the patch float the border set's step
// offset names is the input under that tap (zero outside the input). The
// patches are filled over a random partition of the border pixels, in a
// random order, into a buffer of NaNs, so every float the steps read must
// have been written.
func TestStemPatchesMatchReference(t *testing.T) {
	rng := rand.New(rand.NewSource(20))
	checked := 0
	for iter := 0; iter < 400; iter++ {
		g := randStemGeo(rng)
		oh, ow := g.out()
		p := &convPlan{rank: 2, in: []int{g.h, g.w}, out: []int{oh, ow}, k: []int{g.kh, g.kw},
			s: []int{g.sh, g.sw}, d: []int{g.dh, g.dw}, pb: []int{g.pads[0], g.pads[1]}}
		ic := &idxConv{kh: g.kh, kw: g.kw, c: g.c, blocks: []groupBlock{{cn: g.c}},
			plan: &atomic.Pointer[groupedIdxPlan]{}, stem: true}
		pl := ic.idxPlan(g.h, g.w, g.c, p, 16)
		if pl == nil || !pl.nchw || len(pl.border) == 0 {
			continue // no interior pixel (the laid-out path) or no border
		}
		checked++
		x := make([]float32, g.c*g.h*g.w)
		for i := range x {
			x[i] = float32(i + 1)
		}
		nb := len(pl.border)
		buf := make([]float32, nb*pl.patchLen)
		for i := range buf {
			buf[i] = float32(math.NaN())
		}
		// A random partition of [0, nb), filled in a random order.
		var cuts []int
		for j := 1; j < nb; j++ {
			if rng.Intn(3) == 0 {
				cuts = append(cuts, j)
			}
		}
		bounds := append(append([]int{0}, cuts...), nb)
		for _, i := range rng.Perm(len(bounds) - 1) {
			ic.stemPatches(pl, p, x, buf, bounds[i], bounds[i+1])
		}
		bd := pl.sets[len(pl.sets)-1]
		offs := bd.offs[g.c]
		require.Len(t, offs, g.kh*g.kw*g.c)
		for j, q := range pl.border {
			y, xo := int(q)/ow, int(q)%ow
			for tp := 0; tp < g.kh*g.kw; tp++ {
				iy := y*g.sh - g.pads[0] + tp/g.kw*g.dh
				ix := xo*g.sw - g.pads[1] + tp%g.kw*g.dw
				for ci := 0; ci < g.c; ci++ {
					want := float32(0)
					if iy >= 0 && ix >= 0 && iy < g.h && ix < g.w {
						want = x[(ci*g.h+iy)*g.w+ix]
					}
					got := buf[int(bd.aoff[j])+int(offs[tp*g.c+ci])]
					require.Equal(t, want, got, "%+v: border pixel (%d, %d), tap %d, channel %d", g, y, xo, tp, ci)
				}
			}
		}
	}
	require.Greater(t, checked, 100, "geometries with a border and an interior")
}

// TestStemConvRandomVsReference runs stems (NCHW input of 1-4 channels read
// in place, conv_stem.go) of random geometry end to end against the
// reference convolution: 16, 32 and 64 outputs (the 12-row runs, 32- and
// 64-wide panels), a clamp, 1 and 2 threads, batch 2.
func TestStemConvRandomVsReference(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	for iter := 0; iter < 40; iter++ {
		g := randStemGeo(rng)
		g.h, g.w = 8+rng.Intn(40), 8+rng.Intn(40)
		oh, ow := g.out()
		if oh <= 0 || ow <= 0 {
			continue
		}
		m := []int{16, 32, 64}[rng.Intn(3)]
		t.Run(fmt.Sprintf("%+v_m%d", g, m), func(t *testing.T) {
			w, b := randF32(rng, m, g.c, g.kh, g.kw), randF32(rng, m)
			node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{g.kh, g.kw}),
				"strides":      graph.IntsAttr("strides", []int{g.sh, g.sw}),
				"dilations":    graph.IntsAttr("dilations", []int{g.dh, g.dw}),
				"pads":         graph.IntsAttr("pads", []int{g.pads[0], g.pads[1], g.pads[2], g.pads[3]}),
			}}
			ck := &convKernel{node: node, group: 1, wConst: w, bConst: b}
			fk := &fusedConvKernel{conv: ck, nConvIn: 3, post: kernels.ActNone, lo: -0.5, hi: 0.75}
			fk.act = KernelFunc(nil)
			k := newRowsConvKernel(ck, fk, false, true)
			const n = 2
			x := randF32(rng, n, g.c, g.h, g.w)
			want := refGroupedConv(x.F32(), n, g.c, g.h, g.w, w.F32(), m, g.kh, g.kw, 1, b.F32(), g.sh, g.sw, g.dh, g.dw, g.pads[0], g.pads[1], oh, ow)
			for i, v := range want {
				want[i] = max(-0.5, min(0.75, v))
			}
			wantNH := toNHWC(want, n, m, oh*ow)
			tol := Tolerance{Rtol: gemmTol.Rtol, Atol: 1e-6 * math.Sqrt(float64(g.c*g.kh*g.kw))}
			for _, th := range []int{1, 2} {
				k.narrow = &narrowIdx{}
				out, err := k.Run(&ExecContext{Threads: th}, []*graph.Tensor{x, w, b})
				require.NoError(t, err)
				require.NoError(t, CompareTensors(graph.FromFloat32([]int{len(wantNH)}, out[0].F32()[:len(wantNH)]), graph.FromFloat32([]int{len(wantNH)}, wantNH), tol), "%d threads", th)
			}
		})
	}
}
