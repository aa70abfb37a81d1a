package graph

import "fmt"

// CheckTensor verifies that a kernel input is usable: present, with data whose length
// matches its shape. Kernels call it on every input so that malformed tensors give an
// error instead of an index panic.
func CheckTensor(what string, t *Tensor) error {
	if t == nil {
		return fmt.Errorf("%s is missing", what)
	}
	n := DataLen(t.Data)
	if n < 0 || !DataMatchesDType(t) {
		return fmt.Errorf("%s: data %T does not hold %s elements", what, t.Data, t.DType)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("%s: negative dimension in shape %v", what, t.Shape)
		}
	}
	if NumElements(t.Shape) != n {
		return fmt.Errorf("%s: shape %v needs %d elements, data has %d", what, t.Shape, NumElements(t.Shape), n)
	}
	return nil
}

// DataMatchesDType reports whether t.Data is the slice type Tensor documents for
// t.DType, so that kernels can type-assert without panicking.
func DataMatchesDType(t *Tensor) bool {
	ok := false
	switch t.DType {
	case Float32:
		_, ok = t.Data.([]float32)
	case Float64:
		_, ok = t.Data.([]float64)
	case Int8:
		_, ok = t.Data.([]int8)
	case Uint8:
		_, ok = t.Data.([]uint8)
	case Int16:
		_, ok = t.Data.([]int16)
	case Uint16, Float16, BFloat16:
		_, ok = t.Data.([]uint16)
	case Int32:
		_, ok = t.Data.([]int32)
	case Uint32:
		_, ok = t.Data.([]uint32)
	case Int64:
		_, ok = t.Data.([]int64)
	case Uint64:
		_, ok = t.Data.([]uint64)
	case Bool:
		_, ok = t.Data.([]bool)
	case String:
		_, ok = t.Data.([]string)
	}
	return ok
}

func DataLen(d any) int {
	switch x := d.(type) {
	case []float32:
		return len(x)
	case []float64:
		return len(x)
	case []int8:
		return len(x)
	case []uint8:
		return len(x)
	case []int16:
		return len(x)
	case []uint16:
		return len(x)
	case []int32:
		return len(x)
	case []uint32:
		return len(x)
	case []int64:
		return len(x)
	case []uint64:
		return len(x)
	case []bool:
		return len(x)
	case []string:
		return len(x)
	}
	return -1
}
