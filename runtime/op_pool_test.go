package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestPoolOps(t *testing.T) {
	// x is 1x1x4x4 holding 1..16.
	x := f32([]int{1, 1, 4, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
	runNodeCases(t, []nodeCase{
		{name: "max 2x2 stride 2", node: mk("MaxPool", 1, 1, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2)),
			inputs: []*graph.Tensor{x}, want: []*graph.Tensor{f32([]int{1, 1, 2, 2}, 6, 8, 14, 16)}},
		{name: "max indices row-major", node: mk("MaxPool", 1, 2, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2)),
			inputs: []*graph.Tensor{x}, want: []*graph.Tensor{nil, i64([]int{1, 1, 2, 2}, 5, 7, 13, 15)}},
		{name: "max indices column-major", node: mk("MaxPool", 1, 2, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("storage_order", 1)),
			inputs: []*graph.Tensor{x}, want: []*graph.Tensor{nil, i64([]int{1, 1, 2, 2}, 5, 13, 7, 15)}},
		{name: "max indices include the plane offset", node: mk("MaxPool", 1, 2, aInts("kernel_shape", 2), aInts("strides", 2)),
			inputs: []*graph.Tensor{f32([]int{2, 1, 2}, 3, 1, 0, 9)}, want: []*graph.Tensor{f32([]int{2, 1, 1}, 3, 9), i64([]int{2, 1, 1}, 0, 3)}},
		{name: "max ceil mode", node: mk("MaxPool", 1, 1, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInt("ceil_mode", 1)),
			inputs: []*graph.Tensor{x}, want: []*graph.Tensor{f32([]int{1, 1, 2, 2}, 11, 12, 15, 16)}},
		{name: "max dilated padded", node: mk("MaxPool", 1, 1, aInts("kernel_shape", 2, 2), aInts("dilations", 2, 2), aInts("pads", 1, 1, 0, 0)),
			inputs: []*graph.Tensor{x}, want: []*graph.Tensor{f32([]int{1, 1, 3, 3}, 6, 7, 8, 10, 11, 12, 14, 15, 16)}},
		{name: "max int8 with padding", node: mk("MaxPool", 1, 1, aInts("kernel_shape", 2), aInts("pads", 1, 1)),
			inputs: []*graph.Tensor{i8([]int{1, 1, 3}, -5, -7, -2)}, want: []*graph.Tensor{i8([]int{1, 1, 4}, -5, -5, -2, -2)}},
		{name: "max uint8", node: mk("MaxPool", 1, 1, aInts("kernel_shape", 3), aStr("auto_pad", "SAME_UPPER")),
			inputs: []*graph.Tensor{u8([]int{1, 1, 4}, 1, 200, 3, 4)}, want: []*graph.Tensor{u8([]int{1, 1, 4}, 200, 200, 200, 4)}},
		{name: "max float16", node: mk("MaxPool", 1, 1, aInts("kernel_shape", 2)),
			inputs: []*graph.Tensor{f16([]int{1, 1, 3}, 1, 0.5, 2)}, want: []*graph.Tensor{f16([]int{1, 1, 2}, 1, 2)}},
		{name: "avg excludes pad", node: mk("AveragePool", 1, 1, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("strides", 3, 3)),
			inputs: []*graph.Tensor{x}, want: []*graph.Tensor{f32([]int{1, 1, 2, 2}, 3.5, 5.5, 11.5, 13.5)}},
		{name: "avg includes pad", node: mk("AveragePool", 1, 1, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("strides", 3, 3), aInt("count_include_pad", 1)),
			inputs: []*graph.Tensor{x}, want: []*graph.Tensor{f32([]int{1, 1, 2, 2}, 14.0/9, 22.0/9, 46.0/9, 54.0/9)}},
		// With ceil_mode the last window runs past the padded input: those taps are not
		// counted even with count_include_pad (ONNX Runtime, PyTorch).
		{name: "avg ceil include pad", node: mk("AveragePool", 1, 1, aInts("kernel_shape", 2), aInts("strides", 2), aInt("ceil_mode", 1), aInt("count_include_pad", 1)),
			inputs: []*graph.Tensor{f32([]int{1, 1, 3}, 1, 2, 6)}, want: []*graph.Tensor{f32([]int{1, 1, 2}, 1.5, 6)}},
		{name: "global avg", node: mk("GlobalAveragePool", 1, 1), inputs: []*graph.Tensor{f32([]int{1, 2, 2}, 1, 2, 3, 5)},
			want: []*graph.Tensor{f32([]int{1, 2, 1}, 1.5, 4)}},
		{name: "global max 2d", node: mk("GlobalMaxPool", 1, 1), inputs: []*graph.Tensor{x}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 16)}},
		{name: "global avg float64", node: mk("GlobalAveragePool", 1, 1),
			inputs: []*graph.Tensor{{DType: graph.Float64, Shape: []int{1, 1, 2}, Data: []float64{1, 2}}},
			want:   []*graph.Tensor{{DType: graph.Float64, Shape: []int{1, 1, 1}, Data: []float64{1.5}}}},
		{name: "avg on int8 refused", node: mk("AveragePool", 1, 1, aInts("kernel_shape", 2)),
			inputs: []*graph.Tensor{i8([]int{1, 1, 2}, 1, 2)}, wantErr: "int8"},
		{name: "kernel rank mismatch", node: mk("MaxPool", 1, 1, aInts("kernel_shape", 2)), inputs: []*graph.Tensor{x}, wantErr: "kernel_shape [2] has 1 axes"},
	})
}

