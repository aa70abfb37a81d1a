package quantizer

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// DefaultDetectionIoU is the IoU at which a float32 and an int8 detection of the
// same class are the same object (the PASCAL VOC / COCO AP50 criterion).
const DefaultDetectionIoU = 0.5

// DetectionSpec says which outputs of a model are detections and how to read them.
// Two layouts:
//   - separate outputs (torchvision's detectors): Boxes [N, 4] (x1, y1, x2, y2),
//     Scores [N], Labels [N] (optional: class-agnostic matching without it), one
//     list for the whole run, so one sample per batch;
//   - one output of rows (Rows, with Columns naming each column): [N, C], [1, N, C]
//     or [B, N, C] (B the batch: the rows of each sample), a "batch" column giving
//     the sample of each row of a [N, C] list.
type DetectionSpec struct {
	Boxes, Scores, Labels string
	Rows                  string
	Columns               []string
	// MatchedOn says how the outputs were recognised (automatically from their
	// shapes and types, or given by --detections).
	MatchedOn string
	// auto is set for a recognised spec: outputs that turn out not to hold
	// detections at run time are then reported in a note, not as an error.
	auto bool
}

// detColumns are the column names a rows layout may use; "-" skips a column.
var detColumns = map[string]bool{"x1": true, "y1": true, "x2": true, "y2": true, "cx": true, "cy": true, "w": true, "h": true,
	"score": true, "class": true, "batch": true, "-": true}

// ParseDetectionSpec parses the --detections value: "auto" or "" (recognise
// torchvision-style outputs), "off", "boxes=B,scores=S[,labels=L]", or
// "rows=OUT:COL,COL,..." with columns x1,y1,x2,y2 (or cx,cy,w,h), score, class,
// batch and - (ignored). It returns nil for auto, and auto reports whether the
// spec is automatic.
func ParseDetectionSpec(s string) (spec *DetectionSpec, auto bool, err error) {
	switch strings.TrimSpace(s) {
	case "", "auto":
		return nil, true, nil
	case "off":
		return nil, false, nil
	}
	if rest, ok := strings.CutPrefix(s, "rows="); ok {
		out, cols, ok := strings.Cut(rest, ":")
		if !ok || out == "" || cols == "" {
			return nil, false, fmt.Errorf("--detections %q: want rows=OUTPUT:COL,COL,... (columns x1,y1,x2,y2 or cx,cy,w,h, score, class, batch, -)", s)
		}
		sp := &DetectionSpec{Rows: out, Columns: strings.Split(cols, ","), MatchedOn: "given by --detections"}
		seen := map[string]bool{}
		for _, c := range sp.Columns {
			if !detColumns[c] {
				return nil, false, fmt.Errorf("--detections %q: unknown column %q (x1,y1,x2,y2, cx,cy,w,h, score, class, batch, -)", s, c)
			}
			if c != "-" && seen[c] {
				return nil, false, fmt.Errorf("--detections %q: column %q given twice", s, c)
			}
			seen[c] = true
		}
		corners := seen["x1"] && seen["y1"] && seen["x2"] && seen["y2"]
		centres := seen["cx"] && seen["cy"] && seen["w"] && seen["h"]
		if corners == centres || !seen["score"] {
			return nil, false, fmt.Errorf("--detections %q: the columns need a box (x1,y1,x2,y2 or cx,cy,w,h, not both) and a score", s)
		}
		return sp, false, nil
	}
	sp := &DetectionSpec{MatchedOn: "given by --detections"}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return nil, false, fmt.Errorf("--detections %q: want auto, off, boxes=B,scores=S[,labels=L] or rows=OUTPUT:COLUMNS", s)
		}
		switch k {
		case "boxes":
			sp.Boxes = v
		case "scores":
			sp.Scores = v
		case "labels":
			sp.Labels = v
		default:
			return nil, false, fmt.Errorf("--detections %q: unknown key %q (boxes, scores, labels, or rows=OUTPUT:COLUMNS)", s, k)
		}
	}
	if sp.Boxes == "" || sp.Scores == "" {
		return nil, false, fmt.Errorf("--detections %q: boxes= and scores= are both needed", s)
	}
	return sp, false, nil
}

