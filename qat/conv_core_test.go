package qat

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/kernels"
)

// convRef is the plain convolution (NCHW, OIHW) and its gradients with respect to x
// and w, the reference of the chunked and implicit-GEMM paths.
func convRef(g *convGeom, x, w, dy []float32) (y, dx, dw []float32) {
	y = make([]float32, g.n*g.oc*g.p)
	dx = make([]float32, len(x))
	dw = make([]float32, len(w))
	for n := 0; n < g.n; n++ {
		for o := 0; o < g.oc; o++ {
			gi := o / g.ocg
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					yi := (n*g.oc+o)*g.p + oy*g.ow + ox
					var s float64
					for ci := 0; ci < g.cg; ci++ {
						c := gi*g.cg + ci
						for i := 0; i < g.kh; i++ {
							for j := 0; j < g.kw; j++ {
								iy, ix := oy*g.sh-g.pt+i*g.dh, ox*g.sw-g.pl+j*g.dw
								if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
									continue
								}
								xi := (n*g.c+c)*g.h*g.w + iy*g.w + ix
								wi := ((o*g.cg+ci)*g.kh+i)*g.kw + j
								s += float64(x[xi]) * float64(w[wi])
								dx[xi] += dy[yi] * w[wi]
								dw[wi] += dy[yi] * x[xi]
							}
						}
					}
					y[yi] = float32(s)
				}
			}
		}
	}
	return y, dx, dw
}

