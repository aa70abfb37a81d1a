package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// deformRef is DeformConv by its definition, one output value at a time in
// float64: the bilinear value of each moved tap (corners outside the map count
// 0, a point a pixel or more outside is 0), times the mask, times the weight.
func deformRef(x, w, off, b, mask *graph.Tensor, group, og int, stride, pad, dil [2]int) ([]float64, []int) {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oc, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	oh := (h+2*pad[0]-dil[0]*(kh-1)-1)/stride[0] + 1
	ow := (wd+2*pad[1]-dil[1]*(kw-1)-1)/stride[1] + 1
	at := func(t *graph.Tensor, i ...int) float64 {
		o := 0
		for a, v := range i {
			o = o*t.Shape[a] + v
		}
		return float64(t.F32()[o])
	}
	sample := func(bn, ch int, y, xx float64) float64 {
		if y <= -1 || y >= float64(h) || xx <= -1 || xx >= float64(wd) {
			return 0
		}
		y0, x0 := math.Floor(y), math.Floor(xx)
		s := 0.0
		for _, cy := range []float64{y0, y0 + 1} {
			for _, cx := range []float64{x0, x0 + 1} {
				if cy < 0 || cy >= float64(h) || cx < 0 || cx >= float64(wd) {
					continue
				}
				s += (1 - math.Abs(y-cy)) * (1 - math.Abs(xx-cx)) * at(x, bn, ch, int(cy), int(cx))
			}
		}
		return s
	}
	out := make([]float64, n*oc*oh*ow)
	for bn := 0; bn < n; bn++ {
		for o := 0; o < oc; o++ {
			g := o / (oc / group)
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					s := 0.0
					if b != nil {
						s = float64(b.F32()[o])
					}
					for ci := 0; ci < cg; ci++ {
						ch := g*cg + ci
						gg := ch / (c / og)
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								k := i*kw + j
								dy := at(off, bn, gg*2*kh*kw+2*k, y, xx)
								dx := at(off, bn, gg*2*kh*kw+2*k+1, y, xx)
								v := sample(bn, ch, float64(y*stride[0]-pad[0]+i*dil[0])+dy, float64(xx*stride[1]-pad[1]+j*dil[1])+dx)
								if mask != nil {
									v *= at(mask, bn, gg*kh*kw+k, y, xx)
								}
								s += v * at(w, o, ci, i, j)
							}
						}
					}
					out[((bn*oc+o)*oh+y)*ow+xx] = s
				}
			}
		}
	}
	return out, []int{n, oc, oh, ow}
}