// poolRef is a direct N-d pooling reference (max, or average with or without pads).
func poolRef(x *graph.Tensor, k, s, d, pads []int, isMax, includePad, ceil bool) *graph.Tensor {
	r := len(k)
	in := x.Shape[2:]
	out := make([]int, r)
	for a := range out {
		span := in[a] + pads[a] + pads[r+a] - (k[a]-1)*d[a] - 1
		out[a] = span/s[a] + 1
		if ceil && span%s[a] != 0 && (out[a])*s[a] < in[a]+pads[a] {
			out[a]++
		}
	}
	planes := x.Shape[0] * x.Shape[1]
	y := graph.NewTensor(graph.Float32, append([]int{x.Shape[0], x.Shape[1]}, out...))
	osz, isz, ksz := graph.NumElements(out), graph.NumElements(in), graph.NumElements(k)
	for p := 0; p < planes; p++ {
		for o := 0; o < osz; o++ {
			oi := unravel(o, out)
			best, sum, cnt, padded := math.Inf(-1), 0.0, 0, 0
			for kk := 0; kk < ksz; kk++ {
				ki := unravel(kk, k)
				off, ok, inPad := 0, true, true
				for a := 0; a < r; a++ {
					pos := oi[a]*s[a] - pads[a] + ki[a]*d[a]
					if pos >= in[a]+pads[r+a] {
						inPad = false
					}
					if pos < 0 || pos >= in[a] {
						ok = false
					} else {
						off = off*in[a] + pos
					}
				}
				if inPad {
					padded++
				}
				if ok {
					v := float64(x.F32()[p*isz+off])
					best = math.Max(best, v)
					sum += v
					cnt++
				}
			}
			switch {
			case isMax:
				y.F32()[p*osz+o] = float32(best)
			case includePad:
				y.F32()[p*osz+o] = float32(sum / float64(padded))
			default:
				y.F32()[p*osz+o] = float32(sum / float64(cnt))
			}
		}
	}
	return y
}

func TestPoolMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	cases := []struct {
		x             []int
		k, s, d, pads []int
		ceil          bool
	}{
		{[]int{2, 3, 9, 8}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, false},
		{[]int{1, 2, 10, 7}, []int{2, 3}, []int{3, 2}, []int{2, 1}, []int{1, 0, 0, 2}, true},
		{[]int{1, 2, 11}, []int{4}, []int{3}, []int{1}, []int{2, 1}, true},
		{[]int{1, 1, 5, 6, 4}, []int{2, 3, 2}, []int{2, 1, 2}, []int{1, 1, 1}, []int{1, 1, 0, 0, 1, 1}, false},
	}
	for _, tc := range cases {
		for _, op := range []string{"MaxPool", "AveragePool", "AveragePool+pad"} {
			t.Run(fmt.Sprintf("%s/%v/k%v", op, tc.x, tc.k), func(t *testing.T) {
				x := randF32(r, tc.x...)
				isMax, incl := op == "MaxPool", op == "AveragePool+pad"
				opType := "MaxPool"
				if !isMax {
					opType = "AveragePool"
				}
				n := mk(opType, 1, 1, aInts("kernel_shape", toI64(tc.k)...), aInts("strides", toI64(tc.s)...),
					aInts("pads", toI64(tc.pads)...), aInt("ceil_mode", boolInt(tc.ceil)), aInts("dilations", toI64(tc.d)...))
				if !isMax {
					n.Attrs["count_include_pad"] = aInt("count_include_pad", boolInt(incl))
				}
				got, err := runNodeWith(t, 12, 2, n, nil, x)
				require.NoError(t, err)
				require.NoError(t, CompareTensors(got[0], poolRef(x, tc.k, tc.s, tc.d, tc.pads, isMax, incl, tc.ceil), Tolerance{Rtol: 1e-5, Atol: 1e-6}))
			})
		}
	}
}

func TestPoolKernelChecks(t *testing.T) {
	_, err := runNodeDynamic(t, mk("MaxPool", 1, 1, aInts("kernel_shape", 5, 5)), randF32(rand.New(rand.NewSource(1)), 1, 1, 3, 3))
	require.ErrorContains(t, err, `MaxPool "n": axis 0: input size 3 with pads 0+0 is smaller than the dilated kernel 5`)
	_, err = runNodeDynamic(t, mk("GlobalMaxPool", 1, 1), f32([]int{2}, 1, 2))
	require.ErrorContains(t, err, "expected [N, C, ...]")
	_, err = runNodeDynamic(t, mk("GlobalMaxPool", 1, 1), graph.NewTensor(graph.Float32, []int{1, 1, 0}))
	require.ErrorContains(t, err, "empty spatial axes")
}