// TestConvPaths checks the forward pass, the input and the weight gradient of every
// path (im2col chunks, the shifted forward pass, the transposed input-gradient
// convolution, forced on maps where the cost check would skip them) against
// convRef, and that the chunked weight gradient equals one GEMM over the batch.
func TestConvPaths(t *testing.T) {
	cases := []convGeom{
		{c: 3, oc: 4, group: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 4, oc: 6, group: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 3, oc: 3, group: 3, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 2, oc: 5, group: 1, kh: 2, kw: 3, sh: 1, sw: 1, dh: 2, dw: 1, pt: 1, pl: 0, pb: 0, pr: 2},
		{c: 5, oc: 7, group: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1},
		{c: 2, oc: 3, group: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 3, oc: 2, group: 1, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1},
		// strided layers on phase planes: 1x1 stride 2 (one plane of four read),
		// stride 3x2 with dilation and asymmetric padding, grouped
		{c: 3, oc: 4, group: 1, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1},
		{c: 4, oc: 6, group: 2, kh: 3, kw: 2, sh: 3, sw: 2, dh: 2, dw: 1, pt: 2, pl: 0, pb: 1, pr: 1},
		// the input gradient on phase planes (seventeenth session): 2x2 stride 2
		// (no overlap), 5x5 stride 2 asymmetric pads, stride 2x1 dilated
		{c: 3, oc: 5, group: 1, kh: 2, kw: 2, sh: 2, sw: 2, dh: 1, dw: 1},
		{c: 2, oc: 3, group: 1, kh: 5, kw: 5, sh: 2, sw: 2, dh: 1, dw: 1, pt: 2, pl: 1, pb: 0, pr: 2},
		{c: 2, oc: 4, group: 1, kh: 3, kw: 3, sh: 2, sw: 1, dh: 1, dw: 2, pt: 1, pl: 2, pb: 1, pr: 2},
		// depthwise: stride 1 and 2, asymmetric padding, dilation, multiplier 2
		{c: 5, oc: 5, group: 5, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 4, oc: 4, group: 4, kh: 3, kw: 2, sh: 1, sw: 2, dh: 2, dw: 3, pt: 2, pl: 0, pb: 1, pr: 3},
		{c: 3, oc: 6, group: 3, kh: 3, kw: 3, sh: 2, sw: 1, dh: 1, dw: 1, pt: 0, pl: 1, pb: 2, pr: 1},
		{c: 2, oc: 2, group: 2, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2},
	}
	rng := rand.New(rand.NewSource(1))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for _, geo := range cases {
		for _, shape := range [][]int{{3, 0, 7, 6}, {1, 0, 5, 9}, {2, 0, 28, 28}} {
			g := geo
			shape[1] = g.c
			require.NoError(t, g.setInput(shape))
			name := fmt.Sprintf("%dx%d s%dx%d d%dx%d g%d m%d %dx%d", g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.group, g.ocg, g.h, g.w)
			x, w, dy := fill(numel(shape)), fill(g.oc*g.cg*g.kh*g.kw), fill(g.n*g.oc*g.p)
			yr, dxr, dwr := convRef(&g, x, w, dy)
			near := func(what string, want, got []float32) {
				for i := range want {
					require.InDelta(t, want[i], got[i], 1e-4*(1+math.Abs(float64(want[i]))), "%s: %s[%d]", name, what, i)
				}
			}
			for _, threads := range []int{1, 2} {
				var c convCore
				c.g = g
				y := make([]float32, len(yr))
				c.forward(x, w, nil, y, threads)
				near("y", yr, y)
				dx, dw := make([]float32, len(x)), make([]float32, len(w))
				c.backward(x, w, dy, dx, dw, nil, false, nil, threads)
				near("dx", dxr, dx)
				near("dw", dwr, dw)
				// set: dx written over garbage, every element, the same bits as
				// added to a cleared dx
				dxs := make([]float32, len(x))
				for i := range dxs {
					dxs[i] = float32(math.NaN())
				}
				c.backward(x, w, dy, dxs, make([]float32, len(w)), nil, true, nil, threads)
				for i := range dx {
					require.Equal(t, math.Float32bits(dx[i]), math.Float32bits(dxs[i]), "%s: dx (set)[%d]", name, i)
				}
				if g.depthwise() {
					// the weight gradient without the forward pass's phase planes
					// (an input the forward pass did not see)
					clear(dw)
					c.weightGradDepthwise(append([]float32(nil), x...), dy, dw, threads)
					near("dw (phases rebuilt)", dwr, dw)
					// the GEMM paths the depthwise path replaces
					clear(y)
					c.forwardIm2col(x, w, nil, y, threads)
					near("y (im2col)", yr, y)
					clear(dx)
					clear(dw)
					c.inputGrad(w, dy, dx, threads)
					c.weightGrad(x, dy, dw, threads)
					near("dx (columns)", dxr, dx)
					near("dw (columns)", dwr, dw)
				}
				if s := g.shiftLayout(false); s != nil {
					clear(y)
					c.forwardShifted(s, x, w, nil, y, threads)
					near("y (shifted)", yr, y)
					// accumulates into dw, every group and tap read from the padded image
					for i := range dw {
						dw[i] = 1
					}
					c.weightGradShifted(s, x, dy, dw, threads)
					for i := range dw {
						dw[i]--
					}
					near("dw (shifted)", dwr, dw)
				}
				if tc := g.transposed(false); tc != nil {
					clear(dx)
					c.inputGradShifted(tc, w, dy, dx, false, nil, threads)
					near("dx (transposed)", dxr, dx)
					if s := g.shiftLayout(false); s != nil {
						if base, ok := tc.sharedDy(s); ok {
							// both gradients on one padded dy (one thread):
							// bit for bit the two passes
							dwA, dwB := make([]float32, len(w)), make([]float32, len(w))
							dxA, dxB := make([]float32, len(x)), make([]float32, len(x))
							c.weightGradShifted(s, x, dy, dwA, 1)
							c.inputGradShifted(tc, w, dy, dxA, false, nil, 1)
							c.gradsShifted(s, tc, base, x, w, dy, dxB, dwB, false, nil)
							require.Equal(t, dwA, dwB, "%s: dw (shared dy)", name)
							require.Equal(t, dxA, dxB, "%s: dx (shared dy)", name)
						}
					}
					// the straight-through mask in the store (fuseSTEIntoConv):
					// bit for bit the written gradient, then STESetF32 over it
					sx := make([]float32, len(x))
					for i := range sx {
						sx[i] = float32(rng.NormFloat64())
					}
					sx[0], sx[len(sx)-1] = float32(math.NaN()), float32(math.Copysign(0, -1))
					want, got := make([]float32, len(x)), make([]float32, len(x))
					c.inputGradShifted(tc, w, dy, dx, true, nil, threads)
					kernels.STESetF32(sx, dx, want, -0.7, 1.1)
					for i := range got {
						got[i] = float32(math.NaN())
					}
					untouched := append([]float32(nil), dx...)
					c.inputGradShifted(tc, w, dy, dx, true, &steStore{x: sx, dx: got, lo: -0.7, hi: 1.1}, threads)
					for i := range want {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "masked dx[%d]", i)
					}
					require.Equal(t, untouched, dx, "dx written although the mask went to ste.dx")
					// the first of several readers (steAcc): added to what the
					// others accumulated, then masked, bit for bit
					acc := accumulated(rng, len(x))
					checkSTEAcc(t, name, acc, sx, func(dx []float32, ste *steStore) {
						c.inputGradShifted(tc, w, dy, dx, false, ste, threads)
					})
				}
				if p := g.phased(); p != nil && !g.depthwise() {
					// strided layers: the input gradient on phase planes, added,
					// written over garbage, and masked in the store
					for i := range dx {
						dx[i] = 1
					}
					c.inputGradPhased(p, w, dy, dx, false, nil, threads)
					for i := range dx {
						dx[i]--
					}
					near("dx (phase planes)", dxr, dx)
					sx := make([]float32, len(x))
					for i := range sx {
						sx[i] = float32(rng.NormFloat64())
					}
					sx[0], sx[len(sx)-1] = float32(math.NaN()), float32(math.Copysign(0, -1))
					want, got := make([]float32, len(x)), make([]float32, len(x))
					for i := range dx {
						dx[i] = float32(math.NaN())
					}
					c.inputGradPhased(p, w, dy, dx, true, nil, threads)
					near("dx (phase planes, set)", dxr, dx)
					kernels.STESetF32(sx, dx, want, -0.7, 1.1)
					for i := range got {
						got[i] = float32(math.NaN())
					}
					untouched := append([]float32(nil), dx...)
					c.inputGradPhased(p, w, dy, dx, true, &steStore{x: sx, dx: got, lo: -0.7, hi: 1.1}, threads)
					for i := range want {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s: masked dx[%d]", name, i)
					}
					require.Equal(t, untouched, dx, "dx written although the mask went to ste.dx")
					acc := accumulated(rng, len(x))
					checkSTEAcc(t, name, acc, sx, func(dx []float32, ste *steStore) {
						c.inputGradPhased(p, w, dy, dx, false, ste, threads)
					})
				}
			}
		}
	}
}