// TestDeformConvMatchesReference checks DeformConv against deformRef (random
// fractional offsets reaching outside the map, masks, groups, offset groups,
// strides, dilations, padding, 1 and 2 threads) and, with zero offsets and no
// mask, against the Conv operator.
func TestDeformConvMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(19))
	rnd := func(scale float64, shape ...int) *graph.Tensor {
		tt := graph.NewTensor(graph.Float32, shape)
		for i := range tt.F32() {
			tt.F32()[i] = float32(rng.NormFloat64() * scale)
		}
		return tt
	}
	for _, tc := range []struct {
		name                 string
		n, c, h, w, oc, k    int
		group, og            int
		stride, pad, dil     int
		mask, bias, zeroOffs bool
	}{
		{"3x3 pad 1 mask bias", 1, 4, 7, 6, 5, 3, 1, 1, 1, 1, 1, true, true, false},
		{"offset groups 2, groups 2", 2, 4, 6, 6, 6, 3, 2, 2, 1, 1, 1, true, false, false},
		{"stride 2 dilation 2 no mask", 1, 3, 9, 8, 4, 3, 1, 3, 2, 2, 2, false, true, false},
		{"1x1", 1, 2, 5, 5, 3, 1, 1, 1, 1, 0, 1, true, false, false},
		{"zero offsets equal Conv", 2, 4, 8, 7, 6, 3, 2, 2, 2, 1, 1, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := rnd(1, tc.n, tc.c, tc.h, tc.w)
			w := rnd(0.3, tc.oc, tc.c/tc.group, tc.k, tc.k)
			oh := (tc.h+2*tc.pad-tc.dil*(tc.k-1)-1)/tc.stride + 1
			ow := (tc.w+2*tc.pad-tc.dil*(tc.k-1)-1)/tc.stride + 1
			taps := tc.k * tc.k
			off := rnd(1.5, tc.n, tc.og*2*taps, oh, ow)
			if tc.zeroOffs {
				off = graph.NewTensor(graph.Float32, off.Shape)
			}
			ins := []*graph.Tensor{x, w, off}
			names := []string{"x", "w", "off"}
			var b, m *graph.Tensor
			if tc.bias {
				b = rnd(0.1, tc.oc)
			}
			if tc.mask {
				m = graph.NewTensor(graph.Float32, []int{tc.n, tc.og * taps, oh, ow})
				for i := range m.F32() {
					m.F32()[i] = rng.Float32()
				}
			}
			if b == nil && m != nil {
				b = graph.NewTensor(graph.Float32, []int{tc.oc}) // the test runner binds every input name
			}
			if b != nil {
				names, ins = append(names, "b"), append(ins, b)
			}
			if m != nil {
				names, ins = append(names, "mask"), append(ins, m)
			}
			attrs := map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{tc.k, tc.k}),
				"strides":      graph.IntsAttr("strides", []int{tc.stride, tc.stride}),
				"dilations":    graph.IntsAttr("dilations", []int{tc.dil, tc.dil}),
				"pads":         graph.IntsAttr("pads", []int{tc.pad, tc.pad, tc.pad, tc.pad}),
				"group":        graph.IntAttr("group", int64(tc.group)),
				"offset_group": graph.IntAttr("offset_group", int64(tc.og)),
			}
			want, shape := deformRef(x, w, off, b, m, tc.group, tc.og, [2]int{tc.stride, tc.stride}, [2]int{tc.pad, tc.pad}, [2]int{tc.dil, tc.dil})
			for _, th := range []int{1, 2} {
				n := &graph.Node{Name: "dcn", OpType: "DeformConv", Inputs: names, Outputs: []string{"y"}, Attrs: attrs}
				got, err := runNodeWith(t, 19, th, n, nil, ins...)
				require.NoError(t, err)
				require.Equal(t, shape, got[0].Shape)
				for i, v := range got[0].F32() {
					require.InDelta(t, want[i], float64(v), 1e-4, "element %d threads %d", i, th)
				}
			}
			if tc.zeroOffs {
				delete(attrs, "offset_group")
				cn := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: attrs}
				conv, err := runSingleNode(t, 13, cn, x, w, b)
				require.NoError(t, err)
				for i, v := range conv[0].F32() {
					assert.InDelta(t, want[i], float64(v), 1e-4, "Conv element %d", i)
				}
			}
		})
	}
}

