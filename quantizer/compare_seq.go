package quantizer

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// seqValues returns the values of a sequence output of both runs, element after
// element, for the error measures, and the shape the report lists for it: the
// element count. A sequence's elements are float32 in the quantized model too
// (plan_sequence.go: no int8 sequences), so they are compared as they are; the
// two runs must give as many elements of the same shapes.
func seqValues(_ *graph.Model, name string, f, q *graph.Tensor) ([]float32, []float32, []int, error) {
	fe, fok := f.SeqElems()
	qe, qok := q.SeqElems()
	if !fok || !qok {
		return nil, nil, nil, fmt.Errorf("compare: output %q is a sequence in one model and a tensor in the other", name)
	}
	if len(fe) != len(qe) {
		return nil, nil, nil, fmt.Errorf("compare: output %q is a sequence of %d tensors in the float model and %d in the quantized one", name, len(fe), len(qe))
	}
	var ff, qf []float32
	for i := range fe {
		if !slices.Equal(fe[i].Shape, qe[i].Shape) {
			return nil, nil, nil, fmt.Errorf("compare: output %q element %d has shape %v in the float model and %v in the quantized one", name, i, fe[i].Shape, qe[i].Shape)
		}
		a, b := floatValues(fe[i]), floatValues(qe[i])
		if a == nil || b == nil {
			var err error
			if a, b, err = plainValues(fmt.Sprintf("%s element %d", name, i), fe[i], qe[i]); err != nil {
				return nil, nil, nil, err
			}
		}
		ff = append(ff, a...)
		qf = append(qf, b...)
	}
	return ff, qf, []int{len(fe)}, nil
}