// outputs lists the model outputs the spec reads.
func (sp *DetectionSpec) outputs() []string {
	if sp.Rows != "" {
		return []string{sp.Rows}
	}
	out := []string{sp.Boxes, sp.Scores}
	if sp.Labels != "" {
		out = append(out, sp.Labels)
	}
	return out
}

// describe is the spec in words, for the report.
func (sp *DetectionSpec) describe() string {
	if sp.Rows != "" {
		return fmt.Sprintf("rows of %q: %s", sp.Rows, strings.Join(sp.Columns, ","))
	}
	s := fmt.Sprintf("boxes %q [N,4] x1,y1,x2,y2, scores %q [N]", sp.Boxes, sp.Scores)
	if sp.Labels != "" {
		s += fmt.Sprintf(", labels %q [N]", sp.Labels)
	} else {
		s += ", no labels (class-agnostic matching)"
	}
	return s
}

// check verifies that the spec's outputs exist in both models, with ranks and
// widths that fit; a wrong --detections is an error naming the output.
func (sp *DetectionSpec) check(fm, qm *graph.Model) error {
	for _, o := range sp.outputs() {
		if !fm.Graph.IsGraphOutput(o) || !qm.Graph.IsGraphOutput(o) {
			return fmt.Errorf("compare: --detections names %q, which is not an output of both models", o)
		}
	}
	return nil
}

// recogniseDetections finds torchvision-style detection outputs among the outputs
// both models have: exactly one float output declared [?, 4], one float output of
// rank 1 and (optionally) one integer output of rank 1, or, when there are several,
// the ones whose names contain "box", "score" and "label". It returns nil and a
// note when nothing can be recognised safely but some output may hold detections.
func recogniseDetections(fm *graph.Model, outs []string) (*DetectionSpec, string) {
	values := fm.Graph.Values
	for _, o := range outs {
		if v := values[o]; v == nil || !v.HasShape {
			// Outputs declared without shapes: infer them on a copy (symbolic
			// sizes stay symbolic).
			c := fm.Clone()
			if _, err := c.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err == nil {
				values = c.Graph.Values
			}
			break
		}
	}
	var boxes, scores, labels, rows []string
	for _, o := range outs {
		v := values[o]
		if v == nil || !v.HasShape || v.Seq {
			continue // a sequence's shape is its elements' (compare_seq.go)
		}
		r := len(v.Shape)
		switch {
		case v.DType.IsFloat() && r == 2 && v.Shape[1].Known() && v.Shape[1].Size == 4:
			boxes = append(boxes, o)
		case v.DType.IsFloat() && r == 1:
			scores = append(scores, o)
		case isIntegerType(v.DType) && r == 1:
			labels = append(labels, o)
		case (r == 2 || r == 3) && v.Shape[r-1].Known() && (v.Shape[r-1].Size == 6 || v.Shape[r-1].Size == 7) && !v.Shape[r-2].Known() &&
			!(r == 2 && inputBatchDim(fm, v.Shape[0])):
			rows = append(rows, o)
		}
	}
	pick := func(c []string, word string) (string, bool) {
		if len(c) == 1 {
			return c[0], true
		}
		var named []string
		for _, o := range c {
			if strings.Contains(strings.ToLower(o), word) {
				named = append(named, o)
			}
		}
		if len(named) == 1 {
			return named[0], true
		}
		return "", false
	}
	b, okb := pick(boxes, "box")
	s, oks := pick(scores, "score")
	l, okl := pick(labels, "label")
	// All three are needed: a float [N,4] beside a float [N] alone is too common
	// (a Loop's carried values, regression targets) to be taken for detections.
	if okb && oks && okl {
		sp := &DetectionSpec{Boxes: b, Scores: s, Labels: l, auto: true,
			MatchedOn: "recognised from the output shapes and types: a float [N,4], a float [N] and an integer [N] output (torchvision's layout)"}
		if len(boxes) > 1 || len(scores) > 1 || len(labels) > 1 {
			sp.MatchedOn += ", chosen among several by their names"
		}
		return sp, ""
	}
	if len(rows) > 0 {
		return nil, fmt.Sprintf("output %q may hold detections as rows; their columns cannot be told from the model: "+
			"give --detections rows=%s:x1,y1,x2,y2,score,class (in the exporter's column order) to compare them as detections", rows[0], rows[0])
	}
	if len(boxes) > 0 {
		return nil, fmt.Sprintf("output %q may hold boxes, but no single float [N] scores and integer [N] labels outputs go with it: "+
			"give --detections boxes=B,scores=S[,labels=L] to compare them as detections", boxes[0])
	}
	return nil, ""
}