// TestDeformConvRefusals: wrong offset and mask sizes, a group that does not
// divide the channels, and float64 are errors naming the node, shape inference
// or the kernel (inputs without declared shapes).
func TestDeformConvRefusals(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{1, 4, 5, 5})
	w := graph.NewTensor(graph.Float32, []int{2, 4, 3, 3})
	node := func(ins ...string) *graph.Node {
		return &graph.Node{Name: "dcn", OpType: "DeformConv", Inputs: ins, Outputs: []string{"y"},
			Attrs: map[string]*graph.Attr{"pads": graph.IntsAttr("pads", []int{1, 1, 1, 1})}}
	}
	_, err := runSingleNode(t, 19, node("x", "w", "o"), x, w, graph.NewTensor(graph.Float32, []int{1, 9, 5, 5}))
	require.ErrorContains(t, err, "dcn")
	require.ErrorContains(t, err, "offset")
	_, err = runNodeDynamic(t, node("x", "w", "o"), x, w, graph.NewTensor(graph.Float32, []int{1, 18, 4, 5}))
	require.ErrorContains(t, err, "offset has shape")
	_, err = runNodeDynamic(t, node("x", "w", "o", "b", "m"), x, w, graph.NewTensor(graph.Float32, []int{1, 18, 5, 5}),
		graph.NewTensor(graph.Float32, []int{2}), graph.NewTensor(graph.Float32, []int{1, 18, 5, 5}))
	require.ErrorContains(t, err, "mask has shape")
	g3 := node("x", "w", "o")
	g3.Attrs["group"] = graph.IntAttr("group", 3)
	_, err = runSingleNode(t, 19, g3, x, graph.NewTensor(graph.Float32, []int{3, 1, 3, 3}), graph.NewTensor(graph.Float32, []int{1, 18, 5, 5}))
	require.ErrorContains(t, err, "group 3")
	_, err = runSingleNode(t, 19, node("x", "w", "o"), graph.NewTensor(graph.Float64, []int{1, 4, 5, 5}),
		graph.NewTensor(graph.Float64, []int{2, 4, 3, 3}), graph.NewTensor(graph.Float64, []int{1, 18, 5, 5}))
	require.ErrorContains(t, err, "dcn")
	// A NaN or infinite offset samples nothing (0), as a point outside the map.
	off := graph.NewTensor(graph.Float32, []int{1, 18, 5, 5})
	for i := range off.F32() {
		off.F32()[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[i%3]
	}
	for i := range x.F32() {
		x.F32()[i] = 1
	}
	ones := graph.NewTensor(graph.Float32, []int{2, 4, 3, 3})
	for i := range ones.F32() {
		ones.F32()[i] = 1
	}
	y, err := runSingleNode(t, 19, node("x", "w", "o"), x, ones, off)
	require.NoError(t, err)
	for _, v := range y[0].F32() {
		require.Zero(t, v)
	}
}

// deformSample is the bilinear value of plane [h, w] at (y, x): 0 when the point is
// a full pixel or more outside (or not a number: a NaN offset), each corner outside
// the plane counted as 0.
func deformSample(plane []float32, h, w int, y, x float32) float32 {
	if y != y || x != x || y <= -1 || float32(h) <= y || x <= -1 || float32(w) <= x {
		return 0
	}
	yl, xl := int(math.Floor(float64(y))), int(math.Floor(float64(x)))
	yh, xh := yl+1, xl+1
	ly, lx := y-float32(yl), x-float32(xl)
	hy, hx := 1-ly, 1-lx
	var v1, v2, v3, v4 float32
	if yl >= 0 && xl >= 0 {
		v1 = plane[yl*w+xl]
	}
	if yl >= 0 && xh <= w-1 {
		v2 = plane[yl*w+xh]
	}
	if yh <= h-1 && xl >= 0 {
		v3 = plane[yh*w+xl]
	}
	if yh <= h-1 && xh <= w-1 {
		v4 = plane[yh*w+xh]
	}
	return hy*hx*v1 + hy*lx*v2 + ly*hx*v3 + ly*lx*v4
}

// deformColumnsRef is the column matrix of one image as the scalar
// DeformConv of the twentieth session built it: deformSample per channel,
// tap and position, times the mask.
func deformColumnsRef(x, off, mask []float32, c int, d deformGeom) []float32 {
	taps, p, hw := d.kh*d.kw, d.oh*d.ow, d.h*d.w
	col := make([]float32, c*taps*p)
	for ch := 0; ch < c; ch++ {
		g := ch / (c / d.og)
		plane := x[ch*hw:][:hw]
		for i := 0; i < d.kh; i++ {
			for j := 0; j < d.kw; j++ {
				t := i*d.kw + j
				dy, dx := off[(g*2*taps+2*t)*p:][:p], off[(g*2*taps+2*t+1)*p:][:p]
				for y := 0; y < d.oh; y++ {
					y0 := float32(y*d.sy - d.py + i*d.dy)
					for xx := 0; xx < d.ow; xx++ {
						q := y*d.ow + xx
						v := deformSample(plane, d.h, d.w, y0+dy[q], float32(xx*d.sx-d.px+j*d.dx)+dx[q])
						if mask != nil {
							v *= mask[(g*taps+t)*p+q]
						}
						col[(ch*taps+t)*p+q] = v
					}
				}
			}
		}
	}
	return col
}

