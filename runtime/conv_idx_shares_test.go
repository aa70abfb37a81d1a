package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// sharesConv builds a channels-last grouped 3x3 convolution (pads 1) of c
// channels in groups on an h×h map at stride s, with a clamp to [0, 6],
// act, and a fused residual when res, and its inputs (batch n).
func sharesConv(t *testing.T, rng *rand.Rand, n, c, h, groups, s int, res bool, act kernels.Act) (*groupedRowsKernel, []*graph.Tensor) {
	t.Helper()
	w := randF32(rng, c, c/groups, 3, 3)
	bias := randF32(rng, c)
	node := &graph.Node{Name: "gconv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
		"group":        graph.IntAttr("group", int64(groups)),
		"kernel_shape": graph.IntsAttr("kernel_shape", []int{3, 3}),
		"strides":      graph.IntsAttr("strides", []int{s, s}),
		"pads":         graph.IntsAttr("pads", []int{1, 1, 1, 1}),
	}}
	ck := &convKernel{node: node, group: groups}
	fk := &fusedConvKernel{conv: ck, nConvIn: 3, post: act, lo: 0, hi: 6}
	fk.act = KernelFunc(nil)
	sx := pixelStride(c)
	x := &graph.Tensor{DType: graph.Float32, Shape: []int{n, h, h, sx}, Data: make([]float32, n*h*h*sx)}
	for i := range x.F32() {
		if i%sx < c {
			x.F32()[i] = rng.Float32()*2 - 1
		}
	}
	in := []*graph.Tensor{x, w, bias}
	if res {
		fk.add = KernelFunc(nil)
		oh := (h-1)/s + 1
		r := &graph.Tensor{DType: graph.Float32, Shape: []int{n, oh, oh, sx}, Data: make([]float32, n*oh*oh*sx)}
		for i := range r.F32() {
			r.F32()[i] = rng.Float32()*2 - 1
		}
		in = append(in, r)
	}
	return newGroupedRowsKernel(ck, fk, w, bias, 3, true, true), in
}

// TestIdxSharesMatchOneThread runs grouped convolutions of small maps at
// 2, 3, 4 and 7 threads, where their blocks run in shares (runShares:
// laid-out inputs on 7x7 and 14x14, inputs read in place with patched
// borders at stride 2, every tile family: reduced tiles, paired and merged
// blocks), and checks that every output equals the 1-thread one bit for
// bit (a share changes who computes an output, not how), the 1-thread one
// against the reference convolution. More threads than the pool has
// workers make shares start late and be taken over (their copies too).
func TestIdxSharesMatchOneThread(t *testing.T) {
	cases := []struct {
		n, c, h, groups, s int
		res                bool
		act                kernels.Act
	}{
		{1, 400, 7, 25, 1, false, kernels.ActNone},    // RegNet-X-400MF 7x7: groups of 16
		{1, 160, 14, 10, 1, true, kernels.ActNone},    // 14x14, 5 blocks: rows split
		{2, 160, 28, 10, 2, false, kernels.ActSiLU},   // stride 2: direct, patched border
		{1, 400, 14, 25, 2, true, kernels.ActNone},    // stride 2 onto 7x7
		{1, 208, 14, 26, 1, false, kernels.ActNone},   // groups of 8
		{1, 96, 9, 24, 1, false, kernels.ActNone},     // groups of 4
		{1, 336, 7, 14, 1, false, kernels.ActNone},    // groups of 24
		{2, 192, 6, 4, 1, true, kernels.ActHardSwish}, // groups of 48: wide panels
	}
	for _, red := range []bool{true, false} {
		for _, tc := range cases {
			name := fmt.Sprintf("c%d_%dx%d_g%d_s%d_n%d_res%v_red%v", tc.c, tc.h, tc.h, tc.groups, tc.s, tc.n, tc.res, red)
			t.Run(name, func(t *testing.T) {
				defer func(v bool) { reducedGroupTiles = v }(reducedGroupTiles)
				reducedGroupTiles = red
				rng := rand.New(rand.NewSource(int64(tc.c*31 + tc.h)))
				k, in := sharesConv(t, rng, tc.n, tc.c, tc.h, tc.groups, tc.s, tc.res, tc.act)
				require.True(t, k.idx, "the indexed path")
				one, err := k.Run(&ExecContext{Threads: 1}, in)
				require.NoError(t, err)
				// The reference: NCHW copies of the input and residual.
				sx, oh := pixelStride(tc.c), (tc.h-1)/tc.s+1
				xn := fromNHWC(in[0].F32(), tc.n, tc.c, tc.h*tc.h, sx)
				want := refGroupedConv(xn, tc.n, tc.c, tc.h, tc.h, in[1].F32(), tc.c, 3, 3, tc.groups, in[2].F32(), tc.s, tc.s, 1, 1, 1, 1, oh, oh)
				if tc.res {
					r := fromNHWC(in[3].F32(), tc.n, tc.c, oh*oh, sx)
					for i := range want {
						want[i] += r[i]
					}
				}
				for i, v := range want {
					want[i] = max(0, min(6, v))
				}
				kernels.ActF32(tc.act, want, want)
				got := fromNHWC(one[0].F32(), tc.n, tc.c, oh*oh, sx)
				require.NoError(t, CompareTensors(graph.FromFloat32([]int{len(got)}, got), graph.FromFloat32([]int{len(want)}, want), gemmTol))
				for _, th := range []int{2, 3, 4, 7} {
					pl := k.idxConv().idxPlan(tc.h, tc.h, sx, newConvPlanFor(t, k, in[0]), sx)
					if th == 2 {
						require.NotNil(t, k.idxConv().idxShares(pl, th), "shares")
					}
					for rep := 0; rep < 3; rep++ {
						out, err := k.Run(&ExecContext{Threads: th}, in)
						require.NoError(t, err)
						require.Equal(t, one[0].F32(), out[0].F32(), "%d threads, run %d", th, rep)
					}
				}
			})
		}
	}
}

