package kernels

import (
	"fmt"
	"math"
)

// Pool3DShape describes an NDHWC pooling window: kernel, strides and
// dilations per axis (depth, height, width; zero means 1 for strides and
// dilations) and pads (front, top, left, back, bottom, right).
type Pool3DShape struct {
	N, D, H, W, C   int
	K, Stride, Dil  [3]int
	Pads            [6]int
	CountIncludePad bool
}

func (s Pool3DShape) norm() Pool3DShape {
	for i := range 3 {
		s.Stride[i], s.Dil[i] = max(s.Stride[i], 1), max(s.Dil[i], 1)
	}
	return s
}

// Out is the output depth, height and width (floor mode: a caller in ceil
// mode adds the extra to the end pads, as for PoolShape).
func (s Pool3DShape) Out() (od, oh, ow int) {
	s = s.norm()
	return outDim(s.D, s.Pads[0], s.Pads[3], s.K[0], s.Dil[0], s.Stride[0]),
		outDim(s.H, s.Pads[1], s.Pads[4], s.K[1], s.Dil[1], s.Stride[1]),
		outDim(s.W, s.Pads[2], s.Pads[5], s.K[2], s.Dil[2], s.Stride[2])
}

// Validate checks the shape.
func (s Pool3DShape) Validate() error {
	if s.N <= 0 || s.D <= 0 || s.H <= 0 || s.W <= 0 || s.C <= 0 || s.K[0] <= 0 || s.K[1] <= 0 || s.K[2] <= 0 {
		return fmt.Errorf("kernels: bad 3-D pool shape %+v", s)
	}
	for i := range 3 {
		if s.Stride[i] < 0 || s.Dil[i] < 0 || s.Pads[i] < 0 || s.Pads[3+i] < 0 {
			return fmt.Errorf("kernels: negative stride/dilation/pad in 3-D pool shape %+v", s)
		}
	}
	if od, oh, ow := s.Out(); od <= 0 || oh <= 0 || ow <= 0 {
		return fmt.Errorf("kernels: 3-D pool window larger than padded input %+v", s)
	}
	return nil
}

// plane is the 2-D pool of one depth plane with the height and width window.
func (s Pool3DShape) plane(n int) PoolShape {
	return PoolShape{N: n, H: s.H, W: s.W, C: s.C, KH: s.K[1], KW: s.K[2], StrideH: s.Stride[1], StrideW: s.Stride[2],
		PadTop: s.Pads[1], PadLeft: s.Pads[2], PadBottom: s.Pads[4], PadRight: s.Pads[5], DilH: s.Dil[1], DilW: s.Dil[2],
		CountIncludePad: s.CountIncludePad}
}

// QAvgPool3D is int8 NDHWC average pooling, with QAvgPool's definition in
// three dimensions: acc = Σ (q − inZP) over the window positions inside the
// input, count = the positions inside the input (inside the padded input when
// CountIncludePad), out = clamp(roundHalfToEven(acc · inScale / (outScale ·
// count)) + outZP) in float64; a window with nothing counted is outZP.
//
// A window of depth 1 (the (1, k, k) pools of video networks) is the 2-D
// pool of the plane it reads, on QAvgPool's vector kernels: one call over all
// N·D planes when the depth stride is 1 without depth padding. Deeper windows
// are separable: the int32 sum of the window's depth planes (sumPixelsI8,
// the planes dilation·H·W·C apart), then the height/width window over it.
func QAvgPool3D(s Pool3DShape, in []int8, inScale float32, inZP int32, out []int8, outScale float32, outZP int32, threads int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	s = s.norm()
	od, oh, ow := s.Out()
	plane, oplane := s.H*s.W*s.C, oh*ow*s.C
	if len(in) < s.N*s.D*plane || len(out) < s.N*od*oplane {
		panic(fmt.Sprintf("kernels: 3-D pool buffers too small for %+v", s))
	}
	zero := int8(max(-128, min(127, outZP)))
	if s.K[0] == 1 {
		if s.Stride[0] == 1 && s.Pads[0] == 0 && od == s.D {
			QAvgPool(s.plane(s.N*s.D), in, inScale, inZP, out, outScale, outZP, threads)
			return
		}
		p2 := s.plane(1)
		for n := 0; n < s.N; n++ {
			for z := 0; z < od; z++ {
				dst := out[(n*od+z)*oplane : (n*od+z+1)*oplane]
				iz := z*s.Stride[0] - s.Pads[0]
				if iz < 0 || iz >= s.D {
					// A slice in the depth padding: a sum of 0 whatever is counted.
					for i := range dst {
						dst[i] = zero
					}
					continue
				}
				QAvgPool(p2, in[(n*s.D+iz)*plane:(n*s.D+iz+1)*plane], inScale, inZP, dst, outScale, outZP, threads)
			}
		}
		return
	}
	counted := func(i, n, padA, padB int) bool {
		return i >= 0 && i < n || s.CountIncludePad && i >= -padA && i < n+padB
	}
	parallelFor(s.N*od, 1, resolveThreads(threads), func(lo, hi int) {
		acc := make([]int32, plane)
		sum := make([]int32, s.C)
		for r := lo; r < hi; r++ {
			n, z := r/od, r%od
			dst := out[r*oplane : (r+1)*oplane]
			// Depth: the valid taps, their first plane and the count.
			t0, t1 := validTaps(z*s.Stride[0]-s.Pads[0], s.Dil[0], s.K[0], s.D)
			cntD := 0
			for t := 0; t < s.K[0]; t++ {
				if counted(z*s.Stride[0]-s.Pads[0]+t*s.Dil[0], s.D, s.Pads[0], s.Pads[3]) {
					cntD++
				}
			}
			if t1 <= t0 {
				for i := range dst {
					dst[i] = zero
				}
				continue
			}
			clear(acc)
			iz0 := z*s.Stride[0] - s.Pads[0] + t0*s.Dil[0]
			sumPixelsI8(acc, in[(n*s.D+iz0)*plane:], t1-t0, s.Dil[0]*plane)
			taps := int32(t1 - t0)
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					clear(sum)
					cnt, inside := 0, int32(0)
					for kh := 0; kh < s.K[1]; kh++ {
						ih := y*s.Stride[1] - s.Pads[1] + kh*s.Dil[1]
						for kw := 0; kw < s.K[2]; kw++ {
							iw := x*s.Stride[2] - s.Pads[2] + kw*s.Dil[2]
							if counted(ih, s.H, s.Pads[1], s.Pads[4]) && counted(iw, s.W, s.Pads[2], s.Pads[5]) {
								cnt++
							}
							if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
								continue
							}
							inside++
							for c, v := range acc[(ih*s.W+iw)*s.C:][:s.C] {
								sum[c] += v
							}
						}
					}
					d := dst[(y*ow+x)*s.C:][:s.C]
					count := cnt * cntD
					if count == 0 {
						for c := range d {
							d[c] = zero
						}
						continue
					}
					f := float64(inScale) / (float64(outScale) * float64(count))
					off := inside * taps * inZP
					for c := range d {
						v := math.RoundToEven(float64(sum[c]-off)*f) + float64(outZP)
						d[c] = int8(math.Max(-128, math.Min(127, v)))
					}
				}
			}
		}
	})
}