// accumulated returns a gradient as other readers leave it: random values, zeros
// of both signs and a NaN.
func accumulated(rng *rand.Rand, n int) []float32 {
	acc := make([]float32, n)
	for i := range acc {
		acc[i] = float32(rng.NormFloat64())
	}
	acc[1%n], acc[2%n], acc[3%n] = 0, float32(math.Copysign(0, -1)), float32(math.NaN())
	return acc
}

// checkSTEAcc checks an input-gradient store with ste.acc (run(dx, ste)): the
// store writes STESetF32(sx, acc + the input gradient) to ste.dx, bit for bit
// what adding the input gradient to acc and masking it in a separate pass give,
// and leaves acc as it was.
func checkSTEAcc(t *testing.T, name string, acc, sx []float32, run func(dx []float32, ste *steStore)) {
	sum := append([]float32(nil), acc...)
	run(sum, nil)
	want := make([]float32, len(acc))
	kernels.STESetF32(sx, sum, want, -0.7, 1.1)
	got := make([]float32, len(acc))
	for i := range got {
		got[i] = float32(math.NaN())
	}
	keep := append([]float32(nil), acc...)
	run(nil, &steStore{x: sx, dx: got, acc: acc, lo: -0.7, hi: 1.1})
	for i := range want {
		require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s: masked acc + dx[%d]", name, i)
	}
	for i := range keep {
		require.Equal(t, math.Float32bits(keep[i]), math.Float32bits(acc[i]), "%s: acc[%d] written", name, i)
	}
}

