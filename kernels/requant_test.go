package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigMBQM is an independent big-integer model of TFLite's double rounding:
// SRDHM rounds a·b/2^31 to nearest with ties towards +inf (gemmlowp's nudge and
// truncating division), then the right shift rounds ties away from zero.
func bigMBQM(x, mult, shift int32) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = int(shift)
	} else {
		right = int(-shift)
	}
	a := int32(uint32(x) << uint(left)) // TFLite's int32 multiplication wraps
	if a == math.MinInt32 && mult == math.MinInt32 {
		return roundShiftAway(math.MaxInt32, right)
	}
	ab := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(mult)))
	// floor((ab + 2^30) / 2^31)
	ab.Add(ab, big.NewInt(1<<30))
	q := new(big.Int)
	q.Div(ab, big.NewInt(1<<31)) // Euclidean division == floor for positive divisor
	return roundShiftAway(int32(q.Int64()), right)
}

func roundShiftAway(x int32, e int) int32 {
	if e == 0 {
		return x
	}
	r := new(big.Rat).SetFrac(big.NewInt(int64(x)), new(big.Int).Lsh(big.NewInt(1), uint(e)))
	f, _ := r.Float64()
	// exact: |x| < 2^31, e <= 31, so x/2^e is exactly representable in float64
	if f >= 0 {
		return int32(math.Floor(f + 0.5))
	}
	return -int32(math.Floor(-f + 0.5))
}

func TestSRDHMEdgeCases(t *testing.T) {
	cases := []struct{ a, b, want int32 }{
		{math.MinInt32, math.MinInt32, math.MaxInt32},
		{math.MaxInt32, math.MaxInt32, math.MaxInt32 - 1},
		{math.MinInt32, math.MaxInt32, -math.MaxInt32},
		{1 << 30, 1 << 30, 1 << 29},
		{-(1 << 30), 1, 0},  // -2^30/2^31 = -0.5 -> ties towards +inf -> 0
		{1 << 30, 1, 1},     // +0.5 -> 1
		{-(3 << 29), 2, -1}, // -1.5 -> -1
		{0, math.MinInt32, 0},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, SaturatingRoundingDoublingHighMul(c.a, c.b), "SRDHM(%d,%d)", c.a, c.b)
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	cases := []struct{ x, e, want int32 }{
		{5, 1, 3}, {-5, 1, -3}, {4, 1, 2}, {-4, 1, -2}, {7, 2, 2}, {-6, 2, -2}, {6, 2, 2},
		{math.MaxInt32, 31, 1}, {math.MinInt32, 31, -1}, {math.MinInt32, 0, math.MinInt32}, {-1, 31, 0}, {1 << 30, 31, 1},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, RoundingDivideByPOT(c.x, c.e), "RDBPOT(%d,%d)", c.x, c.e)
	}
}

func TestMultiplyByQuantizedMultiplierVsBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, math.MinInt32 + 1, 1 << 30, -(1 << 30), 12345, -12345}
	mults := []int32{0, 1, 1 << 30, math.MaxInt32, math.MinInt32, 1518500250, -(1 << 30)}
	for i := 0; i < 200; i++ {
		xs = append(xs, int32(r.Uint32()))
		mults = append(mults, int32(r.Uint32()))
	}
	for _, x := range xs {
		for _, m := range mults {
			for _, sh := range []int32{-31, -30, -20, -8, -1, 0, 1, 5, 30} {
				if !assert.Equal(quietT{}, bigMBQM(x, m, sh), MultiplyByQuantizedMultiplier(x, m, sh)) {
					require.Equal(t, bigMBQM(x, m, sh), MultiplyByQuantizedMultiplier(x, m, sh), "x=%d m=%d shift=%d", x, m, sh)
				}
			}
		}
	}
}

func TestQuantizeMultiplier(t *testing.T) {
	cases := []struct {
		m           float64
		mult, shift int32
	}{
		{0, 0, 0},
		{0.5, 1 << 30, 0},
		{1, 1 << 30, 1},
		{0.25, 1 << 30, -1},
		{1.0 / 3, 1431655765, -1},
		{math.Ldexp(0.75, -40), 0, 0},        // exponent < -31 -> (0,0)
		{math.Ldexp(1-1e-12, 0), 1 << 30, 1}, // q rounds to 2^31 -> halved, shift++
		{math.Ldexp(0.5, -30), 1 << 30, -30},
		{1e12, math.MaxInt32, 30},
	}
	for _, c := range cases {
		mult, shift := QuantizeMultiplier(c.m)
		assert.Equal(t, c.mult, mult, "mult(%g)", c.m)
		assert.Equal(t, c.shift, shift, "shift(%g)", c.m)
	}
	// round trip accuracy
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1000; i++ {
		m := math.Exp(r.Float64()*30 - 20)
		mult, shift := QuantizeMultiplier(m)
		got := float64(mult) * math.Ldexp(1, int(shift)-31)
		assert.InDelta(t, 1, got/m, 1e-9)
	}
}

