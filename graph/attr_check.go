package graph

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Attributes of the wrong type (twenty-third session). The accessors (Node.AttrInt,
// AttrFloat, ...) return their default for an attribute of another type, so a
// LeakyRelu written with alpha=1 by onnx.helper (which takes the type from the Python
// value: INT) ran with alpha 0.01, and a Softmax with axis=[0] (INTS) on the last
// axis, silently. A model is now refused when it is read: an attribute of a
// default-domain or ai.onnx.ml operator whose type is not the one ONNX defines for its
// name (attr_types.go) is an error naming the node, the attribute, its value and the
// type wanted. One leniency stays, as before: an INT where ONNX defines INTS is read
// as a list of one. Attributes of other domains (com.microsoft, custom) are not
// checked: their schemas are not here.

// attrTypeName is ONNX's name of an attribute type.
func attrTypeName(t AttrType) string {
	switch t {
	case AttrFloat:
		return "FLOAT"
	case AttrInt:
		return "INT"
	case AttrString:
		return "STRING"
	case AttrTensor:
		return "TENSOR"
	case AttrGraph:
		return "GRAPH"
	case AttrFloats:
		return "FLOATS"
	case AttrInts:
		return "INTS"
	case AttrStrings:
		return "STRINGS"
	case attrTensors:
		return "TENSORS"
	case attrGraphs:
		return "GRAPHS"
	case attrSparseTensor:
		return "SPARSE_TENSOR"
	case attrSparseTensors:
		return "SPARSE_TENSORS"
	case attrTypeProto:
		return "TYPE_PROTO"
	case attrTypeProtos:
		return "TYPE_PROTOS"
	case 0:
		return "UNDEFINED"
	}
	return fmt.Sprintf("type %d", int32(t))
}

// expectedAttrTypes lists the types ONNX allows for an attribute, or nil when the
// attribute is not checked.
func expectedAttrTypes(domain, op, name string) []AttrType {
	switch domain {
	case "":
		if l, ok := legacyAttrTypes[op]; ok {
			return l[name]
		}
		return onnxAttrTypes[name]
	case MLDomain:
		return mlAttrTypes[name]
	}
	return nil
}

// checkAttrType refuses an attribute whose type ONNX does not allow for its name.
func checkAttrType(n *Node, a *Attr) error {
	want := expectedAttrTypes(n.Domain, n.OpType, a.Name)
	if want == nil {
		return nil
	}
	names := make([]string, len(want))
	for i, t := range want {
		if t == a.Type || (t == AttrInts && a.Type == AttrInt) {
			return nil
		}
		names[i] = attrTypeName(t)
	}
	if a.Type == 0 {
		return fmt.Errorf("%w: %s: attribute %q has no type and no value; ONNX defines it as %s",
			onnx.ErrMalformed, n.Label(), a.Name, strings.Join(names, " or "))
	}
	hint := ""
	switch {
	case a.Type == AttrInt && want[0] == AttrFloat:
		hint = fmt.Sprintf(" (write %d.0: onnx.helper takes the type from the Python value)", a.I)
	case a.Type == AttrInts && want[0] == AttrInt && len(a.Ints) == 1:
		hint = fmt.Sprintf(" (write %s=%d, not a list)", a.Name, a.Ints[0])
	case a.Type == AttrString && (want[0] == AttrInt || want[0] == AttrFloat):
		hint = " (write the number, not a string)"
	}
	return fmt.Errorf("%w: %s: attribute %q is %s %s, but ONNX defines it as %s%s",
		onnx.ErrMalformed, n.Label(), a.Name, attrTypeName(a.Type), attrValueString(a), strings.Join(names, " or "), hint)
}

// attrValueString shows an attribute's value in a message (lists cut after 8 entries).
func attrValueString(a *Attr) string {
	list := func(n int, at func(i int) string) string {
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; i < n && i < 8; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(at(i))
		}
		if n > 8 {
			fmt.Fprintf(&b, " ... (%d values)", n)
		}
		b.WriteByte(']')
		return b.String()
	}
	switch a.Type {
	case AttrFloat:
		return fmt.Sprintf("(%g)", a.F)
	case AttrInt:
		return fmt.Sprintf("(%d)", a.I)
	case AttrString:
		s := a.S
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return fmt.Sprintf("(%q)", s)
	case AttrFloats:
		return "(" + list(len(a.Floats), func(i int) string { return fmt.Sprintf("%g", a.Floats[i]) }) + ")"
	case AttrInts:
		return "(" + list(len(a.Ints), func(i int) string { return fmt.Sprint(a.Ints[i]) }) + ")"
	case AttrStrings:
		return "(" + list(len(a.Strings), func(i int) string { return fmt.Sprintf("%q", a.Strings[i]) }) + ")"
	case AttrTensor:
		if a.T != nil {
			return fmt.Sprintf("(%s%v)", a.T.DType, a.T.Shape)
		}
	}
	return ""
}

// attrFieldMismatch refuses an attribute whose declared type's field is empty while
// another field holds the value (type INT with only ints set): the accessors would
// read the empty field (0) silently.
func attrFieldMismatch(ap *onnxpb.AttributeProto) error {
	if ap.Type == nil {
		return nil
	}
	held := func(t AttrType) bool {
		switch t {
		case AttrFloat:
			return ap.F != nil
		case AttrInt:
			return ap.I != nil
		case AttrString:
			return ap.S != nil
		case AttrTensor:
			return ap.T != nil
		case AttrGraph:
			return ap.G != nil
		case AttrFloats:
			return len(ap.Floats) > 0
		case AttrInts:
			return len(ap.Ints) > 0
		case AttrStrings:
			return len(ap.Strings) > 0
		case attrTensors:
			return len(ap.Tensors) > 0
		case attrGraphs:
			return len(ap.Graphs) > 0
		}
		return false
	}
	decl := AttrType(ap.GetType())
	if decl < AttrFloat || decl > attrGraphs || held(decl) {
		return nil
	}
	// An empty list is a value (ints=[]): only another field holding one is refused.
	for t := AttrFloat; t <= attrGraphs; t++ {
		if t != decl && held(t) {
			return fmt.Errorf("%w: its type is %s, but it holds %s", onnx.ErrMalformed, attrTypeName(decl), attrTypeName(t))
		}
	}
	return nil
}
