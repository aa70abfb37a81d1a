package dataset

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// Float32Sample writes sample i of a single-input set into dst as float32 model
// input values (images preprocessed, IDX pixels scaled as Batch scales them): the
// per-sample access of a training loop. dst must hold exactly one sample.
func (s *Set) Float32Sample(i int, dst []float32) error {
	if i < 0 || i >= s.Len() {
		return fmt.Errorf("sample %d is outside the %d samples of %s", i, s.Len(), s.Name)
	}
	if len(s.inputs) != 1 {
		return fmt.Errorf("%s feeds %d inputs; one sample of a single-input model was asked for", s.Name, len(s.inputs))
	}
	if d := s.ds; d != nil && d.ImageSize() == len(dst) {
		scale, off := d.Scale, d.Offset
		if scale == 0 {
			scale = 1.0 / 255
		}
		sz := d.ImageSize()
		for j, p := range d.Pixels[i*sz : (i+1)*sz] {
			dst[j] = float32(p)*scale + off
		}
		return nil
	}
	b, err := s.Batch(i, 1)
	if err != nil {
		return err
	}
	name := s.inputs[0].Name
	if b[name] == nil {
		return fmt.Errorf("sample %d of %s has no input %q", i, s.Name, name)
	}
	t, err := ConvertTo(b[name], graph.Float32)
	if err != nil {
		return fmt.Errorf("sample %d of %s, input %q: %w", i, s.Name, name, err)
	}
	if t.Len() != len(dst) {
		return fmt.Errorf("sample %d of %s is %s (%d values); %d were expected", i, s.Name, graph.FormatDims(t.Shape), t.Len(), len(dst))
	}
	copy(dst, t.F32())
	return nil
}
