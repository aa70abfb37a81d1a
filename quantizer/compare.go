package quantizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// Batches is a source of model inputs, e.g. a data set.
type Batches interface {
	// Len is the number of samples available.
	Len() int
	// Batch returns samples [start, start+n) keyed by model input name.
	Batch(start, n int) (map[string]*graph.Tensor, error)
}

// ShapeGroups is implemented by data whose samples come in groups of one shape (text
// lines of different widths): GroupEnd(start) is the exclusive end of the group
// holding sample start, and a batch never crosses it.
type ShapeGroups interface {
	GroupEnd(start int) int
}

// batchLen is the size of the batch starting at start: at most bs, within the first
// n samples and within one shape group.
func batchLen(data Batches, start, bs, n int) int {
	bn := min(bs, n-start)
	if g, ok := data.(ShapeGroups); ok {
		if e := g.GroupEnd(start); e > start && e-start < bn {
			bn = e - start
		}
	}
	return bn
}

// CompareOptions configure Compare.
type CompareOptions struct {
	// Mode selects how the quantized model runs: runtime.ModeAuto (the int8 executor
	// when it can run the model with taps, else simulated quantization in float32),
	// runtime.ModeInt8 or runtime.ModeFloat.
	Mode runtime.Mode
	// BatchSize is the number of samples per run (default 100); a model with a static
	// batch (StaticBatch) runs batches of its own size.
	BatchSize int
	Threads   int
	Progress  func(done, total int)
	// Detections selects the detection comparison (ParseDetectionSpec): "" or
	// "auto" recognises torchvision-style outputs, "off" skips it, or a spec.
	Detections string
	// DetectionIoU is the IoU at which two detections match (default
	// DefaultDetectionIoU); detections scoring below DetectionMinScore are left
	// out of both runs.
	DetectionIoU      float64
	DetectionMinScore float64
}

// DB is a ratio in decibels; +Inf (identical tensors) is written to JSON as null.
type DB float64

// MarshalJSON implements json.Marshaler.
func (d DB) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(d), 0) || math.IsNaN(float64(d)) {
		return []byte("null"), nil
	}
	return json.Marshal(math.Round(float64(d)*1000) / 1000)
}

// LayerError is the quantization error of one tensor.
type LayerError struct {
	Tensor string `json:"tensor"`
	// Op and Node name the operator producing the tensor in the float model ("input"
	// for a graph input).
	Op   string `json:"op"`
	Node string `json:"node"`
	// SQNR is 10*log10(sum f^2 / sum (f-q)^2) over all values, in dB (higher is better).
	SQNR DB `json:"sqnr_db"`
	// Cosine is the cosine similarity of the float and quantized values.
	Cosine    float64 `json:"cosine"`
	MaxAbsErr float64 `json:"max_abs_err"`
	Values    int64   `json:"values"`
	// NonFinite counts the values that are infinite or NaN in either run and not
	// equal in both (left out of the measures above; equal infinities, such as a
	// -inf attention mask, are agreement).
	NonFinite int64 `json:"non_finite"`
	// Int8Name is the tensor's name in the quantized model.
	Int8Name string `json:"int8_tensor"`
}

