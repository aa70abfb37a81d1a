package graph

import (
	"fmt"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// ONNX's 4-bit element types (opset 21): UINT4 (21) and INT4 (22), two values
// per byte, the first in the low nibble. ONNX Runtime's 4-bit QDQ quantizer
// (and AMD Quark, Olive) writes weights in them for DequantizeLinear-21 with
// block_size. They are read into Uint8 / Int8 tensors holding the same values
// (0..15, -8..7): DequantizeLinear's arithmetic is the same, and no other
// operator here reads 4-bit tensors (twenty-first session, the unseen16 set).
const (
	uint4Code DType = 21
	int4Code  DType = 22
)

func decodeInt4(tp *onnxpb.TensorProto, dt DType, shape []int, n int) (*Tensor, error) {
	var packed []byte
	switch {
	case tp.RawData != nil:
		packed = tp.GetRawData()
	case len(tp.GetInt32Data()) > 0:
		// int32_data holds the packed bytes, one per entry.
		for _, v := range tp.GetInt32Data() {
			packed = append(packed, byte(v))
		}
	}
	if len(packed) != (n+1)/2 {
		return nil, fmt.Errorf("tensor %q: shape %v needs %d bytes of packed 4-bit values, data has %d", tp.GetName(), shape, (n+1)/2, len(packed))
	}
	nib := func(i int) byte { return packed[i/2] >> (4 * (i % 2)) & 0xF }
	if dt == uint4Code {
		d := make([]uint8, n)
		for i := range d {
			d[i] = nib(i)
		}
		return FromUint8(shape, d), nil
	}
	d := make([]int8, n)
	for i := range d {
		d[i] = int8(nib(i)<<4) >> 4
	}
	return FromInt8(shape, d), nil
}
