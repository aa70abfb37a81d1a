package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// BinBlockF32 against its Go reference and against a per-element definition,
// on every dispatch path: all operators and column modes, row widths around
// the vector widths (masked tails), repeated rows (row stride 0), padded row
// strides, special values (NaN, ±Inf, ±0, subnormals), and nothing written
// past the block.

func bitsEqualF32(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

func binF32Def(op BinOp, a, b float32) float32 {
	switch op {
	case BinAdd:
		return a + b
	case BinSub:
		return a - b
	case BinMul:
		return a * b
	}
	return a / b
}

func TestBinBlockF32EveryPath(t *testing.T) {
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0,
		float32(math.Copysign(0, -1)), 1e-45, -3e-39, 3.4e38, 1}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 15))
		for it := 0; it < 3000; it++ {
			op := BinOp(r.IntN(4))
			xi, yi := 1, 1
			switch r.IntN(3) {
			case 1:
				yi = 0
			case 2:
				xi = 0
			}
			if r.IntN(40) == 0 {
				xi, yi = 0, 0
			}
			w := 1 + r.IntN(70)
			if r.IntN(8) == 0 {
				w = 1 + r.IntN(600)
			}
			rows := 1 + r.IntN(6)
			rowStride := func(i int) int {
				switch r.IntN(3) {
				case 0:
					return 0
				case 1:
					return max(1, i*w)
				}
				return i*(w-1) + 1 + r.IntN(5)
			}
			xs, ys := rowStride(xi), rowStride(yi)
			x := randF32(r, (rows-1)*xs+(w-1)*xi+1)
			y := randF32(r, (rows-1)*ys+(w-1)*yi+1)
			for _, v := range [][]float32{x, y} {
				for k := 0; k < len(v)/10; k++ {
					v[r.IntN(len(v))] = special[r.IntN(len(special))]
				}
			}
			const guard = 19
			got := make([]float32, rows*w+guard)
			for i := range got {
				got[i] = 12345
			}
			BinBlockF32(op, got[:rows*w], x, xs, xi, y, ys, yi, w, rows)
			want := make([]float32, rows*w)
			binBlockF32Go(op, want, x, xs, xi, y, ys, yi, w, rows)
			for rr := 0; rr < rows; rr++ {
				for i := 0; i < w; i++ {
					def := binF32Def(op, x[rr*xs+i*xi], y[rr*ys+i*yi])
					k := rr*w + i
					if !bitsEqualF32(def, want[k]) || !bitsEqualF32(def, got[k]) {
						require.Failf(t, "mismatch", "op %d mode %d,%d block %dx%d strides %d,%d row %d col %d: %v op %v = %v, reference %v, got %v",
							op, xi, yi, rows, w, xs, ys, rr, i, x[rr*xs+i*xi], y[rr*ys+i*yi], def, want[k], got[k])
					}
				}
			}
			for _, v := range got[rows*w:] {
				require.Equal(t, float32(12345), v, "written past the block")
			}
		}
	})
}

func TestBinBlockF32InPlace(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, w := range []int{1, 7, 8, 15, 16, 17, 33, 100} {
			x, y := randF32(r, 3*w), randF32(r, w)
			want := make([]float32, 3*w)
			binBlockF32Go(BinMul, want, x, w, 1, y, 0, 1, w, 3)
			BinBlockF32(BinMul, x, x, w, 1, y, 0, 1, w, 3)
			require.Equal(t, want, x, "w %d", w)
		}
	})
}

func TestBinBlockF32RejectsShortOperands(t *testing.T) {
	require.Panics(t, func() {
		BinBlockF32(BinAdd, make([]float32, 8), make([]float32, 7), 4, 1, make([]float32, 4), 0, 1, 4, 2)
	})
	require.Panics(t, func() {
		BinBlockF32(BinAdd, make([]float32, 8), make([]float32, 8), 4, 2, make([]float32, 4), 0, 1, 4, 2)
	})
	require.NotPanics(t, func() {
		BinBlockF32(BinAdd, nil, nil, 0, 1, nil, 0, 1, 0, 3)
	})
}

func BenchmarkBinBlockF32(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name       string
		w, rows    int
		xs, xi, ys int
		yi         int
	}{
		{"outer32x8", 8, 32, 1, 0, 0, 1},
		{"rows200x56", 56, 200, 0, 1, 56, 1},
		{"same4096", 4096, 1, 0, 1, 0, 1},
	} {
		x := randF32(r, (c.rows-1)*c.xs+(c.w-1)*c.xi+1)
		y := randF32(r, (c.rows-1)*c.ys+(c.w-1)*c.yi+1)
		dst := make([]float32, c.rows*c.w)
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				BinBlockF32(BinSub, dst, x, c.xs, c.xi, y, c.ys, c.yi, c.w, c.rows)
			}
		})
		b.Run(c.name+"/go", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				binBlockF32Go(BinSub, dst, x, c.xs, c.xi, y, c.ys, c.yi, c.w, c.rows)
			}
		})
	}
}

func TestDequantBytesF32EveryPath(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		src := make([]byte, 256*3+37)
		for i := range src {
			src[i] = byte(i * 7)
		}
		for _, c := range []struct {
			u8    bool
			zp    int32
			scale float32
		}{{false, 0, 0.0123}, {false, -128, 3.7e-5}, {false, 127, 1}, {true, 0, 0.02}, {true, 255, 0.5}, {true, 131, 1e-30}} {
			for _, n := range []int{0, 1, 31, 32, 63, 64, 65, 200, len(src)} {
				got := make([]float32, n+3)
				DequantBytesF32(got[:n], src[:n], c.u8, c.zp, c.scale)
				for i := 0; i < n; i++ {
					q := int32(int8(src[i]))
					if c.u8 {
						q = int32(src[i])
					}
					want := float32(q-c.zp) * c.scale
					require.Equal(t, math.Float32bits(want), math.Float32bits(got[i]), "%+v n %d element %d", c, n, i)
				}
				require.Equal(t, []float32{0, 0, 0}, got[n:])
			}
		}
	})
}