// OutputAgreement is the error of one model output, float32 against int8, over all
// samples: SQNR, cosine similarity, max and mean absolute error for any output, and,
// where the output looks like class scores ([N, C] or [N, C, 1, 1] with C >= 2),
// top-1 agreement (both runs pick the same class) and top-5 agreement (the float
// run's class is among the int8 run's five best; C > 5).
type OutputAgreement struct {
	Output string `json:"output"`
	// Agreement is the top-1 agreement; 0 when Classes is 0.
	Agreement  float64 `json:"top1_agreement"`
	Top5       float64 `json:"top5_agreement"`
	Classes    int     `json:"classes"`
	SQNR       DB      `json:"sqnr_db"`
	Cosine     float64 `json:"cosine"`
	MaxAbsErr  float64 `json:"max_abs_err"`
	MeanAbsErr float64 `json:"mean_abs_err"`
	Values     int64   `json:"values"`
	// NonFinite: as LayerError's.
	NonFinite int64 `json:"non_finite"`
	// Shapes lists the distinct output shapes of the runs (batches of one shape group
	// each).
	Shapes [][]int `json:"output_shapes"`
	// StepAgreement is, for a sequence output (rank 3: [T, N, C] or [N, T, C] with
	// C >= 2, a CTC recogniser's scores), the fraction of positions (time step and
	// sample) where both runs pick the same class over the last axis; StepClasses is
	// C, 0 for other outputs.
	StepAgreement float64 `json:"step_agreement"`
	StepClasses   int     `json:"step_classes"`
	// ShapeMismatches counts the samples where the two runs gave this output
	// different shapes (a data-dependent size: a detector keeping a different
	// number of boxes); those samples are left out of the error measures.
	ShapeMismatches int `json:"shape_mismatches"`
}

// Comparison is the result of Compare.
type Comparison struct {
	// Mode says how the quantized model ran ("int8" or "float32 (simulated
	// quantization)") and, for a fallback, why.
	Mode    string `json:"mode"`
	Samples int    `json:"samples"`
	// Layers lists every quantized tensor, worst SQNR first.
	Layers []LayerError      `json:"layers"`
	Top1   []OutputAgreement `json:"outputs"`
	// Detections compares the detections of the two runs (boxes matched by IoU and
	// class) when the outputs are detections; nil otherwise. DetectionNote says
	// why outputs that may be detections were not compared as such.
	Detections    *DetectionAgreement `json:"detections"`
	DetectionNote string              `json:"detection_note"`
	// Indices is the agreement of the integer outputs and of the ArgMax, ArgMin and
	// TopK indices inside (compare_index.go), in graph order.
	Indices []IndexAgreement `json:"indices"`
}

type errAcc struct {
	ff, dd, fq, qq, maxAbs, sumAbs float64
	n, nonFinite                   int64
}

// add accumulates a pair of runs. Infinities equal in both (a -inf mask filled
// before a Softmax, kept float32 by the quantizer) agree and add nothing; other
// non-finite values are counted apart: summed in, they would make every measure
// NaN (and `compare --json` fail to encode it).
func (a *errAcc) add(f, q []float32) {
	for i, x := range f {
		fx, qx := float64(x), float64(q[i])
		if math.IsInf(fx, 0) || math.IsInf(qx, 0) || math.IsNaN(fx) || math.IsNaN(qx) {
			if fx != qx {
				a.nonFinite++
			}
			continue
		}
		d := fx - qx
		a.ff += fx * fx
		a.qq += qx * qx
		a.fq += fx * qx
		a.dd += d * d
		a.maxAbs = math.Max(a.maxAbs, math.Abs(d))
		a.sumAbs += math.Abs(d)
	}
	a.n += int64(len(f))
}

