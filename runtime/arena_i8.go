package runtime

import "unsafe"

// AllocI8 returns an int8 slice of length n with undefined contents, recycled
// from earlier runs like AllocF32 (it is carved from a float32 buffer of the
// session's pool, so the arena tracks it as any other buffer). The int8
// operators use it for the outputs they overwrite completely: without it every
// int8 activation is a fresh, zeroed allocation and the garbage collector runs
// alongside the kernels.
func (c *ExecContext) AllocI8(n int) []int8 {
	if n == 0 {
		return []int8{}
	}
	// the arena's threshold counts elements: int8 tensors of 4096 to 16383
	// values (a 14×14 or 7×7 map) are recycled too
	f := c.allocF32((n+3)/4, n >= minArenaLen)
	return unsafe.Slice((*int8)(unsafe.Pointer(&f[0])), n)
}

// AllocI64 returns an int64 slice of length n with undefined contents, carved
// from the arena like AllocI8 (a MaxPool's Indices).
func (c *ExecContext) AllocI64(n int) []int64 {
	if n == 0 {
		return []int64{}
	}
	f := c.allocF32(2*n, 2*n >= minArenaLen)
	return unsafe.Slice((*int64)(unsafe.Pointer(&f[0])), n)
}