// TestDeformColumnsMatchScalar: the precomputed-corner column builder gives
// the scalar builder's bits over random geometries (kernel 1-4, strides,
// dilations, pads), offset groups, masks, offsets reaching far outside the
// map (every border), integer offsets (a corner exactly on the edge), NaN
// and infinite offsets, and maps holding Inf and NaN (a corner outside must
// still read 0, not 0·Inf), at 1 and 3 threads.
func TestDeformColumnsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	for trial := 0; trial < 150; trial++ {
		d := deformGeom{h: 1 + rng.Intn(9), w: 1 + rng.Intn(9), kh: 1 + rng.Intn(4), kw: 1 + rng.Intn(4),
			sy: 1 + rng.Intn(2), sx: 1 + rng.Intn(2), py: rng.Intn(3), px: rng.Intn(3), dy: 1 + rng.Intn(2), dx: 1 + rng.Intn(2),
			og: []int{1, 2, 3}[rng.Intn(3)]}
		d.oh = (d.h+2*d.py-d.dy*(d.kh-1)-1)/d.sy + 1
		d.ow = (d.w+2*d.px-d.dx*(d.kw-1)-1)/d.sx + 1
		if d.oh <= 0 || d.ow <= 0 {
			continue
		}
		c := d.og * (1 + rng.Intn(3))
		taps, p := d.kh*d.kw, d.oh*d.ow
		x := make([]float32, c*d.h*d.w)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			if rng.Intn(50) == 0 {
				x[i] = []float32{float32(math.Inf(1)), float32(math.NaN())}[rng.Intn(2)]
			}
		}
		off := make([]float32, d.og*2*taps*p)
		for i := range off {
			switch rng.Intn(10) {
			case 0:
				off[i] = float32(rng.Intn(7) - 3) // whole pixels
			case 1:
				off[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e9}[rng.Intn(4)]
			default:
				off[i] = float32(rng.NormFloat64() * 3)
			}
		}
		var mask []float32
		if rng.Intn(2) == 0 {
			mask = make([]float32, d.og*taps*p)
			for i := range mask {
				mask[i] = rng.Float32()
			}
		}
		want := deformColumnsRef(x, off, mask, c, d)
		for _, threads := range []int{1, 3} {
			got := make([]float32, len(want))
			deformColumns(got, x, off, mask, c, d, threads)
			for i := range want {
				require.Equalf(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "trial %d %+v c %d threads %d element %d: %g vs %g",
					trial, d, c, threads, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkDeformColumns is the DCNv2 export's first DeformConv's columns
// (out/bench-models-unseen15/dcnv2_deformconv_op19.onnx, dcn1: 16 channels
// of 24x24, 3x3, two offset groups, a mask), one thread.
func BenchmarkDeformColumns(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	d := deformGeom{h: 24, w: 24, oh: 24, ow: 24, kh: 3, kw: 3, sy: 1, sx: 1, py: 1, px: 1, dy: 1, dx: 1, og: 2}
	c, taps, p := 16, 9, 576
	x := make([]float32, c*24*24)
	off := make([]float32, d.og*2*taps*p)
	mask := make([]float32, d.og*taps*p)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range off {
		off[i] = float32(rng.NormFloat64())
	}
	for i := range mask {
		mask[i] = rng.Float32()
	}
	col := make([]float32, c*taps*p)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		deformColumns(col, x, off, mask, c, d, 1)
	}
}
