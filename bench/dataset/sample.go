package dataset

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// Float32Sample writes sample i into dst as float32 model input values (images
// preprocessed, IDX pixels scaled as Batch scales them; integer inputs such as token
// ids as float32 integers): the per-sample access of a training loop. A sample of a
// model with several inputs is their values one input after the other, in the
// order of the inputs the set was opened for. dst must hold exactly one sample.
func (s *Set) Float32Sample(i int, dst []float32) error {
	if i < 0 || i >= s.Len() {
		return fmt.Errorf("sample %d is outside the %d samples of %s", i, s.Len(), s.Name)
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
	off := 0
	for _, in := range s.inputs {
		name := in.Name
		if b[name] == nil {
			return fmt.Errorf("sample %d of %s has no input %q", i, s.Name, name)
		}
		t, err := ConvertTo(b[name], graph.Float32)
		if err != nil {
			return fmt.Errorf("sample %d of %s, input %q: %w", i, s.Name, name, err)
		}
		if off+t.Len() > len(dst) {
			return fmt.Errorf("sample %d of %s: input %q is %s (%d values); %d were expected for the whole sample", i, s.Name, name, graph.FormatDims(t.Shape), t.Len(), len(dst))
		}
		copy(dst[off:], t.F32())
		off += t.Len()
	}
	if off != len(dst) {
		return fmt.Errorf("sample %d of %s holds %d values; %d were expected", i, s.Name, off, len(dst))
	}
	return nil
}
