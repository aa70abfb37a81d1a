package graph

// DequantizeLinear-21 with block_size (blocked quantization: one scale and zero
// point per block_size consecutive elements along axis), as ONNX Runtime's 4-bit
// weight quantizer writes in QDQ form (and AMD Quark, Olive): the weight, its
// scales and zero points are initializers, so the dequantized float32 weight is
// computed once when the model is read (graph/expand.go), like MatMulNBits'
// (graph/expand_genai.go); the MatMul after it is then an ordinary float MatMul
// the quantizer can quantize. A block_size on a run-time input is refused naming
// the node. A DequantizeLinear without block_size is left as it is. Twenty-first
// session, the unseen16 set.

import "fmt"

func init() {
	registerExpansion("", "DequantizeLinear", expandBlockedDequantize)
}

func expandBlockedDequantize(e *expander, n *Node) error {
	block := n.AttrInt("block_size", 0)
	if block == 0 {
		e.nodes = append(e.nodes, n)
		return nil
	}
	if block < 0 {
		return fmt.Errorf("block_size %d must be positive", block)
	}
	x, s := e.g.Initializers[in(n, 0)], e.g.Initializers[in(n, 1)]
	var zp *Tensor
	if in(n, 2) != "" {
		zp = e.g.Initializers[in(n, 2)]
	}
	if x == nil || s == nil || (in(n, 2) != "" && zp == nil) {
		return refuse("block_size %d on a run-time input (constant weights, scales and zero points only)", block)
	}
	w, err := BlockDequantize(x, s, zp, int(n.AttrInt("axis", 1)), int(block))
	if err != nil {
		return err
	}
	e.std("Identity", n.Output(0), []string{e.constant("dequantized", w)})
	return nil
}

// BlockDequantize computes (x - zp)·scale with one scale (and zero point) per
// block of block elements along axis: scale and zp have x's shape except
// ceil(size/block) along axis. x and zp are int8, uint8 or int32; scale float32.
func BlockDequantize(x, scale, zp *Tensor, axis, block int) (*Tensor, error) {
	r := len(x.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return nil, fmt.Errorf("axis %d is out of range for x of shape %v", axis, x.Shape)
	}
	if scale.DType != Float32 {
		return nil, refuse("scale of type %s (float32 only)", scale.DType)
	}
	want := append([]int(nil), x.Shape...)
	want[axis] = (x.Shape[axis] + block - 1) / block
	if !sameShape(scale.Shape, want) {
		return nil, fmt.Errorf("scale has shape %v, expected %v for x %v, axis %d, block_size %d", scale.Shape, want, x.Shape, axis, block)
	}
	if zp != nil && (!sameShape(zp.Shape, want) || zp.DType != x.DType) {
		return nil, fmt.Errorf("zero point %s%v does not fit x %s%v (expected shape %v)", zp.DType, zp.Shape, x.DType, x.Shape, want)
	}
	xv, err := x.AsFloat64()
	if err != nil || x.DType == Float32 || x.DType == Float64 {
		return nil, fmt.Errorf("x of type %s (int8, uint8, int32 or 4-bit)", x.DType)
	}
	var zv []float64
	if zp != nil {
		if zv, err = zp.AsFloat64(); err != nil {
			return nil, err
		}
	}
	sv := scale.F32()
	inner := 1
	for _, d := range x.Shape[axis+1:] {
		inner *= d
	}
	size, nb := x.Shape[axis], want[axis]
	out := make([]float32, len(xv))
	for i := range xv {
		o, rest := i/(size*inner), i%(size*inner)
		a, c := rest/inner, rest%inner
		j := (o*nb+a/block)*inner + c
		z := 0.0
		if zv != nil {
			z = zv[j]
		}
		out[i] = float32(xv[i]-z) * sv[j]
	}
	return FromFloat32(append([]int(nil), x.Shape...), out), nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
