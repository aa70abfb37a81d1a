package kernels

// How SgemmRows divides its output among threads, and how it applies the
// activation to a finished block.

// rowsItemsPerThread is the number of work items SgemmRows aims at per
// thread when it has more than one: items are claimed one at a time, so a
// thread that starts late (a worker woken from sleep, or descheduled) still
// gets a share. On a small map (7x7, 14x14: one block of row tiles) the items
// are blocks of weight panels, that is of output channels.
const rowsItemsPerThread = 4

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
	// Only when a row is whole vectors: ActF32 runs a tail that is not on
	// exact math, so every element must fall where it does row by row (the
	// one-row product applies it per row and must agree bit for bit).
	if c0 == 0 && c1 == rc.ldc && c1%16 == 0 {
		blk := rc.c[r0*rc.ldc : r1*rc.ldc]
		ActF32(rc.act, blk, blk)
		return
	}
	for r := r0; r < r1; r++ {
		row := rc.c[r*rc.ldc+c0 : r*rc.ldc+c1]
		ActF32(rc.act, row, row)
	}
}