// newConvPlanFor is the geometry plan of grouped kernel k on input x
// (channels-last).
func newConvPlanFor(t *testing.T, k *groupedRowsKernel, x *graph.Tensor) *convPlan {
	t.Helper()
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{x.Shape[0], k.c, x.Shape[1], x.Shape[2]}}
	geom, _, err := convShapes(k.conv.node, hdr, k.w, k.b, k.groups, false)
	require.NoError(t, err)
	return newConvPlan([]int{x.Shape[1], x.Shape[2]}, geom)
}

// fromNHWC is toNHWC's inverse: NCHW data of the c channels of pixels at
// stride sx.
func fromNHWC(x []float32, n, c, plane, sx int) []float32 {
	y := make([]float32, n*c*plane)
	for img := 0; img < n; img++ {
		for p := 0; p < plane; p++ {
			for ch := 0; ch < c; ch++ {
				y[(img*c+ch)*plane+p] = x[(img*plane+p)*sx+ch]
			}
		}
	}
	return y
}

// TestIdxSharesPlan checks the split of idxShares: every row of every
// block and row set in exactly one item, items in block order, shares
// contiguous, not empty, each within one item's work of an equal share;
// and where the blocks keep idxGemms' items (nil).
func TestIdxSharesPlan(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, tc := range []struct{ c, h, groups, s, threads int }{
		{400, 7, 25, 1, 2}, {160, 14, 10, 1, 2}, {160, 28, 10, 2, 2}, {400, 14, 25, 2, 3},
		{64, 7, 4, 1, 2}, {208, 14, 26, 1, 4}, {96, 9, 24, 1, 5},
	} {
		t.Run(fmt.Sprintf("c%d_%dx%d_g%d_s%d_t%d", tc.c, tc.h, tc.h, tc.groups, tc.s, tc.threads), func(t *testing.T) {
			k, in := sharesConv(t, rng, 1, tc.c, tc.h, tc.groups, tc.s, false, kernels.ActNone)
			ic := k.idxConv()
			pl := ic.idxPlan(tc.h, tc.h, pixelStride(tc.c), newConvPlanFor(t, k, in[0]), pixelStride(tc.c))
			sp := ic.idxShares(pl, tc.threads)
			require.NotNil(t, sp)
			require.Len(t, sp.bnd, tc.threads+1)
			require.Equal(t, 0, sp.bnd[0])
			require.Equal(t, len(sp.items), sp.bnd[tc.threads])
			seen := map[[3]int]int{}
			work := make([]int, len(sp.items))
			total, maxItem := 0, 0
			for i, it := range sp.items {
				if i > 0 {
					require.GreaterOrEqual(t, it.b, sp.items[i-1].b, "block order")
				}
				require.Less(t, it.r0, it.r1)
				require.Zero(t, it.r0%6, "whole row tiles")
				for r := it.r0; r < it.r1; r++ {
					seen[[3]int{it.b, it.set, r}]++
				}
				work[i] = (it.r1 - it.r0) * blockWork(&k.blocks[it.b])
				total += work[i]
				maxItem = max(maxItem, work[i])
			}
			rows := 0
			for _, st := range pl.sets {
				rows += len(st.aoff)
			}
			require.Len(t, seen, len(k.blocks)*rows, "every (block, row) covered")
			for key, n := range seen {
				require.Equal(t, 1, n, "%v once", key)
			}
			for s := 0; s < tc.threads; s++ {
				require.Less(t, sp.bnd[s], sp.bnd[s+1], "share %d not empty", s)
				w := 0
				for i := sp.bnd[s]; i < sp.bnd[s+1]; i++ {
					w += work[i]
				}
				require.InDelta(t, float64(total)/float64(tc.threads), float64(w), float64(maxItem), "share %d", s)
			}
		})
	}
	t.Run("declined", func(t *testing.T) {
		k, in := sharesConv(t, rng, 1, 64, 28, 4, 1, false, kernels.ActNone)
		ic := k.idxConv()
		sx := pixelStride(64)
		pl := ic.idxPlan(28, 28, sx, newConvPlanFor(t, k, in[0]), sx)
		require.Nil(t, ic.idxShares(pl, 2), "784 rows: a large map")
		k, in = sharesConv(t, rng, 1, 400, 7, 25, 1, false, kernels.ActNone)
		ic = k.idxConv()
		pl = ic.idxPlan(7, 7, pixelStride(400), newConvPlanFor(t, k, in[0]), pixelStride(400))
		require.Nil(t, ic.idxShares(pl, 1), "one thread")
		require.Nil(t, ic.idxShares(pl, len(k.blocks)+1), "fewer blocks than threads")
		over := *ic
		over.blocks = append([]groupBlock{}, ic.blocks...)
		over.blocks[1].c0 = over.blocks[0].c0 // reads the first block's channels
		require.Nil(t, over.idxShares(pl, 2), "overlapping input channels")
	})
}