// BenchmarkMaxPool times the two pooling shapes of the benchmark models: the ResNet
// stem (3x3 stride 2, padded) and a 2x2 stride-2 pool.
func BenchmarkMaxPool(b *testing.B) {
	for _, bc := range []struct {
		name  string
		shape []int
		attrs []*graph.Attr
	}{
		{"3x3s2_64x112x112", []int{1, 64, 112, 112}, []*graph.Attr{aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 1)}},
		{"2x2s2_32x28x28", []int{1, 32, 28, 28}, []*graph.Attr{aInts("kernel_shape", 2, 2), aInts("strides", 2, 2)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			x := randF32(rand.New(rand.NewSource(1)), bc.shape...)
			n := mk("MaxPool", 1, 1, bc.attrs...)
			k, err := buildPool(true)(&BuildContext{Node: n, Opset: 12})
			require.NoError(b, err)
			ctx := &ExecContext{Threads: 1}
			b.SetBytes(int64(4 * x.Len()))
			for i := 0; i < b.N; i++ {
				if _, err := k.Run(ctx, []*graph.Tensor{x}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMaxPool2DIndicesMatchesND checks the two-axis MaxPool with Indices
// against the any-rank odometer loop (maxPoolPlaneND) on random geometries:
// strides, dilations, asymmetric pads, ceil_mode (windows wholly in the
// padding), row- and column-major indices, values with ties and NaNs, float32,
// int8 and uint8 planes.
func TestMaxPool2DIndicesMatchesND(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	for it := 0; it < 200; it++ {
		h, w := 1+rng.Intn(12), 1+rng.Intn(12)
		k := []int{1 + rng.Intn(3), 1 + rng.Intn(3)}
		d := []int{1 + rng.Intn(2), 1 + rng.Intn(2)}
		s := []int{1 + rng.Intn(3), 1 + rng.Intn(3)}
		pads := []int{rng.Intn(k[0]), rng.Intn(k[1]), rng.Intn(k[0]), rng.Intn(k[1])}
		ceil := rng.Intn(2) == 1
		n := mk("MaxPool", 1, 2, aInts("kernel_shape", toI64(k)...), aInts("strides", toI64(s)...), aInts("dilations", toI64(d)...),
			aInts("pads", toI64(pads)...), aInt("ceil_mode", boolInt(ceil)))
		geom, err := graph.ResolveConvGeom(n, []int{h, w}, k, ceil)
		if err != nil || geom.Out[0] <= 0 || geom.Out[1] <= 0 {
			continue
		}
		p := newPoolPlan([]int{h, w}, geom)
		p.storageCols = rng.Intn(2) == 1
		name := fmt.Sprintf("%dx%d k%v s%v d%v pads%v ceil %v cols %v", h, w, k, s, d, pads, ceil, p.storageCols)
		xf := make([]float32, h*w)
		xi := make([]int8, h*w)
		xu := make([]uint8, h*w)
		for i := range xf {
			xf[i] = float32(rng.Intn(5)) // ties
			if rng.Intn(15) == 0 {
				xf[i] = float32(math.NaN())
			}
			xi[i], xu[i] = int8(rng.Intn(7)-3), uint8(rng.Intn(4))
		}
		base := int64(rng.Intn(100))
		checkMaxPool2DIdx(t, p, xf, base, name+" float32")
		checkMaxPool2DIdx(t, p, xi, base, name+" int8")
		checkMaxPool2DIdx(t, p, xu, base, name+" uint8")
	}
}

func checkMaxPool2DIdx[T poolElem](t *testing.T, p *poolPlan, x []T, base int64, name string) {
	t.Helper()
	y, idx := make([]T, p.outSize), make([]int64, p.outSize)
	wy, widx := make([]T, p.outSize), make([]int64, p.outSize)
	maxPool2DIdx(p, x, y, idx, base)
	maxPoolPlaneND(p, x, wy, widx, base)
	require.Equal(t, widx, idx, name)
	for i := range y {
		// NaN != NaN: compare bits through fmt.
		require.Equal(t, fmt.Sprint(wy[i]), fmt.Sprint(y[i]), "%s output %d", name, i)
	}
}

// TestMaxPool3DMatchesND checks the three-axis MaxPool, with and without
// Indices, against the any-rank odometer loop (maxPoolPlaneND) on random
// geometries: strides, dilations, asymmetric pads, ceil_mode (windows wholly
// in the padding), row- and column-major indices, ties and NaNs, float32,
// int8 and uint8 volumes.
func TestMaxPool3DMatchesND(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	for it := 0; it < 150; it++ {
		in := []int{1 + rng.Intn(6), 1 + rng.Intn(7), 1 + rng.Intn(7)}
		var k, d, s, pads []int
		for a := 0; a < 3; a++ {
			k = append(k, 1+rng.Intn(3))
			d = append(d, 1+rng.Intn(2))
			s = append(s, 1+rng.Intn(3))
		}
		for a := 0; a < 6; a++ {
			pads = append(pads, rng.Intn(k[a%3]))
		}
		ceil := rng.Intn(2) == 1
		n := mk("MaxPool", 1, 2, aInts("kernel_shape", toI64(k)...), aInts("strides", toI64(s)...), aInts("dilations", toI64(d)...),
			aInts("pads", toI64(pads)...), aInt("ceil_mode", boolInt(ceil)))
		geom, err := graph.ResolveConvGeom(n, in, k, ceil)
		if err != nil || geom.Out[0] <= 0 || geom.Out[1] <= 0 || geom.Out[2] <= 0 {
			continue
		}
		p := newPoolPlan(in, geom)
		p.storageCols = rng.Intn(2) == 1
		name := fmt.Sprintf("%v k%v s%v d%v pads%v ceil %v cols %v", in, k, s, d, pads, ceil, p.storageCols)
		size := in[0] * in[1] * in[2]
		xf, xi, xu := make([]float32, size), make([]int8, size), make([]uint8, size)
		for i := range xf {
			xf[i] = float32(rng.Intn(5)) // ties
			if rng.Intn(15) == 0 {
				xf[i] = float32(math.NaN())
			}
			xi[i], xu[i] = int8(rng.Intn(7)-3), uint8(rng.Intn(4))
		}
		base := int64(rng.Intn(100))
		checkMaxPool3D(t, p, xf, base, name+" float32")
		checkMaxPool3D(t, p, xi, base, name+" int8")
		checkMaxPool3D(t, p, xu, base, name+" uint8")
	}
}

func checkMaxPool3D[T poolElem](t *testing.T, p *poolPlan, x []T, base int64, name string) {
	t.Helper()
	y, idx := make([]T, p.outSize), make([]int64, p.outSize)
	wy, widx := make([]T, p.outSize), make([]int64, p.outSize)
	maxPool3D(p, x, y, idx, base)
	maxPoolPlaneND(p, x, wy, widx, base)
	require.Equal(t, widx, idx, name)
	y2 := make([]T, p.outSize)
	maxPool3D(p, x, y2, nil, base)
	for i := range y {
		// NaN != NaN: compare bits through fmt.
		require.Equal(t, fmt.Sprint(wy[i]), fmt.Sprint(y[i]), "%s output %d", name, i)
		require.Equal(t, fmt.Sprint(wy[i]), fmt.Sprint(y2[i]), "%s output %d without Indices", name, i)
	}
}

// TestMaxPoolOneTapIndices checks the pool of one tap with Indices (the
// plane offsets of torch.onnx's max_pool(return_indices=True) export): the
// values are the input and Indices count the positions, row-major and, with
// storage_order 1, column-major within each plane; 2-D and 3-D, 1 and 2
// threads.
func TestMaxPoolOneTapIndices(t *testing.T) {
	r := rand.New(rand.NewSource(29))
	for _, shape := range [][]int{{2, 3, 4, 5}, {1, 8, 3, 4, 5}} {
		for _, cols := range []int{0, 1} {
			for _, threads := range []int{1, 2} {
				rank := len(shape) - 2
				ones := make([]int64, rank)
				for i := range ones {
					ones[i] = 1
				}
				n := mk("MaxPool", 1, 2, aInts("kernel_shape", ones...), aInts("strides", ones...), aInt("storage_order", int64(cols)))
				x := randF32(r, shape...)
				got, err := runNodeWith(t, 12, threads, n, nil, x)
				require.NoError(t, err)
				require.Equal(t, x.F32(), got[0].F32())
				plane := graph.NumElements(shape[2:])
				sp := shape[2:]
				want := make([]int64, graph.NumElements(shape))
				for i := range want {
					p, q := i/plane, i%plane
					if cols == 0 {
						want[i] = int64(i)
						continue
					}
					// row-major q → column-major position
					c, stride := 0, 1
					coord := make([]int, rank)
					for a := rank - 1; a >= 0; a-- {
						coord[a] = q % sp[a]
						q /= sp[a]
					}
					for a := 0; a < rank; a++ {
						c += coord[a] * stride
						stride *= sp[a]
					}
					want[i] = int64(p*plane + c)
				}
				require.Equal(t, want, got[1].I64(), "%v storage_order %d threads %d", shape, cols, threads)
			}
		}
	}
}