// BenchmarkConvPaths times the forward pass and the input gradient of 3x3 layers of
// the bundled ResNet's shapes (batch 64) on the implicit-GEMM paths and on the
// im2col chunks.
func BenchmarkConvPaths(b *testing.B) {
	for _, hw := range []int{28, 14, 7} {
		c := map[int]int{28: 16, 14: 32, 7: 64}[hw]
		g := convGeom{c: c, oc: c, group: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}
		require.NoError(b, g.setInput([]int{64, c, hw, hw}))
		x, w, dy := make([]float32, 64*c*hw*hw), make([]float32, c*c*9), make([]float32, 64*c*hw*hw)
		for i := range x {
			x[i], dy[i] = float32(i%7)-3, float32(i%5)-2
		}
		y, dx := make([]float32, len(x)), make([]float32, len(x))
		for _, shifted := range []bool{true, false} {
			var cc convCore
			cc.g = g
			s, t := g.shiftLayout(false), g.transposed(false)
			b.Run(fmt.Sprintf("%dx%dx%d/forward/shifted=%v", c, hw, hw, shifted), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if shifted {
						cc.forwardShifted(s, x, w, nil, y, 0)
					} else {
						cc.forwardIm2col(x, w, nil, y, 0)
					}
				}
			})
			b.Run(fmt.Sprintf("%dx%dx%d/input-grad/shifted=%v", c, hw, hw, shifted), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if shifted {
						cc.inputGradShifted(t, w, dy, dx, false, nil, 0)
					} else {
						cc.inputGrad(w, dy, dx, 0)
					}
				}
			})
		}
	}
}

// TestIm2colRangeMatchesDefinition checks im2colRange, bit for bit, against the
// definition cols[(ci*KH+i)*KW+j][q] = x[n][ci][oy*SH-PT+i*DH][ox*SW-PL+j*DW] (zero
// outside the image) for q = n*P+oy*OW+ox in [a, b): ranges of whole images (the
// strided layers' row-by-row path) and ranges cut inside images, strides 1-3,
// dilation and asymmetric padding. Columns are garbage before the call.
func TestIm2colRangeMatchesDefinition(t *testing.T) {
	cases := []convGeom{
		{c: 3, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 2, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1},
		{c: 2, kh: 3, kw: 2, sh: 3, sw: 3, dh: 2, dw: 1, pt: 2, pl: 0, pb: 1, pr: 3},
		{c: 2, kh: 3, kw: 3, sh: 2, sw: 1, dh: 1, dw: 2, pt: 0, pl: 2, pb: 2, pr: 1},
		{c: 2, kh: 3, kw: 3, sh: 1, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 1, kh: 5, kw: 5, sh: 2, sw: 2, dh: 1, dw: 1, pt: 0, pl: 4, pb: 0, pr: 0},
	}
	rng := rand.New(rand.NewSource(3))
	for _, geo := range cases {
		for _, shape := range [][]int{{3, 0, 7, 6}, {2, 0, 28, 28}, {2, 0, 1, 9}} {
			g := geo
			g.oc, g.group = 1, 1
			shape[1] = g.c
			if g.setInput(shape) != nil {
				continue
			}
			x := make([]float32, numel(shape))
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			np := g.n * g.p
			for _, ab := range [][2]int{{0, np}, {g.p, np}, {1, np - 1}, {g.p / 2, g.p + 3}} {
				a, b := ab[0], min(ab[1], np)
				if a >= b {
					continue
				}
				rows := g.c * g.kh * g.kw
				cols := make([]float32, rows*(b-a))
				for i := range cols {
					cols[i] = float32(math.NaN())
				}
				g.im2colRange(x, cols, a, b, 2)
				for ci := 0; ci < g.c; ci++ {
					for i := 0; i < g.kh; i++ {
						for j := 0; j < g.kw; j++ {
							r := (ci*g.kh+i)*g.kw + j
							for q := a; q < b; q++ {
								n, p := q/g.p, q%g.p
								iy, ix := p/g.ow*g.sh-g.pt+i*g.dh, p%g.ow*g.sw-g.pl+j*g.dw
								var want float32
								if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
									want = x[((n*g.c+ci)*g.h+iy)*g.w+ix]
								}
								require.Equal(t, math.Float32bits(want), math.Float32bits(cols[r*(b-a)+q-a]),
									"%v %v [%d,%d): row %d position %d", geo, shape, a, b, r, q)
							}
						}
					}
				}
			}
		}
	}
}

