package quantizer

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/warboy-sim/warboy/graph"
)

// A sequence classifier with 6 classes and a symbolic batch has an output [batch, 6]:
// rows of the batch, not detections (compare printed "may hold detections as rows").
// An output whose row count is a symbol of its own still gets the note.
func TestRecogniseDetectionsBatchRows(t *testing.T) {
	batch := graph.Dim{Size: -1, Param: "batch"}
	for _, tc := range []struct {
		name string
		out  graph.Shape
		note bool
	}{
		{"[batch, 6] class scores", graph.Shape{batch, {Size: 6}}, false},
		{"[batch, 7] class scores", graph.Shape{batch, {Size: 7}}, false},
		{"[n, 6] rows", graph.Shape{{Size: -1, Param: "n"}, {Size: 6}}, true},
		{"[batch, n, 6] rows per image", graph.Shape{batch, {Size: -1, Param: "n"}, {Size: 6}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := outputsModel(&graph.Value{Name: "out", DType: graph.Float32, Shape: tc.out})
			m.Graph.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.Shape{batch, {Size: -1, Param: "seq"}, {Size: 40}}, HasShape: true}}
			sp, note := recogniseDetections(m, []string{"out"})
			assert.Nil(t, sp)
			if tc.note {
				assert.Contains(t, note, "may hold detections as rows")
			} else {
				assert.Empty(t, note)
			}
		})
	}
}
