package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/runtime"
)

// forwardVolume is GridSample of X [N, C, D, H, W] by grid [N, D_out, H_out,
// W_out, 3] (a 3-D registration network's warp): trilinear or nearest, on the
// runtime kernel's own taps (runtime.GridSampleVolumeTaps), summed in its order.
func (o *gridSampleOp) forwardVolume(x, y *tensor, gd []float32, gs []int) error {
	if o.mode != "bilinear" && o.mode != "nearest" {
		return fmt.Errorf("%w: GridSample mode %q of a volume", ErrNoGradient, o.mode)
	}
	N, C, D, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]
	if D == 0 || H == 0 || W == 0 {
		return fmt.Errorf("%w: GridSample of an empty volume %v", ErrNoGradient, x.shape)
	}
	P, vol := gs[1]*gs[2]*gs[3], D*H*W
	y.resize([]int{N, C, gs[1], gs[2], gs[3]})
	if cap(o.taps3) < N*P {
		o.taps3 = make([]runtime.GridTaps3, N*P)
	}
	o.taps3 = o.taps3[:N*P]
	for b := range N {
		for p := range P {
			g := gd[(b*P+p)*3:]
			t := runtime.GridSampleVolumeTaps(o.mode, o.pad, o.align, g[0], g[1], g[2], D, H, W)
			o.taps3[b*P+p] = t
			for c := range C {
				y.data[(b*C+c)*P+p] = applyTaps3(&t, x.data[(b*C+c)*vol:(b*C+c+1)*vol])
			}
		}
	}
	return nil
}

// applyTaps3 is the volume kernel's sum, in its order.
func applyTaps3(t *runtime.GridTaps3, v []float32) float32 {
	var s [8]float32
	for i := range t.Size {
		if j := t.Idx[i]; j >= 0 {
			s[i] = v[j]
		}
	}
	if t.Size == 1 {
		return s[0]
	}
	w := &t.W
	return w[4]*(w[2]*(w[0]*s[0]+w[1]*s[1])+w[3]*(w[0]*s[2]+w[1]*s[3])) +
		w[5]*(w[2]*(w[0]*s[4]+w[1]*s[5])+w[3]*(w[0]*s[6]+w[1]*s[7]))
}

// backwardVolume adds X's gradient (the trilinear weights times dY at the taps)
// and the grid's: along x, Σ wz·wy·(v[.., 1] − v[.., 0]), likewise along y and
// z, times the denormalisation's scale, zero along an axis that border padding
// clamped.
func (o *gridSampleOp) backwardVolume(n *Net, x, y *tensor) {
	N, C, D, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]
	P, vol := len(o.taps3)/max(N, 1), D*H*W
	var dg []float32
	if o.grid >= 0 {
		dg = n.vals[o.grid].grad
	}
	sx, sy, sz := float32(W)/2, float32(H)/2, float32(D)/2
	if o.align {
		sx, sy, sz = float32(W-1)/2, float32(H-1)/2, float32(D-1)/2
	}
	for b := range N {
		for p := range P {
			t := &o.taps3[b*P+p]
			wx, wy, wz := t.W[0:2], t.W[2:4], t.W[4:6]
			var gx, gy, gz float32
			for c := range C {
				g := y.grad[(b*C+c)*P+p]
				if g == 0 {
					continue
				}
				plane := x.data[(b*C+c)*vol : (b*C+c+1)*vol]
				var dplane []float32
				if x.grad != nil {
					dplane = x.grad[(b*C+c)*vol : (b*C+c+1)*vol]
				}
				if t.Size == 1 {
					if j := t.Idx[0]; j >= 0 && dplane != nil {
						dplane[j] += g
					}
					continue
				}
				var v [8]float32
				for i := range 8 {
					if j := t.Idx[i]; j >= 0 {
						v[i] = plane[j]
						if dplane != nil {
							dplane[j] += g * wz[i>>2&1] * wy[i>>1&1] * wx[i&1]
						}
					}
				}
				for i := 0; i < 8; i += 2 { // pairs along x
					gx += g * wz[i>>2&1] * wy[i>>1&1] * (v[i+1] - v[i])
				}
				for _, i := range [4]int{0, 1, 4, 5} { // pairs along y
					gy += g * wz[i>>2&1] * wx[i&1] * (v[i+2] - v[i])
				}
				for i := range 4 { // pairs along z
					gz += g * wy[i>>1&1] * wx[i&1] * (v[i+4] - v[i])
				}
			}
			if dg == nil || t.Size != 8 {
				continue
			}
			if !t.ClampX {
				dg[(b*P+p)*3] += gx * sx * t.SlopeX
			}
			if !t.ClampY {
				dg[(b*P+p)*3+1] += gy * sy * t.SlopeY
			}
			if !t.ClampZ {
				dg[(b*P+p)*3+2] += gz * sz * t.SlopeZ
			}
		}
	}
}
