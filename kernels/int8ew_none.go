//go:build !amd64 || purego || noasm

package kernels

func maxI8(dst, src []int8) { maxI8Go(dst, src) }

func lutApply(t *LUT, in, out []int8) { lutApplyGo(t, in, out) }

func (p *QBinary) apply(a, b, out []int8) { p.applyGo(a, b, out) }

func sumPixelsI8(acc []int32, src []int8, npix, stride int) { sumPixelsI8Go(acc, src, npix, stride) }

func quantizeF32Vec([]float32, float32, int32, []int8) int { return 0 }
