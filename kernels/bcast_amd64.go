//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set bcast -out ../asm_bcast_amd64.s -stubs ../stubs_bcast_amd64.go -pkg kernels"

type binBlockF32 func(dst *float32, x *float32, xs int, y *float32, ys int, w int, rows int)

// binBlocksAVX512 and binBlocksAVX2 are the kernels of BinBlockF32 by
// operator and column mode (VV, VS, SV).
var binBlocksAVX512 = [4][3]binBlockF32{
	{binF32AddVVAVX512, binF32AddVSAVX512, binF32AddSVAVX512},
	{binF32SubVVAVX512, binF32SubVSAVX512, binF32SubSVAVX512},
	{binF32MulVVAVX512, binF32MulVSAVX512, binF32MulSVAVX512},
	{binF32DivVVAVX512, binF32DivVSAVX512, binF32DivSVAVX512},
}

var binBlocksAVX2 = [4][3]binBlockF32{
	{binF32AddVVAVX2, binF32AddVSAVX2, binF32AddSVAVX2},
	{binF32SubVVAVX2, binF32SubVSAVX2, binF32SubSVAVX2},
	{binF32MulVVAVX2, binF32MulVSAVX2, binF32MulSVAVX2},
	{binF32DivVVAVX2, binF32DivVSAVX2, binF32DivSVAVX2},
}

// binBlockF32Vec runs the block on the vector kernels; false when this CPU
// has none (f32Path is Go).
func binBlockF32Vec(op BinOp, mode int, dst, x []float32, xs int, y []float32, ys, w, rows int) bool {
	switch {
	case f32Wide:
		binBlocksAVX512[op][mode](&dst[0], &x[0], xs, &y[0], ys, w, rows)
	case f32Path != isaGo:
		binBlocksAVX2[op][mode](&dst[0], &x[0], xs, &y[0], ys, w, rows)
	default:
		return false
	}
	return true
}