// TestFillChannels checks rowsPlan.fillChannels and idxConv.patchChannels
// against fill and patches: over a partition of the channels (in any
// order) they write what the whole copy writes in those channels, strides
// 1 to 3, dilation, asymmetric pads.
func TestFillChannels(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range []struct {
		c, h, w, k, s, d int
		pads             [4]int
	}{
		{40, 7, 7, 3, 1, 1, [4]int{1, 1, 1, 1}},
		{33, 9, 8, 3, 2, 1, [4]int{1, 0, 1, 2}},
		{16, 10, 11, 3, 3, 2, [4]int{2, 2, 2, 2}},
		{48, 6, 6, 1, 2, 1, [4]int{0, 0, 0, 0}},
	} {
		t.Run(fmt.Sprintf("c%d_%dx%d_k%d_s%d_d%d", tc.c, tc.h, tc.w, tc.k, tc.s, tc.d), func(t *testing.T) {
			sx := pixelStride(tc.c) + 16 // a wider pixel stride than the channels
			x := make([]float32, tc.h*tc.w*sx)
			for i := range x {
				x[i] = rng.Float32()
			}
			oh := (tc.h+tc.pads[0]+tc.pads[2]-(tc.k-1)*tc.d-1)/tc.s + 1
			ow := (tc.w+tc.pads[1]+tc.pads[3]-(tc.k-1)*tc.d-1)/tc.s + 1
			geom := &graph.ConvGeom{Kernel: []int{tc.k, tc.k}, Strides: []int{tc.s, tc.s}, Dilations: []int{tc.d, tc.d},
				Pads: []int{tc.pads[0], tc.pads[1], tc.pads[2], tc.pads[3]}, Out: []int{oh, ow}}
			p := newConvPlan([]int{tc.h, tc.w}, geom)
			cuts := []int{0, min(5, tc.c), min(16, tc.c), min(17, tc.c), tc.c}
			rp := newRowsPlan(p, tc.c, tc.k, tc.k)
			require.NotNil(t, rp)
			want := make([]float32, rp.size)
			rp.fill(p, x, true, sx, want, 1)
			got := make([]float32, rp.size)
			for i := range got {
				got[i] = float32(math.NaN()) // everything read must be written
			}
			for _, i := range []int{3, 0, 2, 1} {
				rp.fillChannels(p, x, sx, got, cuts[i], cuts[i+1])
			}
			for q := 0; q < rp.planes/rp.sb; q++ {
				require.Equal(t, want[q*rp.sb:q*rp.sb+tc.c], got[q*rp.sb:q*rp.sb+tc.c], "pixel %d", q)
			}
			// Border patches of the direct plan.
			ic := &idxConv{kh: tc.k, kw: tc.k, c: tc.c, inNHWC: true}
			pl := &groupedIdxPlan{h: tc.h, wd: tc.w, sx: sx, patchLen: tc.k * tc.k * sx}
			for q := 0; q < oh*ow; q++ {
				pl.border = append(pl.border, int32(q)) // every pixel, the inside ones too
			}
			pw := make([]float32, len(pl.border)*pl.patchLen)
			ic.patches(pl, p, x, pw, 0, len(pl.border))
			pg := make([]float32, len(pw))
			for i := range pg {
				pg[i] = float32(math.NaN())
			}
			for _, i := range []int{1, 3, 0, 2} {
				ic.patchChannels(pl, p, x, pg, cuts[i], cuts[i+1])
			}
			for j := 0; j < len(pl.border)*tc.k*tc.k; j++ {
				require.Equal(t, pw[j*sx:j*sx+tc.c], pg[j*sx:j*sx+tc.c], "patch tap %d", j)
			}
		})
	}
}