// Compare runs floatModel and its quantized version int8Model on the first n samples
// of data (all when n <= 0) and reports, for every tensor the quantized model
// quantizes, the SQNR and cosine similarity between the two runs, worst first. The
// quantized model's tensors are read dequantized, under their float names (the
// DequantizeLinear outputs of a QDQ model). Statistics are accumulated batch by
// batch; no activation is kept. Inputs the model editor made raw are fed quantized
// with their recorded encoding, raw outputs are dequantized.
func Compare(floatModel, int8Model *graph.Model, data Batches, n int, opts CompareOptions) (*Comparison, error) {
	if floatModel == nil || int8Model == nil || floatModel.Graph == nil || int8Model.Graph == nil {
		return nil, errors.New("compare: nil model")
	}
	if !int8Model.Graph.IsQuantized() {
		if floatModel.Graph.IsQuantized() {
			return nil, errors.New("compare: the models are swapped: the first is quantized, the second is not; give the float32 model first, then the int8 one")
		}
		return nil, errors.New("compare: the second model is not quantized")
	}
	if floatModel.Graph.IsQuantized() {
		return nil, errors.New("compare: the first model is quantized; give the float32 model first")
	}
	if n <= 0 || n > data.Len() {
		n = data.Len()
	}
	if n == 0 {
		return nil, errors.New("compare: no data")
	}
	// A model with a static batch runs only batches of that size.
	bs, n, _, err := runBatches(floatModel, data, opts.BatchSize, 100, n)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	opts.BatchSize = bs
	pairs, err := tensorPairs(floatModel, int8Model)
	if err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		// A dynamically quantized model has no DequantizeLinear of an activation: its
		// activations are quantized at run time inside the operators. Compare the
		// float tensors both models compute under one name (what the int8 operators
		// write, and the layers left in float32) and the outputs.
		pairs = sameNamePairs(floatModel, int8Model)
	}
	if len(pairs) == 0 && len(outputPairs(floatModel, int8Model)) == 0 {
		return nil, errors.New("compare: no tensor of the float model has a quantized counterpart in the second model, and they share no output (different models?)")
	}
	var fNames, qNames []string
	for _, p := range pairs {
		fNames = append(fNames, p.float)
		qNames = append(qNames, p.int8)
	}
	idx := indexTensors(floatModel, int8Model)
	iaccs := make([]indexAcc, len(idx))
	for _, t := range idx {
		if !t.output {
			fNames, qNames = append(fNames, t.name), append(qNames, t.name)
		}
	}
	res := &Comparison{Samples: n}
	// A wrong --detections fails before anything is planned.
	det, err := detectionSetup(floatModel, int8Model, outputPairs(floatModel, int8Model), opts, res)
	if err != nil {
		return nil, err
	}
	// Planned per input shape: a model with symbolic height/width runs as a
	// static export would (runtime.Replanner).
	keep := compareKeep(data)
	fs := runtime.NewReplanner(floatModel, runtime.WithMode(runtime.ModeFloat), runtime.WithTaps(fNames...), runtime.WithThreads(opts.Threads)).Keep(keep)
	if !runtime.HasSymbolicInputs(floatModel) {
		if _, err := fs.Session(nil); err != nil { // a model that cannot run fails before the data is read
			return nil, fmt.Errorf("compare: float model: %w", err)
		}
	}
	// The quantized model is planned per input shape too (int8Runner).
	qr := &int8Runner{model: int8Model, taps: qNames, opts: opts, keep: keep}
	if !runtime.HasSymbolicInputs(int8Model) {
		if _, err := qr.session(nil); err != nil {
			return nil, fmt.Errorf("compare: quantized model: %w", err)
		}
	}
	accs := make([]errAcc, len(pairs))
	skip := make([]bool, len(pairs))
	outs := outputPairs(floatModel, int8Model)
	agree, agree5, classes := make([]int, len(outs)), make([]int, len(outs)), make([]int, len(outs))
	oaccs := make([]errAcc, len(outs))
	oshapes := make([][][]int, len(outs))
	mism := make([]int, len(outs)) // samples whose output shapes differ
	stepAgree, stepPos, stepC := make([]int, len(outs)), make([]int, len(outs)), make([]int, len(outs))
	for start, bn := 0, 0; start < n; start += bn {
		bn = batchLen(data, start, opts.BatchSize, n)
		in, err := data.Batch(start, bn)
		if err != nil {
			return nil, fmt.Errorf("compare: batch at %d: %w", start, err)
		}
		fsess, err := fs.Session(in)
		if err != nil {
			return nil, fmt.Errorf("compare: float model: %w", err)
		}
		fo, err := fsess.RunTensors(in)
		if err != nil {
			return nil, fmt.Errorf("compare: float model: %w", err)
		}
		qin, err := encodeInputs(int8Model, in)
		if err != nil {
			return nil, err
		}
		qs, err := qr.session(qin)
		if err != nil {
			return nil, fmt.Errorf("compare: quantized model: %w", err)
		}
		res.Mode = qr.mode
		qo, err := qs.RunTensors(qin)
		if err != nil {
			return nil, fmt.Errorf("compare: quantized model: %w", err)
		}
		for i, p := range pairs {
			f, q := fo[p.float], qo[p.int8]
			if f == nil || q == nil {
				return nil, fmt.Errorf("compare: tensor %q was not computed", p.float)
			}
			if p.sameName && (f.DType != graph.Float32 || q.DType != graph.Float32) {
				skip[i] = true
				continue
			}
			qf, err := decodeTensor(int8Model, p.int8, q)
			if err != nil {
				return nil, err
			}
			fv := floatValues(f)
			if fv == nil {
				return nil, fmt.Errorf("compare: tensor %q is %s in the float model, not a floating-point type", p.float, f.DType)
			}
			if len(fv) != len(qf) {
				if !dataDependent(fsess, p.float, f.Shape, q.Shape) {
					return nil, fmt.Errorf("compare: tensor %q has shape %v in the float model and %v in the quantized one", p.float, f.Shape, q.Shape)
				}
				// A data-dependent size (after NonZero, TopK of a count, NMS): the
				// two runs are not comparable element by element.
				skip[i] = true
				continue
			}
			accs[i].add(fv, qf)
		}
		for i, o := range outs {
			f, q := fo[o], qo[o]
			if f == nil || q == nil {
				return nil, fmt.Errorf("compare: output %q was not computed", o)
			}
			if f.IsSeq() || q.IsSeq() {
				// A sequence output: its elements in order (compare_seq.go).
				ff, qf, shape, err := seqValues(int8Model, o, f, q)
				if err != nil {
					return nil, err
				}
				oaccs[i].add(ff, qf)
				oshapes[i] = addShape(oshapes[i], shape)
				continue
			}
			ff := floatValues(f)
			var qf []float32
			if !slices.Equal(f.Shape, q.Shape) && f.DType == q.DType && dataDependent(fsess, o, f.Shape, q.Shape) {
				mism[i]++
				oshapes[i] = addShape(oshapes[i], f.Shape)
				continue
			}
			if ff == nil {
				// A non-float output (indices, counts, a shape) has no quantization
				// encoding: its values are compared as they are.
				if ff, qf, err = plainValues(o, f, q); err != nil {
					return nil, err
				}
			} else if qf, err = decodeTensor(int8Model, o, q); err != nil {
				return nil, err
			}
			if len(ff) != len(qf) {
				return nil, fmt.Errorf("compare: output %q has shape %v in the float model and %v in the quantized one", o, f.Shape, q.Shape)
			}
			oaccs[i].add(ff, qf)
			oshapes[i] = addShape(oshapes[i], f.Shape)
			// Class scores have one row per sample of the batch (a detector's [300,4]
			// boxes are not 300 samples of 4 classes).
			if c := classCount(f.Shape); c > 0 && f.DType == graph.Float32 && f.Shape[0] == bn {
				classes[i] = c
				t1, t5 := topAgreement(ff, qf, c)
				agree[i] += t1
				agree5[i] += t5
			} else if c := stepClasses(f.Shape); c > 0 {
				stepC[i] = c
				a, _ := topAgreement(ff, qf, c)
				stepAgree[i] += a
				stepPos[i] += len(ff) / c
			}
		}
		for i, t := range idx {
			if f, q := fo[t.name], qo[t.name]; f != nil && q != nil {
				iaccs[i].add(t, f, q, bn)
			}
		}
		if det != nil {
			if err := addDetections(det, res.Detections, int8Model, bn, fo, qo); err != nil {
				if !det.auto {
					return nil, fmt.Errorf("compare: %w", err)
				}
				// Recognised from the declared shapes, but the values do not fit.
				res.DetectionNote = fmt.Sprintf("%s looked like detections, but %v: not compared as detections (--detections forces it)", det.describe(), err)
				det, res.Detections = nil, nil
			}
		}
		if opts.Progress != nil {
			opts.Progress(start+bn, n)
		}
	}
	for i, p := range pairs {
		if skip[i] {
			continue
		}
		a := accs[i]
		le := LayerError{Tensor: p.float, Int8Name: p.int8, Op: p.op, Node: p.node, MaxAbsErr: a.maxAbs, Values: a.n,
			NonFinite: a.nonFinite}
		le.SQNR, le.Cosine = a.sqnr(), a.cosine()
		res.Layers = append(res.Layers, le)
	}
	sort.SliceStable(res.Layers, func(i, j int) bool { return res.Layers[i].SQNR < res.Layers[j].SQNR })
	for i, o := range outs {
		a := oaccs[i]
		oa := OutputAgreement{Output: o, Classes: classes[i], SQNR: a.sqnr(), Cosine: a.cosine(), MaxAbsErr: a.maxAbs,
			Values: a.n, Shapes: oshapes[i], ShapeMismatches: mism[i], NonFinite: a.nonFinite}
		if a.n > 0 {
			oa.MeanAbsErr = a.sumAbs / float64(a.n)
		}
		if stepPos[i] > 0 {
			oa.StepClasses = stepC[i]
			oa.StepAgreement = float64(stepAgree[i]) / float64(stepPos[i])
		}
		if classes[i] > 0 {
			oa.Agreement = float64(agree[i]) / float64(n)
			if classes[i] > 5 {
				oa.Top5 = float64(agree5[i]) / float64(n)
			}
		}
		res.Top1 = append(res.Top1, oa)
	}
	for i, t := range idx {
		if iaccs[i].samples > 0 {
			res.Indices = append(res.Indices, iaccs[i].result(t))
		}
	}
	if res.Detections != nil {
		res.Detections.finish()
	}
	return res, nil
}

