package runtime

import (
	"math"
	"unsafe"
)

// The small-tensor slab (twenty-second session). Tensors below minArenaLen
// were fresh, zeroed allocations on every run: on the smallest exported graphs
// (a decoder step, 16-token encoders: 15-100 µs a run) every intermediate is
// such a tensor, and the allocations with the memory clearing and the GC
// cycles they bring were the largest single cost of a run (kv_cache_step's
// int8 run: 47 % in mallocgc, 19 fresh buffers a run). A top-level run now
// carves them from one block of the session's, bump by bump, and gives the
// block back at the end: nothing of a run can point into it after the run
// except the results, which Session.run copies out of it (as it copies
// results that share a constant's or an input's memory).
//
// The block is sized by what the runs ask for: a run that asks for more than
// its block holds takes the rest from the allocator as before and records
// its total, and the next run's block has room for it (up to maxSlabLen).
// Not used when the run's tensors are streamed or watched (taps, afterStep):
// a tap's consumer may keep what it is given.

// maxSlabLen caps a block (floats): 1 MiB, 256 tensors at the largest size.
const maxSlabLen = 1 << 18

// slabAlign is the granularity of the carving (floats): 64 bytes, a cache
// line and an AVX-512 vector, as the allocator aligns blocks of these sizes.
const slabAlign = 16

// slab is a run's block: data[:off] is carved, need counts what the run
// asked for (whether it fitted or not).
type slab struct {
	data []float32
	off  int
	need int
}

// takeSlab returns a block for a run: the session's spare one (if it has
// room for the largest need seen), or a new one of that size; nil when no
// run has asked for small tensors yet (the first run learns the size).
func (p *bufPool) takeSlab() *slab {
	p.mu.Lock()
	defer p.mu.Unlock()
	want := p.slabNeed
	if k := len(p.slabs); k > 0 {
		sb := p.slabs[k-1]
		p.slabs[k-1] = nil
		p.slabs = p.slabs[:k-1]
		if len(sb.data) >= want {
			sb.off, sb.need = 0, 0
			return sb
		}
	}
	if want == 0 {
		return &slab{}
	}
	d := make([]float32, want)
	// Poison a new block: kernels must write all of what they take
	// (AllocF32's contract); a NaN pattern makes one that does not
	// visible in tests, where a zeroed allocation hid it.
	nan := math.Float32frombits(0x7fc0dead)
	for i := range d {
		d[i] = nan
	}
	return &slab{data: d}
}

// putSlab gives a run's block back and records what the run asked for.
func (p *bufPool) putSlab(sb *slab) {
	need := min(sb.need, maxSlabLen)
	p.mu.Lock()
	defer p.mu.Unlock()
	if need > p.slabNeed {
		p.slabNeed = need
	}
	if len(sb.data) < p.slabNeed {
		sb.data = nil // too small: the next take makes one of the new size
	}
	sb.off, sb.need = 0, 0
	p.slabs = append(p.slabs, sb)
}

// carve returns n floats of the block (nil when they do not fit); the
// caller holds the context's lock.
func (sb *slab) carve(n int) []float32 {
	m := (n + slabAlign - 1) &^ (slabAlign - 1)
	sb.need += m
	if sb.off+m > len(sb.data) {
		return nil
	}
	d := sb.data[sb.off : sb.off+n : sb.off+n]
	sb.off += m
	return d
}

// rangeOfSlab is the address range of the block (empty without one).
func (sb *slab) memRange() memRange {
	if sb == nil || len(sb.data) == 0 {
		return memRange{}
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(sb.data)))
	return memRange{lo, lo + uintptr(len(sb.data))*4}
}
