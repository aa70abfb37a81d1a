package runtime

// Col2Im of 2-D images (F.fold, the only rank torch exports): the generic loop
// (col2ImND) finds each column value's image position by dividing its flat
// index by the block grid and the block shape, a dozen integer divisions per
// added value; in dynamo_op18's 3x3 fold of [1, 72, 256] they were 0.21 of the
// model's 0.38 ms (TestExportedStepProfile, 1 thread). Here the positions
// advance by the stride along each block row and a row outside the image is
// skipped whole. Every image value receives its terms in the same order as in
// col2ImND (input row, then block position), so the sums are bit-identical.

func col2Im2D(threads int, out, src []float32, batch, ch int, image, block []int64, blocks []int, dil, pads, str []int64) {
	ih, iw := int(image[0]), int(image[1])
	kh, kw := int(block[0]), int(block[1])
	bh, bw := blocks[0], blocks[1]
	kb, l, img := kh*kw, bh*bw, ih*iw
	// (image, channel) planes are independent: split over them.
	th := min(threads, max(1, batch*ch*kb*l/parallelMinWork))
	parallelForGrain(th, batch*ch, 1, func(p0, p1 int) {
		for plane := p0; plane < p1; plane++ {
			dst := out[plane*img : (plane+1)*img]
			for kk := 0; kk < kb; kk++ {
				ki, kj := kk/kw, kk%kw
				in := src[(plane*kb+kk)*l:]
				x0 := kj*int(dil[1]) - int(pads[1])
				for bi := 0; bi < bh; bi++ {
					y := bi*int(str[0]) - int(pads[0]) + ki*int(dil[0])
					if y < 0 || y >= ih {
						continue
					}
					drow, row := dst[y*iw:(y+1)*iw], in[bi*bw:(bi+1)*bw]
					for bj, x := 0, x0; bj < bw; bj, x = bj+1, x+int(str[1]) {
						if uint(x) < uint(iw) {
							drow[x] += row[bj]
						}
					}
				}
			}
		}
	})
}