type tensorPair struct {
	float, int8 string
	op, node    string
	// sameName pairs a float tensor of a dynamically quantized model (sameNamePairs):
	// one that turns out not to be float32 (a shape) is left out.
	sameName bool
}

// tensorPairs maps the float tensors of floatModel to their dequantized counterparts
// in the quantized model: a DequantizeLinear output with the same name (our QDQ
// models), or the DequantizeLinear after the QuantizeLinear that reads the name
// (ONNX Runtime's naming; graph inputs).
func tensorPairs(fm, qm *graph.Model) ([]tensorPair, error) {
	qprod := qm.Graph.Producers()
	qcons := qm.Graph.Consumers()
	fg := fm.Graph
	var names []string
	ops := map[string][2]string{}
	for _, in := range fg.Inputs {
		names = append(names, in.Name)
		ops[in.Name] = [2]string{"input", ""}
	}
	for _, n := range fg.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				names = append(names, o)
				ops[o] = [2]string{n.OpType, n.Name}
			}
		}
	}
	isName := make(map[string]bool, len(names))
	for _, name := range names {
		isName[name] = true
	}
	var out []tensorPair
	for _, name := range names {
		q := ""
		_, _, raw, _ := RawEncoding(qm, name, true)
		switch {
		case qprod[name] != nil && qprod[name].OpType == "DequantizeLinear":
			q = name
		case raw && qm.Graph.IsGraphOutput(name):
			q = name // a raw output, decoded with its recorded encoding
		case qm.Graph.Input(name) != nil && qm.Graph.Input(name).DType != graph.Float32:
			// A raw input: its dequantization.
			for _, c := range qcons[name] {
				if c.OpType == "DequantizeLinear" {
					q = c.Outputs[0]
				}
			}
		default:
			for _, c := range qcons[name] {
				if c.OpType != "QuantizeLinear" {
					continue
				}
				for _, d := range qcons[c.Outputs[0]] {
					// A dequantized output named after another float tensor is that
					// tensor's: a fused Relu/Clip the int8 range implies is not
					// written (dropImpliedActivations), so its producer's output feeds
					// the QuantizeLinear of the Relu's output.
					if d.OpType == "DequantizeLinear" && (d.Outputs[0] == name || !isName[d.Outputs[0]]) {
						q = d.Outputs[0]
					}
				}
			}
		}
		if q == "" {
			continue
		}
		out = append(out, tensorPair{float: name, int8: q, op: ops[name][0], node: ops[name][1]})
	}
	return out, nil
}

