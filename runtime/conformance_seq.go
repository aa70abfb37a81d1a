package runtime

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// LoadSequenceFile reads a serialized ONNX SequenceProto of tensors (the
// input_N.pb / output_N.pb of a sequence value in ONNX's test data sets) and
// returns it as a sequence value (graph/seq_value.go) with its name. The
// project's protobuf package has no SequenceProto (onnx-data.proto), so the
// fields are read here: 1 name, 2 elem_type (1: tensors), 3 tensor_values;
// sequences of anything else are refused.
func LoadSequenceFile(path string) (*graph.Tensor, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	t, name, err := decodeSequence(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return t, name, nil
}

func decodeSequence(b []byte) (*graph.Tensor, string, error) {
	var name string
	var elems []*graph.Tensor
	elemType := int64(-1)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, "", fmt.Errorf("%w: sequence: %v", onnx.ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, "", fmt.Errorf("%w: sequence name", onnx.ErrMalformed)
			}
			name, b = string(v), b[n:]
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, "", fmt.Errorf("%w: sequence elem_type", onnx.ErrMalformed)
			}
			elemType, b = int64(v), b[n:]
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, "", fmt.Errorf("%w: sequence tensor", onnx.ErrMalformed)
			}
			b = b[n:]
			tp := &onnxpb.TensorProto{}
			if err := proto.Unmarshal(v, tp); err != nil {
				return nil, "", fmt.Errorf("%w: sequence element: %v", onnx.ErrMalformed, err)
			}
			t, err := graph.TensorFromProto(tp)
			if err != nil {
				return nil, "", fmt.Errorf("sequence element %d: %w", len(elems), err)
			}
			elems = append(elems, t)
		case num >= 4 && num <= 7:
			return nil, "", fmt.Errorf("%w sequence of non-tensor values (field %d)", graph.ErrUnsupported, num)
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, "", fmt.Errorf("%w: sequence field %d", onnx.ErrMalformed, num)
			}
			b = b[n:]
		}
	}
	if elemType != -1 && elemType != 0 && elemType != 1 {
		return nil, "", fmt.Errorf("%w sequence of elem_type %d (only tensors)", graph.ErrUnsupported, elemType)
	}
	dt := graph.Undefined
	if len(elems) > 0 {
		dt = elems[0].DType
	}
	for i, e := range elems {
		if e.DType != dt {
			return nil, "", fmt.Errorf("sequence element %d is %s, element 0 %s", i, e.DType, dt)
		}
	}
	return graph.NewSequence(dt, elems), name, nil
}

// compareSequences is CompareTensors on two sequence values: the same number of
// elements, each equal within tol.
func compareSequences(got, want *graph.Tensor, tol Tolerance) error {
	g, ok := got.SeqElems()
	if !ok {
		return fmt.Errorf("got a tensor, want a sequence")
	}
	w, _ := want.SeqElems()
	if len(g) != len(w) {
		return fmt.Errorf("sequence of %d elements, want %d", len(g), len(w))
	}
	for i := range w {
		if err := CompareTensors(g[i], w[i], tol); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}
