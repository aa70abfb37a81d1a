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
	f := c.AllocF32((n + 3) / 4)
	return unsafe.Slice((*int8)(unsafe.Pointer(&f[0])), n)
}
