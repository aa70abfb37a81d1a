package qat

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// netInput is one graph input of the training program. A float32 input is an
// activation slot (fake-quantized where Quantize quantizes it); an integer or
// boolean input (token ids, an attention mask, token types) carries no gradient:
// it is a computed tensor (Net.computed) that the operators reading it evaluate
// with the runtime's kernels (ops_shapeprog.go) or look rows up by
// (ops_embedding.go).
type netInput struct {
	name string
	// declared is the shape per sample, without the batch, -1 for a symbolic
	// dimension (a sequence length the data gives); shape is the current batch's
	// (declared when nothing is symbolic, else set by SetSampleShapes).
	declared, shape []int
	dtype           graph.DType
	slot            int // -1 for an integer input
}

// setupInputs makes the program's inputs, in the graph's input order (the order of
// the values in one sample: Data.Sample concatenates them in it).
func (b *builder) setupInputs() error {
	n := b.n
	n.input = -1
	for _, in := range b.g.Inputs {
		if b.g.Initializers[in.Name] != nil {
			continue
		}
		if !in.HasShape || (len(in.Shape) < 1 && !n.cfg.WholeInputs) {
			return fmt.Errorf("qat: input %q has no shape", in.Name)
		}
		// declared is never nil: a per-sample scalar ([N] input) has shape [].
		ni := netInput{name: in.Name, dtype: in.DType, slot: -1, declared: []int{}}
		symbolic := false
		dims := in.Shape // the sample is the input whole (Config.WholeInputs)
		if !n.cfg.WholeInputs {
			dims = in.Shape[1:]
		}
		for _, d := range dims {
			size := d.Size
			if !d.Known() {
				size, symbolic = -1, true
			}
			ni.declared = append(ni.declared, size)
		}
		if !symbolic {
			ni.shape = ni.declared
		}
		switch in.DType {
		case graph.Float32, graph.Float16, graph.BFloat16, graph.Float64:
			// a float16 or float64 input keeps its type through a Cast that
			// Optimize puts at the boundary (it computes in float32): its
			// values are float32 here, rounded to float16 as fed (feedInputs)
			ni.slot = b.slot()
			b.define(in.Name, ni.slot)
			if n.input < 0 {
				n.input, n.inShape = ni.slot, ni.declared
			}
		case graph.Int64, graph.Int32, graph.Bool, graph.Uint8, graph.Int8:
			// token ids, masks; an image of raw uint8 pixels that the model
			// casts and normalises itself
			n.computedNames[in.Name] = true
		default:
			return fmt.Errorf("qat: input %q is %s; training reads float32 and integer inputs", in.Name, in.DType)
		}
		n.inputs = append(n.inputs, ni)
	}
	if len(n.inputs) == 0 {
		return fmt.Errorf("qat: the model has no input")
	}
	return nil
}

// SampleLen is the number of values of one sample: the sizes of every input after
// the batch, added up (Data.Sample's and Forward's layout), at the current sample
// shapes (SetSampleShapes); 0 while a symbolic input has none.
func (n *Net) SampleLen() int {
	s := 0
	for _, in := range n.inputs {
		if in.shape == nil {
			return 0
		}
		s += numel(in.shape)
	}
	return s
}

// Symbolic reports whether an input declares a symbolic dimension after the batch
// (the net was not bound to one sample shape: Config.SampleShape): each batch's
// sample shapes are set with SetSampleShapes, and Fit reads them from ShapedData.
func (n *Net) Symbolic() bool {
	for _, in := range n.inputs {
		if slices.Contains(in.declared, -1) {
			return true
		}
	}
	return false
}

// SetSampleShapes sets the sample shape of every input (without the batch, in
// InputNames order) for the following Forward passes of a net with symbolic
// dimensions: each must fit the declared shape.
func (n *Net) SetSampleShapes(shapes [][]int) error {
	if len(shapes) != len(n.inputs) {
		return fmt.Errorf("qat: %d sample shapes for %d inputs", len(shapes), len(n.inputs))
	}
	for i, in := range n.inputs {
		sh := shapes[i]
		ok := len(sh) == len(in.declared)
		for j := 0; ok && j < len(sh); j++ {
			ok = sh[j] > 0 && (in.declared[j] < 0 || in.declared[j] == sh[j])
		}
		if !ok {
			return fmt.Errorf("qat: input %q is declared %s per sample; a sample of shape %s does not fit it", in.name, graph.FormatDims(in.declared), graph.FormatDims(sh))
		}
	}
	for i := range n.inputs {
		n.inputs[i].shape = slices.Clone(shapes[i])
	}
	return nil
}

