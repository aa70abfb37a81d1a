package kernels

// The batch-normalization passes of a Conv+BatchNormalization trained with
// batch statistics (package qat, ops_convbn.go): per channel, the statistics of
// the convolution output, the normalization, the sums of the backward pass and
// the gradient back to the convolution output. The sums are float64 in eight
// lanes, element i of a slice going to lane i mod 8 (BNLanes), so that the AVX2
// assembly (kernels/_gen/gen_qatew.go) on the 8-aligned prefix and the Go code
// below on the tail, or on everything on the pure-Go path, give the same bits.
// Products and differences are float32, rounded one operation at a time.

// BNLanes are eight float64 lane sums of one quantity followed by eight of a
// second one. Calls on consecutive slices continue the lanes (each slice starts
// again at lane 0); Sum1 and Sum2 reduce them in a fixed order.
type BNLanes [16]float64

// Sum1 is the first quantity's total.
func (a *BNLanes) Sum1() float64 { return laneSum8(a[:8]) }

// Sum2 is the second quantity's total.
func (a *BNLanes) Sum2() float64 { return laneSum8(a[8:]) }

func laneSum8(l []float64) float64 {
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

// BNStatsF32 sets u[i] = c[i]/s + b and adds u[i] and u[i]² to the lanes of acc.
// len(u) >= len(c).
func BNStatsF32(c, u []float32, s, b float32, acc *BNLanes) {
	u = u[:len(c)]
	v := bnStatsF32Vec(c, u, s, b, acc)
	bnStatsF32Go(c[v:], u[v:], s, b, acc)
}

func bnStatsF32Go(c, u []float32, s, b float32, acc *BNLanes) {
	u = u[:len(c)]
	for i, e := range c {
		x := e/s + b
		u[i] = x
		w := float64(x)
		acc[i&7] += w
		acc[8+i&7] += float64(w * w)
	}
}

// BNNormF32 normalizes u in place, u[i] = (u[i]-mean)·inv, and sets
// y[i] = gm·u[i] + bt. len(y) >= len(u).
func BNNormF32(u, y []float32, mean, inv, gm, bt float32) {
	y = y[:len(u)]
	v := bnNormF32Vec(u, y, mean, inv, gm, bt)
	bnNormF32Go(u[v:], y[v:], mean, inv, gm, bt)
}

func bnNormF32Go(u, y []float32, mean, inv, gm, bt float32) {
	y = y[:len(u)]
	for i, e := range u {
		xh := (e - mean) * inv
		u[i] = xh
		y[i] = float32(gm*xh) + bt
	}
}

// BNGradSumsF32 adds d[i] and the float32 product d[i]·xh[i] to the lanes of
// acc. len(xh) >= len(d).
func BNGradSumsF32(d, xh []float32, acc *BNLanes) {
	xh = xh[:len(d)]
	v := bnGradSumsF32Vec(d, xh, acc)
	bnGradSumsF32Go(d[v:], xh[v:], acc)
}

func bnGradSumsF32Go(d, xh []float32, acc *BNLanes) {
	xh = xh[:len(d)]
	for i, e := range d {
		acc[i&7] += float64(e)
		acc[8+i&7] += float64(e * xh[i])
	}
}

// BNGradInputF32 computes e = k·((d[i]-a1) - xh[i]·a2), adds e and the float32
// product e·c[i] to the lanes of acc and sets dc[i] = e/s: the gradient through
// a batch normalization (k = gamma/σ, a1 and a2 the means of d and d·xh) to a
// convolution output c that was divided by s before it. len(xh), len(c),
// len(dc) >= len(d).
func BNGradInputF32(d, xh, c, dc []float32, k, a1, a2, s float32, acc *BNLanes) {
	xh, c, dc = xh[:len(d)], c[:len(d)], dc[:len(d)]
	v := bnGradInputF32Vec(d, xh, c, dc, k, a1, a2, s, acc)
	bnGradInputF32Go(d[v:], xh[v:], c[v:], dc[v:], k, a1, a2, s, acc)
}

func bnGradInputF32Go(d, xh, c, dc []float32, k, a1, a2, s float32, acc *BNLanes) {
	xh, c, dc = xh[:len(d)], c[:len(d)], dc[:len(d)]
	for i, g := range d {
		e := k * ((g - a1) - float32(xh[i]*a2))
		acc[i&7] += float64(e)
		acc[8+i&7] += float64(e * c[i])
		dc[i] = e / s
	}
}