func TestRequantizeFloatRounding(t *testing.T) {
	// half to even on exact halves
	assert.Equal(t, int8(2), RequantizeFloat(5, 0.5, 0, -128, 127))
	assert.Equal(t, int8(-2), RequantizeFloat(-5, 0.5, 0, -128, 127))
	assert.Equal(t, int8(4), RequantizeFloat(7, 0.5, 0, -128, 127))
	assert.Equal(t, int8(127), RequantizeFloat(math.MaxInt32, 1, 0, -128, 127))
	assert.Equal(t, int8(-128), RequantizeFloat(math.MinInt32, 1, 0, -128, 127))
	assert.Equal(t, int8(10), RequantizeFloat(-1000, 0.01, 10, 10, 127)) // relu clamp at zp
	// fixed point: ties away from zero in the final shift
	assert.Equal(t, int8(3), RequantizeFixedPoint(5, 1<<30, 0, 0, -128, 127))
	assert.Equal(t, int8(-2), RequantizeFixedPoint(-5, 1<<30, 0, 0, -128, 127))  // SRDHM: -2.5 -> -2 (ties towards +inf)
	assert.Equal(t, int8(-2), RequantizeFixedPoint(-6, 1<<30, -1, 0, -128, 127)) // -3 >> 1: -1.5 -> -2 (away from zero)
	assert.Equal(t, int8(2), RequantizeFixedPoint(6, 1<<30, -1, 0, -128, 127))
	assert.Equal(t, int8(-128), RequantizeFixedPoint(math.MinInt32, math.MaxInt32, 0, 0, -128, 127))
	assert.Equal(t, int8(127), RequantizeFixedPoint(100, 1<<30, 1, 100, -128, 127)) // no wrap when adding zp
}

// TestRequantRowPaths checks the vectorised requantization rows against the
// scalar reference on every path, including extreme accumulators.
func TestRequantRowPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 77
	acc := randI32(r, n*9, 1<<20)
	specials := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, math.MinInt32 + 1, 1 << 30, -(1 << 30), 1<<24 + 1, -(1<<24 + 1)}
	copy(acc, specials)
	copy(acc[n:], specials)
	scales := make([]float64, n)
	for i := range scales {
		scales[i] = math.Exp(r.Float64()*14 - 12)
	}
	scales[0], scales[1], scales[2] = 1, 0.5, 3.5
	forEachPath(t, func(t *testing.T) {
		for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
			for _, zp := range []int32{0, -128, 127, 7} {
				rq := NewRequant(mode, scales, zp, -128, 127)
				if zp == 7 {
					rq.Min, rq.Max = 7, 100
				}
				// a raw (non-normalised) multiplier to exercise SRDHM saturation
				rq.Multiplier[3], rq.Shift[3] = math.MinInt32, 0
				rq.Shift[4] = 5
				p := rq.expand(n)
				got := make([]int8, len(acc))
				for row := 0; row < len(acc)/n; row++ {
					p.row(acc[row*n:(row+1)*n], got[row*n:(row+1)*n], 0)
				}
				if !assert.Equal(quietT{}, refRequant(acc, n, rq), got) {
					require.Equal(t, refRequant(acc, n, rq), got, "mode=%v zp=%d", mode, zp)
				}
			}
		}
	})
}

// TestRequantRows checks Requant.Rows and RowsTo (rows apart in the
// output), per-tensor and per-channel, against the scalar reference on every
// dispatch path, for row lengths below, at and past the vector width.
func TestRequantRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	forEachPath(t, func(t *testing.T) {
		for _, n := range []int{1, 7, 8, 16, 49, 77} {
			acc := randI32(r, n*5, 1<<20)
			for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
				for _, perChannel := range []bool{false, true} {
					scales := []float64{0.0031}
					if perChannel {
						scales = make([]float64, n)
						for i := range scales {
							scales[i] = math.Exp(r.Float64()*10 - 9)
						}
					}
					rq := NewRequant(mode, scales, 3, -128, 127)
					got := make([]int8, len(acc))
					rq.Rows(acc, got, n)
					want := make([]int8, len(acc))
					for i, v := range acc {
						want[i] = rq.Apply(v, i%n)
					}
					if !assert.Equal(quietT{}, want, got) {
						require.Equal(t, want, got, "n=%d mode=%v per-channel=%v", n, mode, perChannel)
					}
					// RowsTo: the same rows n+3 apart, the gaps untouched.
					ld := n + 3
					to := make([]int8, 5*ld)
					for i := range to {
						to[i] = 99
					}
					rq.RowsTo(acc, n, to, ld)
					for i := range to {
						w := int8(99)
						if i%ld < n {
							w = want[i/ld*n+i%ld]
						}
						if !assert.Equal(quietT{}, w, to[i]) {
							require.Equal(t, w, to[i], "RowsTo n=%d mode=%v per-channel=%v i=%d", n, mode, perChannel, i)
						}
					}
					// ForRows: the same codes from the expanded snapshot.
					fr := rq.ForRows(n)
					require.Equal(t, n, fr.N())
					got2 := make([]int8, len(acc))
					fr.Rows(acc, got2)
					require.Equal(t, want, got2, "ForRows n=%d", n)
					to2 := make([]int8, 5*ld)
					for i := range to2 {
						to2[i] = 99
					}
					fr.RowsTo(acc, to2, ld)
					require.Equal(t, to, to2, "ForRows.RowsTo n=%d", n)
				}
			}
		}
	})
}