// InputNames are the inputs in the order their values follow each other in a sample.
func (n *Net) InputNames() []string {
	out := make([]string, len(n.inputs))
	for i, in := range n.inputs {
		out[i] = in.name
	}
	return out
}

// feedInputs splits x (batch samples of SampleLen values) into the inputs.
func (n *Net) feedInputs(x []float32, batch int) error {
	per := n.SampleLen()
	if per == 0 && n.Symbolic() {
		return fmt.Errorf("qat: the inputs have symbolic dimensions: give the sample shapes (SetSampleShapes) before Forward")
	}
	if len(x) != batch*per {
		return fmt.Errorf("qat: input has %d values, want %d (%d samples of %d)", len(x), batch*per, batch, per)
	}
	if n.cfg.WholeInputs && batch != 1 {
		return fmt.Errorf("qat: %d samples at once; a sample of whole inputs runs alone (Config.WholeInputs)", batch)
	}
	off := 0
	for _, in := range n.inputs {
		sz := numel(in.shape)
		shape := n.fedShape(in, batch)
		if in.slot >= 0 {
			v := n.vals[in.slot]
			v.resize(shape)
			if len(n.inputs) == 1 {
				copy(v.data, x)
			} else {
				for i := 0; i < batch; i++ {
					copy(v.data[i*sz:(i+1)*sz], x[i*per+off:i*per+off+sz])
				}
			}
			roundToInput(in.dtype, v.data)
		} else {
			t, err := integerInput(in, n.fedShape(in, batch), x, batch, per, off)
			if err != nil {
				return err
			}
			n.computed[in.name] = t
		}
		off += sz
	}
	return nil
}

// fedShape is the shape input in is fed at for batch samples: the batch before
// the sample shape, or the sample shape alone for whole inputs (batch 1).
func (n *Net) fedShape(in netInput, batch int) []int {
	if n.cfg.WholeInputs {
		return slices.Clone(in.shape)
	}
	return append([]int{batch}, in.shape...)
}

// integerInput builds an integer or boolean input's tensor from its float32 values
// in x (exact integers below 2^24, as the data set converted them).
func integerInput(in netInput, shape []int, x []float32, batch, per, off int) (*graph.Tensor, error) {
	sz := numel(in.shape)
	t := graph.NewTensor(in.dtype, shape)
	for i := 0; i < batch; i++ {
		for j, v := range x[i*per+off : i*per+off+sz] {
			if float32(math.Trunc(float64(v))) != v || (in.dtype == graph.Bool && v != 0 && v != 1) ||
				(in.dtype == graph.Uint8 && (v < 0 || v > 255)) || (in.dtype == graph.Int8 && (v < -128 || v > 127)) {
				return nil, fmt.Errorf("qat: input %q is %s; sample %d holds %v", in.name, in.dtype, i, v)
			}
			k := i*sz + j
			switch d := t.Data.(type) {
			case []int64:
				d[k] = int64(v)
			case []int32:
				d[k] = int32(v)
			case []bool:
				d[k] = v != 0
			case []uint8:
				d[k] = uint8(v)
			case []int8:
				d[k] = int8(v)
			}
		}
	}
	return t, nil
}

// roundToInput rounds values fed to a float16 or bfloat16 input to that type (what
// the executor receives); float32 and float64 values are kept.
func roundToInput(dt graph.DType, v []float32) {
	var r func(float32) float32
	switch dt {
	case graph.Float16:
		r = func(x float32) float32 { return graph.Float16ToFloat32(graph.Float32ToFloat16(x)) }
	case graph.BFloat16:
		r = func(x float32) float32 { return math.Float32frombits(uint32(graph.Float32ToBFloat16(x)) << 16) }
	default:
		return
	}
	for i, x := range v {
		v[i] = r(x)
	}
}
