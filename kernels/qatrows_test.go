package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRowsKernels checks RowsCopyF32, RowsBiasF32, RowsAddF32, RowsSTESetF32,
// RowsSTEAccSetF32 and RowsFakeQuantF32 on every path, bit for bit against the
// scalar definitions (a copy, src + b, dst += src, STESetF32 per row, STESetF32
// of acc + src per row, the Go fake quantization per element), for row widths around the vector blocks
// (the shifted convolutions' 7, 14 and 28 among them), strides past the width,
// inputs with zeros of both signs, infinities and NaN; the floats between the
// rows and past the last one must stay as they were.
func TestRowsKernels(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 23))
		for _, w := range []int{1, 3, 7, 8, 9, 14, 16, 17, 28, 31, 32, 33, 56} {
			for _, rows := range []int{1, 2, 7} {
				t.Run(fmt.Sprintf("w%d/rows%d", w, rows), func(t *testing.T) {
					ds, ss := w+r.IntN(3), w+2+r.IntN(5)
					dlen, slen := (rows-1)*ds+w+9, (rows-1)*ss+w+9
					src := qatewInput(r, slen, 0.05, true)
					x := qatewInput(r, dlen, 0.05, true)
					old := qatewInput(r, dlen, 0.05, true)
					lo, hi := float32(-2.5), float32(3.25)
					b := float32(r.NormFloat64())
					inRow := func(i int) (int, bool) { return i / ds, i/ds < rows && i%ds < w }
					cases := []struct {
						name string
						run  func(dst []float32)
						want func(i int) float32
					}{
						{"copy", func(d []float32) { RowsCopyF32(d, ds, src, ss, w, rows) },
							func(i int) float32 { return src[i/ds*ss+i%ds] }},
						{"bias", func(d []float32) { RowsBiasF32(d, ds, src, ss, w, rows, b) },
							func(i int) float32 { return src[i/ds*ss+i%ds] + b }},
						{"add", func(d []float32) { RowsAddF32(d, ds, src, ss, w, rows) },
							func(i int) float32 { v := old[i]; v += src[i/ds*ss+i%ds]; return v }},
						{"ste", func(d []float32) { RowsSTESetF32(d, ds, src, ss, w, rows, x, lo, hi) },
							func(i int) float32 {
								var v float32
								if x[i] >= lo && x[i] <= hi {
									v += src[i/ds*ss+i%ds]
								}
								return v
							}},
					}
					for _, relu := range []bool{false, true} {
						name, scale, zp := "fq", float32(0.05), int32(-7)
						if relu {
							name, zp = "fqrelu", -128
						}
						cases = append(cases, struct {
							name string
							run  func(dst []float32)
							want func(i int) float32
						}{name, func(d []float32) { RowsFakeQuantF32(d, ds, src, ss, w, rows, scale, zp, relu) },
							func(i int) float32 {
								v := []float32{src[i/ds*ss+i%ds]}
								if relu {
									fakeQuantReluF32Go(v, v, scale, zp)
								} else {
									fakeQuantF32Go(v, v, scale, zp)
								}
								return v[0]
							}})
					}
					acc := qatewInput(r, dlen, 0.05, true)
					cases = append(cases, struct {
						name string
						run  func(dst []float32)
						want func(i int) float32
					}{"steacc", func(d []float32) { RowsSTEAccSetF32(d, ds, src, ss, w, rows, acc, x, lo, hi) },
						func(i int) float32 {
							g := acc[i]
							g += src[i/ds*ss+i%ds]
							var v float32
							if x[i] >= lo && x[i] <= hi {
								v += g
							}
							return v
						}})
					for _, c := range cases {
						dst := append([]float32(nil), old...)
						c.run(dst)
						for i := range dst {
							want := old[i]
							if _, ok := inRow(i); ok {
								want = c.want(i)
							}
							if want != want && dst[i] != dst[i] {
								continue // NaN payloads of a sum of two NaNs may differ
							}
							if !assert.Equal(quietT{}, math.Float32bits(want), math.Float32bits(dst[i])) {
								require.Equal(t, math.Float32bits(want), math.Float32bits(dst[i]), "%s: element %d", c.name, i)
							}
						}
					}
				})
			}
		}
	})
}

// TestRowsKernelsRefuseShortSlices checks that a layout that does not fit is
// refused before any memory is touched.
func TestRowsKernelsRefuseShortSlices(t *testing.T) {
	dst, src := make([]float32, 20), make([]float32, 20)
	require.Panics(t, func() { RowsCopyF32(dst, 10, src, 10, 8, 3) })
	require.Panics(t, func() { RowsAddF32(dst, 4, src, 10, 8, 2) })
	require.Panics(t, func() { RowsSTESetF32(dst, 10, src, 10, 8, 2, make([]float32, 15), 0, 1) })
	require.Panics(t, func() { RowsSTEAccSetF32(dst, 10, src, 10, 8, 2, make([]float32, 15), make([]float32, 20), 0, 1) })
	require.NotPanics(t, func() { RowsBiasF32(dst, 10, src, 10, 8, 0, 1) })
}

// TestSumF32 checks SumF32 on every path bit for bit against a Go a[i] + b[i], at
// lengths around the vector blocks, with zeros of both signs, infinities and NaN.
func TestSumF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(8, 1))
		for _, n := range []int{1, 7, 15, 16, 17, 33, 100, 1024} {
			a, b := qatewInput(r, n, 0.05, true), qatewInput(r, n, 0.05, true)
			got := make([]float32, n)
			SumF32(got, a, b)
			for i := range got {
				want := a[i] + b[i]
				if want != want && got[i] != got[i] && a[i] != a[i] && b[i] != b[i] {
					continue // two NaNs: either payload
				}
				if !assert.Equal(quietT{}, math.Float32bits(want), math.Float32bits(got[i])) {
					require.Equal(t, math.Float32bits(want), math.Float32bits(got[i]), "n %d: element %d", n, i)
				}
			}
		}
	})
}