// sameNamePairs pairs the float32 node outputs of fm with the tensors of the same
// name that qm computes, graph outputs left out (Compare reports those apart).
func sameNamePairs(fm, qm *graph.Model) []tensorPair {
	qprod := qm.Graph.Producers()
	var out []tensorPair
	for _, n := range fm.Graph.Nodes {
		for _, o := range n.Outputs {
			q := qprod[o]
			if o == "" || q == nil || fm.Graph.IsGraphOutput(o) || graph.IsQuantizedOp(q.OpType) {
				continue
			}
			if v := fm.Graph.Values[o]; v != nil && v.DType != graph.Undefined && v.DType != graph.Float32 {
				continue
			}
			out = append(out, tensorPair{float: o, int8: o, op: n.OpType, node: n.Name, sameName: true})
		}
	}
	return out
}

// outputPairs lists the graph outputs both models have.
func outputPairs(fm, qm *graph.Model) []string {
	var out []string
	for _, o := range fm.Graph.Outputs {
		if qm.Graph.IsGraphOutput(o.Name) {
			out = append(out, o.Name)
		}
	}
	return out
}

// encodeInputs quantizes float inputs for inputs the model editor made raw.
func encodeInputs(m *graph.Model, in map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	out := make(map[string]*graph.Tensor, len(in))
	for name, t := range in {
		dt, p, ok, err := RawEncoding(m, name, false)
		if err != nil {
			return nil, err
		}
		if !ok || t.DType != graph.Float32 {
			out[name] = t
			continue
		}
		out[name] = EncodeRaw(t, dt, p)
	}
	return out, nil
}

