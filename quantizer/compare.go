package quantizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

// CompareOptions configure Compare.
type CompareOptions struct {
	// Mode selects how the quantized model runs: runtime.ModeAuto (the int8 executor
	// when it can run the model with taps, else simulated quantization in float32),
	// runtime.ModeInt8 or runtime.ModeFloat.
	Mode runtime.Mode
	// BatchSize is the number of samples per run (default 100).
	BatchSize int
	Threads   int
	Progress  func(done, total int)
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
	Node string `json:"node,omitempty"`
	// SQNR is 10*log10(sum f^2 / sum (f-q)^2) over all values, in dB (higher is better).
	SQNR DB `json:"sqnr_db"`
	// Cosine is the cosine similarity of the float and quantized values.
	Cosine    float64 `json:"cosine"`
	MaxAbsErr float64 `json:"max_abs_err"`
	Values    int64   `json:"values"`
	// Int8Name is the tensor's name in the quantized model.
	Int8Name string `json:"int8_tensor"`
}

// OutputAgreement is the top-1 agreement of a [N, classes] output.
type OutputAgreement struct {
	Output    string  `json:"output"`
	Agreement float64 `json:"top1_agreement"`
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
}

type errAcc struct {
	ff, dd, fq, qq, maxAbs float64
	n                      int64
}

func (a *errAcc) add(f, q []float32) {
	for i, x := range f {
		fx, qx := float64(x), float64(q[i])
		d := fx - qx
		a.ff += fx * fx
		a.qq += qx * qx
		a.fq += fx * qx
		a.dd += d * d
		a.maxAbs = math.Max(a.maxAbs, math.Abs(d))
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
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	pairs, err := tensorPairs(floatModel, int8Model)
	if err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, errors.New("compare: no tensor of the float model has a quantized counterpart in the second model (different models?)")
	}
	var fNames, qNames []string
	for _, p := range pairs {
		fNames = append(fNames, p.float)
		qNames = append(qNames, p.int8)
	}
	fs, err := runtime.NewSession(floatModel, runtime.WithMode(runtime.ModeFloat), runtime.WithTaps(fNames...), runtime.WithThreads(opts.Threads))
	if err != nil {
		return nil, fmt.Errorf("compare: float model: %w", err)
	}
	res := &Comparison{Samples: n}
	qs, mode, err := int8Session(int8Model, qNames, opts)
	if err != nil {
		return nil, fmt.Errorf("compare: quantized model: %w", err)
	}
	res.Mode = mode
	accs := make([]errAcc, len(pairs))
	outs := outputPairs(floatModel, int8Model)
	agree := make([]int, len(outs))
	for start := 0; start < n; start += opts.BatchSize {
		bn := min(opts.BatchSize, n-start)
		in, err := data.Batch(start, bn)
		if err != nil {
			return nil, fmt.Errorf("compare: batch at %d: %w", start, err)
		}
		fo, err := fs.RunTensors(in)
		if err != nil {
			return nil, fmt.Errorf("compare: float model: %w", err)
		}
		qin, err := encodeInputs(int8Model, in)
		if err != nil {
			return nil, err
		}
		qo, err := qs.RunTensors(qin)
		if err != nil {
			return nil, fmt.Errorf("compare: quantized model: %w", err)
		}
		for i, p := range pairs {
			f, q := fo[p.float], qo[p.int8]
			if f == nil || q == nil {
				return nil, fmt.Errorf("compare: tensor %q was not computed", p.float)
			}
			qf, err := decodeTensor(int8Model, p.int8, q)
			if err != nil {
				return nil, err
			}
			if f.F32() == nil || len(f.F32()) != len(qf) {
				return nil, fmt.Errorf("compare: tensor %q has shape %v in the float model and %v in the quantized one", p.float, f.Shape, q.Shape)
			}
			accs[i].add(f.F32(), qf)
		}
		for i, o := range outs {
			a, err := top1(fo[o], nil)
			if err != nil {
				continue
			}
			qf, err := decodeTensor(int8Model, o, qo[o])
			if err != nil {
				return nil, err
			}
			b, err := top1(qo[o], qf)
			if err != nil {
				continue
			}
			for k := range a {
				if a[k] == b[k] {
					agree[i]++
				}
			}
		}
		if opts.Progress != nil {
			opts.Progress(start+bn, n)
		}
	}
	for i, p := range pairs {
		a := accs[i]
		le := LayerError{Tensor: p.float, Int8Name: p.int8, Op: p.op, Node: p.node, MaxAbsErr: a.maxAbs, Values: a.n}
		switch {
		case a.dd == 0:
			le.SQNR = DB(math.Inf(1))
		case a.ff == 0:
			le.SQNR = DB(math.Inf(-1))
		default:
			le.SQNR = DB(10 * math.Log10(a.ff/a.dd))
		}
		if a.ff > 0 && a.qq > 0 {
			le.Cosine = a.fq / math.Sqrt(a.ff*a.qq)
		} else if a.dd == 0 {
			le.Cosine = 1
		}
		res.Layers = append(res.Layers, le)
	}
	sort.SliceStable(res.Layers, func(i, j int) bool { return res.Layers[i].SQNR < res.Layers[j].SQNR })
	for i, o := range outs {
		res.Top1 = append(res.Top1, OutputAgreement{Output: o, Agreement: float64(agree[i]) / float64(n)})
	}
	return res, nil
}

// int8Session builds the session of the quantized model in the requested mode.
func int8Session(m *graph.Model, taps []string, opts CompareOptions) (*runtime.Session, string, error) {
	build := func(mode runtime.Mode) (*runtime.Session, error) {
		return runtime.NewSession(m, runtime.WithMode(mode), runtime.WithTaps(taps...), runtime.WithThreads(opts.Threads))
	}
	switch opts.Mode {
	case runtime.ModeFloat:
		s, err := build(runtime.ModeFloat)
		return s, "float32 (simulated quantization)", err
	case runtime.ModeInt8:
		s, err := build(runtime.ModeInt8)
		return s, "int8", err
	}
	s, err := build(runtime.ModeAuto)
	if err == nil {
		if s.Mode() == runtime.ModeInt8 {
			return s, "int8", nil
		}
		return s, "float32 (simulated quantization: the int8 executor is not available)", nil
	}
	s, ferr := build(runtime.ModeFloat)
	if ferr != nil {
		return nil, "", ferr
	}
	return s, fmt.Sprintf("float32 (simulated quantization; the int8 executor failed: %v)", err), nil
}

type tensorPair struct {
	float, int8 string
	op, node    string
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
					if d.OpType == "DequantizeLinear" {
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
	if t.DType == graph.Float32 {
		return t.F32(), nil
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

// top1 returns the argmax of each row of a [N, C] tensor (vals overrides its data).
func top1(t *graph.Tensor, vals []float32) ([]int, error) {
	if t == nil || len(t.Shape) != 2 || t.Shape[1] < 2 {
		return nil, errors.New("not [N, classes]")
	}
	if vals == nil {
		vals = t.F32()
	}
	if vals == nil {
		return nil, errors.New("not float")
	}
	n, k := t.Shape[0], t.Shape[1]
	out := make([]int, n)
	for i := 0; i < n; i++ {
		row := vals[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out, nil
}
