package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

func TestParseDetectionSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		auto bool
		want *DetectionSpec
		err  string
	}{
		{in: "", auto: true},
		{in: "auto", auto: true},
		{in: "off"},
		{in: "boxes=b,scores=s,labels=l", want: &DetectionSpec{Boxes: "b", Scores: "s", Labels: "l"}},
		{in: "boxes=b,scores=s", want: &DetectionSpec{Boxes: "b", Scores: "s"}},
		{in: "rows=det:x1,y1,x2,y2,score,class", want: &DetectionSpec{Rows: "det", Columns: []string{"x1", "y1", "x2", "y2", "score", "class"}}},
		{in: "rows=det:batch,x1,y1,x2,y2,class,score", want: &DetectionSpec{Rows: "det", Columns: []string{"batch", "x1", "y1", "x2", "y2", "class", "score"}}},
		{in: "rows=det:cx,cy,w,h,score,-", want: &DetectionSpec{Rows: "det", Columns: []string{"cx", "cy", "w", "h", "score", "-"}}},
		{in: "boxes=b", err: "both needed"},
		{in: "boxes=b,scores=s,colour=c", err: `unknown key "colour"`},
		{in: "rows=det", err: "rows=OUTPUT:COL"},
		{in: "rows=det:x1,y1,x2,y2,class", err: "a score"},
		{in: "rows=det:x1,y1,x2,y2,cx,cy,w,h,score", err: "not both"},
		{in: "rows=det:x1,y1,x2,y2,score,score", err: "given twice"},
		{in: "rows=det:x1,y1,x2,y2,score,angle", err: `unknown column "angle"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			sp, auto, err := ParseDetectionSpec(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.auto, auto)
			if tc.want == nil {
				assert.Nil(t, sp)
				return
			}
			tc.want.MatchedOn = "given by --detections"
			assert.Equal(t, tc.want, sp)
		})
	}
}

func outputsModel(outs ...*graph.Value) *graph.Model {
	g := &graph.Graph{Values: map[string]*graph.Value{}, Initializers: map[string]*graph.Tensor{}}
	for _, o := range outs {
		o.HasShape = true
		g.Outputs = append(g.Outputs, o)
		g.Values[o.Name] = o
	}
	return &graph.Model{Graph: g}
}

func dims(d ...int) graph.Shape {
	s := make(graph.Shape, len(d))
	for i, x := range d {
		s[i] = graph.Dim{Size: x}
		if x < 0 {
			s[i] = graph.Dim{Size: -1, Param: "n"}
		}
	}
	return s
}

// Only torchvision's layout is recognised from shapes and types; rows of 6 or 7
// columns get a note asking for their column order, never a guess.
func TestRecogniseDetections(t *testing.T) {
	v := func(name string, dt graph.DType, d ...int) *graph.Value {
		return &graph.Value{Name: name, DType: dt, Shape: dims(d...)}
	}
	for _, tc := range []struct {
		name    string
		outs    []*graph.Value
		want    *DetectionSpec
		matched string
		note    string
	}{
		{"torchvision", []*graph.Value{v("boxes", graph.Float32, -1, 4), v("scores", graph.Float32, -1), v("labels", graph.Int64, -1)},
			&DetectionSpec{Boxes: "boxes", Scores: "scores", Labels: "labels"}, "torchvision's layout", ""},
		{"other names", []*graph.Value{v("o1", graph.Float32, -1, 4), v("o2", graph.Float32, -1), v("o3", graph.Int32, -1)},
			&DetectionSpec{Boxes: "o1", Scores: "o2", Labels: "o3"}, "shapes and types", ""},
		{"no labels: not recognised", []*graph.Value{v("boxes", graph.Float32, -1, 4), v("scores", graph.Float32, -1)},
			nil, "", "give --detections boxes=B,scores=S"},
		{"a Loop's carried values", []*graph.Value{v("loop_out", graph.Float32, -1, 4), v("loop_scan", graph.Float32, -1)},
			nil, "", `"loop_out" may hold boxes`},
		{"mask r-cnn: masks beside", []*graph.Value{v("boxes", graph.Float32, -1, 4), v("labels", graph.Int64, -1), v("scores", graph.Float32, -1), v("masks", graph.Float32, -1, 1, 32, 32)},
			&DetectionSpec{Boxes: "boxes", Scores: "scores", Labels: "labels"}, "torchvision's layout", ""},
		{"keypoint r-cnn: two score outputs, chosen by name", []*graph.Value{v("boxes", graph.Float32, -1, 4), v("labels", graph.Int64, -1), v("scores", graph.Float32, -1),
			v("keypoints", graph.Float32, -1, 17, 3), v("keypoints_scores", graph.Float32, -1, 17)},
			&DetectionSpec{Boxes: "boxes", Scores: "scores", Labels: "labels"}, "torchvision's layout", ""},
		{"two unnamed score outputs: ambiguous", []*graph.Value{v("a", graph.Float32, -1, 4), v("b", graph.Float32, -1), v("c", graph.Float32, -1), v("d", graph.Int64, -1)},
			nil, "", "no single float [N] scores"},
		{"yolo rows [1,N,6]", []*graph.Value{v("det", graph.Float32, 1, -1, 6)}, nil, "", "rows=det:x1,y1,x2,y2,score,class"},
		{"rows [N,7]", []*graph.Value{v("det", graph.Float32, -1, 7)}, nil, "", `"det" may hold detections`},
		{"classifier", []*graph.Value{v("logits", graph.Float32, 1, 1000)}, nil, "", ""},
		{"static [1,4] is not boxes of a batch... but is a float [?,4]", []*graph.Value{v("logits", graph.Float32, 1, 10)}, nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := outputsModel(tc.outs...)
			var names []string
			for _, o := range tc.outs {
				names = append(names, o.Name)
			}
			sp, note := recogniseDetections(m, names)
			if tc.want == nil {
				assert.Nil(t, sp)
				if tc.note == "" {
					assert.Empty(t, note)
				} else {
					assert.Contains(t, note, tc.note)
				}
				return
			}
			require.NotNil(t, sp)
			assert.Contains(t, sp.MatchedOn, tc.matched)
			sp.MatchedOn, sp.auto = "", false
			assert.Equal(t, tc.want, sp)
		})
	}
}

func box(x1, y1, x2, y2, score float64, class int64) detection {
	return detection{box: [4]float64{x1, y1, x2, y2}, score: score, class: class}
}

func TestDetectionMatching(t *testing.T) {
	a := box(0, 0, 10, 10, 0.9, 1)
	b := box(20, 20, 30, 30, 0.8, 2)
	for _, tc := range []struct {
		name                                            string
		f, q                                            []detection
		minScore                                        float64
		float, int8, matched, added, missed, relabelled int
		kept, meanIoU, meanScoreDiff, maxScoreDiff      float64
	}{
		{name: "identical", f: []detection{a, b}, q: []detection{b, a}, float: 2, int8: 2, matched: 2, kept: 1, meanIoU: 1},
		{name: "shifted box, IoU 81/119", f: []detection{a}, q: []detection{box(1, 1, 11, 11, 0.7, 1)}, float: 1, int8: 1, matched: 1, kept: 1,
			meanIoU: 81.0 / 119, meanScoreDiff: 0.2, maxScoreDiff: 0.2},
		{name: "below IoU 0.5", f: []detection{a}, q: []detection{box(5, 0, 15, 10, 0.9, 1)}, float: 1, int8: 1, added: 1, missed: 1},
		{name: "other class", f: []detection{a}, q: []detection{box(0, 0, 10, 10, 0.9, 7)}, float: 1, int8: 1, added: 1, missed: 1, relabelled: 1},
		{name: "int8 adds one, drops one", f: []detection{a, b}, q: []detection{a, box(50, 50, 60, 60, 0.3, 2)}, float: 2, int8: 2, matched: 1, added: 1, missed: 1, kept: 0.5, meanIoU: 1},
		{name: "one int8 box serves one float box", f: []detection{a, box(0, 0, 10, 10, 0.5, 1)}, q: []detection{a}, float: 2, int8: 1, matched: 1, missed: 1, kept: 0.5, meanIoU: 1},
		{name: "highest float score matched first", f: []detection{box(0, 0, 10, 10, 0.2, 1), box(1, 0, 10, 10, 0.9, 1)}, q: []detection{box(1, 0, 10, 10, 0.9, 1)},
			float: 2, int8: 1, matched: 1, missed: 1, kept: 0.5, meanIoU: 1},
		{name: "both empty", float: 0, int8: 0, kept: 1},
		{name: "min score drops low ones on both sides", f: []detection{a, box(40, 40, 50, 50, 0.01, 3)}, q: []detection{a, box(70, 70, 80, 80, 0.02, 3)}, minScore: 0.05,
			float: 1, int8: 1, matched: 1, kept: 1, meanIoU: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := &DetectionAgreement{IoUThreshold: 0.5, MinScore: tc.minScore}
			acc.add(tc.f, tc.q)
			acc.finish()
			assert.Equal(t, []int{tc.float, tc.int8, tc.matched, tc.added, tc.missed, tc.relabelled},
				[]int{acc.Float, acc.Int8, acc.Matched, acc.Added, acc.Missed, acc.Relabelled})
			assert.InDelta(t, tc.kept, acc.Kept, 1e-12)
			assert.InDelta(t, tc.meanIoU, acc.MeanIoU, 1e-12)
			assert.InDelta(t, tc.meanScoreDiff, acc.MeanScoreDiff, 1e-12)
			assert.InDelta(t, tc.maxScoreDiff, acc.MaxScoreDiff, 1e-12)
		})
	}
}

// Rows layouts: [1,N,6], [B,N,6] (per sample) and [N,7] with a batch column.
func TestExtractRows(t *testing.T) {
	get := func(v []float64, shape ...int) func(string) ([]float64, []int, error) {
		return func(string) ([]float64, []int, error) { return v, shape, nil }
	}
	six := &DetectionSpec{Rows: "det", Columns: []string{"x1", "y1", "x2", "y2", "score", "class"}}
	d, err := six.extract(1, get([]float64{0, 0, 2, 2, 0.9, 3, 1, 1, 4, 4, 0.5, 0}, 1, 2, 6))
	require.NoError(t, err)
	assert.Equal(t, [][]detection{{box(0, 0, 2, 2, 0.9, 3), box(1, 1, 4, 4, 0.5, 0)}}, d)

	d, err = six.extract(2, get([]float64{0, 0, 2, 2, 0.9, 3, 1, 1, 4, 4, 0.5, 0}, 2, 1, 6))
	require.NoError(t, err)
	assert.Equal(t, [][]detection{{box(0, 0, 2, 2, 0.9, 3)}, {box(1, 1, 4, 4, 0.5, 0)}}, d)

	_, err = six.extract(2, get([]float64{0, 0, 2, 2, 0.9, 3}, 1, 6))
	assert.ErrorContains(t, err, "--batch 1")
	_, err = six.extract(1, get([]float64{0, 0, 2, 2, 0.9, 3, 1}, 1, 7))
	assert.ErrorContains(t, err, "6 columns")

	seven := &DetectionSpec{Rows: "det", Columns: []string{"batch", "x1", "y1", "x2", "y2", "class", "score"}}
	d, err = seven.extract(2, get([]float64{1, 0, 0, 2, 2, 3, 0.9, 0, 1, 1, 4, 4, 0, 0.5}, 2, 7))
	require.NoError(t, err)
	assert.Equal(t, [][]detection{{box(1, 1, 4, 4, 0.5, 0)}, {box(0, 0, 2, 2, 0.9, 3)}}, d)
	_, err = seven.extract(1, get([]float64{1, 0, 0, 2, 2, 3, 0.9}, 1, 7))
	assert.ErrorContains(t, err, "batch index 1")

	centre := &DetectionSpec{Rows: "det", Columns: []string{"cx", "cy", "w", "h", "score"}}
	d, err = centre.extract(1, get([]float64{5, 5, 4, 2, 0.7}, 1, 5))
	require.NoError(t, err)
	assert.Equal(t, [][]detection{{box(3, 4, 7, 6, 0.7, 0)}}, d)
}

type featBatches struct{ k, n int }

func (f featBatches) Len() int { return f.n }
func (f featBatches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	rng := rand.New(rand.NewSource(int64(start)))
	x := graph.FromFloat32([]int{f.k, 8}, make([]float32, f.k*8))
	for i := range x.F32() {
		x.F32()[i] = float32(rng.NormFloat64())
	}
	return map[string]*graph.Tensor{"feat": x}, nil
}

// compare recognises the detector's outputs and matches its detections; the
// element-wise measures of the same outputs stay as they were.
func TestCompareDetections(t *testing.T) {
	fm := testmodels.Detector(3, false)
	data := featBatches{k: 40, n: 3}
	c, err := Calibrate(fm, MinMaxSym, data, CalibOptions{Threads: 1, BatchSize: 1})
	require.NoError(t, err)
	r, err := c.ComputeRanges()
	require.NoError(t, err)
	qm, err := Quantize(c.Model(), r, QuantOptions{})
	require.NoError(t, err)
	ob, os, ol := "boxes", "scores", "labels"

	res, err := Compare(fm, qm, data, 0, CompareOptions{Threads: 1, BatchSize: 1})
	require.NoError(t, err)
	require.NotNil(t, res.Detections, "recognised: %s", res.DetectionNote)
	d := res.Detections
	assert.Equal(t, []string{ob, os, ol}, d.Outputs)
	assert.Contains(t, d.MatchedOn, "recognised from the output shapes and types")
	assert.Equal(t, 3, d.Samples)
	assert.Greater(t, d.Float, 10, "about half of 3x40 rows score above 0.5")
	assert.Equal(t, d.Float, d.Matched+d.Missed)
	assert.Equal(t, d.Int8, d.Matched+d.Added)
	assert.Greater(t, d.Kept, 0.8, "int8 keeps most float detections")
	assert.Greater(t, d.MeanIoU, 0.9)
	assert.Less(t, d.MaxScoreDiff, 0.2)
	assert.Len(t, res.Top1, 3, "the per-output measures are still there")

	off, err := Compare(fm, qm, data, 0, CompareOptions{Threads: 1, BatchSize: 1, Detections: "off"})
	require.NoError(t, err)
	assert.Nil(t, off.Detections)

	given, err := Compare(fm, qm, data, 0, CompareOptions{Threads: 1, BatchSize: 1, Detections: "boxes=" + ob + ",scores=" + os, DetectionIoU: 0.9})
	require.NoError(t, err)
	require.NotNil(t, given.Detections)
	assert.Equal(t, "given by --detections", given.Detections.MatchedOn)
	assert.Equal(t, 0.9, given.Detections.IoUThreshold)
	assert.Equal(t, d.Float, given.Detections.Float)

	_, err = Compare(fm, qm, data, 0, CompareOptions{Threads: 1, BatchSize: 1, Detections: "boxes=nope,scores=" + os})
	assert.ErrorContains(t, err, `"nope"`)
	// Recognised outputs whose values do not fit (one list for a batch of 2): a
	// note, not an error; given by --detections: an error.
	two, err := Compare(fm, qm, featBatches{k: 40, n: 4}, 0, CompareOptions{Threads: 1, BatchSize: 2})
	require.NoError(t, err)
	assert.Nil(t, two.Detections)
	assert.Contains(t, two.DetectionNote, "not compared as detections")
	assert.Contains(t, two.DetectionNote, "--batch 1")
	_, err = Compare(fm, qm, featBatches{k: 40, n: 4}, 0, CompareOptions{Threads: 1, BatchSize: 2, Detections: "boxes=" + ob + ",scores=" + os})
	assert.ErrorContains(t, err, "--batch 1")
}
