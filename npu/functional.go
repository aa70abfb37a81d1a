package npu

import (
	"fmt"
	"math/rand"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// runFunctional computes the model's outputs with the runtime: the int8 executor for
// quantized models (what the NPU computes, bit for bit up to the runtime's
// requantisation), float32 otherwise.
func runFunctional(m *graph.Model, cfg Config) (map[string]*graph.Tensor, string, error) {
	sess, err := runtime.NewSession(m)
	if err != nil {
		return nil, "", err
	}
	inputs := cfg.Inputs
	if inputs == nil {
		bound, err := BindInputShapes(m, cfg.InputShapes)
		if err != nil {
			return nil, "", err
		}
		inputs, err = RandomInputs(bound, cfg.Batch, cfg.Seed)
		if err != nil {
			return nil, "", err
		}
	}
	out, err := sess.RunTensors(inputs)
	if err != nil {
		return nil, "", err
	}
	res := map[string]*graph.Tensor{}
	for _, o := range sess.Outputs() {
		if t := out[o.Name]; t != nil {
			res[o.Name] = t
		}
	}
	return res, sess.Mode().String(), nil
}

// RandomInputs makes one random tensor per model input with the batch dimension
// bound: floats uniform in [0, 1) (image-like data after pixel/255), 8-bit integers
// over their type's range, int64 and bool 0 or 1 (ids of a small table, masks).
func RandomInputs(m *graph.Model, batch int, seed int64) (map[string]*graph.Tensor, error) {
	rng := rand.New(rand.NewSource(seed))
	shapes, err := graph.ResolveInputShapes(m.Graph, max(batch, 1), nil)
	if err != nil {
		return nil, err
	}
	out := map[string]*graph.Tensor{}
	for _, in := range m.Graph.Inputs {
		s, ok := shapes[in.Name]
		if !ok {
			return nil, fmt.Errorf("input %q has no shape", in.Name)
		}
		if _, err := graph.CheckNumElements(s); err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		t := graph.NewTensor(in.DType, s)
		switch d := t.Data.(type) {
		case []float32:
			for i := range d {
				d[i] = rng.Float32()
			}
		case []uint8:
			for i := range d {
				d[i] = uint8(rng.Intn(256))
			}
		case []int8:
			for i := range d {
				d[i] = int8(rng.Intn(256) - 128)
			}
		case []int64:
			for i := range d {
				d[i] = int64(rng.Intn(2))
			}
		case []uint16:
			// float16 and bfloat16 inputs: uniform in [0, 1) as for float32.
			switch in.DType {
			case graph.Float16:
				for i := range d {
					d[i] = graph.Float32ToFloat16(rng.Float32())
				}
			case graph.BFloat16:
				for i := range d {
					d[i] = graph.Float32ToBFloat16(rng.Float32())
				}
			default:
				return nil, fmt.Errorf("input %q: random %s data is not supported", in.Name, in.DType)
			}
		case []bool:
			// Masks (a transformer's key padding mask): half set, as bench's
			// synthetic inputs draw them, so no row is all one value except by chance.
			for i := range d {
				d[i] = rng.Intn(2) == 1
			}
		default:
			return nil, fmt.Errorf("input %q: random %s data is not supported", in.Name, in.DType)
		}
		out[in.Name] = t
	}
	return out, nil
}
