package zoo

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// SyntheticRange is the range Quantized gives every activation: He-initialised
// layers keep activations of unit scale, so [-8, 8] rarely saturates.
var SyntheticRange = [2]float32{-8, 8}

// Quantized returns the int8 QDQ version of a zoo model without calibrating it: the
// quantizer is given a synthetic range for every activation it quantizes (inputs
// [0, 1], the rest SyntheticRange). The graph is exactly what calibration would
// produce, only the scales differ, which is all the NPU simulator needs for timing
// and avoids running a 224x224 float model in every test.
func Quantized(m *graph.Model) (*graph.Model, error) {
	cal, err := quantizer.NewCalibrator(m, quantizer.MinMaxAsym, quantizer.CalibOptions{})
	if err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	inputs := map[string]bool{}
	for _, in := range m.Graph.Inputs {
		inputs[in.Name] = true
	}
	r := quantizer.Ranges{}
	for _, name := range cal.Tensors() {
		if inputs[name] {
			r[name] = [2]float32{0, 1}
			continue
		}
		r[name] = SyntheticRange
	}
	q, err := quantizer.Quantize(m, r, quantizer.QuantOptions{CalibMethod: "synthetic"})
	if err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	return q, nil
}
