package quantizer

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// Index agreement (twenty-first session). A selection (ArgMax, TopK) over int8
// scores takes another index when two candidates lie within the int8 error, and
// a length or count (FastSpeech 2's durations) moves by one: the scores are
// 35-47 dB from float32 while the selected indices disagree, so SQNR says little
// about these tensors. Compare reports, for every integer model output and every
// ArgMax/ArgMin/TopK index tensor both models compute under one name, how often
// the two runs give the same integers.

// IndexAgreement is the agreement of one integer tensor (indices, counts,
// lengths) between the float32 and the int8 run.
type IndexAgreement struct {
	Tensor string `json:"tensor"`
	// Op is the float model's operator that computes it.
	Op string `json:"op"`
	// Output says whether it is a model output (else an ArgMax/ArgMin/TopK inside).
	Output bool `json:"output"`
	// Values counts the elements compared (samples whose shapes agree).
	Values int64 `json:"values"`
	// Equal is the share of those elements equal in both runs.
	Equal float64 `json:"equal"`
	// Samples counts the samples seen (rows of the leading axis when it is the
	// batch, else one per batch), SamplesEqual the share of them whose whole tensor
	// (shape included) is equal in both runs.
	Samples      int     `json:"samples"`
	SamplesEqual float64 `json:"samples_equal"`
	// K is, for TopK indices, the k of the last axis; SetOverlap the mean share of
	// the float run's k indices that the int8 run also selects (order ignored),
	// per row. 0 for other tensors.
	K          int     `json:"k"`
	SetOverlap float64 `json:"set_overlap"`
}

// indexTensor is an integer tensor to compare.
type indexTensor struct {
	name, op string
	output   bool
	topK     bool
}

// indexTensors lists the integer outputs both models declare and the index
// outputs of the float model's ArgMax, ArgMin and TopK that a node of the int8
// model also computes.
func indexTensors(floatModel, int8Model *graph.Model) []indexTensor {
	fprod, qprod := floatModel.Graph.Producers(), int8Model.Graph.Producers()
	var out []indexTensor
	seen := map[string]bool{}
	for _, o := range floatModel.Graph.Outputs {
		q := graphOutput(int8Model.Graph, o.Name)
		if q == nil || o.DType == graph.Undefined || o.DType.IsFloat() || o.DType == graph.String || o.DType != q.DType {
			continue
		}
		it := indexTensor{name: o.Name, output: true}
		if n := fprod[o.Name]; n != nil {
			it.op = n.OpType
			it.topK = n.OpType == "TopK" && n.Output(1) == o.Name
		}
		seen[o.Name] = true
		out = append(out, it)
	}
	for _, n := range floatModel.Graph.Nodes {
		var name string
		switch {
		case n.Domain != "":
		case n.OpType == "ArgMax" || n.OpType == "ArgMin":
			name = n.Output(0)
		case n.OpType == "TopK":
			name = n.Output(1)
		}
		if name == "" || seen[name] || qprod[name] == nil {
			continue
		}
		seen[name] = true
		out = append(out, indexTensor{name: name, op: n.OpType, topK: n.OpType == "TopK"})
	}
	return out
}

// indexAcc accumulates one indexTensor's agreement.
type indexAcc struct {
	values, equal     int64
	samples, sameSmpl int
	k, rows           int
	overlap           float64
}

// add compares one batch of bn samples.
func (a *indexAcc) add(t indexTensor, f, q *graph.Tensor, bn int) {
	perSample := len(f.Shape) > 0 && f.Shape[0] == bn && len(q.Shape) > 0 && q.Shape[0] == bn && bn > 1
	units := 1
	if perSample {
		units = bn
	}
	a.samples += units
	fv, err1 := f.AsInt64()
	qv, err2 := q.AsInt64()
	if err1 != nil || err2 != nil || !slices.Equal(f.Shape, q.Shape) {
		return // a data-dependent size: every sample of the batch differs
	}
	a.values += int64(len(fv))
	per := len(fv) / units
	for u := 0; u < units; u++ {
		same := true
		for i := u * per; i < (u+1)*per; i++ {
			if fv[i] == qv[i] {
				a.equal++
			} else {
				same = false
			}
		}
		if same {
			a.sameSmpl++
		}
	}
	if !t.topK || len(f.Shape) == 0 {
		return
	}
	k := f.Shape[len(f.Shape)-1]
	if k == 0 {
		return
	}
	a.k = k
	for r := 0; r+k <= len(fv); r += k {
		hit := 0
		for _, x := range fv[r : r+k] {
			if slices.Contains(qv[r:r+k], x) {
				hit++
			}
		}
		a.overlap += float64(hit) / float64(k)
		a.rows++
	}
}

// result returns the agreement figures.
func (a *indexAcc) result(t indexTensor) IndexAgreement {
	r := IndexAgreement{Tensor: t.name, Op: t.op, Output: t.output, Values: a.values, Samples: a.samples, K: a.k}
	if a.values > 0 {
		r.Equal = float64(a.equal) / float64(a.values)
	}
	if a.samples > 0 {
		r.SamplesEqual = float64(a.sameSmpl) / float64(a.samples)
	}
	if a.rows > 0 {
		r.SetOverlap = a.overlap / float64(a.rows)
	}
	return r
}

// graphOutput returns g's output named name, or nil.
func graphOutput(g *graph.Graph, name string) *graph.Value {
	for _, v := range g.Outputs {
		if v.Name == name {
			return v
		}
	}
	return nil
}