func isIntegerType(d graph.DType) bool {
	switch d {
	case graph.Int8, graph.Uint8, graph.Int16, graph.Uint16, graph.Int32, graph.Uint32, graph.Int64, graph.Uint64:
		return true
	}
	return false
}

// detection is one detected object: a box (x1, y1, x2, y2), its score and class.
type detection struct {
	box   [4]float64
	score float64
	class int64
}

// extract reads the detections of one run, per sample of the batch of bn samples.
// get returns an output's values (dequantized for the int8 model) and shape.
func (sp *DetectionSpec) extract(bn int, get func(name string) ([]float64, []int, error)) ([][]detection, error) {
	if sp.Rows != "" {
		return sp.extractRows(bn, get)
	}
	if bn != 1 {
		return nil, fmt.Errorf("detections %q/%q hold one list for the whole batch of %d samples: compare with --batch 1", sp.Boxes, sp.Scores, bn)
	}
	bv, bs, err := get(sp.Boxes)
	if err != nil {
		return nil, err
	}
	sv, ss, err := get(sp.Scores)
	if err != nil {
		return nil, err
	}
	if len(bs) != 2 || bs[1] != 4 || len(ss) != 1 || ss[0] != bs[0] {
		return nil, fmt.Errorf("detections: boxes %q has shape %v and scores %q %v; want [N,4] and [N]", sp.Boxes, bs, sp.Scores, ss)
	}
	var lv []float64
	if sp.Labels != "" {
		var ls []int
		if lv, ls, err = get(sp.Labels); err != nil {
			return nil, err
		}
		if len(ls) != 1 || ls[0] != bs[0] {
			return nil, fmt.Errorf("detections: labels %q has shape %v, boxes %q %v; want [N] and [N,4]", sp.Labels, ls, sp.Boxes, bs)
		}
	}
	dets := make([]detection, bs[0])
	for i := range dets {
		d := detection{score: sv[i]}
		copy(d.box[:], bv[4*i:4*i+4])
		if lv != nil {
			d.class = int64(lv[i])
		}
		dets[i] = d
	}
	return [][]detection{dets}, nil
}

