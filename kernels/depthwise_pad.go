package kernels

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