// EncodeRaw quantizes a float32 tensor to a raw uint8/int8 encoding
// (q = round(x/scale) + zero_point, saturated).
func EncodeRaw(t *graph.Tensor, dt graph.DType, p QParams) *graph.Tensor {
	f := t.F32()
	lo, hi := -128.0, 127.0
	if dt == graph.Uint8 {
		lo, hi = 0, 255
	}
	enc := func(x float32) float64 {
		return math.Max(lo, math.Min(hi, math.RoundToEven(float64(x/p.Scale))+float64(p.ZeroPoint)))
	}
	if dt == graph.Uint8 {
		d := make([]uint8, len(f))
		for i, x := range f {
			d[i] = uint8(enc(x))
		}
		return graph.FromUint8(t.Shape, d)
	}
	d := make([]int8, len(f))
	for i, x := range f {
		d[i] = int8(enc(x))
	}
	return graph.FromInt8(t.Shape, d)
}

// decodeTensor returns a tensor of the quantized model as float values, dequantizing
// raw outputs with their recorded encoding.
func decodeTensor(m *graph.Model, name string, t *graph.Tensor) ([]float32, error) {
	if t.DType.IsFloat() {
		return floatValues(t), nil // float16 where a float16 model's interface is kept
	}
	_, p, ok, err := RawEncoding(m, name, true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("compare: tensor %q is %s and the model records no encoding for it", name, t.DType)
	}
	vals, err := t.AsFloat64()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(vals))
	for i, v := range vals {
		out[i] = float32(v-float64(p.ZeroPoint)) * p.Scale
	}
	return out, nil
}

func (a *errAcc) sqnr() DB {
	switch {
	case a.dd == 0:
		return DB(math.Inf(1))
	case a.ff == 0:
		return DB(math.Inf(-1))
	}
	return DB(10 * math.Log10(a.ff/a.dd))
}

