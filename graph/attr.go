package graph

// Attribute constructors, for passes that emit nodes.

// IntAttr returns an int attribute.
func IntAttr(name string, v int64) *Attr { return &Attr{Name: name, Type: AttrInt, I: v} }

// FloatAttr returns a float attribute.
func FloatAttr(name string, v float32) *Attr { return &Attr{Name: name, Type: AttrFloat, F: v} }

// StringAttr returns a string attribute.
func StringAttr(name, v string) *Attr { return &Attr{Name: name, Type: AttrString, S: v} }

// IntsAttr returns an ints attribute from ints.
func IntsAttr(name string, v []int) *Attr {
	a := &Attr{Name: name, Type: AttrInts, Ints: make([]int64, len(v))}
	for i, x := range v {
		a.Ints[i] = int64(x)
	}
	return a
}

// Int64sAttr returns an ints attribute holding a copy of v.
func Int64sAttr(name string, v []int64) *Attr {
	return &Attr{Name: name, Type: AttrInts, Ints: append([]int64(nil), v...)}
}

// FloatsAttr returns a floats attribute holding a copy of v.
func FloatsAttr(name string, v []float32) *Attr {
	return &Attr{Name: name, Type: AttrFloats, Floats: append([]float32(nil), v...)}
}
