//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set dwf32 -out ../asm_dwf32_amd64.s -stubs ../stubs_dwf32_amd64.go -pkg kernels"

// dwF32Z8Table holds the eight-pixel AVX-512 depthwise row kernels by
// 16-channel blocks (1-3); dwRowF32Wide runs them on the first multiple of
// eight pixels of a row of at most 48 channels (or of a row's last channel
// blocks past its 64-channel ones), where the four-pixel kernel's FMA chains
// were too few to hide the FMA latency.
var dwF32Z8Table = [3]func(in *float32, off *int64, taps int, pstride int, ow int, w *float32, wstride int, bias *float32, out *float32, ostride int, ep *float32){
	depthwiseF32AVX512_8x1, depthwiseF32AVX512_8x2, depthwiseF32AVX512_8x3,
}