func (a *errAcc) cosine() float64 {
	if a.ff > 0 && a.qq > 0 {
		return a.fq / math.Sqrt(a.ff*a.qq)
	}
	if a.dd == 0 {
		return 1
	}
	return 0
}

// classCount is C when a [N, C] or [N, C, 1, ..., 1] output looks like class scores
// (C >= 2), else 0.
// dataDependent reports whether two run-time shapes a and b of tensor name differ
// only in dimensions its static shape (in the session's model) leaves unknown: a
// size that depends on the data, not two different models.
func dataDependent(s *runtime.Session, name string, a, b []int) bool {
	v := s.Model().Graph.Values[name]
	if v == nil || !v.HasShape || len(a) != len(b) || len(v.Shape) != len(a) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && v.Shape[i].Known() {
			return false
		}
	}
	return true
}

func classCount(shape []int) int {
	if len(shape) < 2 || shape[1] < 2 {
		return 0
	}
	for _, d := range shape[2:] {
		if d != 1 {
			return 0
		}
	}
	return shape[1]
}

// topAgreement counts the rows of [N, C] scores whose argmax agrees (top-1) and whose
// float argmax is among the quantized run's five largest (top-5).
func topAgreement(f, q []float32, c int) (top1, top5 int) {
	for r := 0; r+c <= len(f); r += c {
		fr, qr := f[r:r+c], q[r:r+c]
		fa, qa := argmax(fr), argmax(qr)
		if fa == qa {
			top1++
		}
		// rank of the float class among the quantized scores (ties count in its favour).
		above := 0
		for _, v := range qr {
			if v > qr[fa] {
				above++
			}
		}
		if above < 5 {
			top5++
		}
	}
	return top1, top5
}

// stepClasses is C for a sequence output of rank 3 ([T, N, C] or [N, T, C], C >= 2),
// else 0.
func stepClasses(shape []int) int {
	if len(shape) == 3 && shape[2] >= 2 {
		return shape[2]
	}
	return 0
}

func argmax(v []float32) int {
	best := 0
	for j, x := range v {
		if x > v[best] {
			best = j
		}
	}
	return best
}

func addShape(list [][]int, s []int) [][]int {
	for _, have := range list {
		if slices.Equal(have, s) {
			return list
		}
	}
	return append(list, append([]int(nil), s...))
}

// plainValues returns the values of an output that is not float32 in both runs, as
// float32, for the error measures.
func plainValues(name string, f, q *graph.Tensor) ([]float32, []float32, error) {
	if f.DType != q.DType {
		return nil, nil, fmt.Errorf("compare: output %q is %s in the float model and %s in the quantized one", name, f.DType, q.DType)
	}
	fv, err := f.AsFloat64()
	if err != nil {
		return nil, nil, fmt.Errorf("compare: output %q: %w", name, err)
	}
	qv, err := q.AsFloat64()
	if err != nil {
		return nil, nil, fmt.Errorf("compare: output %q: %w", name, err)
	}
	if len(fv) != len(qv) {
		return nil, nil, fmt.Errorf("compare: output %q has shape %v in the float model and %v in the quantized one", name, f.Shape, q.Shape)
	}
	ff, qf := make([]float32, len(fv)), make([]float32, len(qv))
	for i := range fv {
		ff[i], qf[i] = float32(fv[i]), float32(qv[i])
	}
	return ff, qf, nil
}

// floatValues returns t's values as float32 for every floating-point type: a
// float16 model's tensors are float16, its quantized form computes them in float32
// (graph/optimize/widen_f16.go). nil for other types.
func floatValues(t *graph.Tensor) []float32 {
	if f := t.F32(); f != nil {
		return f
	}
	if !t.DType.IsFloat() {
		return nil
	}
	v, err := t.AsFloat64()
	if err != nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
