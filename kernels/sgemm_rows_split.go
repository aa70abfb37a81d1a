package kernels

// How SgemmRows divides its output among threads, and how it applies the
// activation to a finished block.

// rowsItemsPerThread is the number of work items SgemmRows aims at per
// thread when it has more than one: items are claimed one at a time, so a
// thread that starts late (a worker woken from sleep, or descheduled) still
// gets a share. On a small map (7x7, 14x14: one block of row tiles) the items
// are blocks of weight panels, that is of output channels.
const rowsItemsPerThread = 4

// rowsTileBlock returns the number of row tiles per work item, given qb, the
// most that fit the L2 budget. Above one thread, when the weights are small
// (a 1x1 convolution of few input channels on a large map: 24 → 144 on 56x56)
// the rows are split first, into rowsItemsPerThread items per thread, so that
// the items keep whole rows of C: split by panels instead, every row of every
// item took its activation in a call of its own, and SiLU's calls alone made
// the 2-thread product slower than the 1-thread one. Large weights (a 7x7
// map's 320 → 1280 projection) still split by panels, so that each thread
// streams its own part of the weights once.
func rowsTileBlock(tiles, qb, k, n, threads int) int {
	want := rowsItemsPerThread * threads
	if threads <= 1 || (tiles+qb-1)/qb >= want || tiles < want || 4*k*n > sgRowsL2 {
		return qb
	}
	return (tiles + want - 1) / want
}

// rowsPanelBlock returns the number of weight panels per work item of a
// product of qblocks row blocks by panels panels. On one thread the panels
// are not split: there is nobody to balance with, and an item per row block
// keeps the rows of a block whole, which is what the activation pass wants
// (one call over contiguous rows instead of one per row and panel block:
// a 224x224 stem's 32 output channels were two 16-wide blocks, and SiLU ran
// in 16-float calls). On more threads panels are halved until there are
// rowsItemsPerThread items per thread, as before.
func rowsPanelBlock(qblocks, panels, threads int) int {
	if threads <= 1 {
		return panels
	}
	pbk := panels
	for qblocks*((panels+pbk-1)/pbk) < rowsItemsPerThread*threads && pbk > 1 {
		pbk = (pbk + 1) / 2
	}
	return pbk
}

// activate applies the call's activation to rows [r0, r1) and columns
// [c0, c1) of C, all final. When those columns are whole rows of C the block
// is one contiguous run and takes one call: per row, a 16- or 32-wide block
// (a stem's 32 output channels split in two panel blocks) spent more in the
// call than in the arithmetic.
func (rc *rowsCall) activate(r0, r1, c0, c1 int) {
	if r0 >= r1 {
		return
	}
	// ActF32 gives an element the same result wherever it sits (its tail
	// runs the vector kernel too), so the block agrees bit for bit with the
	// one-row product, which applies it per row; narrow rows (a one-channel
	// head) need the block most.
	if c0 == 0 && c1 == rc.ldc {
		blk := rc.c[r0*rc.ldc : r1*rc.ldc]
		ActF32(rc.act, blk, blk)
		return
	}
	for r := r0; r < r1; r++ {
		row := rc.c[r*rc.ldc+c0 : r*rc.ldc+c1]
		ActF32(rc.act, row, row)
	}
}
