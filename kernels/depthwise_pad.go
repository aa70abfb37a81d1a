package kernels

import "unsafe"

// spreadChannels lays out w pixels of c channels (src) at a pixel stride of
// cp bytes in dst: output channel o of each pixel is input channel o/mult for
// o < oc, zero from oc to cp. The depthwise kernels work on 16-channel
// blocks, so every channel count that is not a multiple of 16 (ShuffleNetV2's
// 58, 116 and 232) goes through here once per input row: for a multiplier of
// one it is a copy per pixel, not a division per byte.
func spreadChannels(dst, src []int8, w, c, cp, oc, mult int) {
	if mult == 1 {
		if copyPixelsVec(dst, cp, src, c, c, cp, w) {
			return
		}
		for x := 0; x < w; x++ {
			px := dst[x*cp : (x+1)*cp]
			copy(px, src[x*c:(x+1)*c])
			clear(px[c:])
		}
		return
	}
	if mult == 2 {
		for x := 0; x < w; x++ {
			spread2(dst[x*cp:(x+1)*cp], src[x*c:(x+1)*c])
			clear(dst[x*cp+oc : (x+1)*cp])
		}
		return
	}
	for x := 0; x < w; x++ {
		px := dst[x*cp : (x+1)*cp]
		in := src[x*c : (x+1)*c]
		o := 0
		for _, v := range in {
			for m := 0; m < mult; m++ {
				px[o] = v
				o++
			}
		}
		clear(px[oc:])
	}
}

// spread2 sets dst[2i] = dst[2i+1] = src[i] (a channel multiplier of 2),
// four source bytes a word: the byte loop took 60 % of a depthwise ×2
// convolution's time (grouped_dilated's 30 → 60 channels, eighteenth session).
func spread2(dst, src []int8) {
	n := len(src)
	_ = dst[2*n-1]
	i := 0
	for ; i+4 <= n; i += 4 {
		y := uint64(*(*uint32)(unsafe.Pointer(&src[i])))
		y = (y | y<<16) & 0x0000ffff0000ffff
		y = (y | y<<8) & 0x00ff00ff00ff00ff
		*(*uint64)(unsafe.Pointer(&dst[2*i])) = y | y<<8
	}
	for ; i < n; i++ {
		dst[2*i], dst[2*i+1] = src[i], src[i]
	}
}
