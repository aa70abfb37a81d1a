package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// rampModel adds to x [1, 4, W] (W symbolic) either a ramp 0..W-1 computed from
// its shape (Shape -> Gather -> Cast -> Range, as a YOLO grid is made) or the rows
// 0..W-1 of a constant table gathered at Range(W) (a position embedding).
func rampModel(lookup bool) *graph.Model {
	nodes := []*graph.Node{
		node("Shape", []string{"x"}, []string{"shape"}),
		node("Gather", []string{"shape", "two"}, []string{"w"}, intAttr("axis", 0)),
	}
	if lookup {
		nodes = append(nodes,
			node("Range", []string{"zero", "w", "one"}, []string{"pos"}),
			node("Gather", []string{"table", "pos"}, []string{"ramp"}, intAttr("axis", 0)))
	} else {
		nodes = append(nodes,
			node("Cast", []string{"w"}, []string{"wf"}, intAttr("to", int64(graph.Float32))),
			node("Range", []string{"zerof", "wf", "onef"}, []string{"ramp"}))
	}
	nodes = append(nodes, node("Add", []string{"x", "ramp"}, []string{"s"}), node("Relu", []string{"s"}, []string{"y"}))
	table := graph.NewTensor(graph.Float32, []int{64})
	for i := range table.F32() {
		table.F32()[i] = float32(i%7) - 3
	}
	m := newModel("x", []int{1, 4, 6}, []string{"y"}, nodes, map[string]*graph.Tensor{
		"two": graph.FromInt64(nil, []int64{2}), "zero": graph.FromInt64(nil, []int64{0}), "one": graph.FromInt64(nil, []int64{1}),
		"zerof": graph.FromFloat32(nil, []float32{0}), "onef": graph.FromFloat32(nil, []float32{1}), "table": table,
	})
	m.Graph.Inputs[0].Shape[0] = graph.Dim{Size: 1}
	m.Graph.Inputs[0].Shape[2] = graph.Dim{Size: -1, Param: "W"}
	return m
}

// A quantized node that reads a shape-derived ramp is named in a warning (its range
// holds at the calibrated size only); a constant table's rows gathered at Range(W)
// are bounded by the table and are not.
func TestWarnSizeDependent(t *testing.T) {
	for _, c := range []struct {
		name   string
		lookup bool
		warns  int
	}{{"grid from the shape", false, 1}, {"position table lookup", true, 0}} {
		t.Run(c.name, func(t *testing.T) {
			m := rampModel(c.lookup)
			x := randTensor(rand.New(rand.NewSource(1)), []int{1, 4, 6}, 1)
			var warns []string
			_, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"x": x}), QuantOptions{Warn: func(s string) { warns = append(warns, s) }})
			require.NoError(t, err)
			require.Len(t, warns, c.warns)
			for _, w := range warns {
				assert.Contains(t, w, `Add "Add_s"`)
				assert.Contains(t, w, "--input-shape")
			}
		})
	}
}
