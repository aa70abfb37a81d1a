package quantizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
)

// Ranges maps a tensor name to its quantization range [min, max]. Its JSON form is
// FuriosaAI's: {"tensor": [min, max], ...}.
type Ranges map[string][2]float32

// Names returns the tensor names, sorted.
func (r Ranges) Names() []string {
	out := make([]string, 0, len(r))
	for k := range r {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Validate checks that every range is finite with min <= max.
func (r Ranges) Validate() error {
	for _, k := range r.Names() {
		v := r[k]
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("range of tensor %q is not finite: [%v, %v]", k, v[0], v[1])
			}
		}
		if v[0] > v[1] {
			return fmt.Errorf("range of tensor %q has min > max: [%v, %v]", k, v[0], v[1])
		}
	}
	return nil
}

// Encode returns the ranges as JSON, one tensor per line, keys sorted.
func (r Ranges) Encode() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("{")
	for i, k := range r.Names() {
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(",")
		}
		v := r[k]
		fmt.Fprintf(&b, "\n  %s: [%s, %s]", key, strconv.FormatFloat(float64(v[0]), 'g', -1, 32), strconv.FormatFloat(float64(v[1]), 'g', -1, 32))
	}
	b.WriteString("\n}\n")
	return b.Bytes(), nil
}

// SaveRanges writes the ranges as JSON. The file is replaced atomically, so a failed
// write never leaves a truncated file behind.
func (r Ranges) SaveRanges(path string) error {
	b, err := r.Encode()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b)
}

// LoadRanges reads ranges written by SaveRanges (or by FuriosaAI's tools).
func LoadRanges(path string) (Ranges, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := DecodeRanges(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// DecodeRanges parses and validates the JSON of a ranges file.
func DecodeRanges(b []byte) (Ranges, error) {
	var raw map[string][]float64
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("not a ranges file ({\"tensor\": [min, max]}): %w", err)
	}
	r := make(Ranges, len(raw))
	for k, v := range raw {
		if len(v) != 2 {
			return nil, fmt.Errorf("range of tensor %q has %d numbers, want [min, max]", k, len(v))
		}
		r[k] = [2]float32{float32(v[0]), float32(v[1])}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// MissingRanges lists the float activations of m (named as in its optimized graph)
// that r has no range for: the tensors an --exclude list or a float fallback may need
// when r came from a file written by an older version, or by another tool, that saved
// only the tensors of one plan.
func MissingRanges(m *graph.Model, r Ranges) ([]string, error) {
	q, err := Optimize(m)
	if err != nil {
		return nil, err
	}
	p, err := planModel(q, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range append(append([]string(nil), p.acts...), otherActivations(q.Graph, p.acts)...) {
		if _, ok := r[name]; !ok {
			out = append(out, name)
		}
	}
	return out, nil
}