// TestBiasGradMatchesSequentialSum checks biasGrad, bit for bit, against one
// running float32 sum per channel in (image, position) order, for channel counts
// around its blocks of four and channel ranges that start anywhere.
func TestBiasGradMatchesSequentialSum(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, oc := range []int{1, 3, 4, 5, 8, 9, 16} {
		for _, lohi := range [][2]int{{0, oc}, {1, oc}, {oc / 2, oc}} {
			g := convGeom{n: 3, oc: oc, p: 37}
			dy := make([]float32, g.n*oc*g.p)
			for i := range dy {
				dy[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.Intn(7)-3)))
			}
			db := make([]float32, oc)
			for i := range db {
				db[i] = float32(i) * 0.25
			}
			want := append([]float32(nil), db...)
			for o := lohi[0]; o < lohi[1]; o++ {
				var s float32
				for n := 0; n < g.n; n++ {
					for _, v := range dy[(n*oc+o)*g.p:][:g.p] {
						s += v
					}
				}
				want[o] += s
			}
			biasGrad(&g, dy, db, lohi[0], lohi[1])
			for o := range want {
				require.Equal(t, math.Float32bits(want[o]), math.Float32bits(db[o]), "oc %d range %v channel %d", oc, lohi, o)
			}
		}
	}
}

// TestShiftedForwardBiasMatchesIm2col checks the shifted forward pass, which adds
// the bias in its store, bit for bit against the im2col chunks, which add it in a
// pass over y afterwards (the same GEMM sums plus the same bias), stride 1 and
// strided (phase planes).
func TestShiftedForwardBiasMatchesIm2col(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, geo := range []convGeom{
		{c: 3, oc: 16, group: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 4, oc: 6, group: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 2, oc: 5, group: 1, kh: 2, kw: 3, sh: 1, sw: 1, dh: 2, dw: 1, pt: 1, pl: 0, pb: 0, pr: 2},
		// strided, on phase planes
		{c: 16, oc: 32, group: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 16, oc: 32, group: 1, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1},
		{c: 4, oc: 6, group: 2, kh: 3, kw: 2, sh: 3, sw: 2, dh: 2, dw: 1, pt: 2, pl: 0, pb: 1, pr: 1},
	} {
		for _, shape := range [][]int{{3, 0, 7, 6}, {2, 0, 28, 28}} {
			g := geo
			shape[1] = g.c
			require.NoError(t, g.setInput(shape))
			s := g.shiftLayout(false)
			require.NotNil(t, s)
			x, w, b := make([]float32, numel(shape)), make([]float32, g.oc*g.cg*g.kh*g.kw), make([]float32, g.oc)
			for _, v := range [][]float32{x, w, b} {
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
			}
			var c convCore
			c.g = g
			want, got := make([]float32, g.n*g.oc*g.p), make([]float32, g.n*g.oc*g.p)
			c.forwardIm2col(x, w, b, want, 1)
			c.forwardShifted(s, x, w, b, got, 1)
			for i := range want {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%v %v: y[%d]", geo, shape, i)
			}
		}
	}
}

// TestRowRunsCoverTheOutputColumns checks the runs of every block of the
// shifted GEMM's columns (whole 16-column panels and ragged ends, the ResNet's
// 28, 14 and 7 wide maps and narrow ones) against the definition: column q of
// the padded width is output (q/ppw, q%ppw) when q%ppw < ow, stored exactly
// once, at the same place.
func TestRowRunsCoverTheOutputColumns(t *testing.T) {
	for _, geo := range []struct{ oh, ow, ppw int }{{28, 28, 30}, {14, 14, 16}, {7, 7, 9}, {5, 3, 7}, {1, 4, 6}, {6, 1, 3}} {
		s := &shiftGeom{ppw: geo.ppw}
		n := (geo.oh-1)*geo.ppw + geo.ow
		for _, bs := range []int{1, 5, 16, 48, 224, n} {
			for j0 := 0; j0 < n; j0 += bs {
				nc := min(bs, n-j0)
				t.Run(fmt.Sprintf("%v/j0=%d/nc=%d", geo, j0, nc), func(t *testing.T) {
					got := map[int]int{} // block column -> output index
					runs := s.rowRuns(j0, nc, geo.ow)
					for _, u := range runs.all() {
						require.Positive(t, u.w)
						require.Positive(t, u.rows)
						for i := 0; i < u.rows; i++ {
							for j := 0; j < u.w; j++ {
								q := u.q + i*geo.ppw + j
								_, dup := got[q]
								require.False(t, dup, "column %d stored twice", q)
								got[q] = u.d + i*geo.ow + j
							}
						}
					}
					want := map[int]int{}
					for q := j0; q < j0+nc; q++ {
						if q%geo.ppw < geo.ow {
							want[q-j0] = q/geo.ppw*geo.ow + q%geo.ppw
						}
					}
					require.Equal(t, want, got)
				})
			}
		}
	}
}
