package kernels

import "fmt"

// BinOp is a float32 arithmetic operator of BinBlockF32.
type BinOp uint8

// The operators of BinBlockF32.
const (
	BinAdd BinOp = iota
	BinSub
	BinMul
	BinDiv
)

// BinBlockF32 computes a block of a broadcasting binary operator (twentieth
// session): dst[r·w+i] = x[r·xs+i·xi] op y[r·ys+i·yi] for r < rows and i < w,
// where the column strides xi and yi are 0 (the operand's value repeats along
// the row) or 1, and the row strides xs, ys are any non-negative element
// counts (0: the same row again). Together these are the two innermost axes
// of a collapsed numpy broadcast: a bias row ([R,C] op [C]), a per-row scale
// ([R,C] op [R,1]), an outer product ([R,1] op [1,C]), a same-shape run (rows
// = 1). Each element is one IEEE float32 operation, the bits of Go's x op y.
// It panics if an operand is too short for the block (a caller's bug).
func BinBlockF32(op BinOp, dst, x []float32, xs, xi int, y []float32, ys, yi, w, rows int) {
	if w <= 0 || rows <= 0 {
		return
	}
	if op > BinDiv || xi>>1 != 0 || yi>>1 != 0 || xs < 0 || ys < 0 ||
		len(dst) < rows*w || len(x) < (rows-1)*xs+(w-1)*xi+1 || len(y) < (rows-1)*ys+(w-1)*yi+1 {
		panic(fmt.Sprintf("kernels: BinBlockF32 block %dx%d (strides %d,%d and %d,%d) over %d, %d and %d elements",
			rows, w, xs, xi, ys, yi, len(dst), len(x), len(y)))
	}
	mode := -1
	switch {
	case xi == 1 && yi == 1:
		mode = 0
	case xi == 1:
		mode = 1
	case yi == 1:
		mode = 2
	}
	if mode >= 0 && binBlockF32Vec(op, mode, dst, x, xs, y, ys, w, rows) {
		return
	}
	binBlockF32Go(op, dst, x, xs, xi, y, ys, yi, w, rows)
}

// binBlockF32Go is the reference of BinBlockF32.
func binBlockF32Go(op BinOp, dst, x []float32, xs, xi int, y []float32, ys, yi, w, rows int) {
	for r := 0; r < rows; r++ {
		binRowF32Go(op, dst[r*w:(r+1)*w], x[r*xs:], xi, y[r*ys:], yi)
	}
}

// binRowF32Go sets o[i] = x[i·xi] op y[i·yi].
func binRowF32Go(op BinOp, o, x []float32, xi int, y []float32, yi int) {
	f := func(a, b float32) float32 {
		switch op {
		case BinAdd:
			return a + b
		case BinSub:
			return a - b
		case BinMul:
			return a * b
		}
		return a / b
	}
	switch {
	case xi == 1 && yi == 1:
		x, y = x[:len(o)], y[:len(o)]
		for i := range o {
			o[i] = f(x[i], y[i])
		}
	case xi == 1:
		x, v := x[:len(o)], y[0]
		for i := range o {
			o[i] = f(x[i], v)
		}
	case yi == 1:
		v, y := x[0], y[:len(o)]
		for i := range o {
			o[i] = f(v, y[i])
		}
	default:
		v := f(x[0], y[0])
		for i := range o {
			o[i] = v
		}
	}
}