func (sp *DetectionSpec) extractRows(bn int, get func(string) ([]float64, []int, error)) ([][]detection, error) {
	v, shape, err := get(sp.Rows)
	if err != nil {
		return nil, err
	}
	c := len(sp.Columns)
	col := map[string]int{}
	for i, name := range sp.Columns {
		col[name] = i
	}
	_, hasBatch := col["batch"]
	if len(shape) == 0 || shape[len(shape)-1] != c || len(shape) > 3 {
		return nil, fmt.Errorf("detections: output %q has shape %v; --detections gives %d columns (want [N,%d], [1,N,%d] or [B,N,%d])", sp.Rows, shape, c, c, c, c)
	}
	out := make([][]detection, bn)
	per := 0 // rows per sample for [B, N, C]
	switch {
	case len(shape) == 3 && shape[0] == bn:
		per = shape[1]
	case len(shape) == 3 && shape[0] == 1 || len(shape) == 2:
		if bn != 1 && !hasBatch {
			return nil, fmt.Errorf("detections: output %q holds one list of rows (shape %v) for a batch of %d samples and no batch column: compare with --batch 1", sp.Rows, shape, bn)
		}
	default:
		return nil, fmt.Errorf("detections: output %q has shape %v for a batch of %d samples", sp.Rows, shape, bn)
	}
	for r := 0; r*c < len(v); r++ {
		row := v[r*c : (r+1)*c]
		sample := 0
		switch {
		case per > 0:
			sample = r / per
		case hasBatch:
			sample = int(row[col["batch"]])
			if sample < 0 || sample >= bn || float64(sample) != row[col["batch"]] {
				return nil, fmt.Errorf("detections: output %q row %d has batch index %v, outside the batch of %d", sp.Rows, r, row[col["batch"]], bn)
			}
		}
		d := detection{score: row[col["score"]]}
		if i, ok := col["class"]; ok {
			d.class = int64(math.Round(row[i]))
		}
		if _, ok := col["x1"]; ok {
			d.box = [4]float64{row[col["x1"]], row[col["y1"]], row[col["x2"]], row[col["y2"]]}
		} else {
			cx, cy, w, h := row[col["cx"]], row[col["cy"]], row[col["w"]], row[col["h"]]
			d.box = [4]float64{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
		}
		out[sample] = append(out[sample], d)
	}
	return out, nil
}

// iou is the intersection over union of two x1,y1,x2,y2 boxes (0 for empty ones).
func iou(a, b [4]float64) float64 {
	w := math.Min(a[2], b[2]) - math.Max(a[0], b[0])
	h := math.Min(a[3], b[3]) - math.Max(a[1], b[1])
	if w <= 0 || h <= 0 {
		return 0
	}
	inter := w * h
	area := func(x [4]float64) float64 { return math.Max(x[2]-x[0], 0) * math.Max(x[3]-x[1], 0) }
	u := area(a) + area(b) - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// DetectionAgreement compares the detections of the float32 and int8 runs: each
// float32 detection, highest score first, is matched to the unmatched int8 detection
// of the same class with the highest IoU, if at least IoUThreshold (greedy, as COCO
// evaluation matches detections to ground truth).
type DetectionAgreement struct {
	// Outputs are the outputs read, Layout describes them and MatchedOn says how
	// they were chosen (recognised automatically, or given by --detections).
	Outputs      []string `json:"outputs"`
	Layout       string   `json:"layout"`
	MatchedOn    string   `json:"matched_on"`
	IoUThreshold float64  `json:"iou_threshold"`
	MinScore     float64  `json:"min_score"`
	Samples      int      `json:"samples"`
	// Float and Int8 count the detections of each run (score >= MinScore).
	Float int `json:"float_detections"`
	Int8  int `json:"int8_detections"`
	// Matched float detections have an int8 one of the same class at IoU >=
	// IoUThreshold; Kept is Matched/Float (1 when both found nothing); Added counts
	// the int8 detections left unmatched, Missed the float ones; Relabelled counts
	// the missed float detections overlapping (IoU >= threshold) an unmatched int8
	// detection of another class.
	Matched    int     `json:"matched"`
	Kept       float64 `json:"kept"`
	Added      int     `json:"added"`
	Missed     int     `json:"missed"`
	Relabelled int     `json:"relabelled"`
	// MeanIoU is the mean IoU of the matched pairs; the score differences are
	// |float - int8| over the matched pairs.
	MeanIoU       float64 `json:"mean_iou"`
	MeanScoreDiff float64 `json:"mean_abs_score_diff"`
	MaxScoreDiff  float64 `json:"max_abs_score_diff"`

	sumIoU, sumScore float64
}

// add matches the detections of one sample.
func (a *DetectionAgreement) add(f, q []detection) {
	f, q = aboveScore(f, a.MinScore), aboveScore(q, a.MinScore)
	a.Samples++
	a.Float += len(f)
	a.Int8 += len(q)
	sort.SliceStable(f, func(i, j int) bool { return f[i].score > f[j].score })
	used := make([]bool, len(q))
	var missed []detection
	for _, fd := range f {
		best, bestIoU := -1, a.IoUThreshold
		for j, qd := range q {
			if used[j] || qd.class != fd.class {
				continue
			}
			if v := iou(fd.box, qd.box); v >= bestIoU {
				best, bestIoU = j, v
			}
		}
		if best < 0 {
			missed = append(missed, fd)
			continue
		}
		used[best] = true
		a.Matched++
		a.sumIoU += bestIoU
		d := math.Abs(fd.score - q[best].score)
		a.sumScore += d
		a.MaxScoreDiff = math.Max(a.MaxScoreDiff, d)
	}
	a.Missed += len(missed)
	for _, u := range used {
		if !u {
			a.Added++
		}
	}
	for _, fd := range missed {
		for j, qd := range q {
			if !used[j] && qd.class != fd.class && iou(fd.box, qd.box) >= a.IoUThreshold {
				a.Relabelled++
				break
			}
		}
	}
}

func aboveScore(d []detection, min float64) []detection {
	out := d[:0:0]
	for _, x := range d {
		if x.score >= min {
			out = append(out, x)
		}
	}
	return out
}

// finish computes the means.
func (a *DetectionAgreement) finish() {
	switch {
	case a.Float > 0:
		a.Kept = float64(a.Matched) / float64(a.Float)
	case a.Int8 == 0:
		a.Kept = 1
	}
	if a.Matched > 0 {
		a.MeanIoU = a.sumIoU / float64(a.Matched)
		a.MeanScoreDiff = a.sumScore / float64(a.Matched)
	}
}

// detectionSetup chooses the detection outputs for Compare (opts.Detections) and
// prepares res.Detections; it returns nil when there are none.
func detectionSetup(fm, qm *graph.Model, outs []string, opts CompareOptions, res *Comparison) (*DetectionSpec, error) {
	spec, auto, err := ParseDetectionSpec(opts.Detections)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if auto {
		spec, res.DetectionNote = recogniseDetections(fm, outs)
	}
	if spec == nil {
		return nil, nil
	}
	if err := spec.check(fm, qm); err != nil {
		return nil, err
	}
	thr := opts.DetectionIoU
	if thr == 0 {
		thr = DefaultDetectionIoU
	}
	if !(thr > 0 && thr <= 1) {
		return nil, fmt.Errorf("compare: detection IoU threshold %v is outside (0, 1]", thr)
	}
	res.Detections = &DetectionAgreement{Outputs: spec.outputs(), Layout: spec.describe(), MatchedOn: spec.MatchedOn,
		IoUThreshold: thr, MinScore: opts.DetectionMinScore}
	return spec, nil
}

// addDetections matches the detections of one batch of bn samples, fo the float
// model's outputs and qo the quantized model's.
func addDetections(spec *DetectionSpec, acc *DetectionAgreement, qm *graph.Model, bn int, fo, qo map[string]*graph.Tensor) error {
	values := func(outs map[string]*graph.Tensor, int8 bool) func(string) ([]float64, []int, error) {
		return func(name string) ([]float64, []int, error) {
			t := outs[name]
			if t == nil {
				return nil, nil, fmt.Errorf("output %q was not computed", name)
			}
			// A raw (model-editor) int8 output is dequantized; labels are plain integers.
			if _, _, raw, _ := RawEncoding(qm, name, true); int8 && !t.DType.IsFloat() && raw {
				d, err := decodeTensor(qm, name, t)
				if err != nil {
					return nil, nil, err
				}
				v := make([]float64, len(d))
				for i, x := range d {
					v[i] = float64(x)
				}
				return v, t.Shape, nil
			}
			v, err := t.AsFloat64()
			if err != nil {
				return nil, nil, fmt.Errorf("output %q: %w", name, err)
			}
			return v, t.Shape, nil
		}
	}
	f, err := spec.extract(bn, values(fo, false))
	if err != nil {
		return fmt.Errorf("float model: %w", err)
	}
	q, err := spec.extract(bn, values(qo, true))
	if err != nil {
		return fmt.Errorf("quantized model: %w", err)
	}
	for i := range f {
		acc.add(f[i], q[i])
	}
	return nil
}

// inputBatchDim reports whether d is the symbolic leading dimension of a graph input:
// an output [batch, 6] of a classifier with 6 classes has one row per sample, not
// one per detection (a detector's row count is its own symbol).
func inputBatchDim(m *graph.Model, d graph.Dim) bool {
	if d.Known() || d.Param == "" {
		return false
	}
	for _, in := range m.Graph.Inputs {
		if m.Graph.Initializers[in.Name] == nil && in.HasShape && len(in.Shape) > 0 && in.Shape[0].Param == d.Param {
			return true
		}
	}
	return false
}
